"""Against a real `wavenet serve`: clients that stall, vanish before their first byte, or open too many streams.

Clients here speak HTTP over raw sockets, so that they can stop reading, or leave, at any point.
"""

import json
import socket
import time

import httpx
import pytest

from tests.service.conftest import Server


def open_stream(server: Server, body: dict, receive_buffer: int = 4096) -> socket.socket:
    """Send a POST /synthesize and read nothing: a client that stalls (or leaves, once closed)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)  # before connecting: a small window
    sock.connect(("127.0.0.1", server.port))
    data = json.dumps(body).encode()
    sock.sendall(
        b"POST /synthesize HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(data)}\r\n\r\n".encode()
        + data
    )
    return sock


def wait_for(condition, seconds: float = 10.0) -> float:
    """Poll until ``condition()`` holds; returns how long it took."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > seconds:
            raise AssertionError(f"timed out waiting for the server: {condition.__doc__ or ''}")
        time.sleep(0.02)
    return time.monotonic() - start


@pytest.fixture(scope="module")
def fast(checkpoint_dir):
    """The native backend (a tiny model far faster than real time), one slot, small buffers, a short timeout."""
    env = {
        "WAVENET_BUFFER_SECONDS": "0.5",
        "WAVENET_CLIENT_TIMEOUT": "5",
        "WAVENET_SEND_BUFFER_BYTES": "4096",
        "WAVENET_QUEUE_SIZE": "4",
    }
    server = Server(str(checkpoint_dir), "--max-batch", "1", env=env)
    yield server
    server.stop()


def test_a_stalled_client_pauses_frees_its_slot_and_is_dropped(fast):
    stalled = open_stream(fast, {"seconds": 60, "seed": 1})
    try:
        wait_for(lambda: fast.metric("wavenet_paused_streams") == 1)
        assert fast.metric("wavenet_active_streams") == 0  # paused: it computes nothing
        # What waits for the stalled client is bounded: its budget and at most one chunk more.
        assert fast.metric("wavenet_buffered_audio_seconds") <= 0.5 + 0.1
        # Its slot serves others meanwhile (one slot in all).
        other = httpx.post(f"{fast.url}/synthesize", json={"seconds": 2.0, "seed": 2}, timeout=10)
        assert other.status_code == 200 and len(other.content) == 44 + 2 * 32000
        # Reading nothing for client_timeout (5 s), it is dropped; its stream and buffers are freed.
        waited = wait_for(lambda: fast.metric('wavenet_streams_total{model="tiny",outcome="stalled"}') == 1, 15)
        assert fast.metric("wavenet_paused_streams") == 0
        assert fast.metric("wavenet_buffered_audio_seconds") == 0
        assert waited < 10
        # Its connection is closed: what it can still read ends long before the 60 s it asked for.
        stalled.settimeout(10)
        received = 0
        try:
            while chunk := stalled.recv(65536):
                received += len(chunk)
        except ConnectionResetError:
            pass
        assert received < 44 + 2 * 16000 * 30
    finally:
        stalled.close()
    assert httpx.get(f"{fast.url}/readyz").status_code == 200


def test_per_stream_memory_is_bounded_whatever_clients_do(fast):
    """Four stalled clients: each pauses within its budget and holds no slot; all four are dropped."""
    before = fast.metric('wavenet_streams_total{model="tiny",outcome="stalled"}')
    clients = [open_stream(fast, {"seconds": 30, "seed": i}) for i in range(4)]
    most_paused = 0
    try:
        deadline = time.monotonic() + 30
        while fast.metric('wavenet_streams_total{model="tiny",outcome="stalled"}') < before + 4:
            assert time.monotonic() < deadline, "the stalled clients were not dropped"
            active, paused = fast.metric("wavenet_active_streams"), fast.metric("wavenet_paused_streams")
            assert active <= 1
            assert fast.metric("wavenet_buffered_audio_seconds") <= (active + paused) * (0.5 + 0.1) + 1e-6
            most_paused = max(most_paused, paused)
            time.sleep(0.05)
    finally:
        for sock in clients:
            sock.close()
    assert most_paused >= 2  # several at once, each out of the way of the others
    wait_for(lambda: fast.metric("wavenet_paused_streams") == fast.metric("wavenet_buffered_audio_seconds") == 0, 5)


@pytest.fixture(scope="module")
def slow(checkpoint_dir):
    """The torch backend generates the tiny model below real time: a stream that is read keeps its slot."""
    server = Server(str(checkpoint_dir), "--max-batch", "1", "--queue-size", "1", "--backend", "torch")
    yield server
    server.stop()


def test_a_client_that_leaves_while_queued_is_removed_at_once(slow):
    with httpx.stream("POST", f"{slow.url}/synthesize", json={"seconds": 60, "seed": 1}, timeout=60) as running:
        chunks = running.iter_bytes()
        next(chunks)
        queued = open_stream(slow, {"seconds": 1, "seed": 2})
        wait_for(lambda: slow.metric("wavenet_queue_depth") == 1)
        queued.close()  # before its first byte
        took = wait_for(lambda: slow.metric("wavenet_queue_depth") == 0, 5)
        assert took < 1.0  # at once, not when the slot frees (a minute later)
        assert slow.metric('wavenet_streams_total{model="tiny",outcome="client_gone"}') == 1
        # Its place (the only one) is free again: another request is accepted, not answered 429.
        again = open_stream(slow, {"seconds": 1, "seed": 3})
        wait_for(lambda: slow.metric("wavenet_queue_depth") == 1)
        again.close()
        wait_for(lambda: slow.metric("wavenet_queue_depth") == 0, 5)
        assert slow.metric("wavenet_active_streams") == 1  # the first stream never stopped
        next(chunks)
    wait_for(lambda: slow.metric("wavenet_active_streams") == 0, 5)  # nor is its audio made for nobody


def test_streams_per_client_are_limited(checkpoint_dir):
    server = Server(str(checkpoint_dir), "--max-batch", "4", env={"WAVENET_MAX_STREAMS_PER_CLIENT": "2"})
    try:
        first = open_stream(server, {"seconds": 60, "seed": 1})
        second = open_stream(server, {"seconds": 60, "seed": 2})
        wait_for(lambda: server.metric("wavenet_active_streams") + server.metric("wavenet_paused_streams") == 2)
        response = httpx.post(f"{server.url}/synthesize", json={"seconds": 0.1}, timeout=10)
        assert response.status_code == 429  # with slots to spare: this client's own limit
        assert response.json()["detail"] == "client: 127.0.0.1 already has 2 stream(s) open, the limit per client"
        first.close()
        wait_for(lambda: server.metric("wavenet_active_streams") + server.metric("wavenet_paused_streams") == 1, 5)
        assert httpx.post(f"{server.url}/synthesize", json={"seconds": 0.1}, timeout=30).status_code == 200
        second.close()
    finally:
        server.stop()
