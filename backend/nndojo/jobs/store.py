"""Jobs, their events, their per-epoch metrics and their trained weights in the SQL database (schema: nndojo.db.schema).

Every method is synchronous and short: the server calls them from a thread (reads) or from the batch writer's thread
(writes), never on the event loop.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, and_, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from nndojo.db.schema import EventRow, JobRow, MetricRow, WeightsRow

ACTIVE_STATUSES = ("queued", "running", "paused")
FINAL_STATUSES = ("completed", "failed", "cancelled", "diverged")
INTERRUPTED = "interrupted by server restart"
PAGE_BYTES = 4_000_000  # a page of events stops growing past this, whatever its `limit`: reads stay bounded in memory


def utc_now() -> str:
    """ISO 8601 in UTC with a Z: sortable as text and portable across databases."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


JOB_FIELDS = (
    "id",
    "name",
    "status",
    "spec",
    "created_at",
    "started_at",
    "finished_at",
    "device",
    "n_params",
    "epoch",
    "final",
    "error",
    "error_code",
    "owner_id",
    "class_id",
    "shared",
)


def row_to_job(row: JobRow) -> dict[str, Any]:
    job = {name: getattr(row, name) for name in JOB_FIELDS}
    job["spec"] = json.loads(row.spec)
    job["final"] = json.loads(row.final) if row.final else None
    job["shared"] = bool(row.shared)
    return job


@dataclass(frozen=True)
class StoredEvent:
    seq: int
    data: str
    final: bool


@dataclass(frozen=True)
class JobFilter:
    """Which jobs a reader may list: everything (None fields), one owner's, some classes', or a student's view (their
    own and their class's shared ones)."""

    owner_id: str | None = None
    class_ids: tuple[str, ...] | None = None
    student: tuple[str, str | None] | None = None  # (user id, class id)


# Writes the batch writer applies in order, one transaction per batch.
@dataclass(frozen=True)
class InsertJob:
    job: dict[str, Any]


@dataclass(frozen=True)
class UpdateJob:
    job_id: str
    fields: dict[str, Any]


@dataclass(frozen=True)
class InsertEvent:
    job_id: str
    seq: int
    data: str
    final: bool
    metrics: str | None = None  # an epoch event's scalars (nndojo.jobs.metrics), stored beside it


@dataclass(frozen=True)
class DeleteJob:
    job_id: str


@dataclass(frozen=True)
class TruncateEvents:
    """Drops a job's events from `seq` on: after one of them could not be stored, the ones behind it (never sent to
    anyone) go too, so the log stays gapless and the job's final event takes `seq`."""

    job_id: str
    seq: int


@dataclass(frozen=True)
class PutWeights:
    """A run's trained weights (safetensors bytes), queued before its final event so that whoever sees the run finished
    finds them stored."""

    job_id: str
    data: bytes


Write = InsertJob | UpdateJob | InsertEvent | DeleteJob | TruncateEvents | PutWeights
JOB_TABLES = (EventRow, MetricRow, WeightsRow)  # what belongs to a job and goes with it


def _encode(fields: dict[str, Any]) -> dict[str, Any]:
    out = dict(fields)
    if "spec" in out and not isinstance(out["spec"], str):
        out["spec"] = json.dumps(out["spec"], separators=(",", ":"))
    if "final" in out and out["final"] is not None and not isinstance(out["final"], str):
        out["final"] = json.dumps(out["final"], separators=(",", ":"))
    return {key: value for key, value in out.items() if key in JOB_FIELDS}


class Store:
    def __init__(self, engine: Engine):
        self.engine = engine

    # --- writes ----------------------------------------------------------------------------------

    def apply(self, writes: Sequence[Write]) -> None:
        """Applies writes in one transaction, with the effect of applying them in order: the event (and metrics)
        inserts go in one executemany and each job's updates (one per epoch) merge into one UPDATE, both held back
        until a delete needs them out first (a job's row is always inserted before its own events and updates). Why:
        the server queues an update beside each event, and a statement for each cost CPU that a training slot needs."""
        with self.engine.begin() as conn:
            events: list[dict[str, Any]] = []
            metrics: list[dict[str, Any]] = []
            updates: dict[str, dict[str, Any]] = {}

            def flush() -> None:
                if events:
                    conn.execute(insert(EventRow), events)
                    events.clear()
                if metrics:
                    conn.execute(insert(MetricRow), metrics)
                    metrics.clear()
                for job_id, fields in updates.items():
                    conn.execute(update(JobRow).where(JobRow.id == job_id).values(**_encode(fields)))
                updates.clear()

            for write in writes:
                if isinstance(write, InsertEvent):
                    events.append({"job_id": write.job_id, "seq": write.seq, "data": write.data, "final": write.final})
                    if write.metrics is not None:
                        metrics.append({"job_id": write.job_id, "seq": write.seq, "data": write.metrics})
                elif isinstance(write, UpdateJob):
                    if write.fields:
                        updates.setdefault(write.job_id, {}).update(write.fields)
                elif isinstance(write, InsertJob):
                    conn.execute(insert(JobRow).values(**_encode(write.job)))
                elif isinstance(write, PutWeights):
                    conn.execute(delete(WeightsRow).where(WeightsRow.job_id == write.job_id))
                    conn.execute(insert(WeightsRow).values(job_id=write.job_id, data=write.data))
                elif isinstance(write, DeleteJob):
                    flush()
                    for table in JOB_TABLES:
                        conn.execute(delete(table).where(table.job_id == write.job_id))
                    conn.execute(delete(JobRow).where(JobRow.id == write.job_id))
                elif isinstance(write, TruncateEvents):
                    flush()
                    for table in (EventRow, MetricRow):
                        conn.execute(delete(table).where(table.job_id == write.job_id, table.seq >= write.seq))
            flush()

    def mark_interrupted(self) -> list[str]:
        """At start: jobs a previous server left queued, running or paused fail, with a final event so their streams close.
        The final event takes the seq after the last stored one: the server sends an event to clients only once it is
        stored, so no client has seen that seq (a crash cannot make a seq mean two events)."""
        now = utc_now()
        with self.engine.begin() as conn:
            ids = list(conn.scalars(select(JobRow.id).where(JobRow.status.in_(ACTIVE_STATUSES))))
            for job_id in ids:
                last = conn.scalar(select(func.max(EventRow.seq)).where(EventRow.job_id == job_id))
                seq = 0 if last is None else last + 1
                final = {"seq": seq, "type": "status", "status": "failed", "error": INTERRUPTED}
                conn.execute(insert(EventRow).values(job_id=job_id, seq=seq, final=True, data=json.dumps(final, separators=(",", ":"))))
                conn.execute(update(JobRow).where(JobRow.id == job_id).values(status="failed", error=INTERRUPTED, finished_at=now))
        return ids

    def delete_jobs_of(self, class_id: str) -> list[str]:
        """Every job of a class, with its events, metrics and weights (the class is being deleted); returns their ids."""
        with self.engine.begin() as conn:
            ids = list(conn.scalars(select(JobRow.id).where(JobRow.class_id == class_id)))
            for table in JOB_TABLES:
                conn.execute(delete(table).where(table.job_id.in_(ids)))
            conn.execute(delete(JobRow).where(JobRow.class_id == class_id))
        return ids

    # --- reads -----------------------------------------------------------------------------------

    def get_job(self, job_id: str) -> dict[str, Any] | None:
        with Session(self.engine) as session:
            row = session.scalar(select(JobRow).where(JobRow.id == job_id))
            return None if row is None else row_to_job(row)

    def list_jobs(self, status: str | None, limit: int, where: JobFilter | None = None) -> list[dict[str, Any]]:
        query = select(JobRow).order_by(JobRow.num.desc()).limit(limit)
        if status is not None:
            query = query.where(JobRow.status == status)
        if where is not None:
            if where.owner_id is not None:
                query = query.where(JobRow.owner_id == where.owner_id)
            if where.class_ids is not None:
                query = query.where(JobRow.class_id.in_(where.class_ids))
            if where.student is not None:
                user_id, class_id = where.student
                query = query.where(or_(JobRow.owner_id == user_id, and_(JobRow.class_id == class_id, JobRow.shared.is_(True))))
        with Session(self.engine) as session:
            return [row_to_job(row) for row in session.scalars(query)]

    def job_counts(self, class_id: str) -> dict[str, dict[str, int]]:
        """Per owner of a class: how many jobs they have in each status."""
        query = select(JobRow.owner_id, JobRow.status, func.count()).where(JobRow.class_id == class_id).group_by(JobRow.owner_id, JobRow.status)
        out: dict[str, dict[str, int]] = {}
        with self.engine.connect() as conn:
            for owner_id, status, count in conn.execute(query):
                out.setdefault(owner_id, {})[status] = int(count)
        return out

    def events_page(self, job_id: str, after: int, limit: int, max_bytes: int = PAGE_BYTES) -> list[StoredEvent]:
        """Up to `limit` events with seq > after, oldest first, stopping once `max_bytes` of JSON are read (at least one
        event is always returned when there is one), so neither a page nor a replay holds a whole log in memory."""
        query = (
            select(EventRow.seq, EventRow.data, EventRow.final)
            .where(EventRow.job_id == job_id, EventRow.seq > after)
            .order_by(EventRow.seq)
            .limit(limit)
        )
        out: list[StoredEvent] = []
        size = 0
        with self.engine.connect() as conn:
            for seq, data, final in conn.execute(query):
                out.append(StoredEvent(seq, data, bool(final)))
                size += len(data)
                if size >= max_bytes:
                    break
        return out

    def metric_rows(self, job_id: str, after: int, limit: int) -> list[tuple[int, str]]:
        query = select(MetricRow.seq, MetricRow.data).where(MetricRow.job_id == job_id, MetricRow.seq > after).order_by(MetricRow.seq).limit(limit)
        with self.engine.connect() as conn:
            return [(seq, data) for seq, data in conn.execute(query)]

    def weights(self, job_id: str) -> bytes | None:
        """The run's trained weights (safetensors bytes), or None when it kept none."""
        with self.engine.connect() as conn:
            return conn.scalar(select(WeightsRow.data).where(WeightsRow.job_id == job_id))

    def lr_changes(self, job_id: str) -> list[tuple[int, float]]:
        """The run's live learning-rate changes, in order: (optimiser steps taken before it, the new rate), from its
        control events (found by text first: a long run's other events are never parsed)."""
        query = select(EventRow.data).where(EventRow.job_id == job_id, EventRow.data.like('%"action":"lr"%')).order_by(EventRow.seq)
        with self.engine.connect() as conn:
            events = [json.loads(data) for data in conn.scalars(query)]
        return [(int(e["step"]), float(e["value"])) for e in events if e.get("type") == "control" and e.get("action") == "lr"]

    def last_seq(self, job_id: str) -> int:
        with self.engine.connect() as conn:
            last = conn.scalar(select(func.max(EventRow.seq)).where(EventRow.job_id == job_id))
        return -1 if last is None else int(last)

    def event_bytes(self, job_id: str) -> int:
        """Bytes of stored event JSON: what the storage budget is measured in."""
        with self.engine.connect() as conn:
            return int(conn.scalar(select(func.coalesce(func.sum(func.length(EventRow.data)), 0)).where(EventRow.job_id == job_id)) or 0)
