"""The OpenAI speech API's shape, driven by the real `openai` Python client against a `wavenet serve` on 127.0.0.1."""

import io

import numpy as np
import openai
import pytest
import soundfile as sf

from tests.conftest import conditioned_release
from tests.service.conftest import Server


@pytest.fixture(scope="module")
def server(tmp_path_factory, checkpoint_dir):
    tts = conditioned_release(tmp_path_factory.mktemp("openai") / "speaker", "linguistic")
    server = Server(str(checkpoint_dir), str(tts), env={"WAVENET_MAX_TEXT_CHARS": "120"})
    yield server
    server.stop()


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key="not-checked-unless-the-server-has-one")


def test_speech_as_wav_exactly_as_long_as_the_server_says(client):
    response = client.audio.speech.create(model="speaker", voice="ann", input="Hello there.", response_format="wav")
    audio, rate = sf.read(io.BytesIO(response.content), dtype="int16")
    assert rate == 16000 and len(audio) == int(response.response.headers["x-samples"]) > 1000
    assert response.response.headers["content-type"] == "audio/wav"
    # OpenAI's own model names stand for the first text-to-speech model served; voices by id work too.
    again = client.audio.speech.create(model="tts-1", voice="0", input="Hello there.", response_format="wav")
    assert len(sf.read(io.BytesIO(again.content))[0]) == len(audio)


def test_streamed_pcm_arrives_in_pieces_and_adds_up(client):
    with client.audio.speech.with_streaming_response.create(
        model="speaker", voice="any", input="One. Two. Three. Four.", response_format="pcm", speed=0.8
    ) as response:
        assert response.headers["content-type"] == "audio/pcm"
        pieces = list(response.iter_bytes(chunk_size=None))
        expected = int(response.headers["x-samples"])
    data = b"".join(pieces)
    assert len(pieces) > 1 and len(data) == 2 * expected  # raw 16-bit samples, as they were generated
    assert np.abs(np.frombuffer(data, "<i2")).max() > 0


def test_the_default_format_is_mp3_as_openais(client):
    response = client.audio.speech.create(model="speaker", voice="ann", input="Hi.")
    assert response.response.headers["content-type"] == "audio/mpeg"
    assert len(sf.read(io.BytesIO(response.content))[0]) == int(response.response.headers["x-samples"])


def test_an_unknown_voice_is_a_bad_request_naming_voice(client):
    with pytest.raises(openai.BadRequestError) as caught:
        client.audio.speech.create(model="speaker", voice="alloy", input="Hello.")
    error = caught.value.body
    assert error["param"] == "voice" and "unknown speaker 'alloy'" in error["message"]
    assert "ann (0)" in error["message"] and error["type"] == "invalid_request_error"


def test_an_over_long_input_is_a_bad_request_naming_input(client):
    with pytest.raises(openai.BadRequestError) as caught:
        client.audio.speech.create(model="speaker", voice="ann", input="word " * 30)
    assert caught.value.body["param"] == "input"
    assert "150 characters, more than the 120 allowed" in caught.value.body["message"]


def test_a_model_that_does_not_speak_is_not_found(client):
    with pytest.raises(openai.NotFoundError) as caught:
        client.audio.speech.create(model="tiny", voice="0", input="Hello.")
    assert caught.value.body["param"] == "model" and "does not speak text" in caught.value.body["message"]
    with pytest.raises(openai.BadRequestError) as caught:
        client.audio.speech.create(model="speaker", voice="ann", input="Hello.", instructions="whisper")
    assert caught.value.body["param"] == "instructions"


def test_models_lists_what_is_served(client):
    assert sorted(model.id for model in client.models.list()) == ["speaker", "tiny"]


def test_the_readme_client_example_runs_against_the_bundled_model(tmp_path):
    """The five lines in the README's quickstart, as written, against `wavenet serve` on the bundled tts-acoustic."""
    import re
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    quickstart = (root / "README.md").read_text(encoding="utf-8").split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", quickstart, re.S).group(1)
    assert len([line for line in code.splitlines() if line.strip()]) <= 5
    server = Server(str(root / "checkpoints" / "tts-acoustic"))
    try:
        code = code.replace("http://127.0.0.1:8000", server.url)
        done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    finally:
        server.stop()
    assert done.returncode == 0, done.stderr
    audio, rate = sf.read(str(tmp_path / "hello.mp3"))
    assert rate == 16000 and len(audio) > 8000
