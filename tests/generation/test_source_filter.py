"""Source-filter models (lpc_order > 0) and periodic sources (source_harmonics > 0): the same signals in
training and generation, every backend that runs them exact.

Every backend (naive, torch, native in C: by columns, by rows, one thread, half-float weights; the
CUDA-graph steps, run eagerly here; the Triton kernels, in Triton's interpreter here) draws the
same sample path from the same uniforms (the float32 ones), and its logits at every position
equal the full forward pass's on that path, fed the source codes and sines that training
computes from the same codes and frames.
"""

import copy
import dataclasses
import functools

import numpy as np
import pytest
import torch

from tests.conftest import BACKENDS, SHAPES, OnCuda, random_model
from wavenet import mulaw
from wavenet.errors import WavenetError
from wavenet.excitation import (
    SourceState,
    crop_source,
    frame_cycles,
    frame_filters,
    key_source,
    key_starts,
    periodic_source,
    recording_phase,
    sample_phase,
    sine_source,
)
from wavenet.generation.backends import fused
from wavenet.generation.backends.cuda_graph import GraphGenerator
from wavenet.generation.backends.naive import NaiveGenerator
from wavenet.generation.conditioning import FrameFeed
from wavenet.generation.registry import available_backends, make_generator
from wavenet.model import frame_window
from wavenet.model_config import KEYS, ROLL_CHANNELS

ORDER = 4
SOURCE_SHAPES = {
    "hop4": dataclasses.replace(SHAPES["cond-hop4"], cond_channels=5 + ORDER, lpc_order=ORDER),
    "hop7-k3": dataclasses.replace(SHAPES["cond-hop7"], cond_channels=6 + ORDER, lpc_order=ORDER),
    # a filter and a periodic source; a periodic source alone
    "hop4-sines": dataclasses.replace(
        SHAPES["cond-hop4"], cond_channels=6 + ORDER, lpc_order=ORDER, source_harmonics=3
    ),
    "hop7-k3-sines": dataclasses.replace(SHAPES["cond-hop7"], cond_channels=7, source_harmonics=5),
    # sines at a piano roll's sounding keys
    "hop4-keys": dataclasses.replace(
        SHAPES["cond-hop4"], cond_channels=ROLL_CHANNELS, source_harmonics=3, source_keys=1
    ),
}
MU = 255


def source_frames(cfg, key: int, samples: int) -> np.ndarray:
    """Random frames whose last channels are reflection coefficients of a stable filter (each in (-0.9, 0.9)),
    then, with a periodic source, F0: 60 to 2,000 Hz (its high harmonics past Nyquist), a fifth of frames unvoiced;
    with sines at keys, a random piano roll."""
    rng = np.random.default_rng(key)
    if cfg.source_keys:
        return random_roll(rng, -(-samples // cfg.cond_hop))
    frames = rng.standard_normal((-(-samples // cfg.cond_hop), cfg.cond_channels)).astype(np.float32)
    end = cfg.cond_channels - (1 if cfg.source_harmonics else 0)
    if cfg.lpc_order:
        frames[:, end - cfg.lpc_order : end] = 0.9 * np.tanh(frames[:, end - cfg.lpc_order : end])
    if cfg.source_harmonics:
        f0 = np.exp(rng.uniform(np.log(60), np.log(2000), len(frames)))
        frames[:, -1] = np.where(rng.random(len(frames)) < 0.2, 0.0, f0)
    return frames


def random_roll(rng: np.random.Generator, frames: int) -> np.ndarray:
    """A piano roll (frames, 264) whose keys sound in runs of 1 to 12 frames, some struck again while sounding."""
    roll = np.zeros((frames, 3, KEYS), dtype=np.float32)
    for key in rng.choice(KEYS, 12, replace=False):
        t = int(rng.integers(0, 4))
        while t < frames:
            length = int(rng.integers(1, 13))
            roll[t, 0, key] = 1.0
            roll[t : t + length, 1, key] = 1.0
            roll[t : t + length, 2, key] = rng.uniform(0.2, 1.0)
            t += length + int(rng.integers(0, 6))  # 0: struck again at once
    return roll.reshape(frames, ROLL_CHANNELS)


def training_sines(cfg, frames: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """The sines a training crop of these positions reads: (harmonics, len(positions))."""
    return periodic_source(frames, positions, cfg).T


def test_training_and_generation_compute_the_same_source_codes():
    cfg = SOURCE_SHAPES["hop4"]
    frames = source_frames(cfg, 0, 400)
    filters = frame_filters(frames, ORDER)
    codes = mulaw.encode(0.5 * np.sin(np.arange(400) / 7.0) + 0.05 * np.random.default_rng(1).standard_normal(400), MU)
    predicted, last, excitation = crop_source(codes, 0, 400, filters, cfg.cond_hop, MU)
    state = SourceState(1, ORDER, MU)
    previous = np.array([mulaw.silence_code(MU)])
    for t in range(400):
        p, e = state.advance(previous, filters[t // cfg.cond_hop][None])
        assert (p[0], e[0]) == (predicted[t], last[t]), t
        previous = codes[t : t + 1]
    # A crop from the middle of the utterance reads the same codes as the whole.
    mid = crop_source(codes, 120, 50, filters, cfg.cond_hop, MU)
    for whole, part in zip((predicted, last, excitation), mid, strict=True):
        assert np.array_equal(whole[120:170], part)
    # Sampling the excitation that training targets gives the sample back, to the excitation's
    # quantisation (a step of each), wherever the excitation is within full scale (not clipped).
    state = SourceState(1, ORDER, MU)
    previous = np.array([mulaw.silence_code(MU)])
    for t in range(400):
        state.advance(previous, filters[t // cfg.cond_hop][None])
        made = state.sample(excitation[t : t + 1])
        true, e = mulaw.decode(codes[t : t + 1], MU)[0], mulaw.decode(excitation[t : t + 1], MU)[0]
        if abs(true - state.predicted[0]) < 0.99:
            step = np.log1p(MU) / MU * 2 / MU  # μ-law's step in value near x is step × (1 + μ|x|)
            assert abs(mulaw.decode(made, MU)[0] - true) <= step * (2 + MU * (abs(e) + abs(true))), t
        previous = codes[t : t + 1]


def full_pass(model, codes: np.ndarray, frames: list[np.ndarray], speakers: torch.Tensor) -> torch.Tensor:
    """The forward pass's logits over whole streams, with the source codes training would compute."""
    cfg = model.config
    rows = []
    silence = mulaw.silence_code(cfg.mu)
    for b in range(len(codes)):
        source, sines = None, None
        if cfg.lpc_order:
            filters = frame_filters(frames[b], cfg.lpc_order, f0=cfg.f0_channel)
            predicted, last, _ = crop_source(codes[b], 0, codes.shape[1], filters, cfg.cond_hop, cfg.mu)
            source = (torch.from_numpy(predicted)[None], torch.from_numpy(last)[None])
        if cfg.source_harmonics:
            sines = torch.from_numpy(training_sines(cfg, frames[b], np.arange(codes.shape[1])))[None]
        inputs = torch.from_numpy(np.concatenate([[silence], codes[b, :-1]]))[None]
        window = frame_window(len(frames[b]), 0, len(frames[b]) + 1, cfg.cond_layers)
        f = torch.from_numpy(frames[b]).t()[None][:, :, window]
        rows.append(model(inputs, speakers[b : b + 1], f, 0, source=source, sines=sines)[0])
    return torch.stack(rows)


def triton(model, batch):
    """The Triton backend: compiled on a GPU (its steps return to the host, as the tests'), interpreted elsewhere
    (moves, suspends, growing feeds and voiced temperatures: tests/generation/test_fused.py, on shorter streams)."""
    if not fused.available():
        pytest.skip("Triton is installed on Linux only")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    generator = fused.FusedGenerator(copy.deepcopy(model).to(device), batch)
    return OnCuda(generator) if device == "cuda" else generator


MAKERS = {
    "naive": (NaiveGenerator, 1e-4),
    **{name: BACKENDS[name] for name in ("torch", "native", "native-rows", "native-1thread", "native-f16")},
    # short blocks, so that a chunk mixes whole blocks and a remainder
    "cuda-graph-eager": (functools.partial(GraphGenerator, steps_per_graph=8), 1e-4),
    **({"cuda-graph": BACKENDS["cuda-graph"]} if torch.cuda.is_available() else {}),  # captured graphs on a GPU
    "triton": (triton, 1e-4),  # (triton-f16: its self-check on a source model, in test_fused.py)
}
ROUNDED = ("native-f16", "cuda-graph")  # half-float weights, GPU sums: may draw another code where two are near equal


@pytest.mark.parametrize("shape", list(SOURCE_SHAPES))
def test_every_backend_draws_the_same_path_and_its_logits_are_the_full_pass(shape):
    model = random_model(SOURCE_SHAPES[shape])
    cfg = model.config
    length = cfg.receptive_field + 23
    frames = [source_frames(cfg, key, length) for key in (3, 4)]
    paths = {}
    for name, (make, _) in MAKERS.items():
        g = make(model, 2)
        for slot in range(2):
            g.reset(slot, speaker=slot, temperature=0.8 + 0.3 * slot, seed=10 + slot, frames=frames[slot])
        first = g.generate(9)
        paths[name] = np.concatenate([first, g.generate(length - 9)], axis=1)
    codes = paths["naive"]
    for name, path in paths.items():
        if name not in ROUNDED:
            assert np.array_equal(path, codes), name
    assert len(np.unique(codes)) > 20  # it sampled something, not silence
    full = full_pass(model, codes, frames, torch.tensor([0, 1]))
    silence = torch.full((2,), mulaw.silence_code(cfg.mu))
    inputs = torch.cat([silence[:, None], torch.from_numpy(codes[:, :-1])], dim=1)
    for name, (make, tolerance) in MAKERS.items():
        g = make(model, 2)
        for slot in range(2):
            g.reset(slot, speaker=slot, frames=frames[slot])
        stepped = torch.stack([g.step(inputs[:, t]) for t in range(length)], dim=-1)
        assert (stepped - full).abs().max().item() < tolerance, name


@pytest.mark.parametrize("shape", ["hop4", "hop4-sines", "hop4-keys"])
@pytest.mark.parametrize("name", ["naive", "torch", "native", "native-rows", "cuda-graph-eager"])
def test_streams_move_suspend_and_resume_with_their_source(name, shape):
    make = MAKERS[name][0]
    model = random_model(SOURCE_SHAPES[shape])
    frames = [source_frames(model.config, key, 400) for key in (5, 6)]
    alone = make(model, 1)
    alone.reset(0, seed=3, frames=frames[0])
    expected = alone.generate(300)[0]
    g = make(model, 3)
    g.reset(2, seed=3, frames=frames[0])
    g.reset(0, seed=4, frames=frames[1])
    part = [g.generate(100)[2]]
    g.move(2, 1)
    part.append(g.generate(100, active=2)[1])
    saved = g.suspend(1)
    g.generate(50, active=1)
    g.resume(1, saved)
    part.append(g.generate(100, active=2)[1])
    assert np.array_equal(np.concatenate(part), expected)


@pytest.mark.parametrize("shape", ["hop4", "hop4-sines", "hop4-keys"])
@pytest.mark.parametrize("name", ["torch", "native", "cuda-graph-eager"])
def test_a_growing_feed_gives_its_stream_the_same_filters(name, shape):
    """Frames fed a few at a time while the stream runs: the same samples as the whole frames at once."""
    make = MAKERS[name][0]
    model = random_model(SOURCE_SHAPES[shape])
    frames = source_frames(model.config, 7, 400)
    whole = make(model, 1)
    whole.reset(0, seed=9, frames=frames)
    expected = whole.generate(400)[0]
    g = make(model, 1)
    feed = FrameFeed(model.config.cond_channels)
    g.reset(0, seed=9, frames=feed)
    made = []
    for start in range(0, 100, 20):
        feed.extend(frames[start : start + 20])
        if start + 20 == 100:
            feed.close()
        made.append(g.generate(g.samples_ready(0))[0])
    assert np.array_equal(np.concatenate(made), expected)


def test_a_source_filter_model_is_offered_every_backend_of_its_device():
    model = random_model(SOURCE_SHAPES["hop4"])
    assert available_backends(model) == ["naive", "torch", "native", "native-f16"]  # (cuda-graph: on a GPU)
    assert make_generator(model, 2).name == "native-f16"
    with pytest.raises(WavenetError, match="backend 'cuda-graph' cannot run here; available: naive, torch, native"):
        make_generator(model, 2, "cuda-graph")
    with pytest.raises(WavenetError, match="needs cond_channels > lpc_order"):
        dataclasses.replace(SHAPES["debug"], lpc_order=4)
    sines = random_model(SOURCE_SHAPES["hop7-k3-sines"])
    assert available_backends(sines) == ["naive", "torch", "native", "native-f16"]
    with pytest.raises(WavenetError, match="model.source_harmonics: .* it needs cond_channels > 5"):
        dataclasses.replace(SOURCE_SHAPES["hop4"], cond_channels=5, source_harmonics=2)


def test_noise_injection_hears_a_noisy_signal_and_targets_the_true_one():
    """LPCNet's training trick: predictions and inputs from noisy codes, the target the true sample less that prediction."""
    cfg = SOURCE_SHAPES["hop4"]
    filters = frame_filters(source_frames(cfg, 0, 200), ORDER)
    codes = mulaw.encode(0.4 * np.sin(np.arange(200) / 5.0), MU)
    clean = crop_source(codes, 50, 100, filters, cfg.cond_hop, MU)
    same = crop_source(codes, 50, 100, filters, cfg.cond_hop, MU, heard=codes.copy())
    assert all(np.array_equal(a, b) for a, b in zip(clean, same, strict=True))
    heard = np.clip(codes + np.random.default_rng(0).integers(-3, 4, 200), 0, MU)
    predicted, last, target = crop_source(codes, 50, 100, filters, cfg.cond_hop, MU, heard=heard)
    assert not np.array_equal(predicted, clean[0])  # predicted from what was heard
    noisy_target = crop_source(heard, 50, 100, filters, cfg.cond_hop, MU)[2]
    assert not np.array_equal(target, noisy_target)  # ... but the target is the true sample's excitation
    p = mulaw.decode(predicted, MU)  # (to the prediction's own code)
    s = mulaw.decode(codes[50:150], MU)
    e = mulaw.decode(target, MU)
    unclipped = np.abs(e) < 0.99
    assert unclipped.mean() > 0.8 and np.abs(e - (s - p))[unclipped].mean() < 0.02


def test_the_crop_sampler_injects_noise_into_what_is_heard_only(tmp_path):
    from wavenet.data.dataset import IGNORE, CropSampler, Split

    rng = np.random.default_rng(0)
    codes = mulaw.encode(0.3 * np.sin(np.arange(4000) / 9.0), MU).astype(np.uint8)
    frames = source_frames(SOURCE_SHAPES["hop4"], 1, 4000).astype(np.float16)
    split = Split("train", codes, np.array([[0, 4000, 0]]), frames, np.array([[0, len(frames)]]))
    kwargs = dict(length=200, receptive_field=33, mu=MU, seed=0, hop=4, context=1, lpc_order=ORDER)
    clean = CropSampler(split, **kwargs).batch(3, 4)
    noisy = CropSampler(split, **kwargs, source_noise=2.0).batch(3, 4)
    assert torch.equal(clean.targets == IGNORE, noisy.targets == IGNORE) and torch.equal(clean.frames, noisy.frames)
    assert not torch.equal(clean.inputs, noisy.inputs) and not torch.equal(clean.source[0], noisy.source[0])
    assert (clean.inputs - noisy.inputs).abs().float().mean() < 3
    del rng


def test_the_periodic_source_is_a_sine_at_the_frames_f0_whose_phase_runs_on():
    hop, rate = 200, 16000
    f0 = np.full(40, 200.0)
    t = np.arange(40 * hop)
    sines = sine_source(f0, frame_cycles(f0, hop, rate), t, hop, rate, 3)
    for h in (1, 2, 3):  # a steady 200 Hz: sin(2π h 200 t / rate) at every sample, across every frame boundary
        assert np.abs(sines[:, h - 1] - np.sin(2 * np.pi * h * 200 * t / rate)).max() < 1e-5
    # F0 changing from frame to frame: no jump at a boundary (the phase runs on), each frame at its own pitch.
    f0 = np.array([100.0, 250.0, 0.0, 0.0, 180.0, 5000.0])
    sines = sine_source(f0, frame_cycles(f0, hop, rate), np.arange(6 * hop), hop, rate, 2)
    steps = np.abs(np.diff(sines[: 2 * hop, 0]))
    assert steps.max() < 2 * np.pi * 250 / rate * 1.01
    assert np.all(sines[2 * hop : 4 * hop] == 0)  # unvoiced: no source
    assert np.all(sines[5 * hop :, 1] == 0) and np.abs(sines[5 * hop :, 0]).max() > 0.5  # 10 kHz is past Nyquist
    crossings = np.sum(np.diff(sines[hop : 2 * hop, 0] >= 0))  # 250 Hz over 12.5 ms: about 6 crossings
    assert crossings in (6, 7)


def test_a_crop_a_whole_stream_and_a_growing_feed_read_the_same_sines():
    cfg = SOURCE_SHAPES["hop4-sines"]
    frames = source_frames(cfg, 11, 4000)
    whole = training_sines(cfg, frames, np.arange(4000))
    feed = FrameFeed(cfg.cond_channels)
    for start in range(0, len(frames), 37):  # frames arriving a few at a time
        feed.extend(frames[start : start + 37])
    grown = feed.sines(np.arange(4000), cfg)
    assert np.array_equal(grown.T, whole)  # bit for bit: the same sums in the same order
    from wavenet.data.dataset import CropSampler, Split

    codes = mulaw.encode(0.3 * np.sin(np.arange(4000) / 9.0), MU).astype(np.uint8)
    split = Split("train", codes, np.array([[0, 4000, 0]]), frames.astype(np.float16), np.array([[0, len(frames)]]))
    sampler = CropSampler(split, 200, 33, MU, 0, hop=4, context=1, lpc_order=ORDER, harmonics=3, sample_rate=16000)
    batch = sampler.batch(5, 3)
    assert batch.sines.shape == (3, 3, 200)
    expected = training_sines(cfg, split.utterance_frames(0), np.arange(4000))  # training reads the float16 frames
    for b in range(3):  # each crop's sines are the whole utterance's at its samples
        crop = batch.sines[b].numpy()
        assert any(np.array_equal(expected[:, s : s + 200], crop) for s in range(0, 4000 - 200 + 1, 4)), b


def test_a_model_with_a_periodic_source_warm_started_from_one_without_computes_the_same():
    from wavenet.training.trainer import warm_start

    cfg = SOURCE_SHAPES["hop4"]
    plain = random_model(dataclasses.replace(cfg, cond_channels=cfg.cond_channels))
    widened = random_model(dataclasses.replace(cfg, cond_channels=cfg.cond_channels + 1, source_harmonics=4), seed=1)
    with torch.no_grad():
        widened.sine_input.weight.zero_()  # as training starts it
    loaded, fresh = warm_start(widened, plain.state_dict(), {}, {})
    assert "sine_input.weight" in fresh and any(name.startswith("conditioner.convs.0.weight") for name in loaded)
    widened.conditioner.mean.copy_(torch.cat([plain.conditioner.mean, torch.zeros(1)]))
    widened.conditioner.std.copy_(torch.cat([plain.conditioner.std, torch.ones(1)]))
    frames = source_frames(cfg, 2, 400)
    with_f0 = np.concatenate([frames, np.full((len(frames), 1), 120.0, dtype=np.float32)], axis=1)
    codes = np.random.default_rng(0).integers(0, 256, (1, 400))
    assert torch.allclose(full_pass(plain, codes, [frames], torch.tensor([0])),
                          full_pass(widened, codes, [with_f0], torch.tensor([0])), atol=1e-5)  # fmt: skip


VOICED_MODEL = random_model(SOURCE_SHAPES["hop4-sines"])
VOICED_FRAMES = source_frames(VOICED_MODEL.config, 12, 300)


@functools.cache
def voiced_path(name: str, f0: str, temperature: float, scale: float = 1.0) -> np.ndarray:
    """Slot 1's codes with voiced_scale, beside a neighbour at its own temperature; f0: as given, all voiced, none."""
    frames = VOICED_FRAMES.copy()
    if f0 != "given":
        frames[:, -1] = np.abs(frames[:, -1]) + 100.0 if f0 == "voiced" else 0.0
    g = MAKERS[name][0](VOICED_MODEL, 2)
    g.reset(1, seed=5, temperature=temperature, frames=frames, voiced_scale=scale)
    g.reset(0, seed=6, frames=frames)
    return g.generate(100, active=2)[1]


@pytest.mark.parametrize("name", ["torch", "native", "native-rows", "native-1thread", "cuda-graph-eager"])
def test_voiced_frames_drawn_at_a_lower_temperature(name):
    """voiced_scale: where the frames' F0 is voiced, the sample is drawn at temperature × scale; elsewhere at
    the temperature. All voiced is the same as the lower temperature throughout; all unvoiced, as no scale;
    and every backend draws the reference's path."""
    assert np.array_equal(voiced_path(name, "voiced", 1.2, 0.5), voiced_path(name, "voiced", 0.6))
    assert np.array_equal(voiced_path(name, "unvoiced", 1.2, 0.5), voiced_path(name, "unvoiced", 1.2))
    mixed = voiced_path(name, "given", 1.2, 0.5)
    assert not np.array_equal(mixed, voiced_path(name, "given", 1.2))
    assert not np.array_equal(mixed, voiced_path(name, "given", 0.6))
    assert np.array_equal(mixed, voiced_path("naive", "given", 1.2, 0.5))


def test_a_voiced_scale_travels_with_its_stream_and_needs_f0():
    model = random_model(SOURCE_SHAPES["hop4-sines"])
    frames = source_frames(model.config, 13, 400)
    alone = MAKERS["native"][0](model, 1)
    alone.reset(0, seed=3, temperature=1.1, frames=frames, voiced_scale=0.4)
    expected = alone.generate(300)[0]
    g = MAKERS["native"][0](model, 3)
    g.reset(2, seed=3, temperature=1.1, frames=frames, voiced_scale=0.4)
    part = [g.generate(100)[2]]
    g.move(2, 1)
    saved = g.suspend(1)
    g.generate(50, active=1)
    g.resume(0, saved)
    part.append(g.generate(200, active=1)[0])
    assert np.array_equal(np.concatenate(part), expected)
    with pytest.raises(WavenetError, match="voiced_scale needs frames that say what is voiced"):
        MAKERS["torch"][0](random_model(SOURCE_SHAPES["hop4"]), 1).reset(
            0, frames=source_frames(SOURCE_SHAPES["hop4"], 1, 100), voiced_scale=0.5
        )


def test_a_recording_phase_follows_the_recordings_fundamental_where_f0_drifts():
    """Training's sines moved onto the recording: cos(2π phase) follows its fundamental, wherever it starts
    and however far the pitch tracker's F0 is off, which the phase integrated from F0 does not."""
    rate, hop, n = 16000, 200, 8000
    t = np.arange(n)
    true = np.cumsum(150.0 / rate * (1 + 0.02 * np.sin(t / 900))) + 0.37  # vibrato, an arbitrary start
    rng = np.random.default_rng(0)
    signal = 0.5 * np.cos(2 * np.pi * true) + 0.2 * np.cos(4 * np.pi * true + 1) + 0.05 * rng.standard_normal(n)
    f0 = np.full(n // hop, 148.0)  # the tracker is 2 Hz off
    phase, f = sample_phase(f0, frame_cycles(f0, hop, rate), t, hop, rate)
    moved = recording_phase(signal, phase, 400)

    def error(p: np.ndarray) -> float:  # cycles, the worst away from the ends
        return float(np.abs((p - true + 0.5) % 1 - 0.5)[500:-500].max())

    assert error(moved) < 0.01 and error(phase) > 0.3
    assert np.array_equal(f, np.full(n, 148.0))


def test_the_crop_sampler_reads_sines_at_the_recordings_phase_when_asked():
    from wavenet.data.dataset import CropSampler, Split

    hop, rate, n = 200, 16000, 16000
    true = np.arange(n) * 190.0 / rate + 0.2
    codes = mulaw.encode(0.6 * np.cos(2 * np.pi * true), MU).astype(np.uint8)
    frames = np.zeros((n // hop, 3), dtype=np.float16)
    frames[:, -1] = 185.0  # F0 a little off
    frames[40:45, -1] = 0.0  # and a few unvoiced frames
    split = Split("train", codes, np.array([[0, n, 0]]), frames, np.array([[0, len(frames)]]))
    kwargs = dict(length=2000, receptive_field=33, mu=MU, seed=0, hop=hop, context=1, harmonics=2, sample_rate=rate)
    plain = CropSampler(split, **kwargs).batch(1, 4)
    moved = CropSampler(split, **kwargs, sine_phase="recording").batch(1, 4)
    assert torch.equal(plain.inputs, moved.inputs) and torch.equal(plain.targets, moved.targets)
    for b in range(4):
        start = next(s for s in range(hop, n, hop) if np.array_equal(moved.inputs[b], codes[s - 1 : s - 1 + 2000]))
        voiced = (np.arange(start, start + 2000) // hop < 40) | (np.arange(start, start + 2000) // hop >= 45)
        assert np.all(moved.sines[b, :, ~voiced].numpy() == 0) and np.all(plain.sines[b, :, ~voiced].numpy() == 0)
        # the recording's phase where voiced: sin(2π true), which the phase integrated from 185 Hz is not
        expected = np.sin(2 * np.pi * true[start : start + 2000])[voiced]
        assert np.corrcoef(moved.sines[b, 0].numpy()[voiced], expected)[0, 1] > 0.99, b
        assert np.corrcoef(plain.sines[b, 0].numpy()[voiced], expected)[0, 1] < 0.9, b
    with pytest.raises(WavenetError, match="sine phase must be one of frames, recording"):
        CropSampler(split, **kwargs, sine_phase="pulses")


def test_a_piano_rolls_sources_are_its_sounding_keys_from_their_notes_starts():
    from wavenet.data.features import Note, piano_roll

    hop, rate = 200, 16000
    notes = [Note(69, 0.0, 0.5, 100), Note(81, 0.1, 0.3, 80), Note(81, 0.3, 0.6, 80), Note(108, 0.0, 1.0, 60)]
    roll = piano_roll(notes, 80, rate, hop)
    starts = key_starts(roll)
    a4, a5, c8 = 69 - 21, 81 - 21, 108 - 21
    assert (starts[:40, a4] == 0).all() and (starts[40:, a4] == -1).all()  # sounds 0.5 s from frame 0
    assert starts[8, a5] == 8 and starts[23, a5] == 8 and starts[24, a5] == 24  # struck again at 0.3 s
    assert (starts[:, c8] == 0).all()  # sounds throughout
    assert (starts[48:, a5] == -1).all() and (starts[:8, a5] == -1).all()
    assert key_starts(roll[:30]).tolist() == starts[:30].tolist()  # a row depends on the rows before it only
    sines = key_source(starts, np.arange(hop * 80), hop, rate, 3)
    alone = np.arange(50 * hop, 80 * hop)  # only C8 (4,186 Hz) sounds: its second harmonic is past Nyquist
    c8_hz = 440 * 2 ** ((108 - 69) / 12)
    assert np.abs(sines[alone, 0] - np.sin(2 * np.pi * c8_hz * alone / rate)).max() < 1e-4
    assert np.all(sines[alone, 1:] == 0)
    t = np.arange(24 * hop, 30 * hop)  # A4 from frame 0, A5 again from frame 24, C8
    expected = (np.sin(2 * np.pi * 440 * t / rate) + np.sin(2 * np.pi * 880 * (t - 24 * hop) / rate)
                + np.sin(2 * np.pi * c8_hz * t / rate))  # fmt: skip
    assert np.abs(sines[t, 0] - expected).max() < 1e-4
    assert (
        np.abs(
            sines[t, 1] - np.sin(2 * np.pi * 880 * t / rate) - np.sin(2 * np.pi * 1760 * (t - 24 * hop) / rate)
        ).max()
        < 1e-4
    )


def test_a_crop_a_whole_roll_and_a_growing_feed_read_the_same_key_sines():
    cfg = SOURCE_SHAPES["hop4-keys"]
    frames = source_frames(cfg, 11, 4000)
    whole = training_sines(cfg, frames, np.arange(4000))
    assert np.abs(whole).max() > 0.5
    feed = FrameFeed(cfg.cond_channels)
    for start in range(0, len(frames), 37):
        feed.extend(frames[start : start + 37])
        got = feed.sines(np.arange(min(4000, (start + 37) * 4)), cfg)  # each time, what the frames so far allow
        assert np.array_equal(got.T, whole[:, : got.shape[0]])
    from wavenet.data.dataset import CropSampler, Split

    codes = mulaw.encode(0.3 * np.sin(np.arange(4000) / 9.0), MU).astype(np.uint8)
    split = Split("train", codes, np.array([[0, 4000, 0]]), frames.astype(np.float16), np.array([[0, len(frames)]]))
    sampler = CropSampler(split, 200, 33, MU, 0, hop=4, context=1, harmonics=3, sample_rate=16000, source_keys=True)
    batch = sampler.batch(5, 3)
    for b in range(3):
        crop = batch.sines[b].numpy()
        assert any(np.array_equal(whole[:, s : s + 200], crop) for s in range(0, 4000 - 200 + 1, 4)), b
    with pytest.raises(WavenetError, match="no recording phase"):
        CropSampler(split, 200, 33, MU, 0, hop=4, harmonics=3, source_keys=True, sine_phase="recording")


def test_sines_at_keys_need_a_piano_roll_and_no_voicing():
    with pytest.raises(WavenetError, match="model.source_keys: .* need source_harmonics > 0"):
        dataclasses.replace(SOURCE_SHAPES["hop4-keys"], source_harmonics=0)
    with pytest.raises(WavenetError, match="model.source_keys"):
        dataclasses.replace(SOURCE_SHAPES["hop4-keys"], cond_channels=100)
    model = random_model(SOURCE_SHAPES["hop4-keys"])
    assert not model.config.f0_channel and SOURCE_SHAPES["hop4-sines"].f0_channel
    g = MAKERS["torch"][0](model, 1)
    with pytest.raises(WavenetError, match="voiced_scale needs frames that say what is voiced"):
        g.reset(0, frames=source_frames(model.config, 0, 100), voiced_scale=0.5)
