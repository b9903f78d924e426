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


def f0_track(audio: np.ndarray, sample_rate: int = 16000, fmin: float = 60.0, fmax: float = 500.0,
             threshold: float = 0.15) -> np.ndarray:  # fmt: skip
    """F0 in Hz of every frame (40 ms, 10 ms hop), NaN where a frame is quieter than -40 dBFS or unvoiced.

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


def yin_f0(audio: np.ndarray, sample_rate: int = 16000, fmin: float = 60.0, fmax: float = 500.0,
           threshold: float = 0.15) -> np.ndarray:  # fmt: skip
    """F0 in Hz of every voiced frame (:func:`f0_track` without the unvoiced and silent ones)."""
    track = f0_track(audio, sample_rate, fmin, fmax, threshold)
    return track[np.isfinite(track)]


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


def pitch_errors(
    reference: np.ndarray, test: np.ndarray, sample_rate: int = 16000, threshold: float = 0.15
) -> tuple[float, float]:
    """(F0 RMSE in cents over the frames voiced in both, share of frames whose voicing differs).

    Frame by frame, over the shorter signal's frames; silent frames count as unvoiced. NaN RMSE
    when no frame is voiced in both.
    """
    a, b = f0_track(reference, sample_rate, threshold=threshold), f0_track(test, sample_rate, threshold=threshold)
    n = min(len(a), len(b))
    a, b = a[:n], b[:n]
    voiced_a, voiced_b = np.isfinite(a), np.isfinite(b)
    both = voiced_a & voiced_b
    cents = 1200 * np.log2(b[both] / a[both])
    rmse = float(np.sqrt(np.mean(cents**2))) if both.any() else float("nan")
    return rmse, float(np.mean(voiced_a != voiced_b)) if n else float("nan")


def log_mel_db(audio: np.ndarray, sample_rate: int = 16000, n_mels: int = 80) -> np.ndarray:
    """Log-mel magnitudes in dB of every frame (40 ms, 10 ms hop; floored at -100 dB): (frames, n_mels)."""
    f = frames(audio)
    magnitude = np.abs(np.fft.rfft(f * np.hanning(FRAME), axis=1))
    mel = magnitude @ mel_filterbank(sample_rate, FRAME, n_mels).T
    return 20 * np.log10(np.maximum(mel, 1e-5))


def mel_distance_db(reference: np.ndarray, test: np.ndarray, sample_rate: int = 16000) -> float:
    """Log-mel spectral distance in dB: the RMS over bands of the difference, averaged over frames.

    Over the frames where either signal is louder than -50 dBFS (silence in both says nothing).
    """
    n = min(len(frames(reference)), len(frames(test)))
    a, b = log_mel_db(reference, sample_rate)[:n], log_mel_db(test, sample_rate)[:n]
    loud = (frame_db(frames(reference))[:n] > SILENCE_DB) | (frame_db(frames(test))[:n] > SILENCE_DB)
    if not loud.any():
        return 0.0
    return float(np.mean(np.sqrt(np.mean((a[loud] - b[loud]) ** 2, axis=1))))


def chroma(audio: np.ndarray, sample_rate: int = 16000, n_fft: int = 4096, hop: int = HOP) -> np.ndarray:
    """Energy per pitch class (C = 0) of every frame, from 27.5 Hz to 4.2 kHz, each frame summing to 1 (or 0)."""
    f = frames(audio, n_fft, hop)
    power = np.abs(np.fft.rfft(f * np.hanning(n_fft), axis=1)) ** 2
    freqs = np.fft.rfftfreq(n_fft, 1 / sample_rate)
    band = (freqs >= 27.5) & (freqs <= 4200)
    pitch_class = np.round(12 * np.log2(freqs[band] / 440.0) + 9).astype(int) % 12  # A = 9
    out = np.zeros((len(f), 12))
    for c in range(12):
        out[:, c] = power[:, band][:, pitch_class == c].sum(axis=1)
    total = out.sum(axis=1, keepdims=True)
    return np.divide(out, total, out=np.zeros_like(out), where=total > 1e-10)


def chroma_similarity(reference: np.ndarray, test: np.ndarray, sample_rate: int = 16000) -> float:
    """Mean cosine similarity of the two chromagrams, over the frames where both sound."""
    a, b = chroma(reference, sample_rate), chroma(test, sample_rate)
    n = min(len(a), len(b))
    a, b = a[:n], b[:n]
    sounding = (a.sum(axis=1) > 0) & (b.sum(axis=1) > 0)
    if not sounding.any():
        return 0.0
    num = (a[sounding] * b[sounding]).sum(axis=1)
    den = np.linalg.norm(a[sounding], axis=1) * np.linalg.norm(b[sounding], axis=1)
    return float(np.mean(num / den))


def onsets(audio: np.ndarray, sample_rate: int = 16000, delta: float = 0.07, wait: float = 0.03) -> np.ndarray:
    """Onset times in seconds: peaks of the log-mel spectral flux (Bello et al. 2005), as librosa picks them.

    The flux (the summed positive change of log-mel bands between 10 ms frames) is scaled to a
    maximum of 1 over the file; a frame is an onset where its flux is the largest within ±``wait``
    and exceeds the mean within ±100 ms by ``delta``. The same detector runs on every rendering
    compared, so its biases cancel.
    """
    mel = log_mel_db(audio, sample_rate) / 20  # log10 units
    if len(mel) < 3:
        return np.zeros(0)
    flux = np.concatenate([[0.0], np.maximum(np.diff(mel, axis=0), 0).sum(axis=1)])
    flux = flux / max(flux.max(), 1e-10)
    near, around = max(1, round(wait * sample_rate / HOP)), round(0.1 * sample_rate / HOP)
    peaks = []
    for i in range(len(flux)):
        lo, hi = max(0, i - near), min(len(flux), i + near + 1)
        mean = flux[max(0, i - around) : i + around + 1].mean()
        if flux[i] == flux[lo:hi].max() and flux[i] > mean + delta and (not peaks or i - peaks[-1] > near):
            peaks.append(i)
    return (np.asarray(peaks) * HOP + FRAME / 2) / sample_rate  # each frame's centre
