"""Every error a client can cause, mapped to its HTTP status in one place; nothing internal leaks."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from wavenet_service.batching import ModelFailed, QueueFull, ShuttingDown

log = logging.getLogger(__name__)


class ApiError(Exception):
    """A request error with its HTTP status; the message names the field at fault."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers or {}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, err: ApiError) -> JSONResponse:
        return JSONResponse({"detail": str(err)}, status_code=err.status, headers=err.headers)

    @app.exception_handler(QueueFull)
    async def queue_full(request: Request, err: QueueFull) -> JSONResponse:
        return JSONResponse({"detail": str(err)}, status_code=429, headers={"Retry-After": str(err.retry_after)})

    @app.exception_handler(ShuttingDown)
    async def shutting_down(request: Request, err: ShuttingDown) -> JSONResponse:
        return JSONResponse({"detail": "the server is shutting down"}, status_code=503, headers={"Retry-After": "5"})

    @app.exception_handler(ModelFailed)
    async def model_failed(request: Request, err: ModelFailed) -> JSONResponse:
        return JSONResponse({"detail": f"model: {err}"}, status_code=503, headers={"Retry-After": "5"})

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
