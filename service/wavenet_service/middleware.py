"""ASGI middleware: body size limit, API key, request counting. Each answers before the app when it must."""

from __future__ import annotations

import hmac
import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wavenet_service.errors import error_body
from wavenet_service.metrics import Metrics

OPEN_PATHS = {"/healthz", "/readyz", "/metrics"}


class BodyLimit:
    """Answers 413 to request bodies over ``limit`` bytes (``uploads[path]`` for upload routes), declared or streamed.

    A body without a declared length is read up to the limit before the app sees it, then replayed.
    """

    def __init__(self, app: ASGIApp, limit: int, uploads: dict[str, int] | None = None) -> None:
        self.app, self.default, self.uploads = app, limit, uploads or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = self.uploads.get(scope["path"], self.default)
        too_large = f"body: larger than {limit} bytes"
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            if not declared.isdigit() or int(declared) > limit:
                return await _json(send, scope, 413, too_large)
            return await self.app(scope, receive, send)
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return await self.app(scope, receive, send)  # a disconnect: let the app see it
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > limit:
                return await _json(send, scope, 413, too_large)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


class ApiKey:
    """When a key is set, every route but health, readiness and metrics needs ``Authorization: Bearer KEY``."""

    def __init__(self, app: ASGIApp, key: str | None) -> None:
        self.app, self.key = app, key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.key is None or scope["path"] in OPEN_PATHS:
            return await self.app(scope, receive, send)
        header = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
        scheme, _, token = header.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(token.encode(), self.key.encode()):
            return await self.app(scope, receive, send)
        await _json(send, scope, 401, "authorization: a valid bearer token is required", {"www-authenticate": "Bearer"})


class CountRequests:
    """Counts responses by route and status for /metrics."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def counting(message: Message) -> None:
            if message["type"] == "http.response.start":
                route = scope["path"] if scope["path"] in KNOWN_ROUTES else "other"
                self.metrics.requests.labels(route, str(message["status"])).inc()
            await send(message)

        await self.app(scope, receive, counting)


KNOWN_ROUTES = {
    "/",
    "/synthesize",
    "/vocode",
    "/render",
    "/models",
    "/healthz",
    "/readyz",
    "/metrics",
    "/docs",
    "/openapi.json",
    "/v1/audio/speech",
    "/v1/models",
}


async def _json(send: Send, scope: Scope, status: int, message: str, headers: dict[str, str] | None = None) -> None:
    status, body = error_body(scope["path"], status, message)
    data = json.dumps(body).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    raw += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": data})
