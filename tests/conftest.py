import copy
import os

import pytest
import torch

from wavenet.generation.backends import native
from wavenet.generation.backends.cached import CachedGenerator
from wavenet.generation.backends.cuda_graph import GraphGenerator
from wavenet.model import WaveNet
from wavenet.model_config import PRESETS, WaveNetConfig

# Without a GPU, the fused backend's Triton kernel runs in Triton's interpreter (tests/generation/test_fused.py).
# Triton reads this when the kernel's module is first imported, which no test does before this runs.
if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

# Shapes the exactness and causality tests run on: kernel 2 and 3, one and several stacks,
# input kernels 1 to 3, one and several speakers.
SHAPES = {
    "k2-1stack": WaveNetConfig(
        layers_per_stack=4,
        stacks=1,
        kernel_size=2,
        input_kernel_size=2,
        residual_channels=8,
        gate_channels=12,
        skip_channels=10,
        n_speakers=1,
    ),
    "k3-2stacks": WaveNetConfig(
        layers_per_stack=3,
        stacks=2,
        kernel_size=3,
        input_kernel_size=3,
        residual_channels=6,
        gate_channels=10,
        skip_channels=12,
        n_speakers=3,
    ),
    "k2-3stacks-in1": WaveNetConfig(
        layers_per_stack=3,
        stacks=3,
        kernel_size=2,
        input_kernel_size=1,
        residual_channels=8,
        gate_channels=16,
        skip_channels=8,
        n_speakers=5,
    ),
    "debug": PRESETS["debug"],
    # Local conditioning: frames every 4 samples through one convolution over frames, and every
    # 7 samples read directly; both interpolated between frames.
    "cond-hop4": WaveNetConfig(
        layers_per_stack=3,
        stacks=2,
        kernel_size=2,
        input_kernel_size=2,
        residual_channels=8,
        gate_channels=12,
        skip_channels=10,
        n_speakers=2,
        cond_channels=5,
        cond_hop=4,
        cond_layers=1,
        cond_hidden=6,
    ),
    "cond-hop7": WaveNetConfig(
        layers_per_stack=3,
        stacks=1,
        kernel_size=3,
        input_kernel_size=1,
        residual_channels=6,
        gate_channels=10,
        skip_channels=8,
        n_speakers=3,
        cond_channels=3,
        cond_hop=7,
    ),
}


def random_model(config: WaveNetConfig, seed: int = 0) -> WaveNet:
    torch.manual_seed(seed)
    model = WaveNet(config).eval()
    if model.conditioner is not None:  # feature statistics as training would set them, not 0 and 1
        with torch.no_grad():
            model.conditioner.mean.uniform_(-0.5, 0.5)
            model.conditioner.std.uniform_(0.5, 2.0)
    if model.config.source_harmonics:  # the periodic source's projection starts at zero in training
        with torch.no_grad():
            model.sine_input.weight.normal_(0.0, 0.5)
    return model


def frames_of(model: WaveNet, key: int, samples: int = 1024):
    """Random feature frames (frames, channels) of stream ``key`` for ``samples`` samples; None for a model without."""
    cfg = model.config
    if not cfg.conditioned:
        return None
    generator = torch.Generator().manual_seed(10_000 + key)
    return torch.randn(-(-samples // cfg.cond_hop), cfg.cond_channels, generator=generator).numpy()


def full_forward(
    model: WaveNet, codes: torch.Tensor, speakers: torch.Tensor, keys: list[int], samples: int = 1024
) -> torch.Tensor:
    """The full forward pass over codes (B, T), row b reading the frames of stream ``keys[b]`` (for ``samples``)."""
    if not model.config.conditioned:
        return model(codes, speakers)
    from wavenet.model import frame_window

    frames = torch.stack([torch.from_numpy(frames_of(model, key, samples)).t() for key in keys])  # (B, C, N)
    window = frame_window(frames.shape[-1], 0, frames.shape[-1] + 1, model.config.cond_layers)  # the whole stream
    return model(codes, speakers, frames[:, :, window], 0)


@pytest.fixture(params=list(SHAPES), ids=list(SHAPES))
def model(request) -> WaveNet:
    return random_model(SHAPES[request.param])


def _native(cls, threads: int, rows: bool):
    def make(model, batch):
        if not native.available():
            pytest.fail("the native extension is not built")
        generator = cls(model, batch, threads=threads)
        # Force one way of sharing the work, whatever the batch: whole streams per thread, or
        # a slice of every layer's columns per thread.
        generator.rows_from = 1 if rows else 1 << 30
        generator.layout = None  # not chosen by speed
        return generator

    return make


class OnCuda:
    """A generator on the GPU seen from the host: steps take and return CPU tensors, as the tests'."""

    def __init__(self, generator) -> None:
        self.generator = generator

    def step(self, codes: torch.Tensor) -> torch.Tensor:
        return self.generator.step(codes.to(self.generator.device)).cpu()

    def __getattr__(self, name):
        return getattr(self.generator, name)


def _cuda_graph(model, batch):
    """The CUDA-graph backend on a GPU, with short graphs so that chunks mix replays and single steps."""
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    return OnCuda(GraphGenerator(copy.deepcopy(model).cuda(), batch, steps_per_graph=8))


# Every way slots can be computed, with the largest logit difference from the full forward pass
# each must keep (float32 rounding, or the rounding of half-float weights).
BACKENDS = {
    "torch": (CachedGenerator, 1e-4),
    "native": (_native(native.NativeGenerator, threads=2, rows=False), 1e-4),  # threads split columns
    "native-rows": (_native(native.NativeGenerator, threads=2, rows=True), 1e-4),  # threads split streams
    "native-1thread": (_native(native.NativeGenerator, threads=1, rows=False), 1e-4),
    "native-f16": (_native(native.NativeHalfGenerator, threads=2, rows=False), 2e-3),
    # The CUDA-graph backend's device-indexed steps, run eagerly on the CPU (no GPU in the tests).
    "cuda-graph-eager": (GraphGenerator, 1e-4),
    # On a GPU (skipped elsewhere): captured graphs; GPU kernels round float32 sums in another order.
    "cuda-graph": (_cuda_graph, 2e-3),
}


@pytest.fixture(params=list(BACKENDS), ids=list(BACKENDS))
def backend(request):
    """(factory(model, batch) -> generator, tolerance)"""
    return BACKENDS[request.param]


def write_tone(path, seconds: float = 0.5, rate: int = 16000, f0: float = 220.0, channels: int = 1, level: float = 0.3):
    """A sine tone file, for tests that need real audio files."""
    import numpy as np
    import soundfile as sf

    t = np.arange(int(seconds * rate)) / rate
    audio = (level * np.sin(2 * np.pi * f0 * t)).astype("float32")
    if channels > 1:
        audio = np.stack([audio] * channels, axis=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, audio, rate, subtype="PCM_16")
    return path


def conditioned_release(path, kind: str):
    """A tiny conditioned model (random weights) whose frames are log-mel or a piano roll, hop 40."""
    from wavenet.data.features import FeatureOptions
    from wavenet.release import save_release

    features = FeatureOptions(kind, hop=40, n_mels=6, n_fft=256, win=200)
    config = WaveNetConfig(
        layers_per_stack=3, stacks=1, residual_channels=4, gate_channels=8, skip_channels=4, n_speakers=2,
        cond_channels=features.channels, cond_hop=40, cond_layers=1, cond_hidden=4,
    )  # fmt: skip
    save_release(random_model(config), path, speakers={"ann": 0, "any": 1}, features=features)
    return path


def write_midi(path, notes):
    import mido

    """A one-track MIDI file of (key, start s, end s, velocity) at 120 bpm (480 ticks a beat: 960 a second)."""
    events = sorted([(s, "note_on", k, v) for k, s, _, v in notes] + [(e, "note_off", k, 0) for k, _, e, _ in notes])
    track, now = mido.MidiTrack(), 0
    for time, kind, key, velocity in events:
        ticks = round(time * 960)
        track.append(mido.Message(kind, note=key, velocity=velocity, time=ticks - now))
        now = ticks
    midi = mido.MidiFile(ticks_per_beat=480)
    midi.tracks.append(track)
    midi.save(str(path))


def textbook_forward(model: WaveNet, codes: torch.Tensor, speakers: torch.Tensor, frames=None, start: int = 0):
    """The model's logits (B, classes, T) computed the plain way, layer by layer, as the paper draws it.

    Every block over every position, its skip convolution of its own, the conditioning upsampled
    by gathering each sample's two frames: what :class:`wavenet.model.WaveNet` computed before its
    training speed-ups (trimming to the counted positions, one product for all skips, the
    broadcast interpolation). Tests hold the model to it.
    """
    import torch.nn.functional as F

    cfg = model.config
    length = codes.shape[-1]
    h = model.speaker_embedding(speakers)
    hidden = model.conditioner(frames) if model.conditioner is not None else None
    x = model.input(codes)
    skips = 0
    for block in model.blocks:
        out = block.conv(F.pad(x, (block.padding, 0))) + block.speaker(h)[:, :, None]
        if hidden is not None:
            projected = block.cond(hidden)  # (B, G, F)
            t = torch.arange(start, start + length)
            i0 = (t // cfg.cond_hop).clamp(max=projected.shape[-1] - 1)
            i1 = (t // cfg.cond_hop + 1).clamp(max=projected.shape[-1] - 1)
            a = ((t % cfg.cond_hop).to(projected.dtype) / cfg.cond_hop)[None, None, :]
            out = out + projected[..., i0] * (1 - a) + projected[..., i1] * a
        filt, gate = out.chunk(2, dim=1)
        z = torch.tanh(filt) * torch.sigmoid(gate)
        skips = skips + block.skip(z)
        if block.residual is not None:
            x = x + block.residual(z)
    return model.head(skips)
