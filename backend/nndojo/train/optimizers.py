"""The seven optimisers of the syllabus, with the textbook's update rules (shared/API.md).

Which implementation each uses, and why:
- sgd: torch.optim.SGD. W ← W − ηg, the same rule.
- momentum: our own. v ← αv − ηg, W ← W + v. torch's SGD(momentum) keeps v ← αv + g and steps W ← W − ηv, which is the
  same only while η is constant; under a schedule the textbook's velocity carries the old η, torch's the new one.
- nesterov: our own, for the same reason, in the textbook's velocity form: v ← αv − ηg, W ← W + αv − ηg (with the new v).
  Under a constant η it equals torch's SGD(momentum, nesterov=True).
- adagrad: torch.optim.Adagrad (lr_decay 0, initial accumulator 0): h ← h + g², W ← W − ηg/(√h + ε), the same rule.
- rmsprop: torch.optim.RMSprop with alpha=rho: h ← ρh + (1−ρ)g², W ← W − ηg/(√h + ε), the same rule.
- adadelta: torch.optim.Adadelta: Zeiler's rule, with ηΔ applied (η = 1 is the paper's).
- adam: torch.optim.Adam: Kingma and Ba's bias-corrected rule, W ← W − η m̂/(√v̂ + ε).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor
from torch.optim import Optimizer

from nndojo.spec import models as m


class VelocityMomentum(Optimizer):
    """Momentum and Nesterov in the textbook's velocity form; all parameters updated with a few foreach ops."""

    def __init__(self, params: Iterable[Tensor], lr: float, momentum: float, nesterov: bool = False):
        super().__init__(params, {"lr": lr, "momentum": momentum, "nesterov": nesterov})

    @torch.no_grad()
    def step(self, closure: None = None) -> None:  # type: ignore[override]
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            grads = [p.grad for p in params]
            velocities = []
            for p in params:
                state = self.state[p]
                if "velocity" not in state:
                    state["velocity"] = torch.zeros_like(p)
                velocities.append(state["velocity"])
            lr, alpha = group["lr"], group["momentum"]
            torch._foreach_mul_(velocities, alpha)
            torch._foreach_add_(velocities, grads, alpha=-lr)  # v ← αv − ηg
            if group["nesterov"]:
                torch._foreach_add_(params, velocities, alpha=alpha)  # W ← W + αv − ηg
                torch._foreach_add_(params, grads, alpha=-lr)
            else:
                torch._foreach_add_(params, velocities)  # W ← W + v


def make_optimizer(
    spec: m.SGD | m.Momentum | m.Nesterov | m.AdaGrad | m.Adadelta | m.RMSProp | m.Adam, params: Iterable[Tensor]
) -> Optimizer:
    """An optimiser for a spec optimiser model; the same implementations serve training and the optimizer race."""
    params = list(params)
    if isinstance(spec, m.SGD):
        return torch.optim.SGD(params, lr=spec.lr, foreach=True)
    if isinstance(spec, m.Momentum):
        return VelocityMomentum(params, spec.lr, spec.momentum)
    if isinstance(spec, m.Nesterov):
        return VelocityMomentum(params, spec.lr, spec.momentum, nesterov=True)
    if isinstance(spec, m.AdaGrad):
        return torch.optim.Adagrad(params, lr=spec.lr, eps=spec.eps, foreach=True)
    if isinstance(spec, m.Adadelta):
        return torch.optim.Adadelta(params, lr=spec.lr, rho=spec.rho, eps=spec.eps, foreach=True)
    if isinstance(spec, m.RMSProp):
        return torch.optim.RMSprop(params, lr=spec.lr, alpha=spec.rho, eps=spec.eps, foreach=True)
    if isinstance(spec, m.Adam):
        return torch.optim.Adam(params, lr=spec.lr, betas=(spec.beta1, spec.beta2), eps=spec.eps, foreach=True)
    raise ValueError(f"unknown optimizer {getattr(spec, 'name', spec)!r}")


def set_lr(optimizer: Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr
