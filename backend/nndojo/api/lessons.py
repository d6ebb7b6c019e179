"""/api/lessons: the textbook's experiments with their variants' specs, and their verdicts over a caller's jobs."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, HTTPException, Path
from pydantic import BaseModel, Field

from nndojo.api.access import CallerDep, missing
from nndojo.api.deps import ManagerDep, body_errors
from nndojo.jobs.manager import JobManager
from nndojo.lessons import FINAL, LESSONS, Run, evaluate, get_lesson, presets
from nndojo.spec import JobSpec

router = APIRouter(prefix="/api/lessons", tags=["lessons"])
IGNORED = ("name", "device")  # a variant's job may be renamed or placed anywhere; everything else is the experiment


class VerdictRequest(BaseModel):
    jobs: dict[Annotated[str, Field(max_length=64)], Annotated[str, Field(max_length=64)]] = Field(
        ..., max_length=16, description="variant id -> job id; variants left out are pending"
    )


@router.get("")
async def list_lessons(_: CallerDep) -> dict[str, Any]:
    """Every lesson (titles, texts, the book's expected result, variants with their specs, verdict claims) in the book's
    order, and the page's presets (each one of examples/*.json)."""
    return {"lessons": [lesson.as_dict() for lesson in LESSONS], "presets": presets()}


@router.post("/{lesson_id}/verdicts", responses={404: {"description": "no such lesson, or a job the caller may not see"}})
async def lesson_verdicts(
    lesson_id: Annotated[str, Path(max_length=64)], body: VerdictRequest, manager: ManagerDep, caller: CallerDep
) -> dict[str, Any]:
    """Each verdict of the lesson decided on the given jobs' stored metrics and first and last epoch events, with the
    numbers it was decided on; `pending` while a run it needs is missing or unfinished."""
    lesson = get_lesson(lesson_id)
    if lesson is None:
        raise HTTPException(404, f"no lesson {lesson_id!r}; choose one of {', '.join(lesson.id for lesson in LESSONS)}")
    variants = {variant.id: variant for variant in lesson.variants}
    errors = [
        {
            "loc": ["jobs", key],
            "msg": f"no variant {key!r} in lesson {lesson_id!r}; its variants: {', '.join(variants)}",
            "type": "unknown_variant",
        }
        for key in body.jobs
        if key not in variants
    ]
    if errors:
        raise body_errors(errors)
    runs: dict[str, Run | None] = {}
    for key, job_id in body.jobs.items():
        job = await manager.get(job_id)
        if job is None or not caller.can_read(job):
            raise missing(job_id)
        if not same_experiment(job["spec"], variants[key].spec):
            msg = f"job {job_id!r} is not the spec of variant {key!r}: a verdict is decided on the lesson's own runs"
            raise body_errors([{"loc": ["jobs", key], "msg": msg, "type": "not_this_variant"}])
        runs[key] = await read_run(manager, job)
    return {"lesson": lesson.id, "verdicts": evaluate(lesson, runs), "runs": {k: run.status for k, run in runs.items() if run is not None}}


def same_experiment(job_spec: dict[str, Any], variant_spec: dict[str, Any]) -> bool:
    """Both specs with every default filled in agree on everything but the name and device."""
    a, b = (JobSpec.model_validate(s).model_dump(mode="json") for s in (job_spec, variant_spec))
    return {k: v for k, v in a.items() if k not in IGNORED} == {k: v for k, v in b.items() if k not in IGNORED}


async def read_run(manager: JobManager, job: dict[str, Any]) -> Run:
    """A job as a verdict reads it: its metrics columns and its first and last epoch events, from the store; a job still
    going decides nothing yet, so nothing of it is read (the page asks every second while a lesson runs)."""
    if job["status"] not in FINAL:
        return Run(spec=job["spec"], metrics={}, first=None, last=None, status=job["status"])
    metrics = await manager.metrics(job["id"], -1)
    seqs = metrics.get("seq") or []
    first = last = None
    if seqs:
        first = orjson.loads((await manager.events_page(job["id"], seqs[0] - 1, 1))[0].data)
        last = first if seqs[-1] == seqs[0] else orjson.loads((await manager.events_page(job["id"], seqs[-1] - 1, 1))[0].data)
    return Run(spec=job["spec"], metrics=metrics, first=first, last=last, status=job["status"])
