"""Many jobs of one shape trained as one stacked model: the whole class's small nets in one batched step.

A pack holds jobs whose models have the same `signature` (dense layers only, same sizes, activations, losses, batch
size, data sizes, epochs and probe settings; seeds, data, learning rates, optimiser hyper-parameters, schedules and L1/L2
may differ). Each step runs one batched forward, backward and update over all members (nndojo.train.pack_net,
pack_optim), and each epoch one batched measurement (pack_probes). Every member emits exactly the events its solo
train() would: the same seed gives the same data, initial weights, batch order and probe samples, and the numbers agree
to rounding (tests/test_pack.py: 1e-5 relative over 100 epochs for every optimiser, loss and schedule).

Dropout does not pack: its masks come from torch's global generator in a solo run, and reproducing them means one
generator call per job per layer per step, which is the per-job cost packing exists to remove.

Members join at an epoch boundary (`add`) and leave when they finish, diverge or are stopped, without touching the
others: the stacked tensors are rebuilt from the members' rows whenever membership changes. A cancel or a pause takes
effect at the member's next epoch boundary (an epoch of a packable job is milliseconds).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from nndojo.datasets import load_dataset
from nndojo.datasets.info import remember
from nndojo.datasets.upload import Upload
from nndojo.nn.build import Net, build_model, count_params
from nndojo.spec import models as m
from nndojo.spec.batches import batch_bounds
from nndojo.spec.check import check_spec
from nndojo.spec.memory import TRAIN_EVAL_CAP
from nndojo.spec.packing import signature
from nndojo.train.budget import EventPlan, loss_every
from nndojo.train.control import Controls, Pilot
from nndojo.train.loop import grid_inputs, resolve_device, seed_everything, seed_torch, train_eval_order
from nndojo.train.pack_net import StackedDense, dense_shapes, dropout_rates, flatten, load_row, make_pack_loss
from nndojo.train.pack_optim import PackOptimizer, new_state
from nndojo.train.pack_probes import PackProbes, ProbeRows, shared_range
from nndojo.train.rounding import sig

Emit = Callable[[dict[str, Any]], None]
PARKED_POLL_S = 0.05  # how often a pack whose members are all paused looks for a resume

# the gradient views share their parameters' strides, which is all the layout contract asks; torch warns all the same
warnings.filterwarnings("ignore", message="grad and param do not obey the gradient layout contract")


@dataclass
class Member:
    """One job of a pack: its spec and callbacks, its rows of the stacked state, and where it is in its run."""

    job_id: str
    spec: m.JobSpec
    emit: Emit
    should_stop: Callable[[], bool]
    keep: Callable[[Net], None] | None
    model: Net  # a solo net, for its layer names and for `keep` (its values are loaded from the row at the end)
    theta: Tensor  # (P,)
    opt_state: dict[str, Tensor]
    opt_steps: int
    x_train: Tensor
    y_train: Tensor
    rows: ProbeRows
    shuffle: torch.Generator
    plan: EventPlan
    started: float
    pilot: Pilot
    epoch: int = 0  # the last finished epoch
    steps: int = 0
    outcome: str | None = None
    measured: bool = False  # its epoch 0 has been measured and emitted
    probe_state: dict[str, Any] = field(default_factory=dict)  # histogram ranges and edges, fixed at epoch 0
    dropout: list[list[float]] = field(default_factory=list)  # pack_net.dropout_rates of its spec
    masks: torch.Generator | None = None  # where its dropout masks come from: torch's generator as its solo run left it


class _LrShim:
    """What Pilot needs of an optimiser (param_groups for set_lr): a member's learning rate is read from pilot.lr."""

    def __init__(self, lr: float):
        self.param_groups = [{"lr": lr}]


def _generator_after_init(seed: int, device: torch.device) -> torch.Generator:
    """A member's own source of dropout masks. On the CPU: a copy of torch's generator just after the member's weights
    were drawn, which is where its solo run's dropout draws from, so its masks are its solo run's. A GPU's dropout draws
    from its device's generator with another kernel: there the member's masks come from its seed alone (the same run to
    run, not the solo run's)."""
    if device.type == "cpu":
        generator = torch.Generator()
        generator.set_state(torch.default_generator.get_state())
        return generator
    return torch.Generator(device=device).manual_seed(seed)


def _on(arr: Any, device: torch.device) -> Tensor:
    import numpy as np

    return torch.from_numpy(np.ascontiguousarray(arr)).to(device)


class Pack:
    """The members training together, and the stacked state of the current epoch."""

    def __init__(self, device: str = "cpu", threads: int | None = 1, datasets_dir: Path | None = None):
        self.device = resolve_device(device)
        if self.device.type == "cpu":
            torch.set_num_threads(threads or 1)
        if datasets_dir is None:
            from nndojo.config import get_settings

            datasets_dir = get_settings().datasets_dir
        self.datasets_dir = Path(datasets_dir)
        self.members: list[Member] = []
        self.joining: list[Member] = []
        self.parked: list[Member] = []  # paused members, out of the stacked state until they may train again
        self.key: tuple[Any, ...] | None = None
        self._stacked = False

    # --- membership --------------------------------------------------------------------------------

    def add(
        self,
        job_id: str,
        spec: m.JobSpec,
        emit: Emit,
        should_stop: Callable[[], bool] = lambda: False,
        *,
        keep: Callable[[Net], None] | None = None,
        controls: Controls | None = None,
        upload: Upload | None = None,
    ) -> None:
        """Sets the job up as train() would (same seeds, same draws, in the same order) and queues it to join at the
        next epoch boundary; emits its `running` status. Raises ValueError for a job of another signature."""
        started = time.perf_counter()
        if upload is not None:
            remember(upload.info)
        report = check_spec(spec)
        key = signature(spec, report)
        if key is None or (self.key is not None and key != self.key):
            raise ValueError("this job does not fit the pack")
        self.key = key
        dev = self.device
        seed_everything(spec.seed)
        data = load_dataset(spec.dataset, spec.seed, self.datasets_dir, upload)
        tr = spec.training
        seed_torch(spec.seed)
        model = build_model(spec, report)
        masks = _generator_after_init(spec.seed, dev)
        x_train, y_train = _on(data.x_train, dev), _on(data.y_train, dev)
        n = x_train.shape[0]
        shuffle, order = train_eval_order(n, spec.seed, TRAIN_EVAL_CAP, dev)
        xs, ys, grid, unit_inputs = grid_inputs(data, spec.probes, dev) or (None, None, None, None)
        rows = ProbeRows.build(
            x_train[order], y_train[order], _on(data.x_test, dev), _on(data.y_test, dev), grid, unit_inputs, xs, ys, data.info.task
        )
        theta = flatten(model).to(dev)
        probe_state = {"shared_range": shared_range(rows, spec)}
        emit({"type": "status", "status": "running", "device": str(dev), "n_params": count_params(model)})
        plan = EventPlan.for_job(spec, report)
        pilot = Pilot(controls, emit, should_stop, _LrShim(tr.optimizer.lr), tr, pictures=plan.spare_heavy())  # type: ignore[arg-type]
        member = Member(
            job_id,
            spec,
            emit,
            should_stop,
            keep,
            model,
            theta,
            new_state(tr.optimizer, theta.numel()),
            0,
            x_train,
            y_train,
            rows,
            shuffle,
            plan,
            started,
            pilot,
            probe_state=probe_state,
            dropout=dropout_rates(spec),
            masks=masks,
        )
        self.joining.append(member)

    def __len__(self) -> int:
        return len(self.members) + len(self.joining)

    # --- stacking ----------------------------------------------------------------------------------

    def _stack(self) -> None:
        """Builds the batched state from the members' rows (after a change of membership)."""
        ms = self.members
        first = ms[0]
        dev = self.device
        self.net = StackedDense(dense_shapes(first.model), torch.stack([mb.theta for mb in ms]), [len(r) for r in first.dropout])
        tr = first.spec.training
        names = list(first.opt_state)
        state = {k: torch.stack([mb.opt_state[k] for mb in ms]) for k in names}
        self.optimizer = PackOptimizer(
            tr.optimizer.name, [mb.spec.training.optimizer for mb in ms], state, [mb.opt_steps for mb in ms], dev
        )
        self.x_train = torch.stack([mb.x_train for mb in ms])
        self.y_train = torch.stack([mb.y_train for mb in ms])
        self.rows_index = torch.arange(len(ms), device=dev).unsqueeze(1)
        l1 = torch.tensor([[mb.spec.training.l1] for mb in ms], dtype=torch.float32, device=dev)
        l2 = torch.tensor([[mb.spec.training.l2] for mb in ms], dtype=torch.float32, device=dev)
        self.l1 = l1 * self.net.weight_mask if bool((l1 > 0).any()) else None
        self.l2 = l2 * self.net.weight_mask if bool((l2 > 0).any()) else None
        report = check_spec(first.spec)
        loss = make_pack_loss(tr.loss, first.spec.model.output.activation, first.rows.task, report.n_outputs)
        self.loss_fn = loss
        self.probes = PackProbes(self.net, loss, first.model, [mb.rows for mb in ms], [mb.probe_state for mb in ms], first.spec, dev)
        n = first.x_train.shape[0]
        merge_single = False  # no batchnorm in a pack
        self.bounds = batch_bounds(n, tr.batch_size, merge_single)
        self.loss_every = [loss_every(len(self.bounds), mb.spec.training.epochs) for mb in ms]  # each job's own k
        self._stacked = True

    def _noise(self, i: int, k: int, h: Tensor) -> Tensor:
        """The members' dropout masks for the k-th dropout before stacked layer i, each from its own generator, drawn as
        torch's CPU dropout draws its own (empty_like, bernoulli_(1 - p), div_(1 - p); p = 0 draws nothing)."""
        noise = torch.empty_like(h)
        for j, mb in enumerate(self.members):
            p = mb.dropout[i][k]
            if p == 0:
                noise[j].fill_(1.0)
            else:
                noise[j].bernoulli_(1 - p, generator=mb.masks).div_(1 - p)
        return noise

    def _unstack(self) -> None:
        """Writes the batched state back into the members' rows."""
        if not self._stacked:
            return
        for j, mb in enumerate(self.members):
            mb.theta = self.net.theta[j].clone()
            mb.opt_state = {k: v[j].clone() for k, v in self.optimizer.state.items()}
            mb.opt_steps = self.optimizer.steps[j]
        self._stacked = False

    def _regroup(self, leaving: list[Member]) -> None:
        if not leaving and not self.joining:
            return
        self._unstack()
        self.members = [mb for mb in self.members if mb not in leaving] + [mb for mb in self.joining if mb not in leaving]
        self.joining = []
        if self.members:
            self._stack()

    # --- the run -----------------------------------------------------------------------------------

    def run(self, on_boundary: Callable[[Pack], None] | None = None) -> dict[str, str]:
        """Trains until every member has finished; returns each job's outcome. on_boundary(pack) is called at each epoch
        boundary, where a caller may `add` jobs (they join there)."""
        outcomes: dict[str, str] = {}
        while self.members or self.joining or self.parked:
            if on_boundary is not None:
                on_boundary(self)
            leaving = self._boundary()
            for mb in leaving:
                if mb.outcome is not None:
                    outcomes[mb.job_id] = mb.outcome
            new = [mb for mb in self.joining if not mb.measured]
            self._regroup(leaving)
            if new:
                self._measure_new(new)
                for mb in new:
                    if mb.outcome is not None:
                        outcomes[mb.job_id] = mb.outcome
                self._regroup([mb for mb in new if mb.outcome is not None])
            if self.members:
                self._epoch()
            elif self.parked and not self.joining:
                self._wait_parked()
        return outcomes

    def _boundary(self) -> list[Member]:
        """Acts on every member's stop and controls at this epoch boundary: returns those that leave the stacked state
        (finished, stopped, paused); paused ones wait in `parked` and rejoin when resumed."""
        leaving = []
        for mb in self.members:
            if mb.outcome is None and mb.should_stop():
                self._finish(mb, "cancelled")
            if mb.outcome is None:
                mb.pilot.poll(mb.epoch + 1, mb.steps)
                if mb.pilot.paused:
                    self.parked.append(mb)
            if mb.outcome is not None or mb.pilot.paused:
                leaving.append(mb)
        for mb in list(self.parked):
            if mb in leaving:
                continue
            if mb.should_stop():
                self._finish(mb, "cancelled")
            else:
                mb.pilot.poll(mb.epoch + 1, mb.steps)
            if mb.outcome is not None or not mb.pilot.paused:
                self.parked.remove(mb)
                if mb.outcome is None:
                    self.joining.append(mb)
                else:
                    leaving.append(mb)
        return leaving

    def _wait_parked(self) -> None:
        """Only paused members are left and nothing trains: look at their mailboxes again shortly (a resume or a stop
        is acted on within PARKED_POLL_S)."""
        time.sleep(PARKED_POLL_S)

    def _measure_new(self, new: list[Member]) -> None:
        """Epoch 0 of members that have just joined (their events before training), measured with the whole pack."""
        index = [self.members.index(mb) for mb in new]
        no_steps = torch.zeros(0, len(self.members), device=self.device)
        events = self.probes.measure(None, index, [self._flags(mb) for mb in new], no_steps, self.loss_every)
        for mb, body in zip(new, events, strict=True):
            mb.measured = True
            self._emit_epoch(mb, body, mb.spec.training.optimizer.lr)

    @staticmethod
    def _flags(mb: Member) -> tuple[bool, bool]:
        """(heavy, layers) of the member's epoch ending now: its plan's, and a stepped epoch's pictures (as train())."""
        heavy = mb.plan.heavy(mb.epoch) or mb.pilot.wants_pictures()
        return heavy, heavy or mb.plan.layers(mb.epoch)

    def _emit_epoch(self, mb: Member, body: dict[str, Any], lr: float) -> None:
        event = {
            "type": "epoch",
            "epoch": mb.epoch,
            "step": mb.steps,
            "elapsed_s": round(time.perf_counter() - mb.started, 3),
            "lr": lr,
        } | body
        mb.emit(event)
        if body["train"]["loss"] is None or body["test"]["loss"] is None:
            self._finish(mb, "diverged", epoch=mb.epoch)

    def _finish(self, mb: Member, status: str, **fields: Any) -> None:
        """The member's final status, after `keep` has its weights (the row where it sits now)."""
        if mb.keep is not None:
            stacked = self._stacked and mb in self.members
            load_row(mb.model, self.net.theta[self.members.index(mb)].detach() if stacked else mb.theta)
            mb.keep(mb.model)
        mb.emit({"type": "status", "status": status, **fields})
        mb.outcome = status

    def _epoch(self) -> None:
        """One epoch of every member at once, its events, and the end of those that are done."""
        ms = self.members
        dev = self.device
        lrs = [mb.pilot.start_epoch(mb.epoch + 1) for mb in ms]
        lr64 = torch.tensor([[lr] for lr in lrs], dtype=torch.float64, device=dev)
        neg_lr = (-lr64).float()
        n = self.x_train.shape[1]
        full_batch = len(self.bounds) == 1
        perm = None if full_batch else torch.stack([torch.randperm(n, generator=mb.shuffle) for mb in ms]).to(dev)
        net, opt = self.net, self.optimizer
        theta, grad = net.theta, net.grad
        step_losses: list[Tensor] = []
        norms = self.probes.grad_norms
        for start, stop in self.bounds:
            if perm is None:
                xb, yb = self.x_train, self.y_train
            else:
                idx = perm[:, start:stop]
                xb, yb = self.x_train[self.rows_index, idx], self.y_train[self.rows_index, idx]
            z, _ = net.forward(xb, noise=self._noise if any(net.drops) else None)
            losses = self.loss_fn(z, yb)
            losses.sum().backward()
            step_losses.append(losses.detach())
            norms.record(grad)
            with torch.no_grad():
                if self.l2 is not None:
                    grad.add_(theta * self.l2)
                if self.l1 is not None:
                    grad.add_(theta.sign() * self.l1)
            opt.step(theta, grad, lr64, neg_lr)
            grad.zero_()
        for mb in ms:
            mb.epoch += 1
            mb.steps += len(self.bounds)
        flags = [self._flags(mb) for mb in ms]
        bodies = self.probes.measure(
            norms.take_mean(len(self.bounds)), list(range(len(ms))), flags, torch.stack(step_losses), self.loss_every
        )
        for mb, body, lr in zip(ms, bodies, lrs, strict=True):
            self._emit_epoch(mb, body, sig(lr) or 0.0)
            if mb.outcome is None:
                if mb.epoch >= mb.spec.training.epochs:
                    self._finish(mb, "completed")
                else:
                    mb.pilot.epoch_done(mb.epoch, mb.steps)
                    if mb.should_stop():
                        self._finish(mb, "cancelled")
