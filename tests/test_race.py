"""The optimizer race: the textbook's first steps on f = x²/20 + y², valid paths for every function, bad requests refused."""

from __future__ import annotations

import json
import math

import pytest
import torch
from pydantic import ValidationError

from nndojo.spec import models as m
from nndojo.spec.catalog import RACE_FUNCTIONS, RACE_PRESETS
from nndojo.train.race import ESCAPE_BOUND, FUNCTIONS, RaceRequest, race

torch.set_num_threads(1)


def path(name: str, **fields) -> list[list[float]]:
    request = RaceRequest(function="bowl", start=(-7.0, 2.0), steps=2, optimizers=[{"name": name, **fields}])
    return race(request)["paths"][0]["points"]


def test_textbook_first_steps_on_the_bowl() -> None:
    assert path("sgd", lr=0.95)[1] == pytest.approx([-6.335, -1.8])
    adagrad = path("adagrad", lr=1.5)
    assert adagrad[1] == pytest.approx([-5.5, 0.5])
    assert adagrad[2] == pytest.approx([-4.573, 0.136], abs=5e-4)
    assert path("adam", lr=0.3)[1] == pytest.approx([-6.7, 1.7])
    momentum = path("momentum", lr=0.1, momentum=0.9)
    assert momentum[1] == pytest.approx([-6.93, 1.6])  # v = −0.1·(−0.7, 4)
    assert momentum[2] == pytest.approx([-6.7977, 0.92])  # v = 0.9v − 0.1·(−0.693, 3.2)


def test_default_race_paths_start_at_the_start_and_head_for_the_minimum() -> None:
    result = race(RaceRequest())
    assert result["function"] == "bowl"
    assert [p["optimizer"]["name"] for p in result["paths"]] == ["sgd", "momentum", "adagrad", "adam"]
    for p in result["paths"]:
        assert len(p["points"]) == 31 and p["points"][0] == [-7.0, 2.0]
        assert math.hypot(*p["points"][-1]) < 0.5 * math.hypot(-7.0, 2.0)
        assert p["diverged_at"] is None
    contour = result["contour"]
    assert len(contour["z"]) == len(contour["y"]) and len(contour["z"][0]) == len(contour["x"])
    assert contour["x"][0] <= -7.0 and contour["y"][-1] >= 2.0  # the start is inside the box
    j, i = (
        min(range(len(contour["x"])), key=lambda k: abs(contour["x"][k])),
        min(range(len(contour["y"])), key=lambda k: abs(contour["y"][k])),
    )
    assert contour["z"][i][j] == pytest.approx(contour["x"][j] ** 2 / 20 + contour["y"][i] ** 2, rel=1e-3)


@pytest.mark.parametrize("function", RACE_FUNCTIONS)
def test_every_function_with_every_optimiser_gives_valid_json(function: str) -> None:
    optimizers = [model() for model in m.OPTIMIZER_MODELS]
    request = RaceRequest(function=function, start=(-1.5, 1.5), steps=200, optimizers=optimizers)
    result = race(request)
    json.dumps(result, allow_nan=False)
    assert [len(p["points"]) for p in result["paths"]] == [201] * len(optimizers)


def test_diverging_paths_stop_at_the_bound_and_stay_valid() -> None:
    request = RaceRequest(
        function="saddle", start=(0.5, 0.5), steps=1000, optimizers=[{"name": "sgd", "lr": 2.0}, {"name": "adam", "lr": 0.1}]
    )
    result = race(request)
    json.dumps(result, allow_nan=False)
    sgd, _ = result["paths"]
    assert sgd["diverged_at"] is not None and sgd["diverged_at"] < 100
    assert len(sgd["points"]) == 1001
    assert all(abs(v) <= ESCAPE_BOUND for point in sgd["points"] for v in point)
    assert sgd["points"][-1] == sgd["points"][sgd["diverged_at"] - 1]  # frozen at the last point inside the bound
    blown = race(RaceRequest(function="rosenbrock", start=(-2.0, 2.0), steps=50, optimizers=[{"name": "sgd", "lr": 10.0}]))
    json.dumps(blown, allow_nan=False)
    assert blown["paths"][0]["diverged_at"] is not None


def test_adam_finds_rosenbrocks_valley_floor() -> None:
    result = race(RaceRequest(function="rosenbrock", start=(-1.5, 2.0), steps=1000, optimizers=[{"name": "adam", "lr": 0.05}]))
    x, y = result["paths"][0]["points"][-1]
    assert (1 - x) ** 2 + 100 * (y - x * x) ** 2 < 0.05


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"function": "himmelblau"}, ("function",)),
        ({"steps": 0}, ("steps",)),
        ({"steps": 1001}, ("steps",)),
        ({"start": [1.0]}, ("start",)),
        ({"start": [1e9, 0.0]}, ("start",)),
        ({"optimizers": []}, ("optimizers",)),
        ({"optimizers": [{"name": "lbfgs"}]}, ("optimizers", 0)),
        ({"optimizers": [{"name": "sgd", "lr": -1}]}, ("optimizers", 0, "sgd", "lr")),
        ({"speed": 3}, ("speed",)),
    ],
)
def test_bad_race_requests_name_the_field(body: dict, loc: tuple) -> None:
    with pytest.raises(ValidationError) as info:
        RaceRequest.model_validate(body)
    assert tuple(info.value.errors()[0]["loc"])[: len(loc)] == loc


@pytest.mark.parametrize("function", RACE_FUNCTIONS)
def test_each_functions_preset_suits_it(function: str) -> None:
    """The page's first view of each function: every optimiser at its preset η ends below its start, none diverges."""
    preset = RACE_PRESETS[function]
    assert set(preset["lr"]) == {model().name for model in m.OPTIMIZER_MODELS}
    optimizers = [model(lr=preset["lr"][model().name]) for model in m.OPTIMIZER_MODELS]
    result = race(RaceRequest(function=function, start=tuple(preset["start"]), steps=preset["steps"], optimizers=optimizers))
    f, _ = FUNCTIONS[function]
    start = float(f(torch.tensor(preset["start"][0]), torch.tensor(preset["start"][1])))
    for p in result["paths"]:
        end = float(f(torch.tensor(p["points"][-1][0]), torch.tensor(p["points"][-1][1])))
        assert not p["diverged"] and end < start, (p["optimizer"]["name"], end, start)


def test_the_bowls_lr_on_rosenbrock_diverges_and_the_saddles_escape_does_not() -> None:
    bowl = RACE_PRESETS["bowl"]["lr"]
    blown = race(RaceRequest(function="rosenbrock", start=(-1.5, 2.0), steps=30, optimizers=[{"name": "sgd", "lr": bowl["sgd"]}]))
    assert blown["paths"][0]["diverged"]
    # On the saddle, leaving the map downhill (y → ±∞, here past the ±1e6 bound) is the right answer, not divergence;
    # on the ridge line y = 0, an η above 1 makes x oscillate outwards and f grow: that is divergence.
    escaped = race(RaceRequest(function="saddle", start=(-2.0, 0.01), steps=60, optimizers=[{"name": "sgd", "lr": 0.5}]))["paths"][0]
    assert escaped["diverged_at"] is not None and not escaped["diverged"]
    wild = race(RaceRequest(function="saddle", start=(-2.0, 0.0), steps=60, optimizers=[{"name": "sgd", "lr": 1.2}]))["paths"][0]
    assert wild["diverged"]
