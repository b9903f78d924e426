"""Continuous batching with backpressure: one generation loop per model, shared by every request.

Each model has a worker thread that owns a slot generator. A request becomes a :class:`Stream`
and waits in a bounded queue until a slot is free; it then joins the running batch at the next
chunk. Streams are kept packed in the first slots, so the loop computes only the running ones.

A stream runs at most ``buffer_seconds`` ahead of what its client has taken. When it gets that
far ahead (its client reads slowly, or not at all) it is *paused*: the generator suspends it
(its state is saved off the slot) and the slot goes to another stream. Once the client has
taken half of that audio, the stream resumes where it stopped, in whichever slot is free.
Paused streams that can go on are served before new ones, whose clients have heard nothing yet.
A client that leaves is removed at once, wherever its stream is: waiting, paused or running.

If the loop fails (a bug), its running and paused streams fail, the model reports itself not
ready with the reason, and the loop restarts with a fresh generator; the waiting streams are
then served. After ``restarts`` failures the model stays failed and ``on_fatal`` is called (the
server then exits with a non-zero status, for its supervisor to restart it).

Audio travels from the worker thread to the request's coroutine through an asyncio queue: the
event loop never waits on generation, and the queue never holds more than the stream's budget.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from wavenet.generation.registry import make_generator
from wavenet.generation.slots import SlotGenerator, SuspendedStream
from wavenet.synthesizer import Plan, Playback, Synthesizer
from wavenet_service.metrics import Metrics

log = logging.getLogger(__name__)

WAIT_POLL = 0.1  # seconds: how often an idle loop with paused streams looks at them again


class QueueFull(Exception):
    """Every slot is busy and the waiting queue is full."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"the server is at capacity; retry in about {retry_after} s")
        self.retry_after = retry_after


class ShuttingDown(Exception):
    """The server is stopping and accepts no new requests."""


class ModelFailed(Exception):
    """The model's generation loop failed; the message says why."""


@dataclass(frozen=True)
class Failure:
    """The end of a stream that could not be completed, with the reason."""

    reason: str


class Stream:
    """One request's audio, produced by the worker thread and consumed by the request's coroutine.

    ``produced`` is written by the worker only and ``consumed`` by the event loop only, so their
    difference, the audio waiting for the client, needs no lock.
    """

    def __init__(self, plan: Plan, loop: asyncio.AbstractEventLoop, mu: int) -> None:
        self.plan = plan
        self.playback = Playback(mu, plan)  # its codes as PCM, piece after piece
        self.loop = loop
        self.queue: asyncio.Queue[bytes | Failure | None] = asyncio.Queue()
        self.cancelled = threading.Event()
        self.submitted = time.perf_counter()
        self.remaining = plan.samples  # samples still to generate
        self.produced = 0  # samples handed to the event loop
        self.consumed = 0  # samples the client has taken
        self.saved: SuspendedStream | None = None  # while paused
        self.engine: ModelEngine | None = None

    @property
    def buffered(self) -> int:
        """Samples generated that the client has not taken yet."""
        return self.produced - self.consumed

    def push(self, item: bytes | Failure | None) -> None:
        """From the worker thread: hand a chunk (or the end: None, or a Failure) to the event loop."""
        try:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, item)
        except RuntimeError:  # the event loop is closed: nobody is listening any more
            self.cancelled.set()

    async def next(self) -> bytes | Failure | None:
        return await self.queue.get()

    def taken(self, samples: int) -> None:
        """From the event loop: the client has taken ``samples`` more; a paused stream may go on."""
        self.consumed += samples
        if self.saved is not None and self.engine is not None:
            self.engine.wake()

    def cancel(self) -> None:
        """The client is gone (or never came): stop generating for it, wherever it is."""
        if not self.cancelled.is_set():
            self.cancelled.set()
            if self.engine is not None:
                self.engine.withdraw(self)


class ModelEngine:
    """The generation loop of one model."""

    def __init__(
        self,
        name: str,
        synthesizer: Synthesizer,
        *,
        max_batch: int,
        queue_size: int,
        chunk_seconds: float,
        buffer_seconds: float,
        metrics: Metrics,
        restarts: int = 3,
        on_fatal: Callable[[str, str], None] | None = None,
    ) -> None:
        self.name = name
        self.synthesizer = synthesizer  # checks requests and plans them; this loop generates the plans
        self.checkpoint = checkpoint = synthesizer.checkpoint
        self.max_batch = max_batch
        self.capacity = max_batch + queue_size  # streams accepted at once: running, paused and waiting
        rate = checkpoint.config.sample_rate
        self.chunk = max(1, round(chunk_seconds * rate))
        self.high = max(self.chunk, round(buffer_seconds * rate))  # pause a stream this far ahead
        self.low = self.high // 2  # and resume it once its client has caught up this far
        self.backend = synthesizer.backend
        self.generator: SlotGenerator = make_generator(checkpoint.model, max_batch, self.backend)
        self.metrics = metrics
        self.restarts = restarts
        self.on_fatal = on_fatal
        self.failures = 0
        self.problem: str | None = None  # why the model is not ready (restarting or failed)
        self.failed = False  # for good: restarts exhausted
        self._waiting: deque[Stream] = deque()  # never started, first come first served
        self._paused: list[Stream] = []  # started, suspended, in the order they paused
        self._slots: list[Stream] = []  # slot i holds self._slots[i]; always packed at the front
        self._cond = threading.Condition()
        self._accepting = True
        self._stopping = False
        self._speed = 0.0  # samples per second per stream, last chunk
        self._thread = threading.Thread(target=self._run, name=f"generate-{name}", daemon=True)

    @property
    def sample_rate(self) -> int:
        return self.checkpoint.config.sample_rate

    @property
    def ready(self) -> bool:
        return self.problem is None and self._thread.is_alive()

    def start(self, warmup: bool = True) -> None:
        if warmup:
            self._warm_up()
        self._thread.start()

    def _warm_up(self) -> None:
        """Compile, allocate and page in the weights before the first real request.

        At every power of two of running streams up to the batch (and the batch itself): the
        CUDA-graph backend captures one graph per such bucket, which would otherwise stall the
        first request that reaches it.
        """
        cfg, samples = self.checkpoint.config, min(self.chunk, 256)
        frames = np.zeros((-(-samples // cfg.cond_hop), cfg.cond_channels), np.float32) if cfg.conditioned else None
        sizes = sorted({min(1 << i, self.max_batch) for i in range(self.max_batch.bit_length() + 1)})
        for active in sizes:
            for slot in range(active):
                self.generator.reset(slot, seed=slot, frames=frames)
            self.generator.generate(samples, active=active)
            for slot in range(active):
                self.generator.release(slot)

    def admit(self) -> None:
        """Raise what :meth:`submit` would raise now (failed, shutting down, full), queuing nothing.

        For requests whose stream costs work to prepare (text is planned first): a full server
        answers them at once instead of after the work.
        """
        with self._cond:
            self._admit()

    def _admit(self) -> None:
        if self.failed:
            raise ModelFailed(self.problem)
        if not self._accepting:
            raise ShuttingDown()
        if len(self._slots) + len(self._paused) + len(self._waiting) >= self.capacity:
            raise QueueFull(self._retry_after())

    def submit(self, stream: Stream) -> None:
        with self._cond:
            self._admit()
            stream.engine = self
            self._waiting.append(stream)
            self._update_gauges()
            self._cond.notify()

    def withdraw(self, stream: Stream) -> None:
        """Forget a cancelled stream at once if it waits or is paused; a running one leaves at the next chunk."""
        with self._cond:
            if stream in self._waiting:
                self._waiting.remove(stream)
            elif stream in self._paused:
                self._paused.remove(stream)
                stream.saved = None
            self._update_gauges()
            self._cond.notify()

    def wake(self) -> None:
        """A paused stream's client has taken audio: let the loop see whether it can go on."""
        with self._cond:
            self._cond.notify()

    def _retry_after(self) -> int:
        """Seconds until the first running stream should finish, at the current speed."""
        if not self._slots or self._speed <= 0:
            return 1
        soonest = min(s.remaining for s in self._slots)
        return int(min(60, max(1, math.ceil(soonest / self._speed))))

    def stop(self, timeout: float) -> None:
        """Stop accepting, let running, paused and waiting streams finish for up to ``timeout``, then end them."""
        with self._cond:
            self._accepting = False
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._cond:
                if not self._slots and not self._paused and not self._waiting:
                    break
            time.sleep(0.05)
        with self._cond:
            for stream in [*self._slots, *self._paused, *self._waiting]:
                stream.push(Failure("the server shut down before the audio was complete"))
                stream.cancelled.set()
            self._paused.clear()
            self._waiting.clear()
            self._stopping = True
            self._cond.notify()
        if self._thread.is_alive():
            self._thread.join(timeout=max(5.0, 2 * self.chunk / self.sample_rate + 1))

    # The worker thread.

    def _run(self) -> None:
        while True:
            try:
                self._loop()
                return
            except Exception as err:  # a bug: fail what it touched, then restart or give up
                log.exception("generation loop of %s failed", self.name)
                if not self._recover(err):
                    return

    def _loop(self) -> None:
        while True:
            with self._cond:
                self._schedule()
                while not self._slots and not self._stopping:
                    self._cond.wait(WAIT_POLL if self._paused else None)
                    self._schedule()
                if self._stopping and not self._slots:
                    return
            self._step()

    def _schedule(self) -> None:
        """Drop streams whose clients left, pause those too far ahead, resume and admit (lock held)."""
        for slot in reversed(range(len(self._slots))):  # from the end: _vacate moves the last stream
            stream = self._slots[slot]
            if stream.cancelled.is_set():
                self._vacate(slot)
            elif stream.buffered >= self.high:
                stream.saved = self.generator.suspend(slot)
                self._vacate(slot)
                self._paused.append(stream)
        for stream in list(self._paused):  # their clients are listening: before new streams
            if len(self._slots) >= self.max_batch:
                break
            if stream.buffered <= self.low:
                self._paused.remove(stream)
                self._slots.append(stream)  # first: should resuming fail, the failure reaches this stream
                self.generator.resume(len(self._slots) - 1, stream.saved)
                stream.saved = None
        while self._waiting and len(self._slots) < self.max_batch:
            stream = self._waiting.popleft()
            self._slots.append(stream)
            plan = stream.plan
            slot = len(self._slots) - 1
            self.generator.reset(
                slot, speaker=plan.speaker, temperature=plan.temperature, seed=plan.seed, frames=plan.frames,
                voiced_scale=plan.voiced_scale,
            )  # fmt: skip
        self._update_gauges()

    def _vacate(self, slot: int) -> None:
        """Free a slot, moving the last running stream into the gap to keep them packed (lock held)."""
        last = len(self._slots) - 1
        if slot == last:
            self.generator.release(slot)
        else:
            self.generator.move(last, slot)
        self._slots[slot] = self._slots[last]
        self._slots.pop()

    def _step(self) -> None:
        active = len(self._slots)
        # No stream is asked for more than it has left: a conditioned stream's frames end there.
        n = min(self.chunk, min(stream.remaining for stream in self._slots))
        start = time.perf_counter()
        codes = self.generator.generate(n, active=active)  # (active, n)
        elapsed = time.perf_counter() - start
        self._speed = n / elapsed
        self.metrics.samples_generated.labels(self.name).inc(active * n)
        self.metrics.generation_speed.labels(self.name).set(active * n / elapsed)
        self.metrics.real_time_factor.labels(self.name).set(self._speed / self.sample_rate)
        finished = []
        for slot, stream in enumerate(self._slots):
            if stream.cancelled.is_set():  # dropped at the next schedule
                continue
            take = min(n, stream.remaining)
            if stream.produced == 0:
                self.metrics.time_to_first_byte.labels(self.name).observe(time.perf_counter() - stream.submitted)
            stream.push(stream.playback(codes[slot, :take]).astype("<i2").tobytes())
            stream.produced += take
            stream.remaining -= take
            if stream.remaining == 0:
                stream.push(None)
                finished.append(slot)
        if finished:
            with self._cond:
                for slot in reversed(finished):
                    self._vacate(slot)
                self._update_gauges()

    def _update_gauges(self) -> None:
        streams = [*self._slots, *self._paused]
        self.metrics.queue_depth.labels(self.name).set(len(self._waiting))
        self.metrics.active_streams.labels(self.name).set(len(self._slots))
        self.metrics.paused_streams.labels(self.name).set(len(self._paused))
        buffered = sum(max(0, s.buffered) for s in streams) / self.sample_rate
        self.metrics.buffered_audio.labels(self.name).set(buffered)

    def _recover(self, err: Exception) -> bool:
        """After a failure: end the streams in flight, then restart with a fresh generator, or give up."""
        reason = f"generation failed ({type(err).__name__}: {err})"
        with self._cond:
            self.failures += 1
            self.problem = reason
            self.metrics.worker_failures.labels(self.name).inc()
            for stream in [*self._slots, *self._paused]:
                stream.push(Failure(reason))
                stream.cancelled.set()
            self._slots.clear()
            self._paused.clear()
            give_up = self.failures > self.restarts or self._stopping
            if give_up:
                self.failed = True
                self._accepting = False
                for stream in self._waiting:
                    stream.push(Failure(reason))
                    stream.cancelled.set()
                self._waiting.clear()
            self._update_gauges()
        if give_up:
            log.critical("%s: %s; %d restart(s) allowed, giving up", self.name, reason, self.restarts)
            if self.on_fatal is not None:
                self.on_fatal(self.name, reason)
            return False
        log.warning(
            "%s: restarting its generation loop (failure %d of %d allowed)", self.name, self.failures, self.restarts
        )
        try:
            self.generator = make_generator(self.checkpoint.model, self.max_batch, self.backend)
            self._warm_up()
        except Exception as again:
            log.exception("%s: the generation loop cannot restart", self.name)
            return self._recover(again)
        with self._cond:
            self.problem = None
        return True
