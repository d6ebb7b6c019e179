"""What verdicts read off runs, and how they word numbers: shared by every lesson's rules."""

from __future__ import annotations

import math
from typing import Any

from nndojo.lessons.model import Run

LN10 = math.log(10)  # a 10-class softmax that has learned nothing


def loss_or_inf(run: Run, key: str = "train_loss") -> float:
    """A diverged run's loss counts as the worst there is."""
    value = run.final(key)
    return math.inf if value is None else value


def acc_or_zero(run: Run, key: str = "test_accuracy") -> float:
    value = run.final(key)
    return 0.0 if value is None else value


def hidden_layers(event: dict[str, Any] | None, kind: str = "dense") -> list[dict[str, Any]]:
    """The hidden layers of a kind in model order (the output layer excluded)."""
    return [layer for layer in (event or {}).get("layers", []) if layer.get("type") == kind and layer.get("name") != "output"]


def activation_stds(run: Run) -> list[float]:
    """Each hidden dense layer's activation std on the probe batch of the untrained network (epoch 0)."""
    return [float(layer["activation"]["std"]) for layer in hidden_layers(run.first) if layer.get("activation")]


def mean_grad(run: Run, layer: str) -> float:
    """A layer's gradient norm averaged over the training epochs (epoch 0 has none)."""
    values = [v for v in run.layer_series("grad_norm", layer)[1:] if isinstance(v, int | float) and math.isfinite(v)]
    return sum(values) / len(values) if values else 0.0


def num(value: float | None, digits: int = 3) -> str:
    """A number as a verdict prints it: fixed decimals, or powers of ten for the very small and very large."""
    if value is None or not math.isfinite(value):
        return "—"
    if value != 0 and (abs(value) < 10**-digits or abs(value) >= 1e5):
        return f"{value:.1e}"
    return f"{value:.{digits}f}"


def pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"
