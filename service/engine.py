"""Continuous batching: one generation loop per model, shared by every request for it.

Each model has a worker thread that owns a slot generator. A request becomes a
:class:`Stream`; it waits in a bounded queue until a slot is free, joins the running batch at
the next chunk, and leaves it when its audio is complete or its client is gone. Streams are
kept packed in the first slots, so the loop computes only as many streams as are running.
Audio travels from the worker thread to the request's coroutine through an asyncio queue:
the event loop never waits on generation.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import numpy as np
from wavenet_service.metrics import Metrics

from wavenet.backends import make_generator
from wavenet.checkpoint import Checkpoint
from wavenet.mulaw import decode, to_pcm16

log = logging.getLogger(__name__)


class QueueFull(Exception):
    """Every slot is busy and the waiting queue is full."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"the server is at capacity; retry in about {retry_after} s")
        self.retry_after = retry_after


class ShuttingDown(Exception):
    """The server is stopping and accepts no new requests."""


@dataclass(frozen=True)
class Job:
    speaker: int
    samples: int
    temperature: float
    seed: int


@dataclass
class Stream:
    """One request's audio, produced by the worker thread and consumed by the request's coroutine."""

    job: Job
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)
    cancelled: threading.Event = field(default_factory=threading.Event)
    submitted: float = field(default_factory=time.perf_counter)
    remaining: int = 0

    def __post_init__(self) -> None:
        self.remaining = self.job.samples

    def push(self, item: bytes | None) -> None:
        """From the worker thread: hand a chunk (or None, the end) to the event loop."""
        try:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, item)
        except RuntimeError:  # the event loop is closed: nobody is listening any more
            self.cancelled.set()

    def cancel(self) -> None:
        self.cancelled.set()

    async def chunks(self) -> AsyncIterator[bytes]:
        while True:
            item = await self.queue.get()
            if item is None:
                return
            yield item


class ModelEngine:
    """The generation loop of one model."""

    def __init__(
        self,
        name: str,
        checkpoint: Checkpoint,
        *,
        max_batch: int,
        queue_size: int,
        chunk_seconds: float,
        backend: str,
        metrics: Metrics,
    ) -> None:
        self.name = name
        self.checkpoint = checkpoint
        self.max_batch = max_batch
        self.queue_size = queue_size
        self.chunk = max(1, round(chunk_seconds * checkpoint.config.sample_rate))
        self.generator = make_generator(checkpoint.model, max_batch, backend)
        self.metrics = metrics
        self._waiting: deque[Stream] = deque()
        self._slots: list[Stream] = []  # slot i holds self._slots[i]; always packed at the front
        self._cond = threading.Condition()
        self._accepting = True
        self._stopping = False
        self._speed = 0.0  # samples per second per stream, last chunk
        self._thread = threading.Thread(target=self._run, name=f"generate-{name}", daemon=True)

    @property
    def sample_rate(self) -> int:
        return self.checkpoint.config.sample_rate

    def start(self, warmup: bool = True) -> None:
        if warmup:  # compile, allocate and page in the weights before the first real request
            self.generator.reset(0, seed=0)
            self.generator.generate(min(self.chunk, 256), active=1)
            self.generator.release(0)
        self._thread.start()

    def submit(self, stream: Stream) -> None:
        with self._cond:
            if not self._accepting:
                raise ShuttingDown()
            if len(self._slots) + len(self._waiting) >= self.max_batch + self.queue_size:
                raise QueueFull(self._retry_after())
            self._waiting.append(stream)
            self.metrics.queue_depth.labels(self.name).set(len(self._waiting))
            self._cond.notify()

    def _retry_after(self) -> int:
        """Seconds until the first running stream should finish, at the current speed."""
        if not self._slots or self._speed <= 0:
            return 1
        soonest = min(s.remaining for s in self._slots)
        return int(min(60, max(1, math.ceil(soonest / self._speed))))

    def stop(self, timeout: float) -> None:
        """Stop accepting, let running and waiting streams finish for up to ``timeout``, then cancel them."""
        with self._cond:
            self._accepting = False
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._cond:
                if not self._slots and not self._waiting:
                    break
            time.sleep(0.05)
        with self._cond:
            for stream in [*self._slots, *self._waiting]:
                stream.cancel()
            self._stopping = True
            self._cond.notify()
        if self._thread.is_alive():
            self._thread.join(timeout=max(5.0, 2 * self.chunk / self.sample_rate + 1))

    # The worker thread.

    def _admit(self) -> None:
        """Move waiting streams into free slots (called with the lock held)."""
        while self._waiting and len(self._slots) < self.max_batch:
            stream = self._waiting.popleft()
            if stream.cancelled.is_set():
                stream.push(None)
                continue
            job = stream.job
            self.generator.reset(len(self._slots), speaker=job.speaker, temperature=job.temperature, seed=job.seed)
            self._slots.append(stream)
        self.metrics.queue_depth.labels(self.name).set(len(self._waiting))
        self.metrics.active_streams.labels(self.name).set(len(self._slots))

    def _run(self) -> None:
        try:
            while True:
                with self._cond:
                    self._admit()
                    while not self._slots and not self._stopping:
                        self._cond.wait()
                        self._admit()
                    if self._stopping and not self._slots:
                        for stream in self._waiting:
                            stream.push(None)
                        self._waiting.clear()
                        return
                self._step()
        except Exception:  # a bug: end every stream so that no client hangs, and log it
            log.exception("generation loop of %s failed", self.name)
            with self._cond:
                self._accepting = False
                for stream in [*self._slots, *self._waiting]:
                    stream.cancel()
                    stream.push(None)

    def _step(self) -> None:
        active = len(self._slots)
        start = time.perf_counter()
        codes = self.generator.generate(self.chunk, active=active)  # (active, chunk)
        elapsed = time.perf_counter() - start
        self._speed = self.chunk / elapsed
        self.metrics.samples_generated.labels(self.name).inc(active * self.chunk)
        self.metrics.generation_speed.labels(self.name).set(active * self.chunk / elapsed)
        self.metrics.real_time_factor.labels(self.name).set(self._speed / self.sample_rate)
        finished = []
        for slot, stream in enumerate(self._slots):
            if stream.cancelled.is_set():  # the client left, or shutdown ran out of time
                stream.push(None)
                finished.append(slot)
                continue
            take = min(self.chunk, stream.remaining)
            if stream.remaining == stream.job.samples:
                self.metrics.time_to_first_byte.labels(self.name).observe(time.perf_counter() - stream.submitted)
            stream.push(pcm_bytes(codes[slot, :take], self.checkpoint.config.mu))
            stream.remaining -= take
            if stream.remaining == 0:
                stream.push(None)
                finished.append(slot)
        if finished:
            with self._cond:
                self._release(finished)

    def _release(self, slots: list[int]) -> None:
        """Free finished slots, moving the last running streams into the gaps to keep them packed."""
        for slot in sorted(slots, reverse=True):
            last = len(self._slots) - 1
            if slot == last:
                self.generator.release(slot)
            else:
                self.generator.move(last, slot)
            self._slots[slot] = self._slots[last]
            self._slots.pop()
        self.metrics.active_streams.labels(self.name).set(len(self._slots))


def pcm_bytes(codes: np.ndarray, mu: int) -> bytes:
    """μ-law codes as little-endian 16-bit PCM, the body of a WAV file."""
    return to_pcm16(decode(codes, mu)).astype("<i2").tobytes()
