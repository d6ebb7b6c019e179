"""Hidden and output activations by spec name, including the Heaviside step with its true (zero) derivative."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class _HeavisideFn(torch.autograd.Function):
    """H(x) = 1 for x > 0 else 0; its derivative is 0 almost everywhere, and that is what backward returns.

    Returning zeros (not None) keeps every parameter below a step layer in the graph with an exact zero gradient,
    so the student sees grad_norm 0.0 there, rather than a missing value.
    """

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, x: Tensor) -> Tensor:
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad_output: Tensor) -> Tensor:
        return torch.zeros_like(grad_output)


class Step(nn.Module):
    """The perceptron's activation: nothing below it can learn by gradient descent."""

    def forward(self, x: Tensor) -> Tensor:
        return _HeavisideFn.apply(x)


LEAKY_SLOPE = 0.01  # torch's default negative slope


def hidden_activation(name: str) -> nn.Module:
    """The module for a hidden activation name of spec.models.HiddenActivation."""
    factories = {
        "step": Step,
        "sigmoid": nn.Sigmoid,
        "relu": nn.ReLU,
        "tanh": nn.Tanh,
        "leaky_relu": lambda: nn.LeakyReLU(LEAKY_SLOPE),
        "identity": nn.Identity,
    }
    if name not in factories:
        raise ValueError(f"unknown hidden activation {name!r}; choose one of {', '.join(factories)}")
    return factories[name]()


def output_activation(name: str, z: Tensor) -> Tensor:
    """The output layer's activation applied to its pre-activation z (the losses work on z for numerical stability)."""
    if name == "softmax":
        return torch.softmax(z, dim=1)
    if name == "sigmoid":
        return torch.sigmoid(z)
    if name == "identity":
        return z
    raise ValueError(f"unknown output activation {name!r}; choose one of softmax, sigmoid, identity")


# Where an activation's output is bounded, histograms use that range; otherwise epoch 0's range with a margin.
BOUNDED_RANGE: dict[str, tuple[float, float]] = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0), "step": (0.0, 1.0), "softmax": (0.0, 1.0)}
