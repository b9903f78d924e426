"""Conditioned streams beyond the shared exactness tests: frames fed while the stream runs, lengths, errors."""

import numpy as np
import pytest
import torch

from tests.conftest import BACKENDS, SHAPES, frames_of, full_forward, random_model
from wavenet.errors import WavenetError
from wavenet.generation.backends.cached import CachedGenerator
from wavenet.generation.backends.naive import NaiveGenerator
from wavenet.generation.conditioning import FrameFeed


@pytest.fixture(params=["naive", *BACKENDS])
def make(request):
    return NaiveGenerator if request.param == "naive" else BACKENDS[request.param][0]


@pytest.mark.parametrize("shape", ["cond-hop4", "cond-hop7"])
def test_frames_fed_while_the_stream_runs_give_the_same_audio(make, shape):
    model = random_model(SHAPES[shape])
    cfg = model.config
    frames = frames_of(model, 7, 400)  # 400 samples' worth
    whole = make(model, 2)
    whole.reset(1, seed=7, frames=frames)
    whole.reset(0, seed=8, frames=frames_of(model, 8))
    expected = whole.generate(len(frames) * cfg.cond_hop, active=2)[1]  # to the stream's very end

    fed = make(model, 2)
    feed = FrameFeed(cfg.cond_channels)
    fed.reset(1, seed=7, frames=feed)
    fed.reset(0, seed=8, frames=frames_of(model, 8))
    out, given = [], 0
    for step in (5, 1, 9, 30):  # frames arrive a few at a time; the stream goes as far as they allow
        feed.extend(frames[given : given + step])
        given = min(len(frames), given + step)
        ready = fed.samples_ready(1)
        assert ready == (given - cfg.lookahead_frames) * cfg.cond_hop - sum(len(o) for o in out)
        if ready:
            out.append(fed.generate(ready)[1])
    feed.extend(frames[given:])
    feed.close()  # the end is known: the last frames need no lookahead
    out.append(fed.generate(fed.samples_ready(1))[1])
    assert fed.samples_ready(1) == 0
    assert np.array_equal(np.concatenate(out), expected)


@pytest.mark.parametrize("shape", ["cond-hop4", "cond-hop7"])
def test_every_backend_ends_a_stream_as_the_full_pass_does(make, shape):
    """The last samples of a stream read its last frames repeated, the same way everywhere."""
    model = random_model(SHAPES[shape])
    frames = [frames_of(model, key, 60) for key in (1, 2)]
    length = len(frames[0]) * model.config.cond_hop  # the whole stream
    codes = torch.randint(0, 256, (2, length), generator=torch.Generator().manual_seed(0))
    speakers = torch.tensor([0, 1])
    full = full_forward(model, codes, speakers, [1, 2], samples=60)
    g = make(model, 2)
    for slot in range(2):
        g.reset(slot, speaker=slot, frames=frames[slot])
    stepped = torch.stack([g.step(codes[:, t]) for t in range(length)], dim=-1)
    assert (stepped - full).abs().max().item() < 2e-3
    assert g.samples_ready(0) == 0


def test_a_stream_is_frames_times_hop_long_and_goes_no_further():
    model = random_model(SHAPES["cond-hop4"])
    g = CachedGenerator(model, 1)
    g.reset(0, seed=1, frames=np.zeros((10, 5), dtype=np.float32))
    assert g.samples_ready(0) == 40
    g.generate(38)
    with pytest.raises(WavenetError, match="slot 0: its frames allow 2 more sample"):
        g.generate(3)
    assert g.generate(2).shape == (1, 2)


def test_conditioning_errors_say_what_is_wrong():
    conditioned, plain = random_model(SHAPES["cond-hop4"]), random_model(SHAPES["debug"])
    with pytest.raises(WavenetError, match="conditioned: a stream needs frames of 5 channels"):
        CachedGenerator(conditioned, 1).reset(0)
    with pytest.raises(WavenetError, match="frames must have 5 channels, got 3"):
        CachedGenerator(conditioned, 1).reset(0, frames=FrameFeed(3, np.zeros((4, 3))))
    with pytest.raises(WavenetError, match=r"frames must have shape \(frames, channels\)"):
        CachedGenerator(conditioned, 1).reset(0, frames=np.zeros(12))
    with pytest.raises(WavenetError, match="takes no feature frames"):
        CachedGenerator(plain, 1).reset(0, frames=np.zeros((4, 5)))
    feed = FrameFeed(5)
    with pytest.raises(WavenetError, match="at least one frame"):
        feed.close()
    feed.extend(np.ones((2, 5)))
    with pytest.raises(WavenetError, match="NaN or infinite"):
        feed.extend(np.full((1, 5), np.nan))
    feed.close()
    with pytest.raises(WavenetError, match="closed"):
        feed.extend(np.ones((1, 5)))
