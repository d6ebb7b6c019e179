"""One entry per layer type: its shape rule and checks, parameters, saved activations and summary text.

The shape check (spec.check), the job list's summary (spec.summary), the memory estimate (spec.memory) and the model
builder (nn.build, which keeps each type's torch module factory beside its own code so that spec/ stays torch-free) all
read this table: a layer type is described here once.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nndojo.spec import models as m
from nndojo.spec.limits import Limits, limit_error

Shape = tuple[int, ...]


class Issues:
    """The 422 items of one check, each with a ctx.code and the values its message uses."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.items: list[dict[str, Any]] = []

    def fail(self, loc: tuple, msg: str, code: str, error_type: str = "spec_check", **ctx: Any) -> None:
        self.items.append({"loc": list(loc), "msg": msg, "type": error_type, "ctx": {"code": code, **ctx}})

    def over(self, loc: tuple, msg: str, limit: str, **ctx: Any) -> None:
        self.items.append(limit_error(loc, msg, limit, self.limits, **ctx))


@dataclass(frozen=True)
class Site:
    """One hidden layer being checked: where it is, for locs, messages and ctx."""

    index: int
    layer: Any  # one of models.LAYER_MODELS
    issues: Issues

    @property
    def loc(self) -> tuple:
        return ("model", "layers", self.index)

    @property
    def where(self) -> str:
        return f"layer {self.index + 1} ({self.layer.type})"

    @property
    def at(self) -> dict[str, Any]:
        return {"layer": self.index + 1, "layer_type": self.layer.type}


def fmt_shape(shape: Shape) -> str:
    return "(" + ", ".join(map(str, shape)) + ")"


def window(size: int, kernel: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1


def _dense(layer: m.DenseLayer, shape: Shape, site: Site) -> Shape | None:
    issues, limits = site.issues, site.issues.limits
    if layer.units > limits.max_units:
        issues.over(
            (*site.loc, "units"), f"at most {limits.max_units} units a layer (limit max_units)", "max_units", value=layer.units, **site.at
        )
    if len(shape) != 1:
        issues.fail(
            site.loc,
            f"{site.where} gets a {fmt_shape(shape)} image but dense needs a flat vector: add a flatten layer before it",
            "dense_needs_flat",
            shape=list(shape),
            **site.at,
        )
        return None
    return (layer.units,)


def _conv2d(layer: m.Conv2dLayer, shape: Shape, site: Site) -> Shape | None:
    issues, limits = site.issues, site.issues.limits
    if layer.filters > limits.max_filters:
        issues.over(
            (*site.loc, "filters"),
            f"at most {limits.max_filters} filters a layer (limit max_filters)",
            "max_filters",
            value=layer.filters,
            **site.at,
        )
    if len(shape) != 3:
        issues.fail(
            site.loc,
            f"{site.where} needs an image (channels, height, width) but gets {fmt_shape(shape)}: conv2d works on image datasets, before any flatten or dense",
            "conv_needs_image",
            shape=list(shape),
            **site.at,
        )
        return None
    _, h, w = shape
    oh, ow = (window(s, layer.kernel_size, layer.stride, layer.padding) for s in (h, w))
    if oh < 1 or ow < 1:
        issues.fail(
            (*site.loc, "kernel_size"),
            f"{site.where}: a {layer.kernel_size}x{layer.kernel_size} kernel with padding {layer.padding} does not fit a {h}x{w} image; use kernel_size ≤ {min(h, w) + 2 * layer.padding}",
            "kernel_too_big",
            kernel=layer.kernel_size,
            padding=layer.padding,
            height=h,
            width=w,
            max=min(h, w) + 2 * layer.padding,
            **site.at,
        )
        return None
    return (layer.filters, oh, ow)


def _pool(layer: m.MaxPool2dLayer | m.AvgPool2dLayer, shape: Shape, site: Site) -> Shape | None:
    if len(shape) != 3:
        site.issues.fail(
            site.loc,
            f"{site.where} needs an image (channels, height, width) but gets {fmt_shape(shape)}: pooling works on image datasets, before any flatten or dense",
            "pool_needs_image",
            shape=list(shape),
            **site.at,
        )
        return None
    c, h, w = shape
    stride = layer.stride or layer.kernel_size
    oh, ow = (window(s, layer.kernel_size, stride, 0) for s in (h, w))
    if oh < 1 or ow < 1:
        site.issues.fail(
            (*site.loc, "kernel_size"),
            f"{site.where}: a {layer.kernel_size}x{layer.kernel_size} window shrinks the {h}x{w} image to nothing; use kernel_size ≤ {min(h, w)}",
            "pool_too_big",
            kernel=layer.kernel_size,
            height=h,
            width=w,
            max=min(h, w),
            **site.at,
        )
        return None
    return (c, oh, ow)


def _lrn(layer: m.LRNLayer, shape: Shape, site: Site) -> Shape | None:
    if len(shape) != 3:
        site.issues.fail(
            site.loc,
            f"{site.where} normalises across channels and needs an image (channels, height, width) but gets {fmt_shape(shape)}: put it after a conv2d",
            "lrn_needs_image",
            shape=list(shape),
            **site.at,
        )
        return None
    return shape


def _same(layer: Any, shape: Shape, site: Site) -> Shape:
    return shape


def _flatten(layer: m.FlattenLayer, shape: Shape, site: Site) -> Shape:
    return (math.prod(shape),)


def _no_params(layer: Any, in_shape: Shape, out_shape: Shape) -> int:
    return 0


def _saves_output(layer: Any, in_shape: Shape, out_shape: Shape) -> int:
    return math.prod(out_shape)


@dataclass(frozen=True)
class LayerKind:
    """What the backend knows about one layer type, torch aside.

    out_shape: the output shape for an input shape, or None after reporting why the layer cannot take it.
    params: its trainable parameters. probed: listed in epoch events' `layers` (the types with parameters, and the
    standalone activation, whose outputs are what the textbook's activation histograms show).
    saved: floats a training step keeps per sample for backward, beyond the output the next layer keeps (an activation
    after dense or conv keeps its own output; max pooling its indices; batchnorm its normalised input; dropout its mask).
    summary: the short text the job list shows, from the layer as a stored spec's dict.
    """

    type: str
    model: type[m.Strict]
    out_shape: Callable[[Any, Shape, Site], Shape | None]
    params: Callable[[Any, Shape, Shape], int] = _no_params
    probed: bool = False
    saved: Callable[[Any, Shape, Shape], int] = _no_params
    summary: Callable[[dict[str, Any]], str] = field(default=lambda layer: str(layer["type"]))


KINDS: dict[str, LayerKind] = {
    kind.type: kind
    for kind in (
        LayerKind(
            "dense",
            m.DenseLayer,
            _dense,
            params=lambda layer, i, o: i[0] * layer.units + (layer.units if layer.bias else 0),
            probed=True,
            saved=_saves_output,
            summary=lambda layer: f"dense {layer['units']} {layer['activation']}",
        ),
        LayerKind(
            "conv2d",
            m.Conv2dLayer,
            _conv2d,
            params=lambda layer, i, o: i[0] * layer.filters * layer.kernel_size**2 + layer.filters,
            probed=True,
            saved=_saves_output,
            summary=lambda layer: f"conv2d {layer['filters']}x{layer['kernel_size']} {layer['activation']}",
        ),
        LayerKind("maxpool2d", m.MaxPool2dLayer, _pool, saved=lambda layer, i, o: 2 * math.prod(o)),  # int64 indices
        LayerKind("avgpool2d", m.AvgPool2dLayer, _pool),
        LayerKind("flatten", m.FlattenLayer, _flatten),
        LayerKind("dropout", m.DropoutLayer, _same, saved=lambda layer, i, o: math.prod(o), summary=lambda layer: f"dropout {layer['p']}"),
        LayerKind("batchnorm", m.BatchNormLayer, _same, params=lambda layer, i, o: 2 * i[0], probed=True, saved=_saves_output),
        LayerKind("activation", m.ActivationLayer, _same, probed=True, saved=_saves_output, summary=lambda layer: str(layer["activation"])),
        LayerKind("lrn", m.LRNLayer, _lrn, saved=lambda layer, i, o: 2 * math.prod(o)),  # its input and the scale
    )
}
assert {kind.model for kind in KINDS.values()} == set(m.LAYER_MODELS), "every layer model has exactly one kind"
