"""Measuring generated audio without ears: level, silence, spectrum, pitch, and a Fréchet distance.

These numbers let a report say whether generated audio resembles real audio: its level and
share of silence, its spectral centroid and flatness (noise is flat, a tone is not), the median
pitch of its voiced frames (YIN, de Cheveigné & Kawahara 2002), and a Fréchet distance between
Gaussian fits of log-mel frames of two sets of audio (the idea of FID and FAD, on plain log-mel
features: comparable between models of this project, not with published FAD numbers).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from wavenet.data.features import mel_filterbank

FRAME = 640  # 40 ms at 16 kHz
HOP = 160  # 10 ms
SILENCE_DB = -50.0


def frames(audio: np.ndarray, frame: int = FRAME, hop: int = HOP) -> np.ndarray:
    """Overlapping frames (n, frame) of a signal; none when it is shorter than one frame."""
    if len(audio) < frame:
        return np.zeros((0, frame), dtype=np.float64)
    n = 1 + (len(audio) - frame) // hop
    index = np.arange(frame)[None, :] + hop * np.arange(n)[:, None]
    return np.asarray(audio, dtype=np.float64)[index]


def frame_db(f: np.ndarray) -> np.ndarray:
    return 20 * np.log10(np.sqrt((f**2).mean(axis=1)) + 1e-10)


@dataclass
class Levels:
    rms_dbfs: float
    silence: float  # share of frames below -50 dBFS
    centroid_hz: float  # median over non-silent frames
    flatness: float  # median spectral flatness over non-silent frames (1: white noise)


def levels(audio: np.ndarray, sample_rate: int = 16000) -> Levels:
    f = frames(audio)
    db = frame_db(f)
    loud = db > SILENCE_DB
    rms = 20 * np.log10(np.sqrt(np.mean(np.asarray(audio, dtype=np.float64) ** 2)) + 1e-10)
    if not loud.any():
        return Levels(rms, 1.0, 0.0, 0.0)
    power = np.abs(np.fft.rfft(f[loud] * np.hanning(f.shape[1]), axis=1)) ** 2 + 1e-12
    freqs = np.fft.rfftfreq(f.shape[1], 1 / sample_rate)
    centroid = (power * freqs).sum(axis=1) / power.sum(axis=1)
    flatness = np.exp(np.log(power).mean(axis=1)) / power.mean(axis=1)
    return Levels(float(rms), float(1 - loud.mean()), float(np.median(centroid)), float(np.median(flatness)))


def yin_f0(audio: np.ndarray, sample_rate: int = 16000, fmin: float = 60.0, fmax: float = 500.0,
           threshold: float = 0.15) -> np.ndarray:  # fmt: skip
    """F0 in Hz of every voiced frame (YIN's cumulative mean normalised difference, with parabolic refinement)."""
    f = frames(audio)
    if len(f) == 0:
        return np.zeros(0)
    f = f[frame_db(f) > -40.0]
    if len(f) == 0:
        return np.zeros(0)
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
    f0 = []
    for row in cmnd:
        below = np.flatnonzero(row[lag_min - 1 :] < threshold)
        if len(below) == 0:
            continue
        tau = below[0] + lag_min - 1  # index into row: lag tau + 1
        while tau + 1 < len(row) and row[tau + 1] < row[tau]:  # down to the local minimum
            tau += 1
        a, b, c = row[tau - 1], row[tau], row[min(tau + 1, len(row) - 1)]
        shift = 0.5 * (a - c) / (a - 2 * b + c) if (a - 2 * b + c) != 0 else 0.0
        f0.append(sample_rate / (tau + 1 + shift))
    return np.asarray(f0)


def median_f0(audio: np.ndarray, sample_rate: int = 16000, threshold: float = 0.15) -> float:
    """Median F0 of the voiced frames; NaN when fewer than 10 frames are voiced, too few to trust."""
    f0 = yin_f0(audio, sample_rate, threshold=threshold)
    return float(np.median(f0)) if len(f0) >= 10 else float("nan")


def voiced_share(audio: np.ndarray, sample_rate: int = 16000, threshold: float = 0.15) -> float:
    """Share of all frames (silent ones included) that YIN finds voiced at ``threshold``."""
    n = len(frames(audio))
    return len(yin_f0(audio, sample_rate, threshold=threshold)) / n if n else 0.0


def log_mel(audio: np.ndarray, sample_rate: int = 16000) -> np.ndarray:
    """Log-mel frames (n, 64) of the non-silent frames."""
    f = frames(audio)
    f = f[frame_db(f) > SILENCE_DB] if len(f) else f
    if len(f) == 0:
        return np.zeros((0, 64))
    power = np.abs(np.fft.rfft(f * np.hanning(f.shape[1]), axis=1)) ** 2
    return np.log(power @ mel_filterbank(sample_rate, FRAME, 64).T + 1e-8)


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussian fits of two sets of feature vectors (rows).

    ||mu_a - mu_b||² + tr(A + B - 2 (A B)^½). The trace of (A B)^½ is that of
    (A^½ B A^½)^½, a symmetric matrix: the sum of the square roots of its eigenvalues, which
    numpy's ``eigh`` gives without the general matrix square root (and without scipy).
    """
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root_a = _psd_sqrt(cov_a)
    eig = np.linalg.eigvalsh(root_a @ cov_b @ root_a)
    trace_root = np.sqrt(np.clip(eig, 0, None)).sum()
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_root)


def _psd_sqrt(m: np.ndarray) -> np.ndarray:
    """The symmetric square root of a covariance matrix (tiny negative eigenvalues from rounding read as 0)."""
    eig, vec = np.linalg.eigh(m)
    return (vec * np.sqrt(np.clip(eig, 0, None))) @ vec.T
