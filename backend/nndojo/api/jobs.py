"""/api/jobs: submit, list, read, cancel and delete jobs, and read their events."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Response

from nndojo.api.deps import ManagerDep, SettingsDep, checked
from nndojo.api.schemas import Deleted, Job, JobSummary, Status
from nndojo.jobs.manager import JobFinished, JobNotFound, QueueFull
from nndojo.spec import JobSpec

router = APIRouter(prefix="/api/jobs", tags=["jobs"])

JobId = Annotated[str, Path(max_length=64, description="the id POST /api/jobs returned")]
NOT_FOUND = {404: {"description": "no job with this id"}}


def _missing(job_id: str) -> HTTPException:
    return HTTPException(404, f"no job with id {job_id!r}")


@router.post("", status_code=201, response_model=Job, responses={429: {"description": "the queue is full (max_queue)"}})
async def submit_job(spec: JobSpec, settings: SettingsDep, manager: ManagerDep) -> dict[str, Any]:
    """Validates, shape-checks and size-checks the spec, then queues it; the reply shows its place in line."""
    report = checked(spec, settings, manager)
    try:
        return manager.submit(spec, report)
    except QueueFull as exc:
        raise HTTPException(429, str(exc)) from exc


@router.get("", response_model=list[JobSummary])
async def list_jobs(
    manager: ManagerDep,
    status: Annotated[Status | None, Query(description="only jobs with this status")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """Job summaries, newest first."""
    return await manager.list(status, limit)


@router.get("/{job_id}", response_model=Job, responses=NOT_FOUND)
async def get_job(job_id: JobId, manager: ManagerDep) -> dict[str, Any]:
    job = await manager.get(job_id)
    if job is None:
        raise _missing(job_id)
    return job


@router.get(
    "/{job_id}/events",
    responses={200: {"content": {"application/json": {"schema": {"type": "array", "items": {"type": "object"}}}}}, **NOT_FOUND},
)
async def job_events(
    job_id: JobId,
    manager: ManagerDep,
    after: Annotated[int, Query(ge=-1, description="only events with seq > after")] = -1,
    limit: Annotated[int | None, Query(ge=1, description="at most this many events")] = None,
) -> Response:
    """The job's events with seq > after, oldest first: stored JSON joined as is, never re-encoded."""
    if await manager.get(job_id) is None:
        raise _missing(job_id)
    events = await manager.events_after(job_id, after, limit)
    return Response("[" + ",".join(event.data for event in events) + "]", media_type="application/json")


@router.post("/{job_id}/cancel", response_model=Job, responses={**NOT_FOUND, 409: {"description": "the job already finished"}})
async def cancel_job(job_id: JobId, manager: ManagerDep) -> dict[str, Any]:
    """Stops a queued job at once and a running one within a second; replies with the job once it has stopped."""
    try:
        return await manager.cancel(job_id)
    except JobNotFound as exc:
        raise _missing(job_id) from exc
    except JobFinished as exc:
        raise HTTPException(409, f"the job is already {exc.status}: only queued or running jobs can be cancelled") from exc


@router.delete("/{job_id}", response_model=Deleted, responses=NOT_FOUND)
async def delete_job(job_id: JobId, manager: ManagerDep) -> dict[str, Any]:
    """Cancels the job if it is queued or running, then forgets it and its events."""
    try:
        await manager.delete(job_id)
    except JobNotFound as exc:
        raise _missing(job_id) from exc
    return {"id": job_id, "deleted": True}
