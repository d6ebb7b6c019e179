"""Classroom mode against a real server: sessions, the permission table over HTTP and websockets, fair turns, quotas,
the wall-clock limit, class limits, the results CSV, and personal mode's unchanged one-user behaviour."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

PASSWORD = "correct horse battery staple"
CODE_ALPHABET = set("23456789ABCDEFGHJKMNPQRSTUVWXYZ")
OTHER_CLIENT = {"X-Forwarded-For": "203.0.113.7"}  # a documentation address: the rate limit counts per client


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, jobkit: SimpleNamespace) -> Iterator[str]:
    env = {"NNDOJO_MODE": "classroom", "NNDOJO_TEACHER_PASSWORD": PASSWORD, "NNDOJO_MAX_QUEUE": "40"}
    process = jobkit.start_server(tmp_path_factory.mktemp("classroom"), env)
    try:
        yield process.url
    finally:
        process.stop()


class Session(httpx.Client):
    """A client that may be used in a `with` block after its login request (httpx refuses to re-enter an opened one)."""

    def __enter__(self) -> Session:
        return self


def client(url: str, **kwargs: Any) -> Session:
    return Session(base_url=url, timeout=60, **kwargs)


def teacher(url: str) -> Session:
    http = client(url)
    reply = http.post("/api/session", json={"password": PASSWORD})
    assert reply.status_code == 200, reply.text
    assert reply.json()["user"]["role"] == "teacher"
    return http


def student(url: str, code: str, name: str) -> Session:
    http = client(url)
    reply = http.post("/api/session", json={"class_code": code, "name": name})
    assert reply.status_code == 200, reply.text
    return http


def new_class(http: httpx.Client, name: str, **limits: Any) -> dict[str, Any]:
    reply = http.post("/api/classes", json={"name": name})
    assert reply.status_code == 201, reply.text
    found = reply.json()
    if limits:
        patched = http.patch(f"/api/classes/{found['id']}", json={"limits": limits})
        assert patched.status_code == 200, patched.text
        found = patched.json()
    return found


def submit(http: httpx.Client, spec: dict[str, Any]) -> dict[str, Any]:
    reply = http.post("/api/jobs", json=spec)
    assert reply.status_code == 201, reply.text
    return reply.json()


def stream(url: str, job_id: str, http: httpx.Client | None = None, origin: str | None = None, after: int = -1) -> tuple[list[dict[str, Any]], int | None]:
    headers = {}
    if http is not None and "nndojo_session" in http.cookies:
        headers["Cookie"] = f"nndojo_session={http.cookies['nndojo_session']}"
    if origin is not None:
        headers["Origin"] = origin
    got: list[dict[str, Any]] = []
    with connect(url.replace("http://", "ws://") + f"/api/jobs/{job_id}/stream?after={after}", additional_headers=headers) as ws:
        try:
            while True:
                got.append(json.loads(ws.recv(timeout=60)))
        except ConnectionClosed as closed:
            return got, closed.rcvd.code if closed.rcvd else None


def test_public_endpoints_and_401_without_a_session(server: str) -> None:
    with client(server) as anon:
        assert anon.get("/api/health").json()["mode"] == "classroom"
        for path in ("/api/catalog", "/api/schema", "/", "/vendor/plotly.min.js"):
            assert anon.get(path).status_code == 200, path
        for method, path in [
            ("GET", "/api/jobs"),
            ("POST", "/api/jobs"),
            ("GET", "/api/jobs/x"),
            ("GET", "/api/jobs/x/events"),
            ("GET", "/api/jobs/x/metrics"),
            ("POST", "/api/jobs/x/cancel"),
            ("DELETE", "/api/jobs/x"),
            ("POST", "/api/jobs/x/share"),
            ("POST", "/api/check"),
            ("GET", "/api/datasets/circle/preview"),
            ("POST", "/api/optimizer-race"),
            ("GET", "/api/session"),
            ("POST", "/api/tokens"),
            ("GET", "/api/classes"),
        ]:
            reply = anon.request(method, path, json={} if method in ("POST", "PATCH") else None)
            assert reply.status_code == 401, (method, path, reply.status_code)
    assert stream(server, "x") == ([], 4401)


def test_logging_in_joining_and_their_refusals(server: str) -> None:
    with client(server) as anon:
        wrong = anon.post("/api/session", json={"password": "nope"})
        assert wrong.status_code == 401 and wrong.json()["detail"]["code"] == "bad_password"
        assert anon.post("/api/session", json={"class_code": "ZZZZZZ", "name": "x"}).json()["detail"]["code"] == "bad_class_code"
        assert anon.post("/api/session", json={"password": PASSWORD, "class_code": "A"}).status_code == 422
    with teacher(server) as t:
        found = new_class(t, "1-A <b>physics</b>")
        assert len(found["code"]) == 6 and set(found["code"]) <= CODE_ALPHABET
        assert found["open"] and found["students"] == [] and found["limits"]["max_running_per_student"] == 1
        aiko = student(server, found["code"].lower(), "  Aiko  ")  # codes are case-insensitive, names trimmed
        me = aiko.get("/api/session").json()
        assert me["user"] == {**me["user"], "name": "Aiko", "role": "student", "class_id": found["id"]}
        assert me["class"]["name"] == "1-A <b>physics</b>"
        with client(server) as again:
            taken = again.post("/api/session", json={"class_code": found["code"], "name": "aiko"})
            assert taken.status_code == 409 and taken.json()["detail"]["code"] == "name_taken"
            assert again.post("/api/session", json={"class_code": found["code"], "name": " "}).status_code == 422
        assert t.patch(f"/api/classes/{found['id']}", json={"open": False}).json()["open"] is False
        with client(server) as late:
            closed = late.post("/api/session", json={"class_code": found["code"], "name": "Late"})
            assert closed.status_code == 403 and closed.json()["detail"]["code"] == "class_closed"
        students = t.get(f"/api/classes/{found['id']}").json()["students"]
        assert [s["name"] for s in students] == ["Aiko"] and students[0]["jobs"] == {"running": 0, "paused": 0, "queued": 0, "total": 0}
        assert aiko.get("/api/classes").status_code == 403, "students do not manage classes"
        token = aiko.post("/api/tokens").json()["token"]
        with client(server, headers={"Authorization": f"Bearer {token}"}) as script:
            assert script.get("/api/session").json()["user"]["name"] == "Aiko"
        assert aiko.delete("/api/session").status_code == 204
        assert aiko.get("/api/session").status_code == 401
        with client(server, headers={"Authorization": "Bearer forged"}) as forged:
            assert forged.get("/api/jobs").status_code == 401
        with client(server, cookies={"nndojo_session": "forged.signature"}) as forged:
            assert forged.get("/api/jobs").status_code == 401


def test_wrong_tries_are_limited_per_client(server: str) -> None:
    with client(server, headers=OTHER_CLIENT) as guesser:
        codes = [guesser.post("/api/session", json={"password": f"guess {i}"}).status_code for i in range(11)]
        assert codes == [401] * 10 + [429]
        limited = guesser.post("/api/session", json={"password": PASSWORD})
        assert limited.status_code == 429 and limited.json()["detail"]["code"] == "too_many_attempts"
        assert int(limited.headers["retry-after"]) >= 1
    with teacher(server):  # another client is not held back
        pass


def test_the_permission_table(server: str, jobkit: SimpleNamespace) -> None:
    with teacher(server) as t:
        found = new_class(t, "permissions")
        other = new_class(t, "another class")
        owner = student(server, found["code"], "Owner")
        mate = student(server, found["code"], "Mate")
        stranger = student(server, other["code"], "Stranger")
        job = submit(owner, jobkit.tiny_spec(3, name="mine"))
        assert job["owner"] == {"id": owner.get("/api/session").json()["user"]["id"], "name": "Owner"}
        assert job["class_id"] == found["id"] and job["shared"] is False
        done = jobkit.wait_final(owner, job["id"])
        assert done["status"] == "completed"
        reads = ("", "/events", "/metrics")
        for path in reads:
            assert owner.get(f"/api/jobs/{job['id']}{path}").status_code == 200
            assert t.get(f"/api/jobs/{job['id']}{path}").status_code == 200
            for other_student in (mate, stranger):
                assert other_student.get(f"/api/jobs/{job['id']}{path}").status_code == 404, "an unshared run is invisible"
        for other_student in (mate, stranger):
            assert other_student.post(f"/api/jobs/{job['id']}/share").status_code == 404
            assert other_student.delete(f"/api/jobs/{job['id']}").status_code == 404
            assert job["id"] not in {j["id"] for j in other_student.get("/api/jobs").json()}
        assert stream(server, job["id"], mate) == ([], 4404)
        owner_log, code = stream(server, job["id"], owner)
        assert code == 1000 and owner_log[-1]["status"] == "completed"
        assert stream(server, job["id"], owner, origin="http://evil.example") == ([], 4403)
        assert stream(server, job["id"], owner, origin=server)[1] == 1000

        shared = owner.post(f"/api/jobs/{job['id']}/share")
        assert shared.status_code == 200 and shared.json()["shared"] is True
        for path in reads:
            assert mate.get(f"/api/jobs/{job['id']}{path}").status_code == 200
            assert stranger.get(f"/api/jobs/{job['id']}{path}").status_code == 404, "shared with the owner's class only"
        listed = {j["id"]: j for j in mate.get("/api/jobs").json()}
        assert listed[job["id"]]["owner"]["name"] == "Owner"
        assert stream(server, job["id"], mate) == (owner_log, 1000)
        assert mate.post(f"/api/jobs/{job['id']}/cancel").status_code == 403
        assert mate.delete(f"/api/jobs/{job['id']}").status_code == 403
        assert mate.delete(f"/api/jobs/{job['id']}/share").status_code == 403
        assert owner.post(f"/api/jobs/{job['id']}/cancel").status_code == 409, "finished: nothing to cancel"

        teacher_view = {j["id"] for j in t.get("/api/jobs", params={"class_id": found["id"]}).json()}
        assert job["id"] in teacher_view
        assert {j["id"] for j in t.get("/api/jobs", params={"class_id": other["id"]}).json()}.isdisjoint(teacher_view)
        assert t.delete(f"/api/jobs/{job['id']}/share").json()["shared"] is False
        assert mate.get(f"/api/jobs/{job['id']}").status_code == 404
        running = submit(mate, jobkit.long_spec())
        assert t.post(f"/api/jobs/{running['id']}/cancel").json()["status"] == "cancelled", "the teacher controls every run"
        assert t.delete(f"/api/jobs/{job['id']}").status_code == 200
        assert owner.get(f"/api/jobs/{job['id']}").status_code == 404


def test_fair_turns_quotas_and_the_time_limit(server: str, jobkit: SimpleNamespace) -> None:
    with teacher(server) as t:
        found = new_class(t, "fairness", max_running_per_student=2, max_queued_per_student=8)
        a = student(server, found["code"], "A")
        b = student(server, found["code"], "B")
        a_jobs = [submit(a, jobkit.long_spec(epochs=2000)) for _ in range(10)]
        for job in a_jobs[:2]:
            jobkit.wait_running(a, job["id"])  # both slots: A's first two
        assert [job["position"] for job in a_jobs[2:]] == list(range(1, 9))
        b_job = submit(b, jobkit.tiny_spec(2, name="b"))
        assert b_job["position"] == 1, "B has had no turn yet: B goes before A's third"
        assert a.get(f"/api/jobs/{a_jobs[2]['id']}").json()["position"] == 2
        over = a.post("/api/jobs", json=jobkit.tiny_spec(1))
        assert over.status_code == 429 and over.json()["detail"] == {**over.json()["detail"], "code": "max_queued_per_student", "limit": 8}
        assert a.post(f"/api/jobs/{a_jobs[0]['id']}/cancel").json()["status"] == "cancelled"
        assert jobkit.wait_final(b, b_job["id"])["status"] == "completed"
        third = a.get(f"/api/jobs/{a_jobs[2]['id']}").json()
        assert third["started_at"] is None or third["started_at"] > jobkit.wait_final(b, b_job["id"])["started_at"]
        for job in a_jobs:
            t.delete(f"/api/jobs/{job['id']}")

        limited = new_class(t, "time limit", max_job_seconds=1, max_epochs=50)
        c = student(server, limited["code"], "C")
        too_long = c.post("/api/jobs", json=jobkit.long_spec(epochs=100))
        assert too_long.status_code == 422 and too_long.json()["detail"][0]["ctx"]["limit"] == "max_epochs"
        assert c.post("/api/check", json=jobkit.long_spec(epochs=100)).status_code == 422, "the check uses the class's limits too"
        # 50 epochs of online SGD on 4,000 points: far past a second, solo or packed (a pack's step is the cheaper)
        job = submit(c, {**jobkit.long_spec(epochs=50), "dataset": {"name": "circle", "n_samples": 4000, "noise": 0.0}})
        done = jobkit.wait_final(c, job["id"])
        assert done["status"] == "failed" and done["error_code"] == "max_job_seconds" and "max_job_seconds" in done["error"]
        log = jobkit.all_events(c, job["id"])
        assert [e["seq"] for e in log] == list(range(len(log))) and any(e["type"] == "epoch" for e in log), "its events are kept"
        assert log[-1] == {**log[-1], "type": "status", "status": "failed", "error_code": "max_job_seconds"}


def test_results_csv_and_deleting_a_class(server: str, jobkit: SimpleNamespace) -> None:
    with teacher(server) as t:
        found = new_class(t, "クラス 2-B")
        s = student(server, found["code"], "=HYPERLINK(\"x\")")
        job = submit(s, jobkit.tiny_spec(2, name="+cmd|' /C calc'!A0"))
        jobkit.wait_final(s, job["id"])
        reply = t.get(f"/api/classes/{found['id']}/results.csv")
        assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(reply.content.decode("utf-8-sig"))))
        assert len(rows) == 1 and rows[0]["status"] == "completed" and rows[0]["epoch"] == "2"
        assert rows[0]["student"].startswith("'=") and rows[0]["job_name"].startswith("'+"), "cells are never formulas"
        assert float(rows[0]["test_accuracy"]) >= 0
        assert t.delete(f"/api/classes/{found['id']}").status_code == 204
        assert s.get("/api/jobs").status_code == 401, "a deleted class's students are logged out"
        assert t.get(f"/api/jobs/{job['id']}").status_code == 404
        assert t.get(f"/api/classes/{found['id']}").status_code == 404


def test_personal_mode_has_one_user_and_no_login(live_server: str, jobkit: SimpleNamespace) -> None:
    with client(live_server) as http:
        assert http.get("/api/health").json()["mode"] == "personal"
        assert http.get("/api/session").json() == {"user": None, "mode": "personal"}
        assert http.post("/api/session", json={"password": "x"}).status_code == 409
        job = submit(http, jobkit.tiny_spec(1))
        assert job["owner"] is None and job["class_id"] is None and job["shared"] is False
        assert http.post(f"/api/jobs/{job['id']}/share").json()["shared"] is True
        jobkit.wait_final(http, job["id"])
        metrics = http.get(f"/api/jobs/{job['id']}/metrics").json()
        assert metrics["epoch"] == [0, 1] and len(metrics["train_loss"]) == 2 and metrics["status"] == "completed"
        assert set(metrics["grad_norm"]) == {"dense_1", "output"}
        assert http.get(f"/api/jobs/{job['id']}/metrics", params={"after": metrics["last_seq"]}).json()["epoch"] == []
