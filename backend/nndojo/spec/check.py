"""Checks a valid spec against the data and the server's limits before anything trains.

Pure arithmetic, no torch: the API calls it on every submission and the page calls it on every edit
(through the API) to show each layer's output shape and parameter count.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from nndojo.datasets.info import DATASETS
from nndojo.spec import models as m

Shape = tuple[int, ...]


@dataclass(frozen=True)
class Limits:
    """The API's hard limits; a server's settings may lower them, never raise them."""

    max_layers: int = m.MAX_LAYERS
    max_units: int = m.MAX_UNITS
    max_filters: int = m.MAX_FILTERS
    max_params: int = m.MAX_PARAMS
    max_epochs: int = m.MAX_EPOCHS
    max_samples: int = m.MAX_SAMPLES

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


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

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def output_units(spec: m.JobSpec) -> int:
    """Units of the output layer: one per class, except one for a binary sigmoid or a regression."""
    n_classes = DATASETS[spec.dataset.name].n_classes
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


def _fmt(shape: Shape) -> str:
    return "(" + ", ".join(map(str, shape)) + ")"


def _window(size: int, kernel: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1


def limit_error(loc: tuple, msg: str, limit: str, limits: Limits, **ctx: Any) -> dict[str, Any]:
    """A limit of this server, exceeded: the error item every check of a limit returns, so the page can translate it."""
    return {"loc": list(loc), "msg": msg, "type": "limit", "ctx": {"code": "limit", "limit": limit, "max": getattr(limits, limit), **ctx}}


def check_spec(spec: m.JobSpec, limits: Limits | None = None) -> ShapeReport:
    """Every layer's shapes and parameters, or a SpecError naming each layer or field that cannot work."""
    limits = limits or Limits()
    errors: list[dict[str, Any]] = []

    def fail(loc: tuple, msg: str, code: str, error_type: str = "spec_check", **ctx: Any) -> None:
        errors.append({"loc": list(loc), "msg": msg, "type": error_type, "ctx": {"code": code, **ctx}})

    def over(loc: tuple, msg: str, limit: str, **ctx: Any) -> None:
        errors.append(limit_error(loc, msg, limit, limits, **ctx))

    info = DATASETS[spec.dataset.name]
    ds, tr = spec.dataset, spec.training
    if info.kind != "toy2d" and ds.features != ["x1", "x2"]:
        fail(
            ("dataset", "features"),
            f"features apply to 2-D datasets only; '{ds.name}' is {info.kind}: leave them at ['x1', 'x2']",
            "features_2d_only",
            dataset=ds.name,
            kind=info.kind,
        )
    if ds.n_samples > limits.max_samples:
        over(
            ("dataset", "n_samples"),
            f"at most {limits.max_samples} samples on this server (limit max_samples)",
            "max_samples",
            value=ds.n_samples,
        )
    if tr.epochs > limits.max_epochs:
        over(("training", "epochs"), f"at most {limits.max_epochs} epochs on this server (limit max_epochs)", "max_epochs", value=tr.epochs)
    if len(spec.model.layers) > limits.max_layers:
        over(
            ("model", "layers"),
            f"at most {limits.max_layers} layers on this server (limit max_layers)",
            "max_layers",
            value=len(spec.model.layers),
        )
    if info.task == "regression":
        if tr.loss == "cross_entropy":
            fail(
                ("training", "loss"),
                f"'{ds.name}' is a regression set: use loss 'mse' (cross-entropy needs classes)",
                "regression_loss",
                dataset=ds.name,
            )
        if spec.model.output.activation == "softmax":
            fail(
                ("model", "output", "activation"),
                f"'{ds.name}' is a regression set: softmax over one output is always 1; use 'identity' or 'sigmoid'",
                "regression_softmax",
                dataset=ds.name,
            )

    shape: Shape = info.shape_for(list(ds.features))
    report = ShapeReport(input_shape=shape, n_outputs=output_units(spec), n_params=0)
    for index, (layer, name) in enumerate(zip(spec.model.layers, layer_names(spec.model.layers), strict=True)):
        loc = ("model", "layers", index)
        where = f"layer {index + 1} ({layer.type})"
        at = {"layer": index + 1, "layer_type": layer.type}
        out: Shape | None = shape
        params = 0
        if isinstance(layer, m.DenseLayer):
            if layer.units > limits.max_units:
                over((*loc, "units"), f"at most {limits.max_units} units a layer (limit max_units)", "max_units", value=layer.units, **at)
            if len(shape) != 1:
                fail(
                    loc,
                    f"{where} gets a {_fmt(shape)} image but dense needs a flat vector: add a flatten layer before it",
                    "dense_needs_flat",
                    shape=list(shape),
                    **at,
                )
                out = None
            else:
                params = shape[0] * layer.units + (layer.units if layer.bias else 0)
                out = (layer.units,)
        elif isinstance(layer, m.Conv2dLayer):
            if layer.filters > limits.max_filters:
                over(
                    (*loc, "filters"),
                    f"at most {limits.max_filters} filters a layer (limit max_filters)",
                    "max_filters",
                    value=layer.filters,
                    **at,
                )
            if len(shape) != 3:
                fail(
                    loc,
                    f"{where} needs an image (channels, height, width) but gets {_fmt(shape)}: conv2d works on image datasets, before any flatten or dense",
                    "conv_needs_image",
                    shape=list(shape),
                    **at,
                )
                out = None
            else:
                c, h, w = shape
                oh, ow = (_window(s, layer.kernel_size, layer.stride, layer.padding) for s in (h, w))
                if oh < 1 or ow < 1:
                    fail(
                        (*loc, "kernel_size"),
                        f"{where}: a {layer.kernel_size}x{layer.kernel_size} kernel with padding {layer.padding} does not fit a {h}x{w} image; use kernel_size ≤ {min(h, w) + 2 * layer.padding}",
                        "kernel_too_big",
                        kernel=layer.kernel_size,
                        padding=layer.padding,
                        height=h,
                        width=w,
                        max=min(h, w) + 2 * layer.padding,
                        **at,
                    )
                    out = None
                else:
                    params = c * layer.filters * layer.kernel_size**2 + layer.filters
                    out = (layer.filters, oh, ow)
        elif isinstance(layer, (m.MaxPool2dLayer, m.AvgPool2dLayer)):
            if len(shape) != 3:
                fail(
                    loc,
                    f"{where} needs an image (channels, height, width) but gets {_fmt(shape)}: pooling works on image datasets, before any flatten or dense",
                    "pool_needs_image",
                    shape=list(shape),
                    **at,
                )
                out = None
            else:
                c, h, w = shape
                stride = layer.stride or layer.kernel_size
                oh, ow = (_window(s, layer.kernel_size, stride, 0) for s in (h, w))
                if oh < 1 or ow < 1:
                    fail(
                        (*loc, "kernel_size"),
                        f"{where}: a {layer.kernel_size}x{layer.kernel_size} window shrinks the {h}x{w} image to nothing; use kernel_size ≤ {min(h, w)}",
                        "pool_too_big",
                        kernel=layer.kernel_size,
                        height=h,
                        width=w,
                        max=min(h, w),
                        **at,
                    )
                    out = None
                else:
                    out = (c, oh, ow)
        elif isinstance(layer, m.FlattenLayer):
            out = (_prod(shape),)
        elif isinstance(layer, m.BatchNormLayer):
            params = 2 * shape[0]
            if len(shape) == 1 and tr.batch_size == 1 and not any(e["ctx"]["code"] == "batchnorm_batch" for e in errors):
                # BatchNorm1d normalises each unit over the batch: one sample has nothing to normalise against.
                fail(("training", "batch_size"), "batchnorm needs batches of at least 2 samples", "batchnorm_batch", min=2, batch_size=1)
        elif isinstance(layer, m.LRNLayer) and len(shape) != 3:
            fail(
                loc,
                f"{where} normalises across channels and needs an image (channels, height, width) but gets {_fmt(shape)}: put it after a conv2d",
                "lrn_needs_image",
                shape=list(shape),
                **at,
            )
            out = None
        if out is None:
            break  # later shapes are unknown; one clear error beats a cascade
        report.layers.append(LayerShape(index, name, layer.type, shape, out, params))
        report.n_params += params
        shape = out
    else:
        if len(shape) != 1:
            fail(
                ("model", "output"),
                f"the output layer is dense and gets a {_fmt(shape)} image: add a flatten layer at the end of model.layers",
                "output_needs_flat",
                shape=list(shape),
            )
        else:
            params = shape[0] * report.n_outputs + report.n_outputs
            report.layers.append(LayerShape(None, "output", "dense", shape, (report.n_outputs,), params))
            report.n_params += params
    if not errors and report.n_params > limits.max_params:
        over(
            ("model", "layers"),
            f"the network has {report.n_params:,} parameters; at most {limits.max_params:,} are allowed (limit max_params)",
            "max_params",
            value=report.n_params,
        )
    if errors:
        raise SpecError(errors)
    return report


def _prod(shape: Shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n
