"""Packing in classroom mode: a pack is many students' jobs, each counted against its own student's limits. A server in
its own process (and Ray): an in-process app would share the test session's Ray, whose CPUs other apps' slots hold."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from test_pack_server import spec

pytestmark = pytest.mark.filterwarnings("ignore:grad and param do not obey the gradient layout contract")


def test_a_pack_counts_each_member_as_its_students_job(tmp_path: Path, jobkit: SimpleNamespace) -> None:
    """Classroom limits (one running job a student) hold inside a pack: a student's second job waits in the queue
    while another student's job joins the running pack beside the first."""
    env = {"NNDOJO_MODE": "classroom", "NNDOJO_TEACHER_PASSWORD": "pack teacher", "NNDOJO_CPU_SLOTS": "1", "NNDOJO_PACK_JOBS": "true"}
    server = jobkit.start_server(tmp_path, env)
    with httpx.Client(base_url=server.url, timeout=60) as c:
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
    server.stop()  # on a failure, the session's end stops it (start_server's servers are in their own sessions)
