"""Turning a checkpoint into audio: one stream, written or yielded chunk by chunk.

A conditioned checkpoint takes its frames from an input file (:func:`input_frames`): a recording,
whose log-mel frames a vocoder resynthesises, or a MIDI file, whose piano roll it renders; or, for
text to speech, from text (:func:`text_frames`). Its stream is then ``frames × hop`` samples long.
"""

from __future__ import annotations

import io
import math
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import soundfile as sf

from wavenet.checkpoint import Checkpoint
from wavenet.data.audio import AudioOptions, load_audio
from wavenet.data.features import log_mel, piano_roll, read_midi
from wavenet.errors import WavenetError
from wavenet.generation.registry import make_generator
from wavenet.mulaw import codes_to_pcm16

CHUNK_SECONDS = 0.1
MIDI_TAIL_SECONDS = 1.0  # rendered after a MIDI file's last note ends: its release and decay


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


def input_frames(
    checkpoint: Checkpoint, source: Path | bytes, name: str | None = None, max_seconds: float | None = None
) -> np.ndarray:
    """A conditioned checkpoint's frames, (frames, channels), from a file (a path, or its bytes).

    A vocoder (mel features) reads a recording in any format soundfile reads, prepared as its
    training audio was and resampled to its rate; a piano-roll model reads a MIDI file, rendered
    to its last note's end and :data:`MIDI_TAIL_SECONDS` more. Input longer than ``max_seconds``,
    empty, unreadable or (MIDI) without notes is a WavenetError that names ``name``.
    """
    features = checkpoint.features
    if features is None:
        raise WavenetError(f"{checkpoint.name} is not conditioned: it takes no input file (use generate)")
    name = name or str(source)
    rate = checkpoint.config.sample_rate
    opened = io.BytesIO(source) if isinstance(source, bytes) else Path(source)
    if isinstance(source, bytes) and not source:
        raise WavenetError(f"{name}: empty")
    if features.kind == "mel":
        saved = checkpoint.metadata.get("audio")
        options = AudioOptions(**saved) if saved else AudioOptions(sample_rate=rate)
        audio = load_audio(opened, options, name)
        seconds = len(audio) / rate
        _check_length(name, seconds, max_seconds)
        return log_mel(audio, rate, features)
    notes = read_midi(opened, name)
    if not notes:
        raise WavenetError(f"{name}: the MIDI file has no notes")
    seconds = max(n.end for n in notes) + MIDI_TAIL_SECONDS
    _check_length(name, seconds, max_seconds)
    return piano_roll(notes, features.frames_for(round(seconds * rate)), rate, features.hop)


def text_frames(
    checkpoint: Checkpoint,
    text: str,
    speaker: int = 0,
    rate: float = 1.0,
    pitch: float = 1.0,
    max_chars: int | None = None,
) -> list[np.ndarray]:
    """A text-to-speech checkpoint's frames for ``text``, sentence by sentence: [(frames, channels), ...].

    The text is cut into sentences and each is normalised (:mod:`wavenet.text.normalize`), timed
    and given a melody in the speaker's voice (:mod:`wavenet.text.prosody`; the voice the
    checkpoint measured for that speaker, else espeak-ng's own). Text that is empty, holds
    nothing speakable or is longer than ``max_chars`` is a WavenetError naming ``text``.
    """
    from wavenet.text.normalize import normalize, sentences
    from wavenet.text.prosody import Voice, plan

    features = checkpoint.features
    if features is None or features.kind != "linguistic":
        raise WavenetError(f"{checkpoint.name} is not a text-to-speech model: it takes no text")
    if not text.strip():
        raise WavenetError("text: empty")
    if max_chars is not None and len(text) > max_chars:
        raise WavenetError(f"text: {len(text):,} characters, more than the {max_chars:,} allowed")
    if not (rate > 0 and pitch > 0):
        raise WavenetError(f"rate and pitch must be positive, got {rate} and {pitch}")
    names = {i: name for name, i in checkpoint.speakers.items()}
    voices = checkpoint.metadata.get("prosody") or {}
    voice = Voice.from_dict(voices[names[speaker]]) if names.get(speaker) in voices else Voice()
    rate_hz = checkpoint.config.sample_rate
    out = [plan(t, voice, features.hop, rate_hz, rate, pitch).frames for t in map(normalize, sentences(text)) if t]
    if not out:
        raise WavenetError("text: nothing speakable in it")
    return out


def _check_length(name: str, seconds: float, max_seconds: float | None) -> None:
    if max_seconds is not None and seconds > max_seconds:
        raise WavenetError(f"{name}: {seconds:.1f} s long, more than the {max_seconds:g} s allowed")


def stream_pcm16(
    checkpoint: Checkpoint,
    samples: int,
    speaker: int = 0,
    temperature: float = 1.0,
    seed: int | None = None,
    backend: str = "auto",
    frames: np.ndarray | None = None,
) -> Iterator[np.ndarray]:
    """Generate one stream as 16-bit PCM chunks of about 0.1 s, ``samples`` in all.

    A conditioned checkpoint reads ``frames`` (then ``samples`` is at most frames × hop).
    Arguments are checked now, not when the first chunk is asked for.
    """
    generator = make_generator(checkpoint.model, 1, backend)
    generator.reset(0, speaker=speaker, temperature=temperature, seed=seed, frames=frames)
    ready = generator.samples_ready(0)
    if ready is not None and samples > ready:
        raise WavenetError(f"{samples} samples asked, but the frames make {ready}")
    chunk = max(1, round(CHUNK_SECONDS * checkpoint.config.sample_rate))

    def chunks() -> Iterator[np.ndarray]:
        for start in range(0, samples, chunk):
            codes = generator.generate(min(chunk, samples - start))[0]
            yield codes_to_pcm16(codes, checkpoint.config.mu)

    return chunks()


def check_output(path: str | Path) -> Path:
    """The output path, once its directory is known to exist: checked before anything is generated."""
    path = Path(path)
    if not path.parent.is_dir():
        raise WavenetError(f"{path}: directory {path.parent} does not exist")
    return path


def write_wav(
    path: Path,
    checkpoint: Checkpoint,
    samples: int,
    speaker: int = 0,
    temperature: float = 1.0,
    seed: int | None = None,
    backend: str = "auto",
    progress: Callable[[int], None] | None = None,
    frames: np.ndarray | None = None,
) -> None:
    """Write a mono 16-bit WAV of exactly ``samples`` samples; it appears under ``path`` only when complete."""
    path = check_output(path)
    pcm_chunks = stream_pcm16(checkpoint, samples, speaker, temperature, seed, backend, frames)
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
