"""The native CPU backend: whole chunks of generation in C (_native.c beside this file), one call per chunk.

The plain torch generator spends its time in PyTorch's per-operation overhead (about 250 small
operations per sample). This backend packs the weights once and runs every layer, the output
head and the sampling of a whole chunk in compiled code with AVX2/FMA kernels and its own
threads, returning to Python only at the end of the chunk.

Two variants share the code: ``native`` keeps float32 weights and matches the torch generator
to float32 rounding; ``native-f16`` stores the weights as IEEE half floats (widened to float32
in registers with F16C, all arithmetic in float32), which halves the bytes read per sample and
lets each thread's share of the weights stay in its own L2 cache. Its logits differ from the
float32 ones by the rounding of the weights (the tests bound it).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator

import numpy as np
import torch

from wavenet.errors import WavenetError
from wavenet.generation.conditioning import project_windows
from wavenet.generation.slots import SlotGenerator, ring_order
from wavenet.model import WaveNet

try:
    from wavenet.generation.backends import _native
except ImportError:  # the extension was not built (no C compiler at install time)
    _native = None


def available() -> bool:
    return _native is not None


def _pad(n: int, multiple: int) -> int:
    return -(-n // multiple) * multiple


def _padded(table: torch.Tensor, width: int) -> torch.Tensor:
    """(rows, columns) float32 rows padded with zeros to ``width`` columns: a per-code (or per-harmonic) input table."""
    out = torch.zeros(table.shape[0], width, dtype=torch.float32)
    out[:, : table.shape[1]] = table.detach()
    return out


def _slices(w: torch.Tensor, parts: int) -> torch.Tensor:
    """(..., rows, columns) -> (..., parts, rows, columns / parts): each thread's columns contiguous."""
    *lead, rows, cols = w.shape
    return w.reshape(*lead, rows, parts, cols // parts).movedim(-2, -3).contiguous()


# Native generators spin while they wait for each other's threads. Two of them computing at once
# (two models served side by side) would fight over the cores; this lock makes them take turns,
# a chunk at a time, which shares the cores without stalls.
_cores = threading.Lock()

MAX_DEFAULT_THREADS = 8  # past a few threads, one stream's steps are too small to share well


class Layout:
    """Which way a call with few streams runs: threads splitting every layer (columns) or not (rows).

    Columns are fastest while the threads have the cores to themselves, but its threads meet at
    every layer, and when another process holds a core every meeting waits for a thread the
    kernel has put aside: measured on 2 cores beside a training run, speech-small at one stream
    made 350 to 7,900 samples/s by columns against 15,600 to 19,900 by rows (one thread, no
    meetings). Both compute every number the same way (the tests check that the samples are
    identical), so the choice changes only the speed. A call runs the way that was faster lately
    for its number of streams; its first ``PROBE_STEPS`` steps try a way not yet measured, or,
    every ``PROBE_EVERY`` calls, the other way, since the neighbours come and go. A probe is short
    because the slow way can be very slow.
    """

    PROBE_STEPS = 64
    PROBE_EVERY = 25
    SMOOTHING = 0.5

    def __init__(self) -> None:
        self.speed: dict[tuple[int, bool], float] = {}  # (streams, by rows) -> steps per second, smoothed
        self.calls: dict[int, int] = {}

    def best(self, streams: int) -> bool:
        """By rows? Columns unless rows was measured faster."""
        columns, rows = self.speed.get((streams, False)), self.speed.get((streams, True))
        return rows is not None and (columns is None or rows > columns)

    def parts(self, streams: int, steps: int) -> Iterator[tuple[bool, int]]:
        """(by rows, steps) for each part of a call of ``steps`` steps; :meth:`record` each before the next."""
        calls = self.calls[streams] = self.calls.get(streams, 0) + 1
        probes = [way for way in (False, True) if (streams, way) not in self.speed]
        if not probes and calls % self.PROBE_EVERY == 0:
            probes = [not self.best(streams)]
        for way in probes:
            if steps <= self.PROBE_STEPS:
                break
            yield way, self.PROBE_STEPS
            steps -= self.PROBE_STEPS
        yield self.best(streams), steps

    def record(self, streams: int, by_rows: bool, steps: int, seconds: float) -> None:
        if steps < self.PROBE_STEPS or seconds <= 0:  # too short to tell
            return
        key, speed = (streams, by_rows), steps / seconds
        old = self.speed.get(key)
        self.speed[key] = speed if old is None else self.SMOOTHING * old + (1 - self.SMOOTHING) * speed


def default_threads() -> int:
    """One thread per core this process may run on (at most 8), unless WAVENET_NATIVE_THREADS says otherwise."""
    configured = os.environ.get("WAVENET_NATIVE_THREADS")
    if configured:
        try:
            return max(1, int(configured))
        except ValueError:
            raise WavenetError(f"WAVENET_NATIVE_THREADS must be a whole number, got {configured!r}") from None
    return max(1, min(MAX_DEFAULT_THREADS, len(os.sched_getaffinity(0))))


class NativeGenerator(SlotGenerator):
    """The slot generator of :mod:`wavenet.generation.slots`, computed by the C extension."""

    name = "native"
    half_weights = False

    def __init__(self, model: WaveNet, batch_size: int = 1, threads: int | None = None) -> None:
        if _native is None:
            raise WavenetError(
                "the native backend is not built (the C extension wavenet.generation.backends._native is missing)"
            )
        super().__init__(model, batch_size)
        if self.device.type != "cpu" or self.dtype != torch.float32:
            raise WavenetError("the native backend runs float32 models on the CPU")
        self.threads = threads or default_threads()
        # Few streams: threads split every layer's columns. More: each thread runs its own streams
        # (measured on 2 cores: columns win at 1 and 2 streams, rows from 3 on).
        self.rows_from = self.threads + 1
        # Below rows_from: columns or rows, whichever runs faster here and now (None: always columns).
        self.layout: Layout | None = Layout()
        self._t = 0
        self._pack(model)
        self._allocate_state()
        dims = (
            self.cfg_layers,
            self.rp,
            self.gp,
            self.hp,
            self.sp,
            self.cp,
            self.classes,
            self.kernel,
            self.kin,
            batch_size,
            int(self.half_weights),
            self._silence,
            self.config.cond_hop,
            self.config.lpc_order,
            self.config.source_harmonics,
        )
        weights = tuple(t.data_ptr() for t in self._weights) + tuple(t.data_ptr() for t in self._source_tables)
        # A source-filter model's state is SourceState's (slots.py moves, saves and restores it); C reads and writes it.
        history, predicted = (0, 0) if self._source is None else (
            self._source.history.ctypes.data, self._source.predicted.ctypes.data
        )  # fmt: skip
        state = (self._past.data_ptr(), self._speaker_bias.data_ptr(), history, predicted,
                 *(r.data_ptr() for r in self._rings))  # fmt: skip
        self._handle = _native.create(dims, tuple(self.config.dilations), weights, state, self.threads)
        # A conditioned model's frame projections for the current call, in the C code's column order,
        # and a source-filter model's predictors of the same frames.
        self._cond = torch.zeros(0)
        self._cond_offset = torch.zeros(batch_size, dtype=torch.int64)
        self._filters = np.zeros(0)
        self._sine_call: np.ndarray | None = None  # a periodic source's [active][steps][harmonics]
        # Each step's temperature, where a stream draws voiced frames at another.
        self._step_temps: np.ndarray | None = None

    def _pack(self, model: WaveNet) -> None:
        """Copy the weights into the layouts _native.c reads (see its header), padded with zeros.

        Each product's output columns are cut into one equal slice per thread, stored one after
        the other, so each thread streams its own weights contiguously.
        """
        cfg, t = self.config, self.threads
        r, h, s, c = cfg.residual_channels, cfg.gate_channels // 2, cfg.skip_channels, cfg.classes
        self.rp, self.hp, self.sp, self.cp = _pad(r, 8), _pad(h, 8 * t), _pad(s, 8 * t), _pad(c, 8 * t)
        self.gp = 2 * self.hp
        self.classes, self.kernel, self.kin, self.cfg_layers = c, cfg.kernel_size, cfg.input_kernel_size, cfg.layers
        rp, gp, hp, sp, cp, k, n = self.rp, self.gp, self.hp, self.sp, self.cp, self.kernel, cfg.layers
        channel = torch.arange(h)
        self._filter_cols = 16 * (channel // 8) + channel % 8  # conv columns in blocks: 8 filters, 8 gates
        self._gate_cols = self._filter_cols + 8
        f32 = {"dtype": torch.float32}
        with torch.no_grad():
            in_taps = torch.zeros(self.kin, c + 1, rp, **f32)
            in_taps[:, :, :r] = model.input.taps()
            in_bias = torch.zeros(rp, **f32)
            in_bias[:r] = model.input.conv.bias
            conv_w = torch.zeros(n, k * rp, gp, **f32)
            conv_b = torch.zeros(n, gp, **f32)
            skip_w = torch.zeros(n, hp, sp, **f32)
            skip_b = torch.zeros(n, sp, **f32)
            res_w = torch.zeros(n, hp, rp, **f32)
            res_b = torch.zeros(n, rp, **f32)
            for i, block in enumerate(model.blocks):
                w = block.conv.weight  # (G, R, K): output rows [filters; gates], tap 0 the oldest
                for j in range(k):
                    conv_w[i, j * rp : j * rp + r, self._filter_cols] = w[:h, :, j].t()
                    conv_w[i, j * rp : j * rp + r, self._gate_cols] = w[h:, :, j].t()
                conv_b[i, self._filter_cols] = block.conv.bias[:h]
                conv_b[i, self._gate_cols] = block.conv.bias[h:]
                skip_w[i, :h, :s] = block.skip.weight[:, :, 0].t()
                skip_b[i, :s] = block.skip.bias
                if block.residual is not None:
                    res_w[i, :h, :r] = block.residual.weight[:, :, 0].t()
                    res_b[i, :r] = block.residual.bias
            head_w1 = torch.zeros(sp, sp, **f32)
            head_w1[:s, :s] = model.head.hidden.weight[:, :, 0].t()
            head_b1 = torch.zeros(sp, **f32)
            head_b1[:s] = model.head.hidden.bias
            head_w2 = torch.zeros(sp, cp, **f32)
            head_w2[:s, :c] = model.head.out.weight[:, :, 0].t()
            head_b2 = torch.full((cp,), float("-inf"), **f32)
            head_b2[:c] = model.head.out.bias
            # The prediction's and the last excitation's embeddings ([classes][Rp]) and the periodic source's
            # projection ([harmonics][Rp]); empty where the model has none.
            tables = [model.prediction_input.weight, model.excitation_input.weight] if cfg.lpc_order else [None, None]
            tables.append(model.sine_input.weight[:, :, 0].t() if cfg.source_harmonics else None)
            self._source_tables = [torch.zeros(0) if w is None else _padded(w, rp) for w in tables]
        conv_w, skip_w = _slices(conv_w, t), _slices(skip_w, t)
        head_w1, head_w2 = _slices(head_w1, t), _slices(head_w2, t)
        if self.half_weights:  # IEEE half bits; the C code reads them as uint16 and widens them
            conv_w, skip_w, res_w, head_w1, head_w2 = (x.half() for x in (conv_w, skip_w, res_w, head_w1, head_w2))
        self._weights = [
            x.contiguous()
            for x in (
                in_taps,
                in_bias,
                conv_w,
                conv_b,
                skip_w,
                skip_b,
                res_w,
                res_b,
                head_w1,
                head_b1,
                head_w2,
                head_b2,
            )
        ]

    def _allocate_state(self) -> None:
        b, k = self.batch_size, self.kernel
        self._past = torch.full((b, max(1, self.kin - 1)), self.classes, dtype=torch.int64)
        self._speaker_bias = torch.zeros(self.cfg_layers, b, self.gp)
        self._rings = [torch.zeros((k - 1) * d, b, self.rp) for d in self.config.dilations]

    def _reset_state(self, slot: int) -> None:
        self._past[slot] = self.classes
        for ring in self._rings:
            ring[:, slot] = 0
        h = self.model.speaker_embedding.weight[self._speaker[slot]]  # (E,)
        half = self.config.gate_channels // 2
        for i, block in enumerate(self.model.blocks):
            bias = block.speaker.weight @ h  # (G,): filters then gates
            self._speaker_bias[i, slot, self._filter_cols] = bias[:half]
            self._speaker_bias[i, slot, self._gate_cols] = bias[half:]

    def _move_state(self, src: int, dst: int) -> None:
        self._past[dst] = self._past[src]
        for ring in self._rings:
            ring[:, dst] = ring[:, src]
        self._speaker_bias[:, dst] = self._speaker_bias[:, src]

    def _save_state(self, slot: int) -> dict[str, torch.Tensor]:
        state = {"past": self._past[slot], "speaker_bias": self._speaker_bias[:, slot]}
        for i, ring in enumerate(self._rings):
            state[f"ring{i}"] = ring[ring_order(ring.shape[0], self._t, ring.device), slot]  # (size, Rp), oldest first
        return state

    def _load_state(self, slot: int, state: dict[str, torch.Tensor]) -> None:
        self._past[slot] = state["past"]
        self._speaker_bias[:, slot] = state["speaker_bias"]
        for i, ring in enumerate(self._rings):
            ring[ring_order(ring.shape[0], self._t, ring.device), slot] = state[f"ring{i}"]

    def _load_conditioning(self, steps: int, k: int) -> None:
        frames, offsets = project_windows(self.model, self._feeds[:k], self._pos[:k], steps)  # (k, F, L, G)
        half = self.config.gate_channels // 2
        packed = torch.zeros(*frames.shape[:3], self.gp)
        packed[..., self._filter_cols] = frames[..., :half]
        packed[..., self._gate_cols] = frames[..., half:]
        self._cond = packed.contiguous()
        self._cond_offset[:k] = offsets
        if self._source is not None:  # each row's predictors for the same frames: row r's frame i is its a_r + i
            order, hop = self.config.lpc_order, self.config.cond_hop
            filters = np.zeros((k, frames.shape[1], order + 1))
            filters[:, :, 0] = 1.0  # a free slot: no prediction
            for r, feed in enumerate(self._feeds[:k]):
                if feed is not None:
                    first = (int(self._pos[r]) - int(offsets[r])) // hop
                    index = np.minimum(np.arange(first, first + frames.shape[1]), feed.available - 1)
                    filters[r] = feed.filters(order, self.config.f0_channel)[index]
            self._filters = filters
        if self.config.source_harmonics:
            self._sine_call = self._sine_values(k, steps)
        self._step_temps = self._step_temperatures(k, steps)

    def _cond_args(self) -> tuple[int, int, int]:
        if not self.config.conditioned:
            return 0, 0, 0
        return self._cond.data_ptr(), self._cond_offset.data_ptr(), self._cond.shape[1]

    def _filters_arg(self) -> int:
        return 0 if self._source is None else self._filters.ctypes.data

    @staticmethod
    def _array_arg(values: np.ndarray | None) -> int:
        """The address of a per-step array (sines, temperatures) for _native.c; 0 for none."""
        return 0 if values is None else values.ctypes.data

    def run(self, uniforms: torch.Tensor) -> torch.Tensor:
        k, n = uniforms.shape
        self._prepare(n, k)
        uniforms = uniforms.contiguous()
        out = torch.empty(k, n, dtype=torch.long)
        if self.layout is None or k >= self.rows_from or self.threads == 1:
            self._run(uniforms, out, 0, n, k >= self.rows_from)
        else:
            done = 0
            for by_rows, steps in self.layout.parts(k, n):
                seconds = self._run(uniforms, out, done, steps, by_rows)
                self.layout.record(k, by_rows, steps, seconds)
                done += steps
        self._t += n
        self._pos[:k] += n
        return out

    def _run(self, uniforms: torch.Tensor, out: torch.Tensor, start: int, steps: int, by_rows: bool) -> float:
        """Steps [start, start + steps) of the call, one way; returns the seconds they took."""
        k, n = uniforms.shape
        whole = start == 0 and steps == n
        u = uniforms if whole else uniforms[:, start : start + steps].contiguous()
        o = out if whole else torch.empty(k, steps, dtype=torch.long)
        self._cond_offset[:k] += start  # frames are read at offset + step (see _native.c)

        def part(values: np.ndarray | None) -> np.ndarray | None:  # this part's steps of a per-step array
            return values if whole or values is None else np.ascontiguousarray(values[:, start : start + steps])

        sines, temps = part(self._sine_call), part(self._step_temps)
        try:
            with _cores:
                began = time.perf_counter()
                _native.run(
                    self._handle, self._t + start, steps, k, int(by_rows),
                    u.data_ptr(), self._temperature.data_ptr(), self._last.data_ptr(), o.data_ptr(),
                    *self._cond_args(), self._filters_arg(), self._array_arg(sines),
                    self._array_arg(temps),
                )  # fmt: skip
                seconds = time.perf_counter() - began
        finally:
            self._cond_offset[:k] -= start
        if not whole:
            out[:, start : start + steps] = o
        return seconds

    @torch.inference_mode()
    def step(self, codes: torch.Tensor) -> torch.Tensor:
        k = codes.shape[0]
        self._prepare(1, k)
        codes = codes.to(torch.long).contiguous()
        logits = torch.empty(k, self.classes)
        with _cores:
            _native.step(
                self._handle, self._t, k, int(k >= self.rows_from), codes.data_ptr(), logits.data_ptr(),
                *self._cond_args(), self._filters_arg(), self._array_arg(self._sine_call),
            )  # fmt: skip
        self._t += 1
        self._pos[:k] += 1
        return logits


class NativeHalfGenerator(NativeGenerator):
    name = "native-f16"
    half_weights = True
