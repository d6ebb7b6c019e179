"""Pipelined dispatch: a slot's next job is handed to its worker before the current one ends (nndojo.jobs.manager).

The prefetch window is widened here so that a long job's slot takes its next job at its first epoch: the prefetched
state then lasts long enough to act on it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
import ray

from nndojo.jobs import manager as manager_module
from test_api import assert_complete_log, events, submit


@pytest.fixture
def client(api_client: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setattr(manager_module, "PREFETCH_WITHIN_S", 3600.0)
    yield api_client


def prefetched(client: Any, job_id: str, timeout: float = 60.0) -> Any:
    """The slot that holds `job_id` as its next job, once it does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for slot in client.app.state.manager.pool.slots:
            if slot.next is not None and slot.next.id == job_id:
                return slot
        time.sleep(0.02)
    raise AssertionError(f"job {job_id} was never prefetched")


def test_prefetched_job_is_position_0_queued_and_cancels_at_once(client: Any, jobkit: SimpleNamespace) -> None:
    blockers = [submit(client, jobkit.long_spec()) for _ in range(2)]
    for blocker in blockers:
        jobkit.wait_running(client, blocker["id"])
    first, second = submit(client, jobkit.tiny_spec(2, name="first")), submit(client, jobkit.tiny_spec(2, name="second"))
    for job in (first, second):
        prefetched(client, job["id"])
        seen = client.get(f"/api/jobs/{job['id']}").json()
        assert seen["status"] == "queued" and seen["position"] == 0

    started = time.monotonic()
    reply = client.post(f"/api/jobs/{first['id']}/cancel")
    took = time.monotonic() - started
    assert reply.status_code == 200 and reply.json()["status"] == "cancelled", reply.text
    assert took < 0.5, f"a prefetched job took {took:.2f} s to cancel, behind a running job"
    log = events(client, first["id"])
    assert_complete_log(log, final="cancelled")
    assert all(event["type"] == "status" and event["status"] in ("queued", "cancelled") for event in log), log
    for blocker in blockers:
        assert client.get(f"/api/jobs/{blocker['id']}").json()["status"] == "running", "the blocker runs on"

    # The slot's next place is free again: a later job takes it, and everything still finishes in full.
    third = submit(client, jobkit.tiny_spec(2, name="third"))
    prefetched(client, third["id"])
    for blocker in blockers:
        assert client.post(f"/api/jobs/{blocker['id']}/cancel").json()["status"] == "cancelled"
    for job in (second, third):
        assert jobkit.wait_final(client, job["id"])["status"] == "completed"
        assert_complete_log(events(client, job["id"]))
    assert client.get(f"/api/jobs/{first['id']}").json()["status"] == "cancelled", "a skipped job stays cancelled"


def test_worker_death_requeues_the_prefetched_job_and_fails_the_running_one(client: Any, jobkit: SimpleNamespace) -> None:
    blockers = [submit(client, jobkit.long_spec()) for _ in range(2)]
    for blocker in blockers:
        jobkit.wait_running(client, blocker["id"])
    waiting = submit(client, jobkit.tiny_spec(3, name="behind the victim"))
    slot = prefetched(client, waiting["id"])
    victim = slot.job
    assert victim is not None
    ray.kill(slot.actor, no_restart=True)

    crashed = jobkit.wait_final(client, victim.id)
    assert crashed["status"] == "failed" and "worker stopped" in crashed["error"]
    done = jobkit.wait_final(client, waiting["id"])
    assert done["status"] == "completed", "a job that never started is not failed by its slot's crash"
    log = events(client, waiting["id"])
    assert_complete_log(log)
    assert [event["epoch"] for event in log if event["type"] == "epoch"] == [0, 1, 2, 3]
    assert sum(1 for event in log if event["type"] == "status" and event["status"] == "running") == 1
    for blocker in blockers:
        if blocker["id"] != victim.id:
            assert client.post(f"/api/jobs/{blocker['id']}/cancel").json()["status"] == "cancelled"
    assert jobkit.wait_final(client, submit(client, jobkit.tiny_spec(1))["id"])["status"] == "completed"


def test_every_slot_runs_its_jobs_in_submission_order(client: Any, jobkit: SimpleNamespace, monkeypatch: pytest.MonkeyPatch) -> None:
    manager = client.app.state.manager
    started: list[tuple[str, int]] = []
    original = manager._on_worker_event

    def record(job: Any, encoded: dict[str, Any]) -> None:
        if encoded["meta"].get("status") == "running":
            started.append((job.id, job.slot.index))
        original(job, encoded)

    monkeypatch.setattr(manager, "_on_worker_event", record)
    jobs = [submit(client, jobkit.tiny_spec(3, name=f"fifo {i}", seed=i)) for i in range(12)]
    for job in jobs:
        assert jobkit.wait_final(client, job["id"], timeout=120)["status"] == "completed"
        assert_complete_log(events(client, job["id"]))
    order = {job["id"]: place for place, job in enumerate(jobs)}
    assert sorted(job_id for job_id, _ in started) == sorted(order), "each job started exactly once"
    for index in {index for _, index in started}:
        places = [order[job_id] for job_id, slot_index in started if slot_index == index]
        assert places == sorted(places), f"slot {index} ran its jobs out of submission order: {places}"
