"""Suspending a stream and resuming it later, in another slot, continues it exactly, in every backend."""

import numpy as np
import pytest

from tests.conftest import BACKENDS, frames_of
from wavenet.errors import WavenetError
from wavenet.generation.backends.naive import NaiveGenerator


@pytest.fixture(params=["naive", *BACKENDS])
def make(request):
    return NaiveGenerator if request.param == "naive" else BACKENDS[request.param][0]


def test_a_suspended_stream_resumes_exactly_in_any_slot(model, make):
    cfg = model.config
    steps = cfg.receptive_field + 9  # the rings wrap around before the pause
    alone = make(model, 3)
    alone.reset(1, speaker=cfg.n_speakers - 1, temperature=0.8, seed=21, frames=frames_of(model, 21))
    alone.reset(0, seed=1, frames=frames_of(model, 1))
    expected = alone.generate(2 * steps)[1]

    busy = make(model, 3)
    busy.reset(0, seed=1, frames=frames_of(model, 1))
    busy.reset(1, speaker=cfg.n_speakers - 1, temperature=0.8, seed=21, frames=frames_of(model, 21))
    first = busy.generate(steps)[1]
    saved = busy.suspend(1)
    assert busy.active == [True, False, False]
    busy.generate(13, active=1)  # the others go on: the step counter moves, the rings turn
    busy.reset(1, seed=5, frames=frames_of(model, 5))  # and another stream takes the freed slot
    busy.reset(0, speaker=0, seed=6, frames=frames_of(model, 6))
    busy.generate(4, active=2)
    busy.resume(2, saved)  # back, in another slot, at another ring position
    second = busy.generate(steps)[2]
    assert np.array_equal(np.concatenate([first, second]), expected)
    assert saved.nbytes > 0


def test_suspending_twice_and_errors(model, make):
    g = make(model, 2)
    g.reset(0, seed=3, frames=frames_of(model, 3))
    reference = make(model, 2)
    reference.reset(0, seed=3, frames=frames_of(model, 3))
    expected = reference.generate(7 + 2 * (8 + 4) + 3)[0]
    parts = [g.generate(7)[0]]
    for _ in range(2):
        saved = g.suspend(0)
        g.resume(1, saved)
        parts.append(g.generate(8)[1])
        g.move(1, 0)
        parts.append(g.generate(4, active=1)[0])
    parts.append(g.generate(3, active=1)[0])
    assert np.array_equal(np.concatenate(parts), expected)
    with pytest.raises(WavenetError, match="slot 1 holds no stream to suspend"):
        g.suspend(1)
    with pytest.raises(WavenetError, match="slot must be in"):
        g.suspend(2)
