"""Uploaded CSV datasets: every bad file gets its own message (row and column), a 10 MB body is refused without being
read, an upload belongs to its uploader (a classmate sees it only once shared), trains end to end (classification
with a boundary over the data's own range, regression), and survives a restart."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import numpy as np
import pytest

from nndojo.datasets.upload import MAX_CLASSES, MIN_ROWS, UploadError, pack, parse_csv, parse_upload, unpack

PASSWORD = "upload teacher password"
MB = 1_000_000


def classification_csv(n: int = 120, seed: int = 0) -> str:
    """Two blobs in a plane far from the origin (the grid must follow the data), labels as words."""
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 2, n)
    height = 150 + 20 * label + rng.normal(0, 3, n)
    weight = 40 + 25 * label + rng.normal(0, 3, n)
    rows = [f"{h:.2f},{w:.2f},{'cat' if c == 0 else 'dog'}" for h, w, c in zip(height, weight, label, strict=True)]
    return "height,weight,animal\n" + "\n".join(rows) + "\n"


def regression_csv(n: int = 150, seed: int = 1) -> str:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n, 3))
    y = 2 * x[:, 0] - x[:, 1] + 0.5 * x[:, 2] + 3
    return "a,b,c,price\n" + "\n".join(f"{a:.4f},{b:.4f},{c:.4f},{t:.4f}" for (a, b, c), t in zip(x, y, strict=True)) + "\n"


def small(rows: list[str], header: str = "x1,x2,y") -> bytes:
    return (header + "\n" + "\n".join(rows) + "\n").encode()


GOOD_ROWS = [f"{i},{i % 3 + 0.5},{i % 2}" for i in range(12)]


def with_row(index: int, row: str) -> bytes:
    rows = list(GOOD_ROWS)
    rows[index] = row
    return small(rows)


BAD_FILES = [
    # (case, bytes, target, options, code, ctx subset, words in the message)
    ("empty", b"", "y", {}, "upload_empty", {}, "empty"),
    ("not utf-8", small(GOOD_ROWS[:3]) + "caf\u00e9,1,0\n".encode("latin-1") + small(GOOD_ROWS)[9:], "y", {}, "upload_encoding", {"row": 5}, "UTF-8"),
    ("binary", b"x1,x2,y\n\x00\x01,2,3\n", "y", {}, "upload_binary", {}, "NUL"),
    ("blank header", small(GOOD_ROWS, "x1,,y"), "y", {}, "upload_header_blank", {"column_index": 2}, "column 2"),
    ("duplicate header", small(GOOD_ROWS, "x1,x1,y"), "y", {}, "upload_header_duplicate", {"column": "x1"}, "'x1'"),
    ("no target", small(GOOD_ROWS), "label", {}, "upload_target_unknown", {"target": "label"}, "no column 'label'"),
    ("unknown feature", small(GOOD_ROWS), "y", {"features": ["x3"]}, "upload_feature_unknown", {"column": "x3"}, "'x3'"),
    ("target as feature", small(GOOD_ROWS), "y", {"features": ["x1", "y"]}, "upload_feature_is_target", {"column": "y"}, "target"),
    ("ragged", with_row(4, "1,2"), "y", {}, "upload_ragged", {"row": 6, "found": 2, "expected": 3}, "row 6"),
    ("missing value", with_row(2, "3,,1"), "y", {}, "upload_missing", {"row": 4, "column": "x2"}, "row 4, column 'x2'"),
    ("missing target", with_row(7, "3,1.5,"), "y", {}, "upload_missing", {"row": 9, "column": "y"}, "row 9, column 'y'"),
    ("text in a feature", with_row(9, "3,abc,1"), "y", {}, "upload_not_number", {"row": 11, "column": "x2", "value": "abc"}, "row 11, column 'x2' is 'abc'"),
    ("infinity", with_row(0, "inf,1,1"), "y", {}, "upload_not_number", {"row": 2, "column": "x1"}, "finite"),
    ("beyond float32", with_row(1, "1e39,1,1"), "y", {}, "upload_not_number", {"row": 3, "column": "x1"}, "finite"),
    ("text target in a regression", with_row(3, "3,1.5,big"), "y", {"task": "regression"}, "upload_not_number", {"row": 5, "column": "y"}, "regression"),
    ("bad quotes", small([*GOOD_ROWS[:5], '1,"2"x,1', *GOOD_ROWS[5:]]), "y", {}, "upload_csv", {"row": 7}, "row 7"),
    ("constant column", small([f"{i},7,{i % 2}" for i in range(12)]), "y", {}, "upload_constant", {"column": "x2"}, "same value"),
    ("constant target", small([f"{i},{i * 2},1" for i in range(12)]), "y", {}, "upload_constant", {"column": "y"}, "nothing to learn"),
    ("too few rows", small(GOOD_ROWS[: MIN_ROWS - 1]), "y", {}, "upload_too_few_rows", {"found": MIN_ROWS - 1, "min": MIN_ROWS}, f"at least {MIN_ROWS}"),
    ("too many rows", small(GOOD_ROWS), "y", {"max_rows": 11}, "upload_too_many_rows", {"max": 11}, "at most 11"),
    (
        "too many classes",
        small([f"{i},{i * 2},name{i}" for i in range(MAX_CLASSES + 1)]),
        "y",
        {},
        "upload_too_many_classes",
        {"found": MAX_CLASSES + 1, "max": MAX_CLASSES},
        "classes",
    ),
    ("only the target", small([str(i % 2) for i in range(12)], "y"), "y", {}, "upload_no_features", {}, "feature"),
]


@pytest.mark.parametrize(("raw", "target", "options", "code", "ctx", "words"), [case[1:] for case in BAD_FILES], ids=[c[0] for c in BAD_FILES])
def test_every_bad_file_gets_its_message(raw: bytes, target: str, options: dict[str, Any], code: str, ctx: dict[str, Any], words: str) -> None:
    with pytest.raises(UploadError) as caught:
        parse_csv(raw, target, **options)
    error = caught.value
    assert error.code == code, str(error)
    assert ctx.items() <= error.ctx.items(), error.ctx
    assert words in str(error)
    item = error.item()
    assert item["loc"] == [error.field] and item["ctx"]["code"] == code


def test_tasks_are_inferred_and_files_read_as_spreadsheets_write_them() -> None:
    labels = parse_csv(classification_csv().encode(), "animal")
    assert labels[1] == "classification" and labels[2] == ["cat", "dog"] and labels[3].shape == (120, 2)
    few_integers = parse_csv(small(GOOD_ROWS), "y")
    assert few_integers[1] == "classification" and few_integers[2] == ["0", "1"]
    numbers = parse_csv(regression_csv().encode(), "price")
    assert numbers[1] == "regression" and numbers[2] is None and numbers[4].dtype == np.float32
    forced = parse_csv(small(GOOD_ROWS), "y", task="regression")
    assert forced[1] == "regression"
    # a UTF-8 byte order mark, semicolons, CRLF line ends, quoted headers and a trailing blank line
    excel = ('\ufeff"x1";"x2";"y"\r\n' + "\r\n".join(row.replace(",", ";") for row in GOOD_ROWS) + "\r\n\r\n").encode()
    features, task, classes, x, y = parse_csv(excel, "y", features=["x2"])
    assert features == ["x2"] and task == "classification" and classes == ["0", "1"] and x.shape == (12, 1) and list(y[:4]) == [0, 1, 0, 1]


def test_a_packed_upload_round_trips_and_writes_a_plain_csv() -> None:
    upload = parse_upload(classification_csv(20).encode(), "Cats & dogs!", "animal")
    assert upload.name.startswith("upload-cats-dogs-")
    back = unpack(pack(upload))
    assert back.meta() == upload.meta() and np.array_equal(back.x, upload.x) and np.array_equal(back.y, upload.y)
    again = parse_csv(back.to_csv().encode(), "animal")
    assert np.array_equal(again[3], upload.x) and np.array_equal(again[4], upload.y)


# --- the body limit: refused without reading it ----------------------------------------------------


def _asgi_post(app: Any, headers: list[tuple[bytes, bytes]], body: Iterator[bytes]) -> tuple[int, int]:
    """POST /api/datasets straight into the app's ASGI callable; (status, body chunks the app pulled)."""
    pulled = 0
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        chunk = next(body, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        pulled += 1
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/datasets",
        "raw_path": b"/api/datasets",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver"), (b"content-type", b"multipart/form-data; boundary=x"), *headers],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
    }
    asyncio.run(app(scope, receive, send))
    return status, pulled


def test_ten_megabytes_are_refused_without_being_read(tmp_path: Path) -> None:
    from nndojo.api.server import create_app
    from nndojo.config import Settings

    app = create_app(Settings(mode="personal", data_dir=tmp_path))  # the guard answers before any route (no lifespan needed)
    chunk = b"1," * 32_768  # 64 kB
    chunks = 10 * MB // len(chunk)

    def body() -> Iterator[bytes]:
        return iter([chunk] * chunks)

    status, pulled = _asgi_post(app, [(b"content-length", str(10 * MB).encode())], body())
    assert (status, pulled) == (413, 0), "a declared 10 MB is refused before a byte is read"
    status, pulled = _asgi_post(app, [], body())  # chunked: no length said
    assert status == 413
    assert pulled <= 5 * MB // len(chunk) + 1 < chunks, f"read {pulled} of {chunks} chunks: it stopped at the 5 MB limit"


# --- against a real server: classroom rules, training, a restart ----------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, jobkit: SimpleNamespace) -> Iterator[SimpleNamespace]:
    env = {"NNDOJO_MODE": "classroom", "NNDOJO_TEACHER_PASSWORD": PASSWORD, "NNDOJO_MAX_UPLOADS_PER_STUDENT": "2"}
    data_dir = tmp_path_factory.mktemp("uploads")
    box = SimpleNamespace(process=jobkit.start_server(data_dir, env), data_dir=data_dir, env=env)
    try:
        yield box
    finally:
        box.process.stop()


def login(url: str, body: dict[str, str]) -> httpx.Client:
    http = httpx.Client(base_url=url, timeout=60)
    reply = http.post("/api/session", json=body)
    assert reply.status_code == 200, reply.text
    return http


def upload(http: httpx.Client, text: str, target: str, **fields: Any) -> httpx.Response:
    files = {"file": ("my data.csv", io.BytesIO(text.encode()), "text/csv")}
    return http.post("/api/datasets", files=files, data={"target": target, **fields})


def spec_for(name: str, task: str, epochs: int = 40) -> dict[str, Any]:
    classify = task == "classification"
    return {
        "name": f"{task} upload",
        "seed": 3,
        "device": "cpu",
        "dataset": {"name": name, "test_fraction": 0.25},
        "model": {"layers": [{"type": "dense", "units": 6, "activation": "tanh"}], "output": {"activation": "softmax" if classify else "identity"}},
        "training": {
            "epochs": epochs,
            "batch_size": 16,
            "loss": "cross_entropy" if classify else "mse",
            "optimizer": {"name": "adam", "lr": 0.05},
        },
        "probes": {"histogram_bins": 10, "boundary_resolution": 12},
    }


def names_in_catalog(http: httpx.Client) -> set[str]:
    return {d["name"] for d in http.get("/api/catalog").json()["datasets"]}


def test_uploads_belong_to_their_uploader_and_train(server: SimpleNamespace, jobkit: SimpleNamespace) -> None:
    url = server.process.url
    teacher = login(url, {"password": PASSWORD})
    klass = teacher.post("/api/classes", json={"name": "uploads"}).json()
    aiko = login(url, {"class_code": klass["code"], "name": "Aiko"})
    ben = login(url, {"class_code": klass["code"], "name": "Ben"})

    made = upload(aiko, classification_csv(), "animal", name="Pets")
    assert made.status_code == 201, made.text
    pets = made.json()
    assert pets["name"].startswith("upload-pets-") and pets["title"] == "Pets"
    assert (pets["kind"], pets["task"], pets["n_classes"], pets["input_shape"], pets["class_names"]) == ("tabular", "classification", 2, [2], ["cat", "dog"])
    assert pets["owner"]["name"] == "Aiko" and pets["can_change"] and not pets["shared"]
    name = pets["name"]

    # a classmate cannot see it, use it or delete it, and learns nothing of it
    assert name in names_in_catalog(aiko)
    assert name not in names_in_catalog(ben) and name not in names_in_catalog(httpx.Client(base_url=url))
    assert ben.get(f"/api/datasets/{name}").status_code == 404
    assert ben.get(f"/api/datasets/{name}/preview").status_code == 404
    assert ben.delete(f"/api/datasets/{name}").status_code == 404
    refused = ben.post("/api/jobs", json=spec_for(name, "classification"))
    assert refused.status_code == 422
    [item] = refused.json()["detail"]
    assert item["loc"] == ["body", "dataset", "name"] and item["ctx"]["code"] == "upload_unknown"
    never = ben.post("/api/jobs", json=spec_for("upload-nothing-000000", "classification")).json()["detail"]
    assert never[0]["msg"] == item["msg"].replace(name, "upload-nothing-000000"), "someone else's and no one's read alike"

    # the uploader trains on it: the boundary covers the data's own range, in the file's units
    job = aiko.post("/api/jobs", json=spec_for(name, "classification")).json()
    done = jobkit.wait_final(aiko, job["id"], timeout=180)
    assert done["status"] == "completed", done
    assert done["final"]["test"]["accuracy"] >= 0.9
    events = jobkit.all_events(aiko, job["id"])
    boundary = next(e["boundary"] for e in reversed(events) if e.get("boundary"))
    assert 140 < boundary["x"][0] < 150 < 170 < boundary["x"][-1] < 185, boundary["x"]
    assert any(e.get("units") for e in events if e["type"] == "epoch"), "the diagram's unit maps come with two features"
    preview = aiko.get(f"/api/datasets/{name}/preview", params={"seed": 3, "test_fraction": 0.25}).json()
    assert preview["kind"] == "tabular" and preview["n_train"] == 90 and preview["n_test"] == 30
    assert preview["features"] == ["height", "weight"] and len(preview["train"]["x"]) == 90

    # shared, the class may use it (not change it); the teacher may delete it
    assert aiko.post(f"/api/datasets/{name}/share").json()["shared"] is True
    assert name in names_in_catalog(ben)
    assert ben.post("/api/check", json=spec_for(name, "classification")).status_code == 200
    assert ben.delete(f"/api/datasets/{name}").status_code == 403

    # a regression: more than two features, no boundary
    made = upload(aiko, regression_csv(), "price")
    assert made.status_code == 201, made.text
    prices = made.json()
    assert (prices["task"], prices["n_classes"], prices["features"]) == ("regression", None, ["a", "b", "c"])
    job = aiko.post("/api/jobs", json=spec_for(prices["name"], "regression", epochs=60)).json()
    done = jobkit.wait_final(aiko, job["id"], timeout=180)
    assert done["status"] == "completed", done
    events = jobkit.all_events(aiko, job["id"])
    losses = [e["test"]["loss"] for e in events if e["type"] == "epoch"]
    assert losses[-1] < 0.05 * losses[0], losses[:: max(1, len(losses) // 6)]
    assert not any(e.get("boundary") for e in events)

    assert teacher.delete(f"/api/datasets/{name}").json() == {"name": name, "deleted": True}
    assert name not in names_in_catalog(aiko)
    server.names = {"kept": prices["name"], "aiko_cookie": aiko.cookies["nndojo_session"]}


def test_bad_uploads_over_http(server: SimpleNamespace) -> None:
    url = server.process.url
    teacher = login(url, {"password": PASSWORD})
    bad = upload(teacher, small([*GOOD_ROWS[:6], "3,oops,1", *GOOD_ROWS[6:]]).decode(), "y")
    assert bad.status_code == 422
    [item] = bad.json()["detail"]
    assert item["loc"] == ["body", "file"] and item["ctx"] == {"code": "upload_not_number", "row": 8, "column": "x2", "value": "oops"}
    no_target = teacher.post("/api/datasets", files={"file": ("a.csv", b"x,y\n1,2\n", "text/csv")})
    assert no_target.status_code == 422 and no_target.json()["detail"][0]["loc"] == ["body", "target"]
    wrong_task = upload(teacher, small(GOOD_ROWS).decode(), "y", task="clustering")
    assert wrong_task.status_code == 422 and wrong_task.json()["detail"][0]["loc"] == ["body", "task"]
    as_json = teacher.post("/api/datasets", json={"target": "y"})
    assert as_json.status_code == 415

    big = b"1,2,3\n" * (10 * MB // 6)
    declared = teacher.post("/api/datasets", files={"file": ("big.csv", big, "text/csv")}, data={"target": "y"})
    assert declared.status_code == 413 and declared.json()["detail"]["code"] == "upload_too_large"

    def chunked() -> Iterator[bytes]:
        yield b"--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.csv\"\r\n\r\n"
        for _ in range(10 * MB // 65_536):
            yield b"1," * 32_768

    streamed = teacher.post("/api/datasets", content=chunked(), headers={"Content-Type": "multipart/form-data; boundary=x"})
    assert streamed.status_code == 413


def test_a_students_uploads_are_counted_and_go_with_their_class(server: SimpleNamespace) -> None:
    url = server.process.url
    teacher = login(url, {"password": PASSWORD})
    klass = teacher.post("/api/classes", json={"name": "leaving"}).json()
    cy = login(url, {"class_code": klass["code"], "name": "Cy"})
    names = [upload(cy, small(GOOD_ROWS).decode(), "y").json()["name"] for _ in range(2)]
    third = upload(cy, small(GOOD_ROWS).decode(), "y")
    assert third.status_code == 429 and third.json()["detail"]["code"] == "max_uploads_per_student"
    assert upload(teacher, small(GOOD_ROWS).decode(), "y").status_code == 201, "the teacher keeps any number"
    assert set(names) <= names_in_catalog(teacher)
    assert teacher.delete(f"/api/classes/{klass['id']}").status_code == 204
    assert not set(names) & names_in_catalog(teacher)
    assert all(teacher.get(f"/api/datasets/{n}").status_code == 404 for n in names)


def test_an_upload_survives_a_restart(server: SimpleNamespace, jobkit: SimpleNamespace) -> None:
    kept = server.names["kept"]
    server.process.stop()
    server.process = jobkit.start_server(server.data_dir, server.env)
    aiko = httpx.Client(base_url=server.process.url, timeout=60, cookies={"nndojo_session": server.names["aiko_cookie"]})
    assert kept in names_in_catalog(aiko)
    job = aiko.post("/api/jobs", json=spec_for(kept, "regression", epochs=5)).json()
    assert jobkit.wait_final(aiko, job["id"], timeout=180)["status"] == "completed"
