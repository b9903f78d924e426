"""The FastAPI app: assembles the routers, middleware and error handlers around the engines.

POST /synthesize   JSON {"model", "speaker", "seconds" or "text", "temperature", "seed", "format"} -> streamed audio
GET  /synthesize   the same as query parameters (for <audio src=...> and download links)
POST /vocode       a recording as the body -> its resynthesis by a mel vocoder, streamed audio
POST /render       a MIDI file as the body -> its rendering by a piano-roll model, streamed audio
GET  /models       served models, their speakers and receptive fields, and the request limits
POST /v1/audio/speech, GET /v1/models   the OpenAI speech API's shape (:mod:`.routes.openai`)
GET  /healthz      alive;  GET /readyz  models loaded, warmed up and running
GET  /metrics      Prometheus;  GET /  a page to try it;  GET /docs  OpenAPI

The routes are in :mod:`wavenet_service.routes`; what they need comes through
:mod:`wavenet_service.deps`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from wavenet.release import Checkpoint
from wavenet_service.clients import ClientStreams
from wavenet_service.engines import Engines, build_engines, load_checkpoints
from wavenet_service.errors import install_error_handlers
from wavenet_service.metrics import Metrics
from wavenet_service.middleware import ApiKey, BodyLimit, CountRequests
from wavenet_service.routes import ROUTERS
from wavenet_service.settings import Settings

log = logging.getLogger(__name__)


def create_app(
    settings: Settings,
    checkpoints: list[Checkpoint] | None = None,
    on_fatal: Callable[[str, str], None] | None = None,
) -> FastAPI:
    """The app; ``checkpoints`` (already loaded) replace loading from the settings, for tests.

    ``on_fatal(model, reason)`` is called from a model's worker thread when its generation loop
    has failed more often than ``worker_restarts`` allows (``wavenet serve`` then exits).
    """
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        loaded = checkpoints if checkpoints is not None else await asyncio.to_thread(load_checkpoints, settings)
        engines = build_engines(loaded, settings, metrics, on_fatal)
        app.state.engines = engines
        for engine in engines.by_name.values():
            await asyncio.to_thread(engine.start, settings.warmup)
        engines.started = True
        log.info("serving %s", ", ".join(engines.by_name))
        try:
            yield
        finally:
            engines.started = False
            await asyncio.gather(
                *(asyncio.to_thread(e.stop, settings.shutdown_timeout) for e in engines.by_name.values())
            )

    app = FastAPI(
        title="wavenet-service",
        description="WaveNet audio synthesis: streamed WAV, generated while you listen.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.engines = Engines({})
    app.state.clients = ClientStreams(settings.max_streams_per_client)
    for router in ROUTERS:
        app.include_router(router)
    app.openapi = _openapi_with_limits(app, settings)  # type: ignore[method-assign]
    install_error_handlers(app)
    uploads = {"/vocode": settings.max_upload_bytes, "/render": settings.max_upload_bytes}
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes, uploads=uploads)
    app.add_middleware(ApiKey, key=settings.api_key.get_secret_value() if settings.api_key else None)
    app.add_middleware(CountRequests, metrics=metrics)
    return app


def _openapi_with_limits(app: FastAPI, settings: Settings) -> Callable[[], dict[str, Any]]:
    """The OpenAPI schema with this server's limits as the bounds of ``seconds`` and ``temperature``."""
    generate = app.openapi
    limits = {"seconds": settings.max_seconds, "temperature": settings.max_temperature}

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            for name, limit in limits.items():
                schema["components"]["schemas"]["SynthesisRequest"]["properties"][name]["maximum"] = limit
            for parameter in schema["paths"]["/synthesize"]["get"]["parameters"]:
                if parameter["name"] in limits:
                    parameter["schema"]["maximum"] = limits[parameter["name"]]
            app.openapi_schema = schema
        return app.openapi_schema

    return openapi
