"""Classic resyntheses of a recording, without a network: what a neural vocoder is measured against.

Three read only the log-mel frames that the vocoder reads (:func:`wavenet.dsp.log_mel`):

- **Griffin-Lim**: the magnitude spectrogram recovered from the mel bands (librosa's
  non-negative least squares), its phase found by 32 Griffin-Lim iterations.
- **LPC, noise**: the linear-prediction filter that the frames imply
  (:func:`wavenet.dsp.autocorrelation_from_log_mel`, Levinson-Durbin), driven by white noise at
  the level of the frame's prediction error: a whisper with the frames' envelope.
- **LPC, pulses**: the same filter driven by one pulse per period at the recording's F0
  (:func:`wavenet.dsp.f0_at_frames`) where it is voiced, by noise elsewhere: what a source-filter
  vocoder gives once pitch is known.

**WORLD** (pyworld's analysis and synthesis of the waveform itself) reads more than the frames:
an upper reference for a classic vocoder. The source-filter vocoder (model.lpc_order) uses the
same filter as the LPC rows, so those rows say what its network adds.
"""

from __future__ import annotations

import warnings

import numpy as np

from wavenet.dsp import MelSpec, autocorrelation_from_log_mel, f0_at_frames, levinson

GRIFFIN_LIM_ITERATIONS = 32


def griffin_lim(log_mel_frames: np.ndarray, spec: MelSpec, sample_rate: int = 16000,
                iterations: int = GRIFFIN_LIM_ITERATIONS) -> np.ndarray:  # fmt: skip
    """Audio (frames × hop samples) from log-mel frames (frames, n_mels) by Griffin-Lim (librosa)."""
    import librosa

    # librosa's centred STFT of frames × hop samples has one frame more: the last one, repeated.
    frames = np.concatenate([log_mel_frames, log_mel_frames[-1:]])
    magnitude = np.exp(np.asarray(frames, dtype=np.float64)).T  # (n_mels, frames + 1)
    stft = librosa.feature.inverse.mel_to_stft(
        magnitude, sr=sample_rate, n_fft=spec.n_fft, power=1.0, htk=True, norm=None, fmin=spec.fmin, fmax=spec.fmax
    )
    audio = librosa.griffinlim(
        stft, n_iter=iterations, hop_length=spec.hop, win_length=spec.win, n_fft=spec.n_fft,
        center=True, random_state=0, length=len(log_mel_frames) * spec.hop,
    )  # fmt: skip
    return audio.astype(np.float32)


def lpc_synthesis(log_mel_frames: np.ndarray, excitation: np.ndarray, spec: MelSpec, sample_rate: int = 16000,
                  order: int = 16) -> np.ndarray:  # fmt: skip
    """The frames' all-pole filter 1 / A(z), each frame's over the samples nearest its centre (i × hop),
    driven by ``excitation`` (unit power; frames × hop samples) scaled to the frame's prediction error.

    The filter runs in direct form, so a change of coefficients carries the past outputs, not a
    state that belonged to other coefficients (scipy's ``lfiltic``).
    """
    from scipy.signal import lfilter, lfiltic

    r = autocorrelation_from_log_mel(log_mel_frames, sample_rate, spec, order + 1)
    a, error, _ = levinson(r, order)
    # r[0] is the power of a Hann-windowed frame summed over its window: per sample, divide by Σ w².
    gain = np.sqrt(np.maximum(error, 0.0) / np.sum(np.hanning(spec.win) ** 2))
    n = len(log_mel_frames)
    edges = [0, *[i * spec.hop - spec.hop // 2 for i in range(1, n)], n * spec.hop]
    out = np.zeros(n * spec.hop)
    for i in range(n):
        lo, hi = edges[i], edges[i + 1]
        past = out[max(lo - order, 0) : lo][::-1]  # y[-1], y[-2], ...
        state = lfiltic([1.0], a[i], past) if len(past) else None
        segment = gain[i] * excitation[lo:hi]
        out[lo:hi] = lfilter([1.0], a[i], segment, zi=state)[0] if state is not None else lfilter([1.0], a[i], segment)
    return np.clip(out, -1.0, 1.0).astype(np.float32)


def pulses(f0_per_frame: np.ndarray, hop: int, rng: np.random.Generator, sample_rate: int = 16000) -> np.ndarray:
    """Unit-power excitation: a pulse of height √period at each period where the frame is voiced (F0
    finite), Gaussian noise where it is not. The phase runs on across frames, so the pulses follow F0."""
    n = len(f0_per_frame)
    f0 = np.repeat(np.asarray(f0_per_frame, dtype=np.float64), hop)
    voiced = np.isfinite(f0)
    out = rng.standard_normal(n * hop)
    phase = np.cumsum(np.where(voiced, np.nan_to_num(f0) / sample_rate, 0.0))
    onset = voiced & (np.floor(phase) > np.floor(np.concatenate([[0.0], phase[:-1]])))
    out[voiced] = 0.0
    out[onset] = np.sqrt(sample_rate / f0[onset])
    return out


def world(audio: np.ndarray, sample_rate: int = 16000) -> np.ndarray:
    """WORLD's analysis (Harvest F0, CheapTrick envelope, D4C aperiodicity) and synthesis of the waveform (pyworld)."""
    with warnings.catch_warnings():  # pyworld imports setuptools' deprecated pkg_resources for its version
        warnings.simplefilter("ignore", UserWarning)
        import pyworld

    x = np.asarray(audio, dtype=np.float64)
    f0, times = pyworld.harvest(x, sample_rate)
    envelope = pyworld.cheaptrick(x, f0, times, sample_rate)
    aperiodicity = pyworld.d4c(x, f0, times, sample_rate)
    out = pyworld.synthesize(f0, envelope, aperiodicity, sample_rate)
    return np.clip(np.pad(out, (0, max(len(x) - len(out), 0)))[: len(x)], -1, 1).astype(np.float32)


def resyntheses(audio: np.ndarray, log_mel_frames: np.ndarray, spec: MelSpec, seed: int = 0,
                sample_rate: int = 16000) -> dict[str, np.ndarray]:  # fmt: skip
    """Every classic resynthesis of one recording and its frames, by name (the report's row labels)."""
    rng = np.random.default_rng(seed)
    n = len(log_mel_frames)
    f0 = f0_at_frames(audio, sample_rate, n, spec.hop)
    return {
        "Griffin-Lim": griffin_lim(log_mel_frames, spec, sample_rate),
        "WORLD (from the waveform)": world(audio, sample_rate),
        "LPC from the mel, pulses at F0": lpc_synthesis(log_mel_frames, pulses(f0, spec.hop, rng, sample_rate), spec),
        "LPC from the mel, noise": lpc_synthesis(log_mel_frames, rng.standard_normal(n * spec.hop), spec),
    }
