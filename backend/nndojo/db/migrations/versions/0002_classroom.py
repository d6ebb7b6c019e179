"""Version 1.1: the classroom (classes, users, sessions, server keys), job ownership, and per-epoch metrics.

Jobs of a version-1 database have no owner (personal mode's jobs). Their metrics are filled from their stored epoch
events here, so that /metrics answers for old runs too. The extraction below is frozen with this migration on
purpose: later changes to nndojo.jobs.metrics must not change what an old migration does.

Revision ID: 0002
"""

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("error_code", sa.String(40)))
        batch.add_column(sa.Column("owner_id", sa.String(32)))
        batch.add_column(sa.Column("class_id", sa.String(32)))
        batch.add_column(sa.Column("shared", sa.Boolean, nullable=False, server_default=sa.false()))
        batch.create_index("ix_jobs_owner_id", ["owner_id"])
        batch.create_index("ix_jobs_class_id", ["class_id"])
    op.create_table(
        "metrics",
        sa.Column("job_id", sa.String(32), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("data", sa.Text, nullable=False),
    )
    op.create_table(
        "classes",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("code", sa.String(12), nullable=False, unique=True),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("open", sa.Boolean, nullable=False),
        sa.Column("limits", sa.Text, nullable=False),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("name_key", sa.String(100), nullable=False),
        sa.Column("class_id", sa.String(32)),
        sa.Column("joined_at", sa.String(32), nullable=False),
    )
    op.create_index("ix_users_class_name", "users", ["class_id", "name_key"], unique=True)
    op.create_table(
        "sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
    )
    op.create_index("ix_sessions_user_id", "sessions", ["user_id"])
    op.create_table("server_keys", sa.Column("name", sa.String(40), primary_key=True), sa.Column("value", sa.Text, nullable=False))
    _fill_metrics()


def _scalars(event: dict[str, Any]) -> dict[str, Any]:
    train, test = event.get("train") or {}, event.get("test") or {}
    out: dict[str, Any] = {
        "epoch": event.get("epoch"),
        "lr": event.get("lr"),
        "train_loss": train.get("loss"),
        "train_accuracy": train.get("accuracy"),
        "test_loss": test.get("loss"),
        "test_accuracy": test.get("accuracy"),
    }
    for key in ("grad_norm", "weight_norm"):
        out[key] = {layer["name"]: layer.get(key) for layer in event.get("layers") or []}
    for key in ("saturated_fraction", "dead_fraction"):
        out[key] = {layer["name"]: (layer.get("activation") or {}).get(key) for layer in event.get("layers") or [] if layer.get("activation")}
    return out


def _fill_metrics() -> None:
    conn = op.get_bind()
    events = sa.table("events", sa.column("job_id"), sa.column("seq"), sa.column("data"))
    metrics = sa.table("metrics", sa.column("job_id"), sa.column("seq"), sa.column("data"))
    query = sa.select(events.c.job_id, events.c.seq, events.c.data).where(events.c.data.like('%"type":"epoch"%'))
    rows: list[dict[str, Any]] = []
    for job_id, seq, data in conn.execute(query):
        event = json.loads(data)
        if event.get("type") == "epoch":
            rows.append({"job_id": job_id, "seq": seq, "data": json.dumps(_scalars(event), separators=(",", ":"))})
        if len(rows) >= 1000:
            conn.execute(sa.insert(metrics), rows)
            rows = []
    if rows:
        conn.execute(sa.insert(metrics), rows)
