"""Every lesson shows the textbook's result on this trainer, decided by the lesson's own verdict code (the code the
verdict endpoint runs), on reduced runs; the endpoints serve the lessons and decide verdicts over stored jobs; and each
preset is the example of its name."""

from __future__ import annotations

import copy
import json
import time
from typing import Any

import pytest
import torch

from nndojo.datasets import DatasetUnavailable
from nndojo.lessons import LESSONS, evaluate, get_lesson, presets
from nndojo.lessons.model import Lesson, Run
from nndojo.lessons.presets import EXAMPLES
from nndojo.lessons.runs import run_from_events
from nndojo.spec.check import check_spec
from nndojo.spec.models import JobSpec
from nndojo.train import train

torch.set_num_threads(1)

# What each lesson's test shrinks (dotted spec paths), keeping what its verdicts read: fewer images or epochs where the
# book's result already shows, so that all lessons together train in well under three minutes on one core.
REDUCED: dict[str, dict[str, Any]] = {
    "step": {"training.epochs": 150},
    "loss": {"dataset.train_limit": 1000, "training.epochs": 4},
    "vanishing": {"training.epochs": 30},
    "optimizers": {"dataset.train_limit": 1280, "training.epochs": 8},
    "activations": {"dataset.train_limit": 100},
    "init": {"dataset.train_limit": 1280, "training.epochs": 60},
    "batchnorm": {"training.epochs": 10},
    "overfitting": {},
    "filters": {"dataset.train_limit": 3000, "training.epochs": 2},
    "lenet_alexnet": {"dataset.train_limit": 500, "training.epochs": 1},
}
EVAL_LIMIT = 500  # test images measured each epoch


def reduced(spec: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(spec)
    for path, value in changes.items():
        *parents, leaf = path.split(".")
        node = out
        for key in parents:
            node = node[key]
        node[leaf] = value
    return out


def run_lesson(lesson: Lesson, changes: dict[str, Any], eval_limit: int | None = EVAL_LIMIT) -> dict[str, Any]:
    runs = {}
    for variant in lesson.variants:
        spec = reduced(variant.spec, changes)
        events: list[dict[str, Any]] = []
        try:
            status = train(JobSpec.model_validate(spec), events.append, device="cpu", threads=1, eval_limit=eval_limit)
        except DatasetUnavailable as exc:
            pytest.skip(str(exc))
        runs[variant.id] = run_from_events(spec, status, events)
    return runs


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson.id)
def test_lesson_shows_the_books_result(lesson: Lesson) -> None:
    started = time.perf_counter()
    verdicts = evaluate(lesson, run_lesson(lesson, REDUCED[lesson.id]))
    failed = [f"{v['id']}: {v['text']['en']}" for v in verdicts if v["state"] != "pass"]
    assert not failed, failed
    assert all(v["values"] for v in verdicts)  # each decided on numbers it reports
    print(f"{lesson.id}: {time.perf_counter() - started:.1f} s; " + " | ".join(v["text"]["en"] for v in verdicts))


def test_every_variant_is_a_valid_spec_and_fits_this_server() -> None:
    for lesson in LESSONS:
        assert len({v.id for v in lesson.variants}) == len(lesson.variants)
        assert len({v.spec["seed"] for v in lesson.variants}) == 1, lesson.id  # the seed is shared
        for variant in lesson.variants:
            check_spec(JobSpec.model_validate(variant.spec))
        for rule in lesson.rules:
            assert set(rule.needs) <= {v.id for v in lesson.variants}, (lesson.id, rule.id)


def test_each_preset_is_the_example_of_its_name() -> None:
    served = presets()
    assert [p["id"] for p in served] == ["spiral", "sigmoid", "relu", "overfit", "lenet", "alexnet"]
    for preset in served:
        assert preset["spec"] == json.loads((EXAMPLES / preset["example"]).read_text()), preset["id"]
    page = (EXAMPLES.parent / "frontend" / "src" / "presets.js").read_text()
    assert "spec: {" not in page  # the page holds no preset spec of its own: main.js hands it these from api.lessons()


# --- the endpoints -----------------------------------------------------------------------------------------------------


def test_lessons_are_served_with_their_specs_and_presets(api_client: Any) -> None:
    body = api_client.get("/api/lessons").json()
    assert [lesson["id"] for lesson in body["lessons"]] == [lesson.id for lesson in LESSONS]
    optimizers = next(lesson for lesson in body["lessons"] if lesson["id"] == "optimizers")
    assert [v["id"] for v in optimizers["variants"]] == ["sgd", "momentum", "adagrad", "adam"]
    assert optimizers["title"]["ja"] and optimizers["expected"]["en"] and optimizers["verdicts"][0]["claim"]["ja"]
    assert optimizers["variants"][0]["steps_per_epoch"] == 50
    assert body["presets"] == presets()


def test_verdicts_refuse_what_is_not_the_lesson(api_client: Any, jobkit: Any) -> None:
    assert api_client.post("/api/lessons/nope/verdicts", json={"jobs": {}}).status_code == 404
    reply = api_client.post("/api/lessons/step/verdicts", json={"jobs": {"tanh": "x"}})
    assert reply.status_code == 422 and reply.json()["detail"][0]["loc"] == ["body", "jobs", "tanh"]
    assert api_client.post("/api/lessons/step/verdicts", json={"jobs": {"step": "no-such-job"}}).status_code == 404
    other = api_client.post("/api/jobs", json=jobkit.tiny_spec()).json()
    reply = api_client.post("/api/lessons/step/verdicts", json={"jobs": {"step": other["id"]}})
    assert reply.status_code == 422 and "not the spec of variant 'step'" in reply.json()["detail"][0]["msg"]
    pending = api_client.post("/api/lessons/step/verdicts", json={"jobs": {}}).json()["verdicts"]
    assert [v["state"] for v in pending] == ["pending", "pending"] and pending[1]["waiting"] == ["step", "sigmoid"]


def test_verdicts_over_stored_jobs_equal_the_trainers_own(api_client: Any, jobkit: Any) -> None:
    lesson = get_lesson("activations")
    assert lesson is not None
    jobs = {v.id: api_client.post("/api/jobs", json=v.spec).json()["id"] for v in lesson.variants}
    for job_id in jobs.values():
        assert jobkit.wait_final(api_client, job_id)["status"] == "completed"
    reply = api_client.post("/api/lessons/activations/verdicts", json={"jobs": jobs})
    assert reply.status_code == 200, reply.text
    served = reply.json()["verdicts"]
    assert all(v["state"] == "pass" for v in served), served
    assert served == evaluate(lesson, run_lesson(lesson, {}, eval_limit=None))  # the same numbers, the same words


def test_a_failed_or_cancelled_run_leaves_its_verdicts_void() -> None:
    lesson = get_lesson("step")
    assert lesson is not None
    cancelled = Run(spec=lesson.variants[0].spec, metrics={}, first=None, last=None, status="cancelled")
    verdicts = evaluate(lesson, {"step": cancelled, "sigmoid": None})
    assert [(v["state"], v["ended"]) for v in verdicts] == [("void", ["step"]), ("void", ["step"])]
