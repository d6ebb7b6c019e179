"""Each job's event log: numbering, storing, and only then sending to the job's followers.

Decisions, in one place:
- Numbering: the server gives each event its seq (0, 1, 2, … per job) when it arrives.
- Durable before visible: an event goes to the websockets from the batch writer's commit callback, never before. So a
  seq a client has seen is stored, and a crash cannot hand it to another event (the restart's final event takes the
  seq after the last stored one). A replay subscribes first, then reads the store, then skips seqs it already sent:
  nothing is missed, nothing doubled.
- A write that cannot be stored (after the writer's retries) breaks the job's log at that seq: the events queued behind
  it were never sent, so they are dropped (TruncateEvents), the log's owner is told (`on_broken`: it stops the job),
  and the job's final event takes the broken seq. The stored log stays gapless.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nndojo.jobs.hub import Hub
from nndojo.jobs.metrics import columns
from nndojo.jobs.store import InsertEvent, Store, StoredEvent, TruncateEvents
from nndojo.jobs.writer import BatchWriter

log = logging.getLogger(__name__)

MAX_PAGE = 1000
MAX_METRIC_ROWS = 20_000  # a 10,000-epoch job's every epoch fits in one read


def with_seq(seq: int, text: bytes) -> str:
    """Puts the server's seq first into the worker's JSON object text, without parsing it."""
    body = text.decode()
    return f'{{"seq":{seq}}}' if body == "{}" else f'{{"seq":{seq},{body[1:]}'


@dataclass
class _Numbering:
    next_seq: int = 0
    generation: int = 0  # bumped when the log breaks: callbacks of older appends no longer publish
    closed: bool = False


class EventLog:
    def __init__(self, store: Store, writer: BatchWriter, hub: Hub, on_broken: Callable[[str], None]):
        self.store = store
        self.writer = writer
        self.hub = hub
        self.on_broken = on_broken
        self._jobs: dict[str, _Numbering] = {}

    def open(self, job_id: str) -> None:
        self._jobs[job_id] = _Numbering()

    def forget(self, job_id: str) -> None:
        self._jobs.pop(job_id, None)

    def append(
        self,
        job_id: str,
        text: bytes,
        *,
        final: bool = False,
        metrics: bytes | None = None,
        on_stored: Callable[[], None] | None = None,
    ) -> int | None:
        """Numbers and stores the event; sends it to followers once stored. None when the log is already closed."""
        numbering = self._jobs.get(job_id)
        if numbering is None or numbering.closed:
            return None
        seq = numbering.next_seq
        numbering.next_seq += 1
        numbering.closed = final
        event = StoredEvent(seq, with_seq(seq, text), final)
        generation = numbering.generation

        def stored(ok: bool) -> None:
            if numbering.generation != generation:
                return  # queued behind a write that failed: truncated, never sent
            if ok:
                self.hub.publish(job_id, event)
                if on_stored is not None:
                    on_stored()
            else:
                self._break(job_id, numbering, seq)

        self.writer.put(InsertEvent(job_id, seq, event.data, final, None if metrics is None else metrics.decode()), on_commit=stored)
        return seq

    def _break(self, job_id: str, numbering: _Numbering, seq: int) -> None:
        log.error("job %s: event %d could not be stored; the job is stopped and fails at that seq", job_id, seq)
        numbering.generation += 1
        numbering.next_seq = seq
        numbering.closed = False
        self.writer.put(TruncateEvents(job_id, seq))
        self.on_broken(job_id)

    def give_up(self, job_id: str) -> None:
        """The final event itself could not be stored: followers are closed (1011) rather than left waiting."""
        self.hub.abort(job_id)

    # --- reads -----------------------------------------------------------------------------------

    async def page(self, job_id: str, after: int, limit: int = MAX_PAGE) -> list[StoredEvent]:
        return await asyncio.to_thread(self.store.events_page, job_id, after, min(limit, MAX_PAGE))

    async def metrics(self, job_id: str, after: int) -> dict[str, Any]:
        rows = await asyncio.to_thread(self.store.metric_rows, job_id, after, MAX_METRIC_ROWS)
        out = columns(rows)
        out["last_seq"] = rows[-1][0] if rows else after
        return out
