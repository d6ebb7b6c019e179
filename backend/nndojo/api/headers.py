"""Security headers on every HTTP response (pages, static files, API JSON, errors, the API docs).

A plain ASGI middleware, added last in create_app so that it wraps everything the app answers, the request guard's
413/415 and the error boundary's 500 included. The Content-Security-Policy lives here, in one map: everything gets
own-origin-only with no inline script (checked in Chromium: tests/browser/test_csp.py); a path listed in CSP_BY_PATH
gets its own policy.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


def _policy(**overrides: str) -> str:
    directives = {
        "default-src": "'self'",
        "script-src": "'self'",
        # Plotly adds <style> elements for its hover labels and mode bar: without 'unsafe-inline' the charts' overlays
        # lose their styling. Inline style is not script; every script stays own-origin.
        "style-src": "'self' 'unsafe-inline'",
        "img-src": "'self' data: blob:",
        "font-src": "'self' data:",
        "connect-src": "'self' ws: wss:",
        "object-src": "'none'",
        "base-uri": "'self'",
        "frame-ancestors": "'none'",
        "form-action": "'self'",
        **overrides,
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


DEFAULT_CSP = _policy()

# Paths that need more than DEFAULT_CSP, each with why. The API docs are served from a package's files with no inline
# script (nndojo.api.docs), so /docs needs nothing more; ReDoc runs its search in a worker built from a blob: URL.
CSP_BY_PATH: dict[str, str] = {
    "/redoc": _policy(**{"worker-src": "'self' blob:"}),
}

COMMON = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]


def csp_for(path: str) -> str:
    """The policy of the longest CSP_BY_PATH prefix that `path` is under (a whole segment), else DEFAULT_CSP."""
    for prefix in sorted(CSP_BY_PATH, key=len, reverse=True):
        if path == prefix or path.startswith(prefix + "/"):
            return CSP_BY_PATH[prefix]
    return DEFAULT_CSP


def security_headers(path: str) -> list[tuple[bytes, bytes]]:
    return [(b"content-security-policy", csp_for(path).encode()), *COMMON]


class SecurityHeaders:
    """Adds the headers to each http.response.start, replacing any the app set itself (one policy, stated here)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        added = security_headers(scope["path"])
        names = {name for name, _ in added}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(name, value) for name, value in message.get("headers", []) if name.lower() not in names]
                message = {**message, "headers": [*kept, *added]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
