import numpy as np
import pytest

from wavenet.evaluation.quality import (
    chroma,
    chroma_similarity,
    frechet_distance,
    levels,
    median_f0,
    mel_distance_db,
    mel_features,
    onsets,
    pitch_errors,
    voiced_share,
    yin_f0,
)

RATE = 16000


def harmonic(f0: float, seconds: float = 1.0, level: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return level * sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 6))


@pytest.mark.parametrize("f0", [70.0, 110.0, 165.0, 220.0, 330.0])
def test_yin_finds_the_pitch_of_harmonic_tones(f0):
    assert abs(median_f0(harmonic(f0)) - f0) / f0 < 0.01


def test_yin_finds_no_pitch_in_noise_or_silence():
    rng = np.random.default_rng(0)
    assert len(yin_f0(0.3 * rng.standard_normal(RATE))) < 10
    assert np.isnan(median_f0(np.zeros(RATE)))


def test_a_lenient_threshold_finds_breathy_voice_but_not_noise():
    """The quality report reads pitch at threshold 0.35: a tone 3 dB above noise, but no noise alone."""
    rng = np.random.default_rng(0)
    tone = harmonic(150)
    noise = rng.standard_normal(RATE) * np.sqrt((tone**2).mean()) / 10 ** (3 / 20)
    assert voiced_share(tone + noise) == 0
    assert voiced_share(tone + noise, threshold=0.35) > 0.9
    assert abs(median_f0(tone + noise, threshold=0.35) - 150) < 3
    assert voiced_share(0.1 * rng.standard_normal(4 * RATE), threshold=0.35) == 0
    half = np.concatenate([tone, np.zeros(RATE)])
    assert 0.45 < voiced_share(half) < 0.55


def test_levels_tell_tone_noise_and_silence_apart():
    rng = np.random.default_rng(0)
    tone, noise = levels(harmonic(200)), levels(0.1 * rng.standard_normal(RATE))
    assert tone.flatness < 0.05 < 0.5 < noise.flatness
    assert tone.silence == 0 and levels(np.zeros(RATE)).silence == 1
    assert abs(noise.rms_dbfs + 20) < 0.5
    assert 3500 < noise.centroid_hz < 4500 and tone.centroid_hz < 1000
    half_silent = levels(np.concatenate([harmonic(200, 0.5), np.zeros(RATE // 2)]))
    assert 0.45 < half_silent.silence < 0.55


def test_frechet_distance():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((5000, 4))
    assert frechet_distance(a, a) < 1e-6
    near, far = rng.standard_normal((5000, 4)), rng.standard_normal((5000, 4)) + 2
    assert frechet_distance(a, near) < 0.05 < 15 < frechet_distance(a, far) < 17  # |mean shift|^2 = 16


def test_frechet_distance_equals_the_general_matrix_square_root_formula():
    """The eigenvalue form gives what scipy's sqrtm gives (scipy: a test-only dependency)."""
    from scipy import linalg

    rng = np.random.default_rng(1)
    mix_a, mix_b = rng.standard_normal((6, 6)), rng.standard_normal((6, 6))
    a = rng.standard_normal((3000, 6)) @ mix_a
    b = rng.standard_normal((2000, 6)) @ mix_b + 0.5
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    expected = ((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(cov_a + cov_b - 2 * linalg.sqrtm(cov_a @ cov_b).real)
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-7)


def test_log_mel_shape_skips_silence():
    audio = np.concatenate([harmonic(200, 0.5), np.zeros(RATE)])
    mel = mel_features(audio)
    assert mel.shape[1] == 64 and 40 < mel.shape[0] < 60


def struck(f0: float, start: float, total: float = 2.0) -> np.ndarray:
    """A decaying harmonic note starting at ``start`` seconds, like a plucked or struck string."""
    t = np.arange(int(total * RATE)) / RATE
    env = np.where(t >= start, np.exp(-(t - start) * 6), 0.0)
    return 0.3 * env * sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 5))


def test_onsets_are_found_where_notes_start():
    starts = [0.2, 0.55, 0.9, 1.3]
    audio = sum(struck(f, s) for f, s in zip([262, 330, 392, 523], starts, strict=True))
    found = onsets(audio)
    assert len(found) == len(starts)
    assert np.abs(found - np.asarray(starts)).max() < 0.03


def test_pitch_errors_in_cents_and_voicing():
    tone = harmonic(200.0, seconds=1.0)
    assert pitch_errors(tone, tone) == (0.0, 0.0, 0.0, 0.0)
    errors = pitch_errors(tone, harmonic(200.0 * 2 ** (1 / 12), seconds=1.0))
    assert abs(errors.rmse_cents - 100) < 5 and errors.voicing_error == 0  # a semitone: no gross error
    assert errors.gross_error == 0 and errors.fine_rmse_cents == errors.rmse_cents
    noise = np.random.default_rng(0).standard_normal(RATE) * 0.3
    assert pitch_errors(tone, noise).voicing_error > 0.8


def test_a_few_octave_jumps_are_told_apart_from_a_pitch_wrong_throughout():
    """An octave for a tenth of the time, a quarter-tone elsewhere: the RMSE alone (about 380 cents) hides
    that nine frames in ten are within 50 cents; the gross errors' share and the rest's RMSE say so."""
    test = np.concatenate([harmonic(400.0, seconds=0.1), harmonic(200.0 * 2 ** (1 / 24), seconds=0.9)])
    errors = pitch_errors(harmonic(200.0, seconds=1.0), test[:RATE])
    assert errors.rmse_cents > 300 and 0.05 < errors.gross_error < 0.2
    assert abs(errors.fine_rmse_cents - 50) < 5


def test_mel_distance_and_chroma():
    tone = harmonic(440.0, seconds=1.0)
    assert mel_distance_db(tone, tone) == 0.0
    noise = np.random.default_rng(1).standard_normal(RATE) * 0.1
    assert abs(mel_distance_db(noise, 2 * noise) - 20 * np.log10(2)) < 0.01  # 6 dB louder in every band
    c = chroma(tone).mean(axis=0)
    assert c.argmax() == 9  # A
    assert chroma_similarity(tone, tone) > 0.999
    assert chroma_similarity(tone, harmonic(440 * 2 ** (6 / 12), seconds=1.0)) < 0.5  # a tritone away
