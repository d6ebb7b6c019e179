"""A class that outgrows one box joins a Ray cluster (RAY_ADDRESS). Here a two-node cluster on this machine (ray's
cluster_utils, one CPU a node) and a server joined to it with two slots: the slots land on both nodes, and jobs, solo
and packed, train on each and stream their events from the second node as from the first."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.filterwarnings("ignore:grad and param do not obey the gradient layout contract")


# The cluster lives in a process of its own until its stdin closes: Cluster.shutdown resets the calling process's Ray
# client state, which would break the test session's own embedded Ray.
CLUSTER = """
import sys
from ray.cluster_utils import Cluster
nodes = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
nodes.add_node(num_cpus=1)
nodes.wait_for_nodes()
print(nodes.address, flush=True)
sys.stdin.read()
nodes.shutdown()
"""


@pytest.fixture(scope="module")
def cluster_address() -> Iterator[str]:
    proc = subprocess.Popen([sys.executable, "-c", CLUSTER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        address = proc.stdout.readline().strip()
        assert address, "the two-node cluster did not start"
        yield address
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def client(cluster_address: str, tmp_path_factory: pytest.TempPathFactory, jobkit: SimpleNamespace) -> Iterator[httpx.Client]:
    server = jobkit.start_server(tmp_path_factory.mktemp("cluster"), {"RAY_ADDRESS": cluster_address, "NNDOJO_CPU_SLOTS": "2"})
    try:
        with httpx.Client(base_url=server.url, timeout=60) as c:
            yield c
    finally:
        server.stop()


def submit(client: httpx.Client, spec: dict[str, Any]) -> str:
    reply = client.post("/api/jobs", json=spec)
    assert reply.status_code == 201, reply.text
    return str(reply.json()["id"])


def node_of(client: httpx.Client, jobkit: SimpleNamespace, job_id: str) -> str:
    running = [e for e in jobkit.all_events(client, job_id) if e["type"] == "status" and e["status"] == "running"]
    assert len(running) == 1 and running[0]["node"], running
    return str(running[0]["node"])


def assert_whole_log(client: httpx.Client, jobkit: SimpleNamespace, job_id: str, epochs: int) -> None:
    events = jobkit.all_events(client, job_id)
    assert [e["seq"] for e in events] == list(range(len(events)))
    assert [e["epoch"] for e in events if e["type"] == "epoch"] == list(range(epochs + 1))
    assert events[-1]["status"] == "completed"


def test_slots_land_on_both_nodes_and_each_streams_its_jobs_events(client: httpx.Client, jobkit: SimpleNamespace) -> None:
    """A long job holds one slot; a job of another shape takes the other, on the other node, and completes there with
    its whole log; then the long one is cancelled."""
    long_id = submit(client, jobkit.long_spec())
    jobkit.wait_running(client, long_id, timeout=120)
    other = jobkit.tiny_spec(6, model={"layers": [{"type": "dense", "units": 5, "activation": "relu"}], "output": {"activation": "sigmoid"}})
    other_id = submit(client, other)
    assert jobkit.wait_final(client, other_id, timeout=120)["status"] == "completed"
    assert_whole_log(client, jobkit, other_id, 6)
    assert node_of(client, jobkit, long_id) != node_of(client, jobkit, other_id)
    assert client.post(f"/api/jobs/{long_id}/cancel").json()["status"] == "cancelled"


def test_a_class_of_one_shape_trains_as_two_packs_one_on_each_node(client: httpx.Client, jobkit: SimpleNamespace) -> None:
    """Eight jobs of one shape at once: a pack on each slot, so on each node, every job's events whole. (Mini-batches of
    five keep the first pack busy while the others are submitted: a free slot is taken before a pack is joined.)"""
    training = {"epochs": 40, "batch_size": 5, "loss": "cross_entropy", "optimizer": {"name": "sgd", "lr": 0.1}}
    ids = [submit(client, jobkit.tiny_spec(40, name=f"student {i}", seed=i, training=training)) for i in range(8)]
    for job_id in ids:
        assert jobkit.wait_final(client, job_id, timeout=120)["status"] == "completed"
    for job_id in ids:
        assert_whole_log(client, jobkit, job_id, 40)
    assert len({node_of(client, jobkit, job_id) for job_id in ids}) == 2
