"""Packing through the server (setting pack_jobs): same-shape jobs share one slot's pack, each keeps its own events,
outcome and controls. One training slot, so jobs that train at the same time can only be doing so in one pack; the
server runs in its own process (and Ray): an in-process app would share the test session's Ray, whose CPUs other
apps' slots hold, and wait for a CPU for ever."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from nndojo.config import Settings
from nndojo.jobs import wire
from nndojo.jobs.pack_worker import PackRunner
from nndojo.spec import JobSpec
from nndojo.train import train
from test_pack import assert_same_events

pytestmark = pytest.mark.filterwarnings("ignore:grad and param do not obey the gradient layout contract")


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, jobkit: SimpleNamespace) -> Iterator[Any]:
    server = jobkit.start_server(tmp_path_factory.mktemp("pack_server"), {"NNDOJO_CPU_SLOTS": "1", "NNDOJO_PACK_JOBS": "true"})
    try:
        with httpx.Client(base_url=server.url, timeout=60) as c:
            yield c
    finally:
        server.stop()


def spec(seed: int, epochs: int, lr: float = 0.1) -> dict[str, Any]:
    return {
        "seed": seed,
        "device": "cpu",
        "dataset": {"name": "circle", "n_samples": 60, "noise": 0.1},
        "model": {"layers": [{"type": "dense", "units": 4, "activation": "tanh"}] * 2, "output": {"activation": "sigmoid"}},
        "training": {"epochs": epochs, "batch_size": 5, "optimizer": {"name": "sgd", "lr": lr}},
        "probes": {"histogram_bins": 10, "boundary_resolution": 10, "unit_resolution": 5},
    }


def stripped(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The trainer's events as stored: without the server's seq, the worker's t_emit and node, and the queue's status."""
    out = []
    for event in events:
        if event["type"] == "status" and event["status"] == "queued":
            continue
        assert event["type"] != "status" or event["status"] != "running" or event["node"], "the running status names its node"
        out.append({k: v for k, v in event.items() if k not in ("seq", "t_emit", "node")})
    return out


def test_same_shape_jobs_train_in_one_pack_with_their_solo_events(client: Any, jobkit: SimpleNamespace) -> None:
    """A long job holds the only slot; two more of its shape train beside it, in its pack, and end as their solo runs."""
    long_id = client.post("/api/jobs", json=spec(9, 5000)).json()["id"]
    jobkit.wait_running(client, long_id, timeout=120)
    specs = [spec(seed, 100, lr=0.05 * seed) for seed in (1, 2)]
    ids = [client.post("/api/jobs", json=s).json()["id"] for s in specs]
    for job_id in ids:
        assert jobkit.wait_final(client, job_id, timeout=300)["status"] == "completed"
    assert client.get(f"/api/jobs/{long_id}").json()["status"] == "running", "one slot: they trained beside it, in its pack"
    for s, job_id in zip(specs, ids, strict=True):
        want: list[dict[str, Any]] = []
        train(JobSpec.model_validate(s), want.append)
        assert_same_events(want, stripped(jobkit.all_events(client, job_id)))
    assert client.post(f"/api/jobs/{long_id}/cancel").json()["status"] == "cancelled"


def test_a_member_is_paused_resumed_and_another_cancelled_while_the_rest_finish(client: Any, jobkit: SimpleNamespace) -> None:
    steady, paused, cancelled = (client.post("/api/jobs", json=spec(seed, 400)).json()["id"] for seed in (4, 5, 6))
    for job_id in (steady, paused, cancelled):
        jobkit.wait_running(client, job_id, timeout=120)
    assert client.post(f"/api/jobs/{paused}/pause").status_code == 200
    jobkit.wait_for(client, paused, lambda job: job["status"] == "paused", timeout=60)
    assert client.post(f"/api/jobs/{cancelled}/cancel").json()["status"] == "cancelled"
    assert jobkit.wait_final(client, steady, timeout=300)["status"] == "completed"
    held = client.get(f"/api/jobs/{paused}").json()
    assert held["status"] == "paused" and held["epoch"] < 400, "a paused member does not train with the others"
    assert client.post(f"/api/jobs/{paused}/resume").status_code == 200
    assert jobkit.wait_final(client, paused, timeout=300)["status"] == "completed"
    actions = [e.get("action") for e in jobkit.all_events(client, paused) if e["type"] == "control"]
    assert actions == ["pause", "resume"]
    assert client.get(f"/api/jobs/{cancelled}").json()["status"] == "cancelled"


class _Frames:
    """A slot's event socket, as a list: (job id, kind, meta) of each frame sent."""

    def __init__(self) -> None:
        self.frames: list[tuple[str, bytes, dict[str, Any]]] = []

    def send(self, address: tuple[str, int], token: str, data: bytes) -> None:
        frame = wire.decode_body(data[4:])
        self.frames.append((frame.job_id, frame.kind, frame.meta))


def test_a_join_that_reaches_the_worker_before_its_pack_starts_trains_in_it() -> None:
    """Ray runs a worker's calls on a thread pool, so a join can arrive before the call that starts its pack: the job
    waits for that pack and trains in it. A join for a pack that has ended is refused (the scheduler queues it)."""
    frames = _Frames()
    runner = PackRunner("cpu", 1, Settings().datasets_dir, frames, lambda event: event)  # type: ignore[arg-type]
    address = ("127.0.0.1", 1)
    assert runner.join("first", "second", JobSpec.model_validate(spec(2, 3)).model_dump_json(), address, "t")
    outcomes = runner.run("first", JobSpec.model_validate(spec(1, 3)).model_dump_json(), address, "t")
    assert outcomes == {"first": {"status": "completed"}, "second": {"status": "completed"}}
    ends = [(job, meta) for job, kind, meta in frames.frames if kind == wire.END]
    assert sorted(ends, key=lambda e: e[0]) == [("first", {"status": "completed"}), ("second", {"status": "completed"})]
    assert not runner.join("first", "late", JobSpec.model_validate(spec(3, 3)).model_dump_json(), address, "t")


def test_a_pack_takes_members_while_their_memory_fits_one_worker() -> None:
    """Members share one worker: their estimates (less the torch baseline each would count) must fit its budget, or a
    job waits for a pack of its own. A job whose evaluation a solo run chunks never packs (a pack evaluates in one pass)."""
    from nndojo.jobs.scheduler import ActiveJob, Scheduler
    from nndojo.spec.memory import BASE_MB
    from nndojo.spec.packing import signature

    small = JobSpec.model_validate(spec(1, 2))
    jobs = [ActiveJob(f"j{i}", i, small, "", {}, memory_mb=BASE_MB + 12) for i in range(4)]
    pack = SimpleNamespace(pack_key=("shape",), pack_closing=False, members=jobs[:2])
    scheduler = Scheduler(
        Settings(max_worker_memory_mb=BASE_MB + 36, pack_max_jobs=10), SimpleNamespace(slots=[pack]), tuple, print, print  # type: ignore[arg-type]
    )
    assert scheduler._pack_for(("shape",), jobs[2]) is pack, "three members: 36 MB"
    pack.members = jobs[:3]
    assert scheduler._pack_for(("shape",), jobs[3]) is None, "a fourth would need 48 MB of a 36 MB budget"
    assert scheduler._pack_for(("other",), jobs[2]) is None
    wide = {**spec(1, 2), "dataset": {"name": "circle", "n_samples": 20000}, "model": {"layers": [{"type": "dense", "units": 1024}]}}
    assert signature(JobSpec.model_validate(wide)) is None, "its evaluation takes 5 chunks: it trains solo"
