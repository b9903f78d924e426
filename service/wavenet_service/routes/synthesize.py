"""POST and GET /synthesize: a request, checked and planned by the library's synthesis API, streamed as audio.

The route only translates: its body becomes a :class:`wavenet.synthesizer.Request`, which the
model's :class:`~wavenet.synthesizer.Synthesizer` checks (a :class:`~wavenet.errors.RequestError`
is a 422 naming the field) and plans, under the server's limits, before the stream is queued;
the response (:class:`wavenet_service.streaming.AudioResponse`) then sends the status with the
first audio, in the request's ``format`` (:mod:`wavenet_service.formats`; WAV by default).
:func:`open_stream` is shared with the upload routes (:mod:`.uploads`) and the OpenAI-compatible
one (:mod:`.openai`).
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
from wavenet_service.formats import ALL, AudioFormat, audio_format
from wavenet_service.schemas import ERRORS, SynthesisRequest
from wavenet_service.settings import Settings
from wavenet_service.streaming import AudioResponse

router = APIRouter()

AUDIO = {
    200: {
        "content": {f.media_type: {} for f in ALL.values()},
        "description": "16-bit mono audio in the request's format: WAV (the default) or raw PCM, streamed; "
        "FLAC, Ogg Opus or MP3, sent once complete",
    }
}
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
    return await open_stream(engine, wanted, request, serving, checked_format(body.format))


def limits(settings: Settings) -> Limits:
    return Limits(settings.max_seconds, settings.max_text_chars, settings.max_temperature)


def checked_format(name: str, field: str = "format") -> AudioFormat:
    """The audio format a request names; one that is unknown, or that this server cannot write, is a 422."""
    try:
        return audio_format(name, field)
    except ValueError as err:
        raise ApiError(422, str(err)) from None


async def open_stream(
    engine: ModelEngine,
    wanted: SynthesisRequestPlan,
    request: Request,
    serving: Serving,
    fmt: AudioFormat,
    names: dict[str, str] | None = None,
) -> AudioResponse:
    """Check the request, plan it once the client and the model have room, queue it, answer with its audio.

    What costs no work is checked first (a 422 before anything else). Planning costs CPU (tens
    of milliseconds a sentence of text, more for a long upload) and runs off the event loop,
    after the client's stream limit and the model's capacity are checked: a client past its
    limit, or a full server, is answered at once, not after the work. The WAV streams once the
    stream has a slot. ``names``: what the request's fields are called in the route's body, where
    that differs from :class:`~wavenet.synthesizer.Request`'s (the OpenAI route's ``input`` is ``text``).
    """
    synth, bounds = engine.synthesizer, limits(serving.settings)
    checked = _unprocessable(synth.check, wanted, bounds, names)
    release = serving.clients.acquire(client_address(request))
    try:
        engine.admit()
        work = wanted.seconds is None  # text to plan, or a file to read
        plan = (
            await asyncio.to_thread(_unprocessable, synth.plan, checked, bounds, names) if work else synth.plan(checked)
        )
        stream = Stream(plan, asyncio.get_running_loop(), synth.checkpoint.config.mu)
        engine.submit(stream)  # may raise QueueFull, ShuttingDown or ModelFailed: nothing has been sent yet
    except BaseException:
        release()
        raise
    headers = {
        "Content-Disposition": f'attachment; filename="{engine.name}-{plan.speaker}-{plan.seed}.{fmt.name}"',
        "X-Seed": str(plan.seed),
        "X-Sample-Rate": str(engine.sample_rate),
        "X-Samples": str(plan.samples),
        "Cache-Control": "no-store",
    }
    if fmt.size(plan.samples) is not None:
        headers["Content-Length"] = str(fmt.size(plan.samples))
    return AudioResponse(
        stream,
        fmt,
        engine.sample_rate,
        headers,
        model=engine.name,
        client_timeout=serving.settings.client_timeout,
        metrics=serving.metrics,
        on_close=release,
    )


def _unprocessable(call, wanted: SynthesisRequestPlan, bounds: Limits, names: dict[str, str] | None = None):
    """``call(wanted, bounds)``; what the library refuses is a 422 naming the field (or the uploaded body)."""
    names = names or {}
    try:
        return call(wanted, bounds)
    except RequestError as err:
        field = names.get(err.field, err.field)
        raise ApiError(422, f"{field}{str(err)[len(err.field) :]}") from None
    except WavenetError as err:  # a file's problem names the file ("body: ..."); a text's, the text
        message = str(err)
        raise ApiError(422, message if wanted.text is None else f"{names.get('text', 'text')}: {message}") from None


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"
