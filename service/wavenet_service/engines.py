"""The served models by name: loading them from the settings and starting their engines."""

from __future__ import annotations

from collections.abc import Callable

from wavenet.errors import WavenetError
from wavenet.release import Checkpoint, load_model
from wavenet.synthesizer import Synthesizer
from wavenet_service.batching import ModelEngine
from wavenet_service.errors import ApiError
from wavenet_service.metrics import Metrics
from wavenet_service.settings import Settings


class Engines:
    """The served models by name, and whether the server is ready to serve them."""

    def __init__(self, engines: dict[str, ModelEngine]) -> None:
        self.by_name = engines
        self.started = False  # every engine loaded, warmed up and running

    def pick(self, name: str | None) -> ModelEngine:
        if name is None:
            if len(self.by_name) == 1:
                return next(iter(self.by_name.values()))
            raise ApiError(422, f"model: required when several models are served; models: {', '.join(self.by_name)}")
        if name not in self.by_name:
            raise ApiError(404, f"model: unknown model {name!r}; models: {', '.join(self.by_name)}")
        return self.by_name[name]

    def problems(self) -> list[str]:
        """Why the server is not ready: empty when it is."""
        if not self.started:
            return ["starting"]
        return [
            f"{name}: {engine.problem or 'not running'}" for name, engine in self.by_name.items() if not engine.ready
        ]


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


def build_engines(
    checkpoints: list[Checkpoint],
    settings: Settings,
    metrics: Metrics,
    on_fatal: Callable[[str, str], None] | None = None,
) -> Engines:
    engines: dict[str, ModelEngine] = {}
    for ckpt in checkpoints:
        name = ckpt.name
        if name in engines:
            raise WavenetError(f"two served models are named {name!r}; rename one checkpoint directory")
        engines[name] = ModelEngine(
            name,
            Synthesizer(ckpt, settings.backend, settings.max_batch),
            max_batch=settings.max_batch,
            queue_size=settings.queue_size,
            chunk_seconds=settings.chunk_seconds,
            buffer_seconds=settings.buffer_seconds,
            metrics=metrics,
            restarts=settings.worker_restarts,
            on_fatal=on_fatal,
        )
    return Engines(engines)
