"""The drill's memory attacks at reduced size, against a real server subprocess, with its resident memory watched.

Bounds asserted (the server process alone; its Ray workers are other processes):
- during every attack the server's peak RSS (VmHWM, reset before each attack) stays under PEAK_LIMIT_MB, the issue's
  ceiling for the full-size drill;
- each attack adds at most its own GROWTH_MB over the RSS just before it (reduced sizes: 20 readers of a log of a few
  pages; 10 websockets × 15 MB; 3 connections per listening port × 50 MB after a 200 MB frame header);
- after each attack RSS comes back within RETURN_MB of the baseline taken before the first.
Peaks come from the kernel's high-water mark, so no sampling can miss one; "comes back" waits for the value, bounded.
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

pytestmark = pytest.mark.slow

PEAK_LIMIT_MB = 1024
RETURN_MB = 100
GROWTH_MB = {"events": 300, "websockets": 50, "event socket": 50, "half-sent bodies": 50, "stalled heads": 50}
READERS = 20
WEBSOCKETS = 10
WS_MESSAGE_BYTES = 15_000_000
SOCKET_CONNECTIONS = 3
SOCKET_FRAME_HEADER = 200_000_000
SOCKET_SENT_BYTES = 50_000_000
HALF_SENT = 100
HALF_SENT_BYTES = 60_000  # of a 100 kB body: 6 MB in all, twice PENDING_BODY_BYTES
PENDING_BODY_BYTES = 3_000_000
# The server's NNDOJO_BODY_TIMEOUT_S and NNDOJO_KEEP_ALIVE_S here, so that stalled connections go soon (the body deadline
# long enough that the first half of the half-sent bodies is still pending when the second half arrives).
BODY_TIMEOUT_S = 5
KEEP_ALIVE_S = 2
RETURN_WAIT_S = 30.0


def vm(pid: int, key: str) -> int:
    """A /proc/PID/status memory figure (VmRSS, VmHWM) in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) // 1024
    raise KeyError(key)


def reset_peak(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # resets VmHWM to the current RSS


def listening_ports(pid: int) -> set[int]:
    """TCP ports the process listens on (its own sockets, from /proc): the HTTP port, the event socket, Ray's driver."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[len("socket:[") : -1])
    ports = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, jobkit: SimpleNamespace) -> Iterator[Any]:
    server = jobkit.start_server(
        tmp_path_factory.mktemp("memory"),
        {
            "NNDOJO_BODY_TIMEOUT_S": str(BODY_TIMEOUT_S),
            "NNDOJO_KEEP_ALIVE_S": str(KEEP_ALIVE_S),
            "NNDOJO_MAX_PENDING_BODY_BYTES": str(PENDING_BODY_BYTES),
        },
    )
    server.baseline = None
    try:
        yield server
    finally:
        server.stop()


def measure(server: Any, name: str, attack: Callable[[], Any]) -> Any:
    """Runs `attack` and asserts the bounds; the first call's pre-attack RSS is the baseline of all."""
    pid = server.proc.pid
    before = vm(pid, "VmRSS")
    server.baseline = server.baseline or before
    reset_peak(pid)
    result = attack()
    peak = vm(pid, "VmHWM")
    deadline = time.monotonic() + RETURN_WAIT_S
    while (after := vm(pid, "VmRSS")) > server.baseline + RETURN_MB and time.monotonic() < deadline:
        time.sleep(0.2)
    print(f"{name}: baseline {server.baseline} MB, before {before} MB, peak {peak} MB, after {after} MB")
    assert server.proc.poll() is None, f"the server died:\n{server.log_tail()}"
    assert peak < PEAK_LIMIT_MB, f"{name}: peak {peak} MB"
    assert peak - before <= GROWTH_MB[name], f"{name}: grew {peak - before} MB (before {before} MB, peak {peak} MB)"
    assert after <= server.baseline + RETURN_MB, f"{name}: {after} MB after, baseline {server.baseline} MB"
    return result


def big_spec(jobkit: SimpleNamespace) -> dict[str, Any]:
    """A job whose log spans more than one page of events: fine boundary grids and histograms on every epoch that has them."""
    return jobkit.tiny_spec(100, name="big", probes={"histogram_bins": 100, "boundary_resolution": 160})


def test_concurrent_reads_of_a_big_log(server: Any, jobkit: SimpleNamespace) -> None:
    with httpx.Client(base_url=server.url, timeout=120) as http:
        job = http.post("/api/jobs", json=big_spec(jobkit)).json()
        assert jobkit.wait_final(http, job["id"], timeout=300)["status"] == "completed"
        http.get(f"/api/jobs/{job['id']}/events")  # one read before the baseline: caches warm, as in a live server

    async def read_all(client: httpx.AsyncClient) -> int:
        """Pages through the whole log as a client should (X-Next-After); returns its bytes."""
        total, after = 0, -1
        while True:
            response = await client.get(f"/api/jobs/{job['id']}/events", params={"after": after})
            assert response.status_code == 200, response.text[:300]
            total += len(response.content)
            next_after = int(response.headers.get("x-next-after", after))
            if next_after == after or response.content == b"[]" or "x-next-after" not in response.headers:
                return total
            after = next_after

    async def attack() -> list[int]:
        limits = httpx.Limits(max_connections=READERS)
        async with httpx.AsyncClient(base_url=server.url, timeout=120, limits=limits) as client:
            return await asyncio.gather(*(read_all(client) for _ in range(READERS)))

    sizes = measure(server, "events", lambda: asyncio.run(attack()))
    assert len(set(sizes)) == 1, sizes
    print(f"the log: {sizes[0] / 1e6:.1f} MB, read by {READERS} clients at once")


def test_websockets_sending_huge_messages_are_refused(server: Any, jobkit: SimpleNamespace) -> None:
    with httpx.Client(base_url=server.url, timeout=60) as http:
        job = http.post("/api/jobs", json=jobkit.long_spec(2000)).json()
        jobkit.wait_running(http, job["id"])
    url = server.url.replace("http://", "ws://") + f"/api/jobs/{job['id']}/stream"
    outcomes: list[int | None] = []

    def one() -> None:
        """A close frame, if one gets through: the server may close while the client is still sending, and then the
        client's socket sees a reset before it reads the frame."""
        try:
            with connect(url, open_timeout=60, close_timeout=10, max_size=None) as ws:
                ws.recv(timeout=60)
                ws.send("x" * WS_MESSAGE_BYTES)
                while True:
                    ws.recv(timeout=60)
        except ConnectionClosed as exc:
            outcomes.append(exc.rcvd.code if exc.rcvd is not None else None)
        except OSError:
            outcomes.append(None)

    def attack() -> None:
        threads = [threading.Thread(target=one) for _ in range(WEBSOCKETS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    measure(server, "websockets", attack)
    print(f"websocket closes: {outcomes}")
    assert len(outcomes) == WEBSOCKETS
    assert set(outcomes) <= {1009, None}, outcomes
    assert close_after_announcing(server.url, f"/api/jobs/{job['id']}/stream", WS_MESSAGE_BYTES) == 1009
    with httpx.Client(base_url=server.url, timeout=60) as http:
        http.post(f"/api/jobs/{job['id']}/cancel")


def close_after_announcing(url: str, path: str, size: int) -> int | None:
    """Opens a websocket by hand, sends only the header of a `size`-byte message and 1 kB of it, then reads frames
    until the server's close frame: its code (None if the connection ends without one)."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=60) as sock:
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        stream = sock.makefile("rb")
        while stream.readline() not in (b"\r\n", b""):
            pass  # the 101 response's head
        sock.sendall(bytes([0x81, 0x80 | 127]) + struct.pack("!Q", size) + os.urandom(4) + bytes(1024))
        while header := stream.read(2):
            length = header[1] & 0x7F
            if length >= 126:
                (length,) = struct.unpack("!H" if length == 126 else "!Q", stream.read(2 if length == 126 else 8))
            payload = stream.read(length)
            if header[0] & 0x0F == 0x8:  # close
                return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
    return None


def test_strangers_on_the_event_socket_cost_nothing(server: Any) -> None:
    """Every port the server process listens on but HTTP (the worker event socket among them, wherever it is) gets
    connections that announce a 200 MB frame without a token and send 50 MB."""
    http_port = int(server.url.rsplit(":", 1)[1])
    ports = sorted(listening_ports(server.proc.pid) - {http_port})
    assert ports, "the event socket listens in the server process"

    def one(port: int) -> None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
                sock.sendall(struct.pack("!I", SOCKET_FRAME_HEADER) + b"h")
                chunk = bytes(1_000_000)
                for _ in range(SOCKET_SENT_BYTES // len(chunk)):
                    sock.sendall(chunk)
        except OSError:
            pass  # refused part way: what should happen

    def attack() -> None:
        threads = [threading.Thread(target=one, args=(port,)) for port in ports for _ in range(SOCKET_CONNECTIONS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    measure(server, "event socket", attack)
    assert "over the limit" in server.log_tail(100_000), "the event socket refused the frame by its size"


def test_half_sent_bodies_are_dropped(server: Any) -> None:
    """Connections that send a request's headers and part of its body, then nothing: each gets a 408 once the body
    deadline passes and its connection is closed, or a 429 at once when the bodies being received already fill the
    server's budget (max_pending_body_bytes)."""

    def attack() -> list[bytes]:
        sockets = []
        for _ in range(HALF_SENT):
            sock = socket.create_connection(("127.0.0.1", int(server.url.rsplit(":", 1)[1])), timeout=60)
            head = b"POST /api/check HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
            sock.sendall(head + b"[" + b" " * (HALF_SENT_BYTES - 1))
            sockets.append(sock)
        answers = []
        for sock in sockets:
            with sock:
                answer = b""
                while chunk := sock.recv(65536):  # until the server closes the connection
                    answer += chunk
                answers.append(answer)
        return answers

    answers = measure(server, "half-sent bodies", attack)
    statuses = [answer[:12].decode() for answer in answers]
    counts = {status: statuses.count(status) for status in set(statuses)}
    print(f"half-sent bodies: {counts}")
    assert set(statuses) == {"HTTP/1.1 408", "HTTP/1.1 429"}, counts


def test_silent_and_stalled_connections_are_closed(server: Any) -> None:
    """Connections that send nothing, part of a request line, or part of the headers: each is closed (no answer is
    owed to a request that never arrived) once the head deadline passes."""
    starts = [b"", b"GET /api/hea", b"GET /api/health HTTP/1.1\r\nHost: x\r\nX-Slow: "]

    def attack() -> list[bytes]:
        sockets = []
        for index in range(HALF_SENT):
            sock = socket.create_connection(("127.0.0.1", int(server.url.rsplit(":", 1)[1])), timeout=60)
            sock.sendall(starts[index % len(starts)])
            sockets.append(sock)
        answers = []
        for sock in sockets:
            with sock:
                answers.append(sock.recv(65536))  # b"" once the server closes
        return answers

    answers = measure(server, "stalled heads", attack)
    assert answers == [b""] * HALF_SENT, {answer[:40] for answer in answers}


def test_the_server_still_serves(server: Any) -> None:
    assert httpx.get(f"{server.url}/api/health", timeout=30).status_code == 200
    assert server.proc.poll() is None
