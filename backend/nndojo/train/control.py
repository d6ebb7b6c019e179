"""Live control of a training run (docs/api.md "Live control"): pause, resume, step one epoch and a new learning rate,
requested from another thread (the worker's) and acted on by the trainer between steps.

`Controls` is the mailbox: the trainer reads `pending`, a plain attribute, once a step (no lock, no host sync on the
hot path). `Pilot` is the trainer's side: it acts on the requests in the order they came, blocks while paused and
emits one `control` event for each change, at the moment it takes effect, so a replay and the charts can show when.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from torch.optim import Optimizer

from nndojo.spec import models as m
from nndojo.train.optimizers import set_lr
from nndojo.train.schedules import lr_at

ACTIONS = ("pause", "resume", "step", "lr")
Emit = Callable[[dict[str, Any]], None]


class Controls:
    """Requests for one run, from any thread; `wake` lets a stop reach a paused trainer at once."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._requests: deque[tuple[str, float | None]] = deque()
        self.pending = False

    def request(self, action: str, value: float | None = None) -> None:
        if action not in ACTIONS:
            raise ValueError(f"unknown control {action!r}; one of {', '.join(ACTIONS)}")
        with self._cond:
            self._requests.append((action, value))
            self.pending = True
            self._cond.notify_all()

    def take(self) -> list[tuple[str, float | None]]:
        with self._cond:
            return self._drain()

    def wait(self, should_stop: Callable[[], bool]) -> list[tuple[str, float | None]]:
        """Blocks until a request comes or should_stop() holds (whoever sets the stop calls `wake`)."""
        with self._cond:
            while not self._requests and not should_stop():
                self._cond.wait()
            return self._drain()

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def _drain(self) -> list[tuple[str, float | None]]:
        out = list(self._requests)
        self._requests.clear()
        self.pending = False
        return out


class Pilot:
    """The trainer's side of the controls: the run's pause state and its learning rate.

    A new learning rate takes effect from the next step and becomes the schedule's new reference: the schedule's
    later factors apply relative to it (lr(e) = value · f(e) / f(now)), so a step or cosine schedule goes on from there.
    """

    def __init__(
        self, controls: Controls | None, emit: Emit, should_stop: Callable[[], bool], optimizer: Optimizer, training: m.TrainingSpec, pictures: int = 0
    ):
        self.controls = controls
        self.emit = emit
        self.should_stop = should_stop
        self.optimizer = optimizer
        self.schedule = training.lr_schedule
        self.epochs = training.epochs
        self.base = training.optimizer.lr
        self.lr = self.base
        self.paused = False
        self.stepping = False  # a step was asked for: pause again when this epoch ends
        self.pictures = pictures  # stepped epochs that may still carry the heavy payloads (the event budget's room)

    def start_epoch(self, epoch: int) -> float:
        """Sets and returns the learning rate of training epoch `epoch` (1-based), as the schedule gives it."""
        self.lr = lr_at(self.base, self.schedule, epoch, self.epochs)
        set_lr(self.optimizer, self.lr)
        return self.lr

    def boundary(self, epoch: int, step: int) -> None:
        """Called before each step of epoch `epoch`: acts on requests, and returns only when training may go on (or
        should stop). `step` is the number of steps taken so far."""
        if self.controls is None or not (self.controls.pending or self.paused):
            return
        for action, value in self.controls.take():
            self._apply(action, value, epoch, step)
        while self.paused and not self.should_stop():
            for action, value in self.controls.wait(self.should_stop):
                self._apply(action, value, epoch, step)

    def poll(self, epoch: int, step: int) -> None:
        """boundary() without blocking, for a trainer that must not wait on one run (nndojo.train.pack parks it)."""
        if self.controls is not None and self.controls.pending:
            for action, value in self.controls.take():
                self._apply(action, value, epoch, step)

    def wants_pictures(self) -> bool:
        """Whether the epoch ending now carries the pictures (boundary, unit maps, histograms) beyond the event plan's:
        a stepped one does while the budget has room, so a student stepping a paused run sees each step's picture."""
        if not self.stepping or self.pictures <= 0:
            return False
        self.pictures -= 1
        return True

    def epoch_done(self, epoch: int, step: int) -> None:
        """After epoch `epoch`'s event: a step ends here, paused again."""
        if self.stepping:
            self.stepping = False
            self._pause(epoch, step)

    def _apply(self, action: str, value: float | None, epoch: int, step: int) -> None:
        done = epoch - 1  # the last finished epoch: control events say when by it
        if action == "pause" and not self.paused:
            self.stepping = False
            self._pause(done, step)
        elif action == "resume" and (self.paused or self.stepping):
            self.paused = self.stepping = False
            self._event("resume", done, step)
        elif action == "step":
            self.paused, self.stepping = False, True
            self._event("step", done, step)
        elif action == "lr" and value is not None:
            self._set_lr(float(value), epoch)
            self._event("lr", done, step, value=self.lr)

    def _pause(self, done: int, step: int) -> None:
        self.paused = True
        self._event("pause", done, step)

    def _set_lr(self, value: float, epoch: int) -> None:
        scheduled = lr_at(self.base, self.schedule, epoch, self.epochs)
        base = self.base * value / scheduled if scheduled > 0 else math.inf
        self.base = base if math.isfinite(base) and base > 0 else value  # a schedule decayed to 0 restarts from value
        self.lr = value
        set_lr(self.optimizer, value)

    def _event(self, action: str, epoch: int, step: int, **extra: Any) -> None:
        self.emit({"type": "control", "action": action, "epoch": epoch, "step": step, **extra})
