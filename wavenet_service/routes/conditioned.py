"""POST /vocode and POST /render: an uploaded file's frames through a conditioned model, streamed as WAV.

The body is the file itself (``curl --data-binary @in.wav``): a recording in any format soundfile
reads (resampled as needed) for a mel vocoder, a MIDI file for a piano-roll model. The file is
checked and turned into frames before the stream is queued, so a bad upload (not audio, empty,
too long, a MIDI file without notes) gets a 4xx and nothing is generated for it. The stream is
frames × hop samples long.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import numpy as np
from fastapi import APIRouter, Query, Request

from wavenet.errors import WavenetError
from wavenet.generation.synthesis import input_frames
from wavenet_service.deps import Serving, ServingDep
from wavenet_service.engine import ModelEngine
from wavenet_service.errors import ApiError
from wavenet_service.routes.synthesis import AUDIO, admitted, check_temperature, open_stream, speaker_id
from wavenet_service.schemas import ERRORS, ConditionedRequest
from wavenet_service.streaming import AudioResponse

router = APIRouter()

UPLOAD = {"content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}
ROUTE = {  # what both routes declare: an upload in, streamed audio out
    "status_code": 200,
    "response_class": AudioResponse,
    "responses": {**AUDIO, **ERRORS},
    "openapi_extra": {"requestBody": UPLOAD},
}


@router.post("/vocode", **ROUTE)
async def vocode(
    params: Annotated[ConditionedRequest, Query()], request: Request, serving: ServingDep
) -> AudioResponse:
    """Resynthesise a recording (the body, any format soundfile reads) from its mel frames."""
    return await start_conditioned("mel", params, request, serving)


@router.post("/render", **ROUTE)
async def render(
    params: Annotated[ConditionedRequest, Query()], request: Request, serving: ServingDep
) -> AudioResponse:
    """Render a MIDI file (the body) on the piano."""
    return await start_conditioned("pianoroll", params, request, serving)


async def start_conditioned(kind: str, params: ConditionedRequest, request: Request, serving: Serving) -> AudioResponse:
    check_temperature(params.temperature, serving.settings)
    engine = serving.engines.pick(params.model)
    features = engine.checkpoint.features
    if features is None or features.kind != kind:
        takes = f"{features.kind} frames" if features else "no frames"
        raise ApiError(422, f"model: {engine.name} takes {takes}, not {kind} frames")
    speaker = speaker_id(engine, params.speaker)
    body = await request.body()
    work = asyncio.to_thread(_frames, engine, body, serving.settings.max_seconds)
    frames, release = await admitted(engine, request, serving, work)
    samples = len(frames) * engine.checkpoint.config.cond_hop
    return open_stream(engine, speaker, samples, params.temperature, params.seed, frames, request, serving, release)


def _frames(engine: ModelEngine, body: bytes, max_seconds: float) -> np.ndarray:
    """The upload's frames (decoding and features off the event loop); its problems are 422s about the body."""
    try:
        return input_frames(engine.checkpoint, body, name="body", max_seconds=max_seconds)
    except WavenetError as err:
        raise ApiError(422, str(err)) from None
