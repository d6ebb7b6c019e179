"""A property-based fuzz of every HTTP endpoint and the job stream, with what broke the server before: NaN and
infinities (as JSON literals and in query strings), 1e400, integers beyond 64 bits, lone surrogates, deep nesting,
huge strings and wrong types. The property: never a 5xx, every API answer is JSON, a stream never closes with 1011
(internal error) or without a close frame.

Operations are read from the app's OpenAPI, so an endpoint added later is fuzzed too. Bodies start from a valid
request (a tiny job spec, a race) with one part replaced, or are junk outright. It runs against the restricted server
(tiny limits, a 4-job queue, 20 kB bodies), with an existing job's id in most paths; and again against a server in
classroom mode with the same limits, as its teacher (a bearer token), with an existing class's id in most paths.
"""

from __future__ import annotations

import json
import math
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

EXAMPLES = 30
REQUEST_TIMEOUT_S = 30.0
BIG = "\x00BIG\x00"  # a placeholder that is written out as the literal 1e400 (no Python float can be)

NASTY_NUMBERS = [math.nan, math.inf, -math.inf, BIG, 2**64, -(2**70), 10**40, 1e308, -0.0, 0, -1, 1.5]
NASTY_TEXT = ["\ud800", "\udfff", "a\udc00b", "\ud83d", "", " ", "x" * 5000, "null", "NaN", "\x00", "é😀", "<script>"]
NASTY_QUERY = [
    "nan",
    "NaN",
    "inf",
    "-Infinity",
    "1e400",
    "1e999",
    "-1e400",
    str(2**64),
    str(-(2**70)),
    "9" * 40,
    "9" * 5000,
    "",
    "-1",
    "0",
    "1.5",
]


def operations() -> list[tuple[str, str, list[tuple[str, str]], bool]]:
    """(method, path, [(param, where)], has body) for every operation in the app's OpenAPI; deletes and cancels last,
    so that the shared job and class live while the other operations are fuzzed."""
    from nndojo.api.server import create_app

    found = []
    for path, methods in create_app().openapi()["paths"].items():
        for method, operation in methods.items():
            params = [(param["name"], param["in"]) for param in operation.get("parameters", [])]
            found.append((method.upper(), path, params, "requestBody" in operation))
    return sorted(found, key=lambda op: (op[0] == "DELETE" or op[1].endswith("/cancel"), op[1], op[0]))


scalars = st.one_of(
    st.sampled_from(NASTY_NUMBERS),
    st.sampled_from(NASTY_TEXT),
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=20),
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8) | st.sampled_from(NASTY_TEXT[:4]), children, max_size=4)
    ),
    max_leaves=12,
)


def dump(value: Any) -> bytes:
    """JSON as a careless or hostile client writes it: NaN/Infinity literals, 1e400, lone surrogates as \\u escapes."""
    text = json.dumps(value, allow_nan=True)  # ensure_ascii: a lone surrogate becomes the escape \ud800
    return text.replace(json.dumps(BIG), "1e400").encode()


def templates(jobkit: Any) -> dict[str, Any]:
    return {
        "/api/jobs": jobkit.tiny_spec(),
        "/api/check": jobkit.tiny_spec(),
        "/api/optimizer-race": {"function": "bowl", "start": [-7.0, 2.0], "steps": 5, "optimizers": [{"name": "sgd", "lr": 0.9}]},
    }


@st.composite
def mutated(draw: st.DrawFn, template: Any) -> Any:
    """The template with one part (reached by a random walk) replaced by a fuzz value, or a key added."""
    if not isinstance(template, dict | list) or not template or draw(st.integers(0, 4)) == 0:
        return draw(json_values)
    value = json.loads(json.dumps(template))
    node = value
    while True:
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        key = draw(st.sampled_from(keys))
        child = node[key]
        if isinstance(child, dict | list) and child and draw(st.booleans()):
            node = child
            continue
        if isinstance(node, dict) and draw(st.integers(0, 5)) == 0:
            key = draw(st.sampled_from(NASTY_TEXT[:4]) | st.text(max_size=8))
        node[key] = draw(json_values)
        return value


def deep(depth: int) -> bytes:
    return b'{"a":' + b"[" * depth + b"]" * depth + b"}"


def bodies(template: Any) -> st.SearchStrategy[bytes]:
    return st.one_of(
        mutated(template).map(dump),
        st.integers(10, 9000).map(deep),
        st.sampled_from(
            [
                b"",
                b"{",
                b"nul",
                b'"\\ud800"',
                b"[" * 5000,
                b"\xff\xfe",
                b"NaN",
                b"1e400",
                b'{"a": 1, "a": 2}',
                b'{"seed": ' + b"9" * 5000 + b"}",
            ]
        ),
    )


def encode(text: str) -> str:
    """Percent-encodes as UTF-8, a lone surrogate included (as the bytes a careless client would send)."""
    return urllib.parse.quote(text.encode("utf-8", "surrogatepass"), safe="")


def path_values(known: str | None) -> st.SearchStrategy[str]:
    return st.one_of(
        st.just(known or "nope"),
        st.sampled_from(["circle", "moons", "mnist", "nope", "\ud800", "..", "%", "a" * 300, str(2**70)]),
        st.text(max_size=20),
    )


query_values = st.one_of(st.sampled_from(NASTY_QUERY), st.sampled_from(NASTY_TEXT), st.integers().map(str), st.text(max_size=10))


@dataclass
class Target:
    """The client the fuzz sends with, the ids of things that exist there, and how to get a session back after the
    fuzz logged it out (classroom mode)."""

    http: httpx.Client
    ids: dict[str, str]
    renew: Callable[[], None]


CLASSROOM_ENV = {
    "NNDOJO_MODE": "classroom",
    "NNDOJO_TEACHER_PASSWORD": "fuzz-teacher-password",
    "NNDOJO_MAX_EPOCHS": "400",
    "NNDOJO_MAX_SAMPLES": "400",
    "NNDOJO_MAX_UNITS": "16",
    "NNDOJO_MAX_LAYERS": "4",
    "NNDOJO_MAX_PARAMS": "5000",
    "NNDOJO_MAX_QUEUE": "4",
    "NNDOJO_MAX_BODY_BYTES": "20000",
}


@pytest.fixture(scope="module", params=["personal", "classroom"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, jobkit: Any) -> Iterator[Target]:
    """The restricted server (personal mode), or a classroom server with the same limits and its teacher logged in;
    a finished job on it, and a class in classroom mode. Every job the fuzz leaves behind is deleted at the end."""
    if request.param == "personal":
        url, process = request.getfixturevalue("restricted_server"), None
    else:
        process = jobkit.start_server(tmp_path_factory.mktemp("fuzz_classroom"), CLASSROOM_ENV)
        url = process.url
    try:
        with (
            httpx.Client(base_url=url, timeout=REQUEST_TIMEOUT_S) as teacher,
            httpx.Client(base_url=url, timeout=REQUEST_TIMEOUT_S) as http,
        ):
            ids: dict[str, str] = {}

            def renew() -> None:
                if process is not None:
                    http.headers["authorization"] = "Bearer " + teacher.post("/api/tokens").json()["token"]

            if process is not None:
                assert teacher.post("/api/session", json={"password": CLASSROOM_ENV["NNDOJO_TEACHER_PASSWORD"]}).status_code == 200
                renew()
                ids["class_id"] = http.post("/api/classes", json={"name": "fuzz"}).json()["id"]
            job = http.post("/api/jobs", json=jobkit.tiny_spec()).json()
            jobkit.wait_final(http, job["id"])
            ids["job_id"] = job["id"]
            yield Target(http, ids, renew)
            renew()
            for summary in http.get("/api/jobs", params={"limit": 1000}).json():
                http.delete(f"/api/jobs/{summary['id']}")
    finally:
        if process is not None:
            process.stop()


def check_answer(response: httpx.Response, what: str) -> None:
    """No 5xx; every error is JSON, and so is every answer that says it is (a redirect, a 204 or a CSV need not)."""
    assert response.status_code < 500, f"{what} -> {response.status_code} {response.text[:500]}"
    if response.status_code >= 400 or response.headers.get("content-type", "").startswith("application/json"):
        json.loads(response.content)


def test_a_body_nested_100000_deep_is_refused(tmp_path: Path) -> None:
    """Nesting far beyond the recursion limit, on an app whose body limit lets it through (the guard answers before
    any route, so the app needs no lifespan)."""
    from fastapi.testclient import TestClient

    from nndojo.api.server import create_app
    from nndojo.config import Settings

    client = TestClient(create_app(Settings(mode="personal", data_dir=tmp_path, max_body_bytes=1_000_000)), raise_server_exceptions=False)
    for path in ("/api/jobs", "/api/check", "/api/optimizer-race"):
        response = client.post(path, content=deep(100_000), headers={"content-type": "application/json"})
        assert response.status_code in (400, 422), response.text[:300]
        assert response.json()["detail"][0]["type"] == "json_too_deep"


@given(after=query_values)
@settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_no_stream_query_breaks_a_websocket(server: Target, after: str) -> None:
    """The stream's `after`: a bad value is refused (a 4xx handshake or a 1008 close); none ends in 1011 or 1006.
    Runs before the operations below, one of which deletes the job."""
    url = (
        str(server.http.base_url).rstrip("/").replace("http://", "ws://") + f"/api/jobs/{server.ids['job_id']}/stream?after={encode(after)}"
    )
    headers = {"authorization": server.http.headers["authorization"]} if "authorization" in server.http.headers else None
    try:
        with connect(url, open_timeout=REQUEST_TIMEOUT_S, close_timeout=5, additional_headers=headers) as ws:
            while True:
                ws.recv(timeout=REQUEST_TIMEOUT_S)
    except InvalidStatus as exc:
        assert exc.response.status_code < 500, f"after={after!r}: handshake {exc.response.status_code}"
    except ConnectionClosed as exc:
        assert exc.rcvd is not None, f"after={after!r}: closed without a close frame"
        assert exc.rcvd.code in (1000, 1008), f"after={after!r}: closed {exc.rcvd.code} {exc.rcvd.reason!r}"


OPERATIONS = operations()


@pytest.mark.parametrize(("method", "path", "params", "has_body"), OPERATIONS, ids=[f"{op[0]} {op[1]}" for op in OPERATIONS])
def test_no_input_gives_a_5xx(server: Target, jobkit: Any, method: str, path: str, params: list[tuple[str, str]], has_body: bool) -> None:
    template = templates(jobkit).get(path, {})
    query_names = [name for name, where in params if where == "query"]
    path_names = [name for name, where in params if where == "path"]

    @given(data=st.data())
    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def run(data: st.DataObject) -> None:
        url = path
        for name in path_names:
            url = url.replace("{" + name + "}", encode(data.draw(path_values(server.ids.get(name)), label=name)))
        query = {name: data.draw(query_values, label=name) for name in query_names if data.draw(st.booleans())}
        if data.draw(st.integers(0, 9)) == 0:
            query[data.draw(st.text(min_size=1, max_size=5), label="extra param")] = data.draw(query_values)
        if query:
            url += "?" + "&".join(f"{encode(name)}={encode(value)}" for name, value in query.items())
        body = data.draw(bodies(template), label="body") if has_body else None
        headers = {"content-type": "application/json"} if has_body else {}
        response = server.http.request(method, url, content=body, headers=headers)
        check_answer(response, f"{method} {url} body={body[:200] if body else None!r}")
        if path == "/api/session":
            server.renew()  # the fuzz may just have logged the teacher out

    run()
