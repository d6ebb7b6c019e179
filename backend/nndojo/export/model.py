"""The model part of an exported run: a plain torch.nn.Module laid out as nndojo.nn.build.Net lays it out.

Same layout, same construction order: `body` (the hidden layers' modules in one nn.Sequential, each layer's
activation its own module) and `head` (the output layer's linear map), so that the weights the server kept load with
load_state_dict under the same names, and the first weights are drawn from torch's generator in the same order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nndojo.export.data import Part
from nndojo.export.snippet import Lang, Snippet
from nndojo.spec import models as m
from nndojo.spec.check import LayerShape, Limits, ShapeReport, check_spec, layer_names
from nndojo.spec.layers import KINDS

MODEL = Snippet(
    """
    class Net(nn.Module):
        # the network: the hidden layers one after another (body), then the output layer (head)
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(
    $modules
            )
            self.head = $head  # output, $units units

        def forward(self, x):
            # z, the output layer's values before its activation ($output): the loss applies it
            return self.head(self.body(x))


    torch.manual_seed(SEED)  # the first weights come from torch's generator, seeded here
    model = Net()
    print(model)
    """
)

INITS = {
    "zeros": Snippet(
        """
        def zeros(layer):
            # every weight and bias starts at zero
            with torch.no_grad():
                layer.weight.zero_()
                if layer.bias is not None:
                    layer.bias.zero_()
            return layer
        """
    ),
    "normal": Snippet(
        """
        def normal(layer, std):
            # weights drawn from a normal distribution N(0, std²), biases zero
            with torch.no_grad():
                layer.weight.normal_(0.0, std)
                if layer.bias is not None:
                    layer.bias.zero_()
            return layer
        """
    ),
    "xavier": Snippet(
        """
        def xavier(layer):
            # Xavier as the textbook has it: weights from N(0, 1/n), n the inputs of one unit; biases zero
            with torch.no_grad():
                layer.weight.normal_(0.0, math.sqrt(1.0 / layer.weight[0].numel()))
                if layer.bias is not None:
                    layer.bias.zero_()
            return layer
        """
    ),
    "he": Snippet(
        """
        def he(layer):
            # He: weights from N(0, 2/n), n the inputs of one unit; biases zero
            with torch.no_grad():
                layer.weight.normal_(0.0, math.sqrt(2.0 / layer.weight[0].numel()))
                if layer.bias is not None:
                    layer.bias.zero_()
            return layer
        """
    ),
}

STEP = Snippet(
    """
    class Heaviside(torch.autograd.Function):
        # the step function: 1 where x > 0, else 0; its derivative is 0, so nothing below it learns
        @staticmethod
        def forward(ctx, x):
            return (x > 0).to(x.dtype)

        @staticmethod
        def backward(ctx, grad):
            return torch.zeros_like(grad)


    class Step(nn.Module):
        def forward(self, x):
            return Heaviside.apply(x)
    """
)

LRN = Snippet(
    """
    class LocalResponseNorm(nn.Module):
        # AlexNet's local response normalisation: b = a / (k + α·Σa²)^β over `size` neighbouring channels
        # (torch's own divides α by size, so it gets α·size here)
        def __init__(self, size, alpha, beta, k):
            super().__init__()
            self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

        def forward(self, x):
            return F.local_response_norm(x, self.size, alpha=self.alpha * self.size, beta=self.beta, k=self.k)
    """
)

ACTIVATIONS = {
    "step": "Step()",
    "sigmoid": "nn.Sigmoid()",
    "relu": "nn.ReLU()",
    "tanh": "nn.Tanh()",
    "leaky_relu": "nn.LeakyReLU(0.01)",
    "identity": "nn.Identity()",
}
LAYER_LINE = Snippet("$module,  # $name, output $shape")
UNLIMITED = 1 << 40  # no memory limit on a spec the server already accepted


def _initialised(module: str, init: str, std: float) -> str:
    if init == "default":
        return module  # PyTorch's own initialisation, done when the layer is made
    return f"normal({module}, {std!r})" if init == "normal" else f"{init}({module})"


def _shape(shape: tuple[int, ...]) -> str:
    return " × ".join(map(str, shape))


def _dense(layer: m.DenseLayer, shape: LayerShape) -> list[str]:
    bias = "" if layer.bias else ", bias=False"
    return [_initialised(f"nn.Linear({shape.in_shape[0]}, {layer.units}{bias})", layer.init, layer.init_std), ACTIVATIONS[layer.activation]]


def _conv2d(layer: m.Conv2dLayer, shape: LayerShape) -> list[str]:
    conv = f"nn.Conv2d({shape.in_shape[0]}, {layer.filters}, kernel_size={layer.kernel_size}, stride={layer.stride}, padding={layer.padding})"
    return [_initialised(conv, layer.init, layer.init_std), ACTIVATIONS[layer.activation]]


# Each layer type's modules as code, as nn.build.MODULES makes them (the first holds its parameters): the export's side
# of spec.layers.KINDS, so a new layer type is exported (or the server does not start) rather than a 500 on export.
MODULES: dict[str, Callable[[Any, LayerShape], list[str]]] = {
    "dense": _dense,
    "conv2d": _conv2d,
    "maxpool2d": lambda layer, shape: [f"nn.MaxPool2d({layer.kernel_size}, stride={layer.stride or layer.kernel_size})"],
    "avgpool2d": lambda layer, shape: [f"nn.AvgPool2d({layer.kernel_size}, stride={layer.stride or layer.kernel_size})"],
    "flatten": lambda layer, shape: ["nn.Flatten()"],
    "dropout": lambda layer, shape: [f"nn.Dropout({layer.p!r})"],
    "batchnorm": lambda layer, shape: [f"nn.BatchNorm{2 if len(shape.in_shape) == 3 else 1}d({shape.in_shape[0]})"],
    "lrn": lambda layer, shape: [f"LocalResponseNorm({layer.size}, {layer.alpha!r}, {layer.beta!r}, {layer.k!r})"],
    "activation": lambda layer, shape: [ACTIVATIONS[layer.activation]],
}
assert set(MODULES) == set(KINDS), "every layer kind has its exported code"


def _modules(layer: m.Layer, shape: LayerShape) -> list[str]:
    return MODULES[layer.type](layer, shape)


def shape_report(spec: m.JobSpec) -> ShapeReport:
    """Each layer's shapes; the server accepted the spec under its own limits, so only the shapes matter here."""
    return check_spec(spec, Limits(max_worker_memory_mb=UNLIMITED))


def penalised_weights(spec: m.JobSpec) -> list[str]:
    """The weights L1/L2 apply to (nn.build.Net.weights), by where they sit in the exported Net: dense, conv, output."""
    out, index = [], 0
    for shape in shape_report(spec).layers[:-1]:
        assert shape.index is not None
        layer = spec.model.layers[shape.index]
        if isinstance(layer, m.DenseLayer | m.Conv2dLayer):
            out.append(f"model.body[{index}].weight")
        index += len(_modules(layer, shape))
    return [*out, "model.head.weight"]


def model_part(spec: m.JobSpec, lang: Lang) -> Part:
    """The Net class, with the helpers its layers need, and the model built from the seed."""
    report = shape_report(spec)
    names = layer_names(spec.model.layers)
    lines: list[str] = []
    inits = {spec.model.output.init}
    for shape in report.layers[:-1]:
        assert shape.index is not None
        layer = spec.model.layers[shape.index]
        inits.add(getattr(layer, "init", "default"))
        modules = _modules(layer, shape)
        lines.append(LAYER_LINE.render(lang, module=modules[0], name=names[shape.index], shape=_shape(shape.out_shape)))
        lines += [f"{module}," for module in modules[1:]]
    out = report.layers[-1]
    head = _initialised(f"nn.Linear({out.in_shape[0]}, {out.out_shape[0]})", spec.model.output.init, spec.model.output.init_std)
    helpers = [INITS[init].render(lang) for init in INITS if init in inits]
    types = {layer.type for layer in spec.model.layers}
    if any(getattr(layer, "activation", "") == "step" for layer in spec.model.layers):
        helpers.append(STEP.render(lang))
    if "lrn" in types:
        helpers.append(LRN.render(lang))
    modules = "\n".join(" " * 12 + line for line in lines)
    model = MODEL.render(lang, modules=modules, head=head, units=out.out_shape[0], output=spec.model.output.activation)
    imports = ["import torch", "from torch import nn"]
    if inits & {"xavier", "he"}:
        imports.append("import math")
    if "lrn" in types:
        imports.append("import torch.nn.functional as F")
    return Part(tuple(imports), "\n\n\n".join([*helpers, model]))
