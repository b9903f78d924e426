"""Linguistic frames: what a text-to-speech WaveNet reads, one frame every ``hop`` samples.

The paper conditions WaveNet on linguistic features with durations and log F0 from separate
models. Here a frame says, for the phone sounding at its time: the phone and its two neighbours
(one-hot over :data:`PHONES`), how far into the phone the frame is and how long the phone lasts,
the stress of its vowel, whether the phone begins or ends a word, whether its word ends a clause
and whether that clause is a question; and the log F0 and voicing at that time. In training the
timings come from aligning the recording (:mod:`.align`) and F0 from the recording itself; at
synthesis both come from a prosody model. One function, :func:`frames`, makes the frames for both.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass

import numpy as np

from wavenet.text.align import Segment
from wavenet.text.espeak import PAUSE, Clause

# espeak-ng 1.52's en-us phonemes (ASCII names), every one heard at least 500 times in 31,010
# sentences of Debian's fortunes, most frequent first; rarer ones (o, x, a:, ...: 136 in all)
# share the last slot, "other".
PHONES = (
    PAUSE, "n", "t", "I", "s", "d", "l", "k", "r", "@", "m", "z", "E", "a", "V", "D", "w", "p", "i:", "v", "b", "f",
    "aI", "eI", "3", "u:", "oU", "i", "h", "a#", "@2", "N", "j", "0", "g", "I2", "I#", "t#", "@L", "S", "3:", "dZ",
    "T", "aU", "A@", "tS", "U", "O:", "O@", "O2", "o@", "e@", "r-", "aa", "U@", "i@", "i@3", "t2", "OI", "A:", "@-",
    "aI3", "Z", "aI@", "n-",
)  # fmt: skip
INDEX = {name: i for i, name in enumerate(PHONES)}
N_PHONES = len(PHONES) + 1  # and "other"
# Per frame: three one-hot phones, then these.
SCALARS = ("position", "log_duration", "primary", "secondary", "word_start", "word_end", "clause_end_word",
           "question", "log_f0", "voiced")  # fmt: skip
CHANNELS = 3 * N_PHONES + len(SCALARS)
F0_REFERENCE = 100.0  # Hz: log F0 is log2(f0 / 100), 0 where unvoiced


@dataclass(frozen=True)
class TimedPhone:
    name: str
    start: float  # seconds
    end: float
    stress: int = 0  # 2 primary, 1 secondary
    word_start: bool = False
    word_end: bool = False
    clause_end_word: bool = False  # its word is the last of its clause
    question: bool = False  # its clause ends with "?"


def timed_phones(clauses: list[Clause], segments: list[Segment]) -> list[TimedPhone]:
    """The phones of ``segments`` (an alignment's, or a prosody plan's) with the marks of ``clauses``.

    ``segments`` hold the phones espeak-ng spoke, with pauses between them; ``clauses``
    (:func:`~wavenet.text.espeak.phonemize`) the same phones with word and clause marks. The two
    can differ in a few phones where clauses meet (espeak-ng reads clauses one by one in
    phonemize, all at once when it speaks: "it. it's" may flap a t): phones are matched in
    order, and an unmatched phone keeps no marks. Pauses keep none either.
    """
    marked = []
    for clause in clauses:
        for w, word in enumerate(clause.words):
            for p, phone in enumerate(word):
                marked.append((phone, p == 0, p == len(word) - 1, w == len(clause.words) - 1, clause.end == "?"))
    spoken = [s.phone for s in segments if s.phone != PAUSE]
    match = _match(spoken, [m[0].name for m in marked])
    if sum(m is not None for m in match) < 0.8 * max(len(spoken), len(marked)):
        raise ValueError("the segments' phones are not the clauses' phones")
    out, k = [], 0
    for s in segments:
        if s.phone == PAUSE:
            out.append(TimedPhone(PAUSE, s.start, s.end))
            continue
        if match[k] is None:
            out.append(TimedPhone(s.phone, s.start, s.end))
        else:
            phone, first, last, final, question = marked[match[k]]
            out.append(TimedPhone(s.phone, s.start, s.end, phone.stress, first, last, final, question))
        k += 1
    return out


def _match(a: list[str], b: list[str]) -> list[int | None]:
    """For each item of a, the index of its counterpart in b: position by position where the lengths agree."""
    if len(a) == len(b):
        return list(range(len(a)))
    match: list[int | None] = [None] * len(a)
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag in ("equal", "replace") and i2 - i1 == j2 - j1:
            match[i1:i2] = range(j1, j2)
    return match


def frames(phones: list[TimedPhone], n_frames: int, hop: int, sample_rate: int,
           f0: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
    """(n_frames, CHANNELS) float32: frame i describes sample i × hop.

    ``f0``: Hz at every frame (NaN or 0 where unvoiced), or None for all unvoiced. Before the
    first phone and after the last, a frame reads a pause.
    """
    out = np.zeros((n_frames, CHANNELS), dtype=np.float32)
    times = np.arange(n_frames) * hop / sample_rate
    starts = np.array([p.start for p in phones]) if phones else np.zeros(0)
    which = np.clip(np.searchsorted(starts, times, side="right") - 1, -1, len(phones) - 1)
    ids = [INDEX.get(p.name, len(PHONES)) for p in phones]
    scalar = 3 * N_PHONES
    for i, k in enumerate(which):
        if k < 0 or (k == len(phones) - 1 and times[i] >= phones[k].end):  # outside the phones: pauses
            out[i, [INDEX[PAUSE], N_PHONES + INDEX[PAUSE], 2 * N_PHONES + INDEX[PAUSE]]] = 1
            continue
        p = phones[k]
        out[i, ids[k]] = 1
        out[i, N_PHONES + (ids[k - 1] if k > 0 else INDEX[PAUSE])] = 1
        out[i, 2 * N_PHONES + (ids[k + 1] if k + 1 < len(phones) else INDEX[PAUSE])] = 1
        length = max(p.end - p.start, 1e-3)
        out[i, scalar : scalar + 8] = (
            min(max((times[i] - p.start) / length, 0.0), 1.0), math.log(length), p.stress == 2, p.stress == 1,
            p.word_start, p.word_end, p.clause_end_word, p.question,
        )  # fmt: skip
    if f0 is not None:
        f0 = np.asarray(f0, dtype=np.float64)[:n_frames]
        voiced = np.isfinite(f0) & (f0 > 0)
        out[: len(f0), scalar + 8] = np.where(voiced, np.log2(np.where(voiced, f0, 1.0) / F0_REFERENCE), 0.0)
        out[: len(f0), scalar + 9] = voiced
    return out
