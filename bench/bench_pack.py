"""Packing against solo runs: playground-sized jobs (2-8-8-1 tanh, 500 points, batch 10, every probe on) trained one
after another with train() and as one pack (nndojo.train.pack), in this process, on one torch thread.

    .venv/bin/python bench/bench_pack.py [--jobs 1,10,30,100] [--epochs 100] [--device cpu|cuda]

Every event is encoded as a slot worker sends it (nndojo.jobs.wire.event_frame), solo and packed alike. Prints
job-epochs per second, by the wall clock and by this process's CPU time (the machine may be shared: CPU time
is what the work itself cost), for one solo job and for each pack size, and the ratio of each to solo. Writes the figures to bench/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import torch

from nndojo.jobs.wire import event_frame
from nndojo.spec.models import JobSpec
from nndojo.train import train
from nndojo.train.pack import Pack

RESULTS = Path(__file__).resolve().parent / "results"


def playground(seed: int, epochs: int, device: str) -> JobSpec:
    return JobSpec.model_validate(
        {
            "seed": seed,
            "device": device,
            "dataset": {"name": "circle", "n_samples": 500, "noise": 0.1},
            "model": {"layers": [{"type": "dense", "units": 8, "activation": "tanh"}] * 2, "output": {"activation": "sigmoid"}},
            "training": {"epochs": epochs, "batch_size": 10, "optimizer": {"name": "sgd", "lr": 0.03 * (1 + seed % 5)}},
        }
    )


def encode(event: dict[str, Any]) -> None:
    event_frame("bench", event)


def timed(run: Any) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", default="1,10,30,100")
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    torch.set_num_threads(1)
    epochs = args.epochs
    rows: list[dict[str, Any]] = []
    # first calls pay one-time costs (imports such as torch._dynamo's, ~1 s): warm both paths before timing either
    train(playground(0, 2, args.device), encode, threads=1)
    warm = Pack(device=args.device, threads=1)
    warm.add("warm", playground(0, 2, args.device), encode)
    warm.run()
    wall, cpu = timed(lambda: train(playground(0, epochs, args.device), encode, threads=1))
    solo = {"jobs": 1, "mode": "solo", "job_epochs_per_s_wall": epochs / wall, "job_epochs_per_s_cpu": epochs / cpu}
    rows.append(solo)
    print(f"solo         1 job : {solo['job_epochs_per_s_wall']:8.0f} job-epochs/s wall, {solo['job_epochs_per_s_cpu']:8.0f} CPU")
    for n in (int(x) for x in args.jobs.split(",")):
        pack = Pack(device=args.device, threads=1)
        for seed in range(n):
            pack.add(str(seed), playground(seed, epochs, args.device), encode)
        wall, cpu = timed(pack.run)
        row = {"jobs": n, "mode": "pack", "job_epochs_per_s_wall": n * epochs / wall, "job_epochs_per_s_cpu": n * epochs / cpu}
        row["ratio_wall"] = row["job_epochs_per_s_wall"] / solo["job_epochs_per_s_wall"]
        row["ratio_cpu"] = row["job_epochs_per_s_cpu"] / solo["job_epochs_per_s_cpu"]
        rows.append(row)
        print(
            f"pack {n:8d} jobs: {row['job_epochs_per_s_wall']:8.0f} job-epochs/s wall, {row['job_epochs_per_s_cpu']:8.0f} CPU"
            f"  ({row['ratio_wall']:.1f}x / {row['ratio_cpu']:.1f}x solo)"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    meta = {
        "epochs": epochs,
        "device": args.device,
        "cpus": os.cpu_count(),
        "torch": torch.__version__,
        "python": platform.python_version(),
    }
    out = RESULTS / f"pack-{args.device}-{stamp}.json"
    out.write_text(json.dumps({"meta": meta, "results": rows}, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
