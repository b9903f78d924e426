"""Running the app under uvicorn: the listening socket's options, graceful shutdown, the exit status.

The listening socket is made here, not by uvicorn, so that every connection accepted from it
inherits two kernel options (Linux copies them from the listener):

- ``SO_SNDBUF`` (``send_buffer_bytes``): the audio the kernel holds for a client that reads
  slowly is bounded, and the stream's own backpressure (``buffer_seconds``) sets in early;
- ``TCP_USER_TIMEOUT`` (``client_timeout`` + 30 s): a connection whose client takes nothing for
  that long (its receive window stays closed) is reset by the kernel. The app drops such a client
  first: ``client_timeout`` after a chunk could not be handed over (:mod:`wavenet_service.streaming`),
  which comes a few seconds after the window closed, once the send buffers are full. The kernel
  then makes sure that the socket and its unsent bytes do not linger after the app let it go.

Exit status: 0 after a normal shutdown (SIGTERM or Ctrl-C), 3 when a model's generation loop
failed more often than ``worker_restarts`` allows, so that a supervisor (Docker's restart
policy, systemd, Kubernetes) starts a fresh process.
"""

from __future__ import annotations

import logging
import socket

import uvicorn

from wavenet.errors import WavenetError
from wavenet.release import Checkpoint
from wavenet_service.app import create_app
from wavenet_service.settings import Settings

log = logging.getLogger(__name__)

EXIT_WORKER_FAILED = 3
KERNEL_TIMEOUT_MARGIN = 30.0  # seconds past client_timeout: the app drops first, the kernel cleans up


def listening_socket(settings: Settings) -> socket.socket:
    """A TCP socket bound to the settings' host and port, with the options its connections inherit."""
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if settings.send_buffer_bytes:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, settings.send_buffer_bytes)
        if hasattr(socket, "TCP_USER_TIMEOUT"):  # Linux
            timeout_ms = int((settings.client_timeout + KERNEL_TIMEOUT_MARGIN) * 1000)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, timeout_ms)
        sock.bind((settings.host, settings.port))
    except OSError as err:
        sock.close()
        raise WavenetError(f"cannot listen on {settings.host}:{settings.port}: {err.strerror or err}") from None
    sock.set_inheritable(True)
    return sock


class _NotForDroppedStreams(logging.Filter):
    """Hides uvicorn's error line for a response the app ended early on purpose.

    A stalled client dropped, or a stream whose generation failed mid-way, ends its response
    short of its Content-Length; uvicorn then logs "ASGI callable returned without completing
    response." at error level. The app has already logged why (a warning that names the model
    and the cause), so this line only alarms.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != "ASGI callable returned without completing response."


def serve(settings: Settings, checkpoints: list[Checkpoint]) -> int:
    """Serve until SIGTERM or Ctrl-C; returns the process's exit status."""
    failed: list[str] = []
    server: uvicorn.Server | None = None

    def on_fatal(model: str, reason: str) -> None:  # from a worker thread
        failed.append(f"{model}: {reason}")
        if server is not None:
            server.should_exit = True  # uvicorn's main loop polls it: a graceful shutdown

    app = create_app(settings, checkpoints, on_fatal=on_fatal)
    sock = listening_socket(settings)
    host, port = sock.getsockname()[:2]
    log.info("listening on http://%s:%d", f"[{host}]" if ":" in host else host, port)
    # On shutdown uvicorn stops accepting, lets streams in flight finish for shutdown_timeout, then
    # cancels them; the lifespan then stops the generation loops.
    config = uvicorn.Config(app, log_level="info", timeout_graceful_shutdown=settings.shutdown_timeout)
    server = uvicorn.Server(config)
    logging.getLogger("uvicorn.error").addFilter(_NotForDroppedStreams())
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    if failed:
        log.critical("exiting with status %d: %s", EXIT_WORKER_FAILED, "; ".join(failed))
        return EXIT_WORKER_FAILED
    return 0
