"""The weights the network diagram colours its edges by: every dense layer it draws unit by unit (at most 32 inputs and
32 outputs) sends them on the heavy epochs, as tiny layers always did; wider layers do not, and the event budget counts
exactly what is sent."""

from __future__ import annotations

import json
from typing import Any

import torch

from nndojo.spec.check import check_spec
from nndojo.spec.models import JobSpec
from nndojo.train import train
from nndojo.train.budget import EventPlan
from nndojo.train.probes import sends_weights

torch.set_num_threads(1)


def spec_of(units: list[int]) -> JobSpec:
    return JobSpec.model_validate(
        {
            "seed": 0,
            "device": "cpu",
            "dataset": {"name": "circle", "n_samples": 100},
            "model": {"layers": [{"type": "dense", "units": n, "activation": "tanh"} for n in units], "output": {"activation": "softmax"}},
            "training": {"epochs": 2, "batch_size": "full", "optimizer": {"name": "sgd", "lr": 0.1}},
        }
    )


def first_epoch(spec: JobSpec) -> dict[str, Any]:
    events: list[dict[str, Any]] = []
    assert train(spec, events.append, lambda: False, device="cpu", threads=1) == "completed"
    return next(e for e in events if e["type"] == "epoch")


def test_the_rule() -> None:
    assert sends_weights(10, 10)  # 100 weights: tiny
    assert sends_weights(32, 32) and sends_weights(2, 32)  # drawn unit by unit on both sides
    assert not sends_weights(33, 16) and not sends_weights(64, 2)  # a wide side is drawn as one box: no edges to colour


def test_layers_drawn_unit_by_unit_send_their_weights_and_wide_ones_do_not() -> None:
    ev = first_epoch(spec_of([16, 16, 40]))
    layers = {entry["name"]: entry for entry in ev["layers"]}
    w = layers["dense_2"]["weights"]  # 16 x 16 = 256 weights, over the tiny-layer 100
    assert len(w) == 16 and all(len(row) == 16 for row in w) and len(layers["dense_2"]["bias"]) == 16
    assert all(isinstance(v, float) for row in w for v in row)
    assert "weights" not in layers["dense_3"]  # 16 -> 40: a layer of 40 units is drawn as one box
    assert len(layers["output"]["weights"]) == 2  # 40 -> 2 = 80 weights: tiny


def test_the_event_plan_counts_them() -> None:
    """The heavy estimate of a 16-16 net exceeds one epoch's measured JSON, weights included."""
    spec = spec_of([16, 16])
    plan = EventPlan.for_job(spec, check_spec(spec))
    ev = first_epoch(spec)
    heavy = len(json.dumps(ev)) - plan.core_bytes
    assert plan.layer_bytes + plan.heavy_bytes >= heavy
