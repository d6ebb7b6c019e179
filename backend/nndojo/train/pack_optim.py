"""The seven optimisers of nndojo.train.optimizers, batched over a pack's jobs (nndojo.train.pack).

Every job's parameters are one row of a (jobs, P) tensor and its gradient the same row of another, so one update is a few
ops for the whole pack. Each job keeps its own hyper-parameters, as (jobs, 1) columns that broadcast over its row.

The arithmetic follows each solo implementation op for op (torch's foreach Adam, Adagrad, RMSprop and Adadelta, and the
textbook-velocity momentum of nndojo.train.optimizers), in the same order of roundings, so a packed job follows its solo
run to the last bit or so. `p ← p − η·g` is one fused multiply-add in torch's vectorised add(alpha=…); a per-job η
cannot be a scalar alpha, so `_fma_` computes it in double (the product of two floats is exact there) and rounds once
more to float: two roundings that differ from one only at an exact float midpoint. Plain float arithmetic here drifted
1.4e-5 from the solo loss in 51 epochs of SGD at η = 0.3.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

# Each optimiser's per-job hyper-parameters (beyond lr) and its state rows, by spec name.
HYPER: dict[str, tuple[str, ...]] = {
    "sgd": (),
    "momentum": ("momentum",),
    "nesterov": ("momentum",),
    "adagrad": ("eps",),
    "adadelta": ("rho", "eps"),
    "rmsprop": ("rho", "eps"),
    "adam": ("beta1", "beta2", "eps"),
}
STATE: dict[str, tuple[str, ...]] = {
    "sgd": (),
    "momentum": ("velocity",),
    "nesterov": ("velocity",),
    "adagrad": ("sum",),
    "adadelta": ("square_avg", "acc_delta"),
    "rmsprop": ("square_avg",),
    "adam": ("exp_avg", "exp_avg_sq"),
}


def new_state(spec: Any, n_params: int) -> dict[str, Tensor]:
    """One job's optimiser state rows, zero as torch's optimisers start them."""
    return {name: torch.zeros(n_params) for name in STATE[spec.name]}


def _fma_(p: Tensor, g: Tensor, alpha: Tensor) -> Tensor:
    """p ← p + alpha·g as torch's vectorised add(alpha=…) rounds it (a fused multiply-add); alpha is a float32 column."""
    return p.copy_(g.double().mul_(alpha.double()).add_(p))


class PackOptimizer:
    """One batched update for the pack's current members: `hyper` holds each hyper-parameter as a (jobs, 1) float32
    column, `state` each state tensor as (jobs, P), `steps` each job's update count (Adam's bias corrections)."""

    def __init__(self, name: str, specs: list[Any], state: dict[str, Tensor], steps: list[int], device: torch.device):
        self.name = name
        self.hyper = {h: torch.tensor([[float(getattr(s, h))] for s in specs], dtype=torch.float32, device=device) for h in HYPER[name]}
        # 1 − β and friends, rounded once from the double as torch rounds the Python float it is given
        for h in ("rho", "beta1", "beta2"):
            if h in self.hyper:
                self.hyper[f"1-{h}"] = torch.tensor([[1.0 - float(getattr(s, h))] for s in specs], dtype=torch.float32, device=device)
        if name == "adam":
            self._beta1 = torch.tensor([[float(s.beta1)] for s in specs], dtype=torch.float64, device=device)
            self._beta2 = torch.tensor([[float(s.beta2)] for s in specs], dtype=torch.float64, device=device)
            self._t = torch.tensor([[float(t)] for t in steps], dtype=torch.float64, device=device)  # on the device: no copy a step
        self.state = state
        self.steps = steps  # each job's update count (only Adam reads it)

    @torch.no_grad()
    def step(self, p: Tensor, g: Tensor, lr64: Tensor, neg_lr: Tensor) -> None:
        """p ← the update of p by its gradient g; lr64 is the (jobs, 1) learning rates in double, neg_lr −η in float32."""
        name, h, s = self.name, self.hyper, self.state
        if name == "sgd":
            _fma_(p, g, neg_lr)
        elif name in ("momentum", "nesterov"):
            v = s["velocity"]
            _fma_(v.mul_(h["momentum"]), g, neg_lr)  # v ← αv − ηg
            if name == "nesterov":
                _fma_(_fma_(p, v, h["momentum"]), g, neg_lr)  # W ← W + αv − ηg
            else:
                p.add_(v)
        elif name == "adagrad":
            acc = s["sum"]
            acc.addcmul_(g, g)
            std = acc.sqrt().add_(h["eps"])
            p.addcdiv_(g * neg_lr, std)
        elif name == "rmsprop":
            sq = s["square_avg"]
            sq.mul_(h["rho"]).add_((g * h["1-rho"]).mul_(g))  # addcmul's order: (value·g)·g
            avg = sq.sqrt().add_(h["eps"])
            p.add_((g * neg_lr).div_(avg))  # addcdiv's order: (value·g)/avg
        elif name == "adadelta":
            sq, acc = s["square_avg"], s["acc_delta"]
            sq.mul_(h["rho"]).add_((g * h["1-rho"]).mul_(g))
            std = (sq + h["eps"]).sqrt_()
            delta = (acc + h["eps"]).sqrt_().div_(std).mul_(g)
            acc.mul_(h["rho"]).add_((delta * h["1-rho"]).mul_(delta))
            _fma_(p, delta, neg_lr)
        elif name == "adam":
            self.steps = [t + 1 for t in self.steps]
            t = self._t.add_(1.0)
            m1, m2 = s["exp_avg"], s["exp_avg_sq"]
            m1.lerp_(g, h["1-beta1"])
            m2.mul_(h["beta2"]).add_((g * h["1-beta2"]).mul_(g))
            # the bias corrections in double, as torch computes them from Python floats, then rounded once to float32
            bc1 = 1 - self._beta1.pow(t)
            bc2_sqrt = (1 - self._beta2.pow(t)).sqrt().float()
            step_size = ((lr64 / bc1) * -1).float()
            denom = (m2.sqrt() / bc2_sqrt).add_(h["eps"])
            p.add_((m1 * step_size).div_(denom))
        else:
            raise ValueError(f"unknown optimizer {name!r}")
