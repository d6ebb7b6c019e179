"""/api/classes: the teacher's classes, their join codes, students, limits and results."""

from __future__ import annotations

import asyncio
import csv
import io
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from nndojo.api.access import TeacherDep
from nndojo.api.deps import ClassroomDep, ManagerDep, UploadsDep
from nndojo.classroom.limits import ClassLimitsPatch
from nndojo.jobs.store import JobFilter
from nndojo.spec import summary

router = APIRouter(prefix="/api/classes", tags=["classes"])

ClassId = Annotated[str, Path(max_length=64)]
MAX_CSV_JOBS = 10_000


class NewClass(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=100)]


class ClassPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str | None, Field(min_length=1, max_length=100)] = None
    open: bool | None = None
    limits: ClassLimitsPatch | None = None


async def _view(classroom: Any, manager: Any, found: dict[str, Any]) -> dict[str, Any]:
    await manager.writer.flush()
    counts = await asyncio.to_thread(manager.store.job_counts, found["id"])
    return classroom.class_view(found, counts)


async def _found(classroom: Any, class_id: str) -> dict[str, Any]:
    found = await asyncio.to_thread(classroom.store.get_class, class_id)
    if found is None:
        raise HTTPException(404, f"no class with id {class_id!r}")
    return found


@router.post("", status_code=201)
async def create_class(body: NewClass, _: TeacherDep, classroom: ClassroomDep) -> dict[str, Any]:
    """A new class with a fresh 6-character join code, open to students."""
    found = await asyncio.to_thread(classroom.store.create_class, " ".join(body.name.split()))
    return classroom.class_view(found, {})


@router.get("")
async def list_classes(_: TeacherDep, classroom: ClassroomDep, manager: ManagerDep) -> list[dict[str, Any]]:
    """Every class with its students and how many jobs each has running, queued and in all."""
    classes = await asyncio.to_thread(classroom.store.classes)
    return [await _view(classroom, manager, found) for found in classes]


@router.get("/{class_id}")
async def get_class(class_id: ClassId, _: TeacherDep, classroom: ClassroomDep, manager: ManagerDep) -> dict[str, Any]:
    return await _view(classroom, manager, await _found(classroom, class_id))


@router.patch("/{class_id}")
async def update_class(class_id: ClassId, body: ClassPatch, _: TeacherDep, classroom: ClassroomDep, manager: ManagerDep) -> dict[str, Any]:
    """Renames, opens or closes the class (a closed class admits no new student), or changes its limits."""
    await _found(classroom, class_id)
    changes: dict[str, Any] = {}
    if body.name is not None:
        changes["name"] = " ".join(body.name.split())
    if body.open is not None:
        changes["open"] = body.open
    if body.limits is not None:
        changes["limits"] = classroom.merged_limits(class_id, body.limits.model_dump(exclude_unset=True))
    await asyncio.to_thread(classroom.store.update_class, class_id, changes)
    return await _view(classroom, manager, await _found(classroom, class_id))


@router.delete("/{class_id}", status_code=204)
async def delete_class(class_id: ClassId, _: TeacherDep, classroom: ClassroomDep, manager: ManagerDep, uploads: UploadsDep) -> Response:
    """The class, its students (their sessions end) and all their jobs with their events and uploaded datasets."""
    await _found(classroom, class_id)
    await manager.delete_class_jobs(class_id)
    await uploads.delete_class(class_id)
    await asyncio.to_thread(classroom.store.delete_class, class_id)
    return Response(status_code=204)


CSV_COLUMNS = (
    "student",
    "job_id",
    "job_name",
    "status",
    "dataset",
    "setup",
    "optimizer",
    "lr",
    "epochs",
    "epoch",
    "train_loss",
    "train_accuracy",
    "test_loss",
    "test_accuracy",
    "created_at",
    "finished_at",
)


def _csv_cell(value: Any) -> Any:
    """Spreadsheets run cells that start with = + - @ as formulas: a student's run name must stay text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


@router.get("/{class_id}/results.csv", response_class=Response, responses={200: {"content": {"text/csv": {}}}})
async def class_results(class_id: ClassId, _: TeacherDep, classroom: ClassroomDep, manager: ManagerDep) -> Response:
    """One row per job of the class: who, what setup, how far, and its final train/test loss and accuracy."""
    found = await _found(classroom, class_id)
    jobs = await manager.list(None, MAX_CSV_JOBS, JobFilter(class_ids=(class_id,)))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for job in reversed(jobs):
        settings = summary(job["spec"])
        final = job.get("final") or {}
        train, test = final.get("train") or {}, final.get("test") or {}
        row = [
            (job.get("owner") or {}).get("name", ""),
            job["id"],
            job["name"],
            job["status"],
            settings["dataset"],
            " → ".join(settings["layers"]) or "(no hidden layer)",
            settings["optimizer"],
            settings["lr"],
            settings["epochs"],
            job.get("epoch"),
            train.get("loss"),
            train.get("accuracy"),
            test.get("loss"),
            test.get("accuracy"),
            job["created_at"],
            job.get("finished_at"),
        ]
        writer.writerow([_csv_cell(value) for value in row])
    filename = "".join(ch if ch.isascii() and ch.isalnum() else "-" for ch in found["name"]).strip("-") or "class"  # headers are latin-1
    return Response(
        "\ufeff" + out.getvalue(),  # a BOM, so that Excel reads Japanese names as UTF-8
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}-results.csv"'},
    )
