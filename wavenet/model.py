"""The WaveNet model: van den Oord et al. 2016, "WaveNet: A Generative Model for Raw Audio".

Read top to bottom as in the paper's figure 4:

    μ-law codes ─ causal input layer ─┬─ residual block (dilation 1) ─┬─ ... ─ residual block ─┐
                                      │      skip ─────────────────── + ── ... ── skip ────── + ─ head ─ logits
    speaker id ─ embedding ───────────┴── projected into every block's filter and gate

Each residual block computes z = tanh(W_f * x + V_f h) ⊙ σ(W_g * x + V_g h) with a dilated
causal convolution ``*`` and the speaker embedding h, then a 1×1 residual output (added to its
input) and a 1×1 skip output (summed over blocks). The head is ReLU → 1×1 → ReLU → 1×1.

``WaveNet(codes, speaker)`` returns, for every position t, the logits of the code at t + 1
given the codes up to and including t: the training objective is cross-entropy against the
input shifted by one. Fast step-by-step generation lives in :mod:`wavenet.generation`; it
reads the same weights and must reproduce this forward pass exactly.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from wavenet.config import WaveNetConfig


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

    def forward(self, x: torch.Tensor, speaker: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (B, R, T), speaker: (B, E) → (next x (B, R, T), skip (B, S, T))."""
        h = self.conv(F.pad(x, (self.padding, 0))) + self.speaker(speaker)[:, :, None]  # (B, G, T)
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

    def forward(self, x: torch.Tensor, speaker: torch.Tensor | None = None) -> torch.Tensor:
        """Next-sample logits.

        x: codes (B, T) int64, or float (B, classes, T) one-hot; speaker: (B,) int64 ids
        (all zero when None). Returns (B, classes, T): position t predicts the code at t + 1.
        """
        batch = x.shape[0]
        if speaker is None:
            speaker = torch.zeros(batch, dtype=torch.long, device=x.device)
        h = self.speaker_embedding(speaker)  # (B, E)
        x = self.input(x)  # (B, R, T)
        skips = 0
        for block in self.blocks:
            x, skip = block(x, h)
            skips = skips + skip  # (B, S, T)
        return self.head(skips)

    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.parameters())
