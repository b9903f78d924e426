"""The FastAPI app: thin routes over the engines, errors mapped to HTTP statuses in one place.

POST /synthesize   JSON {"model", "speaker", "seconds", "temperature", "seed"} -> streamed audio/wav
GET  /synthesize   the same as query parameters (for <audio src=...> and download links)
GET  /models       served models, their speakers and receptive fields
GET  /healthz      alive;  GET /readyz  models loaded and warmed up
GET  /metrics      Prometheus;  GET /  a page to try it;  GET /docs  OpenAPI
"""

# No `from __future__ import annotations`: FastAPI must see the route annotations, some of them
# local to create_app, as objects.

import asyncio
import hmac
import logging
import secrets
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response, StreamingResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from wavenet_service.engine import Job, ModelEngine, QueueFull, ShuttingDown, Stream
from wavenet_service.metrics import Metrics
from wavenet_service.schemas import ErrorBody, ModelInfo, ModelList, Speaker, Status, synthesis_request
from wavenet_service.settings import Settings
from wavenet_service.wav import wav_header, wav_size

from wavenet.backends import resolve_backend
from wavenet.checkpoint import Checkpoint, load_model
from wavenet.errors import WavenetError

log = logging.getLogger(__name__)

PAGE = Path(__file__).with_name("static") / "index.html"
OPEN_PATHS = {"/healthz", "/readyz", "/metrics"}


class ApiError(Exception):
    """A request error with its HTTP status; the message names the field at fault."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers or {}


class Engines:
    """The served models by name."""

    def __init__(self, engines: dict[str, ModelEngine]) -> None:
        self.by_name = engines
        self.ready = False

    def pick(self, name: str | None) -> ModelEngine:
        if name is None:
            if len(self.by_name) == 1:
                return next(iter(self.by_name.values()))
            raise ApiError(422, f"model: required when several models are served; models: {', '.join(self.by_name)}")
        if name not in self.by_name:
            raise ApiError(404, f"model: unknown model {name!r}; models: {', '.join(self.by_name)}")
        return self.by_name[name]


def load_checkpoints(settings: Settings) -> list[Checkpoint]:
    """The models named in the settings, or every checkpoint directory in checkpoints_dir."""
    specs = list(settings.models)
    if not specs:
        found = sorted(p for p in settings.checkpoints_dir.glob("*") if (p / "config.json").is_file())
        if not found:
            raise WavenetError(
                f"no models to serve: {settings.checkpoints_dir} holds no checkpoint; "
                "name a checkpoint directory or a preset (for example: wavenet serve ref20)"
            )
        specs = [str(p) for p in found]
    return [load_model(spec, settings.device) for spec in specs]


def build_engines(checkpoints: list[Checkpoint], settings: Settings, metrics: Metrics) -> Engines:
    engines: dict[str, ModelEngine] = {}
    for ckpt in checkpoints:
        name = ckpt.name
        if name in engines:
            raise WavenetError(f"two served models are named {name!r}; rename one checkpoint directory")
        backend = resolve_backend(settings.backend, ckpt.model)
        engines[name] = ModelEngine(
            name,
            ckpt,
            max_batch=settings.max_batch,
            queue_size=settings.queue_size,
            chunk_seconds=settings.chunk_seconds,
            backend=backend,
            metrics=metrics,
        )
    return Engines(engines)


def create_app(settings: Settings, checkpoints: list[Checkpoint] | None = None) -> FastAPI:
    """The app; ``checkpoints`` (already loaded) replace loading from the settings, for tests."""
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        loaded = checkpoints if checkpoints is not None else await asyncio.to_thread(load_checkpoints, settings)
        engines = build_engines(loaded, settings, metrics)
        app.state.engines = engines
        for engine in engines.by_name.values():
            await asyncio.to_thread(engine.start, settings.warmup)
        engines.ready = True
        log.info("serving %s", ", ".join(engines.by_name))
        try:
            yield
        finally:
            engines.ready = False
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
    SynthesisRequest = synthesis_request(settings.max_seconds, settings.max_temperature)
    errors: dict[int | str, dict[str, Any]] = {code: {"model": ErrorBody} for code in (401, 404, 413, 422, 429, 503)}

    def get_engines(request: Request) -> Engines:
        return request.app.state.engines

    EnginesDep = Annotated[Engines, Depends(get_engines)]

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page() -> HTMLResponse:
        return HTMLResponse(PAGE.read_text(encoding="utf-8"))

    @app.get("/healthz", response_model=Status)
    async def healthz() -> Status:
        return Status(status="ok")

    @app.get("/readyz", response_model=Status, responses={503: {"model": Status}})
    async def readyz(engines: EnginesDep) -> Any:
        if engines.ready:
            return Status(status="ready")
        return JSONResponse({"status": "starting"}, status_code=503)

    @app.get("/metrics", response_class=PlainTextResponse)
    async def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/models", response_model=ModelList, responses=errors)
    async def models(engines: EnginesDep) -> ModelList:
        infos = []
        for name, engine in engines.by_name.items():
            ckpt = engine.checkpoint
            ids = {sid: str(sid) for sid in range(ckpt.config.n_speakers)}
            ids.update({sid: spk for spk, sid in ckpt.speakers.items()})
            infos.append(
                ModelInfo(
                    name=name,
                    sample_rate=ckpt.config.sample_rate,
                    receptive_field=ckpt.config.receptive_field,
                    receptive_field_ms=ckpt.config.receptive_field_ms,
                    trained=ckpt.trained,
                    speakers=[Speaker(id=sid, name=spk) for sid, spk in sorted(ids.items())],
                    backend=engine.generator.name,
                )
            )
        return ModelList(models=infos)

    def start_stream(body: Any, engines: Engines) -> StreamingResponse:
        engine = engines.pick(body.model)
        ckpt = engine.checkpoint
        try:
            speaker = ckpt.speaker_id(body.speaker)
        except WavenetError as err:
            raise ApiError(422, f"speaker: {err}") from None
        samples = round(body.seconds * engine.sample_rate)
        if samples < 1:
            raise ApiError(422, f"seconds: {body.seconds} is shorter than one sample at {engine.sample_rate} Hz")
        seed = body.seed if body.seed is not None else secrets.randbits(63)
        stream = Stream(Job(speaker, samples, body.temperature, seed), asyncio.get_running_loop())
        engine.submit(stream)  # may raise QueueFull or ShuttingDown: nothing has been sent yet

        async def wav() -> Any:
            try:
                yield wav_header(samples, engine.sample_rate)
                async for chunk in stream.chunks():
                    yield chunk
            finally:  # done, or the client went away: either way the slot is freed within a chunk
                stream.cancel()

        filename = f"{engine.name}-{speaker}-{seed}.wav"
        headers = {
            "Content-Length": str(wav_size(samples)),
            "Content-Disposition": f'attachment; filename="{filename}"',
            "X-Seed": str(seed),
            "Cache-Control": "no-store",
        }
        return StreamingResponse(wav(), media_type="audio/wav", headers=headers)

    audio_response = {200: {"content": {"audio/wav": {}}, "description": "16-bit PCM mono WAV, streamed"}}

    @app.post("/synthesize", response_class=StreamingResponse, responses={**audio_response, **errors})
    async def synthesize(body: SynthesisRequest, engines: EnginesDep) -> StreamingResponse:  # type: ignore[valid-type]
        """Generate audio; the WAV streams while it is generated, its header carrying the exact final size."""
        return start_stream(body, engines)

    @app.get("/synthesize", response_class=StreamingResponse, responses={**audio_response, **errors})
    async def synthesize_get(
        params: Annotated[SynthesisRequest, Query()],
        engines: EnginesDep,  # type: ignore[valid-type]
    ) -> StreamingResponse:
        """The same as POST, with query parameters, for audio elements and download links."""
        return start_stream(params, engines)

    install_error_handlers(app, metrics)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(ApiKey, key=settings.api_key.get_secret_value() if settings.api_key else None)
    app.add_middleware(CountRequests, metrics=metrics)
    return app


def install_error_handlers(app: FastAPI, metrics: Metrics) -> None:
    """Every error a client can cause, mapped to its status; nothing internal ever leaks."""

    @app.exception_handler(ApiError)
    async def api_error(request: Request, err: ApiError) -> JSONResponse:
        return JSONResponse({"detail": str(err)}, status_code=err.status, headers=err.headers)

    @app.exception_handler(QueueFull)
    async def queue_full(request: Request, err: QueueFull) -> JSONResponse:
        return JSONResponse({"detail": str(err)}, status_code=429, headers={"Retry-After": str(err.retry_after)})

    @app.exception_handler(ShuttingDown)
    async def shutting_down(request: Request, err: ShuttingDown) -> JSONResponse:
        return JSONResponse({"detail": "the server is shutting down"}, status_code=503, headers={"Retry-After": "5"})

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, err: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": describe_validation(err)}, status_code=422)

    @app.exception_handler(Exception)
    async def internal(request: Request, err: Exception) -> JSONResponse:
        log.exception("internal error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": "internal server error"}, status_code=500)


def describe_validation(err: RequestValidationError) -> str:
    """One line naming each bad field: 'seconds: Input should be greater than 0'."""
    parts = []
    for e in err.errors():
        loc = [str(p) for p in e.get("loc", ()) if p not in ("body", "query")]
        if e.get("type") == "json_invalid":
            parts.append(f"body: malformed JSON ({e.get('ctx', {}).get('error', 'cannot parse')})")
            continue
        if e.get("type") == "extra_forbidden":
            parts.append(f"{'.'.join(loc)}: unknown field")
            continue
        # int | str unions report one error per branch; the field name is what matters.
        field = loc[0] if loc else "body"
        parts.append(f"{field}: {e.get('msg', 'invalid')}")
    return "; ".join(dict.fromkeys(parts))


class BodyLimit:
    """Answers 413 to request bodies over ``limit`` bytes, whether declared or streamed.

    Bodies here are small JSON objects, so a body without a declared length is read up to the
    limit before the app sees it, then replayed.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        too_large = {"detail": f"body: larger than {self.limit} bytes"}
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            if not declared.isdigit() or int(declared) > self.limit:
                return await _json(send, 413, too_large)
            return await self.app(scope, receive, send)
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return await self.app(scope, receive, send)  # a disconnect: let the app see it
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.limit:
                return await _json(send, 413, too_large)
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
        await _json(
            send, 401, {"detail": "authorization: a valid bearer token is required"}, {"www-authenticate": "Bearer"}
        )


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


KNOWN_ROUTES = {"/", "/synthesize", "/models", "/healthz", "/readyz", "/metrics", "/docs", "/openapi.json"}


async def _json(send: Send, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
    import json

    data = json.dumps(body).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    raw += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": data})
