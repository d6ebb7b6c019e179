"""A worker's memory is bounded: the check's estimate (ShapeReport.memory_mb) follows the measured peak of a job, and the
largest conv job the budget admits trains under it. Each job runs in a fresh subprocess that measures its own peak
resident memory (VmHWM, reset once torch and the trainer are imported) against what it then held. Not getrusage's
ru_maxrss: Linux carries it across fork and exec, so a child of a big test process starts with its parent's peak."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nndojo.spec.check import SpecError, check_spec
from nndojo.spec.limits import MAX_WORKER_MEMORY_MB
from nndojo.spec.models import JobSpec

MEASURE = """
import contextlib, json, sys
from nndojo.spec.models import JobSpec
from nndojo.train import train

def status_mb(key):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) / 1024 for line in f if line.startswith(key))

spec = JobSpec.model_validate_json(sys.argv[1])
with contextlib.suppress(OSError), open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # the peak so far (imports) is not the job's
base = status_mb("VmRSS:")
status = train(spec, lambda event: None, device="cpu", threads=1, datasets_dir=sys.argv[2])
print(json.dumps({"status": status, "growth_mb": status_mb("VmHWM:") - base}))
"""


def peak_growth_mb(spec: JobSpec, datasets_dir: Path) -> float:
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, spec.model_dump_json(), str(datasets_dir)],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["status"] == "completed"
    return float(result["growth_mb"])


def write_idx(path: Path, array: np.ndarray) -> None:
    header = bytes((0, 0, 8, array.ndim)) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


@pytest.fixture(scope="module")
def datasets_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Fashion-MNIST-sized set of random pixels: the sizes decide the memory, not the pictures."""
    root = tmp_path_factory.mktemp("datasets")
    folder = root / "fashion-mnist"
    folder.mkdir()
    rng = np.random.default_rng(0)
    write_idx(folder / "train-images-idx3-ubyte", rng.integers(0, 256, (60_000, 28, 28)))
    write_idx(folder / "train-labels-idx1-ubyte", rng.integers(0, 10, 60_000))
    write_idx(folder / "t10k-images-idx3-ubyte", rng.integers(0, 256, (10_000, 28, 28)))
    write_idx(folder / "t10k-labels-idx1-ubyte", rng.integers(0, 10, 10_000))
    return root


def job(dataset: dict[str, Any], layers: list[dict[str, Any]], batch_size: int | str, epochs: int = 1) -> JobSpec:
    return JobSpec.model_validate(
        {
            "device": "cpu",
            "dataset": dataset,
            "model": {"layers": layers, "output": {"activation": "softmax"}},
            "training": {"epochs": epochs, "batch_size": batch_size, "optimizer": {"name": "adam", "lr": 0.001}},
        }
    )


WIDE_CONV = [{"type": "conv2d", "filters": 64, "kernel_size": 3, "padding": 1}, {"type": "flatten"}]
CASES = {
    "2-8-8-2 playground": job({"name": "circle"}, [{"type": "dense", "units": 8}] * 2, 10, epochs=2),
    "two 1,024-unit layers, 20,000 points": job({"name": "circle", "n_samples": 20_000}, [{"type": "dense", "units": 1024}] * 2, 1024),
    "conv on Fashion-MNIST, 3,000 samples": job({"name": "fashion-mnist", "train_limit": 3000}, WIDE_CONV, 256),
}


@pytest.mark.parametrize("name", list(CASES))
def test_the_estimate_is_within_2x_of_the_measured_peak(name: str, datasets_dir: Path) -> None:
    spec = CASES[name]
    estimate = check_spec(spec).memory_mb
    measured = peak_growth_mb(spec, datasets_dir)
    assert measured / 2 <= estimate <= measured * 2, (name, estimate, measured)


def test_the_largest_conv_job_the_budget_admits_trains_under_it(datasets_dir: Path) -> None:
    """The widest conv layer on Fashion-MNIST with the largest batch the check admits: refused one step above, and
    trained for an epoch under the budget."""
    limit = 4096
    spec = job({"name": "fashion-mnist", "train_limit": limit}, WIDE_CONV, limit)
    with pytest.raises(SpecError) as caught:
        check_spec(spec)
    (error,) = caught.value.errors
    assert error["ctx"]["code"] == "limit" and error["ctx"]["limit"] == "max_worker_memory_mb"
    assert error["loc"] == ["training", "batch_size"] and "training.batch_size" in error["ctx"]["reduce"]
    low, high = 1, limit  # the largest batch that passes: check(low) passes, check(high) does not
    while high - low > 1:
        mid = (low + high) // 2
        try:
            check_spec(job({"name": "fashion-mnist", "train_limit": limit}, WIDE_CONV, mid))
            low = mid
        except SpecError:
            high = mid
    largest = job({"name": "fashion-mnist", "train_limit": low}, WIDE_CONV, low)
    assert check_spec(largest).memory_mb > MAX_WORKER_MEMORY_MB * 0.8
    assert peak_growth_mb(largest, datasets_dir) < MAX_WORKER_MEMORY_MB
