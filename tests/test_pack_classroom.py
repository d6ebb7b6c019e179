"""Packing in classroom mode: a pack is many students' jobs, each counted against its own student's limits. Its own
module: the in-process server of tests/test_pack_server.py holds the embedded Ray's only CPU while its module runs."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from nndojo.api.server import create_app
from nndojo.config import Settings
from test_pack_server import spec

pytestmark = pytest.mark.filterwarnings("ignore:grad and param do not obey the gradient layout contract")


def test_a_pack_counts_each_member_as_its_students_job(tmp_path: Path, jobkit: SimpleNamespace) -> None:
    """Classroom limits (one running job a student) hold inside a pack: a student's second job waits in the queue
    while another student's job joins the running pack beside the first."""
    settings = Settings(mode="classroom", teacher_password="pack teacher", data_dir=tmp_path, cpu_slots=1, pack_jobs=True)
    with TestClient(create_app(settings)) as c:
        assert c.post("/api/session", json={"password": "pack teacher"}).status_code == 200
        code = c.post("/api/classes", json={"name": "packs"}).json()["code"]
        cookies = {}
        for name in ("ann", "ben"):
            c.cookies.clear()
            assert c.post("/api/session", json={"class_code": code, "name": name}).status_code == 200
            cookies[name] = dict(c.cookies)

        def as_student(name: str) -> Any:
            c.cookies.clear()
            c.cookies.update(cookies[name])
            return c

        first = as_student("ann").post("/api/jobs", json=spec(1, 5000)).json()["id"]
        jobkit.wait_running(c, first, timeout=120)
        second = c.post("/api/jobs", json=spec(2, 5000)).json()["id"]
        other = as_student("ben").post("/api/jobs", json=spec(3, 5000)).json()["id"]
        jobkit.wait_running(c, other, timeout=120)
        as_student("ann")
        assert c.get(f"/api/jobs/{first}").json()["status"] == "running"
        queued = c.get(f"/api/jobs/{second}").json()
        assert queued["status"] == "queued" and queued["position"] == 1, "ann's second job waits: one running job a student"
        for job_id in (second, first):
            assert c.post(f"/api/jobs/{job_id}/cancel").json()["status"] == "cancelled"
        assert as_student("ben").post(f"/api/jobs/{other}/cancel").json()["status"] == "cancelled"
