"""The acoustic model: text to speech's first stage, from linguistic frames to a mel vocoder's frames.

Text to speech in two stages (FastSpeech 2, FastPitch, Merlin): this model maps, frame by frame
(12.5 ms), what is said (:mod:`wavenet.text.linguistic`: phones, position, stress, boundaries)
and who says it (a speaker embedding) to how it sounds: the 80-band log-mel, log F0 and a voicing
flag. A source-filter mel vocoder then speaks those frames. Learning the spectrum at frame rate
costs a 16 kHz network's sample-by-sample work about 200 times less, and the vocoder already
turns mel frames into words.

The network is non-causal and convolutional: a projection of each frame, then residual blocks of
dilated convolutions (kernel 5; dilations 1, 2, 4, ... cycling, so that a frame hears about half
a second either side), each with layer normalisation and ReLU; the speaker's embedding is added
to every block's input. It reads a whole sentence at once, which is how synthesis feeds it
(:mod:`wavenet.speech`). The linguistic frames' own log F0 and voicing (the recording's in
training, a prosody model's at synthesis) are not among its inputs: it predicts them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from wavenet.errors import WavenetError
from wavenet.text import linguistic

F0_SOURCES = ("model", "prosody")  # a release's metadata.f0: the acoustic model's F0, or the prosody model's

# The linguistic channels the model reads: all but the last two (log F0, voicing), which it predicts.
INPUT_CHANNELS = linguistic.CHANNELS - 2
LIMITS: dict[str, tuple[int, int]] = {
    "n_speakers": (1, 65536),
    "n_mels": (1, 512),
    "hidden": (8, 2048),
    "layers": (1, 32),
    "kernel_size": (1, 31),
    "max_dilation": (1, 64),
}


@dataclass(frozen=True)
class AcousticConfig:
    """Sizes of an :class:`AcousticModel`. ``kernel_size`` is odd (centred convolutions)."""

    n_speakers: int = 1
    n_mels: int = 80
    hidden: int = 256
    layers: int = 6
    kernel_size: int = 5
    max_dilation: int = 4  # dilations 1, 2, 4, ... up to this, then again from 1
    dropout: float = 0.1

    def __post_init__(self) -> None:
        for name, (low, high) in LIMITS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise WavenetError(f"model.{name}: must be an integer from {low} to {high}, got {value!r}")
        if self.kernel_size % 2 == 0:
            raise WavenetError(f"model.kernel_size: must be odd (centred convolutions), got {self.kernel_size}")
        if not (isinstance(self.dropout, (int, float)) and 0 <= self.dropout < 1):
            raise WavenetError(f"model.dropout: must be in [0, 1), got {self.dropout!r}")

    @property
    def dilations(self) -> list[int]:
        out, d = [], 1
        for _ in range(self.layers):
            out.append(d)
            d = d * 2 if d * 2 <= self.max_dilation else 1
        return out

    @property
    def parameters(self) -> int:
        """How many parameters the model has, known before it is built (a release is checked against a limit)."""
        h, k = self.hidden, self.kernel_size
        blocks = self.layers * (h * h * k + h + 2 * h)  # convolution and its bias, layer norm
        return (INPUT_CHANNELS + 1) * h + self.n_speakers * h + blocks + (h + 1) * self.outputs

    @property
    def outputs(self) -> int:
        """Per frame: the mel bands, log F0, the voicing logit."""
        return self.n_mels + 2

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Any, source: str = "model") -> AcousticConfig:
        if not isinstance(data, dict):
            raise WavenetError(f"{source}: model: must be an object")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise WavenetError(
                f"{source}: model: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})"
            )
        try:
            return cls(**data)
        except WavenetError as err:
            raise WavenetError(f"{source}: {err}") from None


class _Block(nn.Module):
    def __init__(self, hidden: int, kernel_size: int, dilation: int, dropout: float) -> None:
        super().__init__()
        self.conv = nn.Conv1d(hidden, hidden, kernel_size, padding=dilation * (kernel_size // 2), dilation=dilation)
        self.norm = nn.LayerNorm(hidden)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """x (B, T, H); mask (B, T, 1): padding frames are zero before every convolution."""
        y = self.conv((x * mask).transpose(1, 2)).transpose(1, 2)
        return x + self.dropout(F.relu(self.norm(y)))


class AcousticModel(nn.Module):
    """Linguistic frames and a speaker → normalised log-mel, log F0 (log2(f0 / 100)) and a voicing logit per frame."""

    def __init__(self, config: AcousticConfig) -> None:
        super().__init__()
        self.config = config
        h = config.hidden
        # The data's statistics, kept with the weights: inputs and mel targets are standardised by them.
        self.register_buffer("input_mean", torch.zeros(INPUT_CHANNELS))
        self.register_buffer("input_std", torch.ones(INPUT_CHANNELS))
        self.register_buffer("mel_mean", torch.zeros(config.n_mels))
        self.register_buffer("mel_std", torch.ones(config.n_mels))
        self.input = nn.Linear(INPUT_CHANNELS, h)
        self.speaker_embedding = nn.Embedding(config.n_speakers, h)
        self.blocks = nn.ModuleList(_Block(h, config.kernel_size, d, config.dropout) for d in config.dilations)
        self.output = nn.Linear(h, config.outputs)

    def forward(self, frames: torch.Tensor, speakers: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """frames (B, T, linguistic.CHANNELS) (the last two are ignored), speakers (B,) → (B, T, n_mels + 2):
        the standardised mel, log F0 and the voicing logit."""
        x = (frames[..., :INPUT_CHANNELS] - self.input_mean) / self.input_std
        mask = torch.ones_like(x[..., :1]) if mask is None else mask[..., None].to(x.dtype)
        x = self.input(x) + self.speaker_embedding(speakers)[:, None, :]
        for block in self.blocks:
            x = block(x, mask)
        return self.output(x)

    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.parameters())

    @torch.inference_mode()
    def predict(self, frames: np.ndarray, speaker: int) -> tuple[np.ndarray, np.ndarray]:
        """One sentence's linguistic frames (T, channels) → its log-mel (T, n_mels) and F0 in Hz (T,), 0 where unvoiced."""
        device = self.mel_mean.device
        x = torch.as_tensor(np.asarray(frames, dtype=np.float32), device=device)[None]
        out = self(x, torch.tensor([speaker], device=device))[0].float()
        mel = out[:, : self.config.n_mels] * self.mel_std + self.mel_mean
        f0 = linguistic.F0_REFERENCE * torch.exp2(out[:, -2])
        f0 = torch.where(out[:, -1] > 0, f0, torch.zeros_like(f0))
        return mel.cpu().numpy(), f0.cpu().numpy()


def acoustic_loss(model: nn.Module, frames: torch.Tensor, mel: torch.Tensor, speakers: torch.Tensor,
                  mask: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:  # fmt: skip
    """The training loss over the frames ``mask`` counts (B, T): mean absolute error of the standardised mel,
    plus that of log F0 (in octaves) on voiced frames, plus the voicing flag's cross-entropy.

    ``frames`` are linguistic frames whose last two channels are the recording's log F0 and voicing;
    ``mel`` (B, T, n_mels) is the recording's log-mel, raw. Returns the sum and each part."""
    out = model(frames, speakers, mask).float()
    core = model.module if hasattr(model, "module") else model
    n_mels = core.config.n_mels
    weight = mask.float()
    count = weight.sum().clamp(min=1)
    target = (mel.float() - core.mel_mean) / core.mel_std
    mel_error = ((out[..., :n_mels] - target).abs().mean(-1) * weight).sum() / count
    voiced = frames[..., -1].float()
    voiced_weight = weight * voiced
    f0_error = ((out[..., -2] - frames[..., -2].float()).abs() * voiced_weight).sum() / voiced_weight.sum().clamp(min=1)
    voicing = (F.binary_cross_entropy_with_logits(out[..., -1], voiced, reduction="none") * weight).sum() / count
    parts = {"mel_l1": mel_error, "f0_l1": f0_error, "voicing_bce": voicing}
    return mel_error + f0_error + voicing, parts
