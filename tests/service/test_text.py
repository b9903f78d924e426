"""Text to speech through the ASGI app: POST and GET /synthesize with text stream each sentence spoken."""

import io
import wave

import pytest
from fastapi.testclient import TestClient
from wavenet_service.app import create_app
from wavenet_service.settings import Settings

from tests.conftest import conditioned_release
from wavenet.release import load_release
from wavenet.synthesizer import text_frames


@pytest.fixture(scope="module")
def tts(tmp_path_factory):
    return load_release(conditioned_release(tmp_path_factory.mktemp("tts") / "tts", "linguistic"))


@pytest.fixture(scope="module")
def client(tts, checkpoint):
    settings = Settings(max_seconds=4.0, max_text_chars=200)
    with TestClient(create_app(settings, [checkpoint, tts])) as client:
        yield client


def samples_of(response) -> int:
    with wave.open(io.BytesIO(response.content)) as w:
        return w.getnframes()


def test_text_is_spoken_sentence_by_sentence(client, tts):
    text = "Hello there. Dr. Smith paid $12.50!"
    response = client.post("/synthesize", json={"model": "tts", "text": text, "speaker": "ann", "seed": 4})
    assert response.status_code == 200 and response.headers["content-type"] == "audio/wav"
    expected = sum(len(f) for f in text_frames(tts, text, speaker=0)) * 40
    assert samples_of(response) == expected == int(response.headers["content-length"]) // 2 - 22
    again = client.get("/synthesize", params={"model": "tts", "text": text, "speaker": "ann", "seed": 4})
    assert again.content == response.content  # the GET form, for audio elements
    fast = client.post("/synthesize", json={"model": "tts", "text": text, "rate": 2, "pitch": 1.5, "seed": 4})
    assert samples_of(fast) == pytest.approx(expected / 2, rel=0.1)
    models = {m["name"]: m for m in client.get("/models").json()["models"]}
    assert models["tts"]["conditioning"]["kind"] == "linguistic"
    assert models["tts"]["conditioning"]["endpoint"] == "/synthesize"
    assert client.get("/models").json()["limits"]["max_text_chars"] == 200


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"model": "tts"}, "text: Field required (model tts makes speech from text)"),
        ({"model": "tts", "text": ""}, "text: empty"),
        ({"model": "tts", "text": "?! ..."}, "text: nothing speakable in it"),
        ({"model": "tts", "text": "word " * 50}, "text: 250 characters, more than the 200 allowed"),
        ({"model": "tts", "text": "Say this. " * 19}, "more than the 4 s allowed"),
        ({"model": "tts", "text": "hi", "rate": 0}, "rate: Input should be greater than 0"),
        ({"model": "tts", "text": "hi", "pitch": 5}, "pitch: Input should be less than or equal to 4"),
        ({"model": "tiny", "text": "hi"}, "text: model tiny takes no text: it makes audio of a given length"),
    ],
)
def test_bad_text_requests_get_422_naming_the_field(client, body, message):
    response = client.post("/synthesize", json=body)
    assert response.status_code == 422 and message in response.json()["detail"]


def test_models_without_text_still_take_seconds(client):
    response = client.post("/synthesize", json={"model": "tiny", "seconds": 0.25, "seed": 1})
    assert response.status_code == 200 and samples_of(response) == 4000
    response = client.post("/synthesize", json={"model": "tiny"})
    assert (
        response.status_code == 422
        and response.json()["detail"] == "seconds: Field required (model tiny makes audio of a given length)"
    )


def test_a_client_at_its_limit_or_a_full_model_is_answered_before_its_text_is_planned(tts, checkpoint, monkeypatch):
    planned = []
    settings = Settings(max_batch=1, queue_size=0, max_streams_per_client=1)
    with TestClient(create_app(settings, [checkpoint, tts])) as client:
        synth = client.app.state.engines.pick("tts").synthesizer
        plan = synth.plan
        monkeypatch.setattr(synth, "plan", lambda *args: planned.append(args) or plan(*args))
        body = {"model": "tts", "text": "Hello there.", "seed": 1}
        release = client.app.state.clients.acquire("testclient")  # this client has a stream open
        response = client.post("/synthesize", json=body)
        assert response.status_code == 429 and response.json()["detail"].startswith("client: testclient")
        release()
        engine = client.app.state.engines.pick("tts")
        monkeypatch.setattr(engine, "capacity", 0)  # the model's slots and queue are all taken
        response = client.post("/synthesize", json=body)
        assert response.status_code == 429 and "capacity" in response.json()["detail"]
        assert planned == []
        monkeypatch.undo()
        assert client.post("/synthesize", json=body).status_code == 200  # the client's count was given back
