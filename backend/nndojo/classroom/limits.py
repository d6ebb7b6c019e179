"""A class's limits: how much each student may hold, and the spec limits lowered for the class."""

from __future__ import annotations

from copy import copy
from dataclasses import replace
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from nndojo.jobs.scheduler import TurnLimits
from nndojo.spec import Limits

SPEC_LIMITS = ("max_layers", "max_units", "max_filters", "max_params", "max_epochs", "max_samples")


class ClassLimits(BaseModel):
    """What a teacher may set per class; the spec limits can only lower the server's own."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    max_running_per_student: int = Field(1, ge=1, le=64, description="jobs of one student training at once")
    max_queued_per_student: int = Field(3, ge=0, le=200, description="jobs of one student waiting for a slot")
    max_job_seconds: int = Field(600, ge=1, le=7 * 24 * 3600, description="wall-clock seconds a job may train")
    max_layers: int | None = Field(None, ge=1)
    max_units: int | None = Field(None, ge=1)
    max_filters: int | None = Field(None, ge=1)
    max_params: int | None = Field(None, ge=1)
    max_epochs: int | None = Field(None, ge=1)
    max_samples: int | None = Field(None, ge=10)


def _patch_of(model: type[BaseModel]) -> type[BaseModel]:
    """The model with every field optional (default None) and the same bounds: a PATCH names only what it changes."""
    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        optional = copy(info)
        optional.default = None
        fields[name] = (info.annotation | None, optional)
    return create_model(f"{model.__name__}Patch", __config__=model.model_config, **fields)


ClassLimitsPatch = _patch_of(ClassLimits)  # a PATCH of some limits: the fields given replace the class's


def effective(stored: dict[str, Any], server: Limits) -> dict[str, Any]:
    """The class's limits as they apply: its own where lower, the server's elsewhere (never above the server's)."""
    limits = ClassLimits.model_validate(stored).model_dump()
    for name in SPEC_LIMITS:
        own, cap = limits[name], getattr(server, name)
        limits[name] = cap if own is None else min(own, cap)
    return limits


def spec_limits(limits: dict[str, Any], server: Limits) -> Limits:
    """The limits a class's submissions are checked against: the server's, lowered by the class."""
    return replace(server, **{name: limits[name] for name in SPEC_LIMITS})


def turn_limits(limits: dict[str, Any]) -> TurnLimits:
    return TurnLimits(limits["max_running_per_student"], limits["max_queued_per_student"], float(limits["max_job_seconds"]))
