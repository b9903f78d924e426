"""The model's configuration: every size of a WaveNet, its receptive field, and named presets."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from wavenet.errors import WavenetError

# Sane bounds on every size, checked before anything is allocated: a config file that declares
# absurd sizes (by mistake or on purpose) is refused with a message, not built. Far above any
# model in this project; a dilated convolution needs two taps or more (kernel 1 has no past).
LIMITS: dict[str, tuple[int, int]] = {
    "layers_per_stack": (1, 24),
    "stacks": (1, 256),
    "kernel_size": (2, 16),
    "input_kernel_size": (1, 16),
    "residual_channels": (1, 4096),
    "gate_channels": (2, 8192),
    "skip_channels": (1, 8192),
    "n_speakers": (1, 65536),
    "speaker_channels": (1, 4096),
    "sample_rate": (1000, 384000),
    "mu": (1, 65535),
    "cond_channels": (0, 1024),
    "cond_hop": (0, 4096),
    "cond_layers": (0, 8),
    "cond_hidden": (0, 1024),
    "lpc_order": (0, 32),
    "source_harmonics": (0, 16),
    "source_keys": (0, 1),
}
CONDITIONING = (
    "cond_channels",
    "cond_hop",
    "cond_layers",
    "cond_hidden",
    "lpc_order",
    "source_harmonics",
    "source_keys",
)  # 0 where there is none
LOWEST_KEY, KEYS = 21, 88  # a piano roll's keys: MIDI notes 21 (A0) to 108 (C8)
ROLL_CHANNELS = 3 * KEYS  # a piano roll's frames: onset, sustain and velocity of each key
MAX_LAYERS = 256  # the native backend's tables (_native.c) hold 256 layers
MAX_STREAM_STATE_BYTES = 256 * 2**20  # ring buffers of one generated stream


@dataclass(frozen=True)
class WaveNetConfig:
    """Sizes of a WaveNet (van den Oord et al. 2016), owned by :class:`wavenet.model.WaveNet`.

    ``gate_channels`` is the width of each dilated convolution's output, which the gated
    activation splits into a tanh half and a sigmoid half (so the gated output has
    ``gate_channels // 2`` channels), as in most public WaveNets.

    Local conditioning (``cond_channels`` > 0): the model also reads a sequence of feature
    frames, one every ``cond_hop`` samples (a mel spectrogram, a piano roll). ``cond_layers``
    convolutions over frames (kernel 3, ``cond_hidden`` channels) mix each frame with its
    neighbours; each block projects the result (the paper's V_f,k ∗ y and V_g,k ∗ y) at frame
    rate, and sample t reads the projections of frames t // hop and t // hop + 1, interpolated
    linearly: a nearest-neighbour stretch followed by a fixed triangular convolution. Generating
    sample t thus needs frames up to t // hop + 1 + cond_layers (:attr:`lookahead_frames`).
    """

    layers_per_stack: int = 10  # dilations 1, 2, ..., 2**(layers_per_stack - 1)
    stacks: int = 2  # how many times the dilation cycle repeats
    kernel_size: int = 2  # taps of each dilated causal convolution
    input_kernel_size: int = 2  # taps of the causal input layer over the μ-law codes
    residual_channels: int = 64
    gate_channels: int = 128
    skip_channels: int = 256
    n_speakers: int = 1  # global conditioning: speaker ids are 0 .. n_speakers - 1
    speaker_channels: int = 16  # size of the learned speaker embedding
    sample_rate: int = 16000
    mu: int = 255  # μ-law parameter; the model predicts mu + 1 classes
    cond_channels: int = 0  # feature channels per frame; 0: no local conditioning
    cond_hop: int = 0  # samples per frame
    cond_layers: int = 0  # convolutions over frames (kernel 3) before the blocks' projections
    cond_hidden: int = 0  # their width
    # Source-filter (LPCNet's idea; 0: off): the last lpc_order channels of each frame are the
    # reflection coefficients of its spectral envelope; each sample is predicted from the ones
    # before it by that filter, and the network predicts the excitation (what the prediction
    # misses), reading the prediction and the last excitation besides the last sample.
    lpc_order: int = 0
    # A periodic source (NSF's sine source; 0: off): the last channel of each frame is F0 in Hz
    # (0 where unvoiced; the reflection coefficients come before it), and the network also reads,
    # at every sample, sines at the first source_harmonics multiples of it (wavenet/excitation.py).
    source_harmonics: int = 0
    # 1: the frames are a piano roll (wavenet.data.features.piano_roll), and the periodic source sums,
    # for every key that sounds, sines at its fundamental's first source_harmonics multiples, each
    # from the start of its note: the pitches are given, not found (no F0 channel then).
    source_keys: int = 0

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            least = 0 if f.name in CONDITIONING else 1
            if not isinstance(value, int) or isinstance(value, bool) or value < least:
                kind = "a non-negative" if least == 0 else "a positive"
                raise WavenetError(f"model.{f.name}: must be {kind} integer, got {value!r}")
            low, high = LIMITS[f.name]
            if not low <= value <= high:
                raise WavenetError(f"model.{f.name}: must be in [{low}, {high}], got {value}")
        if self.cond_channels and not self.cond_hop:
            raise WavenetError("model.cond_hop: conditioned models (cond_channels > 0) need a hop of 1 sample or more")
        if self.cond_layers and not self.cond_hidden:
            raise WavenetError("model.cond_hidden: cond_layers > 0 needs cond_hidden > 0")
        if not self.cond_channels and (self.cond_hop or self.cond_layers or self.cond_hidden):
            raise WavenetError("model.cond_channels: cond_hop, cond_layers and cond_hidden need cond_channels > 0")
        if self.lpc_order >= max(self.cond_channels, 1):
            raise WavenetError(
                f"model.lpc_order: the frames carry the filter's {self.lpc_order} reflection coefficients after "
                f"their features: it needs cond_channels > lpc_order, got {self.cond_channels}"
            )
        if self.source_keys and (not self.source_harmonics or self.lpc_order or self.cond_channels != ROLL_CHANNELS):
            raise WavenetError(
                f"model.source_keys: sines at a piano roll's keys need source_harmonics > 0, no lpc_order and the "
                f"roll's {ROLL_CHANNELS} channels, got {self.source_harmonics}, {self.lpc_order} and {self.cond_channels}"
            )
        if self.f0_channel and self.cond_channels <= self.lpc_order + 1:
            raise WavenetError(
                f"model.source_harmonics: the frames carry F0 in their last channel, after their features and "
                f"{self.lpc_order} reflection coefficients: it needs cond_channels > {self.lpc_order + 1}, "
                f"got {self.cond_channels}"
            )
        if self.gate_channels % 2:
            raise WavenetError(f"model.gate_channels: must be even (tanh and sigmoid halves), got {self.gate_channels}")
        if self.layers > MAX_LAYERS:
            raise WavenetError(
                f"model.stacks: {self.stacks} stacks of {self.layers_per_stack} layers make {self.layers}, "
                f"more than the {MAX_LAYERS} generation supports"
            )
        if self.stream_state_bytes > MAX_STREAM_STATE_BYTES:
            raise WavenetError(
                f"model.layers_per_stack: a receptive field of {self.receptive_field} samples at "
                f"{self.residual_channels} residual channels needs {self.stream_state_bytes / 2**20:.0f} MiB "
                f"per generated stream, more than the limit of {MAX_STREAM_STATE_BYTES // 2**20} MiB"
            )

    @property
    def conditioned(self) -> bool:
        return self.cond_channels > 0

    @property
    def f0_channel(self) -> bool:
        """Whether the frames' last channel is F0: a periodic source at a pitch tracker's F0 (not a roll's keys)."""
        return bool(self.source_harmonics) and not self.source_keys

    @property
    def cond_width(self) -> int:
        """Channels of the frames that the blocks project: the convolutions' width, or the features'."""
        return self.cond_hidden if self.cond_layers else self.cond_channels

    @property
    def lookahead_frames(self) -> int:
        """Frames past sample t's own (t // hop) that generating it reads: interpolation and convolutions."""
        return 1 + self.cond_layers if self.conditioned else 0

    @property
    def classes(self) -> int:
        return self.mu + 1

    @property
    def layers(self) -> int:
        return self.layers_per_stack * self.stacks

    @property
    def dilations(self) -> list[int]:
        return [2**i for i in range(self.layers_per_stack)] * self.stacks

    @property
    def receptive_field(self) -> int:
        """How many input samples (the current one included) each output depends on."""
        return (self.input_kernel_size - 1) + sum((self.kernel_size - 1) * d for d in self.dilations) + 1

    @property
    def stream_state_bytes(self) -> int:
        """Memory one generated stream holds in float32: every layer's ring buffer of past inputs."""
        return 4 * self.residual_channels * sum((self.kernel_size - 1) * d for d in self.dilations)

    @property
    def receptive_field_ms(self) -> float:
        return 1000.0 * self.receptive_field / self.sample_rate

    def to_dict(self) -> dict[str, int]:
        """Every size; the conditioning ones only when set, so unconditioned configs read as before."""
        return {k: v for k, v in dataclasses.asdict(self).items() if k not in CONDITIONING or v}

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str | None = None) -> WaveNetConfig:
        """Build a config, rejecting unknown keys so a typo never silently falls back to a default.

        Errors name the field (``model.stacks: ...``), after ``source`` (the file) when given.
        """
        where = f"{source}: " if source else ""
        if not isinstance(data, dict):
            raise WavenetError(f"{where}model: expected an object of model sizes, got {type(data).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise WavenetError(
                f"{where}model: unknown key(s) {', '.join(unknown)}; known keys: {', '.join(sorted(known))}"
            )
        try:
            return cls(**data)
        except WavenetError as err:
            raise WavenetError(f"{where}{err}") from None


PRESETS: dict[str, WaveNetConfig] = {
    # Tiny and fast, for tests and smoke runs: receptive field 32 samples.
    "debug": WaveNetConfig(
        layers_per_stack=4,
        stacks=2,
        residual_channels=8,
        gate_channels=16,
        skip_channels=16,
        n_speakers=4,
        speaker_channels=4,
    ),
    # The reference model of every speed figure: 20 layers, receptive field 2048 samples (128 ms).
    "ref20": WaveNetConfig(
        layers_per_stack=10,
        stacks=2,
        kernel_size=2,
        residual_channels=64,
        gate_channels=128,
        skip_channels=256,
        n_speakers=8,
    ),
    # ref20 conditioned on 80-channel frames every 200 samples (a mel spectrogram at 16 kHz), through
    # two convolutions over frames: what conditioning costs, beside ref20.
    "ref20-mel": WaveNetConfig(
        layers_per_stack=10,
        stacks=2,
        kernel_size=2,
        residual_channels=64,
        gate_channels=128,
        skip_channels=256,
        n_speakers=8,
        cond_channels=80,
        cond_hop=200,
        cond_layers=2,
        cond_hidden=80,
    ),
}


def preset(name: str) -> WaveNetConfig:
    try:
        return PRESETS[name]
    except KeyError:
        raise WavenetError(f"unknown preset {name!r}; presets: {', '.join(PRESETS)}") from None
