"""NaN, infinities and numbers beyond float range (JSON's 1e400 parses as infinity) are refused in every float field of
a job spec and of the optimizer race's request, with an error naming the field (a 422, never a 500 while echoing it)."""

from __future__ import annotations

import copy
import json
import math
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from nndojo.spec.models import LAYER_MODELS, OPTIMIZER_MODELS, SCHEDULE_MODELS, JobSpec, OutputSpec
from nndojo.train.race import RaceRequest

BAD = [math.nan, math.inf, -math.inf, json.loads("1e400"), json.loads("-1e999")]


def float_fields(model: type[BaseModel]) -> list[str]:
    return [name for name, info in model.model_fields.items() if info.annotation is float]


def float_paths() -> list[tuple[str, dict[str, Any], tuple, tuple]]:
    """(id, a valid spec body, where in it a float field goes, the loc pydantic names it by) for every float field a spec
    can hold; a loc names a tagged union's member too (conv2d, adam, step)."""
    sections = {name: JobSpec.model_fields[name].annotation for name in ("dataset", "training")}
    paths: list[tuple[str, dict[str, Any], tuple, tuple]] = []
    for section, model in sections.items():
        for name in float_fields(model):  # type: ignore[arg-type]
            paths.append((f"{section}.{name}", {section: {}}, (section, name), (section, name)))
    for model in LAYER_MODELS:
        kind = model.model_fields["type"].default
        body = {"model": {"layers": [{"type": kind}, {"type": "flatten"}]}}
        for name in float_fields(model):
            paths.append((f"{kind}.{name}", body, ("model", "layers", 0, name), ("model", "layers", 0, kind, name)))
    for name in float_fields(OutputSpec):
        paths.append((f"output.{name}", {"model": {"output": {}}}, ("model", "output", name), ("model", "output", name)))
    for model in OPTIMIZER_MODELS:
        opt = model.model_fields["name"].default
        for name in float_fields(model):
            body = {"training": {"optimizer": {"name": opt}}}
            paths.append((f"{opt}.{name}", body, ("training", "optimizer", name), ("training", "optimizer", opt, name)))
    for model in SCHEDULE_MODELS:
        sched = model.model_fields["name"].default
        for name in float_fields(model):
            body = {"training": {"lr_schedule": {"name": sched}}}
            paths.append((f"{sched}.{name}", body, ("training", "lr_schedule", name), ("training", "lr_schedule", sched, name)))
    return paths


def put(body: dict[str, Any], path: tuple, value: float) -> dict[str, Any]:
    """A copy of body with `value` at path."""
    body = copy.deepcopy(body)
    node: Any = body
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return body


PATHS = float_paths()


def test_every_float_field_is_covered() -> None:
    assert len(PATHS) >= 25, [p[0] for p in PATHS]


@pytest.mark.parametrize("value", BAD, ids=["nan", "inf", "-inf", "1e400", "-1e999"])
@pytest.mark.parametrize(("field", "body", "path", "loc"), PATHS, ids=[p[0] for p in PATHS])
def test_non_finite_numbers_are_refused_naming_the_field(field: str, body: dict[str, Any], path: tuple, loc: tuple, value: float) -> None:
    JobSpec.model_validate(put(body, path, 0.5))  # the body is valid with a finite number there
    with pytest.raises(ValidationError) as caught:
        JobSpec.model_validate(put(body, path, value))
    errors = caught.value.errors()
    assert any(tuple(e["loc"]) == loc for e in errors), (field, [e["loc"] for e in errors])


@pytest.mark.parametrize("value", BAD, ids=["nan", "inf", "-inf", "1e400", "-1e999"])
def test_the_race_refuses_non_finite_numbers_naming_the_field(value: float) -> None:
    with pytest.raises(ValidationError) as caught:
        RaceRequest.model_validate({"start": [value, 0.0]})
    assert caught.value.errors()[0]["loc"][:2] == ("start", 0)
    with pytest.raises(ValidationError) as caught:
        RaceRequest.model_validate({"optimizers": [{"name": "adam", "lr": 0.1, "beta1": value}]})
    assert caught.value.errors()[0]["loc"] == ("optimizers", 0, "adam", "beta1")
