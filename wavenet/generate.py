"""Autoregressive generation: B independent streams ("slots") stepping together.

A slot holds one stream, with its own speaker, temperature and seed; :meth:`SlotGenerator.reset`
starts a new stream in a slot between steps while the other slots keep running, which is how
the server batches many requests into one loop. Work can be limited to the first k slots
(``generate(n, active=k)``), and :meth:`SlotGenerator.move` copies a stream from one slot to
another, so a server keeps its streams packed at the front and pays only for those. Two
generators share this interface:

- :class:`CachedGenerator`, the "Fast WaveNet" algorithm (Paine et al. 2016, arXiv:1611.09482):
  each layer keeps a ring buffer of the past inputs its dilated convolution reads, so a sample
  costs O(layers) whatever the receptive field, and nothing is copied in proportion to a dilation.
- :class:`NaiveGenerator`, the reference: a full forward pass over the receptive field for every
  sample. Slow, obviously right; tests and benchmarks compare against it.

Both start every stream from the code of silence, as if the audio were preceded by zeros, and
both match :class:`wavenet.model.WaveNet`'s forward pass, whose causal convolutions see zeros
before the first sample.
"""

from __future__ import annotations

import secrets

import numpy as np
import torch
import torch.nn.functional as F

from wavenet.errors import WavenetError
from wavenet.model import WaveNet
from wavenet.mulaw import silence_code
from wavenet.sampling import UniformStream, check_temperature, sample_codes


class SlotGenerator:
    """B stream slots generating together; subclasses say how one step turns inputs into logits."""

    name = "base"

    def __init__(self, model: WaveNet, batch_size: int = 1) -> None:
        if batch_size < 1:
            raise WavenetError(f"batch size must be at least 1, got {batch_size}")
        param = next(model.parameters())
        self.model = model.eval()
        self.config = model.config
        self.batch_size = batch_size
        self.device = param.device
        self.dtype = param.dtype
        self._streams: list[UniformStream | None] = [None] * batch_size
        self._temperature = torch.ones(batch_size, device=self.device, dtype=self.dtype)
        self._speaker = torch.zeros(batch_size, device=self.device, dtype=torch.long)
        self._silence = silence_code(self.config.mu)
        self._last = torch.full((batch_size,), self._silence, device=self.device, dtype=torch.long)

    @property
    def active(self) -> list[bool]:
        """Which slots hold a stream (inactive slots still compute, but nobody reads them)."""
        return [s is not None for s in self._streams]

    @torch.inference_mode()
    def reset(self, slot: int, speaker: int = 0, temperature: float = 1.0, seed: int | None = None) -> int:
        """Start a new stream in ``slot`` and return its seed (drawn at random when None)."""
        if not 0 <= slot < self.batch_size:
            raise WavenetError(f"slot must be in [0, {self.batch_size - 1}], got {slot}")
        if not 0 <= speaker < self.config.n_speakers:
            raise WavenetError(f"speaker id must be in [0, {self.config.n_speakers - 1}], got {speaker}")
        temperature = check_temperature(temperature)
        if seed is None:
            seed = secrets.randbits(63)
        if seed < 0:
            raise WavenetError(f"seed must be a non-negative integer, got {seed}")
        self._streams[slot] = UniformStream(seed)
        self._temperature[slot] = temperature
        self._speaker[slot] = speaker
        self._last[slot] = self._silence
        self._reset_state(slot)
        return seed

    def release(self, slot: int) -> None:
        """Mark a slot free; it keeps computing until reset, but draws no more uniforms."""
        self._streams[slot] = None

    @torch.inference_mode()
    def move(self, src: int, dst: int) -> None:
        """Move the stream in slot ``src`` to slot ``dst`` (which loses its stream); ``src`` becomes free.

        The stream continues in ``dst`` exactly as it would have in ``src``.
        """
        for slot in (src, dst):
            if not 0 <= slot < self.batch_size:
                raise WavenetError(f"slot must be in [0, {self.batch_size - 1}], got {slot}")
        if src == dst:
            return
        self._streams[dst], self._streams[src] = self._streams[src], None
        for tensor in (self._temperature, self._speaker, self._last):
            tensor[dst] = tensor[src]
        self._move_state(src, dst)

    def draw_uniforms(self, n: int, active: int | None = None) -> torch.Tensor:
        """The next n uniforms of the first ``active`` slots, (active, n) on the device; 0.5 for free slots."""
        active = self.batch_size if active is None else active
        uniforms = np.full((active, n), 0.5, dtype=np.float32)
        for slot, stream in enumerate(self._streams[:active]):
            if stream is not None:
                uniforms[slot] = stream.draw(n)
        return torch.from_numpy(uniforms).to(self.device, non_blocking=True)

    @torch.inference_mode()
    def generate(self, n: int, active: int | None = None) -> np.ndarray:
        """Advance the first ``active`` slots (default: all) by n samples; returns their codes, (active, n) int64.

        Slots beyond ``active`` must hold no stream: they do not compute, and their state is
        lost (a reset restores it).
        """
        if n < 1:
            raise WavenetError(f"number of samples must be at least 1, got {n}")
        active = self.batch_size if active is None else active
        if not 1 <= active <= self.batch_size:
            raise WavenetError(f"active slots must be in [1, {self.batch_size}], got {active}")
        if any(stream is not None for stream in self._streams[active:]):
            raise WavenetError(f"slots from {active} on hold streams; move them below {active} or release them")
        codes = self.run(self.draw_uniforms(n, active))
        return codes.cpu().numpy()

    def run(self, uniforms: torch.Tensor) -> torch.Tensor:
        """Sample (k, n) codes on the device for the first k slots from (k, n) uniforms, one step at a time."""
        k, n = uniforms.shape
        out = torch.empty(k, n, dtype=torch.long, device=self.device)
        temperature = self._temperature[:k]
        for i in range(n):
            codes = sample_codes(self.step(self._last[:k]), temperature, uniforms[:, i])
            self._last[:k] = codes
            out[:, i] = codes
        return out

    def step(self, codes: torch.Tensor) -> torch.Tensor:
        """Feed one input code to each of the first k slots, (k,) int64; returns next-sample logits (k, classes)."""
        raise NotImplementedError

    def _reset_state(self, slot: int) -> None:
        raise NotImplementedError

    def _move_state(self, src: int, dst: int) -> None:
        raise NotImplementedError


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

    @torch.inference_mode()
    def step(self, codes: torch.Tensor) -> torch.Tensor:
        t, k, half = self._clock(), self._k, self._half
        b = codes.shape[0]  # the first b slots step; the others are left as they are
        history = torch.cat([self._past_codes[:b], codes[:, None]], dim=1)  # (b, K_in)
        x = self._input_bias + sum(self._input_taps[j][history[:, j]] for j in range(history.shape[1]))  # (b, R)
        self._past_codes[:b] = history[:, 1:]
        skips = None
        for i, ((d, conv_w, conv_b, out_w, out_b), buf) in enumerate(zip(self._layers, self._buffers, strict=True)):
            size = buf.shape[0]
            taps = [self._read(buf, (t - (k - 1 - j) * d) % size, b) for j in range(k - 1)]  # oldest first, (b, R)
            h = torch.addmm(conv_b, torch.cat([*taps, x], dim=1), conv_w) + self._speaker_bias[i, :b]  # (b, G)
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


class NaiveGenerator(SlotGenerator):
    """Reference generation: the full forward pass over the receptive field for every sample.

    Until a stream has a receptive field of history, the pass runs over all of it from the
    stream's start, so the model's own zero padding plays the role of "before the start".
    """

    name = "naive"

    def __init__(self, model: WaveNet, batch_size: int = 1) -> None:
        super().__init__(model, batch_size)
        rf = self.config.receptive_field
        self._history = torch.zeros(batch_size, rf, dtype=torch.long, device=self.device)
        self._length = [0] * batch_size  # samples fed since reset, capped at the receptive field

    def _reset_state(self, slot: int) -> None:
        self._history[slot] = 0
        self._length[slot] = 0

    def _move_state(self, src: int, dst: int) -> None:
        self._history[dst] = self._history[src]
        self._length[dst] = self._length[src]

    def fill_history(self, codes: torch.Tensor) -> None:
        """Give every slot a full receptive field of past inputs, (B, receptive_field) codes.

        Benchmarks use it to time the steady state, where every step is a full-length forward
        pass, without first generating a receptive field of slow steps.
        """
        expected = (self.batch_size, self.config.receptive_field)
        if tuple(codes.shape) != expected:
            raise WavenetError(f"history must have shape {expected}, got {tuple(codes.shape)}")
        self._history = codes.to(self.device, torch.long).clone()
        self._length = [self.config.receptive_field] * self.batch_size

    @torch.inference_mode()
    def step(self, codes: torch.Tensor) -> torch.Tensor:
        rf = self.config.receptive_field
        b = codes.shape[0]  # the first b slots step
        self._history[:b] = torch.cat([self._history[:b, 1:], codes[:, None]], dim=1)
        self._length[:b] = [min(n + 1, rf) for n in self._length[:b]]
        logits = torch.empty(b, self.config.classes, device=self.device, dtype=self.dtype)
        for length in set(self._length[:b]):  # slots of equal history length share one pass
            slots = torch.tensor([s for s, n in enumerate(self._length[:b]) if n == length], device=self.device)
            out = self.model(self._history[slots, rf - length :], self._speaker[slots])  # (b, classes, length)
            logits[slots] = out[:, :, -1]
        return logits
