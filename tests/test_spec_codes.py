"""Every SpecError item carries a machine-readable ctx.code with the values its message uses, so the page can say it in
Japanese without parsing English. One spec per branch of check_spec (and the trainer's batchnorm check); the branches are
read from check.py's source, so a new branch without a code or without a case here fails."""

from __future__ import annotations

import ast
import copy
import inspect
from pathlib import Path
from typing import Any

import pytest
import torch

from nndojo.spec import check as check_module
from nndojo.spec import layers as layers_module
from nndojo.spec.check import Limits, SpecError, check_spec
from nndojo.spec.models import JobSpec
from nndojo.train import train

BASE: dict[str, Any] = {
    "seed": 0,
    "device": "cpu",
    "dataset": {"name": "circle", "n_samples": 200},
    "model": {"layers": [{"type": "dense", "units": 8, "activation": "tanh"}], "output": {"activation": "softmax"}},
    "training": {"epochs": 3, "batch_size": 10, "loss": "cross_entropy", "optimizer": {"name": "sgd", "lr": 0.1}},
}
DIGITS = {"name": "digits"}
SMALL = Limits(max_layers=2, max_units=16, max_filters=4, max_params=100, max_epochs=5, max_samples=300)


def spec(*layer_list: dict[str, Any], dataset: dict[str, Any] | None = None, **sections: dict[str, Any]) -> JobSpec:
    body = copy.deepcopy(BASE)
    if layer_list:
        body["model"]["layers"] = list(layer_list)
    if dataset is not None:
        body["dataset"] = dataset
    for key, value in sections.items():
        body[key] = {**body[key], **value}
    return JobSpec.model_validate(body)


MEMORY_HOG = spec(
    {"type": "conv2d", "filters": 64, "kernel_size": 3, "padding": 1}, {"type": "flatten"}, dataset=DIGITS, training={"batch_size": "full"}
)
MEMORY_HOG_MB = check_spec(MEMORY_HOG).memory_mb
MEMORY_LIMITS = Limits(max_worker_memory_mb=MEMORY_HOG_MB - 1)
NO_FILES = Path("/nonexistent-datasets")  # check_spec's datasets_dir for the unavailable dataset's case

# (id, spec, limits, loc, ctx expected: code plus the values the message uses; "limit" codes as "limit:<name>")
CASES: list[tuple[str, JobSpec, Limits | None, list[Any], dict[str, Any]]] = [
    (
        "batchnorm on single samples",
        spec({"type": "dense", "units": 4}, {"type": "batchnorm"}, training={"batch_size": 1}),
        None,
        ["training", "batch_size"],
        {"code": "batchnorm_batch", "min": 2, "batch_size": 1},
    ),
    (
        "features on images",
        spec(dataset={**DIGITS, "features": ["x1", "x2", "x1^2"]}, model={"layers": [{"type": "flatten"}]}),
        None,
        ["dataset", "features"],
        {"code": "features_2d_only", "dataset": "digits", "kind": "image"},
    ),
    (
        "too many samples",
        spec(dataset={"name": "circle", "n_samples": 500}),
        SMALL,
        ["dataset", "n_samples"],
        {"code": "limit", "limit": "max_samples", "max": 300, "value": 500},
    ),
    (
        "too many epochs",
        spec(training={"epochs": 9}),
        SMALL,
        ["training", "epochs"],
        {"code": "limit", "limit": "max_epochs", "max": 5, "value": 9},
    ),
    (
        "too many layers",
        spec(*[{"type": "dense", "units": 2}] * 3),
        SMALL,
        ["model", "layers"],
        {"code": "limit", "limit": "max_layers", "max": 2, "value": 3},
    ),
    (
        "cross-entropy on regression",
        spec(dataset={"name": "reg-plane"}, model={"output": {"activation": "identity"}}),
        None,
        ["training", "loss"],
        {"code": "regression_loss", "dataset": "reg-plane"},
    ),
    (
        "softmax on regression",
        spec(dataset={"name": "reg-plane"}, training={"loss": "mse"}),
        None,
        ["model", "output", "activation"],
        {"code": "regression_softmax", "dataset": "reg-plane"},
    ),
    (
        "units over the server's limit",
        spec({"type": "dense", "units": 20}),
        SMALL,
        ["model", "layers", 0, "units"],
        {"code": "limit", "limit": "max_units", "max": 16, "value": 20, "layer": 1, "layer_type": "dense"},
    ),
    (
        "dense on an image",
        spec({"type": "conv2d", "filters": 6, "kernel_size": 3}, {"type": "dense", "units": 4}, dataset=DIGITS),
        None,
        ["model", "layers", 1],
        {"code": "dense_needs_flat", "layer": 2, "layer_type": "dense", "shape": [6, 6, 6]},
    ),
    (
        "filters over the server's limit",
        spec({"type": "conv2d", "filters": 8}, {"type": "flatten"}, dataset=DIGITS),
        SMALL,
        ["model", "layers", 0, "filters"],
        {"code": "limit", "limit": "max_filters", "max": 4, "value": 8, "layer": 1, "layer_type": "conv2d"},
    ),
    (
        "conv2d on 2-D points",
        spec({"type": "dense", "units": 4}, {"type": "conv2d"}),
        None,
        ["model", "layers", 1],
        {"code": "conv_needs_image", "layer": 2, "layer_type": "conv2d", "shape": [4]},
    ),
    (
        "kernel bigger than the image",
        spec({"type": "conv2d", "kernel_size": 11, "padding": 1}, {"type": "flatten"}, dataset=DIGITS),
        None,
        ["model", "layers", 0, "kernel_size"],
        {"code": "kernel_too_big", "layer": 1, "layer_type": "conv2d", "kernel": 11, "padding": 1, "height": 8, "width": 8, "max": 10},
    ),
    (
        "pooling on 2-D points",
        spec({"type": "avgpool2d"}),
        None,
        ["model", "layers", 0],
        {"code": "pool_needs_image", "layer": 1, "layer_type": "avgpool2d", "shape": [2]},
    ),
    (
        "pooling window bigger than the image",
        spec({"type": "maxpool2d", "kernel_size": 9}, {"type": "flatten"}, dataset=DIGITS),
        None,
        ["model", "layers", 0, "kernel_size"],
        {"code": "pool_too_big", "layer": 1, "layer_type": "maxpool2d", "kernel": 9, "height": 8, "width": 8, "max": 8},
    ),
    (
        "lrn on a vector",
        spec({"type": "lrn"}),
        None,
        ["model", "layers", 0],
        {"code": "lrn_needs_image", "layer": 1, "layer_type": "lrn", "shape": [2]},
    ),
    (
        "no flatten before the output",
        spec({"type": "maxpool2d"}, dataset=DIGITS),
        None,
        ["model", "output"],
        {"code": "output_needs_flat", "shape": [1, 4, 4]},
    ),
    (
        "too many parameters",
        spec({"type": "dense", "units": 16}, {"type": "dense", "units": 16}),
        SMALL,
        ["model", "layers"],
        {"code": "limit", "limit": "max_params", "max": 100, "value": 2 * 16 + 16 + 16 * 16 + 16 + 16 * 2 + 2},
    ),
    (
        "batchnorm with a batch of one left over",
        spec(
            {"type": "dense", "units": 4},
            {"type": "batchnorm"},
            dataset={"name": "circle", "n_samples": 200, "train_limit": 1},
            training={"batch_size": "full"},
        ),
        None,
        ["training", "batch_size"],
        {"code": "batchnorm_batch", "min": 2, "batch_size": 1, "train_samples": 1},
    ),
    (
        "worker memory over the server's budget",
        MEMORY_HOG,
        MEMORY_LIMITS,
        ["training", "batch_size"],
        {
            "code": "limit",
            "limit": "max_worker_memory_mb",
            "max": MEMORY_HOG_MB - 1,
            "value": MEMORY_HOG_MB,
            "reduce": ["training.batch_size", "model.layers.0.filters"],
        },
    ),
    (
        "dataset files not installed",
        spec({"type": "flatten"}, dataset={"name": "mnist"}),
        None,
        ["dataset", "name"],
        {"code": "dataset_unavailable", "dataset": "mnist", "reason": "MNIST's files are not installed on this server"},
    ),
]
DATASETS_DIRS = {"dataset files not installed": NO_FILES}


def errors_of(job: JobSpec, limits: Limits | None, datasets_dir: Path | None = None) -> list[dict[str, Any]]:
    with pytest.raises(SpecError) as caught:
        check_spec(job, limits, datasets_dir=datasets_dir)
    return caught.value.errors


def codes_in_source() -> set[str]:
    """The codes check_spec can raise, read from the issues.fail(...) and issues.over(...) calls of the check and the layer
    registry: over's third argument is the limit."""
    found: set[str] = set()
    for module in (check_module, layers_module):
        for node in ast.walk(ast.parse(inspect.getsource(module))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("fail", "over")):
                continue
            if len(node.args) >= 3:
                arg = node.args[2]
                assert isinstance(arg, ast.Constant) and isinstance(arg.value, str), f"line {node.lineno}: the code must be a literal"
                found.add(f"limit:{arg.value}" if node.func.attr == "over" else arg.value)
    return found


def key(ctx: dict[str, Any]) -> str:
    return f"limit:{ctx['limit']}" if ctx["code"] == "limit" else ctx["code"]


@pytest.mark.parametrize(("case_id", "job", "limits", "loc", "ctx"), CASES, ids=[c[0] for c in CASES])
def test_each_branch_has_its_code_and_values(
    case_id: str, job: JobSpec, limits: Limits | None, loc: list[Any], ctx: dict[str, Any]
) -> None:
    errors = errors_of(job, limits, DATASETS_DIRS.get(case_id))
    matching = [e for e in errors if e["loc"] == loc]
    assert matching, f"{case_id}: no error at {loc}: {errors}"
    assert matching[0]["ctx"] == ctx
    expected_type = "limit" if ctx["code"] == "limit" else "spec_check"
    assert matching[0]["type"] == expected_type
    said = ("max", "kernel", "padding", "height", "width") + (() if ctx["code"] == "limit" else ("layer", "layer_type", "dataset", "kind"))
    for name in said:  # the message says what ctx says
        if name in ctx:
            value = ctx[name]
            assert f"{value:,}" in matching[0]["msg"] if isinstance(value, int) else str(value) in matching[0]["msg"], (
                name,
                matching[0]["msg"],
            )
    if "shape" in ctx:
        assert "(" + ", ".join(map(str, ctx["shape"])) + ")" in matching[0]["msg"]


def test_every_item_carries_a_code() -> None:
    for case_id, job, limits, _, _ in CASES:
        for error in errors_of(job, limits, DATASETS_DIRS.get(case_id)):
            assert isinstance(error.get("ctx"), dict) and isinstance(error["ctx"].get("code"), str), error
            assert error["ctx"]["code"] == "limit" or error["type"] == "spec_check", error
            if error["ctx"]["code"] == "limit":
                assert error["type"] == "limit" and error["ctx"]["limit"] in Limits().as_dict(), error


def test_cases_cover_every_branch() -> None:
    in_source = codes_in_source()
    assert len(in_source) >= 14, in_source  # sanity: the parser found the branches
    assert {key(c[4]) for c in CASES} == in_source


def test_trainer_reports_the_batchnorm_check_as_submission_does() -> None:
    torch.set_num_threads(1)
    job = spec({"type": "dense", "units": 4}, {"type": "batchnorm"}, training={"batch_size": 1})
    with pytest.raises(SpecError) as caught:
        train(job, lambda event: None, device="cpu", threads=1)
    (error,) = caught.value.errors
    assert error["loc"] == ["training", "batch_size"] and error["type"] == "spec_check"
    assert error["msg"] == "batchnorm needs batches of at least 2 samples"
    assert error["ctx"] == {"code": "batchnorm_batch", "min": 2, "batch_size": 1}
