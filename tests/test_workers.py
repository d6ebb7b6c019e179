"""Training workers that die or will not stop: the scheduler replaces them, and the next job on that slot completes.

One slot, so "the next job" surely lands on the slot whose worker was killed; a tiny cancel grace, so a job whose
steps take longer than that is surely stopped by killing its worker.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, jobkit: SimpleNamespace) -> Iterator[Any]:
    env = {"NNDOJO_CPU_SLOTS": "1", "NNDOJO_CANCEL_GRACE_S": "0.05"}
    process = jobkit.start_server(tmp_path_factory.mktemp("workers"), env)
    try:
        yield process
    finally:
        process.stop()


def worker_pids(session_id: int) -> list[int]:
    """The slot actors' processes in the server's session (Ray titles them ray::SlotWorker, with the method when busy)."""
    out = subprocess.run(["ps", "-eo", "pid=,sid=,args="], capture_output=True, text=True, check=True).stdout
    return [int(line.split()[0]) for line in out.splitlines() if line.split()[1] == str(session_id) and "ray::SlotWorker" in line]


def kill_worker(server: Any) -> None:
    pids = worker_pids(server.proc.pid)
    assert len(pids) == 1, pids
    os.kill(pids[0], signal.SIGKILL)


def slow_steps_spec(epochs: int = 50) -> dict[str, Any]:
    """Full-batch convolutions over all of digits: every step takes far longer than the 0.05 s cancel grace."""
    return {
        "name": "slow steps",
        "seed": 0,
        "device": "cpu",
        "dataset": {"name": "digits"},
        "model": {
            "layers": [
                {"type": "conv2d", "filters": 64, "kernel_size": 3, "padding": 1, "activation": "relu"},
                {"type": "conv2d", "filters": 64, "kernel_size": 3, "padding": 1, "activation": "relu"},
                {"type": "flatten"},
            ],
            "output": {"activation": "softmax"},
        },
        "training": {"epochs": epochs, "batch_size": "full", "loss": "cross_entropy", "optimizer": {"name": "sgd", "lr": 0.01}},
    }


def test_a_worker_killed_while_idle_costs_the_next_job_nothing(server: Any, jobkit: SimpleNamespace) -> None:
    with httpx.Client(base_url=server.url, timeout=60) as http:
        jobkit.wait_final(http, http.post("/api/jobs", json=jobkit.tiny_spec(1)).json()["id"])  # the worker is up and idle
        kill_worker(server)
        job = http.post("/api/jobs", json=jobkit.tiny_spec(2, name="after an idle death")).json()
        done = jobkit.wait_final(http, job["id"], timeout=180)
        assert done["status"] == "completed", done
        log = jobkit.all_events(http, job["id"])
        assert [e["seq"] for e in log] == list(range(len(log)))


def test_a_worker_killed_mid_job_fails_that_job_only(server: Any, jobkit: SimpleNamespace) -> None:
    with httpx.Client(base_url=server.url, timeout=60) as http:
        victim = http.post("/api/jobs", json=jobkit.long_spec(epochs=3000)).json()
        jobkit.wait_running(http, victim["id"], timeout=180)
        kill_worker(server)
        crashed = jobkit.wait_final(http, victim["id"], timeout=180)
        assert crashed["status"] == "failed" and "worker stopped" in crashed["error"]
        assert "/" not in crashed["error"] and "Traceback" not in crashed["error"]
        log = jobkit.all_events(http, victim["id"])
        assert [e["seq"] for e in log] == list(range(len(log))) and log[-1]["status"] == "failed"
        after = http.post("/api/jobs", json=jobkit.tiny_spec(2)).json()
        assert jobkit.wait_final(http, after["id"], timeout=180)["status"] == "completed"


def test_a_job_that_ignores_its_cancel_has_its_worker_replaced(server: Any, jobkit: SimpleNamespace) -> None:
    with httpx.Client(base_url=server.url, timeout=120) as http:
        stuck = http.post("/api/jobs", json=slow_steps_spec()).json()
        jobkit.wait_running(http, stuck["id"], timeout=180)
        old = worker_pids(server.proc.pid)
        assert http.post(f"/api/jobs/{stuck['id']}/cancel").json()["status"] == "cancelled"
        assert "ignored its stop" in server.log_tail(50_000)
        after = http.post("/api/jobs", json=jobkit.tiny_spec(2, name="after a kill")).json()
        assert jobkit.wait_final(http, after["id"], timeout=180)["status"] == "completed"
        assert worker_pids(server.proc.pid) != old, "a fresh worker serves the slot"
