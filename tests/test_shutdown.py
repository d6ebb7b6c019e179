"""SIGTERM with open websockets: every stream gets a close frame with 1001 (going away) and a reason, never a dropped
connection (1006) or uvicorn's own 1012; then the server exits by itself."""

from __future__ import annotations

import signal
from contextlib import ExitStack
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

pytestmark = pytest.mark.slow

RECV_TIMEOUT_S = 60.0
EXIT_TIMEOUT_S = 30.0


def close_frame(ws: ClientConnection) -> tuple[int | None, str]:
    """Reads until the server closes; the code and reason of the close frame it sent (None: no frame came)."""
    try:
        while True:
            ws.recv(timeout=RECV_TIMEOUT_S)
    except ConnectionClosed as exc:
        return (exc.rcvd.code, exc.rcvd.reason) if exc.rcvd is not None else (None, "")


def test_sigterm_closes_every_websocket_with_1001_and_a_reason(tmp_path: Path, jobkit: SimpleNamespace) -> None:
    server = jobkit.start_server(tmp_path / "server")
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            job = http.post("/api/jobs", json=jobkit.long_spec(2000)).json()
            jobkit.wait_running(http, job["id"])
        ws_url = server.url.replace("http://", "ws://") + f"/api/jobs/{job['id']}/stream"
        with ExitStack() as stack:
            sockets = [stack.enter_context(connect(ws_url, open_timeout=30, close_timeout=10)) for _ in range(2)]
            for ws in sockets:
                ws.recv(timeout=RECV_TIMEOUT_S)  # live: the replay has begun
            server.proc.send_signal(signal.SIGTERM)
            closes = [close_frame(ws) for ws in sockets]
        assert server.proc.wait(EXIT_TIMEOUT_S) is not None
    finally:
        server.stop()
    for code, reason in closes:
        assert code == 1001, f"close code {code} ({reason!r}); the log:\n{server.log_tail()}"
        assert reason, "a close frame with a reason"
