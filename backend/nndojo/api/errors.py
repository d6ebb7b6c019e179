"""Error answers that never fail themselves and never leak internals.

- 422: FastAPI's shape, with each error's `input` and `ctx` made JSON-safe first. An input may be anything a client
  sent: NaN or an infinity (JSON has neither), a lone surrogate (not encodable as UTF-8), a structure nested thousands
  deep or megabytes long. Echoing it as is made the error reply itself raise, and the client got a 500.
- 500: the error boundary, a plain ASGI middleware around the whole app, logs the traceback under a short id and
  answers `{"detail": "internal error (id …)"}`; a websocket is closed with 1011 and the same text. It should never
  run: every bad input has its own 4xx. When it does, the client learns the id and nothing else.
"""

from __future__ import annotations

import logging
import math
import secrets
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError, WebSocketRequestValidationError
from fastapi.responses import JSONResponse
from starlette.status import HTTP_422_UNPROCESSABLE_CONTENT
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

MAX_DEPTH = 4  # containers below this depth of an echoed input are shown as "…"
MAX_ITEMS = 50  # items of an echoed list or dict
MAX_CHARS = 1000  # characters of an echoed string
MAX_INT_BITS = 3000  # an echoed integer beyond 64 bits is a string; beyond this (Python's str() refuses >4300 digits), its size
MAX_ERRORS = 50  # errors in one 422
ELIDED = "…"
CLOSE_INTERNAL_ERROR = 1011


def json_safe(value: Any, depth: int = 0) -> Any:
    """`value` as plain JSON that encodes to UTF-8: non-finite floats and integers beyond 64 bits as strings ("nan",
    "inf", "-inf"), lone surrogates escaped (\\ud800), long strings and containers cut short, deep containers elided,
    other objects as str."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if value.bit_length() <= 64:
            return value
        return json_safe(str(value)) if value.bit_length() <= MAX_INT_BITS else f"an integer of {value.bit_length()} bits"
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str | bytes):
        text = value.decode("utf-8", "backslashreplace") if isinstance(value, bytes) else value
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
        return text if len(text) <= MAX_CHARS else text[:MAX_CHARS] + ELIDED
    if isinstance(value, dict | list | tuple | set | frozenset):
        if depth >= MAX_DEPTH:
            return ELIDED
        if isinstance(value, dict):
            items = list(value.items())
            safe = {str(json_safe(str(key))): json_safe(item, depth + 1) for key, item in items[:MAX_ITEMS]}
            return {**safe, ELIDED: f"{len(items) - MAX_ITEMS} more"} if len(items) > MAX_ITEMS else safe
        items = list(value)
        return [json_safe(item, depth + 1) for item in items[:MAX_ITEMS]] + ([ELIDED] if len(items) > MAX_ITEMS else [])
    return json_safe(str(value), depth)


def safe_error(error: dict[str, Any]) -> dict[str, Any]:
    """One pydantic/FastAPI error with its free-form parts (input, ctx, and loc items from a client's keys) JSON-safe."""
    safe = {key: _text(value) for key, value in error.items() if key not in ("loc", "input", "ctx", "url")}
    safe["loc"] = [item if isinstance(item, int) else json_safe(str(item)) for item in error.get("loc", ())]
    if "input" in error:
        safe["input"] = json_safe(error["input"])
    if "ctx" in error:
        safe["ctx"] = {str(key): json_safe(value) for key, value in error["ctx"].items()}
    return safe


def _text(value: Any) -> Any:
    """A message or type as it is, lone surrogates escaped (a msg may quote the input)."""
    return value.encode("utf-8", "backslashreplace").decode("utf-8") if isinstance(value, str) else json_safe(value)


async def validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    detail = [safe_error(error) for error in errors[:MAX_ERRORS]]
    return JSONResponse({"detail": detail}, status_code=HTTP_422_UNPROCESSABLE_CONTENT)


def error_id() -> str:
    return secrets.token_hex(4)


class ErrorBoundary:
    """Turns an exception that escaped the app into a logged traceback with an id and a bare 500 (or 1011 close)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] in ("http.response.start", "websocket.accept", "websocket.close"):
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            ident = error_id()
            log.exception("internal error (id %s) on %s %s", ident, scope.get("method", "WS"), scope["path"])
            detail = f"internal error (id {ident})"
            if scope["type"] == "websocket":
                await _close_quietly(send, detail)
            elif not started:
                response = JSONResponse({"detail": detail}, status_code=500)
                await response(scope, receive, send)


async def _close_quietly(send: Send, reason: str) -> None:
    """A 1011 close; the connection may already be gone, and then there is nobody left to tell."""
    try:
        await send({"type": "websocket.close", "code": CLOSE_INTERNAL_ERROR, "reason": reason})
    except Exception:
        log.debug("the websocket was already closed", exc_info=True)


def install(app: FastAPI) -> None:
    """The 422 handler for HTTP and websocket validation errors, and the error boundary outside every middleware
    added before this call."""
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(WebSocketRequestValidationError, _websocket_validation_error)
    app.add_middleware(ErrorBoundary)


async def _websocket_validation_error(websocket: Any, exc: Exception) -> None:
    """A websocket's bad query or path is closed with 1008 and the errors, cut to fit a close frame's reason."""
    assert isinstance(exc, WebSocketRequestValidationError)
    reason = "; ".join(f"{'.'.join(map(str, error['loc']))}: {error['msg']}" for error in map(safe_error, exc.errors()))
    await websocket.close(code=1008, reason=reason.encode("utf-8")[:123].decode("utf-8", "ignore"))
