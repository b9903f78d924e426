"""Soak test: minutes of mixed, partly hostile traffic against a live server on loopback.

    python bench/soak.py --duration 300 --json bench/soak.json        # starts `wavenet serve` itself
    python bench/soak.py --url http://127.0.0.1:8000 --pid PID        # or against a running server

The server started here serves every bundled model (checkpoints/), so that every route is
exercised: unconditioned models, text to speech, the mel vocoder and MIDI to piano. Clients, all
at once, each kind in its own loop, every request on its own connection:

- valid: a mix of every route the served models take: POST or GET /synthesize for 0.1 to 3 s of
  audio, POST /synthesize with a sentence of text, POST /vocode with a recording of 0.2 to 1.5 s,
  POST /render with a MIDI file of a few notes; read as fast as possible;
- slow: the same, read at about real time (a listener);
- malformed: bad JSON, unknown fields, bad values, unknown speakers and models, over-long text,
  empty or garbage uploads, oversized or lying bodies, bytes that are not HTTP at all;
- vanishing: ask for audio, then leave before the first byte, after the headers, or mid-stream;
- stalled: ask for long audio, read the headers, then read nothing (the server must drop them);
- bursts: every ``--burst-every`` seconds, ``--burst`` requests at once, past the queue.

It checks, and exits 1 unless all hold: no response has a 5xx status; every WAV read to its
end has exactly the requested length (header and body: the seconds asked for, a recording's
own length, frames × hop of a MIDI file; for text, the length its header states); every stalled client is dropped
(its connection ends before its audio does); the server's memory (RSS) grows by less than
``--max-growth-mb`` between the end of the warm-up and the end; and afterwards the server is
ready, with no stream running, paused or queued. Counts are bounded by ``--duration`` and
``--max-requests``. Prints a summary; ``--json`` writes it.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import math
import os
import random
import socket
import statistics
import struct
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RATE = 16000


@dataclass
class Tally:
    """What happened, by client kind and outcome, and what was wrong."""

    outcomes: Counter = field(default_factory=Counter)
    statuses: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    first_audio: list[float] = field(default_factory=list)
    requests: int = 0

    def count(self, kind: str, outcome: str) -> None:
        self.outcomes[f"{kind}: {outcome}"] += 1

    def fail(self, message: str) -> None:
        if len(self.errors) < 50:
            self.errors.append(message)


SENTENCES = (
    "The weather will be cloudy tomorrow.",
    "Please call me back after six.",
    "Dr. Smith paid $12.50 for two tickets!",
    "Is this the right way to the station?",
)
# What each kind of served model takes, by its conditioning kind (GET /models): how a valid client asks it.
ROUTES = {None: "seconds", "linguistic": "text", "mel": "vocode", "pianoroll": "render"}


@dataclass
class Served:
    """A served model, as GET /models lists it."""

    name: str
    speakers: list[str]
    hop: int  # samples per frame; 0 without conditioning


class Soak:
    def __init__(self, args: argparse.Namespace, host: str, port: int, models: list[dict]) -> None:
        self.args, self.host, self.port = args, host, port
        self.by_route: dict[str, list[Served]] = {}
        for m in models:
            conditioning = m.get("conditioning") or {}
            served = Served(m["name"], [s["name"] for s in m["speakers"]][:8], conditioning.get("hop", 0))
            self.by_route.setdefault(ROUTES[conditioning.get("kind")], []).append(served)
        if "seconds" not in self.by_route:
            raise SystemExit("the soak needs a model without conditioning among those served (for bursts and stalls)")
        self.tally = Tally()
        self.deadline = time.monotonic() + args.duration
        self.rng = random.Random(args.seed)

    def more(self) -> bool:
        return time.monotonic() < self.deadline and self.tally.requests < self.args.max_requests

    # A minimal HTTP/1.1 client: one request per connection, so that it can stall or leave anywhere.

    async def connect(self, receive_buffer: int | None = None):
        sock = socket.socket()
        if receive_buffer:  # before connecting, so that the window is small from the start
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (self.host, self.port))
        return await asyncio.open_connection(sock=sock)

    def synth_request(self, body: dict, get: bool = False) -> bytes:
        if "model" not in body:
            body = {"model": self.by_route["seconds"][0].name, **body}
        if get:
            query = "&".join(f"{k}={v}" for k, v in body.items())
            return f"GET /synthesize?{query} HTTP/1.1\r\nHost: soak\r\nConnection: close\r\n\r\n".encode()
        data = json.dumps(body).encode()
        head = "POST /synthesize HTTP/1.1\r\nHost: soak\r\nContent-Type: application/json\r\n"
        return (head + f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n").encode() + data

    def upload_request(self, route: str, query: dict, data: bytes) -> bytes:
        target = f"/{route}?" + "&".join(f"{k}={v}" for k, v in query.items())
        head = f"POST {target} HTTP/1.1\r\nHost: soak\r\nContent-Type: application/octet-stream\r\n"
        return (head + f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n").encode() + data

    async def read_head(self, reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
        raw = await reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:] if ":" in line)}
        self.tally.statuses[status] += 1
        if status >= 500:
            self.tally.fail(f"status {status}")
        return status, headers

    def valid_request(self) -> tuple[str, bytes, int | None]:
        """A valid request to a random route of the served models: (route, raw request, expected samples or None).

        None: text, whose length only the server knows (its header states it).
        """
        route = self.rng.choices(["seconds", "text", "vocode", "render"], weights=[0.55, 0.15, 0.15, 0.15])[0]
        if route not in self.by_route:
            route = "seconds"
        model = self.rng.choice(self.by_route[route])
        extra: dict = {"seed": self.rng.randrange(2**31)}
        if model.speakers and route != "render":
            extra["speaker"] = self.rng.choice(model.speakers)
        if self.rng.random() < 0.3:
            extra["temperature"] = round(self.rng.uniform(0.5, 1.5), 2)
        if route == "seconds":
            seconds = round(self.rng.uniform(0.1, 3.0), 3)
            body = {"model": model.name, "seconds": seconds, **extra}
            return route, self.synth_request(body, get=self.rng.random() < 0.2), round(seconds * RATE)
        if route == "text":
            return route, self.synth_request({"model": model.name, "text": self.rng.choice(SENTENCES), **extra}), None
        if route == "vocode":  # a recording at 16 kHz comes back exactly as long as it is
            n = round(self.rng.uniform(0.2, 1.5) * RATE)
            return route, self.upload_request(route, {"model": model.name, **extra}, tone_wav(n, self.rng)), n
        # Times in whole ticks (960 a second), as the file stores them: the length follows the stored end.
        notes = [(self.rng.randrange(48, 84), 0.1 * i, round((0.1 * i + self.rng.uniform(0.05, 0.4)) * 960) / 960)
                 for i in range(4)]  # fmt: skip
        samples = round((max(end for _, _, end in notes) + 1.0) * RATE)  # and a second of tail
        expected = math.ceil(samples / model.hop) * model.hop
        return route, self.upload_request(route, {"model": model.name, **extra}, midi_file(notes)), expected

    # The clients.

    async def valid(self, kind: str = "valid", pace: float = 0.0) -> None:
        while self.more():
            self.tally.requests += 1
            route, raw, expected = self.valid_request()
            body = f"{route} request"
            start = time.monotonic()
            try:
                reader, writer = await self.connect()
                writer.write(raw)
                status, headers = await asyncio.wait_for(self.read_head(reader), 120)
                if status == 429:
                    self.tally.count(kind, "429")
                    await asyncio.sleep(float(headers.get("retry-after", "1")) * self.rng.uniform(0.2, 1.0))
                elif status != 200:
                    self.tally.fail(f"{kind}: status {status} for {body}")
                else:
                    data = await self.read_body(reader, int(headers["content-length"]), pace, start)
                    self.check_wav(f"{kind} {route}", data, expected)
                writer.close()
            except (OSError, asyncio.IncompleteReadError, TimeoutError) as err:
                self.tally.fail(f"{kind}: {type(err).__name__} {err} for {body}")

    async def read_body(self, reader: asyncio.StreamReader, length: int, pace: float, start: float) -> bytes:
        data = bytearray()
        while len(data) < length:
            chunk = await asyncio.wait_for(reader.read(65536), 60)
            if not chunk:
                break
            if len(data) <= 44 < len(data) + len(chunk):
                self.tally.first_audio.append(time.monotonic() - start)
            data += chunk
            if pace:  # a listener: no faster than real time
                await asyncio.sleep(len(chunk) / 2 / RATE / pace)
        return bytes(data)

    def check_wav(self, kind: str, data: bytes, expected: int | None) -> None:
        if expected is None and len(data) >= 44:  # the length the header states
            expected = struct.unpack("<I", data[40:44])[0] // 2
        if expected is None or len(data) != 44 + 2 * expected:
            self.tally.fail(f"{kind}: {len(data)} bytes, expected {44 + 2 * expected}")
            return
        riff, data_size = struct.unpack("<I", data[4:8])[0], struct.unpack("<I", data[40:44])[0]
        if data[:4] != b"RIFF" or riff != 36 + 2 * expected or data_size != 2 * expected:
            self.tally.fail(f"{kind}: header sizes {riff}, {data_size} for {expected} samples")
            return
        self.tally.count(kind, "complete and exact")

    async def malformed(self) -> None:
        big = b'{"seconds": 1, "model": "' + b"x" * 10_000 + b'"}'
        cases = [
            ("bad json", b"POST /synthesize HTTP/1.1\r\nHost: soak\r\nContent-Length: 9\r\n\r\n{seconds:"),
            ("unknown field", self.synth_request({"seconds": 1, "volume": 11})),
            ("negative seconds", self.synth_request({"seconds": -1})),
            ("too long", self.synth_request({"seconds": 10_000})),
            ("unknown speaker", self.synth_request({"seconds": 1, "speaker": "nobody"})),
            ("bad temperature", self.synth_request({"seconds": 1, "temperature": 0})),
            ("bad query", b"GET /synthesize?seconds=abc HTTP/1.1\r\nHost: soak\r\n\r\n"),
            ("oversized", b"POST /synthesize HTTP/1.1\r\nHost: soak\r\nContent-Length: %d\r\n\r\n" % len(big) + big),
            ("lying length", b"POST /synthesize HTTP/1.1\r\nHost: soak\r\nContent-Length: 99\r\n\r\n{}"),
            ("not http", bytes(self.rng.randrange(256) for _ in range(64)) + b"\r\n\r\n"),
            ("unknown model", self.synth_request({"model": "nobody", "seconds": 1})),
        ]
        for route, model in ((r, m[0].name) for r, m in self.by_route.items()):
            if route == "text":
                cases.append(("over-long text", self.synth_request({"model": model, "text": "word " * 10_000})))
                cases.append(("unspeakable text", self.synth_request({"model": model, "text": "?! ..."})))
            elif route in ("vocode", "render"):
                cases.append((f"empty {route}", self.upload_request(route, {"model": model}, b"")))
                cases.append((f"garbage {route}", self.upload_request(route, {"model": model}, b"RIFF" + bytes(300))))
        while self.more():
            self.tally.requests += 1
            name, raw = self.rng.choice(cases)
            try:
                reader, writer = await self.connect()
                writer.write(raw)
                if name == "lying length":  # promises 99 bytes, sends 2, then gives up
                    await asyncio.sleep(0.2)
                    writer.close()
                    self.tally.count("malformed", name + ": left")
                    continue
                try:
                    status, _ = await asyncio.wait_for(self.read_head(reader), 30)
                    self.tally.count("malformed", f"{name}: {status}")
                    if not 400 <= status < 500:
                        self.tally.fail(f"malformed {name}: status {status}")
                except asyncio.IncompleteReadError:  # the server closed the connection: fine for garbage
                    self.tally.count("malformed", f"{name}: closed")
                writer.close()
            except (OSError, TimeoutError) as err:
                self.tally.fail(f"malformed {name}: {type(err).__name__} {err}")
            await asyncio.sleep(0.02)

    async def vanishing(self) -> None:
        while self.more():
            self.tally.requests += 1
            when = self.rng.choice(["before the first byte", "after the headers", "mid-stream"])
            body = {"seconds": round(self.rng.uniform(2, 10), 2), "seed": self.rng.randrange(2**31)}
            try:
                reader, writer = await self.connect()
                writer.write(self.synth_request(body))
                await writer.drain()
                if when != "before the first byte":
                    status, _ = await asyncio.wait_for(self.read_head(reader), 120)
                    if status == 200 and when == "mid-stream":
                        await asyncio.wait_for(reader.readexactly(self.rng.randrange(1000, 60000)), 60)
                else:
                    await asyncio.sleep(self.rng.uniform(0, 0.05))
                writer.transport.abort()  # gone, without a goodbye
                self.tally.count("vanishing", when)
            except (OSError, asyncio.IncompleteReadError, TimeoutError) as err:
                self.tally.fail(f"vanishing {when}: {type(err).__name__} {err}")
            await asyncio.sleep(0.05)

    async def stalled(self) -> None:
        while self.more():
            self.tally.requests += 1
            seconds = self.args.stall_seconds
            try:
                reader, writer = await self.connect(receive_buffer=4096)
                writer.write(self.synth_request({"seconds": seconds, "seed": self.rng.randrange(2**31)}))
                status, _ = await asyncio.wait_for(self.read_head(reader), 120)
                if status != 200:
                    self.tally.count("stalled", str(status))
                    writer.close()
                    await asyncio.sleep(1)
                    continue
                # Read nothing, long enough for the server to fill every buffer on the way (several
                # seconds of audio: a busy machine may need tens of seconds to generate them; 25 s in
                # all was too short on the 2-core machine under load), then to find that nobody
                # reads (client_timeout), and let go.
                await asyncio.sleep(self.args.client_timeout * 2 + 45)
                received = 0
                try:
                    while chunk := await asyncio.wait_for(reader.read(65536), 10):
                        received += len(chunk)
                except ConnectionResetError:
                    pass
                if received >= 44 + 2 * round(seconds * RATE):
                    self.tally.fail("stalled: the whole audio came, the client was never dropped")
                else:
                    self.tally.count("stalled", "dropped")
                writer.close()
            except (OSError, asyncio.IncompleteReadError, TimeoutError) as err:
                self.tally.fail(f"stalled: {type(err).__name__} {err}")

    async def bursts(self) -> None:
        while self.more():
            await asyncio.sleep(self.args.burst_every)
            if not self.more():
                return
            await asyncio.gather(*(self.one_burst_request() for _ in range(self.args.burst)))

    async def one_burst_request(self) -> None:
        self.tally.requests += 1
        body = {"seconds": 0.5, "seed": self.rng.randrange(2**31)}
        start = time.monotonic()
        try:
            reader, writer = await self.connect()
            writer.write(self.synth_request(body))
            status, headers = await asyncio.wait_for(self.read_head(reader), 120)
            if status == 200:
                data = await self.read_body(reader, int(headers["content-length"]), 0, start)
                self.check_wav("burst", data, 8000)
            else:
                self.tally.count("burst", str(status))
            writer.close()
        except (OSError, asyncio.IncompleteReadError, TimeoutError) as err:
            self.tally.fail(f"burst: {type(err).__name__} {err}")

    async def run(self) -> None:
        a = self.args
        loops = [self.valid() for _ in range(a.valid)]
        loops += [self.valid("slow", pace=1.0) for _ in range(a.slow)]
        loops += [self.malformed() for _ in range(a.malformed)]
        loops += [self.vanishing() for _ in range(a.vanishing)]
        loops += [self.stalled() for _ in range(a.stalled)]
        loops.append(self.bursts())
        await asyncio.gather(*loops)


def tone_wav(samples: int, rng: random.Random) -> bytes:
    """A steady tone at 16 kHz, as a 16-bit WAV file."""
    import numpy as np
    import soundfile as sf

    t = np.arange(samples) / RATE
    out = io.BytesIO()
    sf.write(out, 0.3 * np.sin(2 * np.pi * rng.uniform(100, 400) * t), RATE, format="WAV", subtype="PCM_16")
    return out.getvalue()


def midi_file(notes: list[tuple[int, float, float]]) -> bytes:
    """A one-track MIDI file of (key, start s, end s) at 120 bpm (960 ticks a second)."""
    import mido

    events = sorted(
        [(start, "note_on", key) for key, start, _ in notes] + [(end, "note_off", key) for key, _, end in notes]
    )
    track, now = mido.MidiTrack(), 0
    for when, kind, key in events:
        ticks = round(when * 960)
        track.append(mido.Message(kind, note=key, velocity=80 if kind == "note_on" else 0, time=ticks - now))
        now = ticks
    midi = mido.MidiFile(ticks_per_beat=480)
    midi.tracks.append(track)
    out = io.BytesIO()
    midi.save(file=out)
    return out.getvalue()


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024


def get(url: str) -> tuple[int, str]:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def metric(text: str, name: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith((name + "{", name + " ")))


def start_server(args: argparse.Namespace) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "WAVENET_MAX_SECONDS": str(max(args.stall_seconds, 10)),
        "WAVENET_CLIENT_TIMEOUT": str(args.client_timeout),
        "WAVENET_BUFFER_SECONDS": "1",
        "WAVENET_QUEUE_SIZE": str(args.queue_size),
    }
    command = [sys.executable, "-m", "wavenet", "serve", *args.model, "--port", str(port)]
    command += ["--max-batch", str(args.max_batch)]
    log = open(args.server_log, "w") if args.server_log else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with status {process.returncode}")
        try:
            if get(f"{url}/readyz")[0] == 200:
                return process, url
        except OSError:
            pass
        time.sleep(0.2)
    process.kill()
    raise SystemExit("the server did not become ready")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=None, help="a running server (default: start one)")
    parser.add_argument("--pid", type=int, default=None, help="its process id, to measure its memory")
    parser.add_argument(
        "--model", nargs="*", default=[], help="served when started here (default: every model in checkpoints/)"
    )
    parser.add_argument("--duration", type=float, default=300.0, help="seconds of traffic (default 300)")
    parser.add_argument("--warmup", type=float, default=0.15, help="share of the duration before memory is read")
    parser.add_argument("--max-requests", type=int, default=100_000)
    parser.add_argument("--max-growth-mb", type=float, default=64.0, help="allowed RSS growth after the warm-up")
    parser.add_argument("--valid", type=int, default=6)
    parser.add_argument("--slow", type=int, default=2)
    parser.add_argument("--malformed", type=int, default=2)
    parser.add_argument("--vanishing", type=int, default=2)
    parser.add_argument("--stalled", type=int, default=2)
    parser.add_argument("--burst", type=int, default=40, help="requests per burst")
    parser.add_argument("--burst-every", type=float, default=15.0)
    parser.add_argument("--stall-seconds", type=float, default=30.0, help="audio a stalled client asks for")
    parser.add_argument("--client-timeout", type=float, default=5.0, help="the server's (set when started here)")
    parser.add_argument("--max-batch", type=int, default=8, help="when started here")
    parser.add_argument("--queue-size", type=int, default=16, help="when started here")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--server-log", default=None, help="write the started server's log here")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    process = None
    if args.url is None:
        process, url = start_server(args)
        pid = process.pid
    else:
        url, pid = args.url.rstrip("/"), args.pid
    try:
        host, port = url.split("//", 1)[1].rsplit(":", 1)
        models = json.loads(get(f"{url}/models")[1])["models"]
        soak = Soak(args, host, int(port), models)
        memory: dict[str, float] = {}

        async def run() -> None:
            async def read_memory() -> None:
                await asyncio.sleep(args.duration * args.warmup)
                if pid:
                    memory["after_warmup_mb"] = rss_mb(pid)

            await asyncio.gather(soak.run(), read_memory())

        start = time.monotonic()
        asyncio.run(run())
        elapsed = time.monotonic() - start
        time.sleep(2)  # let the last dropped streams go
        status, _ = get(f"{url}/readyz")
        text = get(f"{url}/metrics")[1]
        if pid:
            memory["end_mb"] = rss_mb(pid)
        leftover = {
            m: metric(text, m) for m in ("wavenet_active_streams", "wavenet_paused_streams", "wavenet_queue_depth")
        }
        tally = soak.tally
        outcomes: Counter = Counter()  # every served model's streams, by how they ended
        for line in text.splitlines():
            if line.startswith("wavenet_streams_total{"):
                outcomes[line.split('outcome="')[1].split('"')[0]] += float(line.rsplit(" ", 1)[1])
        checks = {
            "no 5xx": not any(s >= 500 for s in tally.statuses),
            "every completed WAV exact": not any("bytes, expected" in e or "header sizes" in e for e in tally.errors),
            "no client errors": not tally.errors,
            "stalled clients dropped": tally.outcomes["stalled: dropped"] > 0
            and not any(e.startswith("stalled") for e in tally.errors),
            "ready afterwards": status == 200,
            "nothing left running, paused or queued": not any(leftover.values()),
        }
        # The server itself let them go (outcome "stalled"), not the kernel's backstop.
        checks["stalled clients dropped by the server"] = (
            outcomes.get("stalled", 0) >= tally.outcomes["stalled: dropped"]
        )
        if "after_warmup_mb" in memory:
            memory["growth_mb"] = memory["end_mb"] - memory["after_warmup_mb"]
            checks[f"memory growth under {args.max_growth_mb:g} MB"] = memory["growth_mb"] < args.max_growth_mb
        report = {
            "seconds": round(elapsed, 1),
            "requests": tally.requests,
            "statuses": dict(sorted(tally.statuses.items())),
            "clients": dict(sorted(tally.outcomes.items())),
            "server_streams": dict(outcomes),
            "first_audio_s": {
                "median": round(statistics.median(tally.first_audio), 3) if tally.first_audio else None,
                "p95": round(sorted(tally.first_audio)[int(0.95 * (len(tally.first_audio) - 1))], 3)
                if tally.first_audio
                else None,
            },
            "memory": {k: round(v, 1) for k, v in memory.items()},
            "left_over": leftover,
            "errors": tally.errors,
            "checks": checks,
            "settings": {k: v for k, v in vars(args).items() if k not in ("json",)},
        }
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=60)
    print(json.dumps({k: v for k, v in report.items() if k != "settings"}, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    failed = [name for name, ok in checks.items() if not ok]
    print("soak: " + ("all checks passed" if not failed else "FAILED: " + "; ".join(failed)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
