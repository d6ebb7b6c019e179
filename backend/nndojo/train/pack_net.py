"""A dense net stacked over a pack's jobs: one (jobs, P) parameter tensor, batched matrix products, batched losses.

The layout of a job's row is model.parameters()' order (each layer's weight, then its bias), so a solo Net's parameters
flatten into a row and a row loads back into a solo Net (for `keep`, the stored weights).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from nndojo.nn.activations import hidden_activation
from nndojo.nn.build import Net
from nndojo.spec import models as m


@dataclass(frozen=True)
class DenseShape:
    """One layer of the stacked net: sizes, whether it has a bias, its activation (the output layer's: 'output')."""

    name: str
    n_in: int
    n_out: int
    bias: bool
    activation: str

    @property
    def n_params(self) -> int:
        return self.n_out * self.n_in + (self.n_out if self.bias else 0)


def dense_shapes(model: Net) -> list[DenseShape]:
    """The layers of a net of dense layers (and dropout, which has no parameters: pack.signature has checked that)."""
    shapes = []
    for info, module in zip(model.layer_infos, model.layer_modules(), strict=True):
        assert isinstance(module, nn.Linear)
        activation = "output" if info.name == "output" else info.activation
        shapes.append(DenseShape(info.name, module.in_features, module.out_features, module.bias is not None, activation))
    return shapes


def dropout_rates(spec: m.JobSpec) -> list[list[float]]:
    """For each stacked layer (the output layer last), the rates of the dropout layers just before it, in order (the
    first list: dropout on the inputs)."""
    rates: list[list[float]] = [[]]
    for layer in spec.model.layers:
        if isinstance(layer, m.DropoutLayer):
            rates[-1].append(layer.p)
        else:
            rates.append([])
    return rates


# A dropout mask for the rows h (jobs, rows, units) before stacked layer i, the k-th there: the members' own masks.
Noise = Callable[[int, int, Tensor], Tensor]


def flatten(model: Net) -> Tensor:
    """A solo net's parameters as one row."""
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


def load_row(model: Net, row: Tensor) -> None:
    """A row's values into a solo net's parameters."""
    with torch.no_grad():
        offset = 0
        for p in model.parameters():
            p.copy_(row[offset : offset + p.numel()].view_as(p))
            offset += p.numel()


class StackedDense:
    """The pack's parameters: `theta` (jobs, P) and its gradient `grad`, each layer's weight and bias leaf views of them
    (backward accumulates into the gradient's views in place, as train.loop.GradNorms's flat form does)."""

    def __init__(self, shapes: list[DenseShape], theta: Tensor, drops: list[int] | None = None):
        self.shapes = shapes
        self.drops = drops or [0] * len(shapes)  # dropout layers before each stacked layer (training only)
        self.theta = theta
        self.grad = torch.zeros_like(theta)
        jobs = theta.shape[0]
        self.params: list[tuple[Tensor, Tensor | None]] = []
        self.segments: list[tuple[int, int]] = []
        self.weight_mask = torch.zeros(1, theta.shape[1], device=theta.device)
        offset = 0
        for shape in shapes:
            start = offset
            w = self._leaf(offset, (jobs, shape.n_out, shape.n_in))
            self.weight_mask[0, offset : offset + shape.n_out * shape.n_in] = 1.0
            offset += shape.n_out * shape.n_in
            b = None
            if shape.bias:
                b = self._leaf(offset, (jobs, shape.n_out))
                offset += shape.n_out
            self.params.append((w, b))
            self.segments.append((start, offset))
        self.activations = [nn.Identity() if s.activation == "output" else hidden_activation(s.activation) for s in shapes]

    def _leaf(self, offset: int, shape: tuple[int, ...]) -> Tensor:
        n = int(torch.tensor(shape[1:]).prod())
        leaf = self.theta[:, offset : offset + n].view(shape).requires_grad_()
        leaf.grad = self.grad[:, offset : offset + n].view(shape)
        return leaf

    def forward(
        self, x: Tensor, keep: dict[str, int] | None = None, jobs: Tensor | None = None, noise: Noise | None = None
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """z (jobs, rows, outputs) for x (jobs, rows, inputs), and the hidden layers' outputs after their activation for
        the first keep[name] rows of the layers keep names. `jobs`: only those members (x has their rows alone).
        `noise`: training, with dropout (its masks multiply the rows, as torch's dropout does on the CPU)."""
        kept: dict[str, Tensor] = {}
        h = x
        for i, (shape, (w, b), act) in enumerate(zip(self.shapes, self.params, self.activations, strict=True)):
            if noise is not None:
                for k in range(self.drops[i]):
                    h = h * noise(i, k, h)
            if jobs is not None:
                w, b = w[jobs], None if b is None else b[jobs]
            h = torch.bmm(h, w.transpose(1, 2)) if b is None else torch.baddbmm(b.unsqueeze(1), h, w.transpose(1, 2))
            h = act(h)
            if keep is not None and shape.name in keep and shape.activation != "output":
                kept[shape.name] = h[:, : keep[shape.name]]
        return h, kept


def output_activation(name: str, z: Tensor) -> Tensor:
    """nn.activations.output_activation over the last dimension of stacked outputs."""
    if name == "softmax":
        return torch.softmax(z, dim=-1)
    if name == "sigmoid":
        return torch.sigmoid(z)
    return z


PackLoss = Callable[[Tensor, Tensor], Tensor]


def make_pack_loss(loss: str, output: str, task: str, n_outputs: int) -> PackLoss:
    """train.losses.make_loss batched: loss(z (jobs, rows, outputs), targets (jobs, rows)) → each job's mean (jobs,)."""

    def loss_fn(z: Tensor, t: Tensor) -> Tensor:
        rows = z.shape[1]
        if loss == "cross_entropy":
            if output == "sigmoid":
                if n_outputs == 1:
                    return F.binary_cross_entropy_with_logits(z[..., 0], t.to(z.dtype), reduction="none").mean(dim=1)
                target = F.one_hot(t, n_outputs).to(z.dtype)
                return F.binary_cross_entropy_with_logits(z, target, reduction="none").sum(dim=(1, 2)) / rows
            return F.cross_entropy(z.transpose(1, 2), t, reduction="none").mean(dim=1)
        y = output_activation(output, z)
        if task == "regression" or n_outputs == 1:
            return 0.5 * (y[..., 0] - t.to(z.dtype)).square().sum(dim=1) / rows
        return 0.5 * (y - F.one_hot(t, n_outputs).to(z.dtype)).square().sum(dim=(1, 2)) / rows

    return loss_fn


def predicted_class(z: Tensor, output: str) -> Tensor:
    """train.losses.predicted_class over the last dimension."""
    if z.shape[-1] == 1:
        return (z[..., 0] > 0).long() if output == "sigmoid" else (z[..., 0] > 0.5).long()
    return z.argmax(dim=-1)


def class1_probability(z: Tensor, output: str) -> Tensor:
    """train.losses.class1_probability over the last dimension."""
    if z.shape[-1] == 1:
        return torch.sigmoid(z[..., 0]) if output == "sigmoid" else z[..., 0]
    return torch.softmax(z, dim=-1)[..., 1]
