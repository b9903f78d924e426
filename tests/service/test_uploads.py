"""Uploads through the ASGI app: /vocode and /render stream what conditioned models make, bad uploads get 4xx."""

import io
import wave

import numpy as np
import pytest
import soundfile as sf
from fastapi.testclient import TestClient
from wavenet_service.app import create_app
from wavenet_service.settings import Settings

from tests.conftest import conditioned_release, write_midi
from wavenet.release import load_release


@pytest.fixture(scope="module")
def client(tmp_path_factory, checkpoint):
    root = tmp_path_factory.mktemp("conditioned")
    vocoder = load_release(conditioned_release(root / "vocoder", "mel"))
    piano = load_release(conditioned_release(root / "piano", "pianoroll"))
    settings = Settings(max_seconds=2.0, max_upload_bytes=200_000)
    with TestClient(create_app(settings, [checkpoint, vocoder, piano])) as client:
        yield client


def wav_bytes(seconds: float, rate: int = 22050) -> bytes:
    t = np.arange(round(seconds * rate)) / rate
    out = io.BytesIO()
    sf.write(out, (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), rate, format="WAV", subtype="PCM_16")
    return out.getvalue()


def midi_bytes(tmp_path, notes) -> bytes:
    write_midi(tmp_path / "song.mid", notes)
    return (tmp_path / "song.mid").read_bytes()


def frames_of(response) -> int:
    with wave.open(io.BytesIO(response.content)) as w:
        return w.getnframes()


def generated(client) -> float:
    lines = client.get("/metrics").text.splitlines()
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines if line.startswith("wavenet_samples_generated_total{"))


def test_models_say_what_each_takes(client):
    models = {m["name"]: m for m in client.get("/models").json()["models"]}
    assert models["tiny"]["conditioning"] is None
    assert models["vocoder"]["conditioning"] == {
        "kind": "mel",
        "channels": 6,
        "hop": 40,
        "lookahead_frames": 2,
        "endpoint": "/vocode",
    }
    assert models["piano"]["conditioning"]["endpoint"] == "/render"


def test_vocode_streams_frames_times_hop_samples_reproducibly(client):
    body = wav_bytes(0.23)  # 22.05 kHz: resampled to 3680 samples at 16 kHz, 92 frames of 40
    a = client.post("/vocode?model=vocoder&seed=4", content=body)
    assert a.status_code == 200 and a.headers["content-type"] == "audio/wav"
    assert frames_of(a) == 92 * 40 and a.headers["content-length"] == str(44 + 2 * 92 * 40)
    assert len(a.content) == 44 + 2 * 92 * 40  # every sample sent, the last chunk a short one
    b = client.post("/vocode?model=vocoder&seed=4&speaker=ann", content=body)
    assert b.content != a.content  # another speaker than the default ("any")
    assert client.post("/vocode?model=vocoder&seed=4", content=body).content == a.content


def test_render_streams_the_midi_and_its_tail(client, tmp_path):
    body = midi_bytes(tmp_path, [(60, 0.0, 0.2, 90), (64, 0.1, 0.5, 60)])
    response = client.post("/render?model=piano&seed=1", content=body)
    assert response.status_code == 200 and frames_of(response) == 600 * 40  # 0.5 s + 1 s of tail, 600 frames
    assert len(response.content) == 44 + 2 * 600 * 40


@pytest.mark.parametrize(
    "url,body,status,message",
    [
        ("/vocode?model=vocoder", b"", 422, "body: empty"),
        ("/vocode?model=vocoder", b"RIFF....not a wav", 422, "body: not audio that soundfile can read"),
        ("/vocode?model=vocoder", "long", 422, "body: 3.0 s long, more than the 2 s allowed"),
        ("/vocode?model=vocoder", b"x" * 300_000, 413, "body: larger than 200000 bytes"),
        ("/render?model=piano", b"MThd\x00\x00", 422, "body: not a readable MIDI file"),
        ("/render?model=piano", "silent", 422, "body: the MIDI file has no notes"),
        ("/render?model=piano", "late", 422, "body: 4.0 s long, more than the 2 s allowed"),
        (
            "/render?model=vocoder",
            "song",
            422,
            "model: vocoder takes no midi: it makes audio from a recording's mel frames",
        ),
        ("/vocode?model=tiny", "short", 422, "model: tiny takes no recording: it makes audio of a given length"),
        ("/vocode?model=vocoder&speaker=zed", "short", 422, "speaker: unknown speaker 'zed'"),
        ("/vocode?model=vocoder&temperature=9", "short", 422, "temperature: Input should be less than or equal to 2"),
        ("/vocode?model=vocoder&volume=3", "short", 422, "volume: unknown field"),
    ],
)
def test_bad_uploads_get_a_4xx_and_generate_nothing(client, tmp_path, url, body, status, message):
    bodies = {
        "long": wav_bytes(3.0),
        "short": wav_bytes(0.1),
        "silent": midi_bytes(tmp_path, []),
        "late": midi_bytes(tmp_path, [(60, 2.5, 3.0, 80)]),
        "song": midi_bytes(tmp_path, [(60, 0.0, 0.1, 80)]),
    }
    before = generated(client)
    response = client.post(url, content=bodies.get(body, body))
    assert response.status_code == status
    assert response.json()["detail"].startswith(message)
    assert generated(client) == before


def test_synthesize_points_a_conditioned_model_to_its_endpoint(client):
    response = client.post("/synthesize", json={"model": "vocoder", "seconds": 0.1})
    assert response.status_code == 422
    assert (
        response.json()["detail"]
        == "model: vocoder makes audio from a recording's mel frames: POST a recording to /vocode"
    )


def test_a_client_at_its_limit_is_answered_before_its_upload_is_decoded(client, monkeypatch):
    decoded = []
    synth = client.app.state.engines.pick("vocoder").synthesizer
    plan = synth.plan
    monkeypatch.setattr(synth, "plan", lambda *args: decoded.append(1) or plan(*args))
    monkeypatch.setattr(client.app.state.clients, "limit", 1)
    release = client.app.state.clients.acquire("testclient")
    response = client.post("/vocode", params={"model": "vocoder"}, content=wav_bytes(0.2))
    assert response.status_code == 429 and response.json()["detail"].startswith("client: testclient")
    assert decoded == []
    release()
    response = client.post("/vocode", params={"model": "vocoder", "seed": 1}, content=wav_bytes(0.2))
    assert response.status_code == 200 and decoded == [1]
