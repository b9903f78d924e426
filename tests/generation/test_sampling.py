"""Inverse-CDF sampling from per-stream uniforms, temperature, and the rule for undefined logits."""

import copy

import numpy as np
import pytest
import torch

from tests.conftest import BACKENDS, SHAPES, random_model
from wavenet.generation.backends.naive import NaiveGenerator
from wavenet.generation.sampling import UniformStream, sample_codes
from wavenet.mulaw import silence_code

SILENCE = silence_code()


def test_inverse_cdf_sampling():
    probs = torch.tensor([[0.1, 0.0, 0.6, 0.3]])
    logits = probs.log()
    for u, expected in [(0.0, 0), (0.05, 0), (0.1001, 2), (0.69, 2), (0.71, 3), (0.999999, 3)]:
        code = sample_codes(logits, torch.ones(1), torch.tensor([u]), silence=1)
        assert code.item() == expected, u
    # A zero-probability class is never drawn, and the empirical distribution matches.
    u = torch.from_numpy(UniformStream(0).draw(200_000))
    codes = sample_codes(logits.expand(len(u), 4), torch.ones(len(u)), u, silence=1)
    freq = torch.bincount(codes, minlength=4).float() / len(u)
    torch.testing.assert_close(freq, probs[0], atol=0.005, rtol=0)


def test_temperature_sharpens_and_flattens():
    logits = torch.tensor([[2.0, 1.0, 0.0, -1.0]]).expand(50_000, 4)
    u = torch.from_numpy(UniformStream(1).draw(50_000))
    cold = sample_codes(logits, torch.full((50_000,), 0.05), u, silence=1)
    hot = sample_codes(logits, torch.full((50_000,), 100.0), u, silence=1)
    assert (cold == 0).float().mean() > 0.99
    freq = torch.bincount(hot, minlength=4).float() / 50_000
    torch.testing.assert_close(freq, torch.full((4,), 0.25), atol=0.02, rtol=0)


def test_uniform_streams_are_independent_of_chunking():
    a, b = UniformStream(9), UniformStream(9)
    assert np.array_equal(a.draw(10), np.concatenate([b.draw(3), b.draw(7)]))
    assert a.draw(1000).max() < 1.0


def test_undefined_logits_give_the_code_of_silence():
    inf, nan = float("inf"), float("nan")
    logits = torch.tensor(
        [
            [0.0, 1.0, 2.0, 3.0],  # fine
            [0.0, nan, 2.0, 3.0],  # a NaN
            [0.0, inf, 2.0, 3.0],  # +inf: the softmax is inf / inf
            [-inf, -inf, -inf, -inf],  # nothing possible
            [-inf, 1.0, -inf, -inf],  # -inf alone is fine: a class that cannot be drawn
        ]
    )
    codes = sample_codes(logits, torch.ones(5), torch.full((5,), 0.5), silence=SILENCE)
    assert codes.tolist() == [3, SILENCE, SILENCE, SILENCE, 1]


@pytest.fixture(params=["naive", *BACKENDS])
def make(request):
    return NaiveGenerator if request.param == "naive" else BACKENDS[request.param][0]


@pytest.mark.parametrize("shape", ["k3-2stacks", "debug"])
def test_a_stream_with_nan_logits_goes_silent_alone_in_every_backend(make, shape):
    """Speaker 1's embedding is NaN: its stream's logits are NaN at every step, the others' are not."""
    model = random_model(SHAPES[shape], seed=7)
    with torch.no_grad():
        model.speaker_embedding.weight[1] = float("nan")
    generators = [make(model, 3), NaiveGenerator(copy.deepcopy(model), 3)]
    for g in generators:
        for slot in range(3):
            g.reset(slot, speaker=slot, seed=30 + slot)
    codes, reference = (g.generate(model.config.receptive_field + 10) for g in generators)
    assert (codes[1] == SILENCE).all()
    assert np.array_equal(codes[[0, 2]], reference[[0, 2]])  # the other streams are untouched
    assert len(np.unique(codes[0])) > 5


@pytest.mark.parametrize("bias", ["all -inf", "one +inf"])
def test_infinite_logits_give_silence_in_every_backend(make, bias):
    model = random_model(SHAPES["debug"], seed=8)
    with torch.no_grad():
        if bias == "all -inf":
            model.head.out.bias.fill_(float("-inf"))
        else:
            model.head.out.bias[3] = float("inf")
    g = make(model, 2)
    g.reset(0, seed=1)
    g.reset(1, speaker=2, seed=2)
    assert (g.generate(40) == SILENCE).all()
