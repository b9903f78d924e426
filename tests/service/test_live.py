"""Against a real `wavenet serve` process on 127.0.0.1: concurrency, streaming, disconnects, limits."""

import io
import signal
import threading
import time
import wave

import httpx
import numpy as np
import pytest
import soundfile as sf

from tests.service.conftest import Server


@pytest.fixture(scope="module")
def server(checkpoint_dir):
    # The plain torch backend: slow enough that a stream is still being generated while the
    # tests look at it (the native backend makes a tiny model's audio faster than they can look).
    server = Server(str(checkpoint_dir), "--max-batch", "8", "--backend", "torch", env={"WAVENET_QUEUE_SIZE": "8"})
    yield server
    server.stop()


def check_wav(data: bytes, samples: int) -> np.ndarray:
    audio, rate = sf.read(io.BytesIO(data), dtype="int16")
    assert rate == 16000 and len(audio) == samples
    with wave.open(io.BytesIO(data)) as w:
        assert w.getnframes() == samples
        assert np.array_equal(np.frombuffer(w.readframes(samples), "<i2"), audio)
    return audio


def test_eight_concurrent_requests_all_get_exact_wavs(server):
    requests = [{"speaker": i % 4, "seconds": 0.2 + 0.05 * i, "seed": i} for i in range(8)]
    results: dict[int, bytes] = {}

    def fetch(i: int) -> None:
        results[i] = httpx.post(f"{server.url}/synthesize", json=requests[i], timeout=120).content

    threads = [threading.Thread(target=fetch, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, body in enumerate(requests):
        check_wav(results[i], round(body["seconds"] * 16000))
    assert server.metric("wavenet_active_streams") == 0


def test_audio_streams_before_it_is_complete(server):
    start = time.perf_counter()
    with httpx.stream("POST", f"{server.url}/synthesize", json={"seconds": 1.0, "seed": 1}, timeout=120) as response:
        assert response.headers["content-length"] == str(44 + 32000)
        received, first_audio = b"", None
        for chunk in response.iter_bytes():
            received += chunk
            if first_audio is None and len(received) > 44:
                first_audio = time.perf_counter() - start
    total = time.perf_counter() - start
    check_wav(received, 16000)
    assert first_audio < total / 4  # about one chunk's generation time, not the whole file's


def test_same_seed_same_audio_when_alone(server):
    body = {"speaker": "carol", "seconds": 0.25, "seed": 77, "temperature": 0.9}
    a = httpx.post(f"{server.url}/synthesize", json=body, timeout=60).content
    b = httpx.post(f"{server.url}/synthesize", json=body, timeout=60).content
    assert a == b


def test_a_disconnected_client_frees_its_slot(server):
    def held() -> (
        float
    ):  # running in a slot, or paused because this client reads nothing (a busy machine gets there first)
        return server.metric("wavenet_active_streams") + server.metric("wavenet_paused_streams")

    with httpx.stream("POST", f"{server.url}/synthesize", json={"seconds": 30, "seed": 2}, timeout=60) as response:
        chunks = response.iter_bytes()  # kept: httpx 0.29 closes the response when the iterator is collected
        next(chunks)
        deadline = time.monotonic() + 10
        while held() < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert held() == 1
    # The connection is closed: the slot must be free within about one chunk.
    deadline = time.monotonic() + 5
    while held() > 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert held() == 0


def test_a_full_queue_answers_429(checkpoint_dir):
    server = Server(str(checkpoint_dir), "--max-batch", "1", "--queue-size", "0", "--backend", "torch")
    try:
        with httpx.stream("POST", f"{server.url}/synthesize", json={"seconds": 30}, timeout=60) as running:
            chunks = running.iter_bytes()  # kept alive, as above
            next(chunks)
            refused = httpx.post(f"{server.url}/synthesize", json={"seconds": 0.1}, timeout=60)
            assert refused.status_code == 429
            assert int(refused.headers["retry-after"]) >= 1
            assert "capacity" in refused.json()["detail"]
    finally:
        server.stop()


def test_shutdown_finishes_streams_in_flight(checkpoint_dir):
    server = Server(str(checkpoint_dir))
    with httpx.stream("POST", f"{server.url}/synthesize", json={"seconds": 1.0, "seed": 3}, timeout=60) as response:
        chunks = response.iter_bytes()
        received = next(chunks)
        server.process.send_signal(signal.SIGTERM)
        for chunk in chunks:
            received += chunk
    check_wav(received, 16000)  # the stream in flight was finished, not cut
    # uvicorn exits by re-raising the signal it handled, once shutdown is complete.
    assert server.process.wait(timeout=30) in (0, -signal.SIGTERM)
    assert "Finished server process" in server.stop()
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{server.url}/healthz", timeout=2)


def test_startup_errors_are_one_line(tmp_path):
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "wavenet", "serve", str(tmp_path / "missing")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "wavenet: error: no checkpoint directory at" in result.stderr
    assert "Traceback" not in result.stderr
    result = subprocess.run(
        [sys.executable, "-m", "wavenet", "serve", "debug", "--max-batch", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "server settings: max_batch" in result.stderr
