"""Feature frames that a locally conditioned model reads: a log-mel spectrogram, a piano roll, or linguistic frames.

Both give one frame every ``hop`` samples, frame i describing the audio around sample i × hop,
and ``ceil(samples / hop)`` frames for a file of ``samples`` samples; the model then generates
``frames × hop`` samples, up to one hop more than the file.

- **mel** (a vocoder's input): :func:`wavenet.dsp.log_mel`, the magnitude STFT (Hann window of
  ``win`` samples, ``n_fft`` points, centred frames) through ``n_mels`` triangular filters on
  the mel scale (HTK formula) from ``fmin`` to ``fmax``, then the natural log, floored at 1e-5.
  With ``lpc_order`` p > 0, each frame also carries the p reflection coefficients of the spectral
  envelope those mel bands imply (:func:`wavenet.dsp.reflection_from_log_mel`): what a
  source-filter vocoder predicts each sample from. With ``f0``, the last channel is the
  recording's F0 in Hz (:func:`wavenet.dsp.f0_at_frames`; 0 where unvoiced): what a vocoder
  with a periodic source makes its sines from.
- **pianoroll** (for rendering MIDI): per key of the 88 (A0 to C8), three channels: onset (a note
  of that key starts within half a frame of the frame's time), sustain (a note of it sounds at
  that time) and velocity (the sounding note's velocity / 127). Read from a MIDI file with mido;
  the sustain pedal is not read.
- **linguistic** (text to speech): phones with their neighbours, position, stress and boundaries,
  log F0 and voicing (:mod:`wavenet.text.linguistic`). The text is read from X.txt beside each
  audio file X, its phones are timed by aligning espeak-ng's reading of it to the audio
  (:mod:`wavenet.text.align`), and F0 is the audio's own (:func:`wavenet.dsp.f0_at_frames`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from wavenet import dsp
from wavenet.errors import WavenetError
from wavenet.model_config import KEYS, LOWEST_KEY
from wavenet.text import align, espeak, linguistic, normalize

KINDS = ("mel", "pianoroll", "linguistic")


@dataclass(frozen=True)
class FeatureOptions:
    """What the frames are; saved with prepared data and in checkpoints, so generation computes the same."""

    kind: str = "mel"
    hop: int = 200  # samples per frame: 12.5 ms at 16 kHz
    n_mels: int = 80
    n_fft: int = 1024
    win: int = 800
    fmin: float = 40.0
    fmax: float = 8000.0
    lpc_order: int = 0  # mel only: reflection coefficients after the mel bands
    f0: bool = False  # mel only: F0 (Hz, 0 where unvoiced) in the last channel

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise WavenetError(f"features.kind: must be one of {', '.join(KINDS)}, got {self.kind!r}")
        self.mel  # noqa: B018 - checks the sizes
        if not 0 <= self.lpc_order <= 32 or (self.lpc_order and self.kind != "mel"):
            raise WavenetError(f"features.lpc_order: 0 to 32, and only for mel frames; got {self.lpc_order}")
        if not isinstance(self.f0, bool) or (self.f0 and self.kind != "mel"):
            raise WavenetError(f"features.f0: true or false, and true only for mel frames; got {self.f0!r}")

    @property
    def mel(self) -> dsp.MelSpec:
        """The log-mel settings (what mel frames are; the frame clock of every kind)."""
        return dsp.MelSpec(self.hop, self.n_mels, self.n_fft, self.win, self.fmin, self.fmax)

    @property
    def channels(self) -> int:
        if self.kind == "linguistic":
            return linguistic.CHANNELS
        return self.n_mels + self.lpc_order + int(self.f0) if self.kind == "mel" else 3 * KEYS

    def to_dict(self) -> dict:
        """The options that matter for this kind: the mel settings only for mel frames (lpc_order and f0 where set)."""
        out = asdict(self)
        if not self.lpc_order:
            del out["lpc_order"]
        if not self.f0:
            del out["f0"]
        return out if self.kind == "mel" else {"kind": self.kind, "hop": self.hop}

    @classmethod
    def from_dict(cls, data: dict, source: str = "features") -> FeatureOptions:
        try:
            return cls(**data)
        except TypeError as err:
            raise WavenetError(f"{source}: {err}") from None

    def frames_for(self, samples: int) -> int:
        return math.ceil(samples / self.hop)


@dataclass(frozen=True)
class Note:
    key: int  # MIDI note number
    start: float  # seconds
    end: float
    velocity: int


def read_midi(path: Path | BinaryIO, name: str | None = None) -> list[Note]:
    """The notes of a MIDI file, in seconds (tempo changes applied); a WavenetError names the file.

    ``path`` may also be an open binary file (an upload); ``name`` then names it in errors.
    """
    import mido

    name = name or str(path)
    try:
        midi = mido.MidiFile(file=path) if hasattr(path, "read") else mido.MidiFile(str(path))
        notes, sounding, now = [], {}, 0.0
        for msg in midi:  # merged tracks, times in seconds
            now += msg.time
            if msg.type == "note_on" and msg.velocity > 0:
                sounding.setdefault((msg.channel, msg.note), []).append((now, msg.velocity))
            elif msg.type in ("note_off", "note_on"):
                started = sounding.get((msg.channel, msg.note))
                if started:
                    start, velocity = started.pop(0)
                    notes.append(Note(msg.note, start, now, velocity))
        for (_, key), starts in sounding.items():  # never released: they last to the end
            notes += [Note(key, start, now, velocity) for start, velocity in starts]
    except (OSError, EOFError, ValueError, KeyError, IndexError, TypeError) as err:
        raise WavenetError(f"{name}: not a readable MIDI file ({err})") from None
    return sorted(notes, key=lambda n: (n.start, n.key))


def piano_roll(notes: list[Note], frames: int, sample_rate: int, hop: int) -> np.ndarray:
    """Onset, sustain and velocity per key at every frame: (frames, 264) float32."""
    roll = np.zeros((frames, 3, KEYS), dtype=np.float32)
    step = hop / sample_rate
    for note in notes:
        key = note.key - LOWEST_KEY
        if not 0 <= key < KEYS:
            continue
        onset = int(math.floor(note.start / step + 0.5))  # the frame whose time is nearest the start
        last = int(math.ceil(note.end / step)) - 1  # the last frame whose time is before the end
        if onset < frames:
            roll[onset, 0, key] = 1.0
        span = slice(max(onset, 0), min(max(last, onset), frames - 1) + 1)
        roll[span, 1, key] = 1.0
        roll[span, 2, key] = np.maximum(roll[span, 2, key], note.velocity / 127)
    return roll.reshape(frames, 3 * KEYS)


def midi_beside(audio_path: Path) -> Path:
    """The MIDI file that a rendered audio file was made from: the same name, .mid or .midi."""
    for suffix in (".mid", ".midi"):
        candidate = Path(audio_path).with_suffix(suffix)
        if candidate.is_file():
            return candidate
    raise WavenetError(
        f"{Path(audio_path).with_suffix('.mid')}: missing (pianoroll features read the MIDI file beside each audio file)"
    )


def mel_frames(audio: np.ndarray, sample_rate: int, options: FeatureOptions, preemphasis: float = 0.0) -> np.ndarray:
    """A recording's mel frames (frames, channels) float32: log-mel, then its reflection coefficients and F0 if asked.

    ``preemphasis``: the model's samples are the recording pre-emphasised (``AudioOptions.preemphasis``),
    so the reflection coefficients are that signal's envelope; the mel and F0 stay the recording's.
    """
    mel = dsp.log_mel(audio, sample_rate, options.mel)
    f0 = dsp.f0_at_frames(audio, sample_rate, len(mel), options.hop) if options.f0 else None
    return vocoder_frames(mel, f0, sample_rate, options, preemphasis)


def vocoder_frames(mel: np.ndarray, f0: np.ndarray | None, sample_rate: int, options: FeatureOptions,
                   preemphasis: float = 0.0) -> np.ndarray:  # fmt: skip
    """A mel vocoder's frames from a log-mel (frames, n_mels) and F0 in Hz (frames,; NaN or 0 where unvoiced):
    the mel, then the reflection coefficients it implies and F0 where ``options`` ask for them. A recording's
    mel (:func:`mel_frames`) and an acoustic model's prediction (:mod:`wavenet.speech`) both become frames here."""
    mel = np.asarray(mel, dtype=np.float32)
    parts = [mel]
    if options.lpc_order:
        k = dsp.reflection_from_log_mel(mel, sample_rate, options.mel, options.lpc_order, preemphasis)
        parts.append(k.astype(np.float32))
    if options.f0:
        if f0 is None:
            raise WavenetError("these frames carry F0 (features.f0), and none was given")
        parts.append(np.nan_to_num(np.asarray(f0, dtype=np.float32), nan=0.0)[:, None])
    return np.concatenate(parts, axis=1) if len(parts) > 1 else mel


def features_for(
    audio: np.ndarray, sample_rate: int, options: FeatureOptions, audio_path: Path | None = None,
    preemphasis: float = 0.0,
) -> np.ndarray:  # fmt: skip
    """The frames of one file's audio: its mel frames (:func:`mel_frames`), or the piano roll of its MIDI file."""
    if options.kind == "mel":
        return mel_frames(audio, sample_rate, options, preemphasis)
    if audio_path is None:
        raise WavenetError(f"{options.kind} features need the audio file's path, to find the file beside it")
    if options.kind == "linguistic":
        return linguistic_frames(audio, sample_rate, options, Path(audio_path).with_suffix(".txt"))
    notes = read_midi(midi_beside(audio_path))
    if not notes:
        raise WavenetError(f"{midi_beside(audio_path)}: the MIDI file has no notes")
    return piano_roll(notes, options.frames_for(len(audio)), sample_rate, options.hop)


def linguistic_frames(audio: np.ndarray, sample_rate: int, options: FeatureOptions, text_path: Path) -> np.ndarray:
    """The linguistic frames of a recording of the text in ``text_path``: phones timed by alignment, its F0."""
    try:
        text = normalize.normalize(text_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        raise WavenetError(
            f"{text_path}: unreadable (linguistic features read the text beside each audio file): {err}"
        ) from None
    if not text:
        raise WavenetError(f"{text_path}: nothing speakable in it")
    n = options.frames_for(len(audio))
    segments = align.align(audio, sample_rate, text)
    try:
        phones = linguistic.timed_phones(espeak.phonemize(text), segments)
    except ValueError as err:
        raise WavenetError(f"{text_path}: {err}") from None
    return linguistic.frames(phones, n, options.hop, sample_rate, dsp.f0_at_frames(audio, sample_rate, n, options.hop))
