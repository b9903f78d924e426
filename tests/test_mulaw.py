import numpy as np
import pytest
import torch

from wavenet import mulaw
from wavenet.errors import WavenetError


def test_every_code_survives_decode_then_encode():
    codes = np.arange(256)
    assert np.array_equal(mulaw.encode(mulaw.decode(codes)), codes)
    assert torch.equal(mulaw.encode_torch(mulaw.decode_torch(torch.arange(256))), torch.arange(256))


def test_edge_values():
    assert mulaw.encode(np.array([-1.0, 0.0, 1.0])).tolist() == [0, 128, 255]
    assert mulaw.silence_code() == 128
    # Out of range is clipped, not wrapped.
    assert mulaw.encode(np.array([-7.0, 1.5])).tolist() == [0, 255]
    assert mulaw.decode(np.array([0, 255])).tolist() == [-1.0, 1.0]
    assert abs(float(mulaw.decode(np.array([128]))[0])) < 1e-4


def test_round_trip_error_is_within_half_a_step_and_finest_near_zero():
    x = np.linspace(-1, 1, 200_001)
    err = np.abs(mulaw.decode(mulaw.encode(x)) - x)
    # Half a code step in the companded domain, mapped back through the expansion's slope.
    slope = np.log1p(255) * (1 + 255 * np.abs(x)) / 255
    assert np.all(err <= 0.5 * (2 / 255) * slope * 1.05 + 1e-7)
    assert err[np.abs(x) < 0.001].max() < 2e-4  # quiet audio: 40x finer than 8-bit linear PCM
    assert err.max() < 0.03


def test_encode_is_monotonic_and_covers_all_codes():
    codes = mulaw.encode(np.linspace(-1, 1, 100_001))
    assert np.all(np.diff(codes) >= 0)
    assert set(codes.tolist()) == set(range(256))


def test_numpy_and_torch_agree():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1.2, 1.2, 10_000)
    assert np.array_equal(mulaw.encode(x), mulaw.encode_torch(torch.from_numpy(x)).numpy())
    codes = rng.integers(0, 256, 1000)
    assert np.array_equal(mulaw.decode(codes), mulaw.decode_torch(torch.from_numpy(codes)).numpy())


def test_other_mu():
    codes = np.arange(16)
    assert np.array_equal(mulaw.encode(mulaw.decode(codes, mu=15), mu=15), codes)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_audio_is_an_error(bad):
    with pytest.raises(WavenetError, match="NaN or infinite"):
        mulaw.encode(np.array([0.0, bad]))
    with pytest.raises(WavenetError, match="NaN or infinite"):
        mulaw.encode_torch(torch.tensor([0.0, bad]))


def test_pcm16_rounds_and_clips():
    assert mulaw.to_pcm16(np.array([-1.5, -1.0, 0.0, 0.5, 1.0, 2.0])).tolist() == [
        -32768,
        -32767,
        0,
        16384,
        32767,
        32767,
    ]


@pytest.mark.parametrize("mu", [255, 15])
def test_counting_thresholds_encodes_exactly(mu):
    """A kernel's μ-law (code = thresholds at or below x) is encode's, at and beside every threshold, and clips."""
    thresholds = mulaw.code_thresholds(mu)
    assert thresholds.shape == (mu,) and np.all(np.diff(thresholds) > 0)
    assert np.array_equal(mulaw.encode(thresholds, mu), np.arange(1, mu + 1))
    assert np.array_equal(mulaw.encode(np.nextafter(thresholds, -2.0), mu), np.arange(mu))
    rng = np.random.default_rng(0)
    x = np.concatenate(
        [rng.uniform(-1.5, 1.5, 100_000), rng.normal(0, 1e-3, 10_000), [-0.0, 0.0, 5e-324, -5e-324, -1.0, 1.0]]
    )
    assert np.array_equal(np.searchsorted(thresholds, x, side="right"), mulaw.encode(x, mu))
    assert torch.equal(
        torch.bucketize(torch.from_numpy(x), torch.from_numpy(thresholds), right=True),
        torch.from_numpy(mulaw.encode(x, mu)),
    )
