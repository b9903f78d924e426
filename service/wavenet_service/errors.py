"""Every error a client can cause, mapped to its HTTP status in one place; nothing internal leaks.

Our routes answer ``{"detail": "field: what was wrong"}``. The OpenAI-compatible routes (under
``/v1/``) answer as the OpenAI API does, so that its clients raise their usual exceptions:
``{"error": {"message", "type", "param", "code"}}``, with 400 where we say 422.
"""

from __future__ import annotations

import logging
import re
from typing import Any

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


OPENAI_TYPES = {400: "invalid_request_error", 401: "authentication_error", 404: "invalid_request_error",
                413: "invalid_request_error", 429: "rate_limit_error", 500: "server_error", 503: "server_error"}  # fmt: skip


def error_body(path: str, status: int, message: str) -> tuple[int, dict[str, Any]]:
    """The status and JSON body of an error on ``path``: ours, or the OpenAI API's shape under /v1/."""
    if not path.startswith("/v1/"):
        return status, {"detail": message}
    status = 400 if status == 422 else status
    field = re.match(r"([A-Za-z_][\w.]*): ", message)
    error = {"message": message, "type": OPENAI_TYPES.get(status, "invalid_request_error"),
             "param": field.group(1) if field else None, "code": None}  # fmt: skip
    return status, {"error": error}


def install_error_handlers(app: FastAPI) -> None:
    def answer(request: Request, status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
        status, body = error_body(request.url.path, status, message)
        return JSONResponse(body, status_code=status, headers=headers)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, err: ApiError) -> JSONResponse:
        return answer(request, err.status, str(err), err.headers)

    @app.exception_handler(QueueFull)
    async def queue_full(request: Request, err: QueueFull) -> JSONResponse:
        return answer(request, 429, str(err), {"Retry-After": str(err.retry_after)})

    @app.exception_handler(ShuttingDown)
    async def shutting_down(request: Request, err: ShuttingDown) -> JSONResponse:
        return answer(request, 503, "the server is shutting down", {"Retry-After": "5"})

    @app.exception_handler(ModelFailed)
    async def model_failed(request: Request, err: ModelFailed) -> JSONResponse:
        return answer(request, 503, f"model: {err}", {"Retry-After": "5"})

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, err: RequestValidationError) -> JSONResponse:
        return answer(request, 422, describe_validation(err))

    @app.exception_handler(Exception)
    async def internal(request: Request, err: Exception) -> JSONResponse:
        log.exception("internal error on %s %s", request.method, request.url.path)
        return answer(request, 500, "internal server error")


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
