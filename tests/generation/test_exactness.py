"""Exactness of generation: the cached step equals the full forward pass, slots are independent."""

import numpy as np
import pytest
import torch

from tests.conftest import SHAPES, frames_of, full_forward, random_model
from wavenet.errors import WavenetError
from wavenet.generation.backends.cached import CachedGenerator
from wavenet.generation.backends.naive import NaiveGenerator
from wavenet.generation.registry import make_generator

B = 3


def speakers_for(model):
    return torch.arange(B) % model.config.n_speakers


def teacher_forced_logits(generator, codes):
    """Feed codes (B, T) one step at a time; returns the logits (B, classes, T)."""
    return torch.stack([generator.step(codes[:, t]) for t in range(codes.shape[1])], dim=-1)


def check_step_equals_full_forward(model, generator, tolerance):
    cfg = model.config
    length = 2 * cfg.receptive_field + 7  # long enough for every ring buffer to wrap around
    codes = torch.randint(0, cfg.classes, (B, length))
    speakers = speakers_for(model)
    full = full_forward(model, codes, speakers, list(range(B)))
    for slot in range(B):
        generator.reset(slot, speaker=int(speakers[slot]), frames=frames_of(model, slot))
    stepped = teacher_forced_logits(generator, codes)
    assert (stepped - full).abs().max().item() < tolerance


def test_step_equals_full_forward_at_every_position(model, backend):
    make, tolerance = backend
    check_step_equals_full_forward(model, make(model, B), tolerance)


def test_naive_step_equals_full_forward(model):
    check_step_equals_full_forward(model, NaiveGenerator(model, B), 1e-4)


def test_reference_model_step_equals_full_forward(backend):
    """The 20-layer reference shape itself (largest dilation 512), past one receptive field."""
    from wavenet.model_config import preset

    make, tolerance = backend
    model = random_model(preset("ref20"))
    codes = torch.randint(0, 256, (2, 2100))
    speakers = torch.tensor([0, 5])
    full = model(codes, speakers)
    generator = make(model, 2)
    generator.reset(0, speaker=0)
    generator.reset(1, speaker=5)
    stepped = teacher_forced_logits(generator, codes)
    assert (stepped - full).abs().max().item() < tolerance


@pytest.mark.parametrize("name", ["torch", "native", "native-rows", "native-1thread", "cuda-graph-eager", "cuda-graph"])
def test_float32_backends_draw_the_same_samples_as_the_naive_one(model, name):
    from tests.conftest import BACKENDS

    cfg = model.config
    generators = [BACKENDS[name][0](model, B), NaiveGenerator(model, B)]
    for g in generators:
        for slot in range(B):
            g.reset(
                slot,
                speaker=slot % cfg.n_speakers,
                temperature=0.7 + 0.2 * slot,
                seed=100 + slot,
                frames=frames_of(model, 100 + slot),
            )
    cached, naive = (g.generate(cfg.receptive_field + 20) for g in generators)
    assert np.array_equal(cached, naive)
    assert len(np.unique(cached)) > 5  # real samples, not a constant


def run_slot_zero(model, make, disturb: bool) -> tuple[np.ndarray, torch.Tensor]:
    """Slot 0 generates with a fixed seed while the other slots do something else."""
    generator = make(model, B)
    generator.reset(0, speaker=0, temperature=1.0, seed=42, frames=frames_of(model, 42))
    for slot in (1, 2):
        speaker, seed = (slot * 2 if disturb else 0) % model.config.n_speakers, slot + 7 * disturb
        generator.reset(slot, speaker=speaker, seed=seed, frames=frames_of(model, seed))
    first = generator.generate(25)
    if disturb:
        generator.reset(
            1, speaker=0, temperature=0.3, seed=999, frames=frames_of(model, 999)
        )  # another stream joins mid-run
        generator.release(2)  # and one leaves
    second = generator.generate(30)
    probe = generator.step(torch.tensor([5, 6, 7]))[0]
    return np.concatenate([first[0], second[0]]), probe


def test_a_stream_does_not_depend_on_the_other_slots(model, backend):
    make, _ = backend
    quiet, quiet_logits = run_slot_zero(model, make, disturb=False)
    busy, busy_logits = run_slot_zero(model, make, disturb=True)
    assert np.array_equal(quiet, busy)
    torch.testing.assert_close(quiet_logits, busy_logits, atol=1e-6, rtol=0)
    alone = make(model, 1)
    alone.reset(0, speaker=0, seed=42, frames=frames_of(model, 42))
    assert np.array_equal(alone.generate(55)[0], quiet)


def test_a_reset_slot_starts_afresh(model, backend):
    make, _ = backend
    generator = make(model, 2)
    generator.reset(0, seed=1, frames=frames_of(model, 1))
    generator.reset(1, seed=2, frames=frames_of(model, 2))
    generator.generate(40)
    generator.reset(0, speaker=model.config.n_speakers - 1, seed=5, temperature=0.8, frames=frames_of(model, 5))
    reused = generator.generate(50)[0]
    fresh = make(model, 2)
    fresh.reset(0, speaker=model.config.n_speakers - 1, seed=5, temperature=0.8, frames=frames_of(model, 5))
    assert np.array_equal(fresh.generate(50)[0], reused)


def test_output_does_not_depend_on_chunking(model, backend):
    make, _ = backend
    a, b = make(model, 2), make(model, 2)
    for g in (a, b):
        g.reset(0, seed=3, frames=frames_of(model, 3))
        g.reset(1, seed=4, frames=frames_of(model, 4))
    whole = a.generate(37)
    pieces = np.concatenate([b.generate(1), b.generate(10), b.generate(26)], axis=1)
    assert np.array_equal(whole, pieces)


def test_same_seed_same_audio_and_different_seed_different_audio(model, backend):
    make, _ = backend

    def run(seed):
        g = make(model, 1)
        g.reset(0, seed=seed, frames=frames_of(model, seed))
        return g.generate(64)[0]

    assert np.array_equal(run(11), run(11))
    assert not np.array_equal(run(11), run(12))


def test_bad_arguments_are_errors():
    model = random_model(SHAPES["k2-1stack"])
    g = CachedGenerator(model, 2)
    with pytest.raises(WavenetError, match="slot"):
        g.reset(2)
    with pytest.raises(WavenetError, match="speaker"):
        g.reset(0, speaker=1)
    with pytest.raises(WavenetError, match="temperature"):
        g.reset(0, temperature=0.0)
    with pytest.raises(WavenetError, match="temperature"):
        g.reset(0, temperature=float("nan"))
    with pytest.raises(WavenetError, match="backend"):
        make_generator(model, 1, "nope")
    with pytest.raises(WavenetError, match="batch"):
        CachedGenerator(model, 0)


@pytest.fixture(params=["naive", "torch", "native", "native-rows", "native-f16", "cuda-graph-eager", "cuda-graph"])
def any_generator(request):
    from tests.conftest import BACKENDS

    if request.param == "naive":
        return NaiveGenerator
    return BACKENDS[request.param][0]


def test_a_moved_stream_continues_as_if_it_had_not_moved(model, any_generator):
    generator_cls = any_generator
    still = generator_cls(model, 3)
    still.reset(2, speaker=model.config.n_speakers - 1, seed=8, temperature=0.9, frames=frames_of(model, 8))
    expected = still.generate(40)[2]
    moving = generator_cls(model, 3)
    moving.reset(0, seed=1, frames=frames_of(model, 1))
    moving.reset(2, speaker=model.config.n_speakers - 1, seed=8, temperature=0.9, frames=frames_of(model, 8))
    first = moving.generate(15)[2]
    moving.move(2, 0)  # slot 0's stream is dropped, slot 2's takes its place
    assert moving.active == [True, False, False]
    second = moving.generate(25, active=1)[0]
    assert np.array_equal(np.concatenate([first, second]), expected)


def test_generating_only_the_first_slots(model, backend):
    make, _ = backend
    full = make(model, 4)
    part = make(model, 4)
    for g in (full, part):
        g.reset(0, seed=5, frames=frames_of(model, 5))
        g.reset(1, seed=6, speaker=model.config.n_speakers - 1, frames=frames_of(model, 6))
    assert np.array_equal(full.generate(30)[:2], part.generate(30, active=2))
    with pytest.raises(WavenetError, match="slots from 1 on hold streams"):
        part.generate(5, active=1)
    with pytest.raises(WavenetError, match="active slots must be in"):
        part.generate(5, active=5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_auto_takes_the_fused_kernel_on_a_gpu_where_it_passes_its_self_check():
    from wavenet.generation.backends import fused

    model = random_model(SHAPES["debug"]).cuda()
    generator = make_generator(model, 2)
    works = [b.name for b in (fused.FusedGenerator, fused.FusedHalfGenerator) if fused.self_check(model, b, 2) is None]
    assert generator.name == (works[-1] if works else "cuda-graph")
    generator.reset(0, seed=3)
    assert generator.generate(70).shape == (2, 70)


def test_auto_takes_the_fastest_backend_here():
    model = random_model(SHAPES["debug"])
    assert make_generator(model, 2).name == "native-f16"
    assert make_generator(model, 2, "torch").name == "torch"
