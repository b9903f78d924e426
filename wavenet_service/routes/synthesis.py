"""POST and GET /synthesize: check the request, queue its stream, answer with the streamed WAV.

Everything a client can get wrong is checked here, before the stream is queued; the response
(:class:`wavenet_service.streaming.AudioResponse`) then sends the status with the first audio.
:func:`open_stream` is shared with the upload routes (:mod:`.conditioned`).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Query, Request

from wavenet.errors import WavenetError
from wavenet.generation.synthesis import num_samples, text_frames
from wavenet_service.deps import Serving, ServingDep
from wavenet_service.engine import Job, ModelEngine, Stream
from wavenet_service.errors import ApiError
from wavenet_service.schemas import ERRORS, SynthesisRequest
from wavenet_service.settings import Settings
from wavenet_service.streaming import AudioResponse
from wavenet_service.wav import wav_header, wav_size

router = APIRouter()

AUDIO = {200: {"content": {"audio/wav": {}}, "description": "16-bit PCM mono WAV, streamed"}}


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
    settings = serving.settings
    check_temperature(body.temperature, settings)
    engine = serving.engines.pick(body.model)
    features = engine.checkpoint.features
    speaks = features is not None and features.kind == "linguistic"
    if body.text is not None and not speaks:
        raise ApiError(422, f"text: model {engine.name} does not speak text (it makes {_what(features)})")
    if features is not None and not speaks:
        raise ApiError(
            422, f"model: {engine.name} is conditioned on {features.kind} frames: {ENDPOINTS[features.kind]}"
        )
    speaker = speaker_id(engine, body.speaker)
    if speaks:
        if body.text is None:
            raise ApiError(422, f"text: Field required (model {engine.name} speaks text)")
        frames, release = await admitted(engine, request, serving, spoken_frames(engine, body, speaker, settings))
        return open_stream(
            engine, speaker, len(frames) * features.hop, body.temperature, body.seed, frames, request, serving, release
        )
    if body.seconds is None:
        raise ApiError(422, "seconds: Field required")
    if body.seconds > settings.max_seconds:
        raise ApiError(422, f"seconds: Input should be less than or equal to {settings.max_seconds:g}")
    try:
        samples = num_samples(body.seconds, engine.sample_rate)
    except WavenetError as err:
        raise ApiError(422, f"seconds: {err}") from None
    return open_stream(engine, speaker, samples, body.temperature, body.seed, None, request, serving)


async def spoken_frames(engine: ModelEngine, body: SynthesisRequest, speaker: int, settings: Settings) -> np.ndarray:
    """The frames of every sentence of the text, planned off the event loop (espeak-ng, F0 tracking)."""
    try:
        sentences = await asyncio.to_thread(
            text_frames, engine.checkpoint, body.text, speaker, body.rate, body.pitch, settings.max_text_chars
        )
    except WavenetError as err:
        message = str(err)
        raise ApiError(422, message if message.startswith(("text:", "rate")) else f"text: {message}") from None
    frames = np.concatenate(sentences)
    seconds = len(frames) * engine.checkpoint.features.hop / engine.sample_rate
    if seconds > settings.max_seconds:
        raise ApiError(422, f"text: spoken it lasts {seconds:.1f} s, more than the {settings.max_seconds:g} s allowed")
    return frames


def _what(features) -> str:
    return "audio of a given length" if features is None else f"audio from {features.kind} frames"


ENDPOINTS = {"mel": "POST a recording to /vocode", "pianoroll": "POST a MIDI file to /render"}


def check_temperature(temperature: float, settings: Settings) -> None:
    if temperature > settings.max_temperature:
        raise ApiError(422, f"temperature: Input should be less than or equal to {settings.max_temperature:g}")


def speaker_id(engine: ModelEngine, speaker: int | str | None) -> int:
    """The speaker by id or name; none given: the model's default ("any" where it has one)."""
    if speaker is None:
        return engine.checkpoint.default_speaker
    try:
        return engine.checkpoint.speaker_id(speaker)
    except WavenetError as err:
        raise ApiError(422, f"speaker: {err}") from None


async def admitted(
    engine: ModelEngine, request: Request, serving: Serving, work: Coroutine[Any, Any, np.ndarray]
) -> tuple[np.ndarray, Callable[[], None]]:
    """The frames ``work`` makes, once the client is within its stream limit and the model has room.

    Making frames costs CPU (tens of milliseconds a sentence of text, more for a long upload): a
    client past its limit, or a full server, is answered before that work, not after it. Returns
    the frames and the release of the client's stream count, for :func:`open_stream`.
    """
    try:
        release = serving.clients.acquire(client_address(request))
    except BaseException:
        work.close()  # never started
        raise
    try:
        engine.admit()
        return await work, release
    except BaseException:
        work.close()
        release()
        raise


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def open_stream(
    engine: ModelEngine,
    speaker: int,
    samples: int,
    temperature: float,
    seed: int | None,
    frames: np.ndarray | None,
    request: Request,
    serving: Serving,
    release: Callable[[], None] | None = None,
) -> AudioResponse:
    """Queue a checked stream and answer with its WAV, which streams once the stream has a slot.

    ``release``: the client's stream count, where the caller took it already (else taken here).
    """
    seed = seed if seed is not None else secrets.randbits(63)
    release = release or serving.clients.acquire(client_address(request))
    stream = Stream(Job(speaker, samples, temperature, seed, frames), asyncio.get_running_loop())
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
        client_timeout=serving.settings.client_timeout,
        metrics=serving.metrics,
        on_close=release,
    )
