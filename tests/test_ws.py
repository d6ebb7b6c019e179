"""WS /api/jobs/{id}/stream against a real uvicorn on a loopback port: replay, live, reconnect, close codes."""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import threading
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect


@pytest.fixture(scope="module")
def http(live_server: str) -> Any:
    with httpx.Client(base_url=live_server, timeout=60) as client:
        yield client


def ws_url(base: str, job_id: str, after: int | None = None) -> str:
    url = base.replace("http://", "ws://") + f"/api/jobs/{job_id}/stream"
    return url if after is None else f"{url}?after={after}"


def read_all(ws: ClientConnection, timeout: float = 60) -> tuple[list[dict[str, Any]], int | None]:
    """Every event until the server closes; returns them and the close code."""
    got: list[dict[str, Any]] = []
    try:
        while True:
            got.append(json.loads(ws.recv(timeout=timeout)))
    except ConnectionClosed as closed:
        return got, closed.rcvd.code if closed.rcvd else None


def submit(http: httpx.Client, spec: dict[str, Any]) -> str:
    response = http.post("/api/jobs", json=spec)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_stream_from_the_start_then_close_1000(live_server: str, http: httpx.Client, jobkit: SimpleNamespace) -> None:
    job_id = submit(http, jobkit.tiny_spec(8))
    with connect(ws_url(live_server, job_id)) as ws:
        got, code = read_all(ws)
    assert code == 1000
    assert [event["seq"] for event in got] == list(range(len(got)))
    assert got[-1]["status"] == "completed" and [e["epoch"] for e in got if e["type"] == "epoch"] == list(range(9))
    assert got == http.get(f"/api/jobs/{job_id}/events").json()


def test_reconnect_with_after_gets_every_later_event_once(live_server: str, http: httpx.Client, jobkit: SimpleNamespace) -> None:
    job_id = submit(http, jobkit.long_spec(epochs=40))  # online SGD: a few seconds, so the reconnect lands mid-run
    first: list[dict[str, Any]] = []
    with connect(ws_url(live_server, job_id), max_queue=None) as ws:  # unbounded: it closes with unread frames
        while sum(1 for e in first if e["type"] == "epoch") < 3:
            first.append(json.loads(ws.recv(timeout=60)))
    seen = sum(1 for e in first if e["type"] == "epoch")
    job = jobkit.wait_for(http, job_id, lambda job: job["status"] != "running" or job["epoch"] >= seen + 2)  # events go on while away
    assert job["status"] == "running", "the test needs the job still running"
    with connect(ws_url(live_server, job_id, after=first[-1]["seq"])) as ws:
        rest, code = read_all(ws)
    assert code == 1000
    seqs = [event["seq"] for event in first + rest]
    assert seqs == list(range(len(seqs))), "no gap, no duplicate"
    assert rest[-1]["status"] == "completed" and rest[-2]["epoch"] == 40
    assert first + rest == http.get(f"/api/jobs/{job_id}/events").json()


def test_finished_job_replays_and_closes(live_server: str, http: httpx.Client, jobkit: SimpleNamespace) -> None:
    job_id = submit(http, jobkit.tiny_spec(2))
    jobkit.wait_final(http, job_id)
    log = http.get(f"/api/jobs/{job_id}/events").json()
    with connect(ws_url(live_server, job_id)) as ws:
        assert read_all(ws) == (log, 1000)
    with connect(ws_url(live_server, job_id, after=2)) as ws:
        assert read_all(ws) == (log[3:], 1000)
    with connect(ws_url(live_server, job_id, after=log[-1]["seq"])) as ws:
        assert read_all(ws, timeout=10) == ([], 1000), "a client that has everything is closed at once"


def test_unknown_job_closes_4404(live_server: str) -> None:
    with connect(ws_url(live_server, "nope")) as ws:
        assert read_all(ws, timeout=10) == ([], 4404)


def test_many_followers_of_one_job_get_the_same_events(live_server: str, http: httpx.Client, jobkit: SimpleNamespace) -> None:
    job_id = submit(
        http, jobkit.tiny_spec(20, training={"epochs": 20, "batch_size": 5, "loss": "mse", "optimizer": {"name": "sgd", "lr": 0.1}})
    )
    results: list[tuple[list[dict[str, Any]], int | None]] = []

    def follow() -> None:
        with connect(ws_url(live_server, job_id)) as ws:
            results.append(read_all(ws))

    threads = [threading.Thread(target=follow) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    log = http.get(f"/api/jobs/{job_id}/events").json()
    assert len(results) == 10 and all(result == (log, 1000) for result in results)


class RawStalledClient:
    """A websocket client that does the handshake and then stops reading, as a frozen laptop would; later it reads what
    the server sent and parses the frames (a library client keeps reading in a background thread, so it cannot stall)."""

    def __init__(self, base: str, path: str):
        host, port = base.removeprefix("http://").split(":")
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: the window stays small
        self.sock.connect((host, int(port)))
        key = base64.b64encode(os.urandom(16)).decode()
        request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        self.sock.sendall(request.encode())
        self.buffer = b""

    def _read(self, n: int) -> bytes:
        while len(self.buffer) < n:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise EOFError("the server closed the TCP connection")
            self.buffer += chunk
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def read_all(self, timeout: float = 30) -> tuple[list[dict[str, Any]], int | None]:
        """The text frames, then the close frame's code."""
        self.sock.settimeout(timeout)
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self.sock.recv(1 << 16)
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 101"), head
        got: list[dict[str, Any]] = []
        while True:
            first, second = self._read(2)
            opcode, length = first & 0x0F, second & 0x7F
            if length == 126:
                length = struct.unpack("!H", self._read(2))[0]
            elif length == 127:
                length = struct.unpack("!Q", self._read(8))[0]
            payload = self._read(length)
            if opcode == 0x8:
                self.sock.close()
                return got, struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
            if opcode == 0x1:
                got.append(json.loads(payload))


def test_slow_client_is_closed_1013_while_a_normal_one_keeps_receiving(restricted_server: str, jobkit: SimpleNamespace) -> None:
    """The restricted server buffers 32 events a client. The job sends ~12 MB (200x200 boundary grids), more than the
    kernel's socket buffers hide, so the stalled client overflows and is closed; the normal one gets everything."""
    spec = jobkit.tiny_spec(
        300,
        training={"epochs": 300, "batch_size": 25, "loss": "cross_entropy", "optimizer": {"name": "sgd", "lr": 0.1}},
        probes={"histogram_bins": 30, "boundary_resolution": 200},
    )
    with httpx.Client(base_url=restricted_server, timeout=60) as http:
        job_id = submit(http, spec)
        slow = RawStalledClient(restricted_server, f"/api/jobs/{job_id}/stream")
        with connect(ws_url(restricted_server, job_id), max_queue=None) as normal:
            normal_events, normal_code = read_all(normal)
        slow_events, slow_code = slow.read_all()
        log = jobkit.all_events(http, job_id)
    assert normal_code == 1000 and normal_events == log and log[-1]["status"] == "completed"
    assert slow_code == 1013, f"slow client closed with {slow_code} after {len(slow_events)} events"
    assert 0 < len(slow_events) < len(normal_events)
    assert slow_events == log[: len(slow_events)], "what it got before the close is the log's start, in order"
