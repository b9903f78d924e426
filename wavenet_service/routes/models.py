"""GET /models: what is served, with speakers, receptive fields, backends and the request limits."""

from __future__ import annotations

from fastapi import APIRouter

from wavenet_service.deps import EnginesDep, SettingsDep
from wavenet_service.schemas import ERRORS, Limits, ModelInfo, ModelList, Speaker

router = APIRouter()


@router.get("/models", response_model=ModelList, responses=ERRORS)
async def models(engines: EnginesDep, settings: SettingsDep) -> ModelList:
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
    return ModelList(
        models=infos, limits=Limits(max_seconds=settings.max_seconds, max_temperature=settings.max_temperature)
    )
