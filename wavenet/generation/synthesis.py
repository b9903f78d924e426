"""Turning a checkpoint into audio: one stream, written or yielded chunk by chunk."""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import soundfile as sf

from wavenet.checkpoint import Checkpoint
from wavenet.errors import WavenetError
from wavenet.generation.registry import make_generator
from wavenet.mulaw import codes_to_pcm16

CHUNK_SECONDS = 0.1


def num_samples(seconds: float, sample_rate: int) -> int:
    """The exact length of ``seconds`` of audio, rounded to the nearest sample; at least one.

    The one place a length in seconds becomes samples (the CLI and the server both use it); its
    errors leave out the field's name, which each caller puts in front.
    """
    if not (isinstance(seconds, (int, float)) and math.isfinite(seconds) and seconds > 0):
        raise WavenetError(f"must be a positive number, got {seconds}")
    n = round(seconds * sample_rate)
    if n < 1:
        raise WavenetError(f"{seconds} s is shorter than one sample at {sample_rate} Hz")
    return n


def stream_pcm16(
    checkpoint: Checkpoint,
    samples: int,
    speaker: int = 0,
    temperature: float = 1.0,
    seed: int | None = None,
    backend: str = "auto",
) -> Iterator[np.ndarray]:
    """Generate one stream as 16-bit PCM chunks of about 0.1 s, ``samples`` in all.

    Arguments are checked now, not when the first chunk is asked for.
    """
    generator = make_generator(checkpoint.model, 1, backend)
    generator.reset(0, speaker=speaker, temperature=temperature, seed=seed)
    chunk = max(1, round(CHUNK_SECONDS * checkpoint.config.sample_rate))

    def chunks() -> Iterator[np.ndarray]:
        for start in range(0, samples, chunk):
            codes = generator.generate(min(chunk, samples - start))[0]
            yield codes_to_pcm16(codes, checkpoint.config.mu)

    return chunks()


def write_wav(
    path: Path,
    checkpoint: Checkpoint,
    samples: int,
    speaker: int = 0,
    temperature: float = 1.0,
    seed: int | None = None,
    backend: str = "auto",
    progress: Callable[[int], None] | None = None,
) -> None:
    """Write a mono 16-bit WAV of exactly ``samples`` samples; it appears under ``path`` only when complete."""
    path = Path(path)
    if not path.parent.is_dir():
        raise WavenetError(f"{path}: directory {path.parent} does not exist")
    pcm_chunks = stream_pcm16(checkpoint, samples, speaker, temperature, seed, backend)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)  # soundfile reopens it; the finished file gets a normal file's mode below
    try:
        with sf.SoundFile(
            tmp, "w", samplerate=checkpoint.config.sample_rate, channels=1, subtype="PCM_16", format="WAV"
        ) as f:
            for pcm in pcm_chunks:
                f.write(pcm)
                if progress is not None:
                    progress(len(pcm))
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
