"""A source-filter model's signals: each sample's linear prediction, the excitation, and their μ-law codes.

A source-filter WaveNet (``WaveNetConfig.lpc_order`` p > 0; the design of LPCNet, Valin &
Skoglund 2019) is told how each sample would continue the ones before it under the frame's
spectral envelope, and learns only what that prediction misses. With s the signal (the μ-law
codes' values) and a the frame's predictor (:func:`wavenet.dsp.reflection_to_lpc` of the
reflection coefficients the frame carries in its last p channels, held for the frame's hop):

    p_t = -(a_1 s_{t-1} + ... + a_p s_{t-p})     the prediction
    e_t = s_t - p_t                              the excitation

At position t the network reads the code of s_{t-1} (as every WaveNet), the code of p_t and
the code of e_{t-1}, and its softmax is over the code of e_t. Generation samples e_t's code, and
the sample is the μ-law code of p_t + e_t. Everything here is a function of the sample codes
alone, computed the same way on training crops (:func:`crop_source`) and while generating
(:class:`SourceState`), so generation sees exactly what training saw.
"""

from __future__ import annotations

import numpy as np

from wavenet import mulaw
from wavenet.dsp import lpc_predict, reflection_to_lpc


def silence_value(mu: int) -> float:
    """The value of the code of silence: what the signal is taken to be before a stream's first sample."""
    return float(mulaw.decode(np.array([mulaw.silence_code(mu)]), mu)[0])


def frame_filters(frames: np.ndarray, order: int) -> np.ndarray:
    """The predictors (frames, order + 1) of frames (frames, channels) whose last ``order`` channels are reflection coefficients."""
    return reflection_to_lpc(np.asarray(frames, dtype=np.float64)[:, -order:])


def crop_source(
    codes: np.ndarray, start: int, length: int, filters: np.ndarray, hop: int, mu: int,
    heard: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """The source inputs and targets of positions start .. start + length - 1 of an utterance's codes.

    Returns (prediction codes, last-excitation codes, excitation codes), each (length,) int64:
    position t reads the codes of p_t and e_{t-1} and is trained to give the code of e_t.
    Before the utterance's first sample the signal is the silence code's value (what the network
    reads there), and the prediction of the sample before the first is zero.
    Positions past the utterance's end (a short utterance in a longer crop) get silence codes.

    ``heard``: the codes the network reads instead of ``codes`` (the same length; noise injected
    in training, LPCNet's way of teaching it to correct its own errors): predictions and the last
    excitations come from them, the target excitations are the true samples' less those predictions.
    """
    order = filters.shape[1] - 1
    first = start - 1  # e_{t-1} needs the prediction of one sample before the crop
    end = min(start + length, len(codes))
    span = np.arange(first, end)  # samples whose prediction and excitation are needed
    lo = first - order
    before = silence_value(mu)
    known = np.arange(max(lo, 0), end)

    def values(source: np.ndarray) -> np.ndarray:  # samples lo .. end - 1
        history = np.full(end - lo, before)
        history[known - lo] = mulaw.decode(np.asarray(source[known.min() : end]), mu)
        return history

    history = values(codes if heard is None else heard)
    coefficients = filters[np.clip(span, 0, None) // hop]  # (len(span), order + 1)
    predicted = lpc_predict(history, coefficients)  # (len(span),): p of samples first .. end - 1
    predicted[span < 0] = 0.0
    excitation = mulaw.encode(np.clip(history[order:] - predicted, -1, 1), mu)  # what is heard of e, first .. end - 1
    target = excitation if heard is None else mulaw.encode(np.clip(values(codes)[order:] - predicted, -1, 1), mu)
    silence = mulaw.silence_code(mu)
    out = [np.full(length, silence, dtype=np.int64) for _ in range(3)]
    n = end - start
    out[0][:n] = mulaw.encode(np.clip(predicted[1:], -1, 1), mu)
    out[1][:n] = excitation[:-1]
    out[2][:n] = target[1:]
    return out[0], out[1], out[2]


class SourceState:
    """Generation's side of the source-filter, for B streams: the last p samples, the last prediction.

    :meth:`advance` takes each stream's newest sample code and gives the codes the network reads
    next (the prediction of the next sample, the excitation just past); :meth:`sample` turns a
    sampled excitation code into the sample's code.
    """

    def __init__(self, batch: int, order: int, mu: int) -> None:
        self.order, self.mu = order, mu
        self.silence = silence_value(mu)
        self.history = np.full((batch, order), self.silence)  # the last p samples, oldest first
        self.predicted = np.zeros(batch)  # each stream's prediction of its newest sample

    def reset(self, slot: int) -> None:
        self.history[slot] = self.silence
        self.predicted[slot] = 0.0

    def move(self, src: int, dst: int) -> None:
        self.history[dst] = self.history[src]
        self.predicted[dst] = self.predicted[src]

    def save(self, slot: int) -> np.ndarray:
        return np.concatenate([self.history[slot], self.predicted[slot : slot + 1]])

    def load(self, slot: int, saved: np.ndarray) -> None:
        self.history[slot], self.predicted[slot] = saved[:-1], saved[-1]

    def advance(self, codes: np.ndarray, filters: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The first k streams' newest sample codes (k,) and the filters of their next samples (k, p + 1)
        → (prediction codes, last-excitation codes), each (k,) int64."""
        k = len(codes)
        value = mulaw.decode(np.asarray(codes), self.mu)
        excitation = mulaw.encode(np.clip(value - self.predicted[:k], -1, 1), self.mu)
        self.history[:k] = np.concatenate([self.history[:k, 1:], value[:, None]], axis=1)
        upcoming = np.concatenate([self.history[:k], np.zeros((k, 1))], axis=1)  # p past samples and the next
        self.predicted[:k] = lpc_predict(upcoming, filters[:, None, :])[:, 0]
        return mulaw.encode(np.clip(self.predicted[:k], -1, 1), self.mu), excitation

    def sample(self, excitation_codes: np.ndarray) -> np.ndarray:
        """The code of the sample whose excitation was drawn: prediction + excitation, (k,) int64."""
        k = len(excitation_codes)
        value = self.predicted[:k] + mulaw.decode(np.asarray(excitation_codes), self.mu)
        return mulaw.encode(np.clip(value, -1, 1), self.mu)
