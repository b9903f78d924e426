"""The fused Triton backend: one kernel launch per chunk, checked against the full forward pass and the torch backend.

Without a GPU the kernel runs in Triton's interpreter (conftest sets TRITON_INTERPRET=1), some
hundred times slower than compiled code, so these tests use short streams on the small shapes;
with a GPU the same tests run the compiled kernel.
"""

import copy
import dataclasses
import sys

import numpy as np
import pytest
import torch

from tests.conftest import SHAPES, frames_of, full_forward, random_model
from tests.generation.test_source_filter import SOURCE_SHAPES, source_frames
from wavenet.errors import WavenetError
from wavenet.generation.backends import fused
from wavenet.generation.backends.cached import CachedGenerator
from wavenet.generation.conditioning import FrameFeed
from wavenet.generation.registry import available_backends, checked_fused_backends
from wavenet.mulaw import silence_code

if sys.platform != "linux":  # [dev] installs Triton where it has wheels: Linux; there it must be present
    pytest.skip("Triton is installed on Linux only", allow_module_level=True)
import triton  # noqa: E402, F401 - a missing Triton fails here, in CI too, instead of skipping

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
SILENCE = silence_code(255)


def on_device(model):
    return copy.deepcopy(model).to(DEVICE)


def fused_generator(model, batch, half=False, **kwargs):
    cls = fused.FusedHalfGenerator if half else fused.FusedGenerator
    return cls(on_device(model), batch, **kwargs)


def start(generator, model, batch, key=0):
    cfg = model.config
    for slot in range(batch):
        generator.reset(
            slot,
            speaker=slot % cfg.n_speakers,
            temperature=0.7 + 0.2 * slot,
            seed=key + slot,
            frames=frames_of(model, key + slot),
        )


@pytest.mark.parametrize("shape", ["k3-2stacks", "k2-3stacks-in1", "debug", "cond-hop4", "cond-hop7"])
def test_step_equals_full_forward_at_every_position(shape):
    """Teacher-forced logits of every slot equal the forward pass's, past the point where every ring wraps."""
    model = random_model(SHAPES[shape])
    batch, length = 3, model.config.receptive_field + 9
    codes = torch.randint(0, model.config.classes, (batch, length))
    speakers = torch.arange(batch) % model.config.n_speakers
    full = full_forward(model, codes, speakers, list(range(batch)))
    generator = fused_generator(model, batch)
    for slot in range(batch):
        generator.reset(slot, speaker=int(speakers[slot]), frames=frames_of(model, slot))
    stepped = torch.stack([generator.step(codes[:, t].to(DEVICE)).cpu() for t in range(length)], dim=-1)
    assert (stepped - full).abs().max().item() < 1e-4


# One program with idle rows; two programs, the second nearly empty.
@pytest.mark.parametrize(("shape", "batch"), [("debug", 3), ("cond-hop7", 17)])
def test_draws_the_torch_backends_samples_in_one_launch_or_many(shape, batch):
    model = random_model(SHAPES[shape])
    n = model.config.receptive_field + 12
    reference = CachedGenerator(model, batch)
    start(reference, model, batch)
    expected = reference.generate(n)
    whole, pieces = fused_generator(model, batch), fused_generator(model, batch)
    start(whole, model, batch)
    start(pieces, model, batch)
    assert np.array_equal(whole.generate(n), expected)
    assert np.array_equal(np.concatenate([pieces.generate(m) for m in (1, 10, n - 11)], axis=1), expected)
    assert len(np.unique(expected)) > 5


def test_moves_suspends_and_partial_batches_carry_the_stream():
    model = random_model(SHAPES["cond-hop4"])
    steps = model.config.receptive_field + 5
    alone = CachedGenerator(model, 3)
    alone.reset(1, speaker=1, temperature=0.8, seed=21, frames=frames_of(model, 21))
    alone.reset(0, seed=1, frames=frames_of(model, 1))
    expected = alone.generate(3 * steps)[1]

    busy = fused_generator(model, 3)
    busy.reset(0, seed=1, frames=frames_of(model, 1))
    busy.reset(1, speaker=1, temperature=0.8, seed=21, frames=frames_of(model, 21))
    first = busy.generate(steps)[1]
    busy.move(1, 2)
    busy.reset(1, seed=5, frames=frames_of(model, 5))
    second = busy.generate(steps)[2]
    saved = busy.suspend(2)
    busy.generate(7, active=2)  # the step counter moves on without it
    busy.release(1)
    busy.resume(1, saved)
    third = busy.generate(steps, active=2)[1]
    assert np.array_equal(np.concatenate([first, second, third]), expected)


def test_half_weights_stay_within_tolerance():
    """triton-f16 rounds weights and the products' operands to half floats; the logits stay close."""
    model = random_model(SHAPES["cond-hop4"])
    batch, length = 2, 30
    codes = torch.randint(0, model.config.classes, (batch, length))
    full = full_forward(model, codes, torch.arange(batch), list(range(batch)))
    generator = fused_generator(model, batch, half=True)
    for slot in range(batch):
        generator.reset(slot, speaker=slot, frames=frames_of(model, slot))
    stepped = torch.stack([generator.step(codes[:, t].to(DEVICE)).cpu() for t in range(length)], dim=-1)
    assert (stepped - full).abs().max().item() < 5e-3
    p, q = torch.log_softmax(full, dim=1), torch.log_softmax(stepped, dim=1)
    kl = (p.exp() * (p - q)).sum(dim=1)  # nats, per position
    assert kl.max().item() < 1e-4


def test_tiles_smaller_than_the_layers_give_the_same_logits():
    """Gate units and head units taken 16 at a time (several tiles per layer) change nothing."""
    wider = dataclasses.replace(SHAPES["cond-hop4"], gate_channels=64, skip_channels=40, residual_channels=20)
    model = random_model(wider)
    codes = torch.randint(0, model.config.classes, (2, 12))
    logits = []
    for tile in (16, 64):
        generator = fused_generator(model, 2, gate_tile=tile, head_tile=tile)
        for slot in range(2):
            generator.reset(slot, speaker=slot, frames=frames_of(model, slot))
        logits.append(torch.stack([generator.step(codes[:, t].to(DEVICE)).cpu() for t in range(12)]))
    assert generator.hc == 32 and generator.sc == 64  # the tiles are capped at the layers' padded widths
    assert (logits[0] - logits[1]).abs().max().item() < 1e-5


@pytest.mark.filterwarnings("ignore:All-NaN slice")  # numpy, inside the interpreter's max
def test_undefined_logits_give_silence_for_that_stream_alone():
    model = random_model(SHAPES["debug"], seed=7)
    with torch.no_grad():
        model.speaker_embedding.weight[1] = float("nan")
    reference = CachedGenerator(copy.deepcopy(model), 3)
    generator = fused_generator(model, 3)
    for g in (reference, generator):
        for slot in range(3):
            g.reset(slot, speaker=slot, seed=30 + slot)
    codes, expected = generator.generate(20), reference.generate(20)
    assert (codes[1] == SILENCE).all()
    assert np.array_equal(codes[[0, 2]], expected[[0, 2]])


@pytest.mark.skipif(DEVICE == "cuda", reason="on a GPU the kernel is compiled, not interpreted")
def test_on_a_cpu_it_runs_only_in_the_interpreter(monkeypatch):
    monkeypatch.setenv("TRITON_INTERPRET", "0")
    with pytest.raises(WavenetError, match="TRITON_INTERPRET=1"):
        fused.FusedGenerator(random_model(SHAPES["debug"]), 1)
    assert "triton" not in available_backends(random_model(SHAPES["debug"]))  # never offered on a CPU


@pytest.mark.parametrize("shape", ["debug", "cond-hop4"])
def test_self_check_runs_each_kernel_on_the_model_and_batch_it_will_run(shape, monkeypatch):
    """Both fused backends are checked, each on the served model's own shapes and batch; a broken one is not offered."""
    model = on_device(random_model(SHAPES[shape]))
    assert checked_fused_backends(model, 3) == ["triton", "triton-f16"]
    launched = []
    original = fused.FusedGenerator._launch
    monkeypatch.setattr(
        fused.FusedGenerator,
        "_launch",
        lambda g, k, *a, **kw: launched.append((g.name, g.batch_size)) or original(g, k, *a, **kw),
    )
    assert checked_fused_backends(model, 3) == ["triton", "triton-f16"] and launched == []  # kept for the model's life
    assert checked_fused_backends(model, 5) == ["triton", "triton-f16"]
    assert {("triton", 5), ("triton-f16", 5)} <= set(launched)

    def broken(generator, *args, **kwargs):
        if generator.half_weights:
            raise RuntimeError("out of resources: shared memory")
        return original(generator, *args, **kwargs)

    monkeypatch.setattr(fused.FusedGenerator, "_launch", broken)
    other = on_device(random_model(SHAPES[shape]))
    assert checked_fused_backends(other, 3) == ["triton"]  # auto would take triton, not the broken triton-f16
    assert fused.self_check(other, fused.FusedHalfGenerator, 3) == "RuntimeError: out of resources: shared memory"


def test_self_check_catches_wrong_logits(monkeypatch):
    model = on_device(random_model(SHAPES["debug"]))
    original = fused.FusedGenerator.step
    monkeypatch.setattr(fused.FusedGenerator, "step", lambda g, codes: original(g, codes) + 0.5)
    assert "differ from the torch backend's by 0.5" in fused.self_check(model, fused.FusedGenerator, 2)


def test_a_source_filter_stream_keeps_its_filter_through_moves_suspends_and_a_growing_feed():
    """The filter's state (last samples, prediction) and the voiced temperature go with a stream, a feed that
    grows gives the same predictors and sines, chunk after chunk: the torch backend's samples, on short pieces.
    (The same path as every backend and logits = the forward pass: tests/generation/test_source_filter.py.)"""
    model = random_model(SOURCE_SHAPES["hop4-sines"])
    frames = [source_frames(model.config, key, 200) for key in (5, 6)]
    alone = CachedGenerator(model, 1)
    alone.reset(0, seed=3, temperature=1.1, frames=frames[0], voiced_scale=0.6)
    expected = alone.generate(120)[0]
    g = fused_generator(model, 3)
    feed = FrameFeed(model.config.cond_channels)
    feed.extend(frames[0][:12])
    g.reset(2, seed=3, temperature=1.1, frames=feed, voiced_scale=0.6)
    g.reset(0, seed=4, frames=frames[1])
    part = [g.generate(g.samples_ready(2))[2]]  # as far as 12 frames allow
    feed.extend(frames[0][12:])
    feed.close()
    g.move(2, 1)
    part.append(g.generate(40, active=2)[1])
    saved = g.suspend(1)
    g.generate(9, active=1)
    g.resume(1, saved)
    part.append(g.generate(120 - sum(map(len, part)), active=2)[1])
    assert np.array_equal(np.concatenate(part), expected)
    assert len(np.unique(expected)) > 20


def test_self_check_passes_a_source_filter_model_with_a_periodic_source():
    """The kernel runs the filter and the sines itself: both fused backends are offered for such a model."""
    model = on_device(random_model(SOURCE_SHAPES["hop4-sines"]))
    assert checked_fused_backends(model, 3) == ["triton", "triton-f16"]
