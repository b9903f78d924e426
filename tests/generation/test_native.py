"""The native CPU backend beyond the shared exactness tests: every batch size and tile, the
portable kernels, half-float weights on a trained model, stability over 10 seconds of audio, and
its errors."""

from pathlib import Path

import numpy as np
import pytest
import torch

from tests.conftest import SHAPES, frames_of, random_model
from wavenet import mulaw
from wavenet.errors import WavenetError
from wavenet.generation.backends import _native, native
from wavenet.generation.backends.cached import CachedGenerator
from wavenet.model_config import WaveNetConfig
from wavenet.release import load_release

CHECKPOINTS = Path(__file__).resolve().parents[2] / "checkpoints"
BUNDLED = CHECKPOINTS / "speech-small"


@pytest.fixture(scope="module")
def trained():
    return load_release(BUNDLED)


@pytest.mark.parametrize("name", ["speech-small", "piano-small"])
def test_half_weights_on_the_bundled_models_stay_within_tolerance(name):
    """Teacher-forced on the model's own audio, half-float logits stay close to float32 ones."""
    model = load_release(CHECKPOINTS / name).model
    exact = native.NativeGenerator(model, 2)
    half = native.NativeHalfGenerator(model, 2)
    for g in (exact, half):
        g.reset(0, seed=1)
        g.reset(1, seed=2, speaker=model.config.n_speakers - 1)
    codes = torch.from_numpy(exact.generate(4000))  # realistic inputs: what the model generates
    for g in (exact, half):
        g.reset(0, seed=1)
        g.reset(1, seed=2, speaker=model.config.n_speakers - 1)
    relative, kl = [], []
    for t in range(codes.shape[1]):
        a, b = exact.step(codes[:, t]), half.step(codes[:, t])
        span = a.max(-1).values - a.min(-1).values
        relative.append(((a - b).abs().max(-1).values / span).max().item())
        pa, pb = torch.log_softmax(a, -1), torch.log_softmax(b, -1)
        kl.append((pa.exp() * (pa - pb)).sum(-1).max().item())
    # The stated tolerance of native-f16 on trained models. Half-float weights round to 11 bits,
    # so the logits' error grows with their size: measured up to 0.15 on logits that span 312
    # (0.11% of the span) after the models trained longer, with a KL divergence below 2e-5:
    # the sampling distributions hardly differ.
    assert max(relative) < 2e-3
    assert max(kl) < 1e-4


def level_stats(codes: np.ndarray) -> dict[str, float]:
    audio = mulaw.decode(codes)
    frames = audio[: len(audio) // 320 * 320].reshape(-1, 320)
    rms = np.sqrt((frames**2).mean(axis=1)) + 1e-9
    spectrum = np.abs(np.fft.rfft(frames * np.hanning(320), axis=1)) ** 2
    freqs = np.fft.rfftfreq(320, 1 / 16000)
    loud = rms > 10 ** (-50 / 20)
    centroid = (spectrum[loud] * freqs).sum(axis=1) / spectrum[loud].sum(axis=1)
    return {
        "rms_db": 20 * np.log10(np.sqrt((audio**2).mean()) + 1e-9),
        "silent": float((~loud).mean()),
        "centroid": float(np.median(centroid)) if loud.any() else 0.0,
    }


def test_half_weights_generate_stably_for_ten_seconds(trained):
    """10 s of audio per stream: half-float weights neither drift nor blow up, and their audio
    has the float32 audio's statistics (pooled over streams: single streams are random draws)."""
    pooled = {}
    for cls in (native.NativeGenerator, native.NativeHalfGenerator):
        g = cls(trained.model, 6)
        for slot, speaker in enumerate((0, 3, 12, 20, 30, 40)):
            g.reset(slot, speaker=speaker, seed=100 + slot)
        codes = np.concatenate([g.generate(16000) for _ in range(10)], axis=1)  # (6, 160000)
        assert codes.min() >= 0 and codes.max() < 256
        for row in codes:  # no drift into silence, noise or clipping over the ten seconds
            first, second = level_stats(row[:80000]), level_stats(row[80000:])
            assert abs(first["rms_db"] - second["rms_db"]) < 12
            assert np.abs(mulaw.decode(row)).max() < 1.0 or (row == 255).mean() < 0.01
        pooled[cls.name] = level_stats(codes.reshape(-1))
    exact, half = pooled["native"], pooled["native-f16"]
    assert abs(exact["rms_db"] - half["rms_db"]) < 3
    assert abs(exact["silent"] - half["silent"]) < 0.15
    assert abs(exact["centroid"] - half["centroid"]) < 0.3 * exact["centroid"]


def test_refuses_what_it_cannot_run():
    model = random_model(SHAPES["debug"]).double()
    with pytest.raises(WavenetError, match="float32 models on the CPU"):
        native.NativeGenerator(model, 1)


def test_thread_count_from_the_environment(monkeypatch):
    monkeypatch.setenv("WAVENET_NATIVE_THREADS", "3")
    assert native.default_threads() == 3
    monkeypatch.setenv("WAVENET_NATIVE_THREADS", "many")
    with pytest.raises(WavenetError, match="WAVENET_NATIVE_THREADS"):
        native.default_threads()
    monkeypatch.delenv("WAVENET_NATIVE_THREADS")
    assert 1 <= native.default_threads() <= native.MAX_DEFAULT_THREADS


@pytest.mark.parametrize("threads", [1, 2, 3, 5])
def test_any_thread_count_gives_the_same_samples(threads):
    model = random_model(SHAPES["k3-2stacks"])
    reference = native.NativeGenerator(model, 3, threads=1)
    other = native.NativeGenerator(model, 3, threads=threads)
    for g in (reference, other):
        for slot in range(3):
            g.reset(slot, speaker=slot, seed=slot)
    assert np.array_equal(reference.generate(300), other.generate(300))


# Widths that reach every kernel: 32- and 16-column tiles with 8-column leftovers (skip 40), and
# channel counts that are not multiples of 8 (padded).
TILED = WaveNetConfig(layers_per_stack=3, stacks=1, kernel_size=2, input_kernel_size=2, residual_channels=32,
                      gate_channels=64, skip_channels=40, n_speakers=4)  # fmt: skip


def teacher_forced(generator, batch: int, codes: torch.Tensor) -> torch.Tensor:
    for slot in range(batch):
        generator.reset(slot, speaker=slot % generator.config.n_speakers, seed=slot)
    return torch.stack([generator.step(codes[:, t]) for t in range(codes.shape[1])], dim=1)


@pytest.mark.parametrize("config", [TILED, SHAPES["k3-2stacks"]], ids=["tiled", "k3-2stacks"])
@pytest.mark.parametrize("threads", [1, 2])
def test_every_batch_size_and_tile_matches_torch(config, threads):
    """Streams per thread from 1 to 9 reach the 6-, 4-, 3-, 2- and 1-row tiles and their mixes."""
    model = random_model(config, seed=3)
    for batch in [*range(1, 14), 16, 17]:
        codes = torch.randint(0, 256, (batch, 12), generator=torch.Generator().manual_seed(batch))
        reference = teacher_forced(CachedGenerator(model, batch), batch, codes)
        for rows in (False, True):
            generator = native.NativeGenerator(model, batch, threads=threads)
            generator.rows_from, generator.layout = (1 if rows else 1 << 30), None
            logits = teacher_forced(generator, batch, codes)
            assert (logits - reference).abs().max().item() < 1e-4, (batch, rows)


def test_portable_kernels_match_the_avx2_ones():
    """The scalar path that CPUs without AVX2 run gives the same logits and samples."""
    if not _native.features()["avx2"]:
        pytest.skip("this CPU has no AVX2: the scalar path is the one every other test runs")
    model = random_model(TILED, seed=4)
    codes = torch.randint(0, 256, (7, 20), generator=torch.Generator().manual_seed(0))
    results = []
    for simd in (True, False):
        assert _native.set_simd(simd) == simd
        try:
            generator = native.NativeGenerator(model, 7)
            logits = teacher_forced(generator, 7, codes)
            for slot in range(7):
                generator.reset(slot, speaker=slot % 4, seed=slot)
            results.append((logits, generator.generate(200)))
        finally:
            _native.set_simd(True)
    assert (results[0][0] - results[1][0]).abs().max().item() < 1e-4
    assert np.array_equal(results[0][1], results[1][1])


def test_the_layout_follows_the_faster_way():
    layout = native.Layout()
    p = layout.PROBE_STEPS
    assert list(layout.parts(1, 1600)) == [(False, p), (True, p), (False, 1600 - 2 * p)]  # nothing measured
    layout.record(1, False, p, 0.01)
    layout.record(1, True, p, 0.1)  # columns ten times as fast: the cores are the threads' own
    layout.record(1, True, p // 2, 1e-9)  # too short a part to tell anything
    calls = [list(layout.parts(1, 1600)) for _ in range(layout.PROBE_EVERY)]
    assert calls[:-2] == [[(False, 1600)]] * (layout.PROBE_EVERY - 2)
    assert calls[-2] == [(True, p), (False, 1600 - p)]  # now and then a short try of the other way
    assert list(layout.parts(1, p)) == [(False, p)]  # a call too short to try anything on
    for _ in range(5):
        layout.record(1, False, 1600, 16.0)  # columns collapsed: another process holds a core
    assert layout.best(1) and not layout.best(2)  # per number of streams
    for _ in range(8):
        layout.record(1, False, 1600, 0.05)  # the neighbour left
    assert not layout.best(1)


@pytest.mark.parametrize("shape", ["k3-2stacks", "cond-hop7"])
def test_the_layout_changes_no_sample(shape):
    """Calls cut into parts run different ways give the samples of whole calls run one way."""
    model = random_model(SHAPES[shape], seed=5)
    made = []
    for plan in ("columns", "rows", "probing"):
        generator = native.NativeGenerator(model, 2, threads=2)
        if plan == "probing":
            generator.layout.PROBE_STEPS, generator.layout.PROBE_EVERY = 37, 2
        else:
            generator.layout, generator.rows_from = None, (1 << 30 if plan == "columns" else 1)
        for slot in range(2):
            generator.reset(slot, speaker=slot, seed=slot, frames=frames_of(model, slot, 2000))
        made.append(np.concatenate([generator.generate(n) for n in (300, 100, 37, 300, 200, 1, 500)], axis=1))
    assert np.array_equal(made[0], made[1]) and np.array_equal(made[0], made[2])
