"""A generation loop that fails: its streams end with an error, /readyz says why, the loop restarts or the server exits.

The failure is injected through a backend registered for the test: the plain torch generator,
except that starting a stream with seed 666 raises, as a bug would, inside the worker thread.
"""

import os
import subprocess
import sys
import threading
import time

import httpx
import pytest
from fastapi.testclient import TestClient
from wavenet_service.app import create_app
from wavenet_service.settings import Settings

from tests.service.conftest import free_port
from wavenet.generation import registry
from wavenet.generation.backends.cached import CachedGenerator

POISON = 666


class Failing(CachedGenerator):
    name = "failing"

    def reset(self, slot, speaker=0, temperature=1.0, seed=None, frames=None, voiced_scale=1.0):
        if seed == POISON:
            raise RuntimeError("injected failure")
        return super().reset(slot, speaker, temperature, seed, frames, voiced_scale)


@pytest.fixture
def failing_backend(monkeypatch):
    monkeypatch.setitem(registry.BACKENDS, "failing", Failing)
    monkeypatch.setattr(registry, "available_backends", lambda model, batch_size=1: ["naive", "torch", "failing"])


def test_a_failed_loop_fails_its_stream_reports_why_and_restarts(checkpoint, failing_backend, monkeypatch, caplog):
    import wavenet_service.batching as engine_module

    restarted = threading.Event()
    make = engine_module.make_generator

    def slow_restart(*args, **kwargs):  # hold the restart so that the test sees the model not ready
        restarted.wait(10)
        return make(*args, **kwargs)

    fatal = []
    app = create_app(Settings(backend="failing", worker_restarts=1), [checkpoint], on_fatal=lambda *a: fatal.append(a))
    with TestClient(app) as client:
        assert client.post("/synthesize", json={"seconds": 0.05, "seed": 1}).status_code == 200
        monkeypatch.setattr(engine_module, "make_generator", slow_restart)
        failed = client.post("/synthesize", json={"seconds": 0.05, "seed": POISON})
        # It failed before any audio, so its status says so.
        assert failed.status_code == 503
        assert failed.json() == {"detail": "model tiny: generation failed (RuntimeError: injected failure)"}
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json() == {
            "status": "not ready",
            "reasons": ["tiny: generation failed (RuntimeError: injected failure)"],
        }
        # A request that comes while the loop restarts waits for it, then is served.
        result = {}
        waiting = threading.Thread(
            target=lambda: result.update(r=client.post("/synthesize", json={"seconds": 0.05, "seed": 2}))
        )
        waiting.start()
        time.sleep(0.3)
        restarted.set()
        waiting.join(10)
        assert result["r"].status_code == 200 and len(result["r"].content) == 44 + 2 * 800
        assert client.get("/readyz").status_code == 200
        assert "wavenet_worker_failures_total" in client.get("/metrics").text
    assert "generation loop of tiny failed" in caplog.text and "Traceback" in caplog.text
    assert not fatal


def test_past_its_restarts_the_model_stays_failed(checkpoint, failing_backend):
    fatal = []
    app = create_app(Settings(backend="failing", worker_restarts=0), [checkpoint], on_fatal=lambda *a: fatal.append(a))
    with TestClient(app) as client:
        assert client.post("/synthesize", json={"seconds": 0.05, "seed": POISON}).status_code == 503
        assert fatal == [("tiny", "generation failed (RuntimeError: injected failure)")]
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["reasons"] == [
            "tiny: generation failed (RuntimeError: injected failure)"
        ]
        refused = client.post("/synthesize", json={"seconds": 0.05, "seed": 1})
        assert refused.status_code == 503
        assert refused.json()["detail"] == "model: generation failed (RuntimeError: injected failure)"


SERVE_WITH_A_FAILING_BACKEND = """
import sys
from tests.service.test_failure import Failing
from wavenet.generation import registry
from wavenet.cli import main
registry.BACKENDS["failing"] = Failing
registry.available_backends = lambda model, batch_size=1: ["naive", "torch", "failing"]
sys.exit(main(sys.argv[1:]))
"""


def test_wavenet_serve_exits_with_status_3_when_a_loop_cannot_go_on(checkpoint_dir):
    port = free_port()
    command = [sys.executable, "-c", SERVE_WITH_A_FAILING_BACKEND, "serve", str(checkpoint_dir)]
    command += ["--backend", "failing", "--port", str(port)]
    env = {**os.environ, "WAVENET_WORKER_RESTARTS": "0"}
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        response = httpx.post(f"{url}/synthesize", json={"seconds": 0.1, "seed": POISON}, timeout=30)
        assert response.status_code == 503
        assert process.wait(timeout=30) == 3
    finally:
        if process.poll() is None:
            process.kill()
    output = process.stdout.read()
    assert "Traceback" in output and "RuntimeError: injected failure" in output  # logged with its traceback
    assert "exiting with status 3: tiny: generation failed (RuntimeError: injected failure)" in output
