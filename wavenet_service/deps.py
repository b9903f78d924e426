"""What routes need, as typed dependencies: tests replace them with ``app.dependency_overrides``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from wavenet_service.metrics import Metrics
from wavenet_service.registry import ClientStreams, Engines
from wavenet_service.settings import Settings


def get_engines(request: Request) -> Engines:
    return request.app.state.engines


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_metrics(request: Request) -> Metrics:
    return request.app.state.metrics


def get_clients(request: Request) -> ClientStreams:
    return request.app.state.clients


EnginesDep = Annotated[Engines, Depends(get_engines)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
ClientsDep = Annotated[ClientStreams, Depends(get_clients)]
