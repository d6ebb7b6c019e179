"""Security headers on every kind of response, and errors that never leak internals.

The app here runs without its lifespan (no Ray, no manager): pages, static files, the catalog, the docs and every
error path answer without one, and two test-only routes stand for a full queue (429) and a bug (500).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI, HTTPException, WebSocket, WebSocketDisconnect
from fastapi.testclient import TestClient

from nndojo.api.headers import CSP_BY_PATH, DEFAULT_CSP
from nndojo.api.server import create_app
from nndojo.config import Settings
from nndojo.db.engine import open_engine
from nndojo.uploads.service import Uploads
from nndojo.uploads.store import UploadStore

MAX_BODY = 2048


@pytest.fixture(scope="module")
def bare_app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    settings = Settings(mode="personal", data_dir=tmp_path_factory.mktemp("headers"), max_body_bytes=MAX_BODY)
    app = create_app(settings)
    app.state.classroom = None  # what the lifespan would open; personal mode identifies every caller without it
    app.state.uploads = Uploads(UploadStore(open_engine(settings.resolved_database_url)))  # the catalog lists uploads

    @app.get("/api/test-queue-full", include_in_schema=False)
    async def queue_full() -> None:
        raise HTTPException(429, "the queue is full")

    @app.get("/api/test-bug", include_in_schema=False)
    async def bug() -> None:
        raise RuntimeError("secret detail at /srv/nndojo/backend/nndojo/api/x.py")

    @app.websocket("/api/test-ws-bug")
    async def ws_bug(websocket: WebSocket) -> None:
        await websocket.accept()
        raise RuntimeError("secret detail at /srv/nndojo/backend/nndojo/api/x.py")

    return app


@pytest.fixture(scope="module")
def client(bare_app: FastAPI) -> Iterator[TestClient]:
    yield TestClient(bare_app, raise_server_exceptions=False)


def static_file() -> str:
    frontend = Path(__file__).resolve().parents[1] / "frontend"
    return "/static/" + next(path.relative_to(frontend).as_posix() for path in sorted(frontend.rglob("*.js")))


REQUESTS = [
    pytest.param("GET", "/", None, {}, 200, id="page"),
    pytest.param("GET", static_file(), None, {}, 200, id="static file"),
    pytest.param("GET", "/vendor/plotly.min.js", None, {}, 200, id="plotly"),
    pytest.param("GET", "/api/catalog", None, {}, 200, id="api json"),
    pytest.param("GET", "/openapi.json", None, {}, 200, id="openapi"),
    pytest.param("GET", "/docs", None, {}, 200, id="docs"),
    pytest.param("GET", "/redoc", None, {}, 200, id="redoc"),
    pytest.param("GET", "/no/such/page", None, {}, 404, id="404 page"),
    pytest.param("GET", "/api/datasets/nope/preview", None, {}, 404, id="404 api"),
    pytest.param("GET", "/static/no-such-file.js", None, {}, 404, id="404 static"),
    pytest.param("POST", "/api/check", b"{}" + b" " * MAX_BODY, {"content-type": "application/json"}, 413, id="413"),
    pytest.param("POST", "/api/check", b"x=1", {"content-type": "text/plain"}, 415, id="415"),
    pytest.param("GET", "/api/datasets/circle/preview?noise=nan", None, {}, 422, id="422 query"),
    pytest.param("POST", "/api/check", b'{"name": "\\ud800"}', {"content-type": "application/json"}, 422, id="422 guard"),
    pytest.param("GET", "/api/test-queue-full", None, {}, 429, id="429"),
    pytest.param("GET", "/api/test-bug", None, {}, 500, id="500"),
]


@pytest.mark.parametrize(("method", "path", "body", "headers", "status"), REQUESTS)
def test_every_response_carries_the_security_headers(
    client: TestClient, method: str, path: str, body: bytes | None, headers: dict[str, str], status: int
) -> None:
    response = client.request(method, path, content=body, headers=headers)
    assert response.status_code == status, response.text[:300]
    csp = response.headers["content-security-policy"]
    assert csp == CSP_BY_PATH.get(path, DEFAULT_CSP)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    assert response.headers.get_list("content-security-policy") == [csp], "one policy, never two"


def test_the_policy_allows_own_origin_script_only() -> None:
    directives = dict(part.strip().split(" ", 1) for part in DEFAULT_CSP.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["default-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "ws:" in directives["connect-src"]
    for policy in CSP_BY_PATH.values():
        assert "'unsafe-inline'" not in dict(part.strip().split(" ", 1) for part in policy.split(";"))["script-src"]


@pytest.mark.parametrize("page", sorted((Path(__file__).resolve().parents[1] / "frontend").glob("*.html")), ids=lambda path: path.name)
def test_the_pages_have_no_inline_script(page: Path) -> None:
    """The CSP refuses inline script and event-handler attributes: the pages must have none."""
    html = page.read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "an inline <script>"
    assert not re.search(r"\son[a-z]+\s*=", html), "an event-handler attribute"
    assert "javascript:" not in html


def test_a_bug_answers_an_id_and_nothing_else(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="nndojo.api.errors"):
        response = client.get("/api/test-bug")
    assert response.status_code == 500
    detail = response.json()["detail"]
    match = re.fullmatch(r"internal error \(id ([0-9a-f]{8})\)", detail)
    assert match, detail
    assert "secret" not in response.text and "/srv" not in response.text
    logged = [record for record in caplog.records if match.group(1) in record.getMessage()]
    assert logged and logged[0].exc_info is not None, "the traceback is logged under the id"


def test_a_websocket_bug_closes_1011_with_an_id_and_nothing_else(client: TestClient) -> None:
    with client.websocket_connect("/api/test-ws-bug") as ws, pytest.raises(WebSocketDisconnect) as closed:
        ws.receive_text()
    assert closed.value.code == 1011
    assert re.fullmatch(r"internal error \(id [0-9a-f]{8}\)", closed.value.reason), closed.value.reason


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("noise=nan", "noise"),
        ("noise=inf", "noise"),
        ("noise=-1e400", "noise"),
        ("test_fraction=NaN", "test_fraction"),
        ("n_samples=" + "9" * 30, "n_samples"),
    ],
)
def test_non_finite_and_huge_query_values_are_422_naming_the_field(client: TestClient, query: str, field: str) -> None:
    response = client.get(f"/api/datasets/circle/preview?{query}")
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["query", field]
