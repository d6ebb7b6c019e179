"""/api/catalog, generated from the spec models so that a new choice in the backend reaches the page unchanged."""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel

from nndojo.datasets.info import DATASETS, FEATURES, catalog_entry
from nndojo.spec import models as m
from nndojo.spec.check import Limits

RACE_FUNCTIONS = ("bowl", "rosenbrock", "saddle", "beale")


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
        "devices": ["auto", "cpu", "cuda"],
        "limits": limits.as_dict(),
        "defaults": m.JobSpec().model_dump(),
    }
