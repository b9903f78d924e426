"""Measuring generated audio without ears: level, silence, spectrum, pitch, and a Fréchet distance.

These numbers let a report say whether generated audio resembles real audio: its level and
share of silence, its spectral centroid and flatness (noise is flat, a tone is not), the median
pitch of its voiced frames (YIN, de Cheveigné & Kawahara 2002), and a Fréchet distance between
Gaussian fits of log-mel frames of two sets of audio (the idea of FID and FAD, on plain log-mel
features: comparable between models of this project, not with published FAD numbers). For
audio that keeps a reference's timing (a vocoder's resynthesis): STOI, wideband PESQ and DNSMOS,
the field's published measures, from their PyPI packages (the report extras).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from wavenet.dsp import ANALYSIS_FRAME, ANALYSIS_HOP, SILENCE_DB, f0_track, frame_db, frames, mel_spectrum


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
    """F0 in Hz of every voiced frame (:func:`wavenet.dsp.f0_track` without the unvoiced and silent ones)."""
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


def mel_features(audio: np.ndarray, sample_rate: int = 16000) -> np.ndarray:
    """What the Fréchet distance compares: the log mel power (64 bands) of every non-silent analysis frame, (n, 64)."""
    f = frames(audio)
    f = f[frame_db(f) > SILENCE_DB] if len(f) else f
    if len(f) == 0:
        return np.zeros((0, 64))
    return np.log(mel_spectrum(f, sample_rate, 64, power=2) + 1e-8)


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


GROSS_PITCH_ERROR = (
    0.2  # a frame's F0 more than 20% off (about 316 cents) is a gross error (an octave jump, a wrong period)
)


class PitchErrors(NamedTuple):
    """How a resynthesis's F0 track differs from the recording's, frame by frame."""

    rmse_cents: float  # over the frames voiced in both; NaN when there are none
    voicing_error: float  # share of frames whose voicing differs
    gross_error: float  # share of the frames voiced in both more than GROSS_PITCH_ERROR off (GPE)
    fine_rmse_cents: float  # RMSE over the frames voiced in both without a gross error (fine pitch error)


def pitch_errors(
    reference: np.ndarray, test: np.ndarray, sample_rate: int = 16000, threshold: float = 0.15
) -> PitchErrors:
    """F0 RMSE in cents over the frames voiced in both, the share of frames whose voicing differs,
    and the RMSE split as pitch trackers' papers report it: the gross errors' share, and the RMSE of
    the rest. A few octave jumps dominate an RMSE (one frame an octave off weighs as much as 576
    frames 50 cents off); the split says whether the pitch is wrong throughout or now and then.

    Frame by frame, over the shorter signal's frames; silent frames count as unvoiced.
    """
    a, b = f0_track(reference, sample_rate, threshold=threshold), f0_track(test, sample_rate, threshold=threshold)
    n = min(len(a), len(b))
    a, b = a[:n], b[:n]
    voiced_a, voiced_b = np.isfinite(a), np.isfinite(b)
    both = voiced_a & voiced_b
    cents = 1200 * np.log2(b[both] / a[both])
    gross = np.abs(cents) > 1200 * np.log2(1 + GROSS_PITCH_ERROR)
    nan = float("nan")
    return PitchErrors(
        float(np.sqrt(np.mean(cents**2))) if both.any() else nan,
        float(np.mean(voiced_a != voiced_b)) if n else nan,
        float(np.mean(gross)) if both.any() else nan,
        float(np.sqrt(np.mean(cents[~gross] ** 2))) if (~gross).any() else nan,
    )


def log_mel_db(audio: np.ndarray, sample_rate: int = 16000, n_mels: int = 80) -> np.ndarray:
    """Log-mel magnitudes in dB of every analysis frame (40 ms, 10 ms hop; floored at -100 dB): (frames, n_mels)."""
    return 20 * np.log10(np.maximum(mel_spectrum(frames(audio), sample_rate, n_mels), 1e-5))


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


def chroma(audio: np.ndarray, sample_rate: int = 16000, n_fft: int = 4096, hop: int = ANALYSIS_HOP) -> np.ndarray:
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
    near, around = max(1, round(wait * sample_rate / ANALYSIS_HOP)), round(0.1 * sample_rate / ANALYSIS_HOP)
    peaks = []
    for i in range(len(flux)):
        lo, hi = max(0, i - near), min(len(flux), i + near + 1)
        mean = flux[max(0, i - around) : i + around + 1].mean()
        if flux[i] == flux[lo:hi].max() and flux[i] > mean + delta and (not peaks or i - peaks[-1] > near):
            peaks.append(i)
    return (np.asarray(peaks) * ANALYSIS_HOP + ANALYSIS_FRAME / 2) / sample_rate  # each frame's centre


def intelligibility_and_quality(reference: np.ndarray, test: np.ndarray, sample_rate: int = 16000) -> dict[str, float]:
    """STOI (pystoi) and wideband PESQ (ITU-T P.862.2, the ``pesq`` package) of ``test`` against
    ``reference``, sample for sample (so only for audio that keeps the reference's timing).

    PESQ finds no speech in some near-silent pairs; it is NaN there.
    """
    from pesq import pesq
    from pystoi import stoi

    n = min(len(reference), len(test))
    ref, deg = np.asarray(reference[:n], dtype=np.float64), np.asarray(test[:n], dtype=np.float64)
    try:
        wideband = float(pesq(sample_rate, ref, deg, "wb"))
    except Exception:  # pesq's NoUtterancesError and its kin: nothing it can score
        wideband = float("nan")
    return {"stoi": float(stoi(ref, deg, sample_rate, extended=False)), "pesq": wideband}


def dnsmos(audio: np.ndarray, sample_rate: int = 16000) -> float:
    """DNSMOS P.835 overall quality (Microsoft's ONNX models, shipped by the ``speechmos`` package):
    a listening-test predictor that needs no reference, 1 (bad) to 5 (excellent)."""
    from speechmos import dnsmos as model

    x = np.clip(np.asarray(audio, dtype=np.float32), -1, 1)
    return float(model.run(x, sr=sample_rate)["ovrl_mos"])
