import numpy as np
import pytest

from wavenet.errors import WavenetError
from wavenet.evaluation.ngram import KneserNey, Unigram


def next_code_probabilities(model, history):
    """P(w | history) for every w, read off log2_probs of history + [w]."""
    return np.array([2 ** model.log2_probs(np.array([*history, w]))[-1] for w in range(model.vocab)])


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_kneser_ney_distributions_sum_to_one(order):
    rng = np.random.default_rng(0)
    train = [rng.integers(0, 16, 500), np.arange(200) % 16]
    model = KneserNey(order, 16, silence=8).fit(train)
    for history in ([], [3], [1, 2, 3], [15, 15, 15], [0, 1, 2, 3, 4]):
        p = next_code_probabilities(model, history)
        assert abs(p.sum() - 1) < 1e-9 and (p > 0).all()


def test_kneser_ney_learns_a_deterministic_sequence():
    train = [np.arange(10_000) % 16]
    model = KneserNey(3, 16, silence=8).fit(train)
    test = np.arange(5, 500) % 16
    bits = -model.log2_probs(test)[5:].mean()
    assert bits < 0.2  # nearly certain of every next code
    assert -Unigram(16).fit(train).log2_probs(test).mean() > 3.9  # the unigram cannot do better than 4 bits


def test_higher_order_helps_on_second_order_structure():
    rng = np.random.default_rng(1)
    seq = [0, 1]
    for _ in range(20_000):  # x_t = x_{t-1} + x_{t-2} (mod 16), with some noise
        seq.append((seq[-1] + seq[-2] + int(rng.random() < 0.1)) % 16)
    train, test = np.array(seq[:15_000]), np.array(seq[15_000:])
    bits = {n: -KneserNey(n, 16, silence=0).fit([train]).log2_probs(test).mean() for n in (1, 2, 3)}
    assert bits[3] < bits[2] - 1 and bits[2] < bits[1] + 0.05  # one code of context tells nothing here


def test_unigram_is_smoothed():
    model = Unigram(4).fit([np.array([0, 0, 1])])
    assert np.allclose(2**model.log2_p, [3 / 7, 2 / 7, 1 / 7, 1 / 7])


def test_bad_orders():
    with pytest.raises(WavenetError, match="at least 1"):
        KneserNey(0, 256, 128)
    with pytest.raises(WavenetError, match="too high"):
        KneserNey(8, 256, 128)
    with pytest.raises(WavenetError, match="not fitted"):
        KneserNey(3, 256, 128).log2_probs(np.zeros(3))


def test_next_distribution_matches_log2_probs_and_sampling_follows_it():
    rng = np.random.default_rng(3)
    train = [rng.integers(0, 8, 3000), (np.arange(3000) // 3) % 8]
    model = KneserNey(3, 8, silence=4).fit(train)
    seq = np.array([1, 2, 3, 3, 5])
    for t in range(len(seq)):
        p = model.next_distribution(seq[:t])
        assert abs(p.sum() - 1) < 1e-9
        assert abs(np.log2(p[seq[t]]) - model.log2_probs(seq)[t]) < 1e-9
    samples = model.sample(4000, seed=1)
    assert samples.min() >= 0 and samples.max() < 8
    assert -model.log2_probs(samples).mean() < -model.log2_probs(rng.integers(0, 8, 4000)).mean()
