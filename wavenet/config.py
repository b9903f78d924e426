"""The model's configuration: every size of a WaveNet, its receptive field, and named presets."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from wavenet.errors import WavenetError


@dataclass(frozen=True)
class WaveNetConfig:
    """Sizes of a WaveNet (van den Oord et al. 2016), owned by :class:`wavenet.model.WaveNet`.

    ``gate_channels`` is the width of each dilated convolution's output, which the gated
    activation splits into a tanh half and a sigmoid half (so the gated output has
    ``gate_channels // 2`` channels), as in most public WaveNets.
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

    def __post_init__(self) -> None:
        positive = [f.name for f in dataclasses.fields(self)]
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise WavenetError(f"model config: {name} must be a positive integer, got {value!r}")
        if self.gate_channels % 2:
            raise WavenetError(
                f"model config: gate_channels must be even (tanh and sigmoid halves), got {self.gate_channels}"
            )

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
    def receptive_field_ms(self) -> float:
        return 1000.0 * self.receptive_field / self.sample_rate

    def to_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "model config") -> WaveNetConfig:
        """Build a config, rejecting unknown keys so a typo never silently falls back to a default."""
        if not isinstance(data, dict):
            raise WavenetError(f"{source}: expected an object of model sizes, got {type(data).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise WavenetError(f"{source}: unknown key(s) {', '.join(unknown)}; known keys: {', '.join(sorted(known))}")
        try:
            return cls(**data)
        except WavenetError as err:
            raise WavenetError(f"{source}: {err}") from None


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
}


def preset(name: str) -> WaveNetConfig:
    try:
        return PRESETS[name]
    except KeyError:
        raise WavenetError(f"unknown preset {name!r}; presets: {', '.join(PRESETS)}") from None
