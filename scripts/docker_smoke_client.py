"""The client half of scripts/docker-smoke.sh: what a teacher and a student do, over HTTP and the job's websocket.

  train URL STATE   log in as the teacher, create a class, join it as a student, submit a tiny job, follow it over
                    HTTP and over its websocket to the final event; write what was seen to STATE (JSON)
  verify URL STATE  after a restart: log in again as the teacher, find the job and every one of its events again,
                    over HTTP and over the websocket's replay

The teacher's password comes from NNDOJO_TEACHER_PASSWORD. Exits non-zero with a message at the first surprise.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from websockets.sync.client import connect
from websockets.typing import Origin

FINAL = ("completed", "failed", "cancelled", "diverged")
TIMEOUT_S = 180.0
TINY_JOB = {
    "name": "docker smoke",
    "seed": 0,
    "device": "cpu",
    "dataset": {"name": "circle", "n_samples": 100, "noise": 0.0},
    "model": {"layers": [{"type": "dense", "units": 4, "activation": "tanh"}], "output": {"activation": "sigmoid"}},
    "training": {"epochs": 5, "batch_size": "full", "loss": "cross_entropy", "optimizer": {"name": "adam", "lr": 0.05}},
    "probes": {"histogram_bins": 10, "boundary_resolution": 10},
}


def check(condition: bool, what: str) -> None:
    if not condition:
        sys.exit(f"docker smoke: {what}")


def expect(response: httpx.Response, status: int, what: str) -> Any:
    check(response.status_code == status, f"{what}: HTTP {response.status_code} (wanted {status}): {response.text[:500]}")
    return response.json() if response.content else None


def wait_healthy(url: str) -> dict[str, Any]:
    """/api/health once it answers 200 (a training slot is up)."""
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        try:
            response = httpx.get(f"{url}/api/health", timeout=10, trust_env=False)
            if response.status_code == 200:
                return response.json()
        except httpx.HTTPError:
            pass
        check(time.monotonic() < deadline, f"/api/health did not answer 200 within {TIMEOUT_S:.0f} s")
        time.sleep(0.5)


def teacher(url: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=30, trust_env=False)
    user = expect(client.post("/api/session", json={"password": os.environ["NNDOJO_TEACHER_PASSWORD"]}), 200, "teacher login")["user"]
    check(user["role"] == "teacher", f"the password logged in a {user['role']}")
    return client


def stream(url: str, client: httpx.Client, job_id: str) -> list[dict[str, Any]]:
    """Every event of the job from its websocket (same origin, the session cookie), up to the close after the final."""
    ws_url = url.replace("http://", "ws://", 1) + f"/api/jobs/{job_id}/stream"
    cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    events = []
    with connect(ws_url, origin=Origin(url), additional_headers={"Cookie": cookie}, proxy=None, open_timeout=30, close_timeout=5) as ws:
        for frame in ws:  # ends when the server closes the socket after the final status event
            events.append(json.loads(frame))
    check(bool(events), "the websocket sent no event")
    return events


def all_events(client: httpx.Client, job_id: str) -> list[dict[str, Any]]:
    """The job's events over HTTP, page by page (X-Next-After says where the next page starts)."""
    events: list[dict[str, Any]] = []
    after = -1
    while True:
        response = client.get(f"/api/jobs/{job_id}/events", params={"after": after})
        page = expect(response, 200, "GET events")
        events += page
        if "x-next-after" not in response.headers or not page:
            return events
        after = int(response.headers["x-next-after"])


def check_final(events: list[dict[str, Any]], how: str) -> None:
    check([e["seq"] for e in events] == list(range(len(events))), f"{how}: seqs are not 0..n-1 without gaps")
    last = events[-1]
    check(last["type"] == "status" and last["status"] == "completed", f"{how}: the last event is {last}, not a completed status")
    epochs = [e["epoch"] for e in events if e["type"] == "epoch"]
    check(epochs == list(range(TINY_JOB["training"]["epochs"] + 1)), f"{how}: epochs {epochs}")


def train(url: str, state_path: Path) -> None:
    health = wait_healthy(url)
    check(health.get("mode") == "classroom", f"/api/health says mode {health.get('mode')!r}, not 'classroom'")
    expect(httpx.get(f"{url}/api/jobs", timeout=30, trust_env=False), 401, "GET /api/jobs with no session")
    for path in ("/docs", "/docs/assets/swagger-ui-bundle.js", "/redoc", "/docs/assets/redoc.standalone.js"):  # offline docs
        check(httpx.get(url + path, timeout=30, trust_env=False).status_code == 200, f"GET {path} is not 200 in the image")
    boss = teacher(url)
    klass = expect(boss.post("/api/classes", json={"name": "docker smoke"}), 201, "create a class")
    student = httpx.Client(base_url=url, timeout=30, trust_env=False)
    joined = expect(student.post("/api/session", json={"class_code": klass["code"], "name": "Ada"}), 200, "student join")["user"]
    check(joined["role"] == "student" and joined["class_id"] == klass["id"], f"the join gave {joined}")
    job = expect(student.post("/api/jobs", json=TINY_JOB), 201, "submit a job")
    live = stream(url, student, job["id"])  # the websocket, from the queued status to the final event
    check_final(live, "websocket")
    deadline = time.monotonic() + TIMEOUT_S
    while (seen := expect(student.get(f"/api/jobs/{job['id']}"), 200, "GET the job"))["status"] not in FINAL:
        check(time.monotonic() < deadline, f"the job is still {seen['status']} over HTTP")
        time.sleep(0.2)
    check(seen["status"] == "completed", f"the job ended {seen['status']}: {seen.get('error')}")
    stored = all_events(student, job["id"])
    check(stored == live, "GET events differs from what the websocket sent")
    state = {"job_id": job["id"], "class_id": klass["id"], "events": stored, "student_cookies": dict(student.cookies.items())}
    state_path.write_text(json.dumps(state))
    print(f"docker smoke: a student's job trained in the container, {len(stored)} events over HTTP and the websocket")


def verify(url: str, state_path: Path) -> None:
    state = json.loads(state_path.read_text())
    health = wait_healthy(url)
    check(health.get("mode") == "classroom", f"after the restart /api/health says mode {health.get('mode')!r}")
    boss = teacher(url)
    jobs = expect(boss.get("/api/jobs", params={"class_id": state["class_id"]}), 200, "the teacher's job list")
    check(any(job["id"] == state["job_id"] for job in jobs), "after the restart the teacher's list lacks the job")
    job = expect(boss.get(f"/api/jobs/{state['job_id']}"), 200, "GET the job after the restart")
    check(job["status"] == "completed", f"after the restart the job is {job['status']}")
    check(all_events(boss, state["job_id"]) == state["events"], "after the restart the stored events differ")
    check(stream(url, boss, state["job_id"]) == state["events"], "after the restart the websocket's replay differs")
    student = httpx.Client(base_url=url, timeout=30, trust_env=False, cookies=state["student_cookies"])
    kept = student.get("/api/session").status_code == 200
    print(f"docker smoke: after the restart (or a new container) the job and its {len(state['events'])} events are all there "
          f"(the student's session {'survived' if kept else 'ended'})")


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in ("train", "verify"):
        sys.exit(__doc__)
    {"train": train, "verify": verify}[sys.argv[1]](sys.argv[2].rstrip("/"), Path(sys.argv[3]))
