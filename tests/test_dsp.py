"""The DSP floor: frames, the mel filterbank and log-mel (against librosa), F0, and linear prediction."""

import librosa  # [dev]: the reference these are compared with
import numpy as np
import pytest

from wavenet import dsp

RATE = 16000


@pytest.mark.parametrize("samples", [1, 199, 200, 201, 16000])
def test_one_frame_per_hop_rounded_up(samples):
    frames = dsp.log_mel(np.zeros(samples, dtype=np.float32), RATE, dsp.MelSpec(hop=200))
    assert frames.shape == (-(-samples // 200), 80) and frames.dtype == np.float32
    assert np.allclose(frames, np.log(dsp.LOG_MEL_FLOOR))  # silence sits at the floor


def test_a_tone_lights_the_mel_channel_of_its_frequency():
    t = np.arange(RATE) / RATE
    low, high = (
        dsp.log_mel((0.5 * np.sin(2 * np.pi * f * t)).astype(np.float32), RATE, dsp.MelSpec()) for f in (200, 3000)
    )
    assert low[10:-10].mean(0).argmax() < high[10:-10].mean(0).argmax()
    assert low.max() > np.log(dsp.LOG_MEL_FLOOR) + 5


@pytest.mark.parametrize(
    ("n_fft", "n_mels", "fmin", "fmax"), [(1024, 80, 40.0, 8000.0), (512, 40, 60.0, 7600.0), (640, 64, 40.0, None)]
)
def test_the_filterbank_is_librosas_htk_filterbank(n_fft, n_mels, fmin, fmax):
    ours = dsp.mel_filterbank(RATE, n_fft, n_mels, fmin, fmax)
    theirs = librosa.filters.mel(sr=RATE, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=True, norm=None,
                                 dtype=np.float64)  # fmt: skip
    np.testing.assert_allclose(ours, theirs, atol=1e-12)
    assert not ours.flags.writeable  # cached: nobody may change it


def test_log_mel_is_librosas_melspectrogram():
    rng = np.random.default_rng(0)
    t = np.arange(RATE) / RATE
    audio = (0.3 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(RATE)).astype(np.float32)
    spec = dsp.MelSpec()
    theirs = librosa.feature.melspectrogram(y=audio, sr=RATE, n_fft=spec.n_fft, hop_length=spec.hop,
                                            win_length=spec.win, window="hann", center=True, pad_mode="reflect",
                                            power=1.0, n_mels=spec.n_mels, fmin=spec.fmin, fmax=spec.fmax,
                                            htk=True, norm=None)  # fmt: skip
    theirs = np.log(np.maximum(theirs[:, : spec.frames_for(len(audio))], dsp.LOG_MEL_FLOOR)).T
    np.testing.assert_allclose(dsp.log_mel(audio, RATE, spec), theirs, atol=1e-4)


def test_analysis_frames_start_every_hop():
    audio = np.arange(1000, dtype=np.float64)
    f = dsp.frames(audio, 100, 30)
    assert f.shape == (31, 100) and f[1, 0] == 30 and f[-1, -1] == 999
    assert dsp.frames(audio[:99], 100, 30).shape == (0, 100)


def test_f0_at_frames_reads_the_analysis_frame_centred_nearest():
    t = np.arange(RATE) / RATE
    rising = 0.3 * np.sin(2 * np.pi * np.cumsum(np.linspace(100, 300, RATE)) / RATE)  # 100 Hz to 300 Hz in a second
    f0 = dsp.f0_at_frames(rising, RATE, 80, 200)  # frames every 12.5 ms
    middle = f0[8:72]
    assert np.isfinite(middle).all()
    expected = 100 + 200 * t[np.arange(8, 72) * 200]
    assert np.abs(middle / expected - 1).max() < 0.04


def _all_pole(a: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """White noise through 1 / A(z)."""
    rng = np.random.default_rng(seed)
    e, x = rng.standard_normal(n), np.zeros(n)
    p = len(a) - 1
    for t in range(n):
        x[t] = e[t] - sum(a[k] * x[t - k] for k in range(1, p + 1) if t - k >= 0)
    return x


def _resonator(f: float, radius: float) -> np.ndarray:
    """A(z) of a resonance at f Hz: 1 - 2 r cos(w) z^-1 + r^2 z^-2."""
    return np.array([1.0, -2 * radius * np.cos(2 * np.pi * f / RATE), radius**2])


def test_levinson_recovers_an_autoregressive_process():
    a = np.convolve(_resonator(700, 0.95), _resonator(2200, 0.9))  # two formants: order 4
    x = _all_pole(a, 40000)
    r = np.array([x[: len(x) - k] @ x[k:] for k in range(5)]) / len(x)
    found, error, _ = dsp.levinson(r, 4)
    np.testing.assert_allclose(found, a, atol=0.03)
    assert error == pytest.approx(1.0, rel=0.05)  # the driving noise's variance
    # Batched rows are solved alike, and a silent row predicts nothing.
    both, errors, _ = dsp.levinson(np.stack([r, np.zeros(5)]), 4)
    np.testing.assert_allclose(both[0], found)
    assert both[1].tolist() == [1, 0, 0, 0, 0] and errors[1] == 0


def test_levinson_agrees_with_librosas_lpc_on_a_long_signal():
    a = np.convolve(_resonator(500, 0.97), _resonator(1500, 0.9))
    x = _all_pole(a, 40000, seed=1)
    r = np.array([x[: len(x) - k] @ x[k:] for k in range(9)]) / len(x)
    ours, theirs = dsp.levinson(r, 8)[0], librosa.lpc(x, order=8)  # autocorrelation against Burg's method
    difference = dsp.lpc_envelope_db(ours, 512) - dsp.lpc_envelope_db(theirs, 512)
    assert np.sqrt(np.mean(difference**2)) < 0.5  # dB: the same envelope


def test_lpc_from_log_mel_frames_follows_the_spectral_envelope():
    """Two formants, known exactly: the envelope the mel frames give stays within a few dB of the truth."""
    a = np.convolve(_resonator(600, 0.97), _resonator(1800, 0.95))
    x = _all_pole(a, 16000, seed=2)
    x = (0.1 * x / x.std()).astype(np.float32)
    spec = dsp.MelSpec()
    coefficients = dsp.lpc_from_log_mel(dsp.log_mel(x, RATE, spec), RATE, spec, order=16)
    assert coefficients.shape == (80, 17) and np.allclose(coefficients[:, 0], 1)
    freqs = np.fft.rfftfreq(spec.n_fft, 1 / RATE)
    band = (freqs > 200) & (freqs < 6000)
    truth = dsp.lpc_envelope_db(a, spec.n_fft)[band]
    envelopes = []
    for row in coefficients[10:-10]:
        found = dsp.lpc_envelope_db(row, spec.n_fft)[band]
        found, expected = found - found.mean(), truth - truth.mean()  # the shape; the gain is the excitation's
        assert np.sqrt(np.mean((found - expected) ** 2)) < 3.0  # dB (measured: 1.1 median, 1.8 at worst)
        assert np.all(np.abs(np.roots(row)) < 1)  # a stable filter
        envelopes.append(found)
    assert abs(freqs[band][np.mean(envelopes, axis=0).argmax()] - 600) < 50  # the strongest formant where it is


def test_a_pre_emphasised_envelope_from_the_mel_is_the_emphasised_signals():
    """preemphasis α tilts the envelope the mel frames give by |1 - α e^-jω|²: the envelope of x[t] - α x[t-1]
    (what a pre-emphasised vocoder's filter predicts), the same as that signal's own mel envelope."""
    a = np.convolve(_resonator(600, 0.97), _resonator(1800, 0.95))
    x = _all_pole(a, 16000, seed=2)
    x = (0.1 * x / x.std()).astype(np.float32)
    spec = dsp.MelSpec()
    emphasised = np.concatenate([[x[0]], x[1:] - 0.85 * x[:-1]]).astype(np.float32)
    tilted = dsp.lpc_from_log_mel(dsp.log_mel(x, RATE, spec), RATE, spec, preemphasis=0.85)
    direct = dsp.lpc_from_log_mel(dsp.log_mel(emphasised, RATE, spec), RATE, spec)
    plain = dsp.lpc_from_log_mel(dsp.log_mel(x, RATE, spec), RATE, spec)
    freqs = np.fft.rfftfreq(spec.n_fft, 1 / RATE)
    band = (freqs > 200) & (freqs < 6000)

    def shape(row):
        db = dsp.lpc_envelope_db(row, spec.n_fft)[band]
        return db - db.mean()

    for t, d, p in zip(tilted[10:-10], direct[10:-10], plain[10:-10], strict=True):
        assert np.sqrt(np.mean((shape(t) - shape(d)) ** 2)) < 0.5  # dB (measured: 0.03 at worst)
        assert np.sqrt(np.mean((shape(p) - shape(d)) ** 2)) > 4.0  # the tilt is not nothing (5.3 at least)
        assert np.all(np.abs(np.roots(t)) < 1)


def test_reflection_coefficients_rebuild_the_predictor_and_predict():
    a_true = np.convolve(_resonator(700, 0.95), _resonator(2200, 0.9))
    x = _all_pole(a_true, 20000, seed=3)
    r = np.array([x[: len(x) - k] @ x[k:] for k in range(5)]) / len(x)
    a, _, k = dsp.levinson(r, 4)
    assert np.all(np.abs(k) < 1)
    np.testing.assert_allclose(dsp.reflection_to_lpc(k), a, atol=1e-12)
    # The prediction of each sample from the four before it leaves the driving noise.
    coefficients = np.broadcast_to(a, (len(x) - 4, 5))
    residual = x[4:] - dsp.lpc_predict(x, coefficients)
    assert np.var(residual) == pytest.approx(1.0, rel=0.05) and np.var(x) > 5
