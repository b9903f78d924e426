"""Liveness, readiness and Prometheus metrics: the routes a load balancer and a scraper use."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from wavenet_service.deps import EnginesDep, MetricsDep
from wavenet_service.schemas import Status

router = APIRouter()


@router.get("/healthz", response_model=Status, response_model_exclude_none=True)
async def healthz() -> Status:
    """200 while the process is alive."""
    return Status(status="ok")


@router.get("/readyz", response_model=Status, response_model_exclude_none=True, responses={503: {"model": Status}})
async def readyz(engines: EnginesDep) -> Any:
    """200 when every model is loaded, warmed up and its generation loop running; 503 with the reasons otherwise."""
    problems = engines.problems()
    if not problems:
        return Status(status="ready")
    status = "starting" if problems == ["starting"] else "not ready"
    return JSONResponse({"status": status, "reasons": problems}, status_code=503)


@router.get("/metrics", response_class=PlainTextResponse)
async def prometheus(metrics: MetricsDep) -> Response:
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
