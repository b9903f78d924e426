"""The WaveNet model: van den Oord et al. 2016, "WaveNet: A Generative Model for Raw Audio".

Read top to bottom as in the paper's figure 4:

    μ-law codes ─ causal input layer ─┬─ residual block (dilation 1) ─┬─ ... ─ residual block ─┐
                                      │      skip ─────────────────── + ── ... ── skip ────── + ─ head ─ logits
    speaker id ─ embedding ───────────┴── projected into every block's filter and gate
    feature frames ─ conditioner ─────┴── projected into every block's filter and gate, upsampled to samples

Each residual block computes z = tanh(W_f * x + V_f h + U_f y) ⊙ σ(W_g * x + V_g h + U_g y)
with a dilated causal convolution ``*``, the speaker embedding h and, for a conditioned model,
the upsampled features y (section 2.5 of the paper: global and local conditioning), then a 1×1
residual output (added to its input) and a 1×1 skip output (summed over blocks: computed as one
product over every block's z, :meth:`WaveNet.skip_sum`). The head is ReLU → 1×1 → ReLU → 1×1.

``WaveNet(codes, speaker)`` returns, for every position t, the logits of the code at t + 1
given the codes up to and including t: the training objective is cross-entropy against the
input shifted by one.

A source-filter model (``lpc_order`` > 0; Valin & Skoglund 2019, "LPCNet") reads, besides the
last sample's code, the code of the linear prediction of the next sample (from the samples
before it and the frame's filter) and the code of the last excitation, and its logits are over
the excitation: the sample is prediction + excitation. :mod:`wavenet.excitation` computes
those codes, the same way for training and generation. A model with a periodic source
(``source_harmonics`` > 0; Wang et al. 2019, NSF) also reads, at every position, sines at the
harmonics of the F0 its frames carry (:func:`wavenet.excitation.sine_source`), through a 1×1
input projection. Fast step-by-step generation lives in :mod:`wavenet.generation`; it
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

    Computed as each pair of neighbouring frames broadcast over the hop, not by gathering an index
    per sample: the same numbers, but its gradient is a sum over each hop instead of a scatter,
    which made the gather a quarter of a training step on the CPU.
    """
    first, last = start // hop, (start + length - 1) // hop + 1  # frames read: first .. last
    if last >= frames.shape[-1]:  # past the last frame, it holds
        frames = torch.cat([frames, frames[..., -1:].expand(*frames.shape[:-1], last + 1 - frames.shape[-1])], -1)
    pairs = frames[..., first : last + 1]  # (B, C, k + 1)
    a = torch.arange(hop, device=frames.device, dtype=frames.dtype) / hop  # (hop,)
    step = pairs[..., 1:] - pairs[..., :-1]  # (B, C, k): at frame rate
    out = (pairs[..., :-1, None] + step[..., None] * a).flatten(-2)  # (B, C, k × hop)
    offset = start - first * hop
    return out[..., offset : offset + length]


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

    def bias(self, speaker: torch.Tensor, cond: torch.Tensor | None, hop: int, start: int, length: int) -> torch.Tensor:
        """What the speaker and the frames add to the dilated convolution: V h + U y, (B, G, 1) or (B, G, length).

        speaker: the embedding (B, E); cond: the conditioner's hidden frames (B, cond_width, F) or
        None; the positions are ``start`` .. ``start + length - 1`` (see :func:`upsample`). The
        speaker's term joins the frames' projection at frame rate, before it is upsampled.
        """
        term = self.speaker(speaker)[:, :, None]  # (B, G, 1)
        if cond is None:
            return term
        return upsample(self.cond(cond) + term, hop, start, length)  # (B, G, length)

    def forward(self, x: torch.Tensor, bias: torch.Tensor, skip_from: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """The block's outputs at T positions, from x: (B, R, padding + T), those positions and the
        ``padding`` before them that the dilated convolution reads (zeros before the sequence starts).

        bias: :meth:`bias`, (B, G, 1) or (B, G, T). Returns the next x (B, R, T) and the gated
        output z (B, G/2, T - skip_from) of the positions from ``skip_from`` on, which the skip
        convolution reads: :meth:`WaveNet.forward` projects every block's at once.
        """
        h = self.conv(x)  # (B, G, T)
        h += bias  # in place: the convolution's backward does not need its output
        filt, gate = h.chunk(2, dim=1)
        z = torch.tanh(filt) * torch.sigmoid(gate)  # (B, G/2, T)
        x = x[..., self.padding :]
        if self.residual is not None:
            out = self.residual(z)
            out += x
            x = out
        return x, z[..., skip_from:]


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
        if config.lpc_order:  # a source-filter model's extra inputs: the prediction and the last excitation
            self.prediction_input = nn.Embedding(config.classes, config.residual_channels)
            self.excitation_input = nn.Embedding(config.classes, config.residual_channels)
        if config.source_harmonics:  # the periodic source's projection: zero at first, so that a model
            # warm-started from one without it begins by computing exactly what that one did
            self.sine_input = nn.Conv1d(config.source_harmonics, config.residual_channels, 1, bias=False)
            nn.init.zeros_(self.sine_input.weight)

    def forward(
        self,
        x: torch.Tensor,
        speaker: torch.Tensor | None = None,
        frames: torch.Tensor | None = None,
        start: int = 0,
        first: int = 0,
        source: tuple[torch.Tensor, torch.Tensor] | None = None,
        sines: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Next-sample logits (a source-filter model's: next-excitation logits).

        x: codes (B, T) int64, or float (B, classes, T) one-hot; speaker: (B,) int64 ids
        (all zero when None). Returns (B, classes, T - first): position t predicts the code at
        t + 1, for the positions t from ``first`` on.

        ``first`` > 0 (training on crops whose first targets the loss skips) computes only what
        those logits need: each block from the first position that a later block or the skip
        sum reads, the skip outputs and the head from ``first``. The logits are the same numbers
        as the full pass's from ``first`` on, with less work (a sixth less for the mel vocoder's
        crops).

        A conditioned model also takes ``frames`` (B, cond_channels, F): the window of feature frames
        that positions 0 .. T - 1 read (:func:`frame_span` from frame a on, with ``cond_layers``
        frames of context on each side: :func:`frame_window`), and ``start``, the sample that
        position 0 predicts, counted from frame a's sample.

        A source-filter model also takes ``source``: (prediction codes, last excitation codes), each
        (B, T) int64: position t's prediction of the sample at t + 1 and the excitation at t.

        A model with a periodic source also takes ``sines`` (B, source_harmonics, T) float: the
        source at the sample each position predicts.
        """
        batch, length = x.shape[0], x.shape[-1]
        if self.config.lpc_order and source is None:
            raise ValueError("a source-filter model needs the prediction and excitation codes of every position")
        if self.config.source_harmonics and (sines is None or sines.shape[-1] != length):
            raise ValueError("a model with a periodic source needs its sines at every position")
        if not 0 <= first < length:
            raise ValueError(f"first must be in [0, {length}), got {first}")
        if speaker is None:
            speaker = torch.zeros(batch, dtype=torch.long, device=x.device)
        h = self.speaker_embedding(speaker)  # (B, E)
        hidden = None
        if self.conditioner is not None:
            if frames is None or start < 0:
                raise ValueError("a conditioned model needs feature frames from before its first position")
            hidden = self.conditioner(frames)  # (B, cond_width, F)
        x = self.input(x)  # (B, R, T): positions 0 .. T - 1
        if self.config.lpc_order:
            predicted, excitation = source
            x = x + (self.prediction_input(predicted) + self.excitation_input(excitation)).transpose(1, 2)
        if self.config.source_harmonics:
            x = x + self.sine_input(sines.to(x.dtype))
        held = 0  # the first position x holds
        gated = []  # every block's z from first on, for the skip convolutions
        for block, out in zip(self.blocks, self.first_outputs(first), strict=True):
            need = out - block.padding  # the first position its dilated convolution reads
            x = x[..., need - held :] if need >= held else F.pad(x, (held - need, 0))  # (B, R, T - need)
            bias = block.bias(h, hidden, self.config.cond_hop, start + out, length - out)
            x, z = block(x, bias, skip_from=first - out)  # x: positions out .. T - 1
            held = out
            gated.append(z)  # (B, G/2, T - first)
        return self.head(self.skip_sum(gated))

    def skip_sum(self, gated: list[torch.Tensor]) -> torch.Tensor:
        """Σ over blocks of skip_l(z_l): (B, S, T'), as one convolution over every block's z stacked.

        Σ_l (W_l z_l + b_l) = [W_1 … W_L] [z_1; …; z_L] + Σ_l b_l: one product instead of a
        convolution and a sum per block, which is most of the memory traffic of the skips
        (training on the CPU: 0.64 s a step of the mel vocoder against 0.79).
        """
        weight = torch.cat([block.skip.weight for block in self.blocks], dim=1)  # (S, L × G/2, 1)
        bias = torch.stack([block.skip.bias for block in self.blocks]).sum(0)  # (S,)
        return F.conv1d(torch.cat(gated, dim=1), weight, bias)  # (B, S, T')

    def first_outputs(self, first: int) -> list[int]:
        """For each block, the first position whose output the logits from ``first`` on need.

        The last block's is ``first`` (its skip); going down, each block must also give what the
        next one's dilated convolution reads, ``padding`` earlier, down to position 0.
        """
        outs = [first]
        for block in reversed(self.blocks[1:]):
            outs.append(min(first, max(0, outs[-1] - block.padding)))
        return outs[::-1]

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
