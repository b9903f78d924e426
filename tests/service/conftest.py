import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import torch

from wavenet.model import WaveNet
from wavenet.model_config import PRESETS
from wavenet.release import load_release, save_release

SPEAKERS = {"alice": 0, "bob": 1, "carol": 2, "dan": 3}


@pytest.fixture(scope="session")
def checkpoint_dir(tmp_path_factory) -> Path:
    """A tiny model with named speakers: fast enough for many concurrent streams in tests."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("models") / "tiny"
    save_release(WaveNet(PRESETS["debug"]), path, speakers=SPEAKERS)
    return path


@pytest.fixture(scope="session")
def checkpoint(checkpoint_dir):
    return load_release(checkpoint_dir)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A real `wavenet serve` process on 127.0.0.1."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, "-m", "wavenet", "serve", *args, "--port", str(self.port)]
        self.process = subprocess.Popen(
            command, env={**os.environ, **(env or {})}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.process.stdout.read()}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("server did not become ready")

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.stdout.read()

    def metric(self, name: str) -> float:
        total = 0.0
        for line in httpx.get(f"{self.url}/metrics").text.splitlines():
            if line.startswith(name + "{") or line.startswith(name + " "):
                total += float(line.rsplit(" ", 1)[1])
        return total
