"""Reading audio in any format soundfile reads, as mono float32 at the model's rate.

Preparation and evaluation both go through :func:`load_audio`, so a model is always scored on
audio processed exactly like the audio it was trained on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import soundfile as sf
import soxr

from wavenet.errors import WavenetError


@dataclass(frozen=True)
class AudioOptions:
    """How raw audio becomes model audio; saved with prepared data and carried into checkpoints."""

    sample_rate: int = 16000
    trim_silence: bool = False  # cut leading and trailing frames quieter than trim_db below the loudest
    trim_db: float = 40.0
    trim_margin_ms: float = 50.0  # silence kept before the first and after the last loud frame
    normalize: bool = False  # scale each file to target_dbfs RMS (never past full scale)
    target_dbfs: float = -20.0


def load_audio(path: Path | BinaryIO, options: AudioOptions, name: str | None = None) -> np.ndarray:
    """Mono float32 samples in [-1, 1] at ``options.sample_rate``; raises WavenetError naming the file.

    ``path`` may also be an open binary file (an upload); ``name`` then names it in errors.
    """
    name = name or str(path)
    path = path if hasattr(path, "read") else str(path)
    try:
        audio, rate = sf.read(path, dtype="float32", always_2d=True)  # (T, channels)
    except (sf.LibsndfileError, RuntimeError, OSError, TypeError) as err:
        why = getattr(err, "error_string", None) or err  # libsndfile's reason, without the file object's repr
        raise WavenetError(f"{name}: not audio that soundfile can read ({why})") from None
    path = name
    if audio.shape[0] == 0:
        raise WavenetError(f"{path}: empty audio (no samples)")
    audio = audio.mean(axis=1)
    if not np.isfinite(audio).all():
        raise WavenetError(f"{path}: audio holds NaN or infinite samples")
    if rate != options.sample_rate:
        audio = soxr.resample(audio, rate, options.sample_rate, quality="HQ").astype(np.float32)
    if options.trim_silence:
        audio = trim_silence(audio, options.sample_rate, options.trim_db, options.trim_margin_ms)
    if options.normalize:
        audio = normalize_level(audio, options.target_dbfs)
    if audio.size == 0 or not np.any(audio):
        raise WavenetError(f"{path}: audio is silent{' after trimming' if options.trim_silence else ''}")
    return np.clip(audio, -1.0, 1.0)


def frame_rms_db(audio: np.ndarray, frame: int) -> np.ndarray:
    """RMS level of consecutive frames in dBFS (the last partial frame included)."""
    n = -(-len(audio) // frame)
    padded = np.zeros(n * frame, dtype=np.float64)
    padded[: len(audio)] = audio
    rms = np.sqrt(np.mean(padded.reshape(n, frame) ** 2, axis=1))
    return 20 * np.log10(np.maximum(rms, 1e-10))


def trim_silence(audio: np.ndarray, sample_rate: int, threshold_db: float, margin_ms: float) -> np.ndarray:
    """Cut leading and trailing frames more than ``threshold_db`` below the loudest 20 ms frame."""
    frame = max(1, sample_rate // 50)
    levels = frame_rms_db(audio, frame)
    loud = np.flatnonzero(levels > levels.max() - threshold_db)
    margin = int(sample_rate * margin_ms / 1000)
    start = max(0, loud[0] * frame - margin)
    end = min(len(audio), (loud[-1] + 1) * frame + margin)
    return audio[start:end]


def level_gain(audio: np.ndarray, target_dbfs: float) -> float:
    """The factor that brings ``audio`` to ``target_dbfs`` RMS, or less if a peak would pass full scale; 1 for silence."""
    rms = float(np.sqrt(np.mean(audio.astype(np.float64) ** 2)))
    if rms == 0.0:
        return 1.0
    return min(10 ** (target_dbfs / 20) / rms, 0.999 / float(np.abs(audio).max()))


def normalize_level(audio: np.ndarray, target_dbfs: float) -> np.ndarray:
    """Scale to ``target_dbfs`` RMS, or less if that would push a peak past full scale."""
    return (audio * level_gain(audio, target_dbfs)).astype(np.float32)
