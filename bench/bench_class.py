"""A class training at once, packed against unpacked, in one run: N students (30, 100, 200) in classroom mode each
submit one playground-sized job (2-8-8-1 tanh, 500 points, batch 10, 100 epochs, every probe on) at the same moment
and follow it over a websocket to its final event.

Measured, for each N on a server with NNDOJO_PACK_JOBS off and then on (same machine, same run): jobs completed with
a gapless stream, the aggregate job-epochs per second (completed jobs x 100 epochs / the time from the first
submission to the last final event) and that last finish time, and the ratio packed / unpacked. Goal on a 2-core
machine: >= 3,000 job-epochs/s for 100 jobs. Prints a table, writes JSON to bench/results/.

Usage: python bench/bench_class.py [--students 30,100,200] [--slots N]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import re
import ssl
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
from websockets.asyncio.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_server import RESULTS, playground_spec, start, stop

PASSWORD = "bench class"
EPOCHS = 100
FINAL = ("completed", "failed", "cancelled", "diverged")


# The students' browsers run elsewhere; here they share the server's two cores. So a student reads only the head of
# an epoch event (the server writes its seq and type first) and parses status events whole: the JSON parsing of a
# class's epochs (2.8 MB a playground job) is left out of the server's CPU, as it would be in a classroom.
HEAD = re.compile(r'\{"seq":(\d+),"type":"(\w+)"')
TLS = ssl.create_default_context()  # one for all: an httpx client builds one each otherwise (a fifth of this process)


async def student(url: str, code: str, index: int) -> tuple[str | None, bool, float]:
    """Joins, submits, follows the stream: (final status, gapless, when the final event came)."""
    async with httpx.AsyncClient(base_url=url, timeout=300, verify=TLS) as http:
        await http.post("/api/session", json={"class_code": code, "name": f"student {index:03d}"})
        reply = await http.post("/api/jobs", json=playground_spec(index))
        if reply.status_code != 201:
            return f"refused {reply.status_code}", False, time.perf_counter()
        job_id = reply.json()["id"]
        cookie = f"nndojo_session={http.cookies['nndojo_session']}"
        seqs, final = [], None
        ws_url = url.replace("http://", "ws://")
        async with connect(f"{ws_url}/api/jobs/{job_id}/stream", additional_headers={"Cookie": cookie}, max_size=None) as ws:
            async for text in ws:
                head = HEAD.match(text if isinstance(text, str) else text.decode())
                assert head is not None, f"an event that does not start with its seq and type: {text[:80]!r}"
                seqs.append(int(head[1]))
                if head[2] == "status" and (status := orjson.loads(text)["status"]) in FINAL:
                    final = status
                    break
        return final, seqs == list(range(len(seqs))), time.perf_counter(), len(seqs)


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (all its threads) so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def slot_workers(server: int) -> list[int]:
    """The server's training workers (Ray's SlotWorker actors), found among its descendants."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rpartition(")")[2].split()[1])
        except (OSError, ValueError):
            continue
    family, found = {server}, True
    while found:
        found = False
        for pid, parent in parents.items():
            if parent in family and pid not in family:
                family.add(pid)
                found = True
    named = []
    for pid in family:
        with contextlib.suppress(OSError):
            if b"SlotWorker" in Path(f"/proc/{pid}/cmdline").read_bytes():
                named.append(pid)
    return named


async def lesson(url: str, students: int, server: int) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=url, timeout=60) as teacher:
        await teacher.post("/api/session", json={"password": PASSWORD})
        found = (await teacher.post("/api/classes", json={"name": f"class of {students}"})).json()
    workers = slot_workers(server)
    cpu_before = cpu_seconds(server), sum(map(cpu_seconds, workers))
    started = time.perf_counter()
    results = await asyncio.gather(*(student(url, found["code"], i) for i in range(students)))
    last = max(t for _, _, t, _ in results) - started
    server_cpu, workers_cpu = cpu_seconds(server) - cpu_before[0], sum(map(cpu_seconds, workers)) - cpu_before[1]
    completed = sum(1 for status, *_ in results if status == "completed")
    events = sum(n for *_, n in results)
    return {
        "students": students,
        "completed": completed,
        "gapless": sum(1 for _, gapless, _, _ in results if gapless),
        "last_finish_s": last,
        "job_epochs_per_s": completed * EPOCHS / last,
        "events": events,
        "server_cpu_s": server_cpu,  # sessions, submissions, ingest, storage and fan-out, all in the server's process
        "server_cpu_us_per_event": server_cpu / events * 1e6,
        "workers_cpu_s": workers_cpu,
        "workers_cpu_us_per_job_epoch": workers_cpu / (students * EPOCHS) * 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", default="30,100,200")
    parser.add_argument("--slots", type=int, default=None, help="NNDOJO_CPU_SLOTS (default: one per core)")
    parser.add_argument("--modes", default="unpacked,packed", help="which servers to measure (ratios need both)")
    args = parser.parse_args()
    sizes = [int(x) for x in args.students.split(",")]
    rows: dict[str, list[dict[str, Any]]] = {}
    modes = args.modes.split(",")
    for mode in modes:
        env = {
            "NNDOJO_MODE": "classroom",
            "NNDOJO_TEACHER_PASSWORD": PASSWORD,
            "NNDOJO_MAX_QUEUE": str(max(sizes) + 10),
            "NNDOJO_PACK_JOBS": "1" if mode == "packed" else "0",
        }
        with tempfile.TemporaryDirectory() as data_dir:
            proc, url = start(args.slots, data_dir, env)
            try:
                rows[mode] = [asyncio.run(lesson(url, n, proc.pid)) for n in sizes]
            finally:
                stop(proc)
    print(
        f"{'students':>8} {'mode':>9} {'completed':>9} {'gapless':>7} {'last finish s':>13} {'job-epochs/s':>12} {'ratio':>6}"
        f" {'server us/event':>15} {'workers us/job-epoch':>20}"
    )
    for i, n in enumerate(sizes):
        base = rows["unpacked"][i]["job_epochs_per_s"] if "unpacked" in rows else 0.0
        for mode in modes:
            r = rows[mode][i]
            r["ratio_to_unpacked"] = r["job_epochs_per_s"] / base if base else float("nan")
            print(
                f"{n:>8} {mode:>9} {r['completed']:>9} {r['gapless']:>7} {r['last_finish_s']:>13.1f} {r['job_epochs_per_s']:>12.0f}"
                f" {r['ratio_to_unpacked']:>6.1f} {r['server_cpu_us_per_event']:>15.0f} {r['workers_cpu_us_per_job_epoch']:>20.0f}"
            )
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"class-{datetime.now():%Y%m%d-%H%M%S}.json"
    meta = {"machine": platform.node(), "cpus": os.cpu_count(), "load_after": os.getloadavg()[0]}
    out.write_text(json.dumps({**meta, "results": rows}, indent=2) + "\n")
    print(f"written to {out} (load average now {meta['load_after']:.1f}: the machine may be shared)")


if __name__ == "__main__":
    main()
