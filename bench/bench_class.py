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

PASSWORD = "bench class"
EPOCHS = 100
FINAL = ("completed", "failed", "cancelled", "diverged")


async def student(url: str, code: str, index: int) -> tuple[str | None, bool, float]:
    """Joins, submits, follows the stream: (final status, gapless, when the final event came)."""
    async with httpx.AsyncClient(base_url=url, timeout=300) as http:
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
                event = json.loads(text)
                seqs.append(event["seq"])
                if event["type"] == "status" and event["status"] in FINAL:
                    final = event["status"]
                    break
        return final, seqs == list(range(len(seqs))), time.perf_counter()


async def lesson(url: str, students: int) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=url, timeout=60) as teacher:
        await teacher.post("/api/session", json={"password": PASSWORD})
        found = (await teacher.post("/api/classes", json={"name": f"class of {students}"})).json()
    started = time.perf_counter()
    results = await asyncio.gather(*(student(url, found["code"], i) for i in range(students)))
    last = max(t for _, _, t in results) - started
    completed = sum(1 for status, _, _ in results if status == "completed")
    return {
        "students": students,
        "completed": completed,
        "gapless": sum(1 for _, gapless, _ in results if gapless),
        "last_finish_s": last,
        "job_epochs_per_s": completed * EPOCHS / last,
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
                rows[mode] = [asyncio.run(lesson(url, n)) for n in sizes]
            finally:
                stop(proc)
    print(f"{'students':>8} {'mode':>9} {'completed':>9} {'gapless':>7} {'last finish s':>13} {'job-epochs/s':>12} {'ratio':>6}")
    for i, n in enumerate(sizes):
        base = rows["unpacked"][i]["job_epochs_per_s"] if "unpacked" in rows else 0.0
        for mode in modes:
            r = rows[mode][i]
            r["ratio_to_unpacked"] = r["job_epochs_per_s"] / base if base else float("nan")
            print(
                f"{n:>8} {mode:>9} {r['completed']:>9} {r['gapless']:>7} {r['last_finish_s']:>13.1f} {r['job_epochs_per_s']:>12.0f}"
                f" {r['ratio_to_unpacked']:>6.1f}"
            )
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"class-{datetime.now():%Y%m%d-%H%M%S}.json"
    meta = {"machine": platform.node(), "cpus": os.cpu_count(), "load_after": os.getloadavg()[0]}
    out.write_text(json.dumps({**meta, "results": rows}, indent=2) + "\n")
    print(f"written to {out} (load average now {meta['load_after']:.1f}: the machine may be shared)")


if __name__ == "__main__":
    main()
