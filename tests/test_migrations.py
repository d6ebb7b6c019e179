"""Upgrading a version-1 database: every job and event a v1 server stored is there, byte for byte, after the upgrade,
and the API serves them (list, events, metrics). On SQLite always; on PostgreSQL where its binaries are installed
(a throwaway cluster in a temporary directory, reached over a unix socket).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from nndojo.db.engine import open_engine
from nndojo.db.migrate import current_revision, head_revision, upgrade
from nndojo.spec import models as m
from nndojo.train import train

STATUSES = ("completed", "diverged", "cancelled", "failed")


def _v1_run(seed: int, epochs: int) -> tuple[str, list[dict[str, Any]]]:
    """A tiny job's spec as stored (JSON) and its real events, as the trainer emits them."""
    spec = m.JobSpec.model_validate(
        {
            "seed": seed,
            "dataset": {"name": "xor", "n_samples": 80},
            "model": {"layers": [{"type": "dense", "units": 3, "activation": "relu"}], "output": {"activation": "softmax"}},
            "training": {"epochs": epochs, "batch_size": "full", "optimizer": {"name": "adam", "lr": 0.05}},
            "probes": {"histogram_bins": 5, "boundary_resolution": 10},
        }
    )
    events: list[dict[str, Any]] = []
    train(spec, events.append)
    return spec.model_dump_json(), events


def _fill_v1(url: str) -> dict[str, list[str]]:
    """A database exactly as a version-1 server left it: the v1 tables, no alembic_version, jobs in every final
    status and one still `running` (the server died under it). Returns each job's stored event texts."""
    engine = sa.create_engine(url)
    upgrade(engine, "0001")
    stored: dict[str, list[str]] = {}
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE alembic_version"))
        for i, status in enumerate((*STATUSES, "running")):
            job_id = f"v1job{i:02d}"
            spec, events = _v1_run(seed=i, epochs=2 + i)
            if status != "completed":  # the trainer's own final event says completed; v1 wrote the server's outcome
                events[-1] = {"type": "status", "status": status, "error": "v1 said so" if status == "failed" else None}
            if status == "running":
                events.pop()  # no final event: the server stopped while it trained
            texts = [json.dumps({"seq": seq, **event}, separators=(",", ":")) for seq, event in enumerate(events)]
            stored[job_id] = texts
            conn.execute(
                sa.text(
                    "INSERT INTO jobs (id, name, status, spec, created_at, started_at, finished_at, device, n_params, epoch, final, error) "
                    "VALUES (:id, :name, :status, :spec, :created, :created, :finished, 'cpu', 15, :epoch, :final, :error)"
                ),
                {
                    "id": job_id,
                    "name": f"v1 run {i} <b>",
                    "status": status,
                    "spec": spec,
                    "created": f"2026-01-0{i + 1}T10:00:00+00:00",
                    "finished": None if status == "running" else f"2026-01-0{i + 1}T10:01:00+00:00",
                    "epoch": 1 + i,
                    "final": None if status == "running" else json.dumps({"train_loss": 0.5}),
                    "error": "v1 said so" if status == "failed" else None,
                },
            )
            for seq, text in enumerate(texts):
                final = seq == len(texts) - 1 and status != "running"
                conn.execute(sa.text("INSERT INTO events (job_id, seq, final, data) VALUES (:j, :s, :f, :d)"), {"j": job_id, "s": seq, "f": final, "d": text})
    engine.dispose()
    return stored


def _check_upgraded(url: str, stored: dict[str, list[str]], data_dir: Path, jobkit: SimpleNamespace) -> None:
    engine = open_engine(url)  # what the server does at start: stamps v1, upgrades to the newest revision
    try:
        assert current_revision(engine) == head_revision()
        with engine.connect() as conn:
            for job_id, texts in stored.items():
                rows = conn.execute(sa.text("SELECT seq, data FROM events WHERE job_id = :j ORDER BY seq"), {"j": job_id}).all()
                assert [data for _, data in rows] == texts, f"{job_id}'s events changed in the upgrade"
                owner, shared = conn.execute(sa.text("SELECT owner_id, shared FROM jobs WHERE id = :j"), {"j": job_id}).one()
                assert owner is None and not shared
                epochs = sum(1 for text in texts if json.loads(text)["type"] == "epoch")
                n_metrics = conn.execute(sa.text("SELECT count(*) FROM metrics WHERE job_id = :j"), {"j": job_id}).scalar()
                assert n_metrics == epochs, f"{job_id}: {n_metrics} metric rows for {epochs} epoch events"
    finally:
        engine.dispose()

    # a server in its own process (and Ray): an in-process app would share the session's Ray, whose CPUs are taken
    server = jobkit.start_server(data_dir, {"NNDOJO_DATABASE_URL": url, "NNDOJO_CPU_SLOTS": "1"})
    try:
        _check_served(server.url, stored)
    finally:
        server.stop()


def _check_served(base_url: str, stored: dict[str, list[str]]) -> None:
    with httpx.Client(base_url=base_url, timeout=60) as client:
        listed = {job["id"]: job for job in client.get("/api/jobs").json()}
        assert set(stored) <= set(listed)
        assert listed["v1job00"]["name"] == "v1 run 0 <b>" and listed["v1job00"]["status"] == "completed"
        assert listed["v1job04"]["status"] == "failed"  # was running when the v1 server stopped: failed at restart
        for job_id, texts in stored.items():
            events = client.get(f"/api/jobs/{job_id}/events", params={"after": -1}).json()
            assert events[: len(texts)] == [json.loads(text) for text in texts]
            metrics = client.get(f"/api/jobs/{job_id}/metrics").json()
            losses = [json.loads(t)["train"]["loss"] for t in texts if json.loads(t)["type"] == "epoch"]
            assert metrics["train_loss"] == pytest.approx(losses)


def test_v1_sqlite_database_upgrades_with_every_job_and_event(tmp_path: Path, jobkit: SimpleNamespace) -> None:
    url = f"sqlite:///{tmp_path / 'v1.db'}"
    stored = _fill_v1(url)
    _check_upgraded(url, stored, tmp_path / "data", jobkit)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL cluster (initdb, pg_ctl) listening only on a unix socket in a short directory under
    /tmp (a socket path has ~100 bytes, and the cluster's account must be able to reach it)."""
    pytest.importorskip("psycopg")
    if not (shutil.which("initdb") and shutil.which("pg_ctl")):
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) are not installed")
    root = Path(tempfile.mkdtemp(prefix="nndojo-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root: run the cluster as the postgres (or nobody) account
        user = "postgres" if shutil.which("runuser") and subprocess.run(["id", "postgres"], capture_output=True).returncode == 0 else "nobody"
        shutil.chown(root, user)
        as_user = ["runuser", "-u", user, "--"]
    subprocess.run([*as_user, "initdb", "-D", str(root / "data"), "-A", "trust", "-U", "nndojo"], check=True, capture_output=True)
    options = f"-k {root} -c listen_addresses='' -p 5432"
    subprocess.run([*as_user, "pg_ctl", "-D", str(root / "data"), "-l", str(root / "log"), "-o", options, "-w", "start"], check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://nndojo@/postgres?host={root}&port=5432"
    finally:
        subprocess.run([*as_user, "pg_ctl", "-D", str(root / "data"), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def test_v1_postgresql_database_upgrades_with_every_job_and_event(postgres_url: str, tmp_path: Path, jobkit: SimpleNamespace) -> None:
    stored = _fill_v1(postgres_url)
    _check_upgraded(postgres_url, stored, tmp_path / "data", jobkit)
