"""A server stopped with jobs running (SIGTERM, then Ctrl-C) shuts down in time, Ray included, and a new one on the
same data keeps every finished job and fails the interrupted ones with a final event, so their streams close."""

from __future__ import annotations

import json
import os
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
    first.stop(signal.SIGTERM, timeout=10)
    assert first.proc.returncode in (0, -signal.SIGTERM), "the server stopped by itself within 10 s (uvicorn re-raises the signal)"
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

    second.stop(signal.SIGINT, timeout=10)  # Ctrl-C
    assert second.proc.returncode in (0, -signal.SIGINT), "the server stopped by itself within 10 s (uvicorn re-raises the signal)"
    assert wait_gone(second.proc.pid) == []


def test_a_seq_seen_before_a_crash_is_never_given_to_another_event(tmp_path: Path, jobkit: SimpleNamespace) -> None:
    """SIGKILL mid-job: whatever a client saw live was stored, so after the restart the job's final event takes a new seq
    and a client reconnecting with after=<the last seq it saw> gets it."""
    data_dir = tmp_path / "data"
    first = jobkit.start_server(data_dir)
    with httpx.Client(base_url=first.url, timeout=60) as http:
        job = http.post("/api/jobs", json=jobkit.long_spec(epochs=5000)).json()
    seen: list[dict[str, Any]] = []
    with connect(first.url.replace("http://", "ws://") + f"/api/jobs/{job['id']}/stream") as ws:
        while sum(1 for event in seen if event["type"] == "epoch") < 5:
            seen.append(json.loads(ws.recv(timeout=60)))
        os.killpg(first.proc.pid, signal.SIGKILL)  # the server and its Ray, at once: no shutdown, no flush
        first.proc.wait(10)
        try:
            while True:
                seen.append(json.loads(ws.recv(timeout=10)))
        except (ConnectionClosed, TimeoutError):
            pass
    last_seen = seen[-1]["seq"]

    second = jobkit.start_server(data_dir)
    try:
        rest: list[dict[str, Any]] = []
        with connect(second.url.replace("http://", "ws://") + f"/api/jobs/{job['id']}/stream?after={last_seen}") as ws:
            try:
                while True:
                    rest.append(json.loads(ws.recv(timeout=30)))
            except ConnectionClosed as closed:
                assert closed.rcvd is not None and closed.rcvd.code == 1000
        assert rest and rest[-1] == {"seq": rest[-1]["seq"], "type": "status", "status": "failed", "error": INTERRUPTED}
        with httpx.Client(base_url=second.url, timeout=60) as http:
            log = jobkit.all_events(http, job["id"])
        assert [event["seq"] for event in log] == list(range(len(log))), "the stored log stays gapless"
        assert log[: len(seen)] == seen, "every event a client saw live is the stored event of that seq"
        assert log[len(seen) :] == rest
    finally:
        second.stop()
