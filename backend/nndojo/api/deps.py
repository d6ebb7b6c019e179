"""Typed dependencies: the settings, the job manager and the classroom the app was built with."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError

from nndojo.classroom.service import Classroom
from nndojo.config import Settings
from nndojo.jobs.manager import JobManager
from nndojo.spec import JobSpec, Limits, ShapeReport, SpecError, check_spec
from nndojo.uploads.service import Uploads


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_manager(request: Request) -> JobManager:
    return request.app.state.manager


def get_classroom(request: Request) -> Classroom:
    return request.app.state.classroom


def get_uploads(request: Request) -> Uploads:
    return request.app.state.uploads


SettingsDep = Annotated[Settings, Depends(get_settings)]
ManagerDep = Annotated[JobManager, Depends(get_manager)]
ClassroomDep = Annotated[Classroom, Depends(get_classroom)]
UploadsDep = Annotated[Uploads, Depends(get_uploads)]


def body_errors(errors: list[dict[str, Any]]) -> RequestValidationError:
    """A 422 in FastAPI's shape, each loc under 'body' like the ones FastAPI makes itself."""
    return RequestValidationError([{**error, "loc": ["body", *error["loc"]]} for error in errors])


def checked(spec: JobSpec, settings: Settings, manager: JobManager | None = None, limits: Limits | None = None) -> ShapeReport:
    """Shapes, sizes and the limits (this server's, or a class's lower ones), or a 422 naming each field that cannot
    work."""
    try:
        report = check_spec(spec, limits or settings.limits, datasets_dir=settings.datasets_dir)
    except SpecError as exc:
        raise body_errors(exc.errors) from exc
    if manager is not None and spec.device == "cuda" and not manager.has_gpu:
        raise body_errors([{"loc": ["device"], "msg": "this server has no GPU: use 'auto' or 'cpu'", "type": "no_gpu"}])
    return report
