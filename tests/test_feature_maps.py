"""feature_maps: one fixed test image's maps through each conv, pooling, LRN and 2-D batchnorm layer, on the heavy epochs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nndojo.datasets import load_dataset
from nndojo.nn.build import Net
from nndojo.spec.check import check_spec
from nndojo.spec.models import JobSpec
from nndojo.train import train
from nndojo.train.budget import EVENT_BUDGET, EventPlan, map_bytes
from nndojo.train.feature_maps import MAP_VALUES, map_layers, map_shape
from test_train import make_spec  # one base spec for the trainer's tests

torch.set_num_threads(1)
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def small_conv(epochs: int = 3) -> JobSpec:
    return make_spec(
        dataset={"name": "digits", "train_limit": 300},
        model={
            "layers": [
                {"type": "conv2d", "filters": 4, "kernel_size": 3, "activation": "relu"},
                {"type": "maxpool2d", "kernel_size": 2},
                {"type": "flatten"},
                {"type": "dense", "units": 16, "activation": "relu"},
            ],
            "output": {"activation": "softmax"},
        },
        training={"epochs": epochs, "batch_size": 32, "optimizer": {"name": "adam", "lr": 0.01}},
    )


def run(spec: JobSpec) -> tuple[list[dict[str, Any]], Net]:
    events: list[dict[str, Any]] = []
    kept: list[Net] = []
    assert train(spec, events.append, device="cpu", threads=1, keep=kept.append) == "completed"
    return [e for e in events if e["type"] == "epoch"], kept[0]


def test_the_maps_are_the_first_samples_layers_every_heavy_epoch_and_match_the_trained_net() -> None:
    spec = small_conv()
    epochs, model = run(spec)
    sample = epochs[0]["samples"]["index"][0]
    assert all(e["feature_maps"]["sample"] == sample for e in epochs)  # every epoch of 4 is heavy here: the same image
    maps = epochs[-1]["feature_maps"]["layers"]
    assert list(maps) == ["conv2d_1", "maxpool2d_1"]
    assert np.array(maps["conv2d_1"]).shape == (4, 6, 6) and np.array(maps["maxpool2d_1"]).shape == (4, 3, 3)
    data = load_dataset(spec.dataset, spec.seed, Path("."))  # digits ships with scikit-learn
    image = torch.as_tensor(data.x_test[sample : sample + 1]).float()
    model.eval()
    with torch.inference_mode():
        conv = model.body[1](model.body[0](image))[0].numpy()
        pool = model.body[2](torch.as_tensor(conv)[None])[0].numpy()
    assert np.abs(np.array(maps["conv2d_1"]) - conv).max() <= 0.0051  # 2 decimals of the last epoch's network
    assert np.abs(np.array(maps["maxpool2d_1"]) - pool).max() <= 0.0051
    assert epochs[0]["feature_maps"]["layers"] != maps  # it learned


def test_only_heavy_epochs_carry_maps_and_2d_sets_none() -> None:
    spec = small_conv(epochs=200)
    epochs, _ = run(spec)
    plan = EventPlan.for_job(spec, check_spec(spec))
    assert [e["epoch"] for e in epochs if "feature_maps" in e] == [e for e in range(201) if plan.heavy(e)]
    circle, _ = run(make_spec())
    assert all("feature_maps" not in e for e in circle)


def test_wide_maps_are_cut_to_16_channels_and_28_pixels_a_side_within_the_cap() -> None:
    assert map_shape((32, 56, 40)) == (16, 28, 28) and map_shape((6, 8, 8)) == (6, 8, 8)
    many = [(f"conv2d_{i}", "conv2d", (64, 56, 56)) for i in range(1, 6)]
    chosen = map_layers([("flatten_1", "flatten", (100,)), ("dense_1", "dense", (64,)), *many])
    assert [name for name, _ in chosen] == ["conv2d_1", "conv2d_2"]  # 2 x 16 x 28 x 28 = 25,088 of MAP_VALUES
    assert sum(np.prod(shape) for _, shape in chosen) <= MAP_VALUES


def test_lenets_maps_are_within_the_budgets_estimate_and_its_10000_epoch_job_under_20_mb() -> None:
    spec = JobSpec.model_validate(json.loads((EXAMPLES / "23-lenet-digits.json").read_text()))
    spec = spec.model_copy(update={"device": "cpu", "dataset": spec.dataset.model_copy(update={"train_limit": 100})})
    short = spec.model_copy(update={"training": spec.training.model_copy(update={"epochs": 1})})
    epochs, _ = run(short)
    report = check_spec(spec)
    measured = max(len(json.dumps({"feature_maps": e["feature_maps"]}, separators=(",", ":"))) for e in epochs)
    assert list(epochs[0]["feature_maps"]["layers"]) == ["conv2d_1", "maxpool2d_1", "conv2d_2", "maxpool2d_2"]
    assert 0 < measured <= map_bytes(report), (measured, map_bytes(report))
    long = spec.model_copy(update={"training": spec.training.model_copy(update={"epochs": 10_000})})
    plan = EventPlan.for_job(long, check_spec(long))
    assert plan.heavy_bytes >= map_bytes(report) and plan.bound() < EVENT_BUDGET
