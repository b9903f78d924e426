"""POST /v1/audio/speech and GET /v1/models: the OpenAI speech API's shape, for the clients that speak it.

The official ``openai`` clients, chat front ends and scripts written for OpenAI's text to speech
work unchanged against ``base_url=http://HOST:PORT/v1``. What the API covers maps onto our own
request (:class:`wavenet.synthesizer.Request`), and the stream runs in the same batching loop:

- ``model``: a served text-to-speech model by name; OpenAI's own names (``tts-1``,
  ``tts-1-hd``, ``gpt-4o-mini-tts``) mean the first text-to-speech model served.
- ``input``: the text, with ``/synthesize``'s limits.
- ``voice``: a speaker of that model, by name or id (OpenAI's voice names are not ours: an
  unknown voice is a 400 naming ``voice`` and listing the model's).
- ``response_format``: ``wav`` and ``pcm`` stream as generated; ``flac``, ``opus`` and ``mp3``
  are encoded once complete (:mod:`wavenet_service.formats`); ``aac`` is not written (400).
  The default, as OpenAI's, is ``mp3``.
- ``speed``: 0.25 to 4, the speaking rate.
- ``instructions`` (for OpenAI's instructable model) and ``stream_format: sse`` are refused with
  a 400 naming them rather than ignored; any other field is a 400 too.

Errors have the OpenAI API's body (:func:`wavenet_service.errors.error_body`), so its clients
raise their usual exceptions.
"""

from __future__ import annotations

import time
from typing import Annotated, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from wavenet.errors import WavenetError
from wavenet.synthesizer import Request as SynthesisRequestPlan
from wavenet_service.batching import ModelEngine
from wavenet_service.deps import EnginesDep, ServingDep
from wavenet_service.engines import Engines
from wavenet_service.errors import ApiError
from wavenet_service.routes.synthesize import AUDIO, checked_format, open_stream
from wavenet_service.schemas import ERRORS
from wavenet_service.streaming import AudioResponse

router = APIRouter(prefix="/v1", tags=["OpenAI-compatible"])

OPENAI_MODELS = ("tts-1", "tts-1-hd", "gpt-4o-mini-tts")  # stand for the first text-to-speech model served
STARTED = int(time.time())


class SpeechRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"model": "tts-small", "input": "Hello there.", "voice": "en_US_f_Allison"}]},
    )

    model: Annotated[str, Field(description=f"a served text-to-speech model; {', '.join(OPENAI_MODELS)}: the first")]
    input: Annotated[str, Field(description="the text to speak, at most the server's max_text_chars")]
    voice: Annotated[str | int, Field(description="a speaker of the model, by name or id (GET /models)")]
    response_format: Annotated[
        Literal["mp3", "opus", "aac", "flac", "wav", "pcm"],
        Field(description="wav and pcm (16-bit little-endian mono, no header) stream as generated; the others "
              "are encoded once complete; aac is not written"),
    ] = "mp3"  # fmt: skip
    speed: Annotated[float, Field(ge=0.25, le=4.0, description="speaking rate: 2 is twice as fast")] = 1.0
    instructions: Annotated[str | None, Field(description="not supported: a 400 when given")] = None
    stream_format: Annotated[Literal["audio", "sse"], Field(description="audio only; sse is a 400")] = "audio"


class OpenAIModel(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "wavenet-service"


class OpenAIModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[OpenAIModel]


@router.post("/audio/speech", status_code=200, response_class=AudioResponse, responses={**AUDIO, **ERRORS})
async def speech(body: SpeechRequest, request: Request, serving: ServingDep) -> AudioResponse:
    """Speak ``input`` in ``voice`` (OpenAI's ``audio.speech.create``); the audio streams while it is generated."""
    if body.instructions:
        raise ApiError(422, "instructions: not supported by this server's models")
    if body.stream_format != "audio":
        raise ApiError(422, "stream_format: only audio is supported (the audio streams as it is generated)")
    engine = speech_model(serving.engines, body.model)
    try:
        voice = engine.checkpoint.speaker_id(body.voice)  # a name, or an id (as a number or a string of digits)
    except WavenetError as err:
        raise ApiError(422, f"voice: {err} (model {engine.name})") from None
    fmt = checked_format(body.response_format, "response_format")
    wanted = SynthesisRequestPlan(text=body.input, speaker=voice, rate=body.speed)
    return await open_stream(engine, wanted, request, serving, fmt, names={"text": "input", "rate": "speed"})


@router.get("/models", response_model=OpenAIModelList, responses=ERRORS)
async def models(engines: EnginesDep) -> OpenAIModelList:
    """Every served model, as OpenAI's model list (GET /models says more of each)."""
    return OpenAIModelList(data=[OpenAIModel(id=name, created=STARTED) for name in engines.by_name])


def speech_model(engines: Engines, name: str) -> ModelEngine:
    """The text-to-speech model a request names (OpenAI's names: the first served); a 404 naming ``model`` otherwise."""
    speaking = [e for e in engines.by_name.values() if e.synthesizer.takes == "text"]
    if name in OPENAI_MODELS and speaking:
        return speaking[0]
    engine = engines.by_name.get(name)
    if engine is None or engine.synthesizer.takes != "text":
        what = "is not served" if engine is None else "does not speak text"
        served = ", ".join(e.name for e in speaking) or "none"
        raise ApiError(404, f"model: {name!r} {what}; text-to-speech models served: {served}")
    return engine
