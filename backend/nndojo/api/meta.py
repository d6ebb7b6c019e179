"""Everything around the jobs: health, catalog, schema, the pre-flight check, dataset previews and the optimizer race."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from nndojo import __version__
from nndojo.api.access import CallerDep, identify, no_upload
from nndojo.api.datasets import upload_limits, usable_upload, visible
from nndojo.api.deps import ClassroomDep, ManagerDep, SettingsDep, UploadsDep, body_errors, checked
from nndojo.api.schemas import CheckReport, Health
from nndojo.datasets.info import DATASETS, MAX_PREVIEW_IMAGES
from nndojo.spec import JobSpec
from nndojo.spec.catalog import catalog
from nndojo.spec.check import limit_error
from nndojo.spec.models import DatasetSpec

router = APIRouter(prefix="/api", tags=["meta"])
QUERY_INT_MAX = 2**31 - 1  # the dataset's own limits apply after this; it only keeps huge integers out of every layer below


@router.get("/health", response_model=Health)
async def health(manager: ManagerDep, settings: SettingsDep) -> dict[str, Any]:
    """Answers once a training slot is up; `devices` is what the workers can train on, `mode` personal or classroom,
    `placement` the cost models the workers measured at start-up, by which `device: auto` jobs are placed."""
    devices = await manager.devices()
    return {"status": "ok", "version": __version__, "devices": devices, "mode": settings.mode, "placement": manager.placement()}


@router.get("/catalog")
async def get_catalog(request: Request, settings: SettingsDep, classroom: ClassroomDep, uploads: UploadsDep) -> dict[str, Any]:
    """Every choice a client may make, with this server's limits; the datasets include the uploads the caller may use
    (none without a session in classroom mode: the catalog itself needs none)."""
    found = catalog(settings.limits, settings.datasets_dir)

    def names(user_id: str) -> str | None:  # asked only for an upload with an owner (classroom mode)
        return classroom.store.name_of(user_id)

    found["datasets"] += visible(uploads, identify(request), names)
    found["upload_limits"] = upload_limits(settings)
    return found


@router.get("/schema")
async def get_schema() -> dict[str, Any]:
    """The JSON Schema of a job spec."""
    return JobSpec.model_json_schema()


@router.post("/check", response_model=CheckReport)
async def check(
    spec: JobSpec, settings: SettingsDep, manager: ManagerDep, caller: CallerDep, classroom: ClassroomDep, uploads: UploadsDep
) -> dict[str, Any]:
    """Each layer's shapes and parameters, or the same 422 that POST /api/jobs would give."""
    await usable_upload(spec, caller, uploads)
    return checked(spec, settings, manager, caller.spec_limits(classroom)).as_dict()


@router.get("/datasets/{name}/preview", responses={404: {"description": "unknown dataset"}, 409: {"description": "its files are missing"}})
async def dataset_preview(
    settings: SettingsDep,
    caller: CallerDep,
    uploads: UploadsDep,
    name: Annotated[str, Path(max_length=64)],
    seed: Annotated[int, Query(ge=0, le=QUERY_INT_MAX)] = 0,
    noise: Annotated[float | None, Query(allow_inf_nan=False)] = None,
    n_samples: Annotated[int | None, Query(ge=0, le=QUERY_INT_MAX)] = None,
    test_fraction: Annotated[float | None, Query(allow_inf_nan=False)] = None,
    train_limit: Annotated[int | None, Query(ge=0, le=QUERY_INT_MAX)] = None,
    max_images: Annotated[int, Query(ge=0, le=MAX_PREVIEW_IMAGES)] = 32,
) -> dict[str, Any]:
    """The points (2-D sets) or a sample of training images, as the job with these settings would see them."""
    from nndojo.datasets import DatasetUnavailable, preview  # numpy and scikit-learn only; loaded on first use

    entry = uploads.get(name)
    if entry is not None and not caller.can_read(entry):
        raise no_upload(name)
    if name not in DATASETS and entry is None:
        raise HTTPException(404, f"no dataset {name!r}; choose one of {', '.join(DATASETS)} or an uploaded set")
    given = {"noise": noise, "n_samples": n_samples, "test_fraction": test_fraction, "train_limit": train_limit}
    try:
        spec = DatasetSpec(name=name, **{key: value for key, value in given.items() if value is not None})  # type: ignore[arg-type]
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False)
        raise RequestValidationError([{**error, "loc": ["query", *error["loc"]]} for error in errors]) from exc
    if spec.n_samples > settings.max_samples:
        msg = f"at most {settings.max_samples} samples on this server (limit max_samples)"
        raise RequestValidationError([limit_error(("query", "n_samples"), msg, "max_samples", settings.limits, value=spec.n_samples)])
    upload = None if entry is None else await uploads.load(name)
    if entry is not None and upload is None:  # deleted a moment ago
        raise no_upload(name)
    try:
        return await asyncio.to_thread(preview, spec, seed, settings.datasets_dir, max_images, upload)
    except DatasetUnavailable as exc:
        raise HTTPException(409, str(exc)) from exc
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc


@router.post("/optimizer-race")
async def optimizer_race(manager: ManagerDep, _: CallerDep, request: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
    """Runs optimisers on a 2-D function and returns their paths: in a worker, which has torch loaded already."""
    reply = await manager.race(request)
    if "errors" in reply:
        raise body_errors(reply["errors"])
    return reply["result"]
