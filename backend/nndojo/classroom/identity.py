"""The teacher's password, signed session cookies, and the limit on wrong passwords and join codes.

- The password is kept only as an Argon2id hash (argon2-cffi's defaults, RFC 9106's recommended parameters). From
  NNDOJO_TEACHER_PASSWORD when set (a changed variable replaces the stored hash at the next start); otherwise one is
  generated at the first start and printed once to the log.
- A cookie carries a random session token signed with a key kept in the database (itsdangerous): a forged or altered
  cookie is refused before any lookup; the token's hash is what the database knows.
- Wrong passwords and codes: at most MAX_FAILURES per client per minute; then 429 until the minute has passed.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections import deque

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, Signer

from nndojo.classroom.store import ClassroomStore

log = logging.getLogger(__name__)

MAX_FAILURES = 10
WINDOW_S = 60.0
_hasher = PasswordHasher()


def setup_teacher_password(store: ClassroomStore, configured: str | None) -> None:
    """Makes sure a password hash is stored: the configured one, or a generated one shown once."""
    stored = store.key("teacher_password")
    if configured:
        if stored is None or not verify(stored, configured):
            store.set_key("teacher_password", _hasher.hash(configured))
        return
    if stored is not None:
        return
    password = "-".join(secrets.token_hex(2) for _ in range(4))
    store.set_key("teacher_password", _hasher.hash(password))
    banner = "=" * 60
    log.warning(
        "\n%s\nNN Dojo classroom mode: the teacher's password is\n\n    %s\n\nIt is shown only now and stored only as a hash. Set "
        "NNDOJO_TEACHER_PASSWORD to choose your own.\n%s",
        banner,
        password,
        banner,
    )


def verify(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


class CookieSigner:
    def __init__(self, store: ClassroomStore):
        secret = store.key("cookie_secret")
        if secret is None:
            secret = secrets.token_urlsafe(32)
            store.set_key("cookie_secret", secret)
        self._signer = Signer(secret, salt="nndojo-session")

    def sign(self, token: str) -> str:
        return self._signer.sign(token).decode()

    def unsign(self, value: str) -> str | None:
        try:
            return self._signer.unsign(value).decode()
        except (BadSignature, UnicodeDecodeError):
            return None


class FailureLimit:
    """Failed attempts per client in a sliding minute. Memory is bounded: clients with no recent failure are dropped."""

    def __init__(self, max_failures: int = MAX_FAILURES, window_s: float = WINDOW_S):
        self.max_failures = max_failures
        self.window_s = window_s
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, client: str, now: float) -> deque[float]:
        times = self._failures.get(client, deque())
        while times and now - times[0] > self.window_s:
            times.popleft()
        if not times:
            self._failures.pop(client, None)
        return times

    def retry_after(self, client: str) -> float | None:
        """Seconds to wait before this client may try again, or None when it may try now."""
        now = time.monotonic()
        times = self._recent(client, now)
        if len(times) < self.max_failures:
            return None
        return max(1.0, self.window_s - (now - times[0]))

    def failed(self, client: str) -> None:
        now = time.monotonic()
        if len(self._failures) > 10_000:  # a flood of clients: forget the idle ones
            for key in list(self._failures):
                self._recent(key, now)
        times = self._recent(client, now)
        times.append(now)
        self._failures[client] = times
