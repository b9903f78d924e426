"""Request and response bodies; their Field bounds and descriptions are the OpenAPI docs."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


def synthesis_request(max_seconds: float, max_temperature: float) -> type[BaseModel]:
    """The /synthesize request, with this server's limits as its bounds."""

    class SynthesisRequest(BaseModel):
        model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"speaker": 0, "seconds": 2.0}]})

        model: Annotated[str | None, Field(description="model name; optional when one model is served")] = None
        speaker: Annotated[int | str, Field(description="speaker id or name (see GET /models)")] = 0
        seconds: Annotated[float, Field(gt=0, le=max_seconds, description=f"audio length, at most {max_seconds} s")]
        temperature: Annotated[
            float, Field(gt=0, le=max_temperature, description="sampling temperature; lower is more conservative")
        ] = 1.0
        seed: Annotated[
            int | None, Field(ge=0, le=2**63 - 1, description="random seed; the same seed gives the same audio")
        ] = None

    return SynthesisRequest


class Speaker(BaseModel):
    id: int
    name: str


class ModelInfo(BaseModel):
    name: str
    sample_rate: int
    receptive_field: int = Field(description="samples of context each sample depends on")
    receptive_field_ms: float
    trained: bool = Field(description="false for a preset: random weights that generate noise")
    speakers: list[Speaker]
    backend: str = Field(description="generation backend in use")


class ModelList(BaseModel):
    models: list[ModelInfo]


class Status(BaseModel):
    status: str


class ErrorBody(BaseModel):
    detail: str = Field(description="what was wrong, naming the field where there is one")
