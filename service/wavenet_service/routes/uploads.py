"""POST /vocode and POST /render: an uploaded file's frames through a conditioned model, streamed as audio.

The body is the file itself (``curl --data-binary @in.wav``): a recording in any format soundfile
reads (resampled as needed) for a mel vocoder, a MIDI file for a piano-roll model; it becomes
the ``recording`` or ``midi`` of a :class:`wavenet.synthesizer.Request`. The file is checked and
turned into frames before the stream is queued, so a bad upload (not audio, empty, too long, a
MIDI file without notes) gets a 4xx naming ``body`` and nothing is generated for it. The stream
is frames × hop samples long.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from wavenet.synthesizer import MAKES
from wavenet.synthesizer import Request as SynthesisRequestPlan
from wavenet_service.deps import Serving, ServingDep
from wavenet_service.errors import ApiError
from wavenet_service.routes.synthesize import AUDIO, checked_format, open_stream
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
    return await start_upload("recording", params, request, serving)


@router.post("/render", **ROUTE)
async def render(
    params: Annotated[ConditionedRequest, Query()], request: Request, serving: ServingDep
) -> AudioResponse:
    """Render a MIDI file (the body) on the piano."""
    return await start_upload("midi", params, request, serving)


async def start_upload(field: str, params: ConditionedRequest, request: Request, serving: Serving) -> AudioResponse:
    """The body as the request's ``field`` (recording or midi), named "body" in its errors."""
    engine = serving.engines.pick(params.model)
    takes = engine.synthesizer.takes
    if takes != field:
        raise ApiError(422, f"model: {engine.name} takes no {field}: it makes {MAKES[takes]}")
    body = await request.body()
    wanted = SynthesisRequestPlan(
        **{field: body}, speaker=params.speaker, temperature=params.temperature, seed=params.seed, input_name="body"
    )
    return await open_stream(engine, wanted, request, serving, checked_format(params.format))
