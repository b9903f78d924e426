"""Prosody at synthesis: espeak-ng's durations and melody, rescaled to a speaker's tempo and pitch.

A text-to-speech WaveNet is told when each phone sounds and at what pitch. Here both come from
espeak-ng's own reading of the text (:func:`wavenet.text.espeak.render`): its phone times,
stretched by the speaker's tempo, and its F0 contour, moved to the speaker's mean log F0 and
scaled to the speaker's spread. A speaker's :class:`Voice` is measured once on that speaker's
training recordings (:func:`measure_voice`) and saved with the model. ``rate`` and ``pitch``
adjust the result (2.0: twice as fast; twice as high).
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass

import numpy as np
import soxr

from wavenet.errors import WavenetError
from wavenet.text.align import Segment
from wavenet.text.espeak import Rendering, phonemize, render
from wavenet.text.linguistic import F0_REFERENCE, frames, timed_phones

RATE = 16000  # F0 is tracked at this rate


@dataclass(frozen=True)
class Voice:
    """A speaker's prosody against espeak-ng's (en-us, 175 words a minute)."""

    tempo: float = 1.0  # the speaker's time for a phone over espeak-ng's
    f0_mean: float = 0.0  # mean log2(F0 / 100 Hz) over voiced frames
    f0_std: float = 0.25
    espeak_f0_mean: float = 0.0  # the same of espeak-ng's readings of the speaker's texts
    espeak_f0_std: float = 0.25

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Voice:
        try:
            voice = cls(**{k: float(v) for k, v in data.items()})
        except (TypeError, ValueError) as err:
            raise WavenetError(f"prosody: {err}") from None
        if not (voice.tempo > 0 and voice.f0_std > 0 and voice.espeak_f0_std > 0):
            raise WavenetError("prosody: tempo and F0 spreads must be positive")
        return voice


def log_f0(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """log2(F0 / 100 Hz) of every 10 ms frame, NaN where unvoiced."""
    from wavenet.evaluation.quality import f0_track

    if sample_rate != RATE:
        audio = soxr.resample(audio, sample_rate, RATE)
    with np.errstate(invalid="ignore"):  # unvoiced frames are NaN
        return np.log2(f0_track(audio, RATE) / F0_REFERENCE)


def speaking_time(segments: list[tuple[str, float, float]] | list[Segment]) -> float:
    """Seconds spent on phones, pauses left out."""
    spans = [(s.phone, s.start, s.end) if isinstance(s, Segment) else s for s in segments]
    return sum(end - start for phone, start, end in spans if phone != "_")


def measure_voice(recordings: list[tuple[np.ndarray, int, str]]) -> Voice:
    """A speaker's :class:`Voice` from (audio, sample rate, normalised text) recordings of them.

    Tempo: their speaking time (phones aligned by :func:`wavenet.text.align.align`) over
    espeak-ng's for the same texts. F0: mean and spread of log F0 over their voiced frames, and
    over espeak-ng's readings.
    """
    from wavenet.text.align import align

    if not recordings:
        raise WavenetError("measuring a voice needs at least one recording with its text")
    theirs = ours = 0.0
    f0_theirs, f0_ours = [], []
    for audio, sample_rate, text in recordings:
        reference = render(text)
        theirs += speaking_time(align(audio, sample_rate, text, reference))
        ours += speaking_time(reference.segments())
        f0_theirs.append(log_f0(audio, sample_rate))
        f0_ours.append(log_f0(reference.audio, reference.sample_rate))
    a, b = np.concatenate(f0_theirs), np.concatenate(f0_ours)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if len(a) < 10:
        raise WavenetError("measuring a voice: its recordings hold fewer than 10 voiced frames")
    return Voice(theirs / ours, float(a.mean()), float(a.std()) or 0.25, float(b.mean()), float(b.std()) or 0.25)


@functools.lru_cache(maxsize=4096)
def _reading(text: str) -> Rendering:
    """espeak-ng's reading of a sentence, kept: its phone times are the same from one reading to the next,
    but its waveform, hence its F0 track, can differ by a fraction of a cent. Kept readings (and F0
    rounded to whole cents) make the same text give the same frames, so a seed gives the same audio."""
    return render(text)


@dataclass(frozen=True)
class Plan:
    """What a sentence will sound like: frames for the model, and the timings they came from."""

    frames: np.ndarray  # (n, linguistic.CHANNELS)
    segments: list[Segment]  # phones with their times at synthesis
    f0: np.ndarray  # Hz at every frame, NaN where unvoiced


def plan(text: str, voice: Voice, hop: int, sample_rate: int, rate: float = 1.0, pitch: float = 1.0,
         reference: Rendering | None = None) -> Plan:  # fmt: skip
    """The linguistic frames of normalised ``text`` in ``voice``, ``rate`` times as fast, ``pitch`` times as high."""
    if not (rate > 0 and pitch > 0):
        raise WavenetError("rate and pitch must be positive")
    reference = reference or _reading(text)
    scale = voice.tempo / rate
    segments = [Segment(p, s * scale, e * scale) for p, s, e in reference.segments()]
    n = max(1, int(np.ceil(segments[-1].end * sample_rate / hop))) if segments else 1
    track = log_f0(reference.audio, reference.sample_rate)  # espeak-ng's, every 10 ms of its own time
    at = np.clip(np.round((np.arange(n) * hop / sample_rate / scale * 100) - 2).astype(int), 0, len(track) - 1)
    contour = track[at] if len(track) else np.full(n, np.nan)
    contour = np.round(contour * 1200) / 1200  # whole cents: see _reading
    moved = voice.f0_mean + (contour - voice.espeak_f0_mean) * (voice.f0_std / voice.espeak_f0_std)
    f0 = F0_REFERENCE * 2.0 ** (moved + np.log2(pitch))
    phones = timed_phones(phonemize(text), segments)
    return Plan(frames(phones, n, hop, sample_rate, f0), segments, f0)
