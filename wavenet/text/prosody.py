"""Prosody at synthesis: espeak-ng's durations and melody, made a speaker's.

A text-to-speech WaveNet is told when each phone sounds and at what pitch. Both start from
espeak-ng's own reading of the text (:func:`wavenet.text.espeak.render`): its phone times and
its F0 contour. A speaker's :class:`Voice` makes them the speaker's, in two steps, each measured
on the speaker's training recordings aligned to their texts (:func:`fit_voice`):

1. Rescaled: every phone stretched by the speaker's tempo, the contour moved to the speaker's
   mean log F0 and scaled to the speaker's spread.
2. Trained (optional): two small ridge regressions per speaker over each phone's context (itself,
   its neighbours, stress, word and clause boundaries, espeak-ng's duration), one correcting the
   rescaled duration and one the rescaled F0, phone by phone. A voice holds them only where they
   came closer to held-out recordings than the rescaled prosody (recipes/tts/voices.py decides).

``rate`` and ``pitch`` adjust the result (2.0: twice as fast; twice as high).
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass, replace

import numpy as np
import soxr

from wavenet.dsp import ANALYSIS_FRAME, ANALYSIS_HOP, f0_track
from wavenet.errors import WavenetError
from wavenet.text.align import Segment, align
from wavenet.text.espeak import PAUSE, Rendering, phonemize, render
from wavenet.text.linguistic import F0_REFERENCE, INDEX, N_PHONES, PHONES, TimedPhone, frames, timed_phones

RATE = 16000  # F0 is tracked at this rate
# The F0 track (wavenet.dsp.f0_track at RATE): 100 frames a second, frame j centred at j / 100 + 20 ms.
TRACK_RATE, TRACK_DELAY = RATE / ANALYSIS_HOP, ANALYSIS_FRAME / 2 / RATE
# A phone's context for the trained models: itself and both neighbours (one-hot), then these, then 1.
CONTEXT = ("primary", "secondary", "word_start", "word_end", "clause_end_word", "question", "log_espeak_duration")
N_CONTEXT = 3 * N_PHONES + len(CONTEXT) + 1


@dataclass(frozen=True)
class Voice:
    """A speaker's prosody against espeak-ng's (en-us, 175 words a minute)."""

    tempo: float = 1.0  # the speaker's time for a phone over espeak-ng's
    f0_mean: float = 0.0  # mean log2(F0 / 100 Hz) over voiced frames
    f0_std: float = 0.25
    espeak_f0_mean: float = 0.0  # the same of espeak-ng's readings of the speaker's texts
    espeak_f0_std: float = 0.25
    duration_model: tuple[float, ...] = ()  # N_CONTEXT weights: log of the recorded over the rescaled duration
    f0_model: tuple[float, ...] = ()  # N_CONTEXT weights: recorded minus rescaled mean log2 F0 of a phone

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Voice:
        try:
            models = {k: tuple(float(x) for x in data[k]) for k in ("duration_model", "f0_model") if k in data}
            voice = cls(**{k: float(v) for k, v in data.items() if k not in models}, **models)
        except (TypeError, ValueError) as err:
            raise WavenetError(f"prosody: {err}") from None
        scalars = (voice.tempo, voice.f0_mean, voice.f0_std, voice.espeak_f0_mean, voice.espeak_f0_std)
        if not np.isfinite([*scalars, *voice.duration_model, *voice.f0_model]).all():
            raise WavenetError("prosody: every value must be a finite number")
        if not (voice.tempo > 0 and voice.f0_std > 0 and voice.espeak_f0_std > 0):
            raise WavenetError("prosody: tempo and F0 spreads must be positive")
        if any(len(m) not in (0, N_CONTEXT) for m in (voice.duration_model, voice.f0_model)):
            raise WavenetError(f"prosody: a trained model holds {N_CONTEXT} weights")
        return voice

    def rescaled(self) -> Voice:
        """This voice without its trained models."""
        return replace(self, duration_model=(), f0_model=())

    def move(self, espeak_log_f0: np.ndarray) -> np.ndarray:
        """espeak-ng's log2 F0 moved to this voice's mean and spread."""
        return self.f0_mean + (espeak_log_f0 - self.espeak_f0_mean) * (self.f0_std / self.espeak_f0_std)


def log_f0(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """log2(F0 / 100 Hz) of every analysis frame (10 ms), NaN where unvoiced."""
    if sample_rate != RATE:
        audio = soxr.resample(audio, sample_rate, RATE)
    with np.errstate(invalid="ignore", divide="ignore"):  # unvoiced frames are NaN
        return np.log2(f0_track(audio, RATE) / F0_REFERENCE)


def speaking_time(segments: list[tuple[str, float, float]] | list[Segment]) -> float:
    """Seconds spent on phones, pauses left out."""
    spans = [(s.phone, s.start, s.end) if isinstance(s, Segment) else s for s in segments]
    return sum(end - start for phone, start, end in spans if phone != PAUSE)


def context(phones: list[TimedPhone]) -> np.ndarray:
    """(spoken phones, N_CONTEXT): what the trained models read of each phone that is not a pause.

    ``phones`` are espeak-ng's (its times, the clauses' marks): the same at synthesis as in training.
    """
    spoken = [k for k, p in enumerate(phones) if p.name != PAUSE]
    out = np.zeros((len(spoken), N_CONTEXT), dtype=np.float64)
    ids = [INDEX.get(p.name, len(PHONES)) for p in phones]
    for row, k in enumerate(spoken):
        p = phones[k]
        out[row, ids[k]] = 1
        out[row, N_PHONES + (ids[k - 1] if k > 0 else INDEX[PAUSE])] = 1
        out[row, 2 * N_PHONES + (ids[k + 1] if k + 1 < len(phones) else INDEX[PAUSE])] = 1
        out[row, 3 * N_PHONES :] = (p.stress == 2, p.stress == 1, p.word_start, p.word_end, p.clause_end_word,
                                    p.question, np.log(max(p.end - p.start, 1e-3)), 1.0)  # fmt: skip
    return out


def phone_means(track: np.ndarray, bounds: list[tuple[float, float]]) -> np.ndarray:
    """Mean of a 10 ms log-F0 track over each (start, end) span's voiced frames; NaN where none is voiced."""
    centres = np.arange(len(track)) / TRACK_RATE + TRACK_DELAY
    out = np.full(len(bounds), np.nan)
    for i, (start, end) in enumerate(bounds):
        values = track[(centres >= start) & (centres < end)]
        values = values[np.isfinite(values)]
        if len(values):
            out[i] = values.mean()
    return out


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
    theirs = reference.segments()
    marked = timed_phones(phonemize(text), [Segment(*s) for s in theirs])  # espeak-ng's times
    spoken = np.array([p.name != PAUSE for p in marked], dtype=bool)
    x = context(marked)
    durations = np.array([end - start for _, start, end in theirs]) * voice.tempo
    if voice.duration_model:
        durations[spoken] *= np.exp(np.clip(x @ np.array(voice.duration_model), -1.5, 1.5))
    scale = voice.tempo / rate
    durations /= rate
    old = np.array([theirs[0][1], *[end for _, _, end in theirs]]) if theirs else np.zeros(1)
    new = old[0] * scale + np.concatenate([[0.0], np.cumsum(durations)])
    segments = [Segment(p.name, float(a), float(b)) for p, a, b in zip(marked, new[:-1], new[1:], strict=True)]
    n = max(1, int(np.ceil(new[-1] * sample_rate / hop))) if theirs else 1
    times = np.arange(n) * hop / sample_rate
    track = log_f0(reference.audio, reference.sample_rate)  # espeak-ng's, every 10 ms of its own time
    at = np.clip(np.round((np.interp(times, new, old) - TRACK_DELAY) * TRACK_RATE).astype(int), 0, len(track) - 1)
    contour = track[at] if len(track) else np.full(n, np.nan)
    contour = np.round(contour * 1200) / 1200  # whole cents: see _reading
    moved = voice.move(contour)
    if voice.f0_model and spoken.any():
        centres = ((new[:-1] + new[1:]) / 2)[spoken]
        moved = moved + np.interp(times, centres, np.clip(x @ np.array(voice.f0_model), -1.0, 1.0))
    f0 = F0_REFERENCE * 2.0 ** (moved + np.log2(pitch))
    phones = [replace(p, start=s.start, end=s.end) for p, s in zip(marked, segments, strict=True)]
    return Plan(frames(phones, n, hop, sample_rate, f0), segments, f0)


@dataclass(frozen=True)
class Reading:
    """A recording of a known text set beside espeak-ng's reading of it, phone by phone (pauses left out)."""

    context: np.ndarray  # (phones, N_CONTEXT)
    duration: np.ndarray  # (phones,) seconds in the recording
    espeak_duration: np.ndarray  # (phones,) seconds in espeak-ng's reading
    f0: np.ndarray  # (phones,) mean log2 F0 over the phone's voiced frames in the recording; NaN if none
    espeak_f0: np.ndarray  # the same in espeak-ng's reading
    track: np.ndarray  # the recording's log2 F0 every 10 ms
    espeak_track: np.ndarray


def read(audio: np.ndarray, sample_rate: int, text: str) -> Reading:
    """Align a recording to its normalised ``text`` (:func:`wavenet.text.align.align`) and measure it phone by phone."""
    reference = render(text)
    theirs = [Segment(*s) for s in reference.segments()]
    found = align(audio, sample_rate, text, reference)
    marked = timed_phones(phonemize(text), theirs)
    spoken = [k for k, p in enumerate(marked) if p.name != PAUSE]
    track, espeak_track = log_f0(audio, sample_rate), log_f0(reference.audio, reference.sample_rate)
    return Reading(
        context(marked),
        np.array([found[k].end - found[k].start for k in spoken]),
        np.array([theirs[k].end - theirs[k].start for k in spoken]),
        phone_means(track, [(found[k].start, found[k].end) for k in spoken]),
        phone_means(espeak_track, [(theirs[k].start, theirs[k].end) for k in spoken]),
        track,
        espeak_track,
    )


def measure_voice(readings: list[Reading]) -> Voice:
    """A speaker's rescaled :class:`Voice` from readings of their recordings (:func:`read`).

    Tempo: their speaking time over espeak-ng's for the same texts. F0: mean and spread of log F0
    over their voiced frames, and over espeak-ng's readings.
    """
    if not readings:
        raise WavenetError("measuring a voice needs at least one recording with its text")
    tempo = sum(r.duration.sum() for r in readings) / sum(r.espeak_duration.sum() for r in readings)
    a, b = (np.concatenate([getattr(r, k) for r in readings]) for k in ("track", "espeak_track"))
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if len(a) < 10 or len(b) < 10:
        raise WavenetError("measuring a voice: its recordings hold fewer than 10 voiced frames")
    return Voice(float(tempo), float(a.mean()), float(a.std()) or 0.25, float(b.mean()), float(b.std()) or 0.25)


def targets(readings: list[Reading], voice: Voice) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """What the trained models learn: (context, log duration ratio) and (context, log F0 difference) against ``voice`` rescaled."""
    x = np.concatenate([r.context for r in readings])
    duration = np.log(
        np.concatenate(
            [np.maximum(r.duration, 5e-3) / (np.maximum(r.espeak_duration, 5e-3) * voice.tempo) for r in readings]
        )
    )
    f0 = np.concatenate([r.f0 - voice.move(r.espeak_f0) for r in readings])
    voiced = np.isfinite(f0)
    return x, duration, x[voiced], f0[voiced]


def ridge(x: np.ndarray, y: np.ndarray, strength: float) -> np.ndarray:
    """Least squares with every weight but the last (the constant) pulled toward 0 by ``strength``."""
    penalty = np.full(x.shape[1], strength)
    penalty[-1] = 0.0
    return np.linalg.solve(x.T @ x + np.diag(penalty) + 1e-9 * np.eye(x.shape[1]), x.T @ y)


def fit_voice(readings: list[Reading], duration_strength: float = 30.0, f0_strength: float = 30.0) -> Voice:
    """A speaker's :class:`Voice`, rescaled (:func:`measure_voice`) and with both trained models."""
    voice = measure_voice(readings)
    x, duration, xv, f0 = targets(readings, voice)
    rounded = lambda w: tuple(float(f"{v:.5g}") for v in w)  # noqa: E731
    return replace(voice, duration_model=rounded(ridge(x, duration, duration_strength)),
                   f0_model=rounded(ridge(xv, f0, f0_strength)))  # fmt: skip


def cross_validate(
    speakers: list[list[Reading]], strengths: list[float], folds: int = 5
) -> dict[float, tuple[float, float]]:
    """Mean squared error of both trained models (log duration, log2 F0) at each strength, ``folds``-fold over each speaker's readings.

    Speakers with fewer readings than ``folds`` are left out.
    """
    errors = {s: np.zeros(4) for s in strengths}  # duration error, count, F0 error, count
    for readings in speakers:
        if len(readings) < folds:
            continue
        for fold in range(folds):
            train = [r for i, r in enumerate(readings) if i % folds != fold]
            voice = measure_voice(train)
            x, duration, xv, f0 = targets(train, voice)
            tx, tduration, txv, tf0 = targets(readings[fold::folds], voice)
            for s in strengths:
                errors[s] += (np.sum((tx @ ridge(x, duration, s) - tduration) ** 2), len(tduration),
                              np.sum((txv @ ridge(xv, f0, s) - tf0) ** 2), len(tf0))  # fmt: skip
    return {s: (e[0] / max(e[1], 1), e[2] / max(e[3], 1)) for s, e in errors.items()}


def accuracy(recordings: list[tuple[np.ndarray, int, str]], voices: dict[str, Voice]) -> dict[str, dict]:
    """Each named voice's plans against held-out recordings of its speaker (aligned the same way as in training).

    Per voice: phones compared, RMSE of phone durations (ms) and of F0 on frames voiced in both (cents).
    """
    errors = {name: ([], []) for name in voices}
    for audio, sample_rate, text in recordings:
        reference = _reading(text)
        truth = [s for s in align(audio, sample_rate, text, reference) if s.phone != PAUSE]
        theirs = log_f0(audio, sample_rate)
        for name, voice in voices.items():
            planned = plan(text, voice, 200, RATE, reference=reference)
            mine = [s for s in planned.segments if s.phone != PAUSE]
            if len(mine) != len(truth):
                continue
            errors[name][0].extend((a.end - a.start) - (b.end - b.start) for a, b in zip(mine, truth, strict=True))
            index = np.clip(np.round((np.arange(len(planned.f0)) * 200 / RATE - TRACK_DELAY) * TRACK_RATE).astype(int),
                            0, len(theirs) - 1)  # fmt: skip
            both = np.isfinite(theirs[index]) & np.isfinite(planned.f0)
            errors[name][1].extend(1200 * (np.log2(planned.f0[both] / F0_REFERENCE) - theirs[index][both]))
    return {
        name: {
            "phones": len(d),
            "frames": len(c),
            "duration_rmse_ms": 1000 * float(np.sqrt(np.mean(np.square(d)))) if d else np.nan,
            "f0_rmse_cents": float(np.sqrt(np.mean(np.square(c)))) if c else np.nan,
        }  # fmt: skip
        for name, (d, c) in errors.items()
    }
