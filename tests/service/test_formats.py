"""The audio formats of every audio route: WAV and raw PCM streamed with their exact sizes, FLAC exact, Opus and MP3."""

import io

import numpy as np
import pytest
import soundfile as sf
from fastapi.testclient import TestClient
from wavenet_service.app import create_app
from wavenet_service.formats import ALL, AVAILABLE
from wavenet_service.settings import Settings

from tests.conftest import conditioned_release, write_midi
from wavenet.release import load_release

LOSSY = ("opus", "mp3")


@pytest.fixture(scope="module")
def client(tmp_path_factory, checkpoint):
    root = tmp_path_factory.mktemp("formats")
    models = [load_release(conditioned_release(root / kind, kind)) for kind in ("mel", "pianoroll", "linguistic")]
    with TestClient(create_app(Settings(max_seconds=4.0), [checkpoint, *models])) as client:
        yield client


def decoded(response, fmt: str) -> np.ndarray:
    if fmt == "pcm":
        return np.frombuffer(response.content, dtype="<i2")
    audio, rate = sf.read(io.BytesIO(response.content), dtype="int16")
    assert rate == 16000
    return audio


def test_this_libsndfile_writes_every_format():
    """PyPI's soundfile wheels bundle a libsndfile that writes FLAC, Ogg Opus and MP3: the server offers them all."""
    assert list(AVAILABLE) == ["wav", "pcm", "flac", "opus", "mp3"]


@pytest.mark.parametrize("fmt", list(ALL))
def test_synthesize_in_every_format_gives_the_same_samples(client, fmt):
    body = {"model": "tiny", "seconds": 0.3, "seed": 5}
    wav = client.post("/synthesize", json=body)
    reference = decoded(wav, "wav")
    response = client.post("/synthesize", json={**body, "format": fmt})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(ALL[fmt].media_type)
    assert response.headers["x-samples"] == "4800" and response.headers["x-sample-rate"] == "16000"
    assert response.headers["content-disposition"].endswith(f'.{fmt}"')
    audio = decoded(response, fmt)
    assert len(audio) == 4800  # exact in every format, read back by libsndfile
    if fmt in ("wav", "pcm", "flac"):  # lossless: the very samples
        assert np.array_equal(audio, reference)
        if fmt != "flac":
            assert int(response.headers["content-length"]) == len(response.content) == 44 * (fmt == "wav") + 9600
    else:  # lossy, and smaller than the samples
        assert len(response.content) < 9600
        assert np.corrcoef(audio.astype(float), reference.astype(float))[0, 1] > 0.5


@pytest.mark.parametrize("fmt", ["pcm", "flac", "mp3"])
def test_uploads_and_text_take_a_format_too(client, fmt, tmp_path):
    tone = (0.3 * np.sin(np.arange(8000) * 2 * np.pi * 220 / 16000) * 32767).astype(np.int16)
    buffer = io.BytesIO()
    sf.write(buffer, tone, 16000, format="WAV")
    vocoded = client.post(f"/vocode?model=mel&seed=1&format={fmt}", content=buffer.getvalue())
    assert vocoded.status_code == 200 and len(decoded(vocoded, fmt)) == 8000
    midi = tmp_path / "song.mid"
    write_midi(midi, [(60, 0.0, 0.25, 90)])
    rendered = client.post(f"/render?model=pianoroll&seed=1&format={fmt}", content=midi.read_bytes())
    assert rendered.status_code == 200 and len(decoded(rendered, fmt)) == int(rendered.headers["x-samples"])
    spoken = client.get("/synthesize", params={"model": "linguistic", "text": "Hello.", "format": fmt})
    assert spoken.status_code == 200 and len(decoded(spoken, fmt)) == int(spoken.headers["x-samples"])


def test_an_unknown_format_is_a_422_naming_the_field(client):
    response = client.post("/synthesize", json={"model": "tiny", "seconds": 0.1, "format": "aac"})
    assert response.status_code == 422 and response.json()["detail"].startswith("format: ")
    response = client.post("/vocode?model=mel&format=ogg", content=b"x")
    assert response.status_code == 422 and response.json()["detail"].startswith("format: ")
