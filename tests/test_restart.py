"""A server stopped with jobs running (SIGTERM, then Ctrl-C) shuts down in time, Ray included, and a new one on the
same data keeps every finished job and fails the interrupted ones with a final event, so their streams close."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

INTERRUPTED = "interrupted by server restart"


def session_processes(session_id: int) -> list[str]:
    """Processes left in the server's session (it was started in a new one): Ray's raylet, GCS and workers included."""
    out = subprocess.run(["ps", "-eo", "pid=,sid=,args="], capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if line.split()[1] == str(session_id)]


def wait_gone(session_id: int, timeout: float = 10.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while (left := session_processes(session_id)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


def test_restart_keeps_history_and_fails_interrupted_jobs(tmp_path: Path, jobkit: SimpleNamespace) -> None:
    data_dir = tmp_path / "data"
    first = jobkit.start_server(data_dir)
    with httpx.Client(base_url=first.url, timeout=60) as http:
        done = http.post("/api/jobs", json=jobkit.tiny_spec(3, name="finished before")).json()
        jobkit.wait_final(http, done["id"])
        done_log = http.get(f"/api/jobs/{done['id']}/events").json()
        running = [http.post("/api/jobs", json=jobkit.long_spec(epochs=5000)).json() for _ in range(2)]
        queued = http.post("/api/jobs", json=jobkit.tiny_spec(3, name="still waiting")).json()
        for job in running:
            jobkit.wait_running(http, job["id"])
        assert http.get(f"/api/jobs/{queued['id']}").json()["status"] == "queued"

    assert len(session_processes(first.proc.pid)) > 2, "Ray's raylet and workers run in the server's session"
    took = first.stop(signal.SIGTERM)
    assert took < 10, f"SIGTERM shutdown took {took:.1f} s"
    assert "Application shutdown complete" in first.log_tail(20_000), first.log_tail()
    assert wait_gone(first.proc.pid) == [], "Ray's processes outlived the server"

    second = jobkit.start_server(data_dir)
    with httpx.Client(base_url=second.url, timeout=60) as http:
        kept = http.get(f"/api/jobs/{done['id']}").json()
        assert kept["status"] == "completed" and kept["epoch"] == 3
        assert http.get(f"/api/jobs/{done['id']}/events").json() == done_log
        for job in [*running, queued]:
            after = http.get(f"/api/jobs/{job['id']}").json()
            assert after["status"] == "failed" and after["error"] == INTERRUPTED and after["finished_at"]
            log = http.get(f"/api/jobs/{job['id']}/events").json()
            assert [event["seq"] for event in log] == list(range(len(log)))
            assert log[-1] == {"seq": len(log) - 1, "type": "status", "status": "failed", "error": INTERRUPTED}
        assert any(event["type"] == "epoch" for event in http.get(f"/api/jobs/{running[0]['id']}/events").json())
        assert {job["id"] for job in http.get("/api/jobs", params={"status": "failed"}).json()} >= {running[0]["id"], queued["id"]}

        stream: list[dict[str, Any]] = []
        with connect(second.url.replace("http://", "ws://") + f"/api/jobs/{running[0]['id']}/stream") as ws:
            try:
                while True:
                    stream.append(json.loads(ws.recv(timeout=30)))
            except ConnectionClosed as closed:
                assert closed.rcvd is not None and closed.rcvd.code == 1000
        assert stream[-1]["error"] == INTERRUPTED

        fresh = http.post("/api/jobs", json=jobkit.tiny_spec(2)).json()
        assert jobkit.wait_final(http, fresh["id"])["status"] == "completed"
        still_running = http.post("/api/jobs", json=jobkit.long_spec(epochs=5000)).json()
        jobkit.wait_running(http, still_running["id"])

    took = second.stop(signal.SIGINT)  # Ctrl-C
    assert took < 10, f"Ctrl-C shutdown took {took:.1f} s"
    assert wait_gone(second.proc.pid) == []
