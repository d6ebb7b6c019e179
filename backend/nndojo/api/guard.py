"""Request bodies at the door, before any of it reaches the routes: a size limit (413) checked on Content-Length and
on the bytes actually streamed (a larger one for the CSV upload route, whose body is multipart, not JSON), a deadline for the whole body (408), a budget for all bodies being received at once
(429: a thousand stalled uploads of a megabyte each would otherwise hold a gigabyte until their deadline), JSON only
(415), and JSON that the rest of the server can hold: at most MAX_JSON_DEPTH levels deep and no lone surrogate in any
string or key (422 naming where).

A lone surrogate ("\\ud800" in JSON) is valid JSON and a valid Python str, but not UTF-8: a job whose name carried one
could be stored and then never be sent. Deep nesting makes every recursive step after parsing (validation, encoding,
pickling) a recursion limit away from a 500.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

BODY_METHODS = {"POST", "PUT", "PATCH"}
MAX_JSON_DEPTH = 32  # a job spec is 6 deep; the race request 4
SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")  # how a surrogate appears in JSON text; pairs are checked after parsing


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def _is_multipart(content_type: str | None) -> bool:
    return content_type is not None and content_type.split(";", 1)[0].strip().lower() == "multipart/form-data"


class RequestGuard:
    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int,
        body_timeout_s: float,
        max_pending_body_bytes: int,
        upload_paths: dict[str, int] | None = None,
    ):
        """upload_paths: path -> body limit of the routes that take a file (multipart/form-data) instead of JSON."""
        self.app = app
        self.upload_paths = upload_paths or {}
        self.max_body_bytes = max_body_bytes
        self.body_timeout_s = body_timeout_s
        self.max_pending_body_bytes = max_pending_body_bytes
        self.pending_bytes = 0  # of the bodies being received now, by every request together

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        headers = {key.decode("latin-1").lower(): value.decode("latin-1") for key, value in scope["headers"]}
        upload_limit = self.upload_paths.get(scope["path"]) if scope["method"] == "POST" else None
        limit = self.max_body_bytes if upload_limit is None else upload_limit
        if upload_limit is not None and not _is_multipart(headers.get("content-type")):
            await _reply(send, 415, "send the file as multipart/form-data (a form with a file field)")
            return
        declared = headers.get("content-length")
        if declared is not None:
            try:
                too_big = int(declared) > limit
            except ValueError:
                await _reply(send, 400, "Content-Length must be a whole number of bytes")
                return
            if too_big:  # refused before a byte of the body is read
                await _reply(send, 413, self._too_big(upload_limit))
                return
        body = bytearray()
        try:
            async with asyncio.timeout(self.body_timeout_s):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return
                    chunk = message.get("body", b"")
                    if self.pending_bytes + len(chunk) > self.max_pending_body_bytes:
                        await _reply(send, 429, self._busy(), [(b"retry-after", b"1")])
                        return
                    body += chunk
                    self.pending_bytes += len(chunk)
                    if len(body) > limit:  # a body sent without a length (chunked): refused once it passes the limit
                        await _reply(send, 413, self._too_big(upload_limit))
                        return
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            await _reply(send, 408, f"the request body did not arrive within {self.body_timeout_s:g} s (body_timeout_s)")
            return
        finally:
            self.pending_bytes -= len(body)
        content_type = headers.get("content-type")
        if scope["path"].startswith("/api/") and body and upload_limit is None:
            if content_type is not None and not _is_json(content_type):
                await _reply(send, 415, f"the body must be JSON: send it with Content-Type: application/json (got {content_type!r})")
                return
            problem = json_problem(bytes(body))
            if problem is not None:
                await _reply(send, 422, [problem])
                return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _too_big(self, upload_limit: int | None = None) -> str | dict[str, Any]:
        if upload_limit is None:
            return f"the request body is over this server's limit of {self.max_body_bytes} bytes (max_body_bytes)"
        mb = upload_limit / 1_000_000
        msg = f"the file is over this server's upload limit of {mb:g} MB (max_upload_bytes): upload a smaller CSV"
        return {"msg": msg, "code": "upload_too_large", "limit": upload_limit}

    def _busy(self) -> dict[str, Any]:
        msg = f"the server is receiving {self.max_pending_body_bytes} bytes of request bodies already: try again in a moment"
        return {"msg": msg, "code": "max_pending_body_bytes", "limit": self.max_pending_body_bytes}


def json_problem(body: bytes) -> dict[str, Any] | None:
    """A 422 error (FastAPI's shape) for JSON nested too deep or carrying a lone surrogate; None when neither can be
    (too few brackets, no surrogate escape: most bodies are not parsed here) or the body is not JSON at all (the
    route's own parser says so)."""
    brackets = body.count(b"[") + body.count(b"{")
    if brackets <= MAX_JSON_DEPTH and SURROGATE_ESCAPE.search(body) is None:
        return None
    try:
        value = json.loads(body)
    except RecursionError:
        return _error([], f"the JSON is nested too deeply: at most {MAX_JSON_DEPTH} levels", "json_too_deep", MAX_JSON_DEPTH)
    except ValueError:
        return None
    stack: list[tuple[Any, list[str | int]]] = [(value, [])]
    while stack:
        item, loc = stack.pop()
        if len(loc) > MAX_JSON_DEPTH:
            return _error(
                loc[:MAX_JSON_DEPTH], f"the JSON is nested too deeply: at most {MAX_JSON_DEPTH} levels", "json_too_deep", MAX_JSON_DEPTH
            )
        if isinstance(item, str) and not _encodable(item):
            return _error(loc, "text must be valid Unicode: a lone surrogate (\\ud800-\\udfff) is not a character", "string_unicode")
        if isinstance(item, dict):
            for key, child in item.items():
                if not _encodable(key):
                    return _error(
                        [*loc, key], "a key must be valid Unicode: a lone surrogate (\\ud800-\\udfff) is not a character", "string_unicode"
                    )
                stack.append((child, [*loc, key]))
        elif isinstance(item, list):
            stack.extend((child, [*loc, index]) for index, child in enumerate(item))
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _error(loc: list[str | int], msg: str, kind: str, limit: int | None = None) -> dict[str, Any]:
    safe_loc = [part.encode("utf-8", "backslashreplace").decode() if isinstance(part, str) else part for part in loc]
    error: dict[str, Any] = {"type": kind, "loc": ["body", *safe_loc], "msg": msg}
    if limit is not None:
        error["ctx"] = {"max_depth": limit}
    return error


async def _reply(send: Send, status: int, detail: Any, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    payload = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()), *(headers or [])],
        }
    )
    await send({"type": "http.response.body", "body": payload})
