"""Learning-rate schedules, per epoch, as closed forms of the epoch index (no scheduler state to drift)."""

from __future__ import annotations

import math

from nndojo.spec import models as m


def lr_at(base_lr: float, schedule: m.StepSchedule | m.ExponentialSchedule | m.CosineSchedule | None, epoch: int, epochs: int) -> float:
    """The learning rate of training epoch `epoch` (1-based: epoch 1 is the first pass and uses base_lr).

    step: η·γ^⌊(e−1)/step_size⌋; exponential: η·γ^(e−1); cosine (T_max = epochs, η_min = 0): η·(1 + cos(π(e−1)/T_max))/2.
    The same values torch.optim.lr_scheduler's StepLR, ExponentialLR and CosineAnnealingLR give when stepped once an epoch.
    """
    k = max(epoch - 1, 0)
    if schedule is None:
        return base_lr
    if isinstance(schedule, m.StepSchedule):
        return base_lr * schedule.gamma ** (k // schedule.step_size)
    if isinstance(schedule, m.ExponentialSchedule):
        return base_lr * schedule.gamma**k
    if isinstance(schedule, m.CosineSchedule):
        return base_lr * (1.0 + math.cos(math.pi * k / epochs)) / 2.0
    raise ValueError(f"unknown lr_schedule {schedule!r}")
