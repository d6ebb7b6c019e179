"""Who is calling, and what they may do: the one place where the API decides access (routes only declare it).

In personal mode every caller is the one user and may do everything. In classroom mode a request needs a session
(the `nndojo_session` cookie or `Authorization: Bearer TOKEN`), and jobs follow this table:

|                         | owner | classmate              | teacher | no session |
| read job, events, …     | yes   | only if shared         | yes     | 401        |
| cancel, delete, share,  | yes   | 403 if shared, else 404| yes     | 401        |
| pause, resume, step, lr |       |                        |         |            |

A job the caller may not see is 404, never 403: ids reveal nothing. Uploaded datasets follow the same table
(entries carry owner_id, class_id and shared as jobs do). Websockets follow the same rules, and also need a
same-origin `Origin` header when they send one (a browser always does).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, HTTPException, Path, Request
from starlette.requests import HTTPConnection

from nndojo.classroom.limits import spec_limits, turn_limits
from nndojo.classroom.service import Classroom
from nndojo.classroom.store import User
from nndojo.jobs.manager import JobManager, Owner
from nndojo.jobs.scheduler import TurnLimits
from nndojo.jobs.store import JobFilter
from nndojo.spec import Limits

COOKIE = "nndojo_session"
JobId = Annotated[str, Path(max_length=64, description="the id POST /api/jobs returned")]


@dataclass(frozen=True)
class Caller:
    """The user behind a request; `user` is None in personal mode (the one user)."""

    user: User | None
    token: str | None = None

    @property
    def is_teacher(self) -> bool:
        return self.user is None or self.user.role == "teacher"

    def owner(self, classroom: Classroom) -> Owner | None:
        """Whom a submission belongs to, with the turn limits of their class (students only)."""
        if self.user is None:
            return None
        if self.user.role == "teacher":
            return Owner(self.user.id, None, TurnLimits())
        return Owner(self.user.id, self.user.class_id, turn_limits(classroom.limits_of(self.user.class_id)))

    def spec_limits(self, classroom: Classroom) -> Limits:
        """The limits a spec of this caller is checked against: a student's class may lower the server's."""
        if self.user is None or self.user.class_id is None:
            return classroom.settings.limits
        return spec_limits(classroom.limits_of(self.user.class_id), classroom.settings.limits)

    def can_read(self, job: dict[str, Any]) -> bool:
        if self.is_teacher or self.user is None:
            return True
        return job.get("owner_id") == self.user.id or (bool(job.get("shared")) and job.get("class_id") in (self.user.class_id, None))

    def control(self, job: dict[str, Any]) -> int:
        """200 when the caller may cancel, delete, share, pause, resume or step the job or change its lr; else the status
        to answer (403 or 404)."""
        if self.is_teacher or self.user is None or job.get("owner_id") == self.user.id:
            return 200
        return 403 if self.can_read(job) else 404

    def job_filter(self, class_id: str | None = None, owner: str | None = None) -> JobFilter:
        if self.user is not None and not self.is_teacher:
            return JobFilter(owner_id=owner, student=(self.user.id, self.user.class_id))
        return JobFilter(owner_id=owner, class_ids=None if class_id is None else (class_id,))


def session_token(conn: HTTPConnection, classroom: Classroom) -> str | None:
    """The bearer token, or the token inside a validly signed session cookie."""
    auth = conn.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    cookie = conn.cookies.get(COOKIE)
    return None if cookie is None else classroom.signer.unsign(cookie)


def identify(conn: HTTPConnection) -> Caller | None:
    """The caller of a request or websocket; None in classroom mode without a valid session."""
    classroom: Classroom = conn.app.state.classroom
    if conn.app.state.settings.mode == "personal":
        return Caller(None)
    token = session_token(conn, classroom)
    user = None if token is None else classroom.user_of(token)
    return None if user is None else Caller(user, token)


def same_origin(conn: HTTPConnection) -> bool:
    """A websocket's Origin, when sent, must be this server's own (scheme aside: a TLS proxy may sit in front)."""
    origin = conn.headers.get("origin")
    if origin is None:
        return True  # not a browser: scripts authenticate with their token
    host = conn.headers.get("host", "")
    return urlsplit(origin).netloc.lower() == host.lower()


def get_caller(request: Request) -> Caller:
    caller = identify(request)
    if caller is None:
        raise HTTPException(401, "log in first: POST /api/session", headers={"WWW-Authenticate": "Bearer"})
    return caller


def get_teacher(request: Request) -> Caller:
    caller = get_caller(request)
    if not caller.is_teacher or caller.user is None:
        raise HTTPException(403, "only the teacher may do this")
    return caller


CallerDep = Annotated[Caller, Depends(get_caller)]
TeacherDep = Annotated[Caller, Depends(get_teacher)]


def missing(job_id: str) -> HTTPException:
    return HTTPException(404, f"no job with id {job_id!r}")


async def readable_job(job_id: JobId, request: Request, caller: CallerDep) -> dict[str, Any]:
    """The job, if the caller may read it; else 404."""
    manager: JobManager = request.app.state.manager
    job = await manager.get(job_id)
    if job is None or not caller.can_read(job):
        raise missing(job_id)
    return job


async def controllable_job(job_id: JobId, request: Request, caller: CallerDep) -> dict[str, Any]:
    """The job, if the caller may cancel, delete or share it; else 403 (a classmate's shared job) or 404."""
    manager: JobManager = request.app.state.manager
    job = await manager.get(job_id)
    return _changeable(job, caller, missing(job_id), "this run is shared with you to watch; only its owner or the teacher may change it")


def _changeable(item: dict[str, Any] | None, caller: Caller, gone: HTTPException, watch_only: str) -> dict[str, Any]:
    """A job or upload the caller may change; else `gone` (404: not visible) or 403 (shared with them to use only)."""
    status = 404 if item is None else caller.control(item)
    if status == 404:
        raise gone
    if status == 403:
        raise HTTPException(403, watch_only)
    assert item is not None
    return item


ReadableJob = Annotated[dict[str, Any], Depends(readable_job)]
ControllableJob = Annotated[dict[str, Any], Depends(controllable_job)]

UploadName = Annotated[str, Path(max_length=64, description="the name POST /api/datasets returned (upload-…)")]


def no_upload(name: str) -> HTTPException:
    return HTTPException(404, f"no uploaded dataset {name!r}")


async def readable_upload(name: UploadName, request: Request, caller: CallerDep) -> dict[str, Any]:
    """The upload's entry, if the caller may use it; else 404."""
    entry = request.app.state.uploads.get(name)
    if entry is None or not caller.can_read(entry):
        raise no_upload(name)
    return entry


async def controllable_upload(name: UploadName, request: Request, caller: CallerDep) -> dict[str, Any]:
    """The upload's entry, if the caller may delete or share it; else 403 (a classmate's shared set) or 404."""
    entry = request.app.state.uploads.get(name)
    return _changeable(entry, caller, no_upload(name), "this dataset is shared with you to use; only its owner or the teacher may change it")


ReadableUpload = Annotated[dict[str, Any], Depends(readable_upload)]
ControllableUpload = Annotated[dict[str, Any], Depends(controllable_upload)]
