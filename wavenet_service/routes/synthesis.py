"""POST and GET /synthesize: check the request, queue its stream, answer with the streamed WAV.

Everything a client can get wrong is checked here, before the stream is queued; the response
(:class:`wavenet_service.streaming.AudioResponse`) then sends the status with the first audio.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Annotated

from fastapi import APIRouter, Query, Request

from wavenet.errors import WavenetError
from wavenet.generation.synthesis import num_samples
from wavenet_service.deps import Serving, ServingDep
from wavenet_service.engine import Job, Stream
from wavenet_service.errors import ApiError
from wavenet_service.schemas import ERRORS, SynthesisRequest
from wavenet_service.streaming import AudioResponse
from wavenet_service.wav import wav_header, wav_size

router = APIRouter()

AUDIO = {200: {"content": {"audio/wav": {}}, "description": "16-bit PCM mono WAV, streamed"}}


@router.post("/synthesize", status_code=200, response_class=AudioResponse, responses={**AUDIO, **ERRORS})
async def synthesize(body: SynthesisRequest, request: Request, serving: ServingDep) -> AudioResponse:
    """Generate audio; the WAV streams while it is generated, its header carrying the exact final size."""
    return start_stream(body, request, serving)


@router.get("/synthesize", status_code=200, response_class=AudioResponse, responses={**AUDIO, **ERRORS})
async def synthesize_get(
    params: Annotated[SynthesisRequest, Query()], request: Request, serving: ServingDep
) -> AudioResponse:
    """The same as POST, with query parameters, for audio elements and download links."""
    return start_stream(params, request, serving)


def start_stream(body: SynthesisRequest, request: Request, serving: Serving) -> AudioResponse:
    settings = serving.settings
    if body.seconds > settings.max_seconds:
        raise ApiError(422, f"seconds: Input should be less than or equal to {settings.max_seconds:g}")
    if body.temperature > settings.max_temperature:
        raise ApiError(422, f"temperature: Input should be less than or equal to {settings.max_temperature:g}")
    engine = serving.engines.pick(body.model)
    try:
        speaker = engine.checkpoint.speaker_id(body.speaker)
    except WavenetError as err:
        raise ApiError(422, f"speaker: {err}") from None
    try:
        samples = num_samples(body.seconds, engine.sample_rate)
    except WavenetError as err:
        raise ApiError(422, f"seconds: {err}") from None
    seed = body.seed if body.seed is not None else secrets.randbits(63)
    release = serving.clients.acquire(request.client.host if request.client else "unknown")
    stream = Stream(Job(speaker, samples, body.temperature, seed), asyncio.get_running_loop())
    try:
        engine.submit(stream)  # may raise QueueFull, ShuttingDown or ModelFailed: nothing has been sent yet
    except Exception:
        release()
        raise
    headers = {
        "Content-Length": str(wav_size(samples)),
        "Content-Disposition": f'attachment; filename="{engine.name}-{speaker}-{seed}.wav"',
        "X-Seed": str(seed),
        "Cache-Control": "no-store",
    }
    return AudioResponse(
        stream,
        wav_header(samples, engine.sample_rate),
        headers,
        model=engine.name,
        client_timeout=settings.client_timeout,
        metrics=serving.metrics,
        on_close=release,
    )
