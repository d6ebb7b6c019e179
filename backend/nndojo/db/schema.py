"""The tables, as the newest migration leaves them (migrations/versions/ builds them step by step).

Portable column types only (SQLite by default, PostgreSQL by URL). Times are ISO 8601 text in UTC, sortable as text.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


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
    error_code: Mapped[str | None] = mapped_column(String(40), nullable=True)  # what the page translates: max_job_seconds, …
    owner_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)  # null in personal mode
    class_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)


class EventRow(Base):
    __tablename__ = "events"

    job_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    final: Mapped[bool] = mapped_column(Boolean, default=False)  # the job's last event: streams close after it
    data: Mapped[str] = mapped_column(Text)  # the event as sent, JSON with its seq


class MetricRow(Base):
    """One epoch's scalars (losses, accuracies, lr, per-layer norms): what lists, Compare and dashboards read."""

    __tablename__ = "metrics"

    job_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)  # the seq of the epoch event they come from
    data: Mapped[str] = mapped_column(Text)  # compact JSON (nndojo.jobs.metrics)


class WeightsRow(Base):
    """A run's trained weights as a safetensors file: a blob beside its events (one transaction, one backup, deleted
    with the job), at most nndojo.jobs.wire.MAX_WEIGHTS_BYTES."""

    __tablename__ = "weights"

    job_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class ClassRow(Base):
    __tablename__ = "classes"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    code: Mapped[str] = mapped_column(String(12), unique=True)  # the join code on the board
    created_at: Mapped[str] = mapped_column(String(32))
    open: Mapped[bool] = mapped_column(Boolean, default=True)
    limits: Mapped[str] = mapped_column(Text, default="{}")  # JSON: the class's own limits, over the defaults


class UserRow(Base):
    """A teacher or a student. Students exist only inside a class: a display name, no account."""

    __tablename__ = "users"
    __table_args__ = (Index("ix_users_class_name", "class_id", "name_key", unique=True),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))  # teacher | student
    name: Mapped[str] = mapped_column(String(100))
    name_key: Mapped[str] = mapped_column(String(100))  # casefolded name: "Aiko" and "aiko" are one name in a class
    class_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    joined_at: Mapped[str] = mapped_column(String(32))


class SessionRow(Base):
    """A login (cookie) or a script's bearer token; only the token's SHA-256 is stored."""

    __tablename__ = "sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # cookie | token
    created_at: Mapped[str] = mapped_column(String(32))


class ServerKeyRow(Base):
    """Server secrets kept with the data: the teacher's password hash, the cookie signing key."""

    __tablename__ = "server_keys"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class UploadRow(Base):
    """A CSV uploaded as a dataset (POST /api/datasets): its description in columns, its data as one packed blob
    (nndojo.datasets.upload.pack) beside the jobs that train on it: one transaction, one backup."""

    __tablename__ = "uploads"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)  # upload-…, what a spec's dataset.name says
    title: Mapped[str] = mapped_column(String(100))
    task: Mapped[str] = mapped_column(String(16))  # classification | regression
    target: Mapped[str] = mapped_column(Text)
    features: Mapped[str] = mapped_column(Text)  # JSON list of column names
    classes: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON list of class labels; null for regression
    n_rows: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[str] = mapped_column(String(32))
    owner_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)  # null in personal mode
    class_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    data: Mapped[bytes] = mapped_column(LargeBinary)
