"""A lesson's Run from a job's events, through the same scalars and columns the store keeps for GET /metrics: what the
tests and scripts use where the API reads the store."""

from __future__ import annotations

from typing import Any

import orjson

from nndojo.jobs.metrics import columns, scalars
from nndojo.lessons.model import Run


def run_from_events(spec: dict[str, Any], status: str, events: list[dict[str, Any]]) -> Run:
    epochs = [e for e in events if e.get("type") == "epoch"]
    metrics = columns((seq, orjson.dumps(scalars(e))) for seq, e in enumerate(epochs))
    return Run(spec=spec, metrics=metrics, first=epochs[0] if epochs else None, last=epochs[-1] if epochs else None, status=status)
