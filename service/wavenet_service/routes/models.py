"""GET /models: what is served, with speakers, receptive fields, backends and the request limits."""

from __future__ import annotations

from fastapi import APIRouter

from wavenet.release import Checkpoint
from wavenet_service.deps import EnginesDep, SettingsDep
from wavenet_service.formats import AVAILABLE
from wavenet_service.schemas import ERRORS, Conditioning, Limits, ModelInfo, ModelList, Speaker

ENDPOINTS = {"mel": "/vocode", "pianoroll": "/render", "linguistic": "/synthesize"}

router = APIRouter()


@router.get("/models", response_model=ModelList, responses=ERRORS)
async def models(engines: EnginesDep, settings: SettingsDep) -> ModelList:
    infos = []
    for name, engine in engines.by_name.items():
        ckpt = engine.checkpoint
        ids = {sid: str(sid) for sid in range(ckpt.n_speakers)}
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
                default_temperature=ckpt.default_temperature,
                conditioning=_conditioning(ckpt),
            )
        )
    limits = Limits(
        max_seconds=settings.max_seconds,
        max_text_chars=settings.max_text_chars,
        max_temperature=settings.max_temperature,
        max_upload_bytes=settings.max_upload_bytes,
        formats=list(AVAILABLE),
    )
    return ModelList(models=infos, limits=limits)


def _conditioning(ckpt: Checkpoint) -> Conditioning | None:
    if ckpt.features is None:
        return None
    cfg = ckpt.config
    return Conditioning(
        kind=ckpt.features.kind,
        channels=ckpt.features.channels,  # what a request's input becomes (text: linguistic frames, in two stages too)
        hop=ckpt.features.hop,
        lookahead_frames=cfg.lookahead_frames,
        endpoint=ENDPOINTS[ckpt.features.kind],
    )
