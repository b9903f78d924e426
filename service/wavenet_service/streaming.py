"""The streamed audio response: headers with the first audio, backpressure, stalled and vanished clients.

Starlette's StreamingResponse sends its headers at once and notices a client that left only
from inside its body iterator, which never starts if the client leaves first. This response
owns a stream's whole life instead:

- It listens for the client's disconnect from the moment it is called, and cancels the stream
  wherever it is (waiting for a slot, paused, or running), whatever happens in between.
- It sends the status and headers together with the first audio, so a stream that fails before
  any audio gets a real error status (503) instead of a 200 with a broken body.
- Each chunk counts as taken by the client once the server's transport has accepted it; the
  engine pauses a stream that runs too far ahead of that (``buffer_seconds``).
- A chunk that the client does not take within ``client_timeout`` (its connection's buffers are
  full and it reads nothing) ends the response: the client is dropped and its stream freed.
- A format that does not stream (FLAC, Opus, MP3: :mod:`wavenet_service.formats`) is gathered as
  it is generated (each chunk counts as taken), encoded once complete, and sent in one piece.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from wavenet_service.batching import Failure, Stream
from wavenet_service.errors import error_body
from wavenet_service.formats import AudioFormat
from wavenet_service.metrics import Metrics

log = logging.getLogger(__name__)


class AudioResponse(Response):
    """Audio streamed as the engine generates it (or encoded once complete); see the module's docstring."""

    media_type = "audio/wav"

    def __init__(
        self,
        stream: Stream,
        fmt: AudioFormat,
        sample_rate: int,
        headers: dict[str, str],
        *,
        model: str,
        client_timeout: float,
        metrics: Metrics,
        on_close: Callable[[], None] = lambda: None,
    ) -> None:
        self.stream = stream
        self.fmt, self.sample_rate = fmt, sample_rate
        self.header = fmt.header(stream.plan.samples, sample_rate)
        self.media_type = fmt.media_type
        self.model = model
        self.client_timeout = client_timeout
        self.metrics = metrics
        self.on_close = on_close
        self.status_code = 200
        self.background = None
        self.init_headers(headers)
        self.outcome = "client_gone"
        self.path = ""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.path = scope["path"]
        sender = asyncio.ensure_future(self._send_all(send))
        watcher = asyncio.ensure_future(_disconnected(receive))
        try:
            await asyncio.wait({sender, watcher}, return_when=asyncio.FIRST_COMPLETED)
            if not sender.done():  # the client left first
                sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await sender
        finally:
            watcher.cancel()
            if not sender.done():  # this task itself was cancelled (the server is stopping)
                sender.cancel()
            self.stream.cancel()  # a no-op for a completed stream; frees its slot or queue place otherwise
            self.metrics.streams.labels(self.model, self.outcome).inc()
            self.on_close()

    async def _send_all(self, send: Send) -> None:
        first = await self.stream.next()
        if isinstance(first, Failure):  # nothing sent yet: the status can still say so
            self.outcome = "shutdown" if "shut down" in first.reason else "failed"
            await self._send_failure(send, first)
            return
        if not self.fmt.streams:
            await self._send_encoded(send, first)
            return
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        chunk: bytes | Failure | None = first
        data = self.header + first if first is not None else self.header
        while True:
            more = chunk is not None
            if not await self._send_within_timeout(send, data, more):
                return
            if chunk is None:
                self.outcome = "completed"
                return
            self.stream.taken(len(chunk) // 2)
            chunk = await self.stream.next()
            if isinstance(chunk, Failure):  # after the first byte the status cannot change: cut the body
                self.outcome = "shutdown" if "shut down" in chunk.reason else "failed"
                log.warning("%s: stream ended early: %s", self.model, chunk.reason)
                return
            data = chunk if chunk is not None else b""

    async def _send_encoded(self, send: Send, first: bytes | None) -> None:
        """Gather every chunk, encode them, send the file: its status after the whole audio, so a failure is a 503."""
        pieces, chunk = [], first
        while chunk is not None:
            pieces.append(chunk)
            self.stream.taken(len(chunk) // 2)
            chunk = await self.stream.next()
            if isinstance(chunk, Failure):
                self.outcome = "shutdown" if "shut down" in chunk.reason else "failed"
                await self._send_failure(send, chunk)
                return
        data = await asyncio.to_thread(self.fmt.encode, b"".join(pieces), self.sample_rate)
        headers = [(k, v) for k, v in self.raw_headers if k != b"content-length"]
        await send(_start(self.status_code, headers, data))
        if await self._send_within_timeout(send, data, False):
            self.outcome = "completed"

    async def _send_failure(self, send: Send, failure: Failure) -> None:
        """A 503 saying why the stream failed, before any audio was sent."""
        status, body = error_body(self.path, 503, f"model {self.model}: {failure.reason}")
        data = json.dumps(body).encode()
        await send(_start(status, [(b"content-type", b"application/json"), (b"retry-after", b"5")], data))
        await send({"type": "http.response.body", "body": data})

    async def _send_within_timeout(self, send: Send, data: bytes, more: bool) -> bool:
        """Send one body message; False when the client took nothing for ``client_timeout`` seconds."""
        try:
            await asyncio.wait_for(
                send({"type": "http.response.body", "body": data, "more_body": more}), self.client_timeout
            )
        except TimeoutError:
            self.outcome = "stalled"
            log.warning(
                "%s: dropped a client that took no audio for %g s (%d of %d samples sent)",
                self.model,
                self.client_timeout,
                self.stream.consumed,
                self.stream.plan.samples,
            )
            return False
        return True


async def _disconnected(receive: Receive) -> None:
    """Returns when the client has disconnected (the request body was read before the route ran)."""
    while (await receive())["type"] != "http.disconnect":
        pass


def _start(status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> dict:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    return {"type": "http.response.start", "status": status, "headers": headers}
