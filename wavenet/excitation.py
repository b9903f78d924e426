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

A model with a periodic source (``WaveNetConfig.source_harmonics`` H > 0; the sine source of
NSF, Wang et al. 2019) is also given, at every sample, sines at the first H multiples of the F0
that its frames carry in their last channel (Hz; 0 where unvoiced): pitch is given, not inferred.
The phase runs on from frame to frame (each frame's F0 held over its hop), and the source is
zero where a frame is unvoiced and for a harmonic at or above half the sample rate. It is a
function of the frames alone (:func:`frame_cycles`, :func:`sine_source`), the same numbers for
a training crop, a whole stream and a stream whose frames arrive a few at a time. Training may
read them instead at the recording's own phase (:func:`recording_phase`), so that they tell where
its pitch pulses fall. A piano-roll model's source (``WaveNetConfig.source_keys``) is, instead,
the sum of sines at the sounding keys' fundamentals, each from its note's start (:func:`key_source`).
"""

from __future__ import annotations

import numpy as np
import torch

from wavenet import mulaw
from wavenet.dsp import lpc_predict, reflection_to_lpc
from wavenet.model_config import KEYS, LOWEST_KEY, WaveNetConfig

SINE_PHASES = ("frames", "recording")  # where a periodic source's phase comes from in training crops
PHASE_WINDOW_SECONDS = 0.025  # the recording's fundamental is measured over this much around each sample


def silence_value(mu: int) -> float:
    """The value of the code of silence: what the signal is taken to be before a stream's first sample."""
    return float(mulaw.decode(np.array([mulaw.silence_code(mu)]), mu)[0])


def frame_filters(frames: np.ndarray, order: int, f0: bool = False) -> np.ndarray:
    """The predictors (frames, order + 1) of frames (frames, channels) whose last ``order`` channels
    (before the F0 channel, with ``f0``) are reflection coefficients."""
    end = frames.shape[1] - int(f0)
    return reflection_to_lpc(np.asarray(frames, dtype=np.float64)[:, end - order : end])


def frame_cycles(f0: np.ndarray, hop: int, sample_rate: int, before: float = 0.0) -> np.ndarray:
    """Cycles of the fundamental completed before each frame's first sample, and after the last: (frames + 1,) float64.

    ``f0`` (Hz, one per frame; 0 where unvoiced) is held over each frame's hop. ``before``: the
    cycles before the first of these frames (the last value for the frames before them), so that
    a feed which grows adds its new frames with the same sums, in the same order, as the whole
    frames at once (a cumulative sum is sequential).
    """
    steps = np.asarray(f0, dtype=np.float64) * hop / sample_rate
    return np.cumsum(np.concatenate([[before], steps]))


def sample_phase(
    f0: np.ndarray, cycles: np.ndarray, positions: np.ndarray, hop: int, sample_rate: int
) -> tuple[np.ndarray, np.ndarray]:
    """The fundamental's phase (cycles, float64) and frequency (Hz) at samples ``positions`` (counted
    from frame 0's first sample): sample t of frame k = t // hop (the last frame holds past the end)
    has phase cycles[k] + f0[k] (t - k hop) / sample_rate."""
    positions = np.asarray(positions, dtype=np.int64)
    k = np.minimum(positions // hop, len(f0) - 1)
    f = np.asarray(f0, dtype=np.float64)[k]
    return cycles[k] + f * (positions - k * hop) / sample_rate, f


def sines_at(phase: np.ndarray, f: np.ndarray, sample_rate: int, harmonics: int) -> np.ndarray:
    """sin(2π h phase) for h = 1..harmonics: (n, harmonics) float32, zero where the frequency ``f``
    is 0 (unvoiced) and where h f reaches half the sample rate."""
    phase = phase - np.floor(phase)  # the fraction of a cycle: sin(2π h x) is the same, and exact for large x
    h = np.arange(1, harmonics + 1)
    out = np.sin(2 * np.pi * phase[:, None] * h)
    out[(f[:, None] <= 0) | (f[:, None] * h >= sample_rate / 2)] = 0.0
    return out.astype(np.float32)


def sine_source(
    f0: np.ndarray, cycles: np.ndarray, positions: np.ndarray, hop: int, sample_rate: int, harmonics: int
) -> np.ndarray:
    """The periodic source at samples ``positions`` (counted from frame 0's first sample): (n, harmonics) float32.

    Harmonic h is sin(2π h phase) at :func:`sample_phase`'s phase, zero where the frame's F0 is 0
    and where h F0 reaches half the sample rate.
    """
    return sines_at(*sample_phase(f0, cycles, positions, hop, sample_rate), sample_rate, harmonics)


def key_starts(roll: np.ndarray) -> np.ndarray:
    """The frame at which each key's sounding note began, at every frame of a piano roll: (frames, 88) int64, -1 where
    the key is silent.

    ``roll`` (frames, 264) holds onset, sustain and velocity per key (:func:`wavenet.data.features.piano_roll`);
    a note begins where its key starts to sound or is struck again while sounding. Each row depends
    only on the rows up to it, so a feed that grows gets the same starts for the frames it had.
    """
    frames = np.asarray(roll).reshape(len(roll), 3, KEYS)
    onset, sustain = frames[:, 0] > 0, frames[:, 1] > 0
    sounding_before = np.concatenate([np.zeros((1, KEYS), bool), sustain[:-1]])
    begins = np.where(sustain & (onset | ~sounding_before), np.arange(len(roll))[:, None], -1)
    return np.where(sustain, np.maximum.accumulate(begins, axis=0), -1)


def key_source(starts: np.ndarray, positions: np.ndarray, hop: int, sample_rate: int, harmonics: int) -> np.ndarray:
    """A piano roll's periodic source at samples ``positions``: (n, harmonics) float32.

    Harmonic h sums, over the keys sounding in each sample's frame (``starts``: :func:`key_starts`),
    sin(2π h f (t - start × hop) / sample_rate) with f the key's equal-tempered fundamental
    (A4 = 440 Hz), each from its note's first frame; zero where h f reaches half the sample rate.
    """
    positions = np.asarray(positions, dtype=np.int64)
    k = np.minimum(positions // hop, len(starts) - 1)
    began = starts[k]  # (n, 88)
    out = np.zeros((len(positions), harmonics))
    keys = np.flatnonzero((began >= 0).any(axis=0))
    frequency = 440.0 * 2.0 ** ((keys + LOWEST_KEY - 69) / 12)
    for h in range(1, harmonics + 1):
        audible = keys[h * frequency < sample_rate / 2]
        if not len(audible):
            break
        f = frequency[: len(audible)]  # keys are ascending: the audible ones come first
        cycles = f * h * (positions[:, None] - began[:, audible] * hop) / sample_rate
        cycles -= np.floor(cycles)
        out[:, h - 1] = np.where(began[:, audible] >= 0, np.sin(2 * np.pi * cycles), 0.0).sum(axis=1)
    return out.astype(np.float32)


def periodic_source(frames: np.ndarray, positions: np.ndarray, config: WaveNetConfig) -> np.ndarray:
    """A model's periodic source at samples ``positions`` of a whole stream's frames: (n, harmonics) float32,
    at the F0 of their last channel or, with ``config.source_keys``, at a piano roll's keys."""
    hop, rate, harmonics = config.cond_hop, config.sample_rate, config.source_harmonics
    if config.source_keys:
        return key_source(key_starts(frames), positions, hop, rate, harmonics)
    f0 = np.asarray(frames)[:, -1]
    return sine_source(f0, frame_cycles(f0, hop, rate), positions, hop, rate, harmonics)


def recording_phase(signal: np.ndarray, phase: np.ndarray, window: int) -> np.ndarray:
    """``phase`` (cycles at each sample of ``signal``) moved onto the recording's own fundamental.

    The phase that :func:`sample_phase` integrates from F0 starts anywhere at each voiced stretch
    and drifts wherever the pitch tracker's F0 is off, so under teacher forcing its sines say
    nothing about where the recording's next pitch pulse falls that the samples before it do not
    already say, and the network learns to ignore them. Here each sample's phase is corrected by
    the angle of the recording's fundamental relative to it: the signal heterodyned by the phase,
    x_t e^{-2πi φ_t}, averaged over a Hann ``window`` of samples around t, has angle θ_t where the
    fundamental is A cos(2π φ_t + θ_t); the result φ_t + θ_t / 2π is the phase at which
    cos(2π ·) follows the recording's fundamental. Training on it (``data.sine_phase: recording``)
    ties the sines to the pulses; generation, which has no recording, integrates F0 as before, and
    the network places its pulses where the sines say.
    """
    z = np.asarray(signal, dtype=np.float64) * np.exp(-2j * np.pi * np.asarray(phase, dtype=np.float64))
    smoothed = np.convolve(z, np.hanning(window + 2)[1:-1], mode="same")
    return phase + np.angle(smoothed) / (2 * np.pi)


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


class DeviceSourceState(SourceState):
    """:class:`SourceState` in torch, on the generator's device: for backends whose steps never leave
    it (CUDA graphs, the fused Triton kernel). The same arithmetic in the same order, in float64,
    with μ-law by table (:func:`wavenet.mulaw.code_thresholds` and the codes' values), so it gives
    SourceState's codes exactly on any device; codes, filters and results are device tensors.
    Resets and moves are SourceState's: the same indexing on tensors."""

    def __init__(self, batch: int, order: int, mu: int, device: torch.device) -> None:
        super().__init__(batch, order, mu)
        self.history = torch.full((batch, order), self.silence, dtype=torch.float64, device=device)
        self.predicted = torch.zeros(batch, dtype=torch.float64, device=device)
        as_float64 = {"dtype": torch.float64, "device": device}
        self.thresholds = torch.tensor(mulaw.code_thresholds(mu), **as_float64)
        self.values = torch.tensor(mulaw.decode(np.arange(mu + 1), mu), **as_float64)  # float32 values, as decode

    def save(self, slot: int) -> np.ndarray:
        return torch.cat([self.history[slot], self.predicted[slot : slot + 1]]).cpu().numpy()

    def load(self, slot: int, saved: np.ndarray) -> None:
        saved = torch.from_numpy(np.asarray(saved, dtype=np.float64))
        self.history[slot], self.predicted[slot] = saved[:-1], saved[-1]

    def state(self) -> list[torch.Tensor]:
        """The tensors a step changes (what a graph capture must put back)."""
        return [self.history, self.predicted]

    def advance(self, codes: torch.Tensor, filters: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`SourceState.advance`: codes (k,), filters (k, p + 1) float64 → (prediction codes, last-excitation codes)."""
        k = codes.shape[0]
        value = self.values[codes]
        excitation = self._encode(value - self.predicted[:k])
        self.history[:k] = torch.cat([self.history[:k, 1:], value[:, None]], dim=1)
        predicted = torch.zeros(k, dtype=torch.float64, device=codes.device)
        for j in range(1, self.order + 1):  # lpc_predict's sum, in its order
            predicted = predicted - filters[:, j] * self.history[:k, self.order - j]
        self.predicted[:k] = predicted
        return self._encode(predicted), excitation

    def sample(self, excitation_codes: torch.Tensor) -> torch.Tensor:
        """:meth:`SourceState.sample`: the code of prediction + the drawn excitation, (k,) int64."""
        k = excitation_codes.shape[0]
        return self._encode(self.predicted[:k] + self.values[excitation_codes])

    def _encode(self, value: torch.Tensor) -> torch.Tensor:
        return torch.bucketize(value, self.thresholds, right=True)  # thresholds at or below: mulaw.encode's code
