"""The network for a job spec, built from check_spec's ShapeReport so that layer names match the events.

Training runs one flat nn.Sequential (fewest Python calls per step); probes walk the same modules in blocks and
keep each parameterised layer's output after its activation.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from nndojo.nn.activations import BOUNDED_RANGE, hidden_activation, output_activation
from nndojo.nn.init import init_layer
from nndojo.nn.lrn import LocalResponseNorm
from nndojo.nn.pool import MaxPool2d
from nndojo.spec import models as m
from nndojo.spec.check import LayerShape, ShapeReport, check_spec
from nndojo.spec.layers import KINDS

KEEP_VIEW_MAX = 1 << 16  # forward_probe keeps a view of a batch this small; a copy of the head of a larger one


@dataclass(frozen=True)
class LayerInfo:
    """What probes need to know about one parameterised layer."""

    name: str  # dense_1, conv2d_1, batchnorm_1, output: the names events use
    type: str  # dense, conv2d, batchnorm, activation
    activation: str  # the activation after it (its own for an activation layer, 'identity' for batchnorm; the output
    # activation for the output layer)
    start: int  # [start, stop) of its modules in Net.body (the output layer's linear is Net.head)
    stop: int
    bounded: tuple[float, float] | None  # the activation's fixed output range, if any
    size: int  # values of its output per sample


def _conv2d(layer: m.Conv2dLayer, shape: LayerShape) -> list[nn.Module]:
    conv = nn.Conv2d(shape.in_shape[0], layer.filters, layer.kernel_size, layer.stride, layer.padding)
    init_layer(conv, layer.init, layer.init_std)
    return [conv, hidden_activation(layer.activation)]


def _dense(layer: m.DenseLayer, shape: LayerShape) -> list[nn.Module]:
    linear = nn.Linear(shape.in_shape[0], layer.units, bias=layer.bias)
    init_layer(linear, layer.init, layer.init_std)
    return [linear, hidden_activation(layer.activation)]


def _batchnorm(layer: m.BatchNormLayer, shape: LayerShape) -> list[nn.Module]:
    return [nn.BatchNorm2d(shape.in_shape[0]) if len(shape.in_shape) == 3 else nn.BatchNorm1d(shape.in_shape[0])]


# Each layer type's torch modules, from its spec and its checked shapes: the torch side of spec.layers.KINDS. A
# probed kind's first module holds its parameters.
MODULES: dict[str, Callable[[Any, LayerShape], list[nn.Module]]] = {
    "dense": _dense,
    "conv2d": _conv2d,
    "maxpool2d": lambda layer, shape: [MaxPool2d(layer.kernel_size, layer.stride or layer.kernel_size)],
    "avgpool2d": lambda layer, shape: [nn.AvgPool2d(layer.kernel_size, layer.stride or layer.kernel_size)],
    "flatten": lambda layer, shape: [nn.Flatten()],
    "dropout": lambda layer, shape: [nn.Dropout(layer.p)],
    "batchnorm": _batchnorm,
    "activation": lambda layer, shape: [hidden_activation(layer.activation)],
    "lrn": lambda layer, shape: [LocalResponseNorm(layer.size, layer.alpha, layer.beta, layer.k)],
}
assert set(MODULES) == set(KINDS), "every layer kind has its torch modules"


class Net(nn.Module):
    """body (hidden layers, flat) → head (the output layer's linear map) → output activation (applied outside the loss)."""

    def __init__(self, spec: m.JobSpec, report: ShapeReport):
        super().__init__()
        self.output_name = spec.model.output.activation
        modules: list[nn.Module] = []
        infos: list[LayerInfo] = []
        # every hidden layer's (name, type, output shape) by where its modules end in body: feature maps need pooling too
        self.layer_ends: dict[int, tuple[str, str, tuple[int, ...]]] = {}
        hidden = [s for s in report.layers if s.index is not None]
        for shape in hidden:
            assert shape.index is not None
            layer = spec.model.layers[shape.index]
            start = len(modules)
            modules += MODULES[layer.type](layer, shape)
            self.layer_ends[len(modules)] = (shape.name, shape.type, tuple(shape.out_shape))
            if KINDS[layer.type].probed:
                activation = getattr(layer, "activation", "identity")
                bounded = BOUNDED_RANGE.get(activation)
                infos.append(LayerInfo(shape.name, shape.type, activation, start, len(modules), bounded, math.prod(shape.out_shape)))
        out = report.layers[-1]
        self.body = nn.Sequential(*modules)
        self.head = nn.Linear(out.in_shape[0], out.out_shape[0])
        init_layer(self.head, spec.model.output.init, spec.model.output.init_std)
        bounded = BOUNDED_RANGE.get(self.output_name)
        infos.append(LayerInfo("output", "dense", self.output_name, len(modules), len(modules), bounded, out.out_shape[0]))
        self.layer_infos = infos

    def forward(self, x: Tensor) -> Tensor:
        """The output layer's pre-activation z (logits); losses and probes apply the output activation themselves."""
        return self.head(self.body(x))

    def forward_probe(self, x: Tensor, keep: dict[str, int] | None = None) -> tuple[Tensor, dict[str, Tensor]]:
        """z and parameterised layers' outputs after their activation, keyed by layer name: of the first keep[name] samples
        for the layers keep names (every sample of every layer without keep).

        A kept head of a big batch is copied, so that the batch's activations are freed layer by layer as they would be.
        """
        outputs: dict[str, Tensor] = {}
        ends = {info.stop: info.name for info in self.layer_infos[:-1]}
        h = x
        for i, module in enumerate(self.body):
            h = module(h)
            name = ends.get(i + 1)
            if name is not None and (keep is None or name in keep):
                outputs[name] = _head(h, None if keep is None else keep[name])
        z = self.head(h)
        if keep is None or "output" in keep:
            outputs["output"] = output_activation(self.output_name, z[: None if keep is None else keep["output"]])
        return z, outputs

    def layer_modules(self) -> list[nn.Module]:
        """The module holding each probed layer's parameters (an activation layer's module has none), in layer_infos order."""
        return [self.body[info.start] for info in self.layer_infos[:-1]] + [self.head]

    def layer_params(self) -> list[list[nn.Parameter]]:
        return [list(module.parameters()) for module in self.layer_modules()]

    def weights(self) -> list[nn.Parameter]:
        """The weights L1/L2 apply to: dense, conv and output weights; not biases, not batchnorm."""
        return [mod.weight for mod in self.layer_modules() if isinstance(mod, nn.Linear | nn.Conv2d)]


def _head(h: Tensor, keep: int | None) -> Tensor:
    if keep is None or keep >= h.shape[0]:
        return h
    return h[:keep].clone() if h.numel() > KEEP_VIEW_MAX else h[:keep]


def build_model(spec: m.JobSpec, report: ShapeReport | None = None) -> Net:
    """The spec's network, initialised from torch's global RNG (seed it first for reproducible weights)."""
    return Net(spec, report or check_spec(spec))


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


__all__ = ["LayerInfo", "Net", "build_model", "count_params", "torch"]
