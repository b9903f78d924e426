import numpy as np
import pytest
import torch

from wavenet.data.dataset import IGNORE, CropSampler, Split
from wavenet.errors import WavenetError

SILENCE = 128


def make_split(lengths, speakers=None):
    codes = np.concatenate([np.arange(n) % 250 + 1 for n in lengths]).astype(np.uint8)  # never the silence code
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    speakers = speakers or list(range(len(lengths)))
    return Split("train", codes, np.stack([offsets, lengths, speakers], axis=1).astype(np.int64))


def test_targets_are_the_next_inputs_and_crops_stay_in_one_utterance():
    split = make_split([300, 500, 1000], speakers=[4, 5, 6])
    sampler = CropSampler(split, length=100, receptive_field=1, mu=255, seed=0)
    inputs, targets, speakers = sampler.batch(step=3, batch_size=32)
    assert inputs.shape == targets.shape == (32, 100) and speakers.tolist()[0] in (4, 5, 6)
    for x, y in zip(inputs, targets, strict=True):
        if x[0] == SILENCE:  # a crop from the start: [silence] + codes
            assert torch.equal(x[1:], y[:-1])
        assert torch.equal(x[1:], y[:-1])  # input t+1 is target t: next-sample prediction
        diffs = np.diff(y.numpy().astype(int)) % 250
        assert set(diffs.tolist()) == {1}  # consecutive samples of one utterance


def test_same_step_same_batch_and_ranks_differ():
    sampler = CropSampler(make_split([5000, 7000]), length=64, receptive_field=8, mu=255, seed=1)
    a = sampler.batch(7, 4, rank=0)
    assert all(torch.equal(x, y) for x, y in zip(a, sampler.batch(7, 4, rank=0), strict=True))
    assert not torch.equal(a[0], sampler.batch(7, 4, rank=1)[0])
    assert not torch.equal(a[0], sampler.batch(8, 4, rank=0)[0])
    assert not torch.equal(a[0], sampler.batch(7, 4, rank=0, stream=1)[0])


def test_cut_off_context_is_masked_but_utterance_starts_are_kept():
    sampler = CropSampler(make_split([100_000]), length=50, receptive_field=10, mu=255, seed=0)
    inputs, targets, _ = sampler.batch(0, 16)
    for y in targets:
        assert (y[:9] == IGNORE).all() and (y[9:] != IGNORE).all()
    short = CropSampler(make_split([30]), length=50, receptive_field=10, mu=255, seed=0)
    inputs, targets, _ = short.batch(0, 2)
    assert inputs[0, 0] == SILENCE and (inputs[0, 30:] == SILENCE).all()
    assert (targets[0, :30] != IGNORE).all() and (targets[0, 30:] == IGNORE).all()  # start kept, padding ignored


def test_utterances_are_drawn_by_length():
    sampler = CropSampler(make_split([1000, 9000], speakers=[0, 1]), length=10, receptive_field=1, mu=255, seed=0)
    _, _, speakers = sampler.batch(0, 4000)
    assert abs(speakers.float().mean().item() - 0.9) < 0.03


def test_fixed_batches_are_fixed():
    sampler = CropSampler(make_split([5000]), length=20, receptive_field=4, mu=255, seed=0)
    a, b = sampler.fixed_batches(10, 4), sampler.fixed_batches(10, 4)
    assert [x[0].shape[0] for x in a] == [4, 4, 2]
    assert all(torch.equal(x[0], y[0]) for x, y in zip(a, b, strict=True))


def test_bad_sampler_arguments():
    with pytest.raises(WavenetError, match="crop length"):
        CropSampler(make_split([10]), length=0, receptive_field=1, mu=255, seed=0)
