"""The event log without Ray or HTTP: events reach followers only once stored, a write that cannot be stored fails the
job at that seq (no hole, nothing silently dropped), and the writer's queue holds producers back instead of growing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nndojo.db.engine import open_engine
from nndojo.jobs.hub import Hub
from nndojo.jobs.log import EventLog
from nndojo.jobs.store import InsertEvent, InsertJob, Store, Write
from nndojo.jobs.worker import describe_failure
from nndojo.jobs.writer import BatchWriter


class FlakyStore(Store):
    """Refuses to store events whose text contains `failing`: `fail_times` times, or always when None."""

    def __init__(self, engine: Any, failing: str, fail_times: int | None = None):
        super().__init__(engine)
        self.failing = failing
        self.fail_times = fail_times
        self.failures = 0

    def apply(self, writes: Sequence[Write]) -> None:
        for write in writes:
            failing = isinstance(write, InsertEvent) and self.failing in write.data
            if failing and (self.fail_times is None or self.failures < self.fail_times):
                self.failures += 1
                raise OSError("disk said no")
        super().apply(writes)


def job_row(job_id: str) -> dict[str, Any]:
    return {"id": job_id, "name": job_id, "status": "running", "spec": {}, "created_at": "2026-01-01T00:00:00Z"}


async def run_log(store: Store, appends: int, job_id: str = "j") -> tuple[list[int], list[str], Store]:
    """Appends `appends` events (the last one final) and returns the seqs followers got and the jobs reported broken."""
    writer = BatchWriter(store, linger_s=0, retry_pause_s=0)
    writer.start()
    hub = Hub()
    broken: list[str] = []
    event_log = EventLog(store, writer, hub, broken.append)
    sub = hub.subscribe(job_id, 1000)
    event_log.open(job_id)
    writer.put(InsertJob(job_row(job_id)))
    for n in range(appends):
        event_log.append(job_id, json.dumps({"type": "epoch", "n": n}).encode(), final=n == appends - 1)
    await writer.flush()
    for job in list(broken):  # the job's owner ends it with a final event at the broken seq
        event_log.append(job, b'{"type":"status","status":"failed"}', final=True)
    await writer.flush()
    await writer.close()
    got = []
    while not sub.queue.empty():
        got.append(sub.queue.get_nowait().seq)
    return got, broken, store


def test_followers_get_events_once_stored_in_order(tmp_path: Path) -> None:
    store = Store(open_engine(f"sqlite:///{tmp_path / 'a.db'}"))
    got, broken, _ = asyncio.run(run_log(store, 5))
    assert got == [0, 1, 2, 3, 4] and broken == []
    assert [event.seq for event in store.events_page("j", -1, 100)] == [0, 1, 2, 3, 4]


def test_a_write_that_fails_once_is_retried_and_nothing_is_lost(tmp_path: Path) -> None:
    store = FlakyStore(open_engine(f"sqlite:///{tmp_path / 'b.db'}"), '"n": 2}', fail_times=1)
    got, broken, _ = asyncio.run(run_log(store, 5))
    assert store.failures == 1 and broken == [] and got == [0, 1, 2, 3, 4]


def test_a_write_that_cannot_be_stored_fails_the_job_at_that_seq(tmp_path: Path) -> None:
    store = FlakyStore(open_engine(f"sqlite:///{tmp_path / 'c.db'}"), '"n": 2}')
    got, broken, _ = asyncio.run(run_log(store, 6))
    assert broken == ["j"]
    stored = store.events_page("j", -1, 100)
    assert [event.seq for event in stored] == [0, 1, 2], "the events behind the lost one were dropped: no hole"
    assert json.loads(stored[-1].data) == {"seq": 2, "type": "status", "status": "failed"} and stored[-1].final
    assert got == [0, 1, 2], "followers saw exactly the stored log"


def test_the_writer_holds_producers_back_when_its_queue_is_full(tmp_path: Path) -> None:
    async def go() -> tuple[bool, bool]:
        store = Store(open_engine(f"sqlite:///{tmp_path / 'd.db'}"))
        writer = BatchWriter(store, linger_s=10, max_bytes=10_000)  # lingers: nothing commits until flushed
        writer.start()
        writer.put(InsertJob(job_row("j")))
        for seq in range(5):
            writer.put(InsertEvent("j", seq, "x" * 3000, False))
        room = asyncio.create_task(writer.room())
        await asyncio.sleep(0)
        held = not room.done()
        await writer.flush()
        await asyncio.wait_for(room, 5)
        await writer.close()
        return held, room.done()

    held, released = asyncio.run(go())
    assert held and released


def test_an_unexpected_failure_shows_an_error_id_not_a_traceback() -> None:
    try:
        raise KeyError("/srv/secret/path.py")
    except KeyError as exc:
        outcome = describe_failure(exc)
    assert outcome["status"] == "failed" and outcome["error_id"] in outcome["error"]
    assert "/srv" not in outcome["error"] and "Traceback" not in outcome["error"]
    assert "Traceback" in outcome["detail"], "the traceback goes to the server's log"
