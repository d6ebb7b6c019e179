"""/api/catalog, generated from the spec models so that a new choice in the backend reaches the page unchanged."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel

from nndojo.datasets.info import DATASETS, FEATURES, catalog_entry
from nndojo.spec import models as m
from nndojo.spec.check import Limits

RACE_FUNCTIONS = ("bowl", "rosenbrock", "saddle", "beale")

# Each race function's first view: a start, a step count and a learning rate per optimiser that suit that function
# (measured with the race itself: every path ends below its start and none blows up; tests/test_race.py checks it).
# One set of rates for all four would blow up: the bowl's SGD η = 0.95 leaves Rosenbrock's valley at the first step.
RACE_PRESETS: dict[str, dict[str, Any]] = {
    "bowl": {  # the textbook's race on x²/20 + y²
        "start": [-7.0, 2.0],
        "steps": 30,
        "lr": {"sgd": 0.95, "momentum": 0.1, "nesterov": 0.1, "adagrad": 1.5, "adadelta": 1.0, "rmsprop": 0.1, "adam": 0.3},
    },
    "rosenbrock": {  # a narrow curved valley: plain steps above η ≈ 0.002 overshoot its walls
        "start": [-1.5, 2.0],
        "steps": 300,
        "lr": {"sgd": 0.001, "momentum": 0.001, "nesterov": 0.001, "adagrad": 0.5, "adadelta": 1.0, "rmsprop": 0.1, "adam": 0.1},
    },
    "saddle": {  # no minimum: a good optimiser leaves the saddle point downhill, off the map
        "start": [-2.0, 0.01],
        "steps": 30,
        "lr": {"sgd": 0.1, "momentum": 0.05, "nesterov": 0.05, "adagrad": 0.3, "adadelta": 1.0, "rmsprop": 0.05, "adam": 0.1},
    },
    "beale": {  # steep walls and flat plateaus: momentum needs a small η
        "start": [1.0, 1.5],
        "steps": 100,
        "lr": {"sgd": 0.01, "momentum": 0.001, "nesterov": 0.001, "adagrad": 0.5, "adadelta": 1.0, "rmsprop": 0.03, "adam": 0.1},
    },
}


def _fields(model: type[BaseModel], skip: str) -> dict[str, Any]:
    """Each field's JSON Schema (type, default, bounds, description), minus the discriminator."""
    props = model.model_json_schema()["properties"]
    return {name: schema for name, schema in props.items() if name != skip}


def catalog(limits: Limits | None = None, datasets_dir: Path | None = None) -> dict[str, Any]:
    """With datasets_dir, each dataset says whether its files are installed there (`available`, `unavailable_reason`)."""
    limits = limits or Limits()
    return {
        "datasets": [catalog_entry(info, datasets_dir) for info in DATASETS.values()],
        "features": list(FEATURES),
        "layers": [
            {"type": model.model_fields["type"].default, "fields": _fields(model, "type"), "doc": (model.__doc__ or "").strip()}
            for model in m.LAYER_MODELS
        ],
        "activations": {"hidden": list(get_args(m.HiddenActivation)), "output": list(get_args(m.OutputActivation))},
        "initializations": list(get_args(m.Init)),
        "losses": list(get_args(m.LossName)),
        "optimizers": [
            {"name": model.model_fields["name"].default, "fields": _fields(model, "name"), "defaults": model().model_dump(exclude={"name"})}
            for model in m.OPTIMIZER_MODELS
        ],
        "lr_schedules": [
            {"name": model.model_fields["name"].default, "fields": _fields(model, "name"), "defaults": model().model_dump(exclude={"name"})}
            for model in m.SCHEDULE_MODELS
        ],
        "race_functions": list(RACE_FUNCTIONS),
        "race_presets": copy.deepcopy(RACE_PRESETS),
        "devices": ["auto", "cpu", "cuda"],
        "limits": limits.as_dict(),
        "defaults": m.JobSpec().model_dump(),
    }
