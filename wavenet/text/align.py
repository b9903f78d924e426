"""Phone timings of a recording whose text is known: dynamic time warping against espeak-ng reading it.

Text to speech trains on frames that say which phone sounds when. espeak-ng renders the same
text with the time of every phone (:func:`wavenet.text.espeak.render`); warping that rendering
onto the recording (cepstra of both, each normalised by its own mean, so that the voices'
timbres matter less than what is said) carries every phone boundary over to the recording.
Phones and their names are espeak-ng's, the same set :func:`~wavenet.text.espeak.phonemize`
gives at synthesis. For espeak-ng's own voices the truth is known, which is how the alignment's
accuracy is measured (:func:`boundary_errors`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import soxr

from wavenet.dsp import ANALYSIS_HOP, MelSpec, log_mel
from wavenet.text.espeak import Rendering, render

RATE = 16000
CEPSTRA = MelSpec(hop=ANALYSIS_HOP, n_mels=40, n_fft=512, win=400, fmin=60.0, fmax=7600.0)
N_CEPSTRA = 13


@dataclass(frozen=True)
class Segment:
    phone: str  # espeak-ng's name; "_" is a pause
    start: float  # seconds
    end: float


def cepstra(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Mean-normalised mel cepstra 1 to 13 of every 10 ms frame: (frames, 13)."""
    if sample_rate != RATE:
        audio = soxr.resample(audio, sample_rate, RATE)
    mel = log_mel(np.asarray(audio, dtype=np.float32), RATE, CEPSTRA)  # (frames, 40)
    n = CEPSTRA.n_mels
    dct = np.cos(np.pi / n * (np.arange(n) + 0.5)[None, :] * np.arange(1, N_CEPSTRA + 1)[:, None])  # DCT-II rows
    c = mel @ dct.T
    return c - c.mean(axis=0)


def dtw_path(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The cheapest monotonic path through the Euclidean distances of frames a (n, d) and b (m, d): (steps, 2).

    Steps go right, down or diagonally; each row is solved at once: with the row's running sums
    S, cost[j] = S[j] + min over k ≤ j of (base[k] - S[k]), base being the best arrival from above.
    """
    d = np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))  # (n, m)
    n, m = d.shape
    cost = np.empty((n, m))
    came = np.empty((n, m), dtype=np.int8)  # 0 diagonal, 1 from above, 2 from the left
    s = np.cumsum(d[0])
    cost[0], came[0] = s, 2
    for i in range(1, n):
        diagonal = np.concatenate([[np.inf], cost[i - 1, :-1]])
        above = cost[i - 1]
        base = d[i] + np.minimum(diagonal, above)
        s = np.cumsum(d[i])
        best = np.minimum.accumulate(base - s) + s
        came[i] = np.where(best < base, 2, np.where(diagonal <= above, 0, 1))
        cost[i] = best
    i, j, path = n - 1, m - 1, []
    while i > 0 or j > 0:
        path.append((i, j))
        step = came[i, j] if i > 0 else 2
        if j == 0:
            step = 1
        i, j = (i - 1, j - 1) if step == 0 else (i - 1, j) if step == 1 else (i, j - 1)
    path.append((0, 0))
    return np.array(path[::-1])


def align(audio: np.ndarray, sample_rate: int, text: str, reference: Rendering | None = None) -> list[Segment]:
    """Each phone of ``text`` (normalised) with its start and end in the recording, in seconds.

    ``reference``: espeak-ng's rendering of the text (made here with the en-us voice when None).
    """
    reference = reference or render(text)
    path = dtw_path(cepstra(audio, sample_rate), cepstra(reference.audio, reference.sample_rate))
    # For each reference frame, the first recording frame the path pairs with it.
    first = np.full(int(path[:, 1].max()) + 1, -1)
    for i, j in path[::-1]:
        first[j] = i
    starts = [
        float(first[min(round(start * RATE / ANALYSIS_HOP), len(first) - 1)] * ANALYSIS_HOP / RATE)
        for _, start, _ in reference.segments()
    ]
    ends = starts[1:] + [len(audio) / sample_rate]  # each phone ends where the next begins
    return [
        Segment(phone, a, max(a, b)) for (phone, _, _), a, b in zip(reference.segments(), starts, ends, strict=True)
    ]


def boundary_errors(found: list[Segment], truth: list[Segment]) -> np.ndarray:
    """Absolute differences of the phone starts, in seconds, phone by phone (the same phones in both)."""
    if [s.phone for s in found] != [s.phone for s in truth]:
        raise ValueError("the alignments hold different phones")
    return np.abs(np.array([s.start for s in found]) - np.array([s.start for s in truth]))
