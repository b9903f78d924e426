"""The WaveNet model: van den Oord et al. 2016, "WaveNet: A Generative Model for Raw Audio".

Read top to bottom as in the paper's figure 4:

    μ-law codes ─ causal input layer ─┬─ residual block (dilation 1) ─┬─ ... ─ residual block ─┐
                                      │      skip ─────────────────── + ── ... ── skip ────── + ─ head ─ logits
    speaker id ─ embedding ───────────┴── projected into every block's filter and gate
    feature frames ─ conditioner ─────┴── projected into every block's filter and gate, upsampled to samples

Each residual block computes z = tanh(W_f * x + V_f h + U_f y) ⊙ σ(W_g * x + V_g h + U_g y)
with a dilated causal convolution ``*``, the speaker embedding h and, for a conditioned model,
the upsampled features y (section 2.5 of the paper: global and local conditioning), then a 1×1
residual output (added to its input) and a 1×1 skip output (summed over blocks). The head is
ReLU → 1×1 → ReLU → 1×1.

``WaveNet(codes, speaker)`` returns, for every position t, the logits of the code at t + 1
given the codes up to and including t: the training objective is cross-entropy against the
input shifted by one. Fast step-by-step generation lives in :mod:`wavenet.generation`; it
reads the same weights and must reproduce this forward pass exactly.
"""

from __future__ import annotations

import threading

import torch
import torch.nn.functional as F
from torch import nn

from wavenet.model_config import WaveNetConfig


class CausalInputLayer(nn.Module):
    """A causal convolution over one-hot μ-law codes, computed as embedding lookups.

    The weight has the shape of ``Conv1d(classes, residual, input_kernel_size)``; for integer
    codes, tap j of the convolution is a row lookup, which is what training runs. Float input
    (one-hot or soft, shape (B, classes, T)) goes through the same weight as a real
    convolution, which lets tests differentiate the output with respect to the input.
    """

    def __init__(self, classes: int, channels: int, kernel_size: int) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.conv = nn.Conv1d(classes, channels, kernel_size)

    def taps(self) -> torch.Tensor:
        """Per-tap embedding tables, oldest tap first, with an extra all-zero row for padding.

        Shape (kernel_size, classes + 1, channels): code ``classes`` stands for "before the
        start", where the full convolution sees zero padding.
        """
        weight = self.conv.weight.permute(2, 1, 0)  # (K, classes, C)
        return F.pad(weight, (0, 0, 0, 1))  # (K, classes + 1, C)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pad = self.kernel_size - 1
        if x.is_floating_point():  # (B, classes, T)
            return self.conv(F.pad(x, (pad, 0)))  # (B, C, T)
        classes = self.conv.in_channels
        codes = F.pad(x, (pad, 0), value=classes)  # (B, T + pad), padding code = zero row
        taps = self.taps()
        t = x.shape[1]
        out = sum(F.embedding(codes[:, j : j + t], taps[j]) for j in range(self.kernel_size))  # (B, T, C)
        return out.transpose(1, 2) + self.conv.bias[:, None]  # (B, C, T)


def frame_span(t0: int, t1: int, hop: int) -> tuple[int, int]:
    """The frames [a, b) whose (interpolated) projections samples t0 .. t1 - 1 read."""
    return t0 // hop, (t1 - 1) // hop + 2


def frame_window(n_frames: int, a: int, b: int, context: int) -> torch.Tensor:
    """Indices of the input frames that frames [a, b) need, ``context`` on each side, clamped to the stream.

    Past a stream's edges its first and last frames repeat, wherever the window is cut: in training
    crops, generation chunks and whole streams alike. (A stream of N frames is N × hop samples
    long; its last samples read the frame "N", the conditioner's output over repeated last frames.)
    """
    return torch.arange(a - context, b + context).clamp_(0, n_frames - 1)


def upsample(frames: torch.Tensor, hop: int, start: int, length: int) -> torch.Tensor:
    """Frame values (B, C, F) at samples start .. start + length - 1, linearly interpolated: (B, C, length).

    Sample t sits between frame t // hop (weight 1 - a) and the next (weight a = (t % hop) / hop);
    past the last frame given, the last one holds. ``start`` counts from frame 0's sample.
    """
    t = torch.arange(start, start + length, device=frames.device)
    i0 = (t // hop).clamp_(max=frames.shape[-1] - 1)
    i1 = (t // hop + 1).clamp_(max=frames.shape[-1] - 1)
    a = ((t % hop).to(frames.dtype) / hop)[None, None, :]
    return frames[..., i0] * (1 - a) + frames[..., i1] * a


class Conditioner(nn.Module):
    """Feature frames → hidden frames: normalised, then ``cond_layers`` convolutions over frames.

    The feature statistics (per channel, from the training data) are buffers, saved with the
    weights, so a checkpoint takes raw features. Each convolution (kernel 3, no padding) reads
    one frame on each side: given a window with ``cond_layers`` frames of context on each side,
    it returns the hidden frames of the window's middle.
    """

    def __init__(self, config: WaveNetConfig) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(config.cond_channels))
        self.register_buffer("std", torch.ones(config.cond_channels))
        widths = [config.cond_channels] + [config.cond_hidden] * config.cond_layers
        self.convs = nn.ModuleList(nn.Conv1d(c_in, c_out, 3) for c_in, c_out in zip(widths, widths[1:], strict=False))

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """(B, cond_channels, F + 2 cond_layers) → (B, cond_width, F)."""
        x = (frames - self.mean[:, None]) / self.std[:, None]
        for conv in self.convs:
            x = torch.tanh(conv(x))
        return x


class ResidualBlock(nn.Module):
    """Dilated causal convolution, speaker-conditioned gated activation, residual and skip outputs."""

    def __init__(self, config: WaveNetConfig, dilation: int, has_residual: bool) -> None:
        super().__init__()
        self.dilation = dilation
        self.padding = (config.kernel_size - 1) * dilation
        self.conv = nn.Conv1d(config.residual_channels, config.gate_channels, config.kernel_size, dilation=dilation)
        self.speaker = nn.Linear(config.speaker_channels, config.gate_channels, bias=False)
        half = config.gate_channels // 2
        self.skip = nn.Conv1d(half, config.skip_channels, 1)
        # The last block's residual output feeds nothing; leaving it out keeps every parameter
        # in the loss (DistributedDataParallel requires that) and saves work in generation.
        self.residual = nn.Conv1d(half, config.residual_channels, 1) if has_residual else None
        self.cond = nn.Conv1d(config.cond_width, config.gate_channels, 1, bias=False) if config.conditioned else None

    def forward(
        self, x: torch.Tensor, speaker: torch.Tensor, cond: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (B, R, T), speaker: (B, E), cond: this block's upsampled projection (B, G, T) → (next x, skip (B, S, T))."""
        h = self.conv(F.pad(x, (self.padding, 0))) + self.speaker(speaker)[:, :, None]  # (B, G, T)
        if cond is not None:
            h = h + cond
        filt, gate = h.chunk(2, dim=1)
        z = torch.tanh(filt) * torch.sigmoid(gate)  # (B, G/2, T)
        skip = self.skip(z)
        if self.residual is not None:
            x = x + self.residual(z)
        return x, skip


class OutputHead(nn.Module):
    """ReLU → 1×1 → ReLU → 1×1 from the summed skips to the logits over μ-law codes."""

    def __init__(self, skip_channels: int, classes: int) -> None:
        super().__init__()
        self.hidden = nn.Conv1d(skip_channels, skip_channels, 1)
        self.out = nn.Conv1d(skip_channels, classes, 1)

    def forward(self, skip: torch.Tensor) -> torch.Tensor:
        return self.out(F.relu(self.hidden(F.relu(skip))))  # (B, classes, T)


class WaveNet(nn.Module):
    def __init__(self, config: WaveNetConfig) -> None:
        super().__init__()
        self.config = config
        self.input = CausalInputLayer(config.classes, config.residual_channels, config.input_kernel_size)
        self.speaker_embedding = nn.Embedding(config.n_speakers, config.speaker_channels)
        dilations = config.dilations
        self.blocks = nn.ModuleList(
            ResidualBlock(config, d, has_residual=i < len(dilations) - 1) for i, d in enumerate(dilations)
        )
        self.head = OutputHead(config.skip_channels, config.classes)
        self.conditioner = Conditioner(config) if config.conditioned else None

    def forward(
        self,
        x: torch.Tensor,
        speaker: torch.Tensor | None = None,
        frames: torch.Tensor | None = None,
        start: int = 0,
    ) -> torch.Tensor:
        """Next-sample logits.

        x: codes (B, T) int64, or float (B, classes, T) one-hot; speaker: (B,) int64 ids
        (all zero when None). Returns (B, classes, T): position t predicts the code at t + 1.

        A conditioned model also takes ``frames`` (B, cond_channels, F): the window of feature frames
        that positions 0 .. T - 1 read (:func:`frame_span` from frame a on, with ``cond_layers``
        frames of context on each side: :func:`frame_window`), and ``start``, the sample that
        position 0 predicts, counted from frame a's sample.
        """
        batch, length = x.shape[0], x.shape[-1]
        if speaker is None:
            speaker = torch.zeros(batch, dtype=torch.long, device=x.device)
        h = self.speaker_embedding(speaker)  # (B, E)
        hidden = None
        if self.conditioner is not None:
            if frames is None or start < 0:
                raise ValueError("a conditioned model needs feature frames from before its first position")
            hidden = self.conditioner(frames)  # (B, cond_width, F)
        x = self.input(x)  # (B, R, T)
        skips = 0
        for block in self.blocks:
            cond = None if hidden is None else upsample(block.cond(hidden), self.config.cond_hop, start, length)
            x, skip = block(x, h, cond)
            skips = skips + skip  # (B, S, T)
        return self.head(skips)

    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.parameters())


_INITS = ("kaiming_uniform_", "uniform_", "normal_")  # what the layers' reset_parameters call
_shapes_lock = threading.Lock()


def state_shapes(config: WaveNetConfig) -> dict[str, tuple[int, ...]]:
    """The shape of every tensor in a model's state dict, with no memory allocated for them.

    The model is built on the meta device with its layers' random initialisation skipped: on
    meta tensors it would cost nothing but the first call's import of PyTorch's decompositions,
    about 3 s in every process that loads a checkpoint.
    """
    saved = {name: getattr(nn.init, name) for name in _INITS}
    with _shapes_lock:
        try:
            for name in _INITS:
                setattr(nn.init, name, lambda tensor, *args, **kwargs: tensor)
            with torch.device("meta"):
                return {k: tuple(v.shape) for k, v in WaveNet(config).state_dict().items()}
        finally:
            for name, fn in saved.items():
                setattr(nn.init, name, fn)
