"""Where a `device: auto` job finishes soonest: a cost model per device kind, measured by each slot's worker at start-up.

A training step costs a fixed overhead per layer (kernel launches, Python, the optimiser's loop: what tiny nets pay,
above all on a GPU) plus time per floating-point operation (what convnets pay, and where a GPU is far faster). Both
constants are measured on the worker's own device by timing real training steps of two reference models, so the
crossover between CPU and GPU comes from the hardware at hand rather than from a size threshold guessed for another.

The server side (estimate, place) imports no torch; only `calibrate`, which runs in the workers, does.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from nndojo.datasets.info import dataset_info, train_test_sizes
from nndojo.spec import JobSpec, Limits, ShapeReport, check_spec
from nndojo.spec.batches import batch_size_for
from nndojo.spec.memory import ACTIVATION_BUDGET, TRAIN_EVAL_CAP

if TYPE_CHECKING:
    from nndojo.jobs.slots import Slot

UNLIMITED = 1 << 40  # no memory limit (shapes)
BACKWARD = 3  # a training step's operations in multiples of the forward pass (forward, input and weight gradients)
BLOCK_S = 0.02  # calibration times blocks of steps about this long, the best of REPEATS (other processes interfere)
REPEATS = 3
WARMUP_STEPS = 3  # first steps pay one-off costs: allocator growth, kernel selection, CUDA's lazy set-up
MIN_SHARE = 0.1  # a measured part is never taken below this share of its reference step (noise must not zero it)
WAIT_UNKNOWN = math.inf  # a busy slot with no booking: nothing says when it frees, so a job never waits for it


@dataclass(frozen=True)
class Work:
    """What a job asks of a device, from its spec's checked shapes (nndojo.spec.check)."""

    layers: int  # layers a step runs (the output layer included): each costs launches whatever its size
    step_flops: float  # floating-point operations of one training step
    steps: int  # training steps of the whole job
    epochs: int  # each adds an evaluation pass
    eval_flops: float  # forward operations of one epoch's evaluation: train metrics' samples, test set, boundary grid
    eval_chunks: int  # the evaluation's chunks (nndojo.train.loop): each runs every layer once


def shapes(spec: JobSpec) -> ShapeReport:
    """The spec's checked shapes; the server accepted it under its own limits, so only the shapes matter here."""
    return check_spec(spec, Limits(max_worker_memory_mb=UNLIMITED))


def work_of(spec: JobSpec) -> Work:
    """The job's work: FLOPs per layer from its checked shapes, 2 × parameters × output positions (a weight is used
    once per output position: a dense layer's once, a conv's at every pixel) plus one per input value (activations,
    pooling, normalisation); no layer type is special-cased."""
    report = shapes(spec)
    forward = 0.0
    for shape in report.layers:
        positions = math.prod(shape.out_shape[1:]) if len(shape.out_shape) == 3 else 1
        forward += 2 * shape.n_params * positions + math.prod(shape.in_shape)
    ds, tr = spec.dataset, spec.training
    n_train, n_test = train_test_sizes(ds.name, ds.n_samples, ds.test_fraction, ds.train_limit)
    batch = batch_size_for(n_train, tr.batch_size)
    grid = spec.probes.boundary_resolution**2 if dataset_info(ds.name).planar else 0
    eval_rows = min(n_train, TRAIN_EVAL_CAP) + n_test + grid
    widest = max([math.prod(report.input_shape), *(math.prod(shape.out_shape) for shape in report.layers)])
    chunk = max(1, ACTIVATION_BUDGET // widest)
    return Work(
        layers=len(report.layers),
        step_flops=BACKWARD * forward * batch,
        steps=math.ceil(n_train / batch) * tr.epochs,
        epochs=tr.epochs,
        eval_flops=forward * eval_rows,
        eval_chunks=math.ceil(eval_rows / chunk),
    )


@dataclass(frozen=True)
class CostModel:
    """seconds per step ≈ launch_s × layers + flop_s × FLOPs, for one device kind."""

    launch_s: float  # per layer and step: the fixed cost that bounds tiny nets
    flop_s: float  # per floating-point operation: what bounds convnets
    calibration_s: float = 0.0  # how long measuring took

    def seconds(self, work: Work, share: int = 1) -> float:
        """The job's training time. share > 1: its part of a pack of that many jobs, whose one batched step launches
        what a single job's does (nndojo.train.pack) while the arithmetic grows with the jobs."""
        launch = self.launch_s * work.layers / max(share, 1)
        return work.steps * (launch + self.flop_s * work.step_flops) + work.epochs * (
            launch * work.eval_chunks + self.flop_s * work.eval_flops
        )

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def combined(models: Iterable[CostModel]) -> CostModel | None:
    """One model for a device kind from its slots' measurements: the median of each constant (one slot measured while
    another was starting is an outlier, not the truth)."""
    found = list(models)
    if not found:
        return None
    return CostModel(
        statistics.median(m.launch_s for m in found),
        statistics.median(m.flop_s for m in found),
        max(m.calibration_s for m in found),
    )


# --- the decision (server side) ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Placement:
    slot: Slot
    seconds: float | None  # the job's estimate there; None where no estimate was needed (one kind of slot)


def wait_s(slot: Slot, now: float) -> float:
    """Seconds until a busy slot frees, from what its job was expected to take; overdue, as long again."""
    if slot.booking is None:
        return WAIT_UNKNOWN
    start, seconds = slot.booking
    left = start + seconds - now
    return left if left > 0 else seconds


def place(
    slots: Sequence[Slot], wants: str, spec: JobSpec, models: Mapping[str, CostModel], *, now: float, share: int = 1
) -> Placement | None:
    """The free slot the job should start on now, or None to wait for one.

    'cpu' and 'cuda' take the first free slot of their kind. 'auto' compares, for each kind of slot, when the job
    would finish there: its estimate, after the soonest of that kind's slots frees if none is free now. It waits
    (None) when a busy kind finishes it sooner. A kind whose workers have not reported a model yet is not compared;
    with no model at all, a GPU is preferred.
    """
    ready = [slot for slot in slots if slot.ready]
    kinds = {slot.kind for slot in ready}
    work = work_of(spec) if len(kinds) > 1 else None  # one kind: nothing to compare, no booking anyone reads
    if wants != "auto" or work is None:
        return _first_free(ready, {"cuda": ("gpu",), "cpu": ("cpu",)}.get(wants, ("gpu", "cpu")), models, work, share)
    finish: dict[str, tuple[float, float]] = {}  # kind → (when it would finish, the job's estimate there)
    for kind in kinds:
        seconds = _estimate(models, kind, work, share)
        if seconds is not None:
            of_kind = [slot for slot in ready if slot.kind == kind]
            wait = 0.0 if any(not slot.busy for slot in of_kind) else min(wait_s(slot, now) for slot in of_kind)
            finish[kind] = (wait + seconds, seconds)
    if not finish:
        return _first_free(ready, ("gpu", "cpu"), models, work, share)
    best = min(finish, key=lambda kind: (finish[kind][0], kind != "gpu"))
    slot = next((slot for slot in ready if slot.kind == best and not slot.busy), None)
    return None if slot is None else Placement(slot, finish[best][1])


def _first_free(
    ready: Sequence[Slot], kinds: Sequence[str], models: Mapping[str, CostModel], work: Work | None, share: int
) -> Placement | None:
    for kind in kinds:
        for slot in ready:
            if slot.kind == kind and not slot.busy:
                return Placement(slot, None if work is None else _estimate(models, kind, work, share))
    return None


def _estimate(models: Mapping[str, CostModel], kind: str, work: Work, share: int) -> float | None:
    model = models.get(kind)
    return None if model is None else model.seconds(work, share)


# --- the measurement (worker side) ------------------------------------------------------------------------------

# The reference models: a playground-sized dense net (launch-bound everywhere) and a small convnet on 28×28 images
# (arithmetic-bound on a CPU); a GPU gets a larger batch of the convnet so that its arithmetic shows above its launches.
TINY_DENSE: dict[str, Any] = {
    "dataset": {"name": "circle", "n_samples": 500},
    "model": {"layers": [{"type": "dense", "units": 8, "activation": "tanh"}] * 2, "output": {"activation": "sigmoid"}},
    "training": {"epochs": 1, "batch_size": 10, "loss": "cross_entropy", "optimizer": {"name": "sgd", "lr": 0.1}},
}
SMALL_CONV: dict[str, Any] = {
    "dataset": {"name": "fashion-mnist"},
    "model": {
        "layers": [
            {"type": "conv2d", "filters": 8, "kernel_size": 5, "activation": "relu"},
            {"type": "maxpool2d", "kernel_size": 2},
            {"type": "flatten"},
        ],
        "output": {"activation": "softmax"},
    },
    "training": {"epochs": 1, "batch_size": 16, "loss": "cross_entropy", "optimizer": {"name": "sgd", "lr": 0.1}},
}
GPU_CONV_BATCH = 2048


def calibrate(device: str, threads: int = 1) -> CostModel:
    """Times real training steps of the reference models on this device and fits the model's two constants: the tiny
    dense net's step is nearly all launches, the convnet's the rest is arithmetic."""
    import torch

    torch.optim.SGD([torch.zeros(1)])  # a first optimiser imports torch._dynamo (~1 s), which every first job paid: not timed
    started = time.perf_counter()
    dev = torch.device(device)
    if dev.type == "cpu":
        torch.set_num_threads(threads)
    conv = {**SMALL_CONV, "training": {**SMALL_CONV["training"], "batch_size": GPU_CONV_BATCH}} if dev.type == "cuda" else SMALL_CONV
    (tiny, t_tiny), (big, t_big) = (_measured(JobSpec.model_validate(raw), dev) for raw in (TINY_DENSE, conv))
    per_layer = t_tiny / tiny.layers
    flop_s = max(t_big - per_layer * big.layers, MIN_SHARE * t_big) / big.step_flops
    launch_s = max(t_tiny - flop_s * tiny.step_flops, MIN_SHARE * t_tiny) / tiny.layers
    return CostModel(launch_s, flop_s, time.perf_counter() - started)


def _measured(spec: JobSpec, dev: Any) -> tuple[Work, float]:
    """The reference's work, and the seconds of one training step as the trainer takes it (forward, loss, backward, gradient norms, update), the
    best block of REPEATS."""
    import torch

    from nndojo.nn.build import build_model
    from nndojo.spec.check import output_units
    from nndojo.train.loop import GradNorms
    from nndojo.train.losses import make_loss
    from nndojo.train.optimizers import make_optimizer

    report = shapes(spec)
    model = build_model(spec, report).to(dev)
    tr = spec.training
    loss_fn = make_loss(tr.loss, spec.model.output.activation, "classification", report.n_outputs)
    optimizer = make_optimizer(tr.optimizer, model.parameters())
    grad_norms = GradNorms(model.layer_params(), dev)
    rng = torch.Generator().manual_seed(0)
    batch = int(tr.batch_size)
    x = torch.randn(batch, *report.input_shape, generator=rng).to(dev)
    y = torch.randint(0, max(output_units(spec), 2), (batch,), generator=rng).to(dev)

    def steps(n: int) -> float:
        sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
        sync()
        start = time.perf_counter()
        for _ in range(n):
            loss_fn(model(x), y).backward()
            grad_norms.record()
            optimizer.step()
            grad_norms.clear()
        sync()
        return time.perf_counter() - start

    steps(WARMUP_STEPS)
    one = steps(1)
    n = max(1, min(200, int(BLOCK_S / max(one, 1e-6))))
    return work_of(spec), min(steps(n) for _ in range(REPEATS)) / n
