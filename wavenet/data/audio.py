"""Reading audio in any format soundfile reads, as mono float32 at the model's rate.

Preparation and evaluation both go through :func:`load_audio` and :func:`model_codes`, so a model
is always scored on audio processed exactly like the audio it was trained on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import soundfile as sf
import soxr

from wavenet import mulaw
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
    preemphasis: float = 0.0  # α: the model's samples are x_t - α x_{t-1} of the audio (see emphasise); 0: the audio

    def __post_init__(self) -> None:
        alpha = self.preemphasis
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0.0 <= alpha < 1.0:
            raise WavenetError(f"audio.preemphasis: from 0 to below 1 (LPCNet's 0.85), got {alpha!r}")


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


# Pre-emphasis (LPCNet's, α = 0.85): a model of x_t - α x_{t-1} instead of the audio x. Its μ-law
# quantisation noise, white in what it models, comes out of the de-emphasis filter 1 / (1 - α z⁻¹)
# shaped like speech's spectrum, quieter at high frequencies where speech has little energy (on
# the held-out Allison prompts, 8-bit μ-law of the recordings scores PESQ 3.87 and a log-mel
# distance of 2.96 dB; pre-emphasised, 4.38 and 1.30 dB: docs/quality/vocoder-levers.jsonl). The
# prepared codes and what a model generates are the emphasised signal; the frames stay the
# recording's (mel, F0), but their envelope is the emphasised signal's
# (:func:`wavenet.dsp.autocorrelation_from_log_mel`); generated audio is de-emphasised on its way out.


def emphasise(audio: np.ndarray, alpha: float) -> np.ndarray:
    """x_t - α x_{t-1}, with x_{-1} = 0 (float32); the audio itself when α is 0."""
    if not alpha:
        return audio
    x = np.asarray(audio, dtype=np.float64)
    return (x - alpha * np.concatenate([[0.0], x[:-1]])).astype(np.float32)


class Deemphasis:
    """:func:`emphasise` undone on a stream that arrives in pieces: y_t = x_t + α y_{t-1}, from y_{-1} = 0.

    Each piece is filtered in blocks of :attr:`BLOCK` samples by one product with the filter's
    impulse response (every term at most 1: no power of α grows), the last output carried over.
    """

    BLOCK = 256

    def __init__(self, alpha: float) -> None:
        self.alpha = alpha
        self.last = 0.0
        powers = alpha ** np.arange(self.BLOCK + 1, dtype=np.float64)
        lags = np.arange(self.BLOCK)[:, None] - np.arange(self.BLOCK)[None, :]
        self._response = np.where(lags >= 0, powers[np.clip(lags, 0, None)], 0.0)  # (BLOCK, BLOCK): α^(t-k), k <= t
        self._carry = powers[1:]  # α^(t+1): what y_{-1} adds at t

    def __call__(self, audio: np.ndarray) -> np.ndarray:
        if not self.alpha:
            return audio
        x = np.asarray(audio, dtype=np.float64)
        out = np.empty_like(x)
        for start in range(0, len(x), self.BLOCK):
            piece = x[start : start + self.BLOCK]
            n = len(piece)
            out[start : start + n] = self._response[:n, :n] @ piece + self._carry[:n] * self.last
            self.last = float(out[start + n - 1])
        return out.astype(np.float32)


def deemphasise(audio: np.ndarray, alpha: float) -> np.ndarray:
    """A whole signal de-emphasised (:class:`Deemphasis`); the audio itself when α is 0."""
    return Deemphasis(alpha)(audio)


def model_codes(audio: np.ndarray, options: AudioOptions, mu: int) -> np.ndarray:
    """The μ-law codes a model of ``audio`` reads and makes (int64): pre-emphasised where ``options`` say, clipped."""
    return mulaw.encode(np.clip(emphasise(audio, options.preemphasis), -1.0, 1.0), mu)


def decoded(codes: np.ndarray, mu: int, preemphasis: float = 0.0) -> np.ndarray:
    """μ-law codes as the audio they stand for (float32): decoded, then de-emphasised where the signal they
    hold was pre-emphasised (``AudioOptions.preemphasis`` of the data or the release)."""
    return deemphasise(mulaw.decode(np.asarray(codes), mu), preemphasis)
