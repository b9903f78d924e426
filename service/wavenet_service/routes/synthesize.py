"""POST and GET /synthesize: a request, checked and planned by the library's synthesis API, streamed as WAV.

The route only translates: its body becomes a :class:`wavenet.synthesizer.Request`, which the
model's :class:`~wavenet.synthesizer.Synthesizer` checks (a :class:`~wavenet.errors.RequestError`
is a 422 naming the field) and plans, under the server's limits, before the stream is queued;
the response (:class:`wavenet_service.streaming.AudioResponse`) then sends the status with the
first audio. :func:`open_stream` is shared with the upload routes (:mod:`.uploads`).
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Query, Request

from wavenet.errors import RequestError, WavenetError
from wavenet.synthesizer import MAKES, Limits
from wavenet.synthesizer import Request as SynthesisRequestPlan
from wavenet_service.batching import ModelEngine, Stream
from wavenet_service.deps import Serving, ServingDep
from wavenet_service.errors import ApiError
from wavenet_service.schemas import ERRORS, SynthesisRequest
from wavenet_service.settings import Settings
from wavenet_service.streaming import AudioResponse
from wavenet_service.wav import wav_header, wav_size

router = APIRouter()

AUDIO = {200: {"content": {"audio/wav": {}}, "description": "16-bit PCM mono WAV, streamed"}}
ENDPOINTS = {"recording": "POST a recording to /vocode", "midi": "POST a MIDI file to /render"}


@router.post("/synthesize", status_code=200, response_class=AudioResponse, responses={**AUDIO, **ERRORS})
async def synthesize(body: SynthesisRequest, request: Request, serving: ServingDep) -> AudioResponse:
    """Generate audio (``seconds`` of it, or ``text`` spoken); the WAV streams while it is generated."""
    return await start_stream(body, request, serving)


@router.get("/synthesize", status_code=200, response_class=AudioResponse, responses={**AUDIO, **ERRORS})
async def synthesize_get(
    params: Annotated[SynthesisRequest, Query()], request: Request, serving: ServingDep
) -> AudioResponse:
    """The same as POST, with query parameters, for audio elements and download links."""
    return await start_stream(params, request, serving)


async def start_stream(body: SynthesisRequest, request: Request, serving: Serving) -> AudioResponse:
    engine = serving.engines.pick(body.model)
    takes = engine.synthesizer.takes
    if takes in ENDPOINTS:
        raise ApiError(422, f"model: {engine.name} makes {MAKES[takes]}: {ENDPOINTS[takes]}")
    wanted = SynthesisRequestPlan(
        seconds=body.seconds,
        text=body.text,
        speaker=body.speaker,
        temperature=body.temperature,
        seed=body.seed,
        rate=body.rate,
        pitch=body.pitch,
    )
    return await open_stream(engine, wanted, request, serving)


def limits(settings: Settings) -> Limits:
    return Limits(settings.max_seconds, settings.max_text_chars, settings.max_temperature)


async def open_stream(
    engine: ModelEngine, wanted: SynthesisRequestPlan, request: Request, serving: Serving
) -> AudioResponse:
    """Check the request, plan it once the client and the model have room, queue it, answer with its WAV.

    What costs no work is checked first (a 422 before anything else). Planning costs CPU (tens
    of milliseconds a sentence of text, more for a long upload) and runs off the event loop,
    after the client's stream limit and the model's capacity are checked: a client past its
    limit, or a full server, is answered at once, not after the work. The WAV streams once the
    stream has a slot.
    """
    synth, bounds = engine.synthesizer, limits(serving.settings)
    checked = _unprocessable(synth.check, wanted, bounds)
    release = serving.clients.acquire(client_address(request))
    try:
        engine.admit()
        work = wanted.seconds is None  # text to plan, or a file to read
        plan = await asyncio.to_thread(_unprocessable, synth.plan, checked, bounds) if work else synth.plan(checked)
        stream = Stream(plan, asyncio.get_running_loop())
        engine.submit(stream)  # may raise QueueFull, ShuttingDown or ModelFailed: nothing has been sent yet
    except BaseException:
        release()
        raise
    headers = {
        "Content-Length": str(wav_size(plan.samples)),
        "Content-Disposition": f'attachment; filename="{engine.name}-{plan.speaker}-{plan.seed}.wav"',
        "X-Seed": str(plan.seed),
        "Cache-Control": "no-store",
    }
    return AudioResponse(
        stream,
        wav_header(plan.samples, engine.sample_rate),
        headers,
        model=engine.name,
        client_timeout=serving.settings.client_timeout,
        metrics=serving.metrics,
        on_close=release,
    )


def _unprocessable(call, wanted: SynthesisRequestPlan, bounds: Limits):
    """``call(wanted, bounds)``; what the library refuses is a 422 naming the field (or the uploaded body)."""
    try:
        return call(wanted, bounds)
    except RequestError as err:
        raise ApiError(422, str(err)) from None
    except WavenetError as err:  # a file's problem names the file ("body: ..."); a text's, the text
        message = str(err)
        raise ApiError(422, message if wanted.text is None else f"text: {message}") from None


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"
