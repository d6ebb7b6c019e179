"""A job's events stay under train.budget.EVENT_BUDGET (20 MB) whatever its spec within the limits: the scalars of every
epoch, layer scalars and heavy payloads (histograms, values, filters, boundary) on a schedule that thins with length.

The largest specs are measured for a few epochs (compute reduced where it does not change an event's size) and
extrapolated to 10,000 epochs with the job's own schedule."""

from __future__ import annotations

import json
from typing import Any

import pytest
import torch

from nndojo.spec.check import check_spec
from nndojo.spec.models import MAX_EPOCHS, JobSpec
from nndojo.train import loop, train
from nndojo.train.budget import EVENT_BUDGET, HEAVY_EPOCHS, EventPlan, due

HEAVY_KEYS = ("boundary",)
LAYER_HEAVY_KEYS = ("weight_hist", "weights", "bias", "filters")


def size(event: dict[str, Any]) -> int:
    """Bytes of the event as the server stores it (compact JSON, with its seq)."""
    return len(json.dumps({"seq": 123456, **event}, separators=(",", ":"), allow_nan=False).encode())


def deep(units: int, epochs: int = MAX_EPOCHS, n_samples: int = 100) -> JobSpec:
    """The deepest net the limits allow, with the largest probe settings, on a 2-D set (the boundary is the heaviest part)."""
    return JobSpec.model_validate(
        {
            "device": "cpu",
            "dataset": {"name": "spiral", "n_samples": n_samples},
            "model": {"layers": [{"type": "dense", "units": units, "activation": "tanh"}] * 50, "output": {"activation": "softmax"}},
            "training": {"epochs": epochs, "batch_size": "full", "optimizer": {"name": "sgd", "lr": 0.01}},
            "probes": {"histogram_bins": 100, "boundary_resolution": 200},
        }
    )


def kind(event: dict[str, Any]) -> str:
    if "layers" not in event:
        return "core"
    heavy = any(k in event for k in HEAVY_KEYS) or any(k in layer for layer in event["layers"] for k in LAYER_HEAVY_KEYS)
    return "heavy" if heavy else "layers"


def test_the_schedule_keeps_epoch_0_the_last_and_at_most_count_epochs() -> None:
    for epochs in (1, 2, 7, 100, 999, MAX_EPOCHS):
        for count in (2, 3, 10, HEAVY_EPOCHS, 500, 20_000):
            chosen = [e for e in range(epochs + 1) if due(e, epochs, count)]
            assert chosen[0] == 0 and chosen[-1] == epochs
            assert len(chosen) <= max(count, 2), (epochs, count, len(chosen))
            if count >= epochs + 1:
                assert len(chosen) == epochs + 1
    hundred = [e for e in range(101) if due(e, 100, HEAVY_EPOCHS)]
    assert hundred[:11] == list(range(11)) and hundred[11:13] == [12, 14]  # the first epochs, then about 50 spaced


def test_the_largest_specs_plan_under_the_budget() -> None:
    """Pure arithmetic on the estimates, for the widest nets the parameter limit admits at the deepest."""
    for units in (8, 64, 447):  # 49 x 447² ≈ 9.8 M parameters: the widest 50-layer net within max_params
        spec = deep(units)
        plan = EventPlan.for_job(spec, check_spec(spec))
        assert plan.bound() < EVENT_BUDGET, (units, plan)
        assert plan.heavy(0) and plan.heavy(MAX_EPOCHS) and plan.heavy_count >= 2
        assert plan.layer_bytes < 16_000  # the per-epoch scalar cap: 51 layers x a few numbers


def test_the_largest_spec_measured_and_extrapolated_to_10000_epochs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Six epochs of the deepest net with the largest probe settings (64 units, 100 samples: compute cut, sizes kept),
    with every tier forced onto some epoch; each tier's measured size is within its estimate, and the 10,000-epoch job's
    own plan, filled with the measured sizes, stays under the budget."""
    torch.set_num_threads(1)
    full = deep(64)
    plan = EventPlan.for_job(full, check_spec(full))
    short = deep(64, epochs=5)
    forced = EventPlan(
        5, heavy_count=2, layer_count=4, core_bytes=plan.core_bytes, layer_bytes=plan.layer_bytes, heavy_bytes=plan.heavy_bytes
    )
    monkeypatch.setattr(loop.EventPlan, "for_job", classmethod(lambda cls, spec, report: forced))
    events: list[dict[str, Any]] = []
    assert train(short, events.append, device="cpu", threads=1) == "completed"
    by_kind: dict[str, list[int]] = {"core": [], "layers": [], "heavy": []}
    for event in events:
        if event["type"] == "epoch":
            by_kind[kind(event)].append(size(event))
    assert all(by_kind.values()), {k: len(v) for k, v in by_kind.items()}
    core = max(by_kind["core"])
    layers = max(by_kind["layers"]) - core
    heavy = max(by_kind["heavy"]) - core - layers
    assert core <= plan.core_bytes and layers <= plan.layer_bytes and heavy <= plan.heavy_bytes, (core, layers, heavy, plan)
    n = MAX_EPOCHS + 1
    heavy_epochs = sum(plan.heavy(e) for e in range(n))
    layer_epochs = sum(plan.layers(e) for e in range(n)) - heavy_epochs
    total = n * core + (heavy_epochs + layer_epochs) * layers + heavy_epochs * heavy
    assert total < EVENT_BUDGET, (total, heavy_epochs, layer_epochs)


def test_a_small_10000_epoch_job_lands_under_the_bound() -> None:
    """A 2-8-8-1 playground job for the most epochs allowed (35 MB before the schedule): every epoch keeps its layer
    scalars, the heavy payloads ride on about 60 epochs."""
    torch.set_num_threads(1)
    spec = JobSpec.model_validate(
        {
            "device": "cpu",
            "dataset": {"name": "circle", "n_samples": 40, "noise": 0.1},
            "model": {"layers": [{"type": "dense", "units": 8, "activation": "tanh"}] * 2, "output": {"activation": "sigmoid"}},
            "training": {"epochs": MAX_EPOCHS, "batch_size": "full", "optimizer": {"name": "sgd", "lr": 0.03}},
        }
    )
    total = 0
    kinds: dict[str, int] = {"core": 0, "layers": 0, "heavy": 0}

    def emit(event: dict[str, Any]) -> None:
        nonlocal total
        total += size(event)
        if event["type"] == "epoch":
            kinds[kind(event)] += 1

    assert train(spec, emit, device="cpu", threads=1) == "completed"
    assert total < EVENT_BUDGET, total
    assert kinds["core"] == 0 and kinds["heavy"] <= HEAVY_EPOCHS, kinds
