"""Weight initialisations by spec name: PyTorch's default, zeros, normal(std), Xavier and He as the textbook defines them."""

from __future__ import annotations

import math

import torch
from torch import nn


def fan_in(layer: nn.Linear | nn.Conv2d) -> int:
    """Inputs feeding one unit: in_features for dense, in_channels·k·k for conv."""
    weight = layer.weight
    return int(weight[0].numel())


def init_layer(layer: nn.Linear | nn.Conv2d, init: str, std: float = 0.01) -> None:
    """Initialise in place. Biases start at zero, except under 'default' where PyTorch's uniform rule is kept.

    xavier uses the textbook's std √(1/fan_in) (not Glorot's √(2/(fan_in+fan_out))), he uses √(2/fan_in).
    """
    if init == "default":
        return  # the layer's constructor already ran reset_parameters()
    with torch.no_grad():
        if init == "zeros":
            layer.weight.zero_()
        elif init == "normal":
            layer.weight.normal_(0.0, std)
        elif init == "xavier":
            layer.weight.normal_(0.0, math.sqrt(1.0 / fan_in(layer)))
        elif init == "he":
            layer.weight.normal_(0.0, math.sqrt(2.0 / fan_in(layer)))
        else:
            raise ValueError(f"unknown init {init!r}; choose one of default, zeros, normal, xavier, he")
        if layer.bias is not None:
            layer.bias.zero_()
