"""The "Fast WaveNet" generator in plain torch (Paine et al. 2016, arXiv:1611.09482).

Each layer keeps a ring buffer of the past inputs its dilated convolution reads, so a sample
costs O(layers) whatever the receptive field, and nothing is copied in proportion to a
dilation. The native (C) and CUDA-graph backends compute exactly this.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from wavenet.generation.conditioning import project_windows
from wavenet.generation.slots import SlotGenerator, ring_order
from wavenet.model import WaveNet


class CachedGenerator(SlotGenerator):
    """Fast WaveNet generation with one ring buffer of past inputs per layer, in plain torch.

    Layer l with kernel k and dilation d reads its inputs at t, t - d, ..., t - (k-1)d. Its
    ring buffer holds the (k-1)d most recent inputs, indexed by the global step counter modulo
    its size, so each step reads k-1 rows and writes one. The slot's speaker contribution to
    every layer's filter and gate is computed once, at reset.
    """

    name = "torch"

    def __init__(self, model: WaveNet, batch_size: int = 1) -> None:
        super().__init__(model, batch_size)
        cfg = self.config
        b, dev, dt = batch_size, self.device, self.dtype
        self._t = 0  # global step counter, shared by all slots
        self._k = cfg.kernel_size
        self._half = cfg.gate_channels // 2
        with torch.no_grad():
            self._input_taps = model.input.taps().detach().clone()  # (K_in, classes + 1, R)
            self._input_bias = model.input.conv.bias.detach().clone()  # (R,)
            self._layers = []
            for block in model.blocks:
                w = block.conv.weight  # (G, R, k): tap 0 is the oldest input
                conv_w = w.permute(2, 1, 0).reshape(-1, w.shape[0]).contiguous()  # (k*R, G)
                out_w = block.skip.weight[:, :, 0]  # (S, G/2)
                out_b = block.skip.bias
                if block.residual is not None:
                    out_w = torch.cat([out_w, block.residual.weight[:, :, 0]])  # (S + R, G/2)
                    out_b = torch.cat([out_b, block.residual.bias])
                self._layers.append((block.dilation, conv_w, block.conv.bias.clone(), out_w.t().contiguous(), out_b))
            self._source_tables = None
            if cfg.lpc_order:  # a source-filter model's prediction and last-excitation embeddings
                self._source_tables = (model.prediction_input.weight.clone(), model.excitation_input.weight.clone())
            self._sine_weight = None
            if cfg.source_harmonics:  # a periodic source's projection, (harmonics, R)
                self._sine_weight = model.sine_input.weight[:, :, 0].t().contiguous()
            self._head = (
                model.head.hidden.weight[:, :, 0].t().contiguous(),
                model.head.hidden.bias.clone(),
                model.head.out.weight[:, :, 0].t().contiguous(),
                model.head.out.bias.clone(),
            )
        # Past input codes of the input layer (oldest first); code `classes` means "before the start".
        self._past_codes = torch.full((b, cfg.input_kernel_size - 1), cfg.classes, device=dev, dtype=torch.long)
        self._buffers = [
            torch.zeros((self._k - 1) * d, b, cfg.residual_channels, device=dev, dtype=dt) for d, *_ in self._layers
        ]
        self._speaker_bias = torch.zeros(len(self._layers), b, cfg.gate_channels, device=dev, dtype=dt)
        if cfg.conditioned:  # the frames' projections the next steps read, and where each slot reads
            self._cond_frames = torch.zeros(b, 2, len(self._layers), cfg.gate_channels, device=dev, dtype=dt)
            self._cond_offset = torch.zeros(b, dtype=torch.long, device=dev)
            self._rows = torch.arange(b, device=dev)

    def _reset_state(self, slot: int) -> None:
        self._past_codes[slot] = self.config.classes
        for buf in self._buffers:
            buf[:, slot] = 0
        h = self.model.speaker_embedding.weight[self._speaker[slot]]  # (E,)
        for i, block in enumerate(self.model.blocks):
            self._speaker_bias[i, slot] = block.speaker.weight @ h

    def _move_state(self, src: int, dst: int) -> None:
        self._past_codes[dst] = self._past_codes[src]
        for buf in self._buffers:
            buf[:, dst] = buf[:, src]
        self._speaker_bias[:, dst] = self._speaker_bias[:, src]

    def _save_state(self, slot: int) -> dict[str, torch.Tensor]:
        t = int(self._clock())
        state = {"past_codes": self._past_codes[slot], "speaker_bias": self._speaker_bias[:, slot]}
        for i, buf in enumerate(self._buffers):
            state[f"ring{i}"] = buf[ring_order(buf.shape[0], t, buf.device), slot]  # (size, R), oldest first
        return state

    def _load_state(self, slot: int, state: dict[str, torch.Tensor]) -> None:
        t = int(self._clock())
        self._past_codes[slot] = state["past_codes"]
        self._speaker_bias[:, slot] = state["speaker_bias"]
        for i, buf in enumerate(self._buffers):
            buf[ring_order(buf.shape[0], t, buf.device), slot] = state[f"ring{i}"]

    # The ring position: a Python int here; the CUDA-graph backend keeps it on the device instead,
    # so that a captured graph advances it, and overrides these three.
    def _clock(self) -> int | torch.Tensor:
        return self._t

    def _advance(self) -> None:
        self._t += 1

    def _read(self, buf: torch.Tensor, position: int | torch.Tensor, b: int) -> torch.Tensor:
        return buf[position, :b]

    def _write(self, buf: torch.Tensor, position: int | torch.Tensor, x: torch.Tensor) -> None:
        buf[position, : x.shape[0]] = x

    def _load_conditioning(self, steps: int, k: int) -> None:
        frames, offsets = project_windows(self.model, self._feeds[:k], self._pos[:k], steps)
        if frames.shape[1] > self._cond_frames.shape[1]:
            grown = torch.zeros(
                self.batch_size, frames.shape[1], *frames.shape[2:], device=self.device, dtype=self.dtype
            )
            self._cond_frames = grown
        self._cond_frames[:k, : frames.shape[1]] = frames
        self._cond_offset[:k] = offsets

    def _cond_bias(self, b: int) -> torch.Tensor:
        """Every layer's conditioning term for this step of the first b slots, (layers, b, G); advances them."""
        hop = self.config.cond_hop
        offset = self._cond_offset[:b]
        i = offset // hop
        a = ((offset % hop).to(self.dtype) / hop)[:, None, None]
        rows = self._rows[:b]
        bias = self._cond_frames[rows, i] * (1 - a) + self._cond_frames[rows, i + 1] * a  # (b, layers, G)
        self._cond_offset[:b] += 1
        return bias.transpose(0, 1)

    def _step(
        self,
        codes: torch.Tensor,
        source: tuple[torch.Tensor, torch.Tensor] | None = None,
        sines: torch.Tensor | None = None,
    ) -> torch.Tensor:
        t, k, half = self._clock(), self._k, self._half
        b = codes.shape[0]  # the first b slots step; the others are left as they are
        history = torch.cat([self._past_codes[:b], codes[:, None]], dim=1)  # (b, K_in)
        x = self._input_bias + sum(self._input_taps[j][history[:, j]] for j in range(history.shape[1]))  # (b, R)
        if source is not None:
            x = x + self._source_tables[0][source[0]] + self._source_tables[1][source[1]]
        if sines is not None:
            x = x + sines @ self._sine_weight
        self._past_codes[:b] = history[:, 1:]
        bias = self._speaker_bias[:, :b]
        if self.config.conditioned:
            bias = bias + self._cond_bias(b)
        skips = None
        for i, ((d, conv_w, conv_b, out_w, out_b), buf) in enumerate(zip(self._layers, self._buffers, strict=True)):
            size = buf.shape[0]
            taps = [self._read(buf, (t - (k - 1 - j) * d) % size, b) for j in range(k - 1)]  # oldest first, (b, R)
            h = torch.addmm(conv_b, torch.cat([*taps, x], dim=1), conv_w) + bias[i]  # (b, G)
            self._write(buf, t % size, x)  # the oldest entry is read above; now it becomes the newest
            z = torch.tanh(h[:, :half]) * torch.sigmoid(h[:, half:])  # (b, G/2)
            out = torch.addmm(out_b, z, out_w)  # (b, S [+ R])
            skip = out[:, : self.config.skip_channels]
            skips = skip if skips is None else skips + skip
            if out.shape[1] > skip.shape[1]:
                x = x + out[:, skip.shape[1] :]
        self._advance()
        w1, b1, w2, b2 = self._head
        return torch.addmm(b2, F.relu(torch.addmm(b1, F.relu(skips), w1)), w2)  # (b, classes)
