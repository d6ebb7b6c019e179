"""The classroom drill: a whole class on one server in classroom mode, as a lesson looks from the server's side.

N students (default 200) each join the class with their own session, submit one playground-sized job (2-8-8-1 tanh,
500 points, batch 10, 100 epochs, every probe on) and follow its stream to the final event over a websocket. Beside
them, N open Compare tabs poll the job list and the compact metrics of the runs the teacher showed to the class, and
one teacher dashboard refreshes the class (students, their runs, each run's metrics since its last read) every 2 s.

Measured: accepted jobs that completed with a gapless stream, 5xx answers (must be 0), submission latency (p50, p95),
websocket delivery latency (a worker's `t_emit` to the client's receipt, p50, p95), the dashboard's refresh time
(p50, p95), the whole class's wall time, and the load average. Prints a table and writes JSON to bench/results/.

Usage: python bench/bench_classroom.py [--students 200] [--slots N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_server import RESULTS, playground_spec, start, stop

PASSWORD = "drill"
COMPARE_PERIOD_S = 1.0
# Under the server's keep_alive_s (5 s): a client that reuses a connection the server is closing gets a reset, which
# browsers retry for a GET; the drill's clients close idle connections first and retry a reset GET once, counted.
CLIENT_LIMITS = httpx.Limits(keepalive_expiry=2.0)
DASHBOARD_PERIOD_S = 2.0


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Drill:
    def __init__(self, url: str, students: int):
        self.url = url
        self.students = students
        self.ws_url = url.replace("http://", "ws://")
        self.server_errors = 0
        self.submit_s: list[float] = []
        self.delivery_s: list[float] = []
        self.dashboard_s: list[float] = []
        self.completed = 0
        self.gapless = 0
        self.refused: dict[int, int] = {}
        self.get_retries = 0
        self.done = asyncio.Event()

    def count(self, reply: httpx.Response) -> httpx.Response:
        if reply.status_code >= 500:
            self.server_errors += 1
        return reply

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=120, limits=CLIENT_LIMITS)

    async def get(self, http: httpx.AsyncClient, path: str, **params: Any) -> httpx.Response:
        """A GET as a browser makes it: once more on a fresh connection if the reused one was reset."""
        try:
            return self.count(await http.get(path, params=params))
        except (httpx.ReadError, httpx.RemoteProtocolError, httpx.WriteError):
            self.get_retries += 1
            return self.count(await http.get(path, params=params))

    async def student(self, code: str, index: int, shared: list[str]) -> None:
        async with self.client() as http:
            self.count(await http.post("/api/session", json={"class_code": code, "name": f"student {index:03d}"}))
            started = time.perf_counter()
            reply = self.count(await http.post("/api/jobs", json=playground_spec(index)))
            self.submit_s.append(time.perf_counter() - started)
            if reply.status_code != 201:
                self.refused[reply.status_code] = self.refused.get(reply.status_code, 0) + 1
                return
            job_id = reply.json()["id"]
            if index < 3:  # the runs the teacher shows to the class
                self.count(await http.post(f"/api/jobs/{job_id}/share"))
                shared.append(job_id)
            cookie = f"nndojo_session={http.cookies['nndojo_session']}"
            seqs: list[int] = []
            final = None
            async with connect(f"{self.ws_url}/api/jobs/{job_id}/stream", additional_headers={"Cookie": cookie}, max_size=None) as ws:
                async for text in ws:
                    now = time.time()
                    event = json.loads(text)
                    seqs.append(event["seq"])
                    if event["type"] == "epoch" and "t_emit" in event:
                        self.delivery_s.append(now - event["t_emit"])
                    if event["type"] == "status" and event["status"] in ("completed", "failed", "cancelled", "diverged"):
                        final = event["status"]
            self.completed += final == "completed"
            self.gapless += seqs == list(range(len(seqs)))

    async def compare_tab(self, code: str, index: int, shared: list[str]) -> None:
        """A Compare tab: the job list, then only the new metrics of the shown runs, once a second."""
        async with self.client() as http:
            self.count(await http.post("/api/session", json={"class_code": code, "name": f"viewer {index:03d}"}))
            after: dict[str, int] = {}
            while not self.done.is_set():
                await self.get(http, "/api/jobs", limit=20)
                for job_id in list(shared):
                    reply = await self.get(http, f"/api/jobs/{job_id}/metrics", after=after.get(job_id, -1))
                    if reply.status_code == 200:
                        after[job_id] = reply.json()["last_seq"]
                await asyncio.sleep(COMPARE_PERIOD_S)

    async def dashboard(self, teacher: httpx.AsyncClient, class_id: str) -> None:
        after: dict[str, int] = {}
        while not self.done.is_set():
            started = time.perf_counter()
            await self.get(teacher, f"/api/classes/{class_id}")
            jobs = (await self.get(teacher, "/api/jobs", class_id=class_id, limit=1000)).json()
            for job in jobs:
                if job["status"] in ("queued",):
                    continue
                if job["status"] not in ("running",) and job["id"] in after:
                    continue
                reply = await self.get(teacher, f"/api/jobs/{job['id']}/metrics", after=after.get(job["id"], -1))
                after[job["id"]] = reply.json()["last_seq"]
            self.dashboard_s.append(time.perf_counter() - started)
            await asyncio.sleep(DASHBOARD_PERIOD_S)

    async def run(self) -> dict[str, Any]:
        async with self.client() as teacher:
            self.count(await teacher.post("/api/session", json={"password": PASSWORD}))
            found = (await teacher.post("/api/classes", json={"name": "drill"})).json()
            shared: list[str] = []
            tabs = [asyncio.create_task(self.compare_tab(found["code"], i, shared)) for i in range(self.students)]
            board = asyncio.create_task(self.dashboard(teacher, found["id"]))
            started = time.perf_counter()
            await asyncio.gather(*(self.student(found["code"], i, shared) for i in range(self.students)))
            wall = time.perf_counter() - started
            self.done.set()
            await asyncio.gather(*tabs, board)
        return {
            "students": self.students,
            "accepted": self.students - sum(self.refused.values()),
            "refused": self.refused,
            "completed": self.completed,
            "gapless_streams": self.gapless,
            "server_errors_5xx": self.server_errors,
            "get_retries_after_reset": self.get_retries,
            "submit_p50_ms": 1000 * pct(self.submit_s, 0.5),
            "submit_p95_ms": 1000 * pct(self.submit_s, 0.95),
            "delivery_p50_ms": 1000 * pct(self.delivery_s, 0.5),
            "delivery_p95_ms": 1000 * pct(self.delivery_s, 0.95),
            "dashboard_refresh_p50_ms": 1000 * pct(self.dashboard_s, 0.5),
            "dashboard_refresh_p95_ms": 1000 * pct(self.dashboard_s, 0.95),
            "dashboard_refreshes": len(self.dashboard_s),
            "wall_s": wall,
            "job_epochs_per_s": self.completed * 100 / wall,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--slots", type=int, default=None, help="NNDOJO_CPU_SLOTS (default: one per core)")
    args = parser.parse_args()
    env = {
        "NNDOJO_MODE": "classroom",
        "NNDOJO_TEACHER_PASSWORD": PASSWORD,
        "NNDOJO_MAX_QUEUE": str(args.students + 10),
    }
    with tempfile.TemporaryDirectory() as data_dir:
        proc, url = start(args.slots, data_dir, env)
        try:
            load_before = os.getloadavg()[0]
            result = asyncio.run(Drill(url, args.students).run())
            result["load_before"] = load_before
            result["load_after"] = os.getloadavg()[0]
        finally:
            stop(proc)
    for key, value in result.items():
        print(f"{key:28s} {value:.1f}" if isinstance(value, float) else f"{key:28s} {value}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"classroom-{datetime.now():%Y%m%d-%H%M%S}.json"
    out.write_text(json.dumps({"machine": platform.node(), "cpus": os.cpu_count(), **result}, indent=2))
    print(f"written to {out}")
    ok = result["completed"] == result["accepted"] == result["gapless_streams"] and result["server_errors_5xx"] == 0
    if not ok:
        print("FAILED: every accepted job must complete with a gapless stream and no 5xx")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
