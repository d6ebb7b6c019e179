"""Checks a valid spec against the data and the server's limits before anything trains.

Pure arithmetic, no torch: the API calls it on every submission and the page calls it on every edit
(through the API) to show each layer's output shape and parameter count. Each layer type's rules live in
spec.layers; this module walks the layers and adds the checks that span the whole spec.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from nndojo.datasets.info import dataset_info, known, train_test_sizes, unavailable_reason
from nndojo.spec import models as m
from nndojo.spec.batches import smallest_batch
from nndojo.spec.layers import KINDS, Issues, Shape, Site, fmt_shape
from nndojo.spec.limits import Limits, limit_error
from nndojo.spec.memory import memory_estimate

__all__ = ["LayerShape", "Limits", "ShapeReport", "SpecError", "check_spec", "layer_names", "limit_error", "output_units", "unknown_upload"]


class SpecError(ValueError):
    """A spec that validates field by field but cannot be trained; `errors` has FastAPI's 422 shape.

    Each item's `ctx` carries a machine-readable `code` and the values its English `msg` uses, so that a client can
    say the same thing in the user's language (the page does, in Japanese) without parsing English.
    """

    def __init__(self, errors: list[dict[str, Any]]):
        self.errors = errors
        super().__init__("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors))


@dataclass
class LayerShape:
    index: int | None  # position in model.layers; None for the output layer
    name: str  # the name events use: dense_1, conv2d_2, ..., output
    type: str
    in_shape: Shape
    out_shape: Shape
    n_params: int


@dataclass
class ShapeReport:
    input_shape: Shape
    n_outputs: int
    n_params: int
    layers: list[LayerShape] = field(default_factory=list)
    memory_mb: int = 0  # the estimated peak memory of the job's worker (spec.memory)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def output_units(spec: m.JobSpec) -> int:
    """Units of the output layer: one per class, except one for a binary sigmoid or a regression."""
    n_classes = dataset_info(spec.dataset.name).n_classes
    if n_classes is None:
        return 1
    if n_classes == 2 and spec.model.output.activation == "sigmoid":
        return 1
    return n_classes


def layer_names(layers: list[m.Layer]) -> list[str]:
    """dense_1, dense_2, conv2d_1, ...: numbered per type, in model order."""
    seen: Counter[str] = Counter()
    names = []
    for layer in layers:
        seen[layer.type] += 1
        names.append(f"{layer.type}_{seen[layer.type]}")
    return names


def check_spec(spec: m.JobSpec, limits: Limits | None = None, *, datasets_dir: Path | None = None) -> ShapeReport:
    """Every layer's shapes and parameters, or a SpecError naming each layer or field that cannot work.

    With datasets_dir, a dataset whose files are not installed there is refused too.
    """
    issues = Issues(limits or Limits())
    if not known(spec.dataset.name):  # an upload deleted, or never made: nothing else can be checked
        raise SpecError([unknown_upload(spec.dataset.name)])
    _check_dataset(spec, issues, datasets_dir)
    _check_sizes(spec, issues)
    _check_task(spec, issues)
    report = _walk_layers(spec, issues)
    if not issues.items:
        _check_params(report, issues)
    if not issues.items:
        _check_batches(spec, report, issues)
    if not issues.items:
        _check_memory(spec, report, issues)
    if issues.items:
        raise SpecError(issues.items)
    return report


def unknown_upload(name: str) -> dict[str, Any]:
    """The 422 item for an upload name that is not one the caller may use: the same whether it never existed or is
    someone else's, so names reveal nothing."""
    return {
        "loc": ["dataset", "name"],
        "msg": f"there is no uploaded dataset '{name}' that you may use: upload a CSV, or choose another dataset",
        "type": "spec_check",
        "ctx": {"code": "upload_unknown", "dataset": name},
    }


def _check_dataset(spec: m.JobSpec, issues: Issues, datasets_dir: Path | None) -> None:
    ds = spec.dataset
    info = dataset_info(ds.name)
    reason = unavailable_reason(ds.name, datasets_dir)
    if reason is not None:
        issues.fail(
            ("dataset", "name"), f"'{ds.name}' cannot be used here: {reason}", "dataset_unavailable", dataset=ds.name, reason=reason
        )
    if info.kind != "toy2d" and ds.features != ["x1", "x2"]:  # an upload's features are chosen when it is uploaded
        issues.fail(
            ("dataset", "features"),
            f"features apply to 2-D datasets only; '{ds.name}' is {info.kind}: leave them at ['x1', 'x2']",
            "features_2d_only",
            dataset=ds.name,
            kind=info.kind,
        )


def _check_sizes(spec: m.JobSpec, issues: Issues) -> None:
    limits = issues.limits
    if spec.dataset.n_samples > limits.max_samples:
        issues.over(
            ("dataset", "n_samples"),
            f"at most {limits.max_samples} samples on this server (limit max_samples)",
            "max_samples",
            value=spec.dataset.n_samples,
        )
    if spec.training.epochs > limits.max_epochs:
        issues.over(
            ("training", "epochs"),
            f"at most {limits.max_epochs} epochs on this server (limit max_epochs)",
            "max_epochs",
            value=spec.training.epochs,
        )
    if len(spec.model.layers) > limits.max_layers:
        issues.over(
            ("model", "layers"),
            f"at most {limits.max_layers} layers on this server (limit max_layers)",
            "max_layers",
            value=len(spec.model.layers),
        )


def _check_task(spec: m.JobSpec, issues: Issues) -> None:
    """A regression set has no classes: no cross-entropy, no softmax over its single output."""
    name = spec.dataset.name
    if dataset_info(name).task != "regression":
        return
    if spec.training.loss == "cross_entropy":
        issues.fail(
            ("training", "loss"),
            f"'{name}' is a regression set: use loss 'mse' (cross-entropy needs classes)",
            "regression_loss",
            dataset=name,
        )
    if spec.model.output.activation == "softmax":
        issues.fail(
            ("model", "output", "activation"),
            f"'{name}' is a regression set: softmax over one output is always 1; use 'identity' or 'sigmoid'",
            "regression_softmax",
            dataset=name,
        )


def _walk_layers(spec: m.JobSpec, issues: Issues) -> ShapeReport:
    """Each hidden layer's shapes through its kind's rule, then the output layer; stops at the first layer that cannot
    take its input (later shapes are unknown; one clear error beats a cascade)."""
    shape: Shape = dataset_info(spec.dataset.name).shape_for(list(spec.dataset.features))
    report = ShapeReport(input_shape=shape, n_outputs=output_units(spec), n_params=0)
    for index, (layer, name) in enumerate(zip(spec.model.layers, layer_names(spec.model.layers), strict=True)):
        kind = KINDS[layer.type]
        out = kind.out_shape(layer, shape, Site(index, layer, issues))
        if out is None:
            return report
        params = kind.params(layer, shape, out)
        report.layers.append(LayerShape(index, name, layer.type, shape, out, params))
        report.n_params += params
        shape = out
    if len(shape) != 1:
        issues.fail(
            ("model", "output"),
            f"the output layer is dense and gets a {fmt_shape(shape)} image: add a flatten layer at the end of model.layers",
            "output_needs_flat",
            shape=list(shape),
        )
        return report
    params = shape[0] * report.n_outputs + report.n_outputs
    report.layers.append(LayerShape(None, "output", "dense", shape, (report.n_outputs,), params))
    report.n_params += params
    return report


def _check_params(report: ShapeReport, issues: Issues) -> None:
    if report.n_params > issues.limits.max_params:
        issues.over(
            ("model", "layers"),
            f"the network has {report.n_params:,} parameters; at most {issues.limits.max_params:,} are allowed (limit max_params)",
            "max_params",
            value=report.n_params,
        )


def _check_batches(spec: m.JobSpec, report: ShapeReport, issues: Issues) -> None:
    """Batchnorm in training mode normalises each channel over the batch (and, for images, the map): it needs two values
    a channel in every batch. The batches are the trainer's own (spec.batches), from the real training-set size."""
    per_sample = [s.in_shape for s in report.layers if s.type == "batchnorm"]
    if not per_sample:
        return
    ds, tr = spec.dataset, spec.training
    n_train, _ = train_test_sizes(ds.name, ds.n_samples, ds.test_fraction, ds.train_limit)
    single = any(len(s) == 1 or s[1] * s[2] == 1 for s in per_sample)  # one value a channel per sample
    if single and smallest_batch(n_train, tr.batch_size, merge_single=True) < 2:
        if tr.batch_size == 1:
            issues.fail(("training", "batch_size"), "batchnorm needs batches of at least 2 samples", "batchnorm_batch", min=2, batch_size=1)
        else:
            issues.fail(
                ("training", "batch_size"),
                f"batchnorm needs batches of at least 2 samples, but {n_train} training sample(s) in batches of {tr.batch_size} "
                "leave a batch of 1: raise batch_size, n_samples or train_limit",
                "batchnorm_batch",
                min=2,
                batch_size=1,
                train_samples=n_train,
            )


def _check_memory(spec: m.JobSpec, report: ShapeReport, issues: Issues) -> None:
    estimate = memory_estimate(spec, report)
    report.memory_mb = estimate.total_mb
    budget = issues.limits.max_worker_memory_mb
    if estimate.total_mb > budget:
        reduce = estimate.what_to_reduce()
        issues.over(
            estimate.loc(),
            f"this job would need about {estimate.total_mb:,} MB in its worker; at most {budget:,} MB are allowed "
            f"(limit max_worker_memory_mb): reduce {' or '.join(_field_words(path) for path in reduce)}",
            "max_worker_memory_mb",
            value=estimate.total_mb,
            reduce=reduce,
        )


def _field_words(path: str) -> str:
    """model.layers.0.filters → "layer 1's filters"; other paths as they are."""
    parts = path.split(".")
    if parts[:2] == ["model", "layers"] and len(parts) == 4:
        return f"layer {int(parts[2]) + 1}'s {parts[3]}"
    return path
