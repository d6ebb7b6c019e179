"""An epoch event's scalars, kept beside the full event as one compact row: what GET /api/jobs/{id}/metrics serves
as columns, and what lists, Compare and the teacher's dashboard read instead of whole event logs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

TOP = ("epoch", "lr", "train_loss", "train_accuracy", "test_loss", "test_accuracy")
PER_LAYER = ("grad_norm", "weight_norm", "dead_units", "saturated_fraction", "dead_fraction")


def scalars(event: dict[str, Any]) -> dict[str, Any]:
    """The scalars of one epoch event: losses, accuracies, lr, and per layer its norms and activation shares."""
    train, test = event.get("train") or {}, event.get("test") or {}
    out: dict[str, Any] = {
        "epoch": event.get("epoch"),
        "lr": event.get("lr"),
        "train_loss": train.get("loss"),
        "train_accuracy": train.get("accuracy"),
        "test_loss": test.get("loss"),
        "test_accuracy": test.get("accuracy"),
    }
    layers = event.get("layers") or []
    out["grad_norm"] = {layer["name"]: layer.get("grad_norm") for layer in layers}
    out["weight_norm"] = {layer["name"]: layer.get("weight_norm") for layer in layers}
    for key in ("dead_units", "saturated_fraction", "dead_fraction"):
        out[key] = {layer["name"]: layer["activation"][key] for layer in layers if key in (layer.get("activation") or {})}
    return out


def columns(rows: Iterable[tuple[int, bytes | str]]) -> dict[str, Any]:
    """Rows of (seq, scalars JSON) as columns; a layer missing from an epoch is null there, so columns stay aligned."""
    out: dict[str, Any] = {"seq": [], **{key: [] for key in TOP}, **{key: {} for key in PER_LAYER}}
    for n, (seq, data) in enumerate(rows):
        row = orjson.loads(data)
        out["seq"].append(seq)
        for key in TOP:
            out[key].append(row.get(key))
        for key in PER_LAYER:
            series: dict[str, list[Any]] = out[key]
            values = row.get(key) or {}
            for name in values.keys() - series.keys():
                series[name] = [None] * n
            for name, column in series.items():
                column.append(values.get(name))
    return out
