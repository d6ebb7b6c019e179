"""/api/jobs: submit, list, read, cancel, delete and share jobs, pause, resume and step them or change their lr, and
read their events and metrics.

Who may do what is declared by the dependencies of nndojo.api.access (ReadableJob, ControllableJob); the routes only
act.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Response

from nndojo.api.access import CallerDep, ControllableJob, ReadableJob, missing
from nndojo.api.datasets import usable_upload
from nndojo.api.deps import ClassroomDep, ManagerDep, SettingsDep, UploadsDep, checked
from nndojo.api.schemas import Deleted, Job, JobChange, JobSummary, Metrics, Status
from nndojo.jobs.log import MAX_PAGE
from nndojo.jobs.manager import JobFinished, JobManager, JobNotControllable, JobNotFound, QuotaFull
from nndojo.spec import JobSpec

router = APIRouter(prefix="/api/jobs", tags=["jobs"])

NOT_FOUND = {404: {"description": "no job with this id, or not one the caller may see"}}
FORBIDDEN = {403: {"description": "a classmate's shared run: read-only"}}
SEQ_MAX = 2**53  # seqs are small; this keeps query numbers inside what every database and JSON reader holds exactly
Seq = Annotated[int, Query(ge=-1, le=SEQ_MAX, description="only events with seq > after")]


@router.post("", status_code=201, response_model=Job, responses={429: {"description": "a queue limit is full: detail.code names it"}})
async def submit_job(
    spec: JobSpec, settings: SettingsDep, manager: ManagerDep, caller: CallerDep, classroom: ClassroomDep, uploads: UploadsDep
) -> dict[str, Any]:
    """Validates, shape-checks and size-checks the spec (against the class's limits for a student), then queues it;
    the reply shows its place in line."""
    upload = await usable_upload(spec, caller, uploads)
    report = checked(spec, settings, manager, caller.spec_limits(classroom))
    try:
        return manager.submit(spec, report, caller.owner(classroom), upload)
    except QuotaFull as exc:
        raise HTTPException(429, {"msg": str(exc), "code": exc.code, "limit": exc.limit}) from exc


@router.get("", response_model=list[JobSummary])
async def list_jobs(
    manager: ManagerDep,
    caller: CallerDep,
    status: Annotated[Status | None, Query(description="only jobs with this status")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    class_id: Annotated[str | None, Query(max_length=64, description="the teacher: only this class's jobs")] = None,
    owner: Annotated[str | None, Query(max_length=64, description="only this user's jobs")] = None,
) -> list[dict[str, Any]]:
    """Job summaries, newest first: a student's own and the ones shared with their class; the teacher's classes'."""
    return await manager.list(status, limit, caller.job_filter(class_id, owner))


@router.get("/{job_id}", response_model=Job, responses=NOT_FOUND)
async def get_job(job: ReadableJob) -> dict[str, Any]:
    return job


@router.get(
    "/{job_id}/events",
    responses={
        200: {
            "content": {"application/json": {"schema": {"type": "array", "items": {"type": "object"}}}},
            "headers": {"X-Next-After": {"description": "the last seq of this page (or `after` when empty): pass it as `after` for the next page", "schema": {"type": "integer"}}},
        },
        **NOT_FOUND,
    },
)
async def job_events(
    job: ReadableJob,
    manager: ManagerDep,
    after: Seq = -1,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="at most this many events (and at most a few MB)")] = MAX_PAGE,
) -> Response:
    """The job's events with seq > after, oldest first, a page at a time (at most `limit` events and a few MB): stored
    JSON joined as is, never re-encoded. Read on with `after` = X-Next-After until a page is empty or ends with the
    final status event."""
    events = await manager.events_page(job["id"], after, limit)
    headers = {"X-Next-After": str(events[-1].seq if events else after)}
    return Response("[" + ",".join(event.data for event in events) + "]", media_type="application/json", headers=headers)


@router.get("/{job_id}/metrics", response_model=Metrics, responses=NOT_FOUND)
async def job_metrics(job: ReadableJob, manager: ManagerDep, after: Seq = -1) -> dict[str, Any]:
    """Per epoch only the scalars, as columns: what lists, Compare and dashboards poll (with `after=last_seq`)."""
    return {**await manager.metrics(job["id"], after), "status": job["status"]}


@router.post("/{job_id}/cancel", response_model=Job, responses={**NOT_FOUND, **FORBIDDEN, 409: {"description": "the job already finished"}})
async def cancel_job(job: ControllableJob, manager: ManagerDep) -> dict[str, Any]:
    """Stops a queued job at once and a running one within a step; replies with the job once it has stopped."""
    try:
        return await manager.cancel(job["id"])
    except JobNotFound as exc:
        raise missing(job["id"]) from exc
    except JobFinished as exc:
        raise HTTPException(409, f"the job is already {exc.status}: only queued or running jobs can be cancelled") from exc


CONTROL_RESPONSES = {**NOT_FOUND, **FORBIDDEN, 409: {"description": "the job finished, has not started yet, or (step) is not paused"}}


async def _control(job: dict[str, Any], manager: JobManager, action: str, value: float | None = None) -> dict[str, Any]:
    try:
        return await manager.control(job["id"], action, value)
    except JobNotFound as exc:
        raise missing(job["id"]) from exc
    except JobFinished as exc:
        raise HTTPException(409, f"the job is already {exc.status}: only a running or paused job can be paused, resumed, stepped or given a new lr") from exc
    except JobNotControllable as exc:
        raise HTTPException(409, str(exc)) from exc


@router.post("/{job_id}/pause", response_model=Job, responses=CONTROL_RESPONSES)
async def pause_job(job: ControllableJob, manager: ManagerDep) -> dict[str, Any]:
    """The job stops after its current step and waits, status `paused`, holding its slot (at most max_paused_s);
    replies once it has paused. Pausing a paused job changes nothing."""
    return await _control(job, manager, "pause")


@router.post("/{job_id}/resume", response_model=Job, responses=CONTROL_RESPONSES)
async def resume_job(job: ControllableJob, manager: ManagerDep) -> dict[str, Any]:
    """A paused job trains on, status `running`. Resuming a running job changes nothing."""
    return await _control(job, manager, "resume")


@router.post("/{job_id}/step", response_model=Job, responses=CONTROL_RESPONSES)
async def step_job(job: ControllableJob, manager: ManagerDep) -> dict[str, Any]:
    """A paused job trains to the end of the next epoch (the rest of the current one when paused mid-epoch), then
    pauses again."""
    return await _control(job, manager, "step")


@router.patch("/{job_id}", response_model=Job, responses=CONTROL_RESPONSES)
async def change_job(change: JobChange, job: ControllableJob, manager: ManagerDep) -> dict[str, Any]:
    """A new learning rate from the next step on, running or paused: the next epoch event carries it, a `control`
    event records when, and the spec's lr schedule goes on relative to it."""
    return await _control(job, manager, "lr", change.lr)


@router.delete("/{job_id}", response_model=Deleted, responses={**NOT_FOUND, **FORBIDDEN})
async def delete_job(job: ControllableJob, manager: ManagerDep) -> dict[str, Any]:
    """Cancels the job if it is queued or running, then forgets it and its events."""
    try:
        await manager.delete(job["id"])
    except JobNotFound as exc:
        raise missing(job["id"]) from exc
    return {"id": job["id"], "deleted": True}


@router.post("/{job_id}/share", response_model=Job, responses={**NOT_FOUND, **FORBIDDEN})
async def share_job(job: ControllableJob, manager: ManagerDep) -> dict[str, Any]:
    """The run becomes visible, read-only, to the owner's whole class (the teacher's own runs: to every class)."""
    return await manager.set_shared(job["id"], True)


@router.delete("/{job_id}/share", response_model=Job, responses={**NOT_FOUND, **FORBIDDEN})
async def unshare_job(job: ControllableJob, manager: ManagerDep) -> dict[str, Any]:
    return await manager.set_shared(job["id"], False)
