"""Live control of a running job (docs/api.md "Live control"): pause, step, resume and a new lr, in the trainer itself
(threads, no Ray), through the API (personal mode, in process), and the classroom's access rules and paused-time limit
on a real server. Every check waits for the events it needs; none sleeps and then asserts."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from nndojo.spec import JobSpec
from nndojo.spec.check import check_spec
from nndojo.train import train
from nndojo.train.budget import EventPlan
from nndojo.train.control import Controls

PASSWORD = "live control teacher"
WAIT_S = 60.0


# --- the trainer ---------------------------------------------------------------------------------


class TrainerThread:
    """train() in a thread with a Controls mailbox; its events in a queue that the test reads as they come."""

    def __init__(self, spec: dict[str, Any]):
        self.controls = Controls()
        self.stop = threading.Event()
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.result: list[str] = []
        parsed = JobSpec.model_validate(spec)
        self.thread = threading.Thread(
            target=lambda: self.result.append(train(parsed, self.events.put, self.stop.is_set, controls=self.controls)), daemon=True
        )

    def next(self, until: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        """The events up to and including the first one that satisfies `until`."""
        got = []
        while True:
            event = self.events.get(timeout=WAIT_S)
            got.append(event)
            if until(event):
                return got

    def cancel(self) -> None:
        self.stop.set()
        self.controls.wake()


def control(action: str) -> Callable[[dict[str, Any]], bool]:
    return lambda event: event["type"] == "control" and event["action"] == action


def test_trainer_pauses_steps_one_epoch_takes_a_new_lr_and_resumes(jobkit: SimpleNamespace) -> None:
    spec = jobkit.tiny_spec(
        8, training={"epochs": 8, "batch_size": 25, "loss": "cross_entropy", "optimizer": {"name": "sgd", "lr": 0.1}, "lr_schedule": {"name": "step", "step_size": 1, "gamma": 0.5}}
    )
    run = TrainerThread(spec)
    run.controls.request("pause")  # before the first step: it pauses once epoch 0 is measured
    run.thread.start()
    before = run.next(control("pause"))
    assert [e["epoch"] for e in before if e["type"] == "epoch"] == [0]
    assert before[-1] == {"type": "control", "action": "pause", "epoch": 0, "step": 0}

    run.controls.request("step")
    stepped = run.next(control("pause"))
    assert [e.get("action") or e["type"] for e in stepped] == ["step", "epoch", "pause"], "a step is one epoch, then paused"
    assert stepped[1]["epoch"] == 1 and stepped[1]["lr"] == 0.1 and stepped[-1]["epoch"] == 1

    run.controls.request("lr", 0.4)  # paused before epoch 2, whose scheduled lr is 0.05: 0.4 replaces it, then halves
    changed = run.next(control("lr"))
    assert changed == [{"type": "control", "action": "lr", "epoch": 1, "step": stepped[1]["step"], "value": 0.4}]
    run.controls.request("step")
    stepped = run.next(control("pause"))
    assert [e.get("action") or e["type"] for e in stepped] == ["step", "epoch", "pause"]
    assert stepped[1]["epoch"] == 2 and stepped[1]["lr"] == 0.4, "the epoch after the change trains with the new lr"

    run.controls.request("resume")
    rest = run.next(lambda e: e["type"] == "status")
    assert rest[0] == {"type": "control", "action": "resume", "epoch": 2, "step": stepped[1]["step"]}
    assert [e["lr"] for e in rest if e["type"] == "epoch"] == [0.2, 0.1, 0.05, 0.025, 0.0125, 0.00625], "the schedule goes on from 0.4"
    assert rest[-1]["status"] == "completed"
    run.thread.join(WAIT_S)
    assert run.result == ["completed"]


def test_a_stepped_epoch_carries_the_pictures_the_plan_leaves_out(jobkit: SimpleNamespace) -> None:
    spec = jobkit.tiny_spec(400)
    parsed = JobSpec.model_validate(spec)
    plan = EventPlan.for_job(parsed, check_spec(parsed))
    run = TrainerThread(spec)
    run.controls.request("pause")
    run.thread.start()
    run.next(control("pause"))
    for _ in range(40):  # step until an epoch the plan leaves light (past the first 11, which all carry them)
        run.controls.request("step")
        epoch = next(e for e in run.next(control("pause")) if e["type"] == "epoch")
        if not plan.heavy(epoch["epoch"]):
            break
    assert not plan.heavy(epoch["epoch"]), "40 steps found no epoch the plan leaves light"
    assert "boundary" in epoch and "weight_hist" in epoch["layers"][0], f"stepped epoch {epoch['epoch']} has its pictures"
    run.controls.request("resume")
    unstepped = next(e for e in run.next(lambda e: e["type"] == "epoch" and not plan.heavy(e["epoch"])) if e["type"] == "epoch" and not plan.heavy(e["epoch"]))
    assert "boundary" not in unstepped, "only stepped epochs get the extra pictures"
    run.cancel()
    run.next(lambda e: e["type"] == "status")


def test_a_paused_trainer_stops_at_once_when_cancelled(jobkit: SimpleNamespace) -> None:
    run = TrainerThread(jobkit.long_spec(50))
    run.thread.start()
    run.next(lambda e: e["type"] == "epoch")
    run.controls.request("pause")
    paused = run.next(control("pause"))
    assert paused[-1]["step"] > 0 or paused[-1]["epoch"] >= 0
    run.cancel()
    assert run.next(lambda e: e["type"] == "status") == [{"type": "status", "status": "cancelled"}]
    run.thread.join(WAIT_S)
    assert run.result == ["cancelled"]


# --- the API, personal mode --------------------------------------------------------------------


def wait_events(client: Any, job_id: str, until: Callable[[list[dict[str, Any]]], bool], timeout: float = WAIT_S) -> list[dict[str, Any]]:
    """Reads the job's events until `until(events)` holds (events arrive as the trainer emits them)."""
    deadline = time.monotonic() + timeout
    while True:
        events = client.get(f"/api/jobs/{job_id}/events").json()
        if until(events):
            return events
        assert time.monotonic() < deadline, f"events never satisfied the test: {[e.get('action') or e.get('status') or e.get('epoch') for e in events][-20:]}"
        time.sleep(0.05)


def has(action: str, n: int = 1) -> Callable[[list[dict[str, Any]]], bool]:
    return lambda events: sum(1 for e in events if e["type"] == "control" and e["action"] == action) >= n


def after_last(events: list[dict[str, Any]], action: str) -> list[dict[str, Any]]:
    i = max(i for i, e in enumerate(events) if e["type"] == "control" and e["action"] == action)
    return events[i:]


def test_pause_step_lr_resume_through_the_api(api_client: Any, jobkit: SimpleNamespace) -> None:
    c = api_client
    job = c.post("/api/jobs", json=jobkit.long_spec(400)).json()
    jobkit.wait_running(c, job["id"])
    assert c.post(f"/api/jobs/{job['id']}/step").status_code == 409, "only a paused job steps"

    paused = c.post(f"/api/jobs/{job['id']}/pause")
    assert paused.status_code == 200 and paused.json()["status"] == "paused", paused.text
    assert c.get(f"/api/jobs/{job['id']}").json()["status"] == "paused"
    assert c.get("/api/jobs", params={"status": "paused"}).json()[0]["id"] == job["id"]
    assert c.post(f"/api/jobs/{job['id']}/pause").json()["status"] == "paused", "pausing a paused job changes nothing"

    stepped = c.post(f"/api/jobs/{job['id']}/step")
    assert stepped.status_code == 200, stepped.text
    events = wait_events(c, job["id"], has("pause", 2))
    between = events[[e.get("action") for e in events].index("pause") :]
    kinds = [e.get("action") or e["type"] for e in between]
    assert kinds == ["pause", "step", "epoch", "pause"], f"no epoch while paused, exactly one for the step: {kinds}"
    pause, step, epoch, again = between
    assert step["epoch"] == pause["epoch"] and epoch["epoch"] == pause["epoch"] + 1 == again["epoch"]

    changed = c.patch(f"/api/jobs/{job['id']}", json={"lr": 0.05})
    assert changed.status_code == 200 and changed.json()["status"] == "paused", changed.text
    c.post(f"/api/jobs/{job['id']}/step")
    events = wait_events(c, job["id"], has("pause", 3))
    tail = after_last(events[: -1], "lr")
    assert tail[0] == {**tail[0], "type": "control", "action": "lr", "value": 0.05, "epoch": again["epoch"]}
    assert [e["lr"] for e in tail if e["type"] == "epoch"] == [0.05], "the next epoch carries the new lr"

    resumed = c.post(f"/api/jobs/{job['id']}/resume")
    assert resumed.status_code == 200 and resumed.json()["status"] == "running", resumed.text
    last = events[-1]["epoch"]
    wait_events(c, job["id"], lambda ev: any(e["type"] == "epoch" and e["epoch"] > last + 1 for e in ev))
    metrics = c.get(f"/api/jobs/{job['id']}/metrics").json()
    assert metrics["lr"][-1] == 0.05, "the new lr stays (no schedule)"
    assert c.post(f"/api/jobs/{job['id']}/cancel").json()["status"] == "cancelled"


def test_bad_values_are_422_and_finished_or_unknown_jobs_409_and_404(api_client: Any, jobkit: SimpleNamespace) -> None:
    c = api_client
    job = c.post("/api/jobs", json=jobkit.tiny_spec(1)).json()
    for body in ({"lr": 0}, {"lr": -0.1}, {"lr": 101}, {"lr": "fast"}, {"lr": None}, {}, {"lr": 0.1, "name": "x"}):
        reply = c.patch(f"/api/jobs/{job['id']}", json=body)
        assert reply.status_code == 422, (body, reply.text)
        locs = [tuple(item["loc"]) for item in reply.json()["detail"]]
        assert any(loc[:2] in (("body", "lr"), ("body", "name")) for loc in locs), (body, locs)
    for text in ('{"lr": NaN}', '{"lr": Infinity}', '{"lr": 1e400}'):
        reply = c.patch(f"/api/jobs/{job['id']}", content=text, headers={"content-type": "application/json"})
        assert reply.status_code == 422 and reply.json()["detail"][0]["loc"][:2] == ["body", "lr"], (text, reply.text)
    jobkit.wait_final(c, job["id"])
    for method, path, body in (("post", "/pause", None), ("post", "/resume", None), ("post", "/step", None), ("patch", "", {"lr": 0.1})):
        reply = c.request(method.upper(), f"/api/jobs/{job['id']}{path}", json=body)
        assert reply.status_code == 409 and "completed" in reply.json()["detail"], reply.text
        assert c.request(method.upper(), f"/api/jobs/no-such-job{path}", json=body).status_code == 404


# --- classroom: who may control, and the paused-time limit ----------------------------------------


@pytest.fixture(scope="module")
def classroom(tmp_path_factory: pytest.TempPathFactory, jobkit: SimpleNamespace) -> Iterator[str]:
    env = {"NNDOJO_MODE": "classroom", "NNDOJO_TEACHER_PASSWORD": PASSWORD, "NNDOJO_MAX_PAUSED_S": "8"}
    process = jobkit.start_server(tmp_path_factory.mktemp("live_control"), env)
    try:
        yield process.url
    finally:
        process.stop()


def session(url: str, body: dict[str, str]) -> httpx.Client:
    http = httpx.Client(base_url=url, timeout=60)
    assert http.post("/api/session", json=body).status_code == 200
    return http


def test_classroom_access_and_the_paused_time_limit(classroom: str, jobkit: SimpleNamespace) -> None:
    teacher = session(classroom, {"password": PASSWORD})
    code = teacher.post("/api/classes", json={"name": "live"}).json()["code"]
    owner, mate = session(classroom, {"class_code": code, "name": "Owner"}), session(classroom, {"class_code": code, "name": "Mate"})
    job = owner.post("/api/jobs", json=jobkit.long_spec(400)).json()
    jobkit.wait_running(owner, job["id"])
    actions = (("post", "/pause", None), ("post", "/resume", None), ("post", "/step", None), ("patch", "", {"lr": 0.1}))
    for method, path, body in actions:
        assert mate.request(method.upper(), f"/api/jobs/{job['id']}{path}", json=body).status_code == 404, "not shared: invisible"
    assert owner.post(f"/api/jobs/{job['id']}/share").status_code == 200
    for method, path, body in actions:
        reply = mate.request(method.upper(), f"/api/jobs/{job['id']}{path}", json=body)
        assert reply.status_code == 403 and "watch" in reply.json()["detail"], reply.text
    assert owner.post(f"/api/jobs/{job['id']}/pause").json()["status"] == "paused"
    assert teacher.post(f"/api/jobs/{job['id']}/resume").json()["status"] == "running", "the teacher controls every run"
    assert teacher.post(f"/api/jobs/{job['id']}/pause").json()["status"] == "paused"
    assert mate.get(f"/api/jobs/{job['id']}").json()["status"] == "paused", "a classmate watching sees it paused"
    (found,) = [c for c in teacher.get("/api/classes").json() if c["code"] == code]
    assert {s["name"]: s["jobs"] for s in found["students"]}["Owner"] == {"running": 0, "paused": 1, "queued": 0, "total": 1}

    done = jobkit.wait_final(owner, job["id"], timeout=WAIT_S)
    assert done["status"] == "cancelled" and done["error_code"] == "max_paused_s" and "max_paused_s" in done["error"]
    final = owner.get(f"/api/jobs/{job['id']}/events", params={"after": done["epoch"] or 0}).json()[-1]
    assert final == {**final, "type": "status", "status": "cancelled", "error_code": "max_paused_s"}
