"""What routes need, as typed dependencies: tests replace them with ``app.dependency_overrides``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from wavenet_service.clients import ClientStreams
from wavenet_service.engines import Engines
from wavenet_service.metrics import Metrics
from wavenet_service.settings import Settings


def get_engines(request: Request) -> Engines:
    return request.app.state.engines


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_metrics(request: Request) -> Metrics:
    return request.app.state.metrics


def get_clients(request: Request) -> ClientStreams:
    return request.app.state.clients


@dataclass(frozen=True)
class Serving:
    """Everything a synthesis route needs, as one dependency."""

    engines: Engines
    settings: Settings
    metrics: Metrics
    clients: ClientStreams


def get_serving(request: Request) -> Serving:
    return Serving(get_engines(request), get_settings(request), get_metrics(request), get_clients(request))


EnginesDep = Annotated[Engines, Depends(get_engines)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
ServingDep = Annotated[Serving, Depends(get_serving)]
