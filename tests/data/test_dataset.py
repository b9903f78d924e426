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
    batch = sampler.batch(step=3, batch_size=32)
    inputs, targets, speakers = batch.inputs, batch.targets, batch.speakers
    assert batch.frames is None
    assert inputs.shape == targets.shape == (32, 100) and speakers.tolist()[0] in (4, 5, 6)
    for x, y in zip(inputs, targets, strict=True):
        if x[0] == SILENCE:  # a crop from the start: [silence] + codes
            assert torch.equal(x[1:], y[:-1])
        assert torch.equal(x[1:], y[:-1])  # input t+1 is target t: next-sample prediction
        diffs = np.diff(y.numpy().astype(int)) % 250
        assert set(diffs.tolist()) == {1}  # consecutive samples of one utterance


def test_same_step_same_batch_and_ranks_differ():
    sampler = CropSampler(make_split([5000, 7000]), length=64, receptive_field=8, mu=255, seed=1)
    a, again = sampler.batch(7, 4, rank=0), sampler.batch(7, 4, rank=0)
    assert torch.equal(a.inputs, again.inputs) and torch.equal(a.targets, again.targets)
    assert not torch.equal(a.inputs, sampler.batch(7, 4, rank=1).inputs)
    assert not torch.equal(a.inputs, sampler.batch(8, 4, rank=0).inputs)
    assert not torch.equal(a.inputs, sampler.batch(7, 4, rank=0, stream=1).inputs)


def test_cut_off_context_is_masked_but_utterance_starts_are_kept():
    sampler = CropSampler(make_split([100_000]), length=50, receptive_field=10, mu=255, seed=0)
    targets = sampler.batch(0, 16).targets
    for y in targets:
        assert (y[:9] == IGNORE).all() and (y[9:] != IGNORE).all()
    short = CropSampler(make_split([30]), length=50, receptive_field=10, mu=255, seed=0)
    batch = short.batch(0, 2)
    inputs, targets = batch.inputs, batch.targets
    assert inputs[0, 0] == SILENCE and (inputs[0, 30:] == SILENCE).all()
    assert (targets[0, :30] != IGNORE).all() and (targets[0, 30:] == IGNORE).all()  # start kept, padding ignored


def test_utterances_are_drawn_by_length():
    sampler = CropSampler(make_split([1000, 9000], speakers=[0, 1]), length=10, receptive_field=1, mu=255, seed=0)
    speakers = sampler.batch(0, 4000).speakers
    assert abs(speakers.float().mean().item() - 0.9) < 0.03


def test_fixed_batches_are_fixed():
    sampler = CropSampler(make_split([5000]), length=20, receptive_field=4, mu=255, seed=0)
    a, b = sampler.fixed_batches(10, 4), sampler.fixed_batches(10, 4)
    assert [x.inputs.shape[0] for x in a] == [4, 4, 2]
    assert all(torch.equal(x.inputs, y.inputs) for x, y in zip(a, b, strict=True))


def test_bad_sampler_arguments():
    with pytest.raises(WavenetError, match="crop length"):
        CropSampler(make_split([10]), length=0, receptive_field=1, mu=255, seed=0)


def test_conditioned_crops_start_on_frames_and_carry_the_frames_they_read():
    from wavenet.model import frame_span, frame_window

    hop, context, length = 4, 1, 30
    lengths = [200, 41]  # codes 1, 2, 3, ...: a crop's first input tells where it starts
    split = make_split(lengths)
    counts = [-(-n // hop) for n in lengths]
    split.feats = np.arange(sum(counts) * 2, dtype=np.float16).reshape(-1, 2)  # frame f holds (2f, 2f + 1)
    split.frames = np.array([[0, counts[0]], [counts[0], counts[1]]])
    sampler = CropSampler(split, length=length, receptive_field=5, mu=255, seed=3, hop=hop, context=context)
    batch = sampler.batch(0, 64)
    assert batch.frames.shape == (64, 2, (length - 1) // hop + 2 + 2 * context)
    starts = set()
    for b in range(64):
        utterance = int(batch.speakers[b])  # one speaker per utterance here
        start = 0 if batch.inputs[b, 0] == SILENCE else int(batch.inputs[b, 0])  # codes[start - 1] == start
        assert start % hop == 0  # crops start on a frame boundary
        a, end = frame_span(start, start + length, hop)
        own = split.utterance_frames(utterance)
        expected = own[frame_window(len(own), a, end, context).numpy()].T.astype(np.float32)
        assert np.array_equal(batch.frames[b].numpy(), expected)
        starts.add(start)
    assert len(starts) > 10
