"""train(spec, emit, should_stop): a job spec goes in, a stream of epoch events comes out (shared/API.md "Events").

Speed rules (shared/DESIGN.md): the data sits on the device for the whole job, batches are index slices of a seeded
permutation, and per-step statistics (gradient norms per layer) accumulate in device tensors read once an epoch.
"""

from __future__ import annotations

import itertools
import math
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from nndojo.datasets import Dataset, boundary_grid, load_dataset
from nndojo.datasets.info import remember
from nndojo.datasets.upload import Upload
from nndojo.nn.build import Net, build_model, count_params
from nndojo.spec import models as m
from nndojo.spec.batches import batch_bounds
from nndojo.spec.check import check_spec
from nndojo.spec.memory import ACTIVATION_BUDGET, PROBE_BATCH, TRAIN_EVAL_CAP
from nndojo.train.budget import EventPlan, loss_every
from nndojo.train.control import Controls, Pilot
from nndojo.train.heap import map_large_blocks
from nndojo.train.losses import make_loss
from nndojo.train.optimizers import make_optimizer
from nndojo.train.outcomes import Outcomes, outcomes_apply, sample_indices
from nndojo.train.probes import Grid, Probes, Split
from nndojo.train.rounding import sig
from nndojo.train.step_losses import StepLosses

Emit = Callable[[dict[str, Any]], None]


def available_devices() -> list[str]:
    """The devices a job may run on, for /api/health."""
    gpus = [f"cuda:{i}" for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
    return ["cpu", *gpus]


def resolve_device(requested: str) -> torch.device:
    """auto → the first GPU when there is one, else the CPU; 'cuda' without a GPU is an error, not a silent CPU run."""
    device = torch.device("cuda" if requested == "auto" and torch.cuda.is_available() else "cpu" if requested == "auto" else requested)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError(f"device {requested!r} was requested but this machine has no GPU; use 'auto' or 'cpu'")
        index = torch.cuda.current_device() if device.index is None else device.index
        if index >= torch.cuda.device_count():
            raise RuntimeError(f"device {requested!r} does not exist; this machine has {torch.cuda.device_count()} GPU(s)")
        device = torch.device("cuda", index)  # events name the GPU: cuda:0, not cuda
    return device


def train_eval_order(n: int, seed: int, cap: int, device: torch.device) -> tuple[torch.Generator, Tensor]:
    """The job's shuffle generator, and the train metrics' samples drawn from it first: fixed for the job (all of them
    up to `cap`), in an order whose first PROBE_BATCH samples are the probe batch, a seeded random sample whose
    activations the first chunks yield. The generator then shuffles the mini-batches."""
    shuffle = torch.Generator().manual_seed(seed)
    fixed = torch.randperm(n, generator=shuffle)[:cap]
    return shuffle, torch.cat([fixed[:PROBE_BATCH].sort().values, fixed[PROBE_BATCH:].sort().values]).to(device)


def grid_inputs(data: Dataset, probes: m.ProbeSpec, device: torch.device) -> tuple[list[float], list[float], Tensor, Tensor] | None:
    """The boundary grid's axes and inputs, and the unit maps' coarser grid inputs: 2-D sets, and uploads of two
    columns (None for other sets)."""
    axes = boundary_grid(data, probes.boundary_resolution)
    if axes is None:
        return None
    xs, ys, inputs = axes
    unit_inputs = torch.from_numpy(boundary_grid(data, probes.unit_resolution)[2]).to(device)  # type: ignore[index]
    return xs, ys, torch.from_numpy(inputs).to(device), unit_inputs


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    seed_torch(seed)


def seed_torch(seed: int) -> None:
    """torch.manual_seed for the devices we train on. torch.manual_seed itself also queues a CUDA and an XPU seeding
    on a machine without them, each with a formatted stack trace (about a millisecond a call; a pack adds one job per
    student at its epoch boundary)."""
    torch.default_generator.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


class BlockNorms:
    """Rows of per-step values written into a block buffer, reduced to per-layer norms (`_norms`) once a block and
    summed over the epoch: the step itself only copies. GradNorms for a model, pack_probes.PackGradNorms for a pack."""

    def __init__(self, buffer: Tensor, sum_shape: tuple[int, ...]):
        self.buffer = buffer
        self.rows = 0
        self.sum = torch.zeros(sum_shape, device=buffer.device)

    def _norms(self, block: Tensor) -> Tensor:
        raise NotImplementedError

    def _advance(self) -> None:
        """The row at self.rows has been written."""
        self.rows += 1
        if self.rows == self.buffer.shape[0]:
            self._flush()

    def _flush(self) -> None:
        if self.rows:
            self.sum.add_(self._norms(self.buffer[: self.rows]).sum(dim=0))
            self.rows = 0

    def take_mean(self, steps: int) -> Tensor:
        self._flush()
        mean = self.sum / max(steps, 1)
        self.sum = torch.zeros_like(self.sum)
        return mean


def segment_norms(block: Tensor, segments: list[tuple[int, int]]) -> Tensor:
    """Each layer's L2 norm of its contiguous columns (the last dimension), for every leading index."""
    return torch.stack([torch.linalg.vector_norm(block[..., a:b], dim=-1) for a, b in segments], dim=-1)


class GradNorms(BlockNorms):
    """Per-layer L2 gradient norms, summed over an epoch's steps on the device (no host sync per step).

    Models on the CPU with at most FLAT_MAX parameters (where a step costs well under a millisecond and every op counts)
    keep their gradients as views of one flat buffer that backward accumulates into and `clear` zeroes: a step records
    them with one copy into a row of a block buffer, and a flush takes each layer's norm of its contiguous columns, one
    op a layer for the whole block (torch's foreach norm is a loop of per-tensor norms on the CPU, ~1.6 µs each, every
    step). Larger ones, and GPUs, take one foreach norm per tensor, stacked into the row, and `clear` drops their
    gradients (set_to_none). Grouping rows into layers (√Σ n²) and summing over steps happen once per block of steps
    and at the epoch's end.
    """

    BLOCK = 512  # most rows a buffer holds
    FLAT_MAX = 1 << 16  # most parameters for the flat form: its copy, zeroing and flush cost ~0.3 ns a parameter a step
    FLAT_BLOCK_VALUES = 1 << 20  # the flat form's rows are capped so that its buffer holds about this many floats

    def __init__(self, layer_params: list[list[torch.nn.Parameter]], device: torch.device):
        self.params = [p for params in layer_params for p in params]
        self.n_layers = len(layer_params)
        n_values = sum(p.numel() for p in self.params)
        self.flat: Tensor | None = None
        if n_values <= self.FLAT_MAX and device.type == "cpu":  # on a GPU in-place accumulation costs a kernel a tensor
            self.flat = torch.zeros(n_values, device=device)
            offset = 0
            for p in self.params:  # a zero gradient backward adds into: 0 + g is exactly g
                p.grad = self.flat[offset : offset + p.numel()].view_as(p)
                offset += p.numel()
            # each layer's columns, contiguous since the parameters are listed layer by layer
            ends = itertools.accumulate((sum(p.numel() for p in params) for params in layer_params), initial=0)
            self.segments = list(itertools.pairwise(ends))
            rows = max(1, min(self.BLOCK, self.FLAT_BLOCK_VALUES // max(n_values, 1)))
            super().__init__(torch.zeros(rows, n_values, device=device), (self.n_layers,))
        else:
            # which layer each buffer column (one per tensor) belongs to
            self.group = torch.tensor([i for i, params in enumerate(layer_params) for _ in params], device=device)
            super().__init__(torch.zeros(self.BLOCK, len(self.params), device=device), (self.n_layers,))

    def record(self) -> None:
        """Adds this step's gradients (call after backward, before anything else changes them)."""
        if self.flat is not None:
            self.buffer[self.rows].copy_(self.flat)
        else:
            grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in self.params]  # unused: norm 0
            torch.stack(torch._foreach_norm(grads), out=self.buffer[self.rows])
        self._advance()

    def clear(self) -> None:
        """What optimizer.zero_grad() does, without its per-call overhead."""
        if self.flat is not None:
            self.flat.zero_()
        else:
            for p in self.params:
                p.grad = None

    def _norms(self, block: Tensor) -> Tensor:
        if self.flat is not None:
            return segment_norms(block, self.segments)
        squares = block.square()
        return torch.zeros(block.shape[0], self.n_layers, device=block.device).index_add_(1, self.group, squares).sqrt_()


def _on(arr: np.ndarray, device: torch.device) -> Tensor:
    return torch.from_numpy(np.ascontiguousarray(arr)).to(device)


def train(
    spec: m.JobSpec,
    emit: Emit,
    should_stop: Callable[[], bool] = lambda: False,
    *,
    datasets_dir: Path | None = None,
    device: str | None = None,
    threads: int | None = None,
    eval_limit: int | None = None,
    controls: Controls | None = None,
    keep: Callable[[Net], None] | None = None,
    upload: Upload | None = None,
) -> str:
    """Train a spec, emitting status and epoch events; returns 'completed', 'diverged' or 'cancelled'.

    controls: pause, resume, step and learning-rate requests from another thread, acted on between steps
    (nndojo.train.control); each change is emitted as a `control` event when it takes effect.

    keep: handed the model when training ends (completed, diverged or cancelled), before the final status event, so
    that its weights are stored before anyone can see the run finished (the worker sends them to the server).

    eval_limit caps the samples evaluated each epoch (for smoke tests of big image sets); None measures the whole
    test set and up to TRAIN_EVAL_CAP training samples. Raises SpecError, DatasetUnavailable or RuntimeError.

    upload: the uploaded set a spec naming one trains on (it travels with the job: the worker may be on another node).

    device: the device of the slot the job was placed on (nndojo.jobs.placement); it overrides spec.device, so that an
    'auto' job placed on a CPU slot of a GPU machine trains on the CPU. None: spec.device ('auto': a GPU if any).
    """
    started = time.perf_counter()
    if upload is not None:
        remember(upload.info)  # the check and the event plan look the set up by its name
    report = check_spec(spec)
    map_large_blocks()
    dev = resolve_device(device or spec.device)
    if dev.type == "cpu":
        torch.set_num_threads(threads or 1)
    seed_everything(spec.seed)
    if datasets_dir is None:
        from nndojo.config import get_settings

        datasets_dir = get_settings().datasets_dir
    data = load_dataset(spec.dataset, spec.seed, Path(datasets_dir), upload)
    task = data.info.task
    tr = spec.training

    seed_torch(spec.seed)
    model = build_model(spec, report).to(dev)
    # batchnorm with one value a channel per sample (after dense, or on a 1x1 map) cannot take a batch of one
    merge_single = any(s.type == "batchnorm" and math.prod(s.in_shape[1:]) == 1 for s in report.layers)
    loss_fn = make_loss(tr.loss, spec.model.output.activation, task, report.n_outputs)
    optimizer = make_optimizer(tr.optimizer, model.parameters())
    grad_norms = GradNorms(model.layer_params(), dev)
    weights = model.weights()
    assert len(grad_norms.params) == len(list(model.parameters())), "every parameter belongs to a probed layer"
    l1, l2 = tr.l1, tr.l2

    x_train, y_train = _on(data.x_train, dev), _on(data.y_train, dev)
    n = x_train.shape[0]
    shuffle, order = train_eval_order(n, spec.seed, min(TRAIN_EVAL_CAP, eval_limit or TRAIN_EVAL_CAP), dev)
    train_eval = Split(x_train[order], y_train[order])
    test = Split(_on(data.x_test[:eval_limit], dev), _on(data.y_test[:eval_limit], dev))
    grid = None
    planes = grid_inputs(data, spec.probes, dev)
    if planes is not None:
        grid = Grid(*planes, spec.probes.unit_resolution)
    widest = max(math.prod(layer.out_shape) for layer in report.layers)
    chunk = max(1, ACTIVATION_BUDGET // max(widest, math.prod(report.input_shape)))
    outcomes = None
    if outcomes_apply(data.info):
        samples = sample_indices(test.y.shape[0], spec.seed) if data.info.kind == "image" else None
        outcomes = Outcomes(test.y, test.x, data.info.n_classes or 2, spec.model.output.activation, samples)
    probes = Probes(
        model,
        loss_fn,
        task=task,
        train=train_eval,
        test=test,
        probe_n=PROBE_BATCH,
        grid=grid,
        bins=spec.probes.histogram_bins,
        chunk=chunk,
        outcomes=outcomes,
        hist_range=spec.probes.hist_range,
    )
    del train_eval, test  # the probes hold them stacked into one tensor; no second copy on the device
    bounds = batch_bounds(n, tr.batch_size, merge_single)
    plan = EventPlan.for_job(spec, report)
    full_batch = len(bounds) == 1
    step_losses = StepLosses(loss_every(len(bounds), tr.epochs), dev)

    emit({"type": "status", "status": "running", "device": str(dev), "n_params": count_params(model)})
    steps = 0
    pilot = Pilot(controls, emit, should_stop, optimizer, tr, pictures=plan.spare_heavy())

    def finish(status: str, **fields: Any) -> str:
        if keep is not None:
            keep(model)
        emit({"type": "status", "status": status, **fields})
        return status

    def epoch_event(epoch: int, lr: float, means: Tensor | None) -> tuple[dict[str, Any], bool]:
        losses = (step_losses.take(), step_losses.every)
        heavy = plan.heavy(epoch) or pilot.wants_pictures()  # a stepped epoch shows its pictures too
        body = probes.measure(means, heavy=heavy, layers=heavy or plan.layers(epoch), loss_steps=losses, outcomes=plan.outcomes(epoch))
        event = {"type": "epoch", "epoch": epoch, "step": steps, "elapsed_s": round(time.perf_counter() - started, 3), "lr": lr} | body
        finite = body["train"]["loss"] is not None and body["test"]["loss"] is not None
        return event, finite

    model.train()
    event, finite = epoch_event(0, tr.optimizer.lr, None)
    emit(event)
    if not finite:
        return finish("diverged", epoch=0)
    for epoch in range(1, tr.epochs + 1):
        pilot.start_epoch(epoch)
        perm = None if full_batch else torch.randperm(n, generator=shuffle).to(dev)
        for i, (start, stop) in enumerate(bounds):
            pilot.boundary(epoch, steps + i)  # a cheap flag check unless a control came; blocks while paused
            if should_stop():
                return finish("cancelled")
            if perm is None:
                xb, yb = x_train, y_train
            else:
                idx = perm[start:stop]
                xb, yb = x_train[idx], y_train[idx]
            loss = loss_fn(model(xb), yb)
            loss.backward()
            step_losses.record(loss)
            grad_norms.record()  # the loss's gradient (shared/API.md), before the penalties join it
            if l1 or l2:
                with torch.no_grad():
                    if l2:
                        torch._foreach_add_([w.grad for w in weights], weights, alpha=l2)  # ∂(½λ₂‖W‖²) = λ₂W
                    if l1:
                        torch._foreach_add_([w.grad for w in weights], torch._foreach_sign(weights), alpha=l1)  # ∂(λ₁|W|) = λ₁ sign(W)
            optimizer.step()
            grad_norms.clear()
        steps += len(bounds)
        event, finite = epoch_event(epoch, sig(pilot.lr) or 0.0, grad_norms.take_mean(len(bounds)))
        emit(event)
        if not finite:
            return finish("diverged", epoch=epoch)
        if epoch < tr.epochs:
            pilot.epoch_done(epoch, steps)
        if should_stop():
            return finish("cancelled")
    return finish("completed")
