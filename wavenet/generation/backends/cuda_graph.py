"""The GPU backend: Fast WaveNet steps captured in CUDA graphs and replayed a chunk at a time.

A generation step on a GPU is a few hundred tiny kernels; launched one by one from Python, the
launches cost more than the arithmetic. Here a block of ``steps_per_graph`` steps (every layer,
the head and the sampling) is captured once per batch-size bucket and replayed: one launch per
block, no host synchronisation inside a chunk. For that, everything that changes from step to
step lives on the device: the step counter (ring-buffer positions are computed from it), the
uniforms (copied in once per block from the chunk drawn on the host) and the sampled codes.

A source-filter model's filter state (its last samples and prediction) lives on the device too
(:class:`wavenet.excitation.DeviceSourceState`), and so do each block's per-step inputs that the
host computes from the frames beforehand: the predictors, a periodic source's sines and, where a
stream draws voiced frames cooler, the temperatures.

On a CPU the same device-indexed steps run eagerly, block by block, which is how the tests check
this code without a GPU: its logits and samples must match the plain torch generator's.
"""

from __future__ import annotations

import torch

from wavenet.excitation import DeviceSourceState
from wavenet.generation.backends.cached import CachedGenerator
from wavenet.generation.sampling import sample_codes
from wavenet.model import WaveNet


class GraphGenerator(CachedGenerator):
    name = "cuda-graph"

    def __init__(self, model: WaveNet, batch_size: int = 1, steps_per_graph: int = 32) -> None:
        super().__init__(model, batch_size)
        dev = self.device
        self.steps_per_graph = steps_per_graph
        self._t_dev = torch.zeros(1, dtype=torch.long, device=dev)  # the step counter, on the device
        self._block_uniforms = torch.full((batch_size, steps_per_graph), 0.5, device=dev)
        self._block_codes = torch.zeros(batch_size, steps_per_graph, dtype=torch.long, device=dev)
        self._graphs: dict[int, torch.cuda.CUDAGraph] = {}
        cfg, m = self.config, steps_per_graph
        if cfg.lpc_order:  # the filter's state on the device, and each block's predictors
            self._source = DeviceSourceState(batch_size, cfg.lpc_order, cfg.mu, dev)
            self._block_filters = torch.zeros(batch_size, m, cfg.lpc_order + 1, dtype=torch.float64, device=dev)
        if cfg.source_harmonics:
            self._block_sines = torch.zeros(batch_size, m, cfg.source_harmonics, device=dev, dtype=self.dtype)
        if cfg.f0_channel:  # voiced frames may be drawn at another temperature: one per step
            self._block_temperatures = torch.ones(batch_size, m, device=dev, dtype=self.dtype)
        if self.config.conditioned:  # room for a block's frames, allocated once: graphs read this buffer
            hop = self.config.cond_hop
            frames = (hop - 1 + steps_per_graph - 1) // hop + 2  # as project_windows asks, at most
            self._cond_frames = torch.zeros(batch_size, frames, *self._cond_frames.shape[2:], device=dev)

    def _bucket(self, k: int) -> int:
        """Graphs have static shapes: one per power of two of running streams (free slots ride along)."""
        size = 1
        while size < k:
            size *= 2
        return min(size, self.batch_size)

    # The step itself is CachedGenerator's; only the ring position lives on the device, so that
    # a captured graph reads, writes and advances it without the host (capturable indexing).
    def _clock(self) -> torch.Tensor:
        return self._t_dev

    def _advance(self) -> None:
        self._t_dev.add_(1)

    def _read(self, buf: torch.Tensor, position: torch.Tensor, b: int) -> torch.Tensor:
        return buf.index_select(0, position)[0, :b]

    def _write(self, buf: torch.Tensor, position: torch.Tensor, x: torch.Tensor) -> None:
        buf[:, : x.shape[0]].index_copy_(0, position, x[None])

    def _block(self, b: int, steps: int) -> None:
        """``steps`` steps of the first b slots, reading and writing the block buffers."""
        cfg = self.config
        for i in range(steps):
            last = self._last[:b]
            source = self._source.advance(last, self._block_filters[:b, i]) if cfg.lpc_order else None
            sines = self._block_sines[:b, i] if cfg.source_harmonics else None
            temperature = self._block_temperatures[:b, i] if cfg.f0_channel else self._temperature[:b]
            codes = sample_codes(
                self._step(last, source, sines), temperature, self._block_uniforms[:b, i], self._silence
            )
            if cfg.lpc_order:  # the excitation drawn, and the prediction: the sample
                codes = self._source.sample(codes)
            self._last[:b] = codes
            self._block_codes[:b, i] = codes

    def _load_block(self, steps: int, b: int) -> None:
        """The first b slots' per-step inputs for the next ``steps`` steps, into the buffers a block reads."""
        cfg = self.config
        if cfg.lpc_order:
            self._block_filters[:b, :steps] = torch.from_numpy(self._filter_values(b, steps))
        if cfg.source_harmonics:
            self._block_sines[:b, :steps] = torch.from_numpy(self._sine_values(b, steps))
        if cfg.f0_channel:
            per_step = self._step_temperatures(b, steps)
            if per_step is None:
                self._block_temperatures[:b, :steps] = self._temperature[:b, None]
            else:
                self._block_temperatures[:b, :steps] = torch.from_numpy(per_step)

    def _advance_source(self, codes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
        if self._source is None:
            return None
        filters = torch.from_numpy(self._filter_values(codes.shape[0], 1)[:, 0]).to(self.device)
        return self._source.advance(codes, filters)

    def _graph(self, b: int) -> torch.cuda.CUDAGraph:
        if b not in self._graphs:
            # Capture on a copy of the state: warm-up and capture run the steps once, and the real
            # state must not move. torch.cuda.graphs' recipe: warm up on a side stream, then capture.
            saved = self._snapshot()
            stream = torch.cuda.Stream(self.device)
            stream.wait_stream(torch.cuda.current_stream(self.device))
            with torch.cuda.stream(stream), torch.inference_mode():
                self._block(b, self.steps_per_graph)
            torch.cuda.current_stream(self.device).wait_stream(stream)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph), torch.inference_mode():
                self._block(b, self.steps_per_graph)
            self._restore(saved)
            self._graphs[b] = graph
        return self._graphs[b]

    def _snapshot(self) -> list[torch.Tensor]:
        return [t.clone() for t in self._state()]

    def _restore(self, saved: list[torch.Tensor]) -> None:
        for t, s in zip(self._state(), saved, strict=True):
            t.copy_(s)

    def _state(self) -> list[torch.Tensor]:
        extra = [self._cond_offset] if self.config.conditioned else []
        extra += self._source.state() if self.config.lpc_order else []
        return [self._t_dev, self._past_codes, self._last, *self._buffers, *extra]

    @torch.inference_mode()
    def run(self, uniforms: torch.Tensor) -> torch.Tensor:
        """Blocks of ``steps_per_graph`` steps: each a graph replay on a GPU (the last, shorter one and
        every block on a CPU run the same steps eagerly)."""
        k, n = uniforms.shape
        m = self.steps_per_graph
        out = torch.empty(k, n, dtype=torch.long, device=self.device)
        done = 0
        while done < n:
            steps = min(m, n - done)
            graph = self.device.type == "cuda" and steps == m
            b = self._bucket(k) if graph else k  # a graph's slots: a power of two (free slots ride along)
            self._prepare(steps, b)  # a conditioned block's frames, into the buffer the graph reads
            self._load_block(steps, b)
            self._block_uniforms[:k, :steps].copy_(uniforms[:, done : done + steps])
            if graph:
                self._graph(b).replay()
            else:
                self._block(k, steps)
            out[:, done : done + steps] = self._block_codes[:k, :steps]
            self._pos[:k] += steps
            done += steps
        return out
