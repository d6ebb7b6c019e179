"""Losses for every output activation and loss pairing (the pairing is the student's lesson, never an error).

All work on the output layer's pre-activation z, so that the numerically stable forms can be used:
- cross_entropy + softmax: log-softmax NLL.
- cross_entropy + identity: the outputs are read as logits, so the same log-softmax NLL.
- cross_entropy + sigmoid: binary cross-entropy per unit, summed over units and averaged over the batch; on the single
  unit for two classes, on one-hot targets otherwise.
- mse: ½Σ(y − t)² over the output units of y = activation(z), averaged over the batch; one-hot t for classification.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from nndojo.nn.activations import output_activation

LossFn = Callable[[Tensor, Tensor], Tensor]


def make_loss(loss: str, output: str, task: str, n_outputs: int) -> LossFn:
    """loss(z, targets) -> mean over the batch; targets are class indices or regression values."""
    if loss == "cross_entropy":
        if task == "regression":
            raise ValueError("cross_entropy needs classes; a regression set takes loss 'mse'")
        if output == "sigmoid":
            if n_outputs == 1:
                return lambda z, t: F.binary_cross_entropy_with_logits(z[:, 0], t.to(z.dtype))
            return lambda z, t: F.binary_cross_entropy_with_logits(z, F.one_hot(t, n_outputs).to(z.dtype), reduction="sum") / z.shape[0]
        return _cross_entropy
    if loss == "mse":
        if task == "regression":
            return lambda z, t: 0.5 * (output_activation(output, z)[:, 0] - t).square().sum() / z.shape[0]
        if n_outputs == 1:
            return lambda z, t: 0.5 * (output_activation(output, z)[:, 0] - t.to(z.dtype)).square().sum() / z.shape[0]
        return lambda z, t: 0.5 * (output_activation(output, z) - F.one_hot(t, n_outputs).to(z.dtype)).square().sum() / z.shape[0]
    raise ValueError(f"unknown loss {loss!r}; choose cross_entropy or mse")


def _cross_entropy(z: Tensor, t: Tensor) -> Tensor:
    """Log-softmax NLL. Without autograd on the CPU (the probes' exact evaluation) it runs over the transposed logits: torch's
    CPU log-softmax along a short last dimension costs ~100 ns a row, along the first ~5 ns (LeNet's 1,797 samples: 190 → 30 µs)."""
    if z.requires_grad or z.device.type != "cpu" or z.dim() != 2:
        return F.cross_entropy(z, t)
    return F.nll_loss(F.log_softmax(z.t().contiguous(), dim=0).t(), t)


def predicted_class(z: Tensor, output: str) -> Tensor:
    """The class a classifier predicts: z > 0 for a single sigmoid unit, else the largest output."""
    if z.shape[1] == 1:
        return (z[:, 0] > 0).long() if output == "sigmoid" else (z[:, 0] > 0.5).long()
    return z.argmax(dim=1)


def class1_probability(z: Tensor, output: str) -> Tensor:
    """For the decision boundary of a binary task: the probability of class 1 (softmax over logits for 2 units)."""
    if z.shape[1] == 1:
        return torch.sigmoid(z[:, 0]) if output == "sigmoid" else z[:, 0]
    return torch.softmax(z, dim=1)[:, 1]
