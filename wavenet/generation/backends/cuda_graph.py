"""The GPU backend: Fast WaveNet steps captured in CUDA graphs and replayed a chunk at a time.

A generation step on a GPU is a few hundred tiny kernels; launched one by one from Python, the
launches cost more than the arithmetic. Here a block of ``steps_per_graph`` steps (every layer,
the head and the sampling) is captured once per batch-size bucket and replayed: one launch per
block, no host synchronisation inside a chunk. For that, everything that changes from step to
step lives on the device: the step counter (ring-buffer positions are computed from it), the
uniforms (copied in once per block from the chunk drawn on the host) and the sampled codes.

On a CPU the same device-indexed step runs eagerly, which is how the tests check this code
without a GPU: its logits and samples must match the plain torch generator's.
"""

from __future__ import annotations

import torch

from wavenet.generation.backends.cached import CachedGenerator
from wavenet.generation.sampling import sample_codes
from wavenet.model import WaveNet


class GraphGenerator(CachedGenerator):
    name = "cuda-graph"
    takes_source = False  # not yet: source-filter models run on the torch backend

    def __init__(self, model: WaveNet, batch_size: int = 1, steps_per_graph: int = 32) -> None:
        super().__init__(model, batch_size)
        dev = self.device
        self.steps_per_graph = steps_per_graph
        self._t_dev = torch.zeros(1, dtype=torch.long, device=dev)  # the step counter, on the device
        self._block_uniforms = torch.full((batch_size, steps_per_graph), 0.5, device=dev)
        self._block_codes = torch.zeros(batch_size, steps_per_graph, dtype=torch.long, device=dev)
        self._graphs: dict[int, torch.cuda.CUDAGraph] = {}
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

    def _block(self, b: int) -> None:
        """steps_per_graph steps of the first b slots, reading and writing the block buffers."""
        temperature = self._temperature[:b]
        for i in range(self.steps_per_graph):
            codes = sample_codes(self._step(self._last[:b]), temperature, self._block_uniforms[:b, i], self._silence)
            self._last[:b] = codes
            self._block_codes[:b, i] = codes

    def _graph(self, b: int) -> torch.cuda.CUDAGraph:
        if b not in self._graphs:
            # Capture on a copy of the state: warm-up and capture run the steps once, and the real
            # state must not move. torch.cuda.graphs' recipe: warm up on a side stream, then capture.
            saved = self._snapshot()
            stream = torch.cuda.Stream(self.device)
            stream.wait_stream(torch.cuda.current_stream(self.device))
            with torch.cuda.stream(stream), torch.inference_mode():
                self._block(b)
            torch.cuda.current_stream(self.device).wait_stream(stream)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph), torch.inference_mode():
                self._block(b)
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
        return [self._t_dev, self._past_codes, self._last, *self._buffers, *extra]

    @torch.inference_mode()
    def run(self, uniforms: torch.Tensor) -> torch.Tensor:
        k, n = uniforms.shape
        if self.device.type != "cuda":
            return super().run(uniforms)  # the same device-indexed steps, eagerly
        b, m = self._bucket(k), self.steps_per_graph
        graph = self._graph(b)
        out = torch.empty(k, n, dtype=torch.long, device=self.device)
        done = 0
        while n - done >= m:
            self._prepare(m, b)  # a conditioned block's frames, into the buffer the graph reads
            self._block_uniforms[:k].copy_(uniforms[:, done : done + m])
            graph.replay()
            out[:, done : done + m] = self._block_codes[:k]
            self._pos[:k] += m
            done += m
        if done < n:  # the rest of the chunk, step by step
            out[:, done:] = super().run(uniforms[:, done:])
        return out
