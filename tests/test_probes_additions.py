"""The version 1.1 event additions (docs/api.md "Events"): unit maps, dead units, the activation layer, loss by steps,
confusion and samples, and activation histograms on a shared range with their zeros apart."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from nndojo.datasets import feature_grid
from nndojo.spec.check import check_spec
from nndojo.spec.memory import UNIT_VALUES
from nndojo.spec.models import JobSpec
from nndojo.train import train
from nndojo.train.budget import EventPlan
from test_train import make_spec  # one base spec for the trainer's tests

torch.set_num_threads(1)


def epochs_of(spec: JobSpec) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    assert train(spec, events.append, device="cpu", threads=1) == "completed"
    return [e for e in events if e["type"] == "epoch"]


def size(event: dict[str, Any]) -> int:
    return len(json.dumps({"seq": 123456, **event}, separators=(",", ":"), allow_nan=False).encode())


# --- units ---------------------------------------------------------------------------------------


def test_unit_maps_are_each_small_layers_units_over_the_coarse_grid_on_boundary_epochs() -> None:
    """Layers of at most 32 units get maps (unit, y, x) at unit_resolution; the first layer's map is tanh(W p + b) of the
    weights the same event carries, at the grid's points; wider layers get none; the maps move as the net learns."""
    spec = make_spec(
        model={
            "layers": [
                {"type": "dense", "units": 4, "activation": "tanh"},
                {"type": "dense", "units": 33, "activation": "relu"},
                {"type": "dense", "units": 3, "activation": "relu"},
            ],
            "output": {"activation": "softmax"},
        },
        training={"epochs": 3, "optimizer": {"name": "adam", "lr": 0.05}},
        probes={"unit_resolution": 7},
    )
    epochs = epochs_of(spec)
    for event in epochs:
        assert ("units" in event) == ("boundary" in event)
    first, last = epochs[0], epochs[-1]
    assert set(last["units"]) == {"dense_1", "dense_3"}
    assert np.array(last["units"]["dense_1"]).shape == (4, 7, 7) and np.array(last["units"]["dense_3"]).shape == (3, 7, 7)
    dense_1 = next(layer for layer in last["layers"] if layer["name"] == "dense_1")
    xs, _, points = feature_grid(["x1", "x2"], 7)
    expected = np.tanh(points @ np.array(dense_1["weights"]).T + np.array(dense_1["bias"]))  # (y·7 + x, unit)
    got = np.array(last["units"]["dense_1"]).reshape(4, -1).T
    assert np.abs(got - expected).max() <= 0.006  # 2 decimals, and the 4-digit weights
    assert np.abs(np.array(first["units"]["dense_3"]) - np.array(last["units"]["dense_3"])).max() > 0.01
    assert xs[0] == last["boundary"]["x"][0] and xs[-1] == last["boundary"]["x"][-1]  # the boundary's extent


def test_image_sets_have_no_unit_maps() -> None:
    spec = make_spec(
        dataset={"name": "digits", "train_limit": 50},
        model={"layers": [{"type": "flatten"}, {"type": "dense", "units": 8, "activation": "relu"}], "output": {"activation": "softmax"}},
        training={"epochs": 1},
    )
    assert all("units" not in event for event in epochs_of(spec))


@pytest.mark.parametrize("value", [4, 41, 2.5])
def test_unit_resolution_has_limits(value: float) -> None:
    with pytest.raises(ValidationError) as err:
        make_spec(probes={"unit_resolution": value})
    assert err.value.errors()[0]["loc"] == ("probes", "unit_resolution")


def test_unit_maps_of_a_deep_narrow_net_stay_within_their_cap_and_the_budgets_estimate() -> None:
    """50 layers of 8 units at resolution 40 would be 1.3 M values an event: layers in model order get maps while they fit
    UNIT_VALUES, and a heavy event's size stays within the plan's estimate."""
    spec = make_spec(
        dataset={"name": "spiral", "n_samples": 20},
        model={"layers": [{"type": "dense", "units": 8, "activation": "relu"}] * 50, "output": {"activation": "softmax"}},
        training={"epochs": 1, "batch_size": "full"},
        probes={"unit_resolution": 40, "boundary_resolution": 200, "histogram_bins": 100},
    )
    plan = EventPlan.for_job(spec, check_spec(spec))
    last = epochs_of(spec)[-1]
    units = last["units"]
    assert list(units) == [f"dense_{i}" for i in range(1, len(units) + 1)]
    assert len(units) * 8 * 40 * 40 <= UNIT_VALUES < (len(units) + 1) * 8 * 40 * 40
    assert size(last) <= plan.core_bytes + plan.layer_bytes + plan.heavy_bytes


# --- dead units ----------------------------------------------------------------------------------


def digits_relu(optimizer: dict[str, Any]) -> JobSpec:
    return make_spec(
        dataset={"name": "digits", "train_limit": 1000},
        model={
            "layers": [{"type": "flatten"}] + [{"type": "dense", "units": 100, "activation": "relu", "init": "he"}] * 3,
            "output": {"activation": "softmax"},
        },
        training={"epochs": 3, "batch_size": 100, "optimizer": optimizer},
    )


def test_dead_units_are_few_in_a_healthy_he_relu_net_and_most_after_a_large_adam_step() -> None:
    """He-ReLU on digits with SGD: under 15% of units dead (measured 3-9%) while about half of all outputs are 0;
    Adam at lr 0.05 kills most of the first layer's units (measured 76%). Only ReLU and step layers say it."""
    healthy = epochs_of(digits_relu({"name": "sgd", "lr": 0.1}))[-1]
    for layer in healthy["layers"][:-1]:
        act = layer["activation"]
        assert act["dead_units"] < 0.15, layer["name"]
        assert act["dead_fraction"] > 0.3, layer["name"]  # the old measure read this as "dead"
    assert "dead_units" not in healthy["layers"][-1]["activation"]  # softmax
    killed = epochs_of(digits_relu({"name": "adam", "lr": 0.05}))[-1]
    assert killed["layers"][0]["activation"]["dead_units"] > 0.5


def test_dead_units_count_units_zero_for_every_sample_and_conv_channels_zero_everywhere() -> None:
    from nndojo.train.probes import _dead_units

    y = torch.rand(50, 10) + 0.1
    y[:, [2, 7]] = 0.0  # dead
    y[:49, 4] = 0.0  # zero for all but one sample: alive
    assert _dead_units(y).item() == pytest.approx(0.2)
    maps = torch.rand(20, 4, 5, 5)
    maps[:, 1] = 0.0
    maps[:, 3, :, :4] = 0.0  # one column still fires
    assert _dead_units(maps).item() == pytest.approx(0.25)


def test_the_metrics_columns_carry_dead_units_for_relu_and_step_layers() -> None:
    """What GET /api/jobs/{id}/metrics serves, from the rows the event log keeps."""
    import orjson

    from nndojo.jobs.metrics import columns, scalars

    spec = make_spec(
        model={
            "layers": [{"type": "dense", "units": 8, "activation": "relu"}, {"type": "dense", "units": 8, "activation": "tanh"}],
            "output": {"activation": "softmax"},
        }
    )
    epochs = epochs_of(spec)
    cols = columns((n, orjson.dumps(scalars(event))) for n, event in enumerate(epochs))
    assert list(cols["dead_units"]) == ["dense_1"]
    assert cols["dead_units"]["dense_1"] == [e["layers"][0]["activation"]["dead_units"] for e in epochs]
    assert all(0.0 <= v <= 1.0 for v in cols["dead_units"]["dense_1"])


# --- the activation layer ------------------------------------------------------------------------


def test_an_activation_layer_after_batchnorm_is_the_textbooks_affine_batchnorm_relu() -> None:
    """dense (identity) → batchnorm → activation: the activation layer is listed with its own statistics and histogram,
    null norms (it has no parameters), and its unit maps are its function of the batchnorm's."""
    spec = make_spec(
        model={
            "layers": [
                {"type": "dense", "units": 6, "activation": "identity", "init": "he"},
                {"type": "batchnorm"},
                {"type": "activation", "activation": "tanh"},
                {"type": "dense", "units": 5, "activation": "identity"},
                {"type": "activation", "activation": "relu"},
            ],
            "output": {"activation": "softmax"},
        },
        training={"epochs": 2, "optimizer": {"name": "adam", "lr": 0.01}},
    )
    report = check_spec(spec)
    assert [(s.name, s.n_params) for s in report.layers][1:3] == [("batchnorm_1", 12), ("activation_1", 0)]
    epochs = epochs_of(spec)
    last = epochs[-1]
    layers = {layer["name"]: layer for layer in last["layers"]}
    assert list(layers) == ["dense_1", "batchnorm_1", "activation_1", "dense_2", "activation_2", "output"]
    tanh, relu = layers["activation_1"], layers["activation_2"]
    assert tanh["type"] == "activation" and tanh["grad_norm"] is None and tanh["weight_norm"] is None and "weight_hist" not in tanh
    assert tanh["activation"]["hist"]["edges"][0] == -1.0 and tanh["activation"]["hist"]["edges"][-1] == 1.0
    assert 0.0 <= relu["activation"]["dead_units"] <= relu["activation"]["dead_fraction"] <= 1.0
    assert layers["dense_1"]["grad_norm"] > 0 and layers["batchnorm_1"]["grad_norm"] > 0
    maps = last["units"]
    assert np.abs(np.tanh(np.array(maps["batchnorm_1"])) - np.array(maps["activation_1"])).max() <= 0.011
    assert np.array_equal(np.maximum(np.array(maps["dense_2"]), 0), np.array(maps["activation_2"]))


def test_the_catalog_offers_the_activation_layer_with_every_hidden_activation() -> None:
    from nndojo.spec.catalog import catalog
    from nndojo.spec.summary import summary

    entry = next(layer for layer in catalog()["layers"] if layer["type"] == "activation")
    assert entry["fields"]["activation"]["default"] == "relu"
    assert set(entry["fields"]["activation"]["enum"]) == set(catalog()["activations"]["hidden"])
    spec = make_spec(model={"layers": [{"type": "dense", "units": 4, "activation": "identity"}, {"type": "activation", "activation": "step"}]})
    assert summary(spec.model_dump())["layers"] == ["dense 4 identity", "step"]


# --- loss by steps -------------------------------------------------------------------------------


def test_full_batch_loss_steps_are_the_one_steps_loss_the_epoch_before_measured() -> None:
    """Full-batch GD without dropout: epoch e's one step sees the model epoch e−1's event measured, on the same set."""
    spec = make_spec(dataset={"name": "circle", "n_samples": 100}, training={"epochs": 4, "batch_size": "full"})
    epochs = epochs_of(spec)
    assert epochs[0]["train"]["loss_steps"] == [] and epochs[0]["train"]["loss_every"] == 1
    for before, event in itertools.pairwise(epochs):
        assert event["train"]["loss_every"] == 1
        assert event["train"]["loss_steps"] == [pytest.approx(before["train"]["loss"], rel=1e-3)]


def test_loss_steps_average_windows_of_k_steps_with_a_shorter_last_one() -> None:
    from nndojo.train.step_losses import StepLosses

    steps = StepLosses(every=3, device=torch.device("cpu"))
    for value in range(1, 9):  # 8 steps: windows 1-3, 4-6, 7-8
        steps.record(torch.tensor(float(value), requires_grad=True) * 1.0)
    assert steps.take().tolist() == [2.0, 5.0, 7.5]
    assert steps.take().tolist() == []  # emptied for the next epoch


@pytest.mark.parametrize(("steps", "epochs", "every"), [(25, 100, 1), (469, 20, 10), (60_000, 2, 1200), (469, 10_000, 47), (1, 10_000, 1)])
def test_an_epoch_carries_at_most_50_loss_points_and_a_job_100000(steps: int, epochs: int, every: int) -> None:
    from nndojo.train.budget import loss_every

    assert loss_every(steps, epochs) == every
    points = -(-steps // every)
    assert points <= 50 and points * epochs <= 100_000


def test_loss_steps_of_an_epoch_are_its_mini_batch_losses() -> None:
    """Online SGD on 100 samples: 100 steps an epoch in 50 windows of 2; their mean is close to the epoch's train loss
    (the model moves during the epoch) and they are what the steps saw, not the measured loss repeated."""
    spec = make_spec(dataset={"name": "circle", "n_samples": 200}, training={"epochs": 2, "batch_size": 1, "optimizer": {"name": "sgd", "lr": 0.01}})
    last = epochs_of(spec)[-1]["train"]
    assert last["loss_every"] == 2 and len(last["loss_steps"]) == 50
    assert len(set(last["loss_steps"])) > 10
    assert np.mean(last["loss_steps"]) == pytest.approx(last["loss"], rel=0.2)


# --- confusion and samples -----------------------------------------------------------------------


def digits_run(epochs: int) -> tuple[JobSpec, list[dict[str, Any]]]:
    spec = make_spec(
        dataset={"name": "digits", "train_limit": 300},
        model={"layers": [{"type": "flatten"}, {"type": "dense", "units": 32, "activation": "relu"}], "output": {"activation": "softmax"}},
        training={"epochs": epochs, "batch_size": 32, "optimizer": {"name": "adam", "lr": 0.01}},
    )
    return spec, epochs_of(spec)


def test_image_sets_carry_the_test_confusion_and_fixed_samples_every_10th_epoch_and_the_last() -> None:
    from nndojo.datasets import load_dataset

    spec, epochs = digits_run(12)
    data = load_dataset(spec.dataset, spec.seed, Path("."))  # digits ships with scikit-learn: no folder read
    assert [e["epoch"] for e in epochs if "confusion" in e] == [0, 10, 12]
    assert [e["epoch"] for e in epochs if "samples" in e] == [0, 10, 12]
    counts = np.bincount(data.y_test, minlength=10)
    first = epochs[0]["samples"]
    for event in (e for e in epochs if "confusion" in e):
        matrix = np.array(event["confusion"])
        assert matrix.shape == (10, 10) and list(matrix.sum(axis=1)) == list(counts)  # rows: the true class
        assert np.trace(matrix) / matrix.sum() == pytest.approx(event["test"]["accuracy"], abs=1e-5)
        samples = event["samples"]
        assert samples["index"] == first["index"] and len(samples["index"]) == 16 and len(set(samples["index"])) == 16
        assert samples["label"] == data.y_test[samples["index"]].tolist()
        assert all(0 <= p <= 9 for p in samples["pred"]) and all(0.1 <= p <= 1.0 for p in samples["prob"])  # the argmax of 10
    assert first["shape"] == [1, 8, 8] and len(first["images"]) == 16
    assert np.abs(np.array(first["images"]) - data.x_test[first["index"]].reshape(16, -1)).max() <= 0.0051  # 2 decimals
    assert all("images" not in e["samples"] for e in epochs[1:] if "samples" in e)  # the pixels ride once
    assert epochs[-1]["confusion"] != epochs[0]["confusion"]  # it learned


def test_the_samples_are_the_seeds_and_a_binary_2d_set_has_no_confusion() -> None:
    from nndojo.train.outcomes import sample_indices

    assert sample_indices(100, 0) == sample_indices(100, 0) != sample_indices(100, 1)
    assert sample_indices(5, 0) == [0, 1, 2, 3, 4]
    assert all("confusion" not in e and "samples" not in e for e in epochs_of(make_spec()))


def test_the_budget_sizes_confusion_and_samples_and_holds_for_10000_epochs() -> None:
    from nndojo.train.budget import EVENT_BUDGET, _outcome_sizes

    spec, epochs = digits_run(10)
    outcome, images = _outcome_sizes(spec, check_spec(spec))
    first = epochs[0]
    pixels = len(json.dumps({"images": first["samples"]["images"], "shape": first["samples"]["shape"]}, separators=(",", ":")))
    assert pixels <= images
    last = epochs[-1]
    assert len(json.dumps({"confusion": last["confusion"], "samples": last["samples"]}, separators=(",", ":"))) <= outcome
    plan = EventPlan.for_job(spec, check_spec(spec))
    assert plan.outcomes_on == "tenth" and [e for e in range(11) if plan.outcomes(e)] == [0, 10]
    long = spec.model_copy(update={"training": spec.training.model_copy(update={"epochs": 10_000})})
    plan = EventPlan.for_job(long, check_spec(long))
    assert plan.bound() < EVENT_BUDGET and plan.extra_bytes >= 1001 * outcome


# --- activation histograms on a shared range -----------------------------------------------------


def relu_net(init: dict[str, Any], **probes: Any) -> JobSpec:
    """The book's Fig 6-14 setup, reduced: five ReLU layers of 100 units, on digits."""
    return make_spec(
        dataset={"name": "digits", "train_limit": 300},
        model={"layers": [{"type": "flatten"}] + [{"type": "dense", "units": 100, "activation": "relu", **init}] * 5, "output": {"activation": "softmax"}},
        training={"epochs": 1, "batch_size": 32},
        probes={"histogram_bins": 30, **probes},
    )


def test_relu_histograms_of_std_001_xavier_and_he_share_a_range_and_occupy_different_bins() -> None:
    """One range for every hidden layer of all three runs (from the data, not the init); at epoch 0 std 0.01's deep
    layers sit in the first bin, Xavier's spread shrinks with depth, He's fills the axis; exact zeros stand apart."""
    hists = {}
    for name, init in (("std", {"init": "normal", "init_std": 0.01}), ("xavier", {"init": "xavier"}), ("he", {"init": "he"})):
        first = epochs_of(relu_net(init))[0]
        hists[name] = [layer["activation"] for layer in first["layers"][:-1]]
    edges = hists["std"][0]["hist"]["edges"]
    assert edges[0] == 0.0 and edges[-1] == 2.0  # 4 x the digits' RMS (0.45), rounded up to 1, 2 or 5 x 10^k
    assert all(act["hist"]["edges"] == edges for acts in hists.values() for act in acts)
    top = {name: [max(i for i, c in enumerate(act["hist"]["counts"]) if c) for act in acts] for name, acts in hists.items()}
    assert top["std"][1:] == [0, 0, 0, 0]
    assert top["std"][4] < top["xavier"][4] < top["he"][4]
    assert top["xavier"][0] > top["xavier"][4]  # Xavier's ReLU activations shrink with depth; He's keep their spread
    for acts in hists.values():
        for act in acts:
            hist = act["hist"]
            assert sum(hist["counts"]) + hist["zeros"] == 256 * 100  # the probe batch, zeros apart
            assert hist["zeros"] / (256 * 100) == pytest.approx(act["dead_fraction"], abs=1e-5)


def test_a_lesson_can_set_the_shared_range_and_its_limits() -> None:
    first = epochs_of(relu_net({"init": "he"}, hist_range=5))[0]
    assert all(layer["activation"]["hist"]["edges"][-1] == 5.0 for layer in first["layers"][:-1])
    for bad in (0, -1, 1e5):
        with pytest.raises(ValidationError) as err:
            relu_net({}, hist_range=bad)
        assert err.value.errors()[0]["loc"] == ("probes", "hist_range")


def test_tanh_keeps_its_bounds_and_identity_layers_share_the_symmetric_range() -> None:
    from nndojo.train.probes import nice_ceil

    assert [nice_ceil(v) for v in (0.0, 0.3, 1.0, 1.8, 2.01, 7.0, 140.0)] == [1.0, 0.5, 1.0, 2.0, 5.0, 10.0, 200.0]
    spec = make_spec(
        model={
            "layers": [{"type": "dense", "units": 8, "activation": "tanh"}, {"type": "dense", "units": 8, "activation": "identity"}],
            "output": {"activation": "softmax"},
        },
        probes={"hist_range": 10},
    )
    first = epochs_of(spec)[0]
    assert first["layers"][0]["activation"]["hist"]["edges"][::30] == [-1.0, 1.0]
    assert first["layers"][1]["activation"]["hist"]["edges"][::30] == [-10.0, 10.0]
    assert "zeros" not in first["layers"][1]["activation"]["hist"]
