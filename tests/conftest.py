"""Shared fixtures: the in-process app (TestClient) and real servers on loopback ports (uvicorn in a subprocess).

Ray costs seconds to start, so every server here is session-scoped and runs few slots; tests submit tiny jobs.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 120.0
FINAL = ("completed", "failed", "cancelled", "diverged")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ServerProcess:
    """A real `python -m nndojo.api` on a loopback port, with its own data dir and log file."""

    url: str
    proc: subprocess.Popen[bytes]
    data_dir: Path
    log_path: Path

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> float:
        """Sends `sig`, waits for the exit; returns the seconds it took (kills its process group if it hangs)."""
        if self.proc.poll() is not None:
            return 0.0
        started = time.monotonic()
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        return time.monotonic() - started


def start_server(data_dir: Path, env: dict[str, str] | None = None, port: int | None = None) -> ServerProcess:
    """Starts a server in its own session (so a hung one can be killed with everything it started) and waits for
    /api/health, which answers once a training slot is up. A free port can be taken before uvicorn binds it (by the
    server's own Ray or event socket, or a neighbour): without a port asked for, such a start is retried on another."""
    for attempt in range(3):
        try:
            return _start_server(data_dir, env, port)
        except PortTaken:
            if port is not None or attempt == 2:
                raise
    raise AssertionError("unreachable")


class PortTaken(RuntimeError):
    pass


def _start_server(data_dir: Path, env: dict[str, str] | None, port: int | None) -> ServerProcess:
    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    from nndojo.cli import env_name
    from nndojo.config import Settings

    settings = {env_name(name, field) for name, field in Settings.model_fields.items()}
    full_env = {
        **{key: value for key, value in os.environ.items() if key not in settings},  # only what the test asks for
        "NNDOJO_DATA_DIR": str(data_dir),
        "NNDOJO_HOST": "127.0.0.1",
        "NNDOJO_PORT": str(port),
        "NNDOJO_CPU_SLOTS": "2",
        "OMP_NUM_THREADS": "1",
        "PYTHONUNBUFFERED": "1",
        "RAY_DEDUP_LOGS": "0",
        **(env or {}),
    }
    log_path = data_dir / "server.log"
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "nndojo.api"], env=full_env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = ServerProcess(f"http://127.0.0.1:{port}", proc, data_dir, log_path)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            error = PortTaken if "address already in use" in server.log_tail() else RuntimeError
            raise error(f"the server exited with {proc.returncode} while starting:\n{server.log_tail()}")
        try:
            if httpx.get(f"{server.url}/api/health", timeout=30).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    server.stop(signal.SIGKILL)
    raise RuntimeError(f"the server did not answer /api/health within {START_TIMEOUT_S:.0f} s:\n{server.log_tail()}")


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real uvicorn server on a free loopback port with a temp data dir; yields "http://127.0.0.1:PORT"."""
    server = start_server(tmp_path_factory.mktemp("live_server"))
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def restricted_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server with tight limits and a tiny websocket buffer: property-based runs stay cheap, slow clients overflow."""
    env = {
        "NNDOJO_MAX_EPOCHS": "400",
        "NNDOJO_MAX_SAMPLES": "400",
        "NNDOJO_MAX_UNITS": "16",
        "NNDOJO_MAX_FILTERS": "4",
        "NNDOJO_MAX_LAYERS": "4",
        "NNDOJO_MAX_PARAMS": "5000",
        "NNDOJO_MAX_QUEUE": "4",
        "NNDOJO_WS_QUEUE_SIZE": "32",
        "NNDOJO_MAX_BODY_BYTES": "20000",
    }
    server = start_server(tmp_path_factory.mktemp("restricted_server"), env)
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def api_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The app in this process through FastAPI's TestClient (one app, one Ray, for the whole session)."""
    from fastapi.testclient import TestClient

    from nndojo.api.server import create_app
    from nndojo.config import Settings

    settings = Settings(mode="personal", data_dir=tmp_path_factory.mktemp("api_client"), cpu_slots=2, max_queue=30, max_body_bytes=100_000)
    with TestClient(create_app(settings)) as client:
        yield client


def tiny_spec(epochs: int = 3, **changes: Any) -> dict[str, Any]:
    """A job that trains in well under a second: 2-4-1 on 100 circle points, full batch, a coarse boundary grid."""
    spec: dict[str, Any] = {
        "name": "tiny",
        "seed": 0,
        "device": "cpu",
        "dataset": {"name": "circle", "n_samples": 100, "noise": 0.0},
        "model": {"layers": [{"type": "dense", "units": 4, "activation": "tanh"}], "output": {"activation": "sigmoid"}},
        "training": {"epochs": epochs, "batch_size": "full", "loss": "cross_entropy", "optimizer": {"name": "adam", "lr": 0.05}},
        "probes": {"histogram_bins": 10, "boundary_resolution": 10},
    }
    spec.update(changes)
    return spec


def long_spec(epochs: int = 400) -> dict[str, Any]:
    """A job that runs for many seconds in small steps (online SGD), so that it is surely running when a test acts."""
    return tiny_spec(
        epochs,
        name="long",
        dataset={"name": "circle", "n_samples": 400, "noise": 0.0},
        training={"epochs": epochs, "batch_size": 1, "loss": "cross_entropy", "optimizer": {"name": "sgd", "lr": 0.01}},
    )


def wait_for(client: Any, job_id: str, until: Callable[[dict[str, Any]], bool], timeout: float = 60.0) -> dict[str, Any]:
    """Polls GET /api/jobs/{id} (client: a TestClient or an httpx.Client) until `until(job)` holds."""
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(f"/api/jobs/{job_id}").json()
        if until(job):
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still {job.get('status')} after {timeout} s")
        time.sleep(0.05)


def wait_final(client: Any, job_id: str, timeout: float = 60.0) -> dict[str, Any]:
    return wait_for(client, job_id, lambda job: job["status"] in FINAL, timeout)


def wait_running(client: Any, job_id: str, timeout: float = 60.0) -> dict[str, Any]:
    return wait_for(client, job_id, lambda job: job["status"] == "running" and job["epoch"] is not None, timeout)


def all_events(client: Any, job_id: str, after: int = -1) -> list[dict[str, Any]]:
    """Every event of a job, read page by page (GET …/events answers at most 1,000 events and a few MB at once)."""
    out: list[dict[str, Any]] = []
    while True:
        response = client.get(f"/api/jobs/{job_id}/events", params={"after": after})
        assert response.status_code == 200, response.text
        page = response.json()
        if not page:
            return out
        out.extend(page)
        after = int(response.headers["x-next-after"])
        if page[-1].get("status") in FINAL and page[-1]["type"] == "status":
            return out


@pytest.fixture(scope="session")
def jobkit() -> SimpleNamespace:
    """The helpers above for test modules (pytest's way to share them without importing conftest by name)."""
    return SimpleNamespace(
        tiny_spec=tiny_spec,
        long_spec=long_spec,
        wait_for=wait_for,
        wait_final=wait_final,
        wait_running=wait_running,
        all_events=all_events,
        start_server=start_server,
        FINAL=FINAL,
    )
