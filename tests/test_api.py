"""The REST API through FastAPI's TestClient (the app, its Ray slots and SQLite all in this process)."""

from __future__ import annotations

import itertools
import json
import logging
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import ray

from test_spec import CASES

JOB_FIELDS = ("id", "name", "status", "spec", "created_at", "started_at", "finished_at", "device", "n_params", "epoch", "final", "error")


@pytest.fixture
def client(api_client: Any) -> Any:
    return api_client


def submit(client: Any, spec: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/api/jobs", json=spec)
    assert response.status_code == 201, response.text
    return response.json()


def events(client: Any, job_id: str, after: int | None = None) -> list[dict[str, Any]]:
    response = client.get(f"/api/jobs/{job_id}/events", params={} if after is None else {"after": after})
    assert response.status_code == 200, response.text
    return response.json()


def assert_complete_log(log: list[dict[str, Any]], final: str = "completed") -> None:
    assert [event["seq"] for event in log] == list(range(len(log))), "seq must run 0, 1, 2, … without gaps"
    assert log[0] == {**log[0], "type": "status", "status": "queued"}
    assert log[-1]["type"] == "status" and log[-1]["status"] == final
    assert sum(1 for event in log if event["type"] == "status" and event["status"] in ("completed", "failed", "cancelled", "diverged")) == 1


# --- reading endpoints -----------------------------------------------------------------------------


def test_health(client: Any) -> None:
    body = client.get("/api/health").json()
    assert body["status"] == "ok" and body["version"] and "cpu" in body["devices"]


def test_catalog_schema_and_docs(client: Any) -> None:
    catalog = client.get("/api/catalog").json()
    assert {"datasets", "layers", "activations", "optimizers", "lr_schedules", "limits"} <= set(catalog)
    assert {d["name"] for d in catalog["datasets"]} >= {"circle", "spiral", "digits", "fashion-mnist"}
    schema = client.get("/api/schema").json()
    assert {"dataset", "model", "training"} <= set(schema["properties"])
    assert "NN Dojo" in client.get("/docs").text
    assert "/api/jobs" in client.get("/openapi.json").json()["paths"]


def test_check_reports_shapes_and_refuses_like_submit(client: Any) -> None:
    report = client.post("/api/check", json={"model": {"layers": [{"type": "dense", "units": 8}]}}).json()
    assert report["n_params"] == 2 * 8 + 8 + 8 * 2 + 2 and [layer["name"] for layer in report["layers"]] == ["dense_1", "output"]
    bad = client.post("/api/check", json={"model": {"layers": [{"type": "conv2d"}]}})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "model", "layers", 0]


def test_dataset_preview(client: Any) -> None:
    points = client.get("/api/datasets/spiral/preview", params={"n_samples": 60, "seed": 1}).json()
    assert points["kind"] == "toy2d" and len(points["train"]["x"]) + len(points["test"]["x"]) == 60
    images = client.get("/api/datasets/digits/preview", params={"max_images": 3}).json()
    assert images["kind"] == "image" and len(images["images"]) == 3
    assert client.get("/api/datasets/cifar10/preview").status_code == 404
    assert client.get("/api/datasets/circle/preview", params={"noise": 2}).json()["detail"][0]["loc"] == ["query", "noise"]
    missing = client.get("/api/datasets/mnist/preview")  # this machine has Fashion-MNIST's files only
    assert missing.status_code == 409 and "mnist" in missing.json()["detail"].lower() and "/usr" not in missing.json()["detail"]


def test_preview_over_the_server_sample_limit_is_the_same_limit_error(restricted_server: str) -> None:
    """The preview checks max_samples as a submission does: same message, and a ctx the page can translate."""
    reply = httpx.get(f"{restricted_server}/api/datasets/circle/preview", params={"n_samples": 500}, timeout=30)
    assert reply.status_code == 422
    (error,) = reply.json()["detail"]
    assert error["loc"] == ["query", "n_samples"] and error["type"] == "limit"
    assert error["msg"] == "at most 400 samples on this server (limit max_samples)"
    assert error["ctx"] == {"code": "limit", "limit": "max_samples", "max": 400, "value": 500}


def test_optimizer_race(client: Any) -> None:
    body = client.post("/api/optimizer-race", json={"function": "bowl", "steps": 5, "optimizers": [{"name": "sgd", "lr": 0.9}]}).json()
    assert body["function"] == "bowl" and len(body["paths"][0]["points"]) == 6 and body["contour"]["z"]
    bad = client.post("/api/optimizer-race", json={"function": "bowl", "steps": 0})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "steps"]


def test_page_static_files_and_plotly(client: Any) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "<html" in page.text.lower()
    plotly = client.get("/vendor/plotly.min.js")
    assert plotly.status_code == 200 and len(plotly.content) > 1_000_000 and "javascript" in plotly.headers["content-type"]
    assert client.get("/static/index.html").status_code in (200, 404)  # served from frontend/ when the page is there


# --- jobs ------------------------------------------------------------------------------------------


def test_job_runs_and_reports_every_field(client: Any, jobkit: SimpleNamespace) -> None:
    job = submit(client, jobkit.tiny_spec(5, name="fields"))
    assert set(JOB_FIELDS) <= set(job) and job["status"] == "queued" and job["n_params"] == 2 * 4 + 4 + 4 + 1
    done = jobkit.wait_final(client, job["id"])
    assert done["status"] == "completed" and done["epoch"] == 5 and done["device"] == "cpu" and done["error"] is None
    assert done["started_at"] and done["finished_at"] >= done["started_at"] >= done["created_at"]
    assert set(done["final"]) == {"train", "test"} and 0 <= done["final"]["test"]["accuracy"] <= 1
    assert done["spec"]["name"] == "fields" and done["position"] is None
    log = events(client, job["id"])
    assert_complete_log(log)
    assert [e["epoch"] for e in log if e["type"] == "epoch"] == list(range(6))
    assert log[1] == {**log[1], "status": "running", "device": "cpu"}
    assert events(client, job["id"], after=3) == log[4:]
    assert events(client, job["id"], after=len(log)) == []
    assert client.get(f"/api/jobs/{job['id']}/events", params={"after": 1, "limit": 2}).json() == log[2:4]


def test_list_is_newest_first_and_filters(client: Any, jobkit: SimpleNamespace) -> None:
    first = submit(client, jobkit.tiny_spec(1, name="first"))
    second = submit(client, jobkit.tiny_spec(1, name="second"))
    listed = client.get("/api/jobs", params={"limit": 2}).json()
    assert [job["id"] for job in listed] == [second["id"], first["id"]]
    assert listed[0]["settings"] == {**listed[0]["settings"], "dataset": "circle", "optimizer": "adam", "epochs": 1}
    assert listed[0]["settings"]["layers"] == ["dense 4 tanh"]
    jobkit.wait_final(client, second["id"])
    jobkit.wait_final(client, first["id"])
    completed = client.get("/api/jobs", params={"status": "completed"}).json()
    assert completed and all(job["status"] == "completed" for job in completed)
    assert {first["id"], second["id"]} <= {job["id"] for job in completed}
    assert client.get("/api/jobs", params={"status": "sleeping"}).status_code == 422
    assert client.get("/api/jobs", params={"limit": 0}).status_code == 422


def test_twenty_jobs_at_once_all_complete_with_full_logs_and_positions(
    client: Any, jobkit: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The line of solo jobs, a slot at a time (packed jobs of one shape leave it together: test_pack_server).
    monkeypatch.setattr(client.app.state.manager.settings, "pack_jobs", False)
    # Two long jobs hold both slots, so the twenty surely wait in line however slow the machine is.
    blockers = [submit(client, jobkit.long_spec()) for _ in range(2)]
    for blocker in blockers:
        jobkit.wait_running(client, blocker["id"])
    jobs = [submit(client, jobkit.tiny_spec(4, name=f"class {i}", seed=i)) for i in range(20)]
    waiting = [job for job in jobs if job["position"]]
    assert [job["position"] for job in waiting] == list(range(1, 21)), "with both slots busy all twenty wait, in order"
    seen = client.get(f"/api/jobs/{jobs[-1]['id']}").json()
    assert seen["status"] == "queued" and seen["position"] == 20
    for blocker in blockers:
        assert client.post(f"/api/jobs/{blocker['id']}/cancel").json()["status"] == "cancelled"
    for job in jobs:
        assert jobkit.wait_final(client, job["id"], timeout=120)["status"] == "completed"
    for job in jobs:
        log = events(client, job["id"])
        assert_complete_log(log)
        assert [e["epoch"] for e in log if e["type"] == "epoch"] == list(range(5))
        positions = [e["position"] for e in log if e["type"] == "status" and e["status"] == "queued"]
        assert positions[0] == (job["position"] or 0)
        assert positions == sorted(positions, reverse=True) and len(set(positions)) == len(positions), "the line only moves forward"
        if job["position"]:
            assert positions[-1] in (1, 2), f"a waiting job hears its place until it is next (two slots): {positions}"
            assert all(0 < a - b <= 2 for a, b in itertools.pairwise(positions)), positions


def test_cancel_queued_and_running(client: Any, jobkit: SimpleNamespace) -> None:
    running = [submit(client, jobkit.long_spec()) for _ in range(2)]
    queued = submit(client, jobkit.tiny_spec(2, name="waits"))
    assert queued["status"] == "queued" and queued["position"] >= 1
    for job in running:
        jobkit.wait_running(client, job["id"])

    cancelled = client.post(f"/api/jobs/{queued['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert events(client, queued["id"])[-1] == {**events(client, queued["id"])[-1], "status": "cancelled"}

    for job in running:
        reply = client.post(f"/api/jobs/{job['id']}/cancel")
        assert reply.status_code == 200 and reply.json()["status"] == "cancelled", reply.text
        log = events(client, job["id"])
        assert_complete_log(log, final="cancelled")
        assert log[-2]["type"] == "epoch" and log[-2]["epoch"] < 400
    again = client.post(f"/api/jobs/{running[0]['id']}/cancel")
    assert again.status_code == 409 and "cancelled" in again.json()["detail"]
    # the slots are free again
    assert jobkit.wait_final(client, submit(client, jobkit.tiny_spec(1))["id"])["status"] == "completed"


def test_delete_running_queued_and_finished(client: Any, jobkit: SimpleNamespace) -> None:
    running = submit(client, jobkit.long_spec())
    jobkit.wait_running(client, running["id"])
    assert client.delete(f"/api/jobs/{running['id']}").json() == {"id": running["id"], "deleted": True}
    for path in ("", "/events"):
        assert client.get(f"/api/jobs/{running['id']}{path}").status_code == 404
    assert running["id"] not in {job["id"] for job in client.get("/api/jobs").json()}

    finished = submit(client, jobkit.tiny_spec(1))
    jobkit.wait_final(client, finished["id"])
    assert client.delete(f"/api/jobs/{finished['id']}").status_code == 200
    assert client.get(f"/api/jobs/{finished['id']}").status_code == 404
    assert client.delete(f"/api/jobs/{finished['id']}").status_code == 404


def test_cancel_finished_is_409_and_unknown_ids_404(client: Any, jobkit: SimpleNamespace) -> None:
    job = submit(client, jobkit.tiny_spec(1))
    jobkit.wait_final(client, job["id"])
    conflict = client.post(f"/api/jobs/{job['id']}/cancel")
    assert conflict.status_code == 409 and "completed" in conflict.json()["detail"]
    for method, path in [("get", ""), ("get", "/events"), ("post", "/cancel"), ("delete", "")]:
        response = getattr(client, method)(f"/api/jobs/no-such-job{path}")
        assert response.status_code == 404 and "no-such-job" in response.json()["detail"]


def test_failures_are_reported_and_harm_no_one(client: Any, jobkit: SimpleNamespace) -> None:
    missing = client.post("/api/jobs", json=jobkit.tiny_spec(1, dataset={"name": "mnist"}, model={"layers": [{"type": "flatten"}]}))
    assert missing.status_code == 422, "this machine has no MNIST files: refused at submission, not failed in a worker"
    assert missing.json()["detail"][0]["loc"] == ["body", "dataset", "name"]

    # A worker process that dies mid-job: the job fails, the slot is replaced, the next job trains.
    victim = submit(client, jobkit.long_spec())
    jobkit.wait_running(client, victim["id"])
    manager = client.app.state.manager
    slot = next(slot for slot in manager.pool.slots if victim["id"] in {job.id for job in manager.scheduler._jobs_of(slot)})
    ray.kill(slot.actor, no_restart=True)
    crashed = jobkit.wait_final(client, victim["id"])
    assert crashed["status"] == "failed" and "worker stopped" in crashed["error"]
    assert_complete_log(events(client, victim["id"]), final="failed")
    after = [submit(client, jobkit.tiny_spec(2)) for _ in range(3)]
    assert all(jobkit.wait_final(client, job["id"], timeout=120)["status"] == "completed" for job in after)


def test_diverged_job_is_a_final_status_with_its_epoch(client: Any, jobkit: SimpleNamespace) -> None:
    spec = jobkit.tiny_spec(
        20,
        dataset={"name": "reg-plane", "n_samples": 100},
        model={"layers": [{"type": "dense", "units": 4, "activation": "relu"}], "output": {"activation": "identity"}},
        training={"epochs": 20, "batch_size": "full", "loss": "mse", "optimizer": {"name": "sgd", "lr": 100.0}},
    )
    job = jobkit.wait_final(client, submit(client, spec)["id"])
    assert job["status"] == "diverged"
    log = events(client, job["id"])
    assert log[-1]["status"] == "diverged" and isinstance(log[-1]["epoch"], int)
    json.dumps(log, allow_nan=False)  # a NaN loss travels as null


def test_a_100_epoch_job_stores_under_2_5_mb(client: Any, jobkit: SimpleNamespace) -> None:
    """Its 16 units' maps take 1.2 MB of it (62 epochs x 16 x 20² cells), the rest 0.9 MB."""
    spec = jobkit.tiny_spec(
        100,
        dataset={"name": "spiral", "n_samples": 500, "noise": 0.1},
        model={
            "layers": [{"type": "dense", "units": 8, "activation": "relu"}, {"type": "dense", "units": 8, "activation": "relu"}],
            "output": {"activation": "sigmoid"},
        },
        training={"epochs": 100, "batch_size": 10, "loss": "cross_entropy", "optimizer": {"name": "adam", "lr": 0.01}},
        probes={"histogram_bins": 30, "boundary_resolution": 50},
    )
    job = jobkit.wait_final(client, submit(client, spec)["id"], timeout=120)
    assert job["status"] == "completed"
    stored = client.app.state.manager.store.event_bytes(job["id"])
    assert stored < 2_500_000, f"{stored:,} bytes"
    log = events(client, job["id"])
    with_grid = [e["epoch"] for e in log if e["type"] == "epoch" and "boundary" in e]
    assert with_grid[0] == 0 and with_grid[-1] == 100 and len(with_grid) <= 62


# --- bad input -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("spec", "loc", "fragment"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_bad_specs_are_422_naming_the_field(client: Any, spec: dict[str, Any], loc: tuple, fragment: str) -> None:
    response = client.post("/api/jobs", json=spec)
    assert response.status_code == 422, response.text
    errors = response.json()["detail"]
    matching = [e for e in errors if tuple(e["loc"][1 : 1 + len(loc)]) == loc and e["loc"][0] == "body"]
    assert matching, f"no error at body.{loc}: {errors}"
    assert any(fragment in e["msg"] for e in matching)


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"device": "cuda"}, ["body", "device"]),  # this machine has no GPU
        ([1, 2, 3], ["body"]),
        ("spiral", ["body"]),
        ({"dataset": "spiral"}, ["body", "dataset"]),
        ({"training": {"batch_size": None}}, ["body", "training", "batch_size"]),
    ],
)
def test_more_bad_bodies(client: Any, body: Any, loc: list[Any]) -> None:
    response = client.post("/api/jobs", json=body)
    assert response.status_code == 422
    assert any(error["loc"][: len(loc)] == loc for error in response.json()["detail"]), response.json()


def test_malformed_json_wrong_type_and_size_limits(client: Any) -> None:
    malformed = client.post("/api/jobs", content=b'{"name": "x",', headers={"content-type": "application/json"})
    assert malformed.status_code == 422 and malformed.json()["detail"][0]["type"] == "json_invalid"
    form = client.post("/api/jobs", content=b"name=x", headers={"content-type": "application/x-www-form-urlencoded"})
    assert form.status_code == 415 and "application/json" in form.json()["detail"]
    big = json.dumps({"name": "x" * 200_000}).encode()
    assert client.post("/api/jobs", content=big, headers={"content-type": "application/json"}).status_code == 413

    def chunks() -> Any:  # no Content-Length: the limit is counted on the bytes as they stream in
        for _ in range(30):
            yield b" " * 10_000

    streamed = client.post("/api/jobs", content=chunks(), headers={"content-type": "application/json"})
    assert streamed.status_code == 413 and "max_body_bytes" in streamed.json()["detail"]
    assert client.post("/api/jobs", content=b"{}", headers={"content-length": "abc", "content-type": "application/json"}).status_code in (
        400,
        422,
    )


def test_queue_limit_is_429(client: Any, jobkit: SimpleNamespace) -> None:
    blockers = [submit(client, jobkit.long_spec()) for _ in range(2)]
    for job in blockers:
        jobkit.wait_running(client, job["id"])
    waiting = [submit(client, jobkit.tiny_spec(1)) for _ in range(30)]
    assert waiting[-1]["position"] == 30
    full = client.post("/api/jobs", json=jobkit.tiny_spec(1))
    assert full.status_code == 429 and full.json()["detail"]["code"] == "max_queue" and "max_queue" in full.json()["detail"]["msg"]
    for job in [*waiting, *blockers]:
        assert client.delete(f"/api/jobs/{job['id']}").status_code == 200
    assert client.post("/api/jobs", json=jobkit.tiny_spec(1)).status_code == 201


def test_the_log_says_each_step_of_a_jobs_life_with_its_final_status(api_client: Any, jobkit: SimpleNamespace, caplog: pytest.LogCaptureFixture) -> None:
    """One line per step for `docker compose logs`; the end names the status the trainer sent (it once said
    "running", the record's status before the final event was stored)."""
    with caplog.at_level(logging.INFO, logger="nndojo.jobs.manager"):
        job_id = api_client.post("/api/jobs", json=jobkit.tiny_spec(2)).json()["id"]
        assert jobkit.wait_final(api_client, job_id)["status"] == "completed"
    steps = [record.getMessage().split(":")[0] for record in caplog.records if f"job {job_id}" in record.getMessage()]
    assert [line.split()[2] for line in steps] == ["submitted", "started", "completed"], steps
    assert "after" in steps[-1] and "trained" in steps[-1]
