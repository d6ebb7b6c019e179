"""Server benchmark, in one run on this machine:

1. latency: a job's epoch end (the worker's `t_emit` stamp) to the event's arrival at each of 100 websocket clients
   following the job (median, p95, max); goal p95 < 50 ms.
2. throughput: 50 jobs submitted at once, jobs completed per minute, against the same 50 trained one after another
   with the plain trainer in this process; goal: the server adds under 10 % (compared with one slot, the plain loop's
   parallelism; the default slots, one per core, are shown too). Two job sizes: the tiny 2-8-1 (20 epochs, ~40 ms:
   the worst case, where the server's fixed cost per job dominates) and the TensorFlow-Playground-sized 2-8-8-1 tanh
   (500 points, batch 10, 100 epochs) of the trainer benchmark. The load average is printed before each measurement:
   the machine is shared, and a busy neighbour shows up as overhead.

Prints a table and writes JSON to bench/results/. Usage: python bench/bench_server.py [--clients 100] [--jobs 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


def latency_spec(epochs: int) -> dict[str, Any]:
    """The brief's 2-8-8-1 on a 2-D set, paced (mini-batches of 10) so that epochs end some ms apart."""
    return {
        "name": "latency",
        "device": "cpu",
        "dataset": {"name": "spiral", "n_samples": 500, "noise": 0.1},
        "model": {
            "layers": [{"type": "dense", "units": 8, "activation": "relu"}, {"type": "dense", "units": 8, "activation": "relu"}],
            "output": {"activation": "sigmoid"},
        },
        "training": {"epochs": epochs, "batch_size": 10, "loss": "cross_entropy", "optimizer": {"name": "adam", "lr": 0.01}},
    }


def circle_job(name: str, seed: int, *, n_samples: int, depth: int, epochs: int, lr: float) -> dict[str, Any]:
    """A tanh net of `depth` 8-unit layers with SGD on `n_samples` circle points: the jobs the throughput rows compare."""
    return {
        "name": f"{name} {seed}",
        "seed": seed,
        "device": "cpu",
        "dataset": {"name": "circle", "n_samples": n_samples, "noise": 0.1},
        "model": {"layers": [{"type": "dense", "units": 8, "activation": "tanh"}] * depth, "output": {"activation": "sigmoid"}},
        "training": {"epochs": epochs, "batch_size": 10, "loss": "cross_entropy", "optimizer": {"name": "sgd", "lr": lr}},
    }


def small_spec(seed: int) -> dict[str, Any]:
    return circle_job("small", seed, n_samples=200, depth=1, epochs=20, lr=0.1)


def playground_spec(seed: int) -> dict[str, Any]:
    """bench_trainer.py's playground case at 100 epochs: a typical student job."""
    return circle_job("playground", seed, n_samples=500, depth=2, epochs=100, lr=0.03)


SIZES: dict[str, Callable[[int], dict[str, Any]]] = {
    "tiny 2-8-1, 200 pts, 20 epochs (worst case)": small_spec,
    "playground 2-8-8-1, 500 pts, 100 epochs": playground_spec,
}


def load() -> str:
    """The 1-minute load average, printed before each measurement."""
    one = os.getloadavg()[0]
    print(f"  load {one:.2f}", flush=True)
    return f"{one:.2f}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(cpu_slots: int | None, data_dir: str, extra_env: dict[str, str] | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """Starts `python -m nndojo.api` and waits for its health. The free port can be taken before uvicorn binds it (by
    the server's own Ray or event socket, or a neighbour's process): such a start is retried on a new port."""
    log_path = Path(data_dir) / "server.log"
    for attempt in range(3):
        port = free_port()
        env = {**os.environ, "NNDOJO_DATA_DIR": data_dir, "NNDOJO_PORT": str(port), "NNDOJO_HOST": "127.0.0.1", "OMP_NUM_THREADS": "1"}
        env.pop("RAY_ADDRESS", None)
        env.update(extra_env or {})
        if cpu_slots:
            env["NNDOJO_CPU_SLOTS"] = str(cpu_slots)
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "nndojo.api"], env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        url = f"http://127.0.0.1:{port}"
        deadline, answer = time.monotonic() + 180, "no answer"
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                reply = httpx.get(f"{url}/api/health", timeout=30)
                if reply.status_code == 200:
                    return proc, url
                answer = f"{reply.status_code} {reply.text[:200]}"
            except httpx.HTTPError as exc:
                answer = repr(exc)
            time.sleep(0.3)
        stop(proc)
        log_tail = log_path.read_text(errors="replace")[-3000:]
        if "address already in use" not in log_tail or attempt == 2:
            raise RuntimeError(f"the server did not start (exit {proc.poll()}, last health: {answer}):\n{log_tail}")
        print(f"  port {port} was taken before the server bound it; again on another", flush=True)
    raise AssertionError("unreachable")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


@contextmanager
def server(cpu_slots: int | None) -> Any:
    """A real server with its own data dir; yields its base URL."""
    with tempfile.TemporaryDirectory() as data_dir:
        proc, url = start(cpu_slots, data_dir)
        try:
            yield url
        finally:
            stop(proc)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# --- 1. latency ------------------------------------------------------------------------------------


async def follow(url: str, arrivals: list[tuple[float, str]], ready: asyncio.Event, connected: list[int], n_clients: int) -> None:
    """Records (arrival time, raw text) per event; parsing waits until the job is over so it never delays a recv."""
    async with connect(url, max_size=None, max_queue=None) as ws:
        connected[0] += 1
        if connected[0] == n_clients:
            ready.set()
        async for message in ws:
            arrivals.append((time.time(), message if isinstance(message, str) else message.decode()))


async def measure_latency(base: str, n_clients: int, epochs: int, slots: int) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        # Blockers fill every slot and hold the job in line until every client is connected: all see every epoch live.
        blockers = [(await http.post("/api/jobs", json=latency_spec(10_000))).json()["id"] for _ in range(slots)]
        job = (await http.post("/api/jobs", json=latency_spec(epochs))).json()
        assert job["status"] == "queued", "the measured job must wait for its followers"
        ws_url = base.replace("http://", "ws://") + f"/api/jobs/{job['id']}/stream"
        per_client: list[list[tuple[float, str]]] = [[] for _ in range(n_clients)]
        ready, connected = asyncio.Event(), [0]
        tasks = [asyncio.create_task(follow(ws_url, per_client[i], ready, connected, n_clients)) for i in range(n_clients)]
        await asyncio.wait_for(ready.wait(), 60)
        for blocker in blockers:
            await http.post(f"/api/jobs/{blocker}/cancel")
        await asyncio.wait_for(asyncio.gather(*tasks), 600)
    latencies_ms: list[float] = []
    for arrivals in per_client:
        for arrived, text in arrivals:
            event = json.loads(text)
            if event["type"] == "epoch":
                latencies_ms.append((arrived - event["t_emit"]) * 1000)
    sizes = [len(text) for _, text in per_client[0]]
    return {
        "clients": n_clients,
        "epochs": epochs,
        "events_per_client": len(per_client[0]),
        "samples": len(latencies_ms),
        "median_ms": statistics.median(latencies_ms),
        "p95_ms": percentile(latencies_ms, 0.95),
        "max_ms": max(latencies_ms),
        "mean_event_bytes": statistics.mean(sizes),
    }


# --- 2. throughput ---------------------------------------------------------------------------------


def plain_trainer(n_jobs: int, make: Callable[[int], dict[str, Any]]) -> float:
    """The same jobs one after another with the trainer alone in this process; seconds."""
    import torch

    from nndojo.spec import JobSpec
    from nndojo.train import train

    torch.set_num_threads(1)
    train(JobSpec.model_validate(make(999)), lambda event: None, threads=1)  # warm-up: imports, first kernels
    started = time.perf_counter()
    for seed in range(n_jobs):
        assert train(JobSpec.model_validate(make(seed)), lambda event: None, threads=1) == "completed"
    return time.perf_counter() - started


def served(base: str, n_jobs: int, make: Callable[[int], dict[str, Any]]) -> float:
    """The jobs submitted together; seconds from the first submission to the last job's finished_at (the server's
    clock is this machine's). Waiting polls one job every 200 ms, so the client adds next to no load."""
    with httpx.Client(base_url=base, timeout=60) as http:

        def wait(job_id: str) -> None:
            while http.get(f"/api/jobs/{job_id}").json()["status"] in ("queued", "running"):
                time.sleep(0.2)

        wait(http.post("/api/jobs", json=make(999)).json()["id"])  # warm-up: the slots' first kernels
        started = time.time()
        ids = [http.post("/api/jobs", json=make(seed)).json()["id"] for seed in range(n_jobs)]
        for job_id in reversed(ids):
            wait(job_id)
        jobs = [http.get(f"/api/jobs/{job_id}").json() for job_id in ids]
    assert all(job["status"] == "completed" for job in jobs), [job["error"] for job in jobs]
    finished = max(datetime.fromisoformat(job["finished_at"].replace("Z", "+00:00")).timestamp() for job in jobs)
    return finished - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=50)
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    seconds: dict[tuple[str, str], float] = {}
    loads: dict[tuple[str, str], str] = {}

    print(f"server, {cores} slots (default)", flush=True)
    with server(cpu_slots=None) as base:
        loads[("latency", "")] = load()
        latency = asyncio.run(measure_latency(base, args.clients, args.epochs, cores))
        for size, make in SIZES.items():
            loads[(size, "default")] = load()
            seconds[(size, "default")] = served(base, args.jobs, make)
    print("server, 1 slot", flush=True)
    with server(cpu_slots=1) as base:
        for size, make in SIZES.items():
            loads[(size, "1")] = load()
            seconds[(size, "1")] = served(base, args.jobs, make)
    print("plain trainer", flush=True)
    for size, make in SIZES.items():
        loads[(size, "plain")] = load()
        seconds[(size, "plain")] = plain_trainer(args.jobs, make)

    per_min = lambda s: args.jobs / s * 60  # noqa: E731
    throughput = {
        size: {
            "jobs": args.jobs,
            "plain_s": seconds[(size, "plain")],
            "server_1_slot_s": seconds[(size, "1")],
            f"server_{cores}_slots_s": seconds[(size, "default")],
            "plain_jobs_per_min": per_min(seconds[(size, "plain")]),
            "server_1_slot_jobs_per_min": per_min(seconds[(size, "1")]),
            f"server_{cores}_slots_jobs_per_min": per_min(seconds[(size, "default")]),
            "server_1_slot_overhead": seconds[(size, "1")] / seconds[(size, "plain")] - 1,
            "load_1min": {"plain": loads[(size, "plain")], "1_slot": loads[(size, "1")], "default": loads[(size, "default")]},
        }
        for size in SIZES
    }
    result = {
        "machine": {"cores": cores, "python": platform.python_version(), "platform": platform.platform()},
        "latency": {**latency, "load_1min": loads[("latency", "")]},
        "throughput": throughput,
        "goals": {
            "latency_p95_under_50ms": latency["p95_ms"] < 50,
            **{f"server_overhead_under_10pct: {size}": row["server_1_slot_overhead"] < 0.10 for size, row in throughput.items()},
        },
    }
    rows = [
        ("epoch end -> 100 websockets, median", f"{latency['median_ms']:.1f} ms", f"load {loads[('latency', '')]}"),
        ("epoch end -> 100 websockets, p95", f"{latency['p95_ms']:.1f} ms", "goal < 50 ms"),
        (
            "epoch end -> 100 websockets, max",
            f"{latency['max_ms']:.1f} ms",
            f"{latency['samples']} samples, {latency['mean_event_bytes'] / 1000:.1f} kB/event",
        ),
    ]
    for size, row in throughput.items():
        plain, one, default = seconds[(size, "plain")], seconds[(size, "1")], seconds[(size, "default")]
        rows += [
            (f"{size}: plain trainer", f"{per_min(plain):.0f} jobs/min", f"{plain:.1f} s, load {loads[(size, 'plain')]}"),
            (
                f"{size}: server, 1 slot",
                f"{per_min(one):.0f} jobs/min",
                f"{one:.1f} s, overhead {row['server_1_slot_overhead']:+.1%} (goal < 10%), load {loads[(size, '1')]}",
            ),
            (
                f"{size}: server, {cores} slots (default)",
                f"{per_min(default):.0f} jobs/min",
                f"{default:.1f} s, {default / plain - 1:+.1%} vs plain, load {loads[(size, 'default')]}",
            ),
        ]
    width = max(len(row[0]) for row in rows)
    print(f"{args.jobs} jobs a row")
    for name, value, note in rows:
        print(f"{name.ljust(width)}  {value.rjust(14)}  {note}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"bench_server-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
