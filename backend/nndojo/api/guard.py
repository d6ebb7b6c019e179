"""Request bodies: a size limit (413) checked on Content-Length and on the bytes actually streamed, and JSON only (415).

A plain ASGI middleware, so that an oversized upload is refused before any of it reaches the routes.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

BODY_METHODS = {"POST", "PUT", "PATCH"}


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


class RequestGuard:
    def __init__(self, app: ASGIApp, max_body_bytes: int):
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        headers = {key.decode("latin-1").lower(): value.decode("latin-1") for key, value in scope["headers"]}
        declared = headers.get("content-length")
        if declared is not None:
            try:
                too_big = int(declared) > self.max_body_bytes
            except ValueError:
                await _reply(send, 400, "Content-Length must be a whole number of bytes")
                return
            if too_big:
                await _reply(send, 413, self._too_big())
                return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > self.max_body_bytes:
                await _reply(send, 413, self._too_big())
                return
            if not message.get("more_body", False):
                break
        content_type = headers.get("content-type")
        if body and content_type is not None and not _is_json(content_type) and scope["path"].startswith("/api/"):
            await _reply(send, 415, f"the body must be JSON: send it with Content-Type: application/json (got {content_type!r})")
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _too_big(self) -> str:
        return f"the request body is over this server's limit of {self.max_body_bytes} bytes (max_body_bytes)"


async def _reply(send: Send, status: int, detail: Any) -> None:
    payload = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": payload})
