"""Classes, users, sessions and server keys in the SQL database, with the users and sessions mirrored in memory.

Why the mirror: every request looks up its session and every job view names its owner; a class is at most a few
hundred students, so holding them costs nothing and spares a query per request. Writes go to the database first,
then to the mirror, so a restart loads the same state.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from nndojo.db.schema import ClassRow, ServerKeyRow, SessionRow, UserRow
from nndojo.jobs.store import utc_now

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: a code read off a projector is typed right
CODE_LENGTH = 6
TEACHER_ID = "teacher"


class NameTaken(Exception):
    """A student of that class already has this display name."""


@dataclass(frozen=True)
class User:
    id: str
    role: str  # teacher | student
    name: str
    class_id: str | None
    joined_at: str

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "role": self.role, "class_id": self.class_id}


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def name_key(name: str) -> str:
    return " ".join(name.split()).casefold()


def _seconds(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def _class_dict(row: ClassRow) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "code": row.code, "created_at": row.created_at, "open": bool(row.open), "limits": json.loads(row.limits or "{}")}


class ClassroomStore:
    def __init__(self, engine: Engine):
        self.engine = engine
        self._lock = threading.Lock()
        with engine.connect() as conn:
            self._users = {row.id: User(row.id, row.role, row.name, row.class_id, row.joined_at) for row in conn.execute(select(UserRow))}
            self._class_names = {row.id: row.name for row in conn.execute(select(ClassRow.id, ClassRow.name))}
            self._sessions = {
                row.token_hash: (row.user_id, _seconds(row.created_at))
                for row in conn.execute(select(SessionRow.token_hash, SessionRow.user_id, SessionRow.created_at))
            }

    # --- server keys -----------------------------------------------------------------------------

    def key(self, name: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.scalar(select(ServerKeyRow.value).where(ServerKeyRow.name == name))

    def set_key(self, name: str, value: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(ServerKeyRow).where(ServerKeyRow.name == name))
            conn.execute(insert(ServerKeyRow).values(name=name, value=value))

    # --- users -----------------------------------------------------------------------------------

    def user(self, user_id: str) -> User | None:
        return self._users.get(user_id)

    def name_of(self, user_id: str) -> str | None:
        user = self._users.get(user_id)
        return None if user is None else user.name

    def label_of(self, user_id: str) -> str:
        """Who a user is, for the server's log: "Aiko (class 1-A)"."""
        user = self._users.get(user_id)
        if user is None:
            return user_id
        return user.name if user.class_id is None else f"{user.name} (class {self._class_names.get(user.class_id, user.class_id)})"

    def teacher(self) -> User:
        """The teacher's user, made on first use."""
        existing = self._users.get(TEACHER_ID)
        if existing is not None:
            return existing
        user = User(TEACHER_ID, "teacher", "teacher", None, utc_now())
        with self._lock, self.engine.begin() as conn:
            conn.execute(insert(UserRow).values(id=user.id, role=user.role, name=user.name, name_key=name_key(user.name), class_id=None, joined_at=user.joined_at))
            self._users[user.id] = user
        return user

    def add_student(self, class_id: str, name: str) -> User:
        user = User(uuid.uuid4().hex, "student", name, class_id, utc_now())
        try:
            with self._lock, self.engine.begin() as conn:
                conn.execute(
                    insert(UserRow).values(id=user.id, role=user.role, name=name, name_key=name_key(name), class_id=class_id, joined_at=user.joined_at)
                )
                self._users[user.id] = user
        except IntegrityError as exc:
            raise NameTaken(name) from exc
        return user

    def students(self, class_id: str) -> list[User]:
        return sorted((u for u in self._users.values() if u.class_id == class_id and u.role == "student"), key=lambda u: u.joined_at)

    # --- sessions --------------------------------------------------------------------------------

    def create_session(self, user_id: str, kind: str) -> str:
        """A new random token for the user; only its hash is stored."""
        token = secrets.token_urlsafe(32)
        digest = token_hash(token)
        created = utc_now()
        with self._lock, self.engine.begin() as conn:
            conn.execute(insert(SessionRow).values(token_hash=digest, user_id=user_id, kind=kind, created_at=created))
            self._sessions[digest] = (user_id, _seconds(created))
        return token

    def session_user(self, token: str, max_age_s: float) -> User | None:
        """The user of a live session; None for an unknown or expired token."""
        found = self._sessions.get(token_hash(token))
        if found is None or time.time() - found[1] > max_age_s:
            return None
        return self._users.get(found[0])

    def end_session(self, token: str) -> None:
        digest = token_hash(token)
        with self._lock, self.engine.begin() as conn:
            conn.execute(delete(SessionRow).where(SessionRow.token_hash == digest))
            self._sessions.pop(digest, None)

    # --- classes ---------------------------------------------------------------------------------

    def create_class(self, name: str) -> dict[str, Any]:
        for _ in range(20):
            code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
            row = {"id": uuid.uuid4().hex, "name": name, "code": code, "created_at": utc_now(), "open": True, "limits": "{}"}
            try:
                with self.engine.begin() as conn:
                    conn.execute(insert(ClassRow).values(**row))
            except IntegrityError:
                continue  # that code is taken: draw another
            self._class_names[row["id"]] = name
            return {**row, "limits": {}}
        raise RuntimeError("no free class code after 20 draws")

    def classes(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [_class_dict(row) for row in conn.execute(select(ClassRow).order_by(ClassRow.created_at))]

    def get_class(self, class_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(ClassRow).where(ClassRow.id == class_id)).first()
        return None if row is None else _class_dict(row)

    def class_by_code(self, code: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(ClassRow).where(ClassRow.code == code.strip().upper())).first()
        return None if row is None else _class_dict(row)

    def update_class(self, class_id: str, changes: dict[str, Any]) -> None:
        values = {key: json.dumps(value) if key == "limits" else value for key, value in changes.items()}
        if values:
            with self.engine.begin() as conn:
                conn.execute(update(ClassRow).where(ClassRow.id == class_id).values(**values))
            if "name" in values:
                self._class_names[class_id] = values["name"]

    def delete_class(self, class_id: str) -> None:
        """The class, its students and their sessions (their jobs are the job service's to delete)."""
        with self._lock, self.engine.begin() as conn:
            ids = [u.id for u in self._users.values() if u.class_id == class_id]
            conn.execute(delete(SessionRow).where(SessionRow.user_id.in_(ids)))
            conn.execute(delete(UserRow).where(UserRow.class_id == class_id))
            conn.execute(delete(ClassRow).where(ClassRow.id == class_id))
            for user_id in ids:
                self._users.pop(user_id, None)
            self._class_names.pop(class_id, None)
            gone = set(ids)
            self._sessions = {digest: found for digest, found in self._sessions.items() if found[0] not in gone}
