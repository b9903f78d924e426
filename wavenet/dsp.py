"""Signal processing under everything else: framing, the mel filterbank, log-mel frames, F0, linear prediction.

Data preparation, the text front end, evaluation and generation all analyse audio the same way,
so they all call this module, which imports nothing of the project but its errors. Two clocks:

- **model frames**: what a conditioned model reads, one every ``MelSpec.hop`` samples (200:
  12.5 ms at 16 kHz), from :func:`log_mel`, centred on sample i × hop;
- **analysis frames**: ``ANALYSIS_FRAME`` samples (40 ms) every ``ANALYSIS_HOP`` (10 ms), the
  one clock of every track that measures audio (F0, loudness, the alignment's cepstra, the
  metrics), from :func:`frames`, frame j starting at sample j × hop.

librosa computes several of these steps too. Where it does one the same way it is the reference
the tests compare against (``tests/test_dsp.py``), not a dependency of the library, for what was
measured here (2-core AMD EPYC, librosa 0.11, numpy 2, torch 2.13):

- the mel filterbank is ``librosa.filters.mel(htk=True, norm=None)``: identical (largest
  difference 0.0 on four shapes), but importing ``librosa.filters`` costs about 1.0 s in every
  process (it imports scipy.signal), and librosa adds about 120 MB of packages (numba, llvmlite,
  scikit-learn) to an install that needs none of them: it would slow every ``wavenet`` command
  that reads audio by a second for the same numbers;
- log-mel frames: torch's STFT here, librosa's ``melspectrogram`` the same frames within 7.4e-6
  (natural log) and about as fast (148 against 131 ms for 60 s of audio, ``bench/log_mel.py``);
- F0: librosa's ``yin`` gives no voicing decision (every frame gets a pitch) and ``pyin`` is a
  different estimator; :func:`f0_track` is the YIN with a voicing threshold that every bundled
  text-to-speech model was trained with (its log F0 channel), so it stays;
- linear prediction: ``librosa.lpc`` is Burg's method on a waveform. A vocoder has only mel
  frames: :func:`lpc_from_log_mel` goes from them to the power spectrum, its autocorrelation and
  Levinson-Durbin (:func:`levinson`), which librosa does not offer.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import torch

from wavenet.errors import WavenetError

ANALYSIS_FRAME = 640  # samples: 40 ms at 16 kHz
ANALYSIS_HOP = 160  # samples: 10 ms at 16 kHz
SILENCE_DB = -50.0  # an analysis frame quieter than this (RMS, dBFS) is silence
LOG_MEL_FLOOR = 1e-5  # log_mel's floor on mel magnitudes: log(1e-5) = -11.5 is digital silence


# Framing.


def frames(audio: np.ndarray, frame: int = ANALYSIS_FRAME, hop: int = ANALYSIS_HOP) -> np.ndarray:
    """Overlapping frames (n, frame) float64 of a signal, frame j starting at j × hop; none if it is shorter than one."""
    if len(audio) < frame:
        return np.zeros((0, frame), dtype=np.float64)
    n = 1 + (len(audio) - frame) // hop
    index = np.arange(frame)[None, :] + hop * np.arange(n)[:, None]
    return np.asarray(audio, dtype=np.float64)[index]


def frame_db(f: np.ndarray) -> np.ndarray:
    """RMS level of each frame (n, frame) in dBFS."""
    return 20 * np.log10(np.sqrt((f**2).mean(axis=1)) + 1e-10)


# The mel scale.


@functools.lru_cache(maxsize=32)
def mel_filterbank(
    sample_rate: int, n_fft: int, n_mels: int, fmin: float = 40.0, fmax: float | None = None
) -> np.ndarray:
    """Triangular filters on the mel scale (HTK formula), without area normalisation: (n_mels, n_fft // 2 + 1).

    The same matrix as ``librosa.filters.mel(htk=True, norm=None)``. Cached: read-only.
    """

    def mel(f):
        return 2595 * np.log10(1 + f / 700)

    def hz(m):
        return 700 * (10 ** (m / 2595) - 1)

    edges = hz(np.linspace(mel(fmin), mel(fmax or sample_rate / 2), n_mels + 2))
    freqs = np.fft.rfftfreq(n_fft, 1 / sample_rate)
    bank = np.zeros((n_mels, len(freqs)))
    for i in range(n_mels):
        lo, mid, hi = edges[i : i + 3]
        bank[i] = np.clip(np.minimum((freqs - lo) / (mid - lo), (hi - freqs) / (hi - mid)), 0, None)
    bank.flags.writeable = False
    return bank


def mel_spectrum(f: np.ndarray, sample_rate: int, n_mels: int, power: int = 1, fmin: float = 40.0) -> np.ndarray:
    """Mel band energies of analysis frames (n, frame) under a Hann window: (n, n_mels) of |X|**power."""
    spectrum = np.abs(np.fft.rfft(f * np.hanning(f.shape[1]), axis=1)) ** power
    return spectrum @ mel_filterbank(sample_rate, f.shape[1], n_mels, fmin).T


@dataclass(frozen=True)
class MelSpec:
    """How :func:`log_mel` makes frames: one every ``hop`` samples, ``win``-sample Hann windows, ``n_fft`` points."""

    hop: int = 200
    n_mels: int = 80
    n_fft: int = 1024
    win: int = 800
    fmin: float = 40.0
    fmax: float = 8000.0

    def __post_init__(self) -> None:
        if self.hop < 1 or self.n_mels < 1 or self.win < 1 or self.n_fft < self.win:
            raise WavenetError("features: hop, n_mels and win must be positive, and n_fft at least win")

    def frames_for(self, samples: int) -> int:
        return math.ceil(samples / self.hop)


def log_mel(audio: np.ndarray, sample_rate: int, spec: MelSpec) -> np.ndarray:
    """Log-mel frames of float audio: (ceil(samples / hop), n_mels) float32.

    The magnitude STFT (centred, reflection-padded frames) through :func:`mel_filterbank`, then
    the natural log, floored at :data:`LOG_MEL_FLOOR`. Frame i describes the audio around sample i × hop.
    """
    signal = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))
    n = spec.frames_for(len(signal))
    pad = spec.n_fft // 2
    if len(signal) <= pad:  # reflection padding needs more samples than it adds
        signal = torch.nn.functional.pad(signal, (0, pad + 1 - len(signal)))
    spectrum = torch.stft(
        signal,
        spec.n_fft,
        hop_length=spec.hop,
        win_length=spec.win,
        window=torch.hann_window(spec.win),
        center=True,
        return_complex=True,
    ).abs()[:, :n]  # (n_fft // 2 + 1, frames)
    bank = torch.from_numpy(np.array(mel_filterbank(sample_rate, spec.n_fft, spec.n_mels, spec.fmin, spec.fmax)))
    mel = bank.float() @ spectrum
    return torch.log(mel.clamp(min=LOG_MEL_FLOOR)).t().contiguous().numpy()


# Pitch.


def f0_track(audio: np.ndarray, sample_rate: int = 16000, fmin: float = 60.0, fmax: float = 500.0,
             threshold: float = 0.15) -> np.ndarray:  # fmt: skip
    """F0 in Hz of every analysis frame, NaN where a frame is quieter than -40 dBFS or unvoiced.

    YIN's cumulative mean normalised difference (de Cheveigné & Kawahara 2002): the first lag whose
    difference falls below ``threshold``, refined to its local minimum and by a parabola.
    """
    f = frames(audio)
    track = np.full(len(f), np.nan)
    loud = np.flatnonzero(frame_db(f) > -40.0) if len(f) else np.zeros(0, dtype=int)
    if len(loud) == 0:
        return track
    f = f[loud]
    f = f - f.mean(axis=1, keepdims=True)
    lag_min, lag_max = int(sample_rate / fmax), int(sample_rate / fmin)
    w = f.shape[1] - lag_max  # the integration window
    spectrum = np.fft.rfft(f, n=2 * f.shape[1], axis=1)
    acf = np.fft.irfft(spectrum * np.conj(np.fft.rfft(f[:, :w], n=2 * f.shape[1], axis=1)), axis=1)[:, : lag_max + 1]
    energy = np.cumsum(f**2, axis=1)
    e0 = energy[:, w - 1]
    lags = np.arange(lag_max + 1)
    shifted = energy[:, lags + w - 1] - np.concatenate([np.zeros((len(f), 1)), energy[:, lags[1:] - 1]], axis=1)
    diff = e0[:, None] + shifted - 2 * acf  # d(tau) = sum (x_j - x_{j+tau})^2
    diff[:, 0] = 0
    cmnd = diff[:, 1:] * np.arange(1, lag_max + 1) / (np.cumsum(diff[:, 1:], axis=1) + 1e-12)
    for index, row in zip(loud, cmnd, strict=True):
        below = np.flatnonzero(row[lag_min - 1 :] < threshold)
        if len(below) == 0:
            continue
        tau = below[0] + lag_min - 1  # index into row: lag tau + 1
        while tau + 1 < len(row) and row[tau + 1] < row[tau]:  # down to the local minimum
            tau += 1
        a, b, c = row[tau - 1], row[tau], row[min(tau + 1, len(row) - 1)]
        shift = 0.5 * (a - c) / (a - 2 * b + c) if (a - 2 * b + c) != 0 else 0.0
        track[index] = sample_rate / (tau + 1 + shift)
    return track


def f0_at_frames(audio: np.ndarray, sample_rate: int, n_frames: int, hop: int) -> np.ndarray:
    """F0 (Hz; NaN where unvoiced) at model frame times i × hop: the analysis frame centred nearest each."""
    track = f0_track(audio, sample_rate)
    centres = (np.arange(n_frames) * hop - ANALYSIS_FRAME // 2) / ANALYSIS_HOP
    index = np.clip(np.round(centres).astype(int), 0, max(len(track) - 1, 0))
    return track[index] if len(track) else np.full(n_frames, np.nan)


# Linear prediction.


def levinson(autocorrelation: np.ndarray, order: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Levinson-Durbin on autocorrelations (..., order + 1 or more): coefficients (..., order + 1), error (...), reflection (..., order).

    The coefficients a (a[0] = 1) of the predictor x[t] ≈ -(a[1] x[t-1] + ... + a[p] x[t-p]) that
    minimises the squared error, that error, and the reflection coefficients k (each |k| < 1 for
    a stable filter), from which :func:`reflection_to_lpc` rebuilds a. Rows whose energy is zero
    get a = (1, 0, ..., 0) and k = 0.
    """
    r = np.asarray(autocorrelation, dtype=np.float64)
    if r.shape[-1] < order + 1:
        raise WavenetError(f"levinson: {order} coefficients need {order + 1} autocorrelation lags, got {r.shape[-1]}")
    shape = r.shape[:-1]
    r = r.reshape(-1, r.shape[-1])
    a = np.zeros((len(r), order + 1))
    a[:, 0] = 1.0
    k = np.zeros((len(r), order))
    error = r[:, 0].copy()
    live = error > 0
    for i in range(1, order + 1):
        acc = r[:, i] + (a[:, 1:i] * r[:, i - 1 : 0 : -1]).sum(axis=1)
        k[:, i - 1] = np.where(live, -acc / np.where(live, error, 1.0), 0.0)
        a[:, 1 : i + 1] = a[:, 1 : i + 1] + k[:, i - 1 : i] * np.concatenate(
            [a[:, i - 1 : 0 : -1], np.ones((len(r), 1))], 1
        )
        error = error * (1 - k[:, i - 1] ** 2)
        live &= error > 0
    return a.reshape(*shape, order + 1), error.reshape(shape), k.reshape(*shape, order)


def reflection_to_lpc(k: np.ndarray) -> np.ndarray:
    """The step-up recursion: reflection coefficients (..., p) to the predictor's coefficients (..., p + 1), a[0] = 1.

    A frame of reflection coefficients travels well (each in (-1, 1): float16 keeps it to 5e-4, and
    the filter it gives is stable); the coefficients of the predictor are rebuilt from it wherever
    a prediction is needed, the same way in training and in generation.
    """
    k = np.asarray(k, dtype=np.float64)
    shape, order = k.shape[:-1], k.shape[-1]
    k = k.reshape(-1, order)
    a = np.zeros((len(k), order + 1))
    a[:, 0] = 1.0
    for i in range(1, order + 1):
        a[:, 1 : i + 1] = a[:, 1 : i + 1] + k[:, i - 1 : i] * np.concatenate(
            [a[:, i - 1 : 0 : -1], np.ones((len(k), 1))], 1
        )
    return a.reshape(*shape, order + 1)


def autocorrelation_from_log_mel(
    log_mel_frames: np.ndarray, sample_rate: int, spec: MelSpec, lags: int, lag_window: float = 60.0,
    preemphasis: float = 0.0,
) -> np.ndarray:  # fmt: skip
    """The autocorrelation (frames, lags) that :func:`log_mel` frames imply, lag-windowed.

    Each band's magnitude, divided by its filter's area, is spread back over the FFT bins it
    covers (a weighted mean of the bands over each bin); the squares are the power spectrum,
    whose inverse FFT is the autocorrelation. A Gaussian lag window of ``lag_window`` Hz smooths
    the envelope (and keeps the filter stable with low-level bands); a hair of white noise keeps
    pure tones well conditioned. With ``preemphasis`` α, the power spectrum is first multiplied by
    |1 - α e^{-jω}|²: the autocorrelation of the recording pre-emphasised (x_t - α x_{t-1}).
    """
    bank = np.array(mel_filterbank(sample_rate, spec.n_fft, spec.n_mels, spec.fmin, spec.fmax))  # (M, K)
    magnitude = np.exp(np.asarray(log_mel_frames, dtype=np.float64)) / bank.sum(axis=1)  # (frames, M): per bin
    cover = bank.sum(axis=0)  # (K,): how much of each bin the bands cover
    spread = (magnitude @ bank) / np.where(cover > 0, cover, 1.0)  # (frames, K)
    power = np.where(cover > 0, spread, 0.0) ** 2
    if preemphasis:
        omega = 2 * np.pi * np.arange(power.shape[1]) / spec.n_fft
        power = power * (1 + preemphasis**2 - 2 * preemphasis * np.cos(omega))
    r = np.fft.irfft(power, n=spec.n_fft, axis=1)[:, :lags]
    r = r * np.exp(-0.5 * (2 * np.pi * lag_window * np.arange(lags) / sample_rate) ** 2)
    r[:, 0] *= 1.0 + 1e-9
    return r


def lpc_from_log_mel(
    log_mel_frames: np.ndarray, sample_rate: int, spec: MelSpec, order: int = 16, preemphasis: float = 0.0
) -> np.ndarray:
    """Linear-prediction coefficients (frames, order + 1) from :func:`log_mel` frames alone (see above)."""
    r = autocorrelation_from_log_mel(log_mel_frames, sample_rate, spec, order + 1, preemphasis=preemphasis)
    return levinson(r, order)[0]


def reflection_from_log_mel(
    log_mel_frames: np.ndarray, sample_rate: int, spec: MelSpec, order: int = 16, preemphasis: float = 0.0
) -> np.ndarray:
    """Reflection coefficients (frames, order) from :func:`log_mel` frames: what a source-filter vocoder's frames carry
    (of the recording pre-emphasised by ``preemphasis``, where the vocoder models that)."""
    r = autocorrelation_from_log_mel(log_mel_frames, sample_rate, spec, order + 1, preemphasis=preemphasis)
    return levinson(r, order)[2]


def lpc_predict(signal: np.ndarray, coefficients: np.ndarray) -> np.ndarray:
    """Each sample's prediction from the ones before it: p[t] = -(a[t,1] x[t-1] + ... + a[t,p] x[t-p]).

    signal: (..., p + T): p samples of history, then T; coefficients: (..., T, p + 1) per sample.
    Returns (..., T). The one definition of a prediction, for training crops and generation alike.
    """
    order = coefficients.shape[-1] - 1
    length = coefficients.shape[-2]
    p = np.zeros(signal.shape[:-1] + (length,), dtype=np.float64)
    for j in range(1, order + 1):
        p -= coefficients[..., j] * signal[..., order - j : order - j + length]
    return p


def lpc_envelope_db(coefficients: np.ndarray, n_fft: int) -> np.ndarray:
    """20 log10 of 1 / |A(e^jw)| at the n_fft // 2 + 1 bins (the envelope's shape, without its gain)."""
    return -20 * np.log10(np.abs(np.fft.rfft(coefficients, n=n_fft, axis=-1)) + 1e-12)
