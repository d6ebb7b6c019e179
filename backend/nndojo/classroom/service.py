"""The classroom as the API uses it: logging in, joining, sessions, classes and their limits."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

from nndojo.classroom.identity import CookieSigner, FailureLimit, setup_teacher_password, verify
from nndojo.classroom.limits import ClassLimits, effective
from nndojo.classroom.store import ClassroomStore, NameTaken, User
from nndojo.config import Settings

MAX_NAME = 40


class LoginRefused(Exception):
    """A login or join that cannot be done: `status` is the HTTP status, `code` what the page translates."""

    def __init__(self, status: int, code: str, message: str, **extra: Any):
        super().__init__(message)
        self.status = status
        self.code = code
        self.extra = extra

    def detail(self) -> dict[str, Any]:
        return {"msg": str(self), "code": self.code, **self.extra}


@dataclass(frozen=True)
class Login:
    user: User
    token: str


def clean_name(name: str) -> str:
    """A display name as shown: spaces collapsed, no control characters; 1 to MAX_NAME characters."""
    cleaned = " ".join(name.split())
    if not cleaned or len(cleaned) > MAX_NAME or any(unicodedata.category(ch).startswith("C") for ch in cleaned):
        raise LoginRefused(422, "bad_name", f"a name is 1 to {MAX_NAME} letters, digits or spaces")
    return cleaned


class Classroom:
    def __init__(self, settings: Settings, store: ClassroomStore):
        self.settings = settings
        self.store = store
        self.signer = CookieSigner(store)
        self.failures = FailureLimit()
        self.max_age_s = settings.session_days * 86400.0
        if settings.mode == "classroom":
            store.teacher()
            setup_teacher_password(store, settings.teacher_password)

    # --- logging in ------------------------------------------------------------------------------

    def _check_attempts(self, client: str) -> None:
        wait = self.failures.retry_after(client)
        if wait is not None:
            raise LoginRefused(
                429, "too_many_attempts", f"too many wrong tries; wait {wait:.0f} s before trying again", retry_after_s=round(wait)
            )

    def _failed(self, client: str, error: LoginRefused) -> LoginRefused:
        self.failures.failed(client)
        return error

    def login_teacher(self, password: str, client: str) -> Login:
        """Runs Argon2 (tens of ms): call it from a thread."""
        self._check_attempts(client)
        stored = self.store.key("teacher_password")
        if stored is None or not verify(stored, password):
            raise self._failed(client, LoginRefused(401, "bad_password", "wrong password"))
        teacher = self.store.teacher()
        return Login(teacher, self.store.create_session(teacher.id, "cookie"))

    def join(self, code: str, name: str, client: str) -> Login:
        self._check_attempts(client)
        found = self.store.class_by_code(code)
        if found is None:
            raise self._failed(client, LoginRefused(401, "bad_class_code", "no class has this code: check it on the board"))
        if not found["open"]:
            raise LoginRefused(403, "class_closed", "this class is closed to new students; ask your teacher")
        try:
            student = self.store.add_student(found["id"], clean_name(name))
        except NameTaken as exc:
            raise LoginRefused(409, "name_taken", "someone in this class already has this name: choose another") from exc
        return Login(student, self.store.create_session(student.id, "cookie"))

    def token_for(self, user: User) -> str:
        return self.store.create_session(user.id, "token")

    def user_of(self, token: str) -> User | None:
        return self.store.session_user(token, self.max_age_s)

    # --- classes ---------------------------------------------------------------------------------

    def limits_of(self, class_id: str | None) -> dict[str, Any]:
        """A class's limits as they apply (defaults where the class sets none, never above the server's)."""
        stored = (self.store.get_class(class_id) or {}).get("limits", {}) if class_id else {}
        return effective(stored, self.settings.limits)

    def class_view(self, found: dict[str, Any], counts: dict[str, dict[str, int]]) -> dict[str, Any]:
        students = []
        for user in self.store.students(found["id"]):
            mine = counts.get(user.id, {})
            students.append(
                {
                    "id": user.id,
                    "name": user.name,
                    "joined_at": user.joined_at,
                    "jobs": {
                        "running": mine.get("running", 0),
                        "paused": mine.get("paused", 0),  # paused keeps its slot: running in all but name
                        "queued": mine.get("queued", 0),
                        "total": sum(mine.values()),
                    },
                }
            )
        return {**found, "limits": effective(found["limits"], self.settings.limits), "students": students}

    def merged_limits(self, class_id: str, patch: dict[str, Any]) -> dict[str, Any]:
        """The class's own limits with a patch applied (only what the teacher set is stored, so defaults can move)."""
        found = self.store.get_class(class_id) or {}
        merged = {**found.get("limits", {}), **patch}
        return ClassLimits.model_validate(merged).model_dump(exclude_defaults=True)
