"""/api/session and /api/tokens: the teacher logs in, a student joins a class, scripts get a bearer token."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from nndojo.api.access import COOKIE, CallerDep, identify, session_token
from nndojo.api.deps import ClassroomDep, SettingsDep
from nndojo.classroom.service import LoginRefused

router = APIRouter(prefix="/api", tags=["session"])


class SessionRequest(BaseModel):
    """Either the teacher's password, or a class code and a display name."""

    model_config = ConfigDict(extra="forbid")

    password: Annotated[str | None, Field(max_length=200)] = None
    class_code: Annotated[str | None, Field(max_length=12)] = None
    name: Annotated[str | None, Field(max_length=100)] = None

    @model_validator(mode="after")
    def one_way_in(self) -> SessionRequest:
        if (self.password is None) == (self.class_code is None):
            raise ValueError("send either a password (the teacher) or a class_code with a name (a student)")
        if self.class_code is not None and self.name is None:
            raise ValueError("a student joins with a class_code and a name")
        return self


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _refused(exc: LoginRefused) -> HTTPException:
    headers = {"Retry-After": str(exc.extra["retry_after_s"])} if "retry_after_s" in exc.extra else None
    return HTTPException(exc.status, exc.detail(), headers=headers)


@router.post(
    "/session",
    responses={401: {"description": "wrong password or class code"}, 409: {"description": "the name is taken"}, 429: {"description": "too many tries"}},
)
async def log_in(body: SessionRequest, request: Request, response: Response, settings: SettingsDep, classroom: ClassroomDep) -> dict[str, Any]:
    """Logs the teacher in, or joins a student to a class; sets the session cookie."""
    if settings.mode != "classroom":
        raise HTTPException(409, "this server runs in personal mode: there is nothing to log in to (NNDOJO_MODE=classroom)")
    try:
        if body.password is not None:
            login = await asyncio.to_thread(classroom.login_teacher, body.password, _client(request))
        else:
            assert body.class_code is not None and body.name is not None
            login = await asyncio.to_thread(classroom.join, body.class_code, body.name, _client(request))
    except LoginRefused as exc:
        raise _refused(exc) from exc
    response.set_cookie(
        COOKIE,
        classroom.signer.sign(login.token),
        max_age=int(classroom.max_age_s),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    return {"user": login.user.as_dict(), "token": None}


@router.get("/session", responses={401: {"description": "no session"}})
async def who_am_i(request: Request, settings: SettingsDep, classroom: ClassroomDep) -> dict[str, Any]:
    """The current user (null in personal mode), with their class's name and limits for a student."""
    if settings.mode == "personal":
        return {"user": None, "mode": "personal"}
    caller = identify(request)
    if caller is None or caller.user is None:
        raise HTTPException(401, "no session: log in or join a class")
    reply: dict[str, Any] = {"user": caller.user.as_dict(), "mode": "classroom"}
    if caller.user.class_id is not None:
        found = await asyncio.to_thread(classroom.store.get_class, caller.user.class_id)
        reply["class"] = None if found is None else {"id": found["id"], "name": found["name"], "limits": classroom.limits_of(found["id"])}
    return reply


@router.delete("/session", status_code=204)
async def log_out(request: Request, response: Response, classroom: ClassroomDep) -> Response:
    """Ends this session (cookie or token) and clears the cookie."""
    token = session_token(request, classroom)
    if token is not None:
        await asyncio.to_thread(classroom.store.end_session, token)
    response = Response(status_code=204)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax")
    return response


@router.post("/tokens", status_code=201)
async def new_token(caller: CallerDep, classroom: ClassroomDep) -> dict[str, str]:
    """A bearer token for scripts, acting as the current user: `Authorization: Bearer TOKEN`."""
    if caller.user is None:
        raise HTTPException(409, "this server runs in personal mode: scripts need no token")
    token = await asyncio.to_thread(classroom.token_for, caller.user)
    return {"token": token}
