"""Trainer overhead: train() with every probe on against a plain PyTorch loop with none, same model, optimiser and batches.

    .venv/bin/python bench/bench_trainer.py [--device cpu|cuda] [--quick]

Prints epochs per second for both and their ratio (goal on the CPU: ≥ 0.83), and writes the figures as JSON to
bench/results/. Both loops run in this process, one after the other, on one torch thread.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nndojo.datasets import load_dataset
from nndojo.nn import build_model
from nndojo.spec.check import check_spec
from nndojo.spec.models import JobSpec
from nndojo.train import train
from nndojo.train.loop import batch_bounds, seed_everything
from nndojo.train.losses import make_loss
from nndojo.train.optimizers import make_optimizer

RESULTS = Path(__file__).resolve().parent / "results"

CASES: dict[str, dict[str, Any]] = {
    "playground 2-8-8-1 tanh, 500 points, batch 10": {
        "dataset": {"name": "circle", "n_samples": 500, "noise": 0.1},
        "model": {"layers": [{"type": "dense", "units": 8, "activation": "tanh"}] * 2, "output": {"activation": "sigmoid"}},
        "training": {"epochs": 200, "batch_size": 10, "optimizer": {"name": "sgd", "lr": 0.03}},
    },
    "LeNet on digits, batch 32": {
        "dataset": {"name": "digits"},
        "model": {
            "layers": [
                {"type": "conv2d", "filters": 6, "kernel_size": 5, "padding": 2, "activation": "relu"},
                {"type": "maxpool2d"},
                {"type": "conv2d", "filters": 16, "kernel_size": 3, "padding": 1, "activation": "relu"},
                {"type": "maxpool2d"},
                {"type": "flatten"},
                {"type": "dense", "units": 120, "activation": "relu"},
                {"type": "dense", "units": 84, "activation": "relu"},
            ],
            "output": {"activation": "softmax"},
        },
        "training": {"epochs": 30, "batch_size": 32, "optimizer": {"name": "adam", "lr": 0.001}},
    },
}


def plain_loop(spec: JobSpec, device: torch.device, evaluate: bool = False) -> tuple[float, float, float]:
    """The same model, optimiser, loss and batch slicing with nothing measured: (wall, CPU) seconds for all epochs.

    evaluate=True is the second baseline: the loop also computes the test loss once an epoch, in eval mode, the least a
    training script that watches overfitting does. The third figure is the wall time of one exact forward pass over the
    train and test sets (train()'s evaluation without its probes), timed after training.
    """
    report = check_spec(spec)
    seed_everything(spec.seed)
    data = load_dataset(spec.dataset, spec.seed, Path("/usr/share/datasets"))
    torch.manual_seed(spec.seed)
    model = build_model(spec, report).to(device)
    loss_fn = make_loss(spec.training.loss, spec.model.output.activation, data.info.task, report.n_outputs)
    optimizer = make_optimizer(spec.training.optimizer, model.parameters())
    x = torch.from_numpy(np.ascontiguousarray(data.x_train)).to(device)
    y = torch.from_numpy(np.ascontiguousarray(data.y_train)).to(device)
    x_test = torch.from_numpy(np.ascontiguousarray(data.x_test)).to(device)
    y_test = torch.from_numpy(np.ascontiguousarray(data.y_test)).to(device)
    n = x.shape[0]
    bounds = batch_bounds(n, spec.training.batch_size, False)
    generator = torch.Generator().manual_seed(spec.seed)
    model.train()
    _sync(device)
    started, cpu = time.perf_counter(), time.thread_time()
    for _ in range(spec.training.epochs):
        perm = torch.randperm(n, generator=generator).to(device)
        for start, stop in bounds:
            idx = perm[start:stop]
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        if evaluate:
            model.eval()
            with torch.inference_mode():
                float(loss_fn(model(x_test), y_test))
            model.train()
    _sync(device)
    wall, cpu = time.perf_counter() - started, time.thread_time() - cpu
    model.eval()
    with torch.inference_mode():
        t = time.perf_counter()
        float(loss_fn(model(x), y) + loss_fn(model(x_test), y_test))
        eval_s = time.perf_counter() - t
    return wall, cpu, eval_s


def trainer(spec: JobSpec, device: torch.device) -> tuple[float, float, int]:
    """train() with every probe: (wall, CPU) seconds from the epoch-0 event to the last epoch event (setup excluded, like the
    plain loop's; epoch 0's own probes are excluded too, every later epoch's included), and the events' JSON size.

    The events are kept and serialised after the run: JSON encoding is the caller's cost (the server's), not train()'s.
    """
    stamps: list[tuple[float, float]] = []
    events: list[dict[str, Any]] = []

    def emit(event: dict[str, Any]) -> None:
        if event["type"] == "epoch":
            stamps.append((time.perf_counter(), time.thread_time()))
            events.append(event)

    status = train(spec, emit, device=str(device), threads=1, datasets_dir=Path("/usr/share/datasets"))
    assert status == "completed", status
    size = sum(len(json.dumps(event, separators=(",", ":"), allow_nan=False)) for event in events)
    return stamps[-1][0] - stamps[0][0], stamps[-1][1] - stamps[0][1], size


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--quick", action="store_true", help="a tenth of the epochs")
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs each")
    args = parser.parse_args()
    torch.set_num_threads(1)
    device = torch.device(args.device)
    rows = []
    for name, raw in CASES.items():
        raw = json.loads(json.dumps(raw))
        if args.quick:
            raw["training"]["epochs"] = max(3, raw["training"]["epochs"] // 10)
        spec = JobSpec.model_validate({"seed": 0, **raw})
        epochs = spec.training.epochs
        plain_loop(spec, device)  # warm-up: first calls pay for allocations and kernel selection
        plains, evals, runs = [], [], []
        for _ in range(args.repeats):  # interleaved, so that a burst of load from elsewhere hits all three alike
            plains.append(plain_loop(spec, device))
            evals.append(plain_loop(spec, device, evaluate=True))
            runs.append(trainer(spec, device))
        plain, plain_cpu = min(p[0] for p in plains), min(p[1] for p in plains)
        plain_eval = min(p[0] for p in evals)
        eval_epoch = min(p[2] for p in plains)  # one exact pass over the train and test sets
        probed, probed_cpu, size = min(r[0] for r in runs), min(r[1] for r in runs), runs[0][2]
        rows.append(
            {
                "case": name,
                "device": str(device),
                "epochs": epochs,
                "plain_epochs_per_s": round(epochs / plain, 2),
                "plain_test_eval_epochs_per_s": round(epochs / plain_eval, 2),
                "trainer_epochs_per_s": round(epochs / probed, 2),
                "ratio": round(plain / probed, 3),
                "ratio_cpu_time": round(plain_cpu / probed_cpu, 3),
                "ratio_vs_plain_with_test_eval": round(plain_eval / probed, 3),
                "exact_eval_share_of_epoch": round(eval_epoch / (plain / epochs), 3),
                "ratio_ceiling_with_exact_eval": round((plain / epochs) / (plain / epochs + eval_epoch), 3),
                "event_bytes": size,
            }
        )
    width = max(len(r["case"]) for r in rows)
    print(
        f"{'case':<{width}}  {'plain ep/s':>10}  {'train() ep/s':>12}  {'ratio':>6}  {'cpu ratio':>9}"
        f"  {'plain+test ep/s':>15}  {'ratio vs plain+test':>19}  {'eval/epoch':>10}  {'ceiling':>7}  {'events':>9}"
    )
    for r in rows:
        print(
            f"{r['case']:<{width}}  {r['plain_epochs_per_s']:>10.1f}  {r['trainer_epochs_per_s']:>12.1f}  {r['ratio']:>6.3f}"
            f"  {r['ratio_cpu_time']:>9.3f}  {r['plain_test_eval_epochs_per_s']:>15.1f}  {r['ratio_vs_plain_with_test_eval']:>19.3f}"
            f"  {r['exact_eval_share_of_epoch']:>10.1%}  {r['ratio_ceiling_with_exact_eval']:>7.3f}  {r['event_bytes']:>9,}"
        )
    print(
        "ratio: plain loop time / train() time, goal >= 0.83. ratio vs plain+test: against a plain loop that also computes the\n"
        "test loss each epoch. eval/epoch: one exact forward pass over the train and test sets (what train() must do every epoch\n"
        "to report their loss and accuracy) as a share of a plain training epoch; ceiling: the ratio train() could reach if\n"
        "every other probe were free. Where the ceiling is under 0.83 the goal cannot be met without weakening the evaluation."
    )
    print(f"load average while measuring: {' '.join(f'{v:.2f}' for v in os.getloadavg())} on {os.cpu_count()} cores")
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = RESULTS / f"trainer-{device.type}-{stamp}.json"
    meta = {
        "load_average": os.getloadavg(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "machine": platform.processor() or platform.machine(),
        "threads": 1,
    }
    out.write_text(json.dumps({"meta": meta, "results": rows}, indent=2) + "\n")
    print(f"written to {out.relative_to(Path.cwd()) if out.is_relative_to(Path.cwd()) else out}")


if __name__ == "__main__":
    main()
