"""Every server setting, from the environment (WAVENET_*) or from `wavenet serve` options."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_CHECKPOINTS = (
    Path(__file__).resolve().parents[2] / "checkpoints"
)  # this file is service/wavenet_service/settings.py


class Settings(BaseSettings):
    """Validated once at start-up; printed there (the API key masked)."""

    model_config = SettingsConfigDict(env_prefix="WAVENET_", extra="forbid")

    models: list[str] = Field(
        default_factory=list,
        description="checkpoint directories (or presets) to serve; empty: every model in checkpoints_dir",
    )
    checkpoints_dir: Path = Field(REPO_CHECKPOINTS, description="where the bundled models are")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    device: str = Field("cpu", pattern="^(cpu|cuda(:[0-9]+)?)$")
    backend: str = Field("auto", description="generation backend: auto picks the fastest for the device")
    max_batch: int = Field(16, ge=1, le=4096, description="streams generated together per model")
    queue_size: int = Field(64, ge=0, description="streams waiting or paused beyond max_batch before answering 429")
    chunk_seconds: float = Field(0.1, gt=0, le=2.0, description="audio per streamed chunk")
    max_seconds: float = Field(60.0, gt=0, description="longest audio one request may ask for")
    max_text_chars: int = Field(1000, ge=1, description="longest text one request may ask to be spoken")
    max_temperature: float = Field(2.0, gt=0)
    max_body_bytes: int = Field(4096, ge=256, description="larger request bodies get 413 (uploads: max_upload_bytes)")
    max_upload_bytes: int = Field(
        16 * 2**20,
        ge=1024,
        description="larger uploads to /vocode and /render get 413; their audio is max_seconds at most",
    )
    api_key: SecretStr | None = Field(None, description="when set, required as a bearer token")
    shutdown_timeout: float = Field(10.0, ge=0, description="seconds to let streams finish on shutdown")
    warmup: bool = Field(True, description="generate a little with every model before reporting ready")
    buffer_seconds: float = Field(
        2.0,
        gt=0,
        le=60,
        description="audio a stream may run ahead of what its client has taken; then it pauses and frees its slot",
    )
    client_timeout: float = Field(
        30.0, gt=0, description="a client that takes no audio for this many seconds is dropped"
    )
    send_buffer_bytes: int = Field(
        65536, ge=0, description="the kernel's send buffer per connection (SO_SNDBUF); 0: the system's default"
    )
    max_streams_per_client: int = Field(
        0, ge=0, description="concurrent streams one client address may hold; 0: no limit"
    )
    worker_restarts: int = Field(
        3, ge=0, description="times a failed generation loop is restarted before the server exits with status 3"
    )

    def describe(self) -> str:
        shown = self.model_dump()
        shown["api_key"] = "(set)" if self.api_key else "(none)"
        return "\n".join(f"  {key}: {value}" for key, value in shown.items())
