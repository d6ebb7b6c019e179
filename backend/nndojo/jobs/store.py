"""The SQL store of jobs and their events: SQLite (WAL) by default, PostgreSQL by URL; portable column types only.

Every method is synchronous and short: the server calls them from a thread (reads) or from the batch writer's thread
(writes), never on the event loop.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Boolean, Engine, Integer, String, Text, create_engine, delete, event, func, insert, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

ACTIVE_STATUSES = ("queued", "running")
FINAL_STATUSES = ("completed", "failed", "cancelled", "diverged")
INTERRUPTED = "interrupted by server restart"


def utc_now() -> str:
    """ISO 8601 in UTC with a Z: sortable as text and portable across databases."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Base(DeclarativeBase):
    pass


class JobRow(Base):
    __tablename__ = "jobs"

    num: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)  # submission order: newest first
    id: Mapped[str] = mapped_column(String(32), unique=True, index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16), index=True)
    spec: Mapped[str] = mapped_column(Text)  # the validated spec as JSON
    created_at: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[str | None] = mapped_column(String(32), nullable=True)
    finished_at: Mapped[str | None] = mapped_column(String(32), nullable=True)
    device: Mapped[str | None] = mapped_column(String(32), nullable=True)
    n_params: Mapped[int | None] = mapped_column(Integer, nullable=True)
    epoch: Mapped[int | None] = mapped_column(Integer, nullable=True)
    final: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON: last epoch's train/test metrics
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class EventRow(Base):
    __tablename__ = "events"

    job_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    final: Mapped[bool] = mapped_column(Boolean, default=False)  # the job's last event: streams close after it
    data: Mapped[str] = mapped_column(Text)  # the event as sent, JSON with its seq


JOB_FIELDS = ("id", "name", "status", "spec", "created_at", "started_at", "finished_at", "device", "n_params", "epoch", "final", "error")


def row_to_job(row: JobRow) -> dict[str, Any]:
    job = {name: getattr(row, name) for name in JOB_FIELDS}
    job["spec"] = json.loads(row.spec)
    job["final"] = json.loads(row.final) if row.final else None
    return job


@dataclass(frozen=True)
class StoredEvent:
    seq: int
    data: str
    final: bool


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


@dataclass(frozen=True)
class DeleteJob:
    job_id: str


Write = InsertJob | UpdateJob | InsertEvent | DeleteJob


def _encode(fields: dict[str, Any]) -> dict[str, Any]:
    out = dict(fields)
    if "spec" in out and not isinstance(out["spec"], str):
        out["spec"] = json.dumps(out["spec"], separators=(",", ":"))
    if "final" in out and out["final"] is not None and not isinstance(out["final"], str):
        out["final"] = json.dumps(out["final"], separators=(",", ":"))
    return out


class Store:
    def __init__(self, url: str):
        self.url = url
        parsed = make_url(url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        kwargs: dict[str, Any] = {}
        if self.is_sqlite:
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        else:
            kwargs["pool_pre_ping"] = True
        self.engine: Engine = create_engine(url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        Base.metadata.create_all(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    # --- writes ----------------------------------------------------------------------------------

    def apply(self, writes: Sequence[Write]) -> None:
        """Applies writes in one transaction, with the effect of applying them in order: the event inserts go in one
        executemany and each job's updates (one per epoch) merge into one UPDATE, both held back until a delete needs
        them out first (a job's row is always inserted before its own events and updates). Why: the server queues an
        update beside each event, and a statement for each cost the server process CPU that a training slot needs."""
        with self.engine.begin() as conn:
            events: list[dict[str, Any]] = []
            updates: dict[str, dict[str, Any]] = {}

            def flush() -> None:
                if events:
                    conn.execute(insert(EventRow), events)
                    events.clear()
                for job_id, fields in updates.items():
                    conn.execute(update(JobRow).where(JobRow.id == job_id).values(**_encode(fields)))
                updates.clear()

            for write in writes:
                if isinstance(write, InsertEvent):
                    events.append({"job_id": write.job_id, "seq": write.seq, "data": write.data, "final": write.final})
                elif isinstance(write, UpdateJob):
                    if write.fields:
                        updates.setdefault(write.job_id, {}).update(write.fields)
                elif isinstance(write, InsertJob):
                    conn.execute(insert(JobRow).values(**_encode(write.job)))
                elif isinstance(write, DeleteJob):
                    flush()
                    conn.execute(delete(EventRow).where(EventRow.job_id == write.job_id))
                    conn.execute(delete(JobRow).where(JobRow.id == write.job_id))
            flush()

    def mark_interrupted(self) -> list[str]:
        """At start: jobs a previous server left queued or running fail, with a final event so their streams close."""
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

    # --- reads -----------------------------------------------------------------------------------

    def get_job(self, job_id: str) -> dict[str, Any] | None:
        with Session(self.engine) as session:
            row = session.scalar(select(JobRow).where(JobRow.id == job_id))
            return None if row is None else row_to_job(row)

    def list_jobs(self, status: str | None, limit: int) -> list[dict[str, Any]]:
        query = select(JobRow).order_by(JobRow.num.desc()).limit(limit)
        if status is not None:
            query = query.where(JobRow.status == status)
        with Session(self.engine) as session:
            return [row_to_job(row) for row in session.scalars(query)]

    def events_after(self, job_id: str, after: int, limit: int | None = None) -> list[StoredEvent]:
        query = (
            select(EventRow.seq, EventRow.data, EventRow.final)
            .where(EventRow.job_id == job_id, EventRow.seq > after)
            .order_by(EventRow.seq)
        )
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [StoredEvent(seq, data, bool(final)) for seq, data, final in conn.execute(query)]

    def event_bytes(self, job_id: str) -> int:
        """Bytes of stored event JSON: what the storage budget is measured in."""
        with self.engine.connect() as conn:
            return int(conn.scalar(select(func.coalesce(func.sum(func.length(EventRow.data)), 0)).where(EventRow.job_id == job_id)) or 0)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets readers (API threads) run while the batch writer commits; NORMAL sync is safe under WAL."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
