"""The server's CPU per event on its own: a class's worker frames decoded, numbered, stored and published to one
follower per job, through the server's own pieces (wire, EventLog, BatchWriter, Store on SQLite, Hub) in this process,
without Ray, HTTP or websockets. bench_class.py measures the whole server; this is the part that grows with events.

The frames are a real playground job's (2-8-8-1 tanh, 500 points, batch 10, 100 epochs, every probe on), sent as N jobs
interleaved epoch by epoch, as a pack sends them. Prints CPU microseconds per event (this process, writer thread
included) and the event bytes.

Usage: python bench/bench_ingest.py [--jobs 100] [--repeats 3]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_pack import playground
from nndojo.db.engine import open_engine
from nndojo.jobs import wire
from nndojo.jobs.hub import Hub, Subscription
from nndojo.jobs.log import EventLog
from nndojo.jobs.store import InsertJob, Store, UpdateJob, utc_now
from nndojo.jobs.writer import BatchWriter
from nndojo.train import train


async def ingest(bodies: list[bytes], jobs: int) -> float:
    """CPU seconds to take in every job's frames until every follower has its final event."""
    with tempfile.TemporaryDirectory() as data_dir:
        writer = BatchWriter(Store(open_engine(f"sqlite:///{data_dir}/bench.sqlite")))
        writer.start()
        hub = Hub()
        log = EventLog(writer.store, writer, hub, lambda job_id: None)
        ids = [f"job-{j:03d}" for j in range(jobs)]
        for job_id in ids:
            writer.put(InsertJob({"id": job_id, "name": job_id, "status": "running", "spec": {}, "created_at": utc_now()}))
            log.open(job_id)

        async def follow(sub: Subscription) -> None:
            while not (await sub.queue.get()).final:
                pass

        followers = [asyncio.create_task(follow(hub.subscribe(job_id, 100_000))) for job_id in ids]
        cpu = time.process_time()
        for i, body in enumerate(bodies):
            for job_id in ids:  # what JobManager._on_worker_event does with an epoch frame
                frame = wire.decode_body(body)
                meta = frame.meta
                writer.put(UpdateJob(job_id, {"epoch": meta.get("epoch"), "final": {"train": meta.get("train"), "test": meta.get("test")}}))
                metrics = wire.to_json(meta["metrics"]) if "metrics" in meta else None
                log.append(job_id, frame.payload, final=i == len(bodies) - 1, metrics=metrics)
                await writer.room()
            await asyncio.sleep(0)
        await asyncio.gather(*followers)
        spent = time.process_time() - cpu
        await writer.close()
        return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    events: list[dict] = []
    train(playground(1, 100, "cpu"), events.append, threads=1)
    bodies = [wire.event_frame("job", event)[4:] for event in events]
    n = len(bodies) * args.jobs
    print(f"{args.jobs} jobs x {len(bodies)} events, {sum(map(len, bodies)) / 1e6:.2f} MB of frames a job")
    best = min(asyncio.run(ingest(bodies, args.jobs)) for _ in range(args.repeats))
    print(f"server CPU per event: {best / n * 1e6:.0f} us (best of {args.repeats}); {n / best:.0f} events per CPU-second")


if __name__ == "__main__":
    main()
