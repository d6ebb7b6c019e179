"""Every kind of bad spec is refused with an error that names the field (pydantic's loc, or check_spec's SpecError loc)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import ValidationError

from nndojo.spec.check import Limits, SpecError, check_spec
from nndojo.spec.models import JobSpec

BASE: dict[str, Any] = {
    "name": "ok",
    "seed": 0,
    "dataset": {"name": "circle", "n_samples": 200, "noise": 0.1, "test_fraction": 0.5, "features": ["x1", "x2"]},
    "model": {"layers": [{"type": "dense", "units": 8, "activation": "tanh"}], "output": {"activation": "softmax"}},
    "training": {"epochs": 10, "batch_size": 10, "loss": "cross_entropy", "optimizer": {"name": "sgd", "lr": 0.1}},
}
IMAGE = {"name": "digits"}
CONV = {"type": "conv2d", "filters": 4, "kernel_size": 3}


def with_(**changes: Any) -> dict[str, Any]:
    """BASE with dotted paths replaced: with_(**{"dataset.noise": 0.6})."""
    spec = copy.deepcopy(BASE)
    for path, value in changes.items():
        *parents, leaf = path.split(".")
        node = spec
        for key in parents:
            node = node[key]
        node[leaf] = value
    return spec


def layers(*layer_list: dict, dataset: dict | None = None) -> dict[str, Any]:
    spec = with_(**{"model.layers": list(layer_list)})
    if dataset:
        spec["dataset"] = dataset
    return spec


# (id, spec, expected loc prefix, message fragment)
CASES: list[tuple[str, dict[str, Any], tuple, str]] = [
    ("unknown layer type", layers({"type": "lstm"}), ("model", "layers", 0), "does not match any of the expected tags"),
    ("unknown field", layers({"type": "dense", "unit": 8}), ("model", "layers", 0, "dense", "unit"), "Extra inputs are not permitted"),
    ("unknown top-level field", {**BASE, "epochs": 5}, ("epochs",), "Extra inputs are not permitted"),
    ("negative units", layers({"type": "dense", "units": -3}), ("model", "layers", 0, "dense", "units"), "greater than or equal to 1"),
    ("units over limit", layers({"type": "dense", "units": 5000}), ("model", "layers", 0, "dense", "units"), "less than or equal to 4096"),
    (
        "filters over limit",
        layers({**CONV, "filters": 513}, dataset=IMAGE),
        ("model", "layers", 0, "conv2d", "filters"),
        "less than or equal to 512",
    ),
    ("conv on 2-D points", layers(CONV), ("model", "layers", 0), "conv2d works on image datasets"),
    ("pool on 2-D points", layers({"type": "maxpool2d"}), ("model", "layers", 0), "pooling works on image datasets"),
    (
        "dense after conv without flatten",
        layers(CONV, {"type": "dense", "units": 8}, dataset=IMAGE),
        ("model", "layers", 1),
        "add a flatten layer",
    ),
    (
        "pool shrinks the image to nothing",
        layers({"type": "maxpool2d", "kernel_size": 9}, dataset=IMAGE),
        ("model", "layers", 0, "kernel_size"),
        "to nothing",
    ),
    (
        "pools stacked past the image",
        layers(*[{"type": "avgpool2d"}] * 4, dataset=IMAGE),
        ("model", "layers", 3, "kernel_size"),
        "to nothing",
    ),
    (
        "conv kernel larger than image",
        layers({**CONV, "kernel_size": 11}, dataset=IMAGE),
        ("model", "layers", 0, "kernel_size"),
        "does not fit a 8x8 image",
    ),
    (
        "kernel over its bound",
        layers({**CONV, "kernel_size": 16}, dataset=IMAGE),
        ("model", "layers", 0, "conv2d", "kernel_size"),
        "less than or equal to 15",
    ),
    ("too many layers", layers(*[{"type": "dense", "units": 2}] * 51), ("model", "layers"), "at most 50 items"),
    (
        "too many params",
        layers({"type": "dense", "units": 4096}, {"type": "dense", "units": 4096}),
        ("model", "layers"),
        "at most 10,000,000 are allowed",
    ),
    ("epochs 0", with_(**{"training.epochs": 0}), ("training", "epochs"), "greater than or equal to 1"),
    ("epochs over limit", with_(**{"training.epochs": 10_001}), ("training", "epochs"), "less than or equal to 10000"),
    ("batch_size 0", with_(**{"training.batch_size": 0}), ("training", "batch_size"), "'full' or an integer from 1"),
    ("batch_size half", with_(**{"training.batch_size": "half"}), ("training", "batch_size"), "'full'"),
    (
        "unknown optimiser",
        with_(**{"training.optimizer": {"name": "lbfgs"}}),
        ("training", "optimizer"),
        "does not match any of the expected tags",
    ),
    (
        "negative lr",
        with_(**{"training.optimizer": {"name": "adam", "lr": -0.1}}),
        ("training", "optimizer", "adam", "lr"),
        "greater than 0",
    ),
    (
        "momentum at 1",
        with_(**{"training.optimizer": {"name": "momentum", "momentum": 1.0}}),
        ("training", "optimizer", "momentum", "momentum"),
        "less than 1",
    ),
    (
        "unknown optimiser field",
        with_(**{"training.optimizer": {"name": "sgd", "momentum": 0.9}}),
        ("training", "optimizer", "sgd", "momentum"),
        "Extra inputs",
    ),
    ("noise over 0.5", with_(**{"dataset.noise": 0.6}), ("dataset", "noise"), "less than or equal to 0.5"),
    ("test_fraction too small", with_(**{"dataset.test_fraction": 0.05}), ("dataset", "test_fraction"), "greater than or equal to 0.1"),
    ("test_fraction too large", with_(**{"dataset.test_fraction": 0.95}), ("dataset", "test_fraction"), "less than or equal to 0.9"),
    ("duplicate features", with_(**{"dataset.features": ["x1", "x1"]}), ("dataset", "features"), "each feature may be listed once"),
    ("unknown feature", with_(**{"dataset.features": ["x1", "x3"]}), ("dataset", "features", 1), "Input should be 'x1'"),
    ("no features", with_(**{"dataset.features": []}), ("dataset", "features"), "at least 1 item"),
    (
        "features on an image set",
        with_(**{"dataset": {"name": "digits", "features": ["x1"]}}),
        ("dataset", "features"),
        "features apply to 2-D datasets only",
    ),
    (
        "cross_entropy on regression",
        with_(**{"dataset.name": "reg-gauss", "model.output.activation": "identity"}),
        ("training", "loss"),
        "use loss 'mse'",
    ),
    (
        "softmax on regression",
        with_(**{"dataset.name": "reg-plane", "training.loss": "mse"}),
        ("model", "output", "activation"),
        "softmax over one output",
    ),
    ("unknown dataset", with_(**{"dataset.name": "cifar10"}), ("dataset", "name"), "Input should be 'circle'"),
    ("too many samples", with_(**{"dataset.n_samples": 100_001}), ("dataset", "n_samples"), "less than or equal to 100000"),
    ("train_limit 0", with_(**{"dataset.train_limit": 0}), ("dataset", "train_limit"), "greater than or equal to 1"),
    (
        "unknown schedule",
        with_(**{"training.lr_schedule": {"name": "warmup"}}),
        ("training", "lr_schedule"),
        "does not match any of the expected tags",
    ),
    (
        "step schedule gamma 0",
        with_(**{"training.lr_schedule": {"name": "step", "gamma": 0}}),
        ("training", "lr_schedule", "step", "gamma"),
        "greater than 0",
    ),
    ("dropout p=1", layers({"type": "dropout", "p": 1.0}), ("model", "layers", 0, "dropout", "p"), "less than 1"),
    ("lrn on flat input", layers({"type": "lrn"}), ("model", "layers", 0), "put it after a conv2d"),
    ("seed negative", with_(seed=-1), ("seed",), "greater than or equal to 0"),
    ("name too long", with_(name="n" * 201), ("name",), "at most 200 characters"),
    ("output after an unflattened image", layers(CONV, dataset=IMAGE), ("model", "output"), "add a flatten layer at the end"),
    ("unknown hidden activation", layers({"type": "dense", "activation": "gelu"}), ("model", "layers", 0, "dense", "activation"), "'step'"),
    (
        "softmax as hidden activation",
        layers({"type": "dense", "activation": "softmax"}),
        ("model", "layers", 0, "dense", "activation"),
        "Input should be",
    ),
    (
        "unknown output activation",
        with_(**{"model.output.activation": "relu"}),
        ("model", "output", "activation"),
        "'softmax', 'sigmoid' or 'identity'",
    ),
    ("unknown init", layers({"type": "dense", "init": "orthogonal"}), ("model", "layers", 0, "dense", "init"), "'xavier'"),
    (
        "init_std 0",
        layers({"type": "dense", "init": "normal", "init_std": 0}),
        ("model", "layers", 0, "dense", "init_std"),
        "greater than 0",
    ),
    ("unknown loss", with_(**{"training.loss": "hinge"}), ("training", "loss"), "'cross_entropy' or 'mse'"),
    ("negative l2", with_(**{"training.l2": -0.1}), ("training", "l2"), "greater than or equal to 0"),
    ("unknown device", with_(device="tpu"), ("device",), "'auto', 'cpu' or 'cuda'"),
    ("histogram bins too few", with_(probes={"histogram_bins": 2}), ("probes", "histogram_bins"), "greater than or equal to 5"),
    (
        "boundary resolution too fine",
        with_(probes={"boundary_resolution": 1000}),
        ("probes", "boundary_resolution"),
        "less than or equal to 200",
    ),
]


def errors_of(spec: dict[str, Any], limits: Limits | None = None) -> list[dict[str, Any]]:
    try:
        check_spec(JobSpec.model_validate(spec), limits)
    except ValidationError as exc:
        return [{"loc": tuple(e["loc"]), "msg": e["msg"]} for e in exc.errors()]
    except SpecError as exc:
        return [{"loc": tuple(e["loc"]), "msg": e["msg"]} for e in exc.errors]
    return []


def test_the_base_spec_is_valid() -> None:
    assert errors_of(BASE) == []
    assert check_spec(JobSpec.model_validate(BASE)).n_params == 2 * 8 + 8 + 8 * 2 + 2


@pytest.mark.parametrize(("spec", "loc", "fragment"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_bad_specs_are_refused_naming_the_field(spec: dict[str, Any], loc: tuple, fragment: str) -> None:
    errors = errors_of(spec)
    assert errors, "the spec was accepted"
    matching = [e for e in errors if e["loc"][: len(loc)] == loc]
    assert matching, f"no error at {loc}: {errors}"
    assert any(fragment in e["msg"] for e in matching), f"{fragment!r} not in {[e['msg'] for e in matching]}"


def test_there_are_at_least_thirty_cases() -> None:
    assert len(CASES) >= 30


def test_server_limits_lower_the_api_limits() -> None:
    limits = Limits(max_layers=2, max_units=16, max_epochs=5, max_params=100, max_samples=100)
    spec = with_(**{"training.epochs": 6, "dataset.n_samples": 150, "model.layers": [{"type": "dense", "units": 17}] * 3})
    locs = {e["loc"]: e["msg"] for e in errors_of(spec, limits)}
    assert "max_epochs" in locs[("training", "epochs")]
    assert "max_samples" in locs[("dataset", "n_samples")]
    assert "max_layers" in locs[("model", "layers")]
    assert "max_units" in locs[("model", "layers", 0, "units")]
