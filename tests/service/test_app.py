"""The API through the ASGI app: every route, every bad input and its status."""

import io
import wave

import pytest
import soundfile as sf
from fastapi.testclient import TestClient
from wavenet_service.app import create_app
from wavenet_service.settings import Settings

from tests.service.conftest import SPEAKERS
from wavenet.release import load_model


def make_client(checkpoints, **settings) -> TestClient:
    return TestClient(create_app(Settings(**{"max_seconds": 2.0, **settings}), checkpoints))


@pytest.fixture(scope="module")
def client(checkpoint):
    with make_client([checkpoint]) as client:
        yield client


def read_wav(data: bytes) -> tuple[int, int]:
    with wave.open(io.BytesIO(data)) as w:
        frames = w.readframes(w.getnframes())
        assert len(frames) == 2 * w.getnframes()
        return w.getnframes(), w.getframerate()


def test_synthesize_returns_a_wav_of_exactly_the_requested_length(client):
    response = client.post("/synthesize", json={"speaker": "bob", "seconds": 0.3, "seed": 5})
    assert response.status_code == 200
    assert response.headers["content-type"] == "audio/wav"
    assert response.headers["content-length"] == str(44 + 2 * 4800) == str(len(response.content))
    assert response.headers["content-disposition"] == 'attachment; filename="tiny-1-5.wav"'
    assert read_wav(response.content) == (4800, 16000)
    audio, rate = sf.read(io.BytesIO(response.content), dtype="int16")
    assert len(audio) == 4800 and audio.std() > 0


def test_get_variant_and_seed_reproducibility(client):
    query = {"speaker": 2, "seconds": 0.05, "seed": 9, "temperature": 0.8}
    a = client.get("/synthesize", params=query)
    b = client.post("/synthesize", json=query)
    assert a.status_code == b.status_code == 200
    assert a.content == b.content
    assert a.headers["x-seed"] == "9"
    c = client.post("/synthesize", json={**query, "seed": 10})
    assert c.content != a.content


def test_models_health_readiness(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}
    [model] = client.get("/models").json()["models"]
    assert model["name"] == "tiny" and model["sample_rate"] == 16000 and model["receptive_field"] == 32
    assert model["backend"] == "native-f16"  # the fastest CPU backend, by default
    assert [(s["id"], s["name"]) for s in model["speakers"]] == sorted((i, n) for n, i in SPEAKERS.items())
    assert "<title>wavenet-service</title>" in client.get("/").text
    assert client.get("/openapi.json").json()["paths"]["/synthesize"]["post"]


@pytest.mark.parametrize(
    "body,status,message",
    [
        ({"model": "nope", "seconds": 1}, 404, "model: unknown model 'nope'; models: tiny"),
        ({"speaker": "eve", "seconds": 1}, 422, "speaker: unknown speaker 'eve'; speakers: alice (0), bob (1)"),
        ({"speaker": 9, "seconds": 1}, 422, "speaker: unknown speaker 9"),
        ({"seconds": 0}, 422, "seconds: Input should be greater than 0"),
        ({"seconds": -1}, 422, "seconds: Input should be greater than 0"),
        ({"seconds": 2.5}, 422, "seconds: Input should be less than or equal to 2"),
        ({"seconds": 1e-6}, 422, "seconds: 1e-06 s is shorter than one sample at 16000 Hz"),
        ({"seconds": "long"}, 422, "seconds: Input should be a valid number"),
        ({}, 422, "seconds: Field required"),
        ({"seconds": 1, "temperature": 0}, 422, "temperature: Input should be greater than 0"),
        ({"seconds": 1, "temperature": 9}, 422, "temperature: Input should be less than or equal to 2"),
        ({"seconds": 1, "seed": -3}, 422, "seed: Input should be greater than or equal to 0"),
        ({"seconds": 1, "seed": 1.5}, 422, "seed: Input should be a valid integer"),
        ({"seconds": 1, "volume": 11}, 422, "volume: unknown field"),
        ({"seconds": 1, "speaker": [1]}, 422, "speaker: Input should be a valid"),
    ],
)
def test_bad_input_is_refused_before_any_audio(client, body, status, message):
    response = client.post("/synthesize", json=body)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert message in response.json()["detail"]


def test_malformed_and_oversized_bodies(client):
    response = client.post("/synthesize", content=b'{"seconds": 1,', headers={"content-type": "application/json"})
    assert response.status_code == 422 and response.json()["detail"].startswith("body: malformed JSON")
    response = client.post("/synthesize", content=b"[1, 2]", headers={"content-type": "application/json"})
    assert response.status_code == 422
    big = b'{"seconds": 1, "model": "' + b"x" * 10_000 + b'"}'
    response = client.post("/synthesize", content=big, headers={"content-type": "application/json"})
    assert response.status_code == 413 and response.json() == {"detail": "body: larger than 4096 bytes"}

    def chunks():
        yield b'{"seconds": 1, "model": "'
        yield b"x" * 10_000
        yield b'"}'

    response = client.post("/synthesize", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413


def test_no_traceback_or_path_ever_reaches_a_client(client):
    for body in ({"seconds": "x"}, {"model": 3, "seconds": 1}, {"seconds": 1, "speaker": {"a": 1}}):
        text = client.post("/synthesize", json=body).text
        assert "Traceback" not in text and "/wavenet/" not in text and ".py" not in text


def test_model_is_required_when_several_are_served(checkpoint):
    with make_client([checkpoint, load_model("debug")]) as client:
        response = client.post("/synthesize", json={"seconds": 0.01})
        assert response.status_code == 422 and "model: required when several models are served" in response.text
        assert client.post("/synthesize", json={"model": "debug", "seconds": 0.01}).status_code == 200
        assert len(client.get("/models").json()["models"]) == 2


def test_api_key(checkpoint):
    with make_client([checkpoint], api_key="s3cret") as client:
        for path in ("/healthz", "/readyz", "/metrics"):
            assert client.get(path).status_code == 200
        for path in ("/models", "/", "/docs", "/openapi.json"):
            response = client.get(path)
            assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
        assert client.post("/synthesize", json={"seconds": 0.01}).status_code == 401
        assert client.get("/models", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert client.get("/models", headers={"Authorization": "Basic s3cret"}).status_code == 401
        ok = client.post("/synthesize", json={"seconds": 0.01}, headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200


def test_metrics(client):
    client.post("/synthesize", json={"seconds": 0.1})
    client.post("/synthesize", json={"seconds": -1})
    text = client.get("/metrics").text
    assert 'wavenet_requests_total{route="/synthesize",status="200"}' in text
    assert 'wavenet_requests_total{route="/synthesize",status="422"}' in text
    for name in (
        "wavenet_queue_depth",
        "wavenet_active_streams",
        "wavenet_samples_generated_total",
        "wavenet_time_to_first_audio_seconds_bucket",
        "wavenet_generation_samples_per_second",
    ):
        assert name in text


def test_readiness_is_false_before_start(checkpoint):
    app = create_app(Settings(), [checkpoint])
    client = TestClient(app)  # no lifespan: models not loaded
    assert client.get("/readyz").status_code == 503
    assert client.get("/healthz").status_code == 200


def test_by_default_the_server_serves_the_bundled_models():
    """The default checkpoints_dir is the clone's checkpoints/ (the server's package lives two folders below it)."""
    from pathlib import Path

    from wavenet_service.settings import Settings

    bundled = Path(__file__).resolve().parents[2] / "checkpoints"
    assert Settings().checkpoints_dir == bundled
    assert {p.name for p in bundled.iterdir() if (p / "config.json").is_file()} >= {"speech-small", "tts-small"}
