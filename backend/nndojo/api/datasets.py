"""/api/datasets: upload a CSV as a dataset, list, delete and share uploads; and the rule that a job may name only
an upload its caller may use.

The body is bounded before it gets here (nndojo.api.guard: max_upload_bytes, on Content-Length and on the bytes
streamed); the CSV is parsed in a thread by nndojo.datasets.upload, whose refusals name the row and column.
"""

from __future__ import annotations

import asyncio
from pathlib import PurePath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, HTTPException, UploadFile

from nndojo.api.access import Caller, CallerDep, ControllableUpload, ReadableUpload
from nndojo.api.deps import ClassroomDep, SettingsDep, UploadsDep, body_errors
from nndojo.config import Settings
from nndojo.datasets.upload import MAX_CLASSES, MAX_FEATURES, MAX_TITLE, MIN_ROWS, UploadError, parse_upload
from nndojo.spec import JobSpec
from nndojo.spec.check import unknown_upload
from nndojo.uploads.service import Uploads

router = APIRouter(prefix="/api/datasets", tags=["datasets"])

NOT_FOUND = {404: {"description": "no upload of this name, or not one the caller may use"}}
FORBIDDEN = {403: {"description": "a classmate's shared upload: use it, not change it"}}
UPLOAD_PREFIX = "upload-"


def upload_limits(settings: Settings) -> dict[str, int]:
    """What a CSV may hold on this server (the catalog lists them, so the page can say so before an upload)."""
    return {
        "max_upload_bytes": settings.max_upload_bytes,
        "max_rows": settings.max_samples,
        "min_rows": MIN_ROWS,
        "max_features": MAX_FEATURES,
        "max_classes": MAX_CLASSES,
        "max_uploads_per_student": settings.max_uploads_per_student,
    }


def view(entry: dict[str, Any], caller: Caller, names: Any) -> dict[str, Any]:
    """An upload as the catalog and these routes show it: a catalog dataset entry, plus what the page shows of it."""
    owner_id = entry["owner_id"]
    classes = entry["classes"]
    return {
        "name": entry["name"],
        "kind": "tabular",
        "input_shape": [len(entry["features"])],
        "n_classes": None if classes is None else len(classes),
        "task": entry["task"],
        "description": entry["title"],
        "available": True,
        "unavailable_reason": None,
        "title": entry["title"],
        "features": entry["features"],
        "target": entry["target"],
        "class_names": classes,
        "n_rows": entry["n_rows"],
        "created_at": entry["created_at"],
        "owner": None if owner_id is None else {"id": owner_id, "name": names(owner_id) or ""},
        "shared": entry["shared"],
        "can_change": caller.control(entry) == 200,
    }


def visible(uploads: Uploads, caller: Caller | None, names: Any) -> list[dict[str, Any]]:
    """The uploads this caller may train on, oldest first (none without a session in classroom mode)."""
    if caller is None:
        return []
    return [view(entry, caller, names) for entry in uploads.entries.values() if caller.can_read(entry)]


async def usable_upload(spec: JobSpec, caller: Caller, uploads: Uploads) -> bytes | None:
    """The packed upload a spec names, or None for a built-in set; a 422 naming dataset.name when it is not one the
    caller may use, the same whether it never existed or is someone else's."""
    name = spec.dataset.name
    if not name.startswith(UPLOAD_PREFIX):
        return None
    entry = uploads.get(name)
    blob = None if entry is None or not caller.can_read(entry) else await uploads.blob(name)
    if blob is None:
        raise body_errors([unknown_upload(name)])
    return blob


def _title(name: str | None, filename: str | None) -> str:
    """The name given, else the file's; printable characters only (a NUL is no name, and PostgreSQL refuses it)."""
    given = "".join(ch for ch in (name or "") if ch.isprintable())
    title = " ".join(given.split()) or "".join(ch for ch in PurePath(filename or "").stem if ch.isprintable()).strip() or "data"
    return title[:MAX_TITLE]


@router.post(
    "",
    status_code=201,
    responses={
        413: {"description": "the file is over max_upload_bytes"},
        422: {"description": "the file cannot be a dataset: detail names the row and column (ctx.code, ctx.row, ctx.column)"},
        429: {"description": "a student keeps at most max_uploads_per_student uploads"},
    },
)
async def upload_dataset(
    settings: SettingsDep,
    caller: CallerDep,
    classroom: ClassroomDep,
    uploads: UploadsDep,
    file: Annotated[UploadFile, File(description="the CSV: a header row naming the columns, then one row per sample (UTF-8)")],
    target: Annotated[str, Form(min_length=1, max_length=200, description="the header of the column to predict")],
    name: Annotated[str | None, Form(max_length=MAX_TITLE, description="a title for the set; default: the file's name")] = None,
    task: Annotated[Literal["classification", "regression"] | None, Form(description="inferred when absent")] = None,
    features: Annotated[list[str] | None, Form(description="the feature columns (repeat the field); default: all but the target")] = None,
) -> dict[str, Any]:
    """Parses and checks the CSV, stores it with the server's data and returns its catalog entry: its `name`
    (upload-…) is usable as a job's dataset.name by the uploader (and, once shared, the class)."""
    user = caller.user
    if user is not None and user.role == "student" and uploads.count_of(user.id) >= settings.max_uploads_per_student:
        cap = settings.max_uploads_per_student
        msg = f"you already keep {cap} uploaded datasets, the most allowed (max_uploads_per_student): delete one first"
        raise HTTPException(429, {"msg": msg, "code": "max_uploads_per_student", "limit": cap})
    raw = await file.read()
    max_rows = caller.spec_limits(classroom).max_samples
    title = _title(name, file.filename)
    try:
        upload = await asyncio.to_thread(parse_upload, raw, title, target, task=task, features=features or None, max_rows=max_rows)
    except UploadError as exc:
        raise body_errors([exc.item()]) from exc
    owner_id = None if user is None else user.id
    class_id = None if user is None else user.class_id
    entry = await uploads.add(upload, owner_id, class_id)
    return view(entry, caller, classroom.store.name_of)


@router.get("")
async def list_datasets(caller: CallerDep, classroom: ClassroomDep, uploads: UploadsDep) -> list[dict[str, Any]]:
    """The uploads the caller may use: their own and, in classroom mode, the ones shared with their class."""
    return visible(uploads, caller, classroom.store.name_of)


@router.delete("/{name}", responses={**NOT_FOUND, **FORBIDDEN})
async def delete_dataset(entry: ControllableUpload, uploads: UploadsDep) -> dict[str, Any]:
    """Forgets the upload and its data. Jobs already queued on it keep their copy; new ones cannot name it."""
    await uploads.delete(entry["name"])
    return {"name": entry["name"], "deleted": True}


@router.post("/{name}/share", responses={**NOT_FOUND, **FORBIDDEN})
async def share_dataset(entry: ControllableUpload, caller: CallerDep, classroom: ClassroomDep, uploads: UploadsDep) -> dict[str, Any]:
    """The whole class may train on it (the teacher's own: every class)."""
    return view(await uploads.set_shared(entry["name"], True), caller, classroom.store.name_of)


@router.delete("/{name}/share", responses={**NOT_FOUND, **FORBIDDEN})
async def unshare_dataset(entry: ControllableUpload, caller: CallerDep, classroom: ClassroomDep, uploads: UploadsDep) -> dict[str, Any]:
    return view(await uploads.set_shared(entry["name"], False), caller, classroom.store.name_of)


@router.get("/{name}", responses=NOT_FOUND)
async def get_dataset(entry: ReadableUpload, caller: CallerDep, classroom: ClassroomDep) -> dict[str, Any]:
    return view(entry, caller, classroom.store.name_of)
