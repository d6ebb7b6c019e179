"""Each optimiser's update against a hand-computed textbook step, and the schedules' closed forms."""

from __future__ import annotations

import math

import pytest
import torch

from nndojo.spec import models as m
from nndojo.train.optimizers import make_optimizer, set_lr
from nndojo.train.schedules import lr_at

torch.set_num_threads(1)

W0 = [1.0, -2.0]
GRADS = [[0.5, -1.0], [0.25, 2.0], [-1.0, 0.5]]  # the gradients of three successive steps


def steps(spec: m.Optimizer, grads: list[list[float]] = GRADS, lrs: list[float] | None = None) -> list[list[float]]:
    """W after each step, feeding the given gradients (and learning rates, if they change)."""
    w = torch.tensor(W0, dtype=torch.float64, requires_grad=True)
    opt = make_optimizer(spec, [w])
    out = []
    for i, g in enumerate(grads):
        if lrs:
            set_lr(opt, lrs[i])
        w.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        out.append(w.detach().tolist())
    return out


def textbook(rule, grads: list[list[float]] = GRADS, lrs: list[float] | None = None) -> list[list[float]]:
    """The same steps by the textbook formula, one coordinate at a time in plain Python."""
    out, state = [], [{} for _ in W0]
    w = list(W0)
    for i, g in enumerate(grads):
        for j in range(len(w)):
            w[j] = rule(w[j], g[j], state[j], i + 1, lrs[i] if lrs else None)
        out.append(list(w))
    return out


def sgd(lr):
    return lambda w, g, s, t, lr_t: w - (lr_t or lr) * g


def momentum(lr, alpha):
    def rule(w, g, s, t, lr_t):
        s["v"] = alpha * s.get("v", 0.0) - (lr_t or lr) * g  # v ← αv − ηg
        return w + s["v"]  # W ← W + v

    return rule


def nesterov(lr, alpha):
    def rule(w, g, s, t, lr_t):
        s["v"] = alpha * s.get("v", 0.0) - (lr_t or lr) * g
        return w + alpha * s["v"] - (lr_t or lr) * g

    return rule


def adagrad(lr, eps):
    def rule(w, g, s, t, lr_t):
        s["h"] = s.get("h", 0.0) + g * g  # h ← h + g²
        return w - lr * g / (math.sqrt(s["h"]) + eps)

    return rule


def rmsprop(lr, rho, eps):
    def rule(w, g, s, t, lr_t):
        s["h"] = rho * s.get("h", 0.0) + (1 - rho) * g * g
        return w - lr * g / (math.sqrt(s["h"]) + eps)

    return rule


def adadelta(lr, rho, eps):
    def rule(w, g, s, t, lr_t):
        s["h"] = rho * s.get("h", 0.0) + (1 - rho) * g * g
        delta = math.sqrt(s.get("d", 0.0) + eps) / math.sqrt(s["h"] + eps) * g
        s["d"] = rho * s.get("d", 0.0) + (1 - rho) * delta * delta
        return w - lr * delta

    return rule


def adam(lr, b1, b2, eps):
    def rule(w, g, s, t, lr_t):
        s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
        s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g * g
        m_hat, v_hat = s["m"] / (1 - b1**t), s["v"] / (1 - b2**t)
        return w - lr * m_hat / (math.sqrt(v_hat) + eps)

    return rule


@pytest.mark.parametrize(
    ("spec", "rule"),
    [
        (m.SGD(lr=0.1), sgd(0.1)),
        (m.Momentum(lr=0.1, momentum=0.9), momentum(0.1, 0.9)),
        (m.Nesterov(lr=0.1, momentum=0.8), nesterov(0.1, 0.8)),
        (m.AdaGrad(lr=0.5, eps=1e-7), adagrad(0.5, 1e-7)),
        (m.RMSProp(lr=0.01, rho=0.9, eps=1e-7), rmsprop(0.01, 0.9, 1e-7)),
        (m.Adadelta(lr=1.0, rho=0.95, eps=1e-6), adadelta(1.0, 0.95, 1e-6)),
        (m.Adam(lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8), adam(0.001, 0.9, 0.999, 1e-8)),
    ],
    ids=lambda v: getattr(v, "name", ""),
)
def test_each_optimiser_follows_its_textbook_rule(spec: m.Optimizer, rule) -> None:
    got, expected = steps(spec), textbook(rule)
    for g, e in zip(got, expected, strict=True):
        assert g == pytest.approx(e, rel=1e-12, abs=1e-15)


def test_first_steps_by_hand() -> None:
    """Numbers worked on paper: W0 = (1, −2), g1 = (0.5, −1), g2 = (0.25, 2)."""
    assert steps(m.SGD(lr=0.1))[0] == pytest.approx([0.95, -1.9])
    mom = steps(m.Momentum(lr=0.1, momentum=0.9))
    assert mom[0] == pytest.approx([0.95, -1.9])  # v = (−0.05, 0.1)
    assert mom[1] == pytest.approx([0.95 - 0.045 - 0.025, -1.9 + 0.09 - 0.2])  # v = 0.9v − 0.1g = (−0.07, −0.11)
    ada = steps(m.AdaGrad(lr=0.5, eps=1e-7))
    assert ada[0] == pytest.approx([0.5, -1.5], abs=1e-6)  # η·g/√(g²) = η·sign(g)
    assert steps(m.Adam(lr=0.001))[0] == pytest.approx([0.999, -1.999], abs=1e-9)  # the first Adam step is η·sign(g)


def test_momentum_velocity_keeps_the_learning_rate_it_was_made_with() -> None:
    """Under a schedule the textbook's v carries the old η; torch's SGD(momentum) would rescale it by the new η."""
    lrs = [0.1, 0.01, 0.01]
    for got, expected in zip(steps(m.Momentum(lr=0.1, momentum=0.9), lrs=lrs), textbook(momentum(None, 0.9), lrs=lrs), strict=True):
        assert got == pytest.approx(expected)
    w = torch.tensor(W0, dtype=torch.float64, requires_grad=True)
    torch_opt = torch.optim.SGD([w], lr=0.1, momentum=0.9)
    for lr, g in zip(lrs, GRADS, strict=True):
        torch_opt.param_groups[0]["lr"] = lr
        w.grad = torch.tensor(g, dtype=torch.float64)
        torch_opt.step()
    assert w.tolist() != pytest.approx(textbook(momentum(None, 0.9), lrs=lrs)[-1])


def test_optimisers_leave_zero_gradients_alone() -> None:
    """Zero gradients (below a step layer) must not move any weight under any optimiser."""
    for spec in (m.SGD(), m.Momentum(), m.Nesterov(), m.AdaGrad(), m.Adadelta(), m.RMSProp(), m.Adam()):
        assert steps(spec, grads=[[0.0, 0.0]] * 3) == [W0] * 3


def test_schedule_closed_forms() -> None:
    step = m.StepSchedule(step_size=3, gamma=0.1)
    assert [lr_at(1.0, step, e, 10) for e in range(1, 8)] == pytest.approx([1, 1, 1, 0.1, 0.1, 0.1, 0.01])
    assert lr_at(1.0, m.ExponentialSchedule(gamma=0.9), 3, 10) == pytest.approx(0.81)
    cosine = m.CosineSchedule()
    assert lr_at(2.0, cosine, 1, 4) == 2.0 and lr_at(2.0, cosine, 3, 4) == pytest.approx(1.0)
    assert lr_at(0.3, None, 50, 100) == 0.3
    # the same values torch's schedulers give when stepped once an epoch
    w = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([w], lr=2.0)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=7)
    for e in range(1, 8):
        assert opt.param_groups[0]["lr"] == pytest.approx(lr_at(2.0, cosine, e, 7))
        opt.step()
        sched.step()
