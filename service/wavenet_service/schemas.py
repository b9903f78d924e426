"""Request and response bodies; their Field bounds and descriptions are the OpenAPI docs.

The bounds that are settings (``max_seconds``, ``max_temperature``) are checked by the route
and written into the served OpenAPI schema by the app (:func:`wavenet_service.app.create_app`).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

AudioFormatName = Annotated[
    Literal["wav", "pcm", "flac", "opus", "mp3"],
    Field(
        description="wav (the default) and pcm (16-bit little-endian mono, no header) stream as generated; "
        "flac, opus (Ogg) and mp3 are encoded once complete (see GET /models for what this server writes)"
    ),
]  # every audio route's ``format`` (wavenet_service.formats)


class SynthesisRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"speaker": 0, "seconds": 2.0}]})

    model: Annotated[str | None, Field(description="model name; optional when one model is served")] = None
    speaker: Annotated[
        int | str | None,
        Field(description="speaker id or name (see GET /models); default: 'any' where the model has it, else 0"),
    ] = None
    seconds: Annotated[
        float | None,
        Field(gt=0, description="audio length, at most the server's max_seconds; for models without text"),
    ] = None
    text: Annotated[
        str | None,
        Field(description="what a text-to-speech model says (English), at most the server's max_text_chars"),
    ] = None
    rate: Annotated[float, Field(gt=0, le=4, description="speaking rate of text: 2 is twice as fast")] = 1.0
    pitch: Annotated[float, Field(gt=0, le=4, description="pitch of text: 2 is an octave higher")] = 1.0
    temperature: Annotated[
        float | None,
        Field(
            gt=0,
            description="sampling temperature, at most the server's max_temperature; lower is more conservative; "
            "default: the model's (its default_temperature)",
        ),
    ] = None
    seed: Annotated[
        int | None, Field(ge=0, le=2**63 - 1, description="random seed; the same seed gives the same audio")
    ] = None
    format: AudioFormatName = "wav"


class Speaker(BaseModel):
    id: int
    name: str


class Conditioning(BaseModel):
    kind: str = Field(
        description="mel (a vocoder: POST a recording to /vocode), pianoroll (POST MIDI to /render) or "
        "linguistic (text to speech: POST text to /synthesize)"
    )
    channels: int
    hop: int = Field(description="samples per frame; a stream is frames × hop samples long")
    lookahead_frames: int = Field(description="frames past a sample's own that generating it reads")
    endpoint: str


class ConditionedRequest(BaseModel):
    """The query parameters of /vocode and /render; the body is the input file."""

    model_config = ConfigDict(extra="forbid")

    model: Annotated[str | None, Field(description="model name; optional when one model is served")] = None
    speaker: Annotated[
        int | str | None, Field(description="speaker id or name; default: 'any' where the model has it, else 0")
    ] = None
    temperature: Annotated[
        float | None,
        Field(gt=0, description="sampling temperature, at most max_temperature; default: the model's"),
    ] = None
    seed: Annotated[int | None, Field(ge=0, le=2**63 - 1, description="random seed")] = None
    format: AudioFormatName = "wav"


class ModelInfo(BaseModel):
    name: str
    sample_rate: int
    receptive_field: int = Field(description="samples of context each sample depends on")
    receptive_field_ms: float
    trained: bool = Field(description="false for a preset: random weights that generate noise")
    speakers: list[Speaker]
    backend: str = Field(description="generation backend in use")
    default_temperature: float = Field(1.0, description="the temperature of a request that names none (the release's)")
    conditioning: Conditioning | None = Field(None, description="what frames a conditioned model reads, and where")


class Limits(BaseModel):
    max_seconds: float = Field(description="longest audio one request may ask for, or upload")
    max_text_chars: int = Field(description="longest text one request may ask to be spoken")
    max_temperature: float
    max_upload_bytes: int
    formats: list[str] = Field(description="the audio formats this server writes (its libsndfile's)")


class ModelList(BaseModel):
    models: list[ModelInfo]
    limits: Limits


class Status(BaseModel):
    status: str
    reasons: list[str] | None = Field(None, description="why the server is not ready")


class ErrorBody(BaseModel):
    detail: str = Field(description="what was wrong, naming the field where there is one")


ERRORS = {code: {"model": ErrorBody} for code in (401, 404, 413, 422, 429, 503)}
