"""The optimizer race (shared/API.md "Optimizer race"): optimisers descending a 2-D function side by side.

Each path uses the very optimiser implementations training uses (train.optimizers.make_optimizer) on a single
2-element float64 parameter, so the race shows exactly what a job's optimiser does.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field, field_validator

from nndojo.spec import models as m
from nndojo.spec.catalog import RACE_FUNCTIONS
from nndojo.train.optimizers import make_optimizer
from nndojo.train.rounding import sig

RaceFunction = Literal["bowl", "rosenbrock", "saddle", "beale"]
assert set(RaceFunction.__args__) == set(RACE_FUNCTIONS)  # type: ignore[attr-defined]

MAX_STEPS = 1000
MAX_OPTIMIZERS = 8
START_BOUND = 100.0  # a start must lie within ±this
ESCAPE_BOUND = 1e6  # a path leaving ±this (or turning non-finite) has diverged: it stops there
CONTOUR_RESOLUTION = 60

# f(x, y) in torch (for gradients) and the box its contour covers, around its interesting features.
FUNCTIONS: dict[str, tuple[Callable[[torch.Tensor, torch.Tensor], torch.Tensor], tuple[float, float, float, float]]] = {
    "bowl": (lambda x, y: x**2 / 20.0 + y**2, (-10.0, 10.0, -5.0, 5.0)),  # the textbook's: steep in y, shallow in x
    "rosenbrock": (lambda x, y: (1 - x) ** 2 + 100.0 * (y - x**2) ** 2, (-2.0, 2.0, -1.0, 3.0)),  # minimum (1, 1)
    "saddle": (lambda x, y: x**2 - y**2, (-3.0, 3.0, -3.0, 3.0)),  # saddle at (0, 0), unbounded below in y
    "beale": (
        lambda x, y: (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2,
        (-4.5, 4.5, -4.5, 4.5),  # minimum (3, 0.5)
    ),
}


class RaceRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    function: RaceFunction = "bowl"
    start: tuple[float, float] = Field((-7.0, 2.0), description=f"the starting point, each coordinate within ±{START_BOUND:g}")
    steps: int = Field(30, ge=1, le=MAX_STEPS)
    optimizers: list[m.Optimizer] = Field(
        default_factory=lambda: [m.SGD(lr=0.95), m.Momentum(lr=0.1), m.AdaGrad(lr=1.5), m.Adam(lr=0.3)],
        min_length=1,
        max_length=MAX_OPTIMIZERS,
    )

    @field_validator("start")
    @classmethod
    def _finite_start(cls, start: tuple[float, float]) -> tuple[float, float]:
        if not all(math.isfinite(v) and abs(v) <= START_BOUND for v in start):
            raise ValueError(f"start coordinates must be finite numbers within ±{START_BOUND:g}")
        return start


def _path(function: str, start: tuple[float, float], steps: int, optimizer: m.Optimizer) -> tuple[list[list[float]], int | None]:
    """steps + 1 points from start; a path that escapes stays at its last point inside the bound. Returns (points, diverged_at)."""
    f, _ = FUNCTIONS[function]
    point = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = make_optimizer(optimizer, [point])
    points = [[float(start[0]), float(start[1])]]
    for step in range(1, steps + 1):
        opt.zero_grad(set_to_none=True)
        f(point[0], point[1]).backward()
        opt.step()
        x, y = point.detach().tolist()
        if not (math.isfinite(x) and math.isfinite(y)) or max(abs(x), abs(y)) > ESCAPE_BOUND:
            points += [points[-1]] * (steps + 1 - len(points))
            return points, step
        points.append([x, y])
    return points, None


def _box(function: str, start: tuple[float, float]) -> tuple[float, float, float, float]:
    """The function's box, grown to include the start with a 10% margin."""
    x0, x1, y0, y1 = FUNCTIONS[function][1]
    sx, sy = start
    x0, x1 = min(x0, sx - 0.1 * abs(sx)), max(x1, sx + 0.1 * abs(sx))
    y0, y1 = min(y0, sy - 0.1 * abs(sy)), max(y1, sy + 0.1 * abs(sy))
    return x0, x1, y0, y1


def contour(function: str, start: tuple[float, float], resolution: int = CONTOUR_RESOLUTION) -> dict[str, list]:
    """f on a grid, {x, y, z} with z[i][j] = f(x[j], y[i]) as Plotly's contour expects."""
    f, _ = FUNCTIONS[function]
    x0, x1, y0, y1 = _box(function, start)
    xs = np.linspace(x0, x1, resolution)
    ys = np.linspace(y0, y1, resolution)
    gx, gy = np.meshgrid(xs, ys)
    z = f(torch.from_numpy(gx), torch.from_numpy(gy)).numpy()
    return {
        "x": [sig(float(v), 5) for v in xs],
        "y": [sig(float(v), 5) for v in ys],
        "z": [[sig(float(v), 4) for v in row] for row in z],
    }


def _value(function: str, point: list[float] | tuple[float, float]) -> float:
    f, _ = FUNCTIONS[function]
    return float(f(torch.tensor(float(point[0]), dtype=torch.float64), torch.tensor(float(point[1]), dtype=torch.float64)))


def _went_uphill(function: str, start: tuple[float, float], end_point: list[float]) -> bool:
    """Divergence is f growing, not leaving the map: on the saddle a path that escapes to y → ±∞ goes downhill, which is
    the right answer there; an η too large makes f grow, or blow up past the bound with f rising."""
    end = _value(function, end_point)
    return not math.isfinite(end) or end > _value(function, start)


def race(request: RaceRequest) -> dict[str, Any]:
    """Every optimiser's path from the start, and the contour they run over."""
    paths = []
    with torch.enable_grad():
        for optimizer in request.optimizers:
            points, diverged_at = _path(request.function, request.start, request.steps, optimizer)
            paths.append(
                {
                    "optimizer": optimizer.model_dump(),
                    "points": [[sig(x, 7), sig(y, 7)] for x, y in points],
                    "diverged_at": diverged_at,
                    "diverged": _went_uphill(request.function, request.start, points[-1]),
                }
            )
    return {"function": request.function, "paths": paths, "contour": contour(request.function, request.start)}
