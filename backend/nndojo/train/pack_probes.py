"""nndojo.train.probes for a pack: every member's epoch measured in one batched pass, one host copy, and each member's
event body built from its row exactly as Probes.measure builds a solo job's (same keys, same rounding). The grids
(boundary, unit maps) come already encoded (rounding.fixed_json): the same JSON text, a third of the time; the events
are for nndojo.jobs.wire.to_json.

Members differ in data (their own train, test and grid rows, stacked), so every tensor here has the jobs first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from nndojo.nn.build import LayerInfo, Net
from nndojo.spec import models as m
from nndojo.spec.memory import PROBE_BATCH, PROBE_VALUES
from nndojo.train.loop import BlockNorms, GradNorms, segment_norms
from nndojo.train.pack_net import PackLoss, StackedDense, class1_probability, output_activation, predicted_class
from nndojo.train.probes import (
    BOUNDARY_DECIMALS,
    DYING,
    HIST_MARGIN,
    HIST_RANGE_SCALE,
    SATURATING,
    _finite_range,
    nice_ceil,
    rounded_row,
    sends_weights,
    splits,
    unit_layers,
    unit_maps_json,
)
from nndojo.train.rounding import fixed_json, json_list, sig_array


@dataclass
class ProbeRows:
    """One member's evaluation rows as Probes stacks them: train-eval rows (probe batch first), test rows, grid rows."""

    x: Tensor
    y: Tensor
    n_train: int
    n_test: int
    unit_inputs: Tensor | None
    xs: list[float] | None
    ys: list[float] | None
    task: str

    @classmethod
    def build(
        cls,
        x_train: Tensor,
        y_train: Tensor,
        x_test: Tensor,
        y_test: Tensor,
        grid: Tensor | None,
        unit_inputs: Tensor | None,
        xs: list[float] | None,
        ys: list[float] | None,
        task: str,
    ) -> ProbeRows:
        x = torch.cat([x_train, x_test, *([grid] if grid is not None else [])])
        return cls(x, torch.cat([y_train, y_test]), x_train.shape[0], x_test.shape[0], unit_inputs, xs, ys, task)


class PackGradNorms(BlockNorms):
    """train.loop.GradNorms's flat form over a pack: each step's (jobs, P) gradient copied into a block, each layer's
    norm of its columns taken once a block, summed over the epoch."""

    def __init__(self, segments: list[tuple[int, int]], jobs: int, n_params: int, device: torch.device):
        self.segments = segments
        rows = max(1, min(GradNorms.BLOCK, GradNorms.FLAT_BLOCK_VALUES // max(jobs * n_params, 1)))
        super().__init__(torch.zeros(rows, jobs, n_params, device=device), (jobs, len(segments)))

    def record(self, grad: Tensor) -> None:
        self.buffer[self.rows].copy_(grad)
        self._advance()

    def _norms(self, block: Tensor) -> Tensor:
        return segment_norms(block, self.segments)


def hist_range(values: Tensor, info: LayerInfo | None, shared: float) -> tuple[float, float]:
    """Probes._range: a histogram's range (weights: info None); `shared` is the job's range for hidden layers' unbounded
    activations."""
    if info is not None and info.bounded is not None:
        return info.bounded
    if info is not None and info.name != "output":
        return (0.0, shared) if info.activation == "relu" else (-shared, shared)
    lo, hi = _finite_range(values)
    if info is None:
        a = max(abs(lo), abs(hi))
        lo, hi = (-a, a) if a > 0 else (-1.0, 1.0)
    span = hi - lo
    if span <= 1e-8 * max(1.0, abs(lo), abs(hi)):
        lo, hi, span = lo - 1.0, hi + 1.0, 2.0
    return lo - HIST_MARGIN * span, hi + HIST_MARGIN * span


def shared_range(rows: ProbeRows, spec: m.JobSpec) -> float:
    """Probes' shared activation range: probes.hist_range, else from the RMS of the job's probe inputs."""
    if spec.probes.hist_range is not None:
        return spec.probes.hist_range
    probe = rows.x[: min(PROBE_BATCH, rows.n_train)].float()
    return nice_ceil(HIST_RANGE_SCALE * float(probe.square().mean().sqrt()))


class _Columns:
    """Per-job columns of one rounding group of the host copy: (jobs, k) parts and where each sits."""

    def __init__(self) -> None:
        self.parts: list[Tensor] = []
        self.offset = 0

    def put(self, t: Tensor) -> slice:
        flat = t.reshape(t.shape[0], -1).float()
        self.parts.append(flat)
        s = slice(self.offset, self.offset + flat.shape[1])
        self.offset += flat.shape[1]
        return s


class PackProbes:
    """The pack's measurements; `states` are the members' own dicts, where their histogram ranges and edges live."""

    def __init__(
        self,
        net: StackedDense,
        loss_fn: PackLoss,
        model: Net,
        rows: list[ProbeRows],
        states: list[dict[str, Any]],
        spec: m.JobSpec,
        device: torch.device,
    ):
        self.net, self.loss_fn, self.states = net, loss_fn, states
        self.infos = model.layer_infos
        self.output_name = model.output_name
        first = rows[0]
        self.task, self.classify = first.task, first.task == "classification"
        self.n_train, self.n_test = first.n_train, first.n_test
        self.x = torch.stack([r.x for r in rows])
        self.y = torch.stack([r.y for r in rows])
        self.grid_axes = [(r.xs, r.ys) for r in rows] if first.xs is not None else None
        self.units_x = torch.stack([r.unit_inputs for r in rows]) if first.unit_inputs is not None else None  # type: ignore[misc]
        self.unit_resolution = spec.probes.unit_resolution
        probe_n = min(PROBE_BATCH, self.n_train)
        self.keep = {info.name: min(probe_n, max(1, PROBE_VALUES // info.size)) for info in self.infos}
        self.bins = spec.probes.histogram_bins
        self.unit_names = unit_layers([(i.name, i.size) for i in self.infos[:-1]], self.unit_resolution) if self.units_x is not None else []
        self.grad_norms = PackGradNorms(net.segments, len(rows), net.theta.shape[1], device)
        self._bin_map: tuple[Tensor, ...] | None = None

    @torch.no_grad()
    def measure(
        self,
        grad_norms: Tensor | None,
        index: list[int],
        flags: list[tuple[bool, bool]],
        step_losses: Tensor | None,
        every: list[int],
    ) -> list[dict[str, Any]]:
        """The event bodies of the members at `index`, each with its (heavy, layers) flags (train.budget's plan, or a
        stepped epoch's pictures); grad_norms (jobs, layers) is the epoch's mean per layer (None at epoch 0),
        step_losses (steps, jobs) the epoch's mini-batch losses and every[j] job j's k of train.loss_steps (jobs of
        over 2,000 epochs average more steps a point)."""
        heavy_of = [heavy for heavy, _ in flags]
        layers_of = [heavy or layers for heavy, layers in flags]
        heavy, layers = any(heavy_of), any(layers_of)
        scal, vals, raw = _Columns(), _Columns(), _Columns()
        n12 = self.n_train + self.n_test
        z, acts = self.net.forward(self.x[:, :n12], keep=self.keep if layers else None)
        if layers:
            acts["output"] = output_activation(self.output_name, z[:, : self.keep["output"]])
        metrics = scal.put(self._metrics(z))
        loss_slots = {k: vals.put(self._windows(step_losses, k)) for k in set(every)} if step_losses is not None else None
        layer_slots = self._layer_slots(acts, grad_norms, heavy, scal, vals, raw) if layers else []
        # the pictures (boundary, unit maps) only for the members whose epoch carries them: joins stagger the members'
        # schedules, so some member is nearly always due, rarely all
        pictured = [j for k, j in enumerate(index) if heavy_of[k]] if self.grid_axes is not None else []
        grids, boundary, units = _Columns(), None, None
        if pictured:
            rows = torch.tensor(pictured, device=self.x.device)
            zg, _ = self.net.forward(self.x[rows, n12:], jobs=rows)
            boundary = grids.put(self._boundary(zg))
            units = grids.put(self._unit_maps(rows)) if self.unit_names else None
        columns = torch.cat(scal.parts + vals.parts + raw.parts, dim=1)
        pictures = torch.cat(grids.parts, dim=1) if pictured else columns[:0]
        flat = torch.cat([columns.reshape(-1), pictures.reshape(-1)]).cpu().numpy().astype(np.float64)  # one copy, one sync
        host = flat[: columns.numel()].reshape(columns.shape)
        grid_host = flat[columns.numel() :].reshape(pictures.shape) if pictured else None
        grid_row = {j: r for r, j in enumerate(pictured)}
        bodies = []
        scalars_of, values_of, rest_of = rounded_row(host[index], scal.offset, vals.offset)
        for k, j in enumerate(index):
            scalars, values, rest = scalars_of[k], values_of[k], rest_of[k]
            train, test = splits(scalars[metrics], self.classify)
            if loss_slots is not None:
                train |= {"loss_steps": json_list(values[loss_slots[every[j]]]), "loss_every": every[j]}
            body: dict[str, Any] = {"train": train, "test": test}
            if layers_of[k]:
                body["layers"] = [
                    self._layer_json(j, info, slots, scalars, values, rest, heavy_of[k])
                    for info, slots in zip(self.infos, layer_slots, strict=True)
                ]
            if j in grid_row and grid_host is not None and boundary is not None and self.grid_axes is not None:
                pictures = grid_host[grid_row[j]]
                xs, ys = self.grid_axes[j]
                assert xs is not None and ys is not None
                zb = pictures[boundary].reshape(len(ys), len(xs))
                zj = zb.astype(np.int64).tolist() if self.classify and z.shape[2] > 2 else fixed_json(zb, BOUNDARY_DECIMALS)
                body["boundary"] = {"x": xs, "y": ys, "z": zj}
                if units is not None:
                    body["units"] = self._units_json(pictures[units])
            bodies.append(body)
        return bodies

    # --- device side ------------------------------------------------------------------------------

    def _metrics(self, z: Tensor) -> Tensor:
        n1, n12 = self.n_train, self.n_train + self.n_test
        y = self.y
        losses = [self.loss_fn(z[:, :n1], y[:, :n1]).float(), self.loss_fn(z[:, n1:n12], y[:, n1:]).float()]
        if not self.classify:
            return torch.stack(losses, dim=1)
        hits = (predicted_class(z[:, :n12], self.output_name) == y).float()
        return torch.stack([losses[0], hits[:, :n1].mean(dim=1), losses[1], hits[:, n1:].mean(dim=1)], dim=1)

    @staticmethod
    def _windows(losses: Tensor, every: int) -> Tensor:
        """train.step_losses.StepLosses.take over (steps, jobs): each job's window means."""
        per_job = losses.t().float()
        n = per_job.shape[1]
        points = -(-n // every)
        if n == 0:  # epoch 0: no step yet
            return per_job
        sizes = torch.tensor([every] * (points - 1) + [n - every * (points - 1)], dtype=torch.float32, device=losses.device)
        padded = torch.nn.functional.pad(per_job, (0, points * every - n))
        return padded.view(per_job.shape[0], points, every).sum(dim=2).div_(sizes)

    def _layer_slots(
        self, acts: dict[str, Tensor], grad_norms: Tensor | None, heavy: bool, scal: _Columns, vals: _Columns, raw: _Columns
    ) -> list[dict[str, Any]]:
        layer_slots = []
        requests: list[tuple[str, Tensor, LayerInfo | None]] = []
        for i, (info, (w, b)) in enumerate(zip(self.infos, self.net.params, strict=True)):
            y = acts[info.name]
            count = y.shape[1] * y.shape[2]
            mean = y.mean(dim=(1, 2))
            std = torch.linalg.vector_norm(y - mean[:, None, None], dim=(1, 2)) / math.sqrt(count)
            scalars = {"mean": mean, "std": std, "weight_norm": torch.linalg.vector_norm(w, dim=(1, 2))}
            if grad_norms is not None:
                scalars["grad_norm"] = grad_norms[:, i]
            if info.activation in SATURATING:
                distance = (y - 0.5).abs() if info.activation == "sigmoid" else y.abs()
                scalars["saturated_fraction"] = (
                    distance.sub_(0.4 if info.activation == "sigmoid" else 0.9).sign_().clamp_min_(0.0).mean(dim=(1, 2))
                )
            if info.activation in DYING:
                scalars["dead_fraction"] = 1.0 - y.sign().mean(dim=(1, 2))
                scalars["dead_units"] = 1.0 - y.amax(dim=1).sign().mean(dim=1)
            slots: dict[str, Any] = {"keys": list(scalars), "scalars": scal.put(torch.stack(list(scalars.values()), dim=1))}
            if heavy:
                slots["act_hist"] = len(requests)
                requests.append((f"a:{info.name}", y, info))
                if info.activation in DYING:  # exact zeros, in the first bin, are counted apart
                    slots["zeros"] = raw.put((y == 0).sum(dim=(1, 2)))
                slots["weight_hist"] = len(requests)
                requests.append((f"w:{info.name}", w, None))
                if sends_weights(w.shape[2], w.shape[1]):
                    slots["weights"] = vals.put(w)
                    if b is not None:
                        slots["bias"] = vals.put(b)
            layer_slots.append(slots)
        if heavy:
            counts = raw.put(self._hists(requests))
            for slots in layer_slots:
                for key in ("act_hist", "weight_hist"):
                    if key in slots:
                        k = slots[key]
                        slots[key] = (slice(counts.start + k * self.bins, counts.start + (k + 1) * self.bins), requests[k][0])
        return layer_slots

    def _hists(self, requests: list[tuple[str, Tensor, LayerInfo | None]]) -> Tensor:
        """Probes._hists over the pack: each member's values on its own fixed ranges, one bincount for all (jobs, bins·k)."""
        jobs = self.x.shape[0]
        flat = torch.cat([values.reshape(jobs, -1) for _, values, _ in requests], dim=1).float()
        missing = [j for j, state in enumerate(self.states) if "ranges" not in state]
        for j in missing:  # a member's first measurement (its epoch 0) fixes its ranges and edges
            ranges = [hist_range(values[j], info, self.states[j]["shared_range"]) for _, values, info in requests]
            self.states[j]["ranges"] = ranges
            self.states[j]["edges"] = {
                key: sig_array(np.linspace(lo, hi, self.bins + 1), 4) for (key, _, _), (lo, hi) in zip(requests, ranges, strict=True)
            }
        if missing or self._bin_map is None:
            self._bin_map = self._build_bin_map(requests)
        scale, shift, first, last = self._bin_map
        bins = torch.addcmul(shift, flat.nan_to_num_(nan=-math.inf), scale).clamp_(first, last).to(torch.int64)
        total = len(requests) * self.bins
        return torch.bincount(bins.reshape(-1), minlength=jobs * total).view(jobs, total)

    def _build_bin_map(self, requests: list[tuple[str, Tensor, LayerInfo | None]]) -> tuple[Tensor, ...]:
        jobs = self.x.shape[0]
        sizes = [values[0].numel() for _, values, _ in requests]
        total = len(requests) * self.bins
        parts: list[list[np.ndarray]] = [[], [], [], []]
        for j in range(jobs):
            for k, (lo, hi) in enumerate(self.states[j]["ranges"]):
                scale = self.bins / (hi - lo)  # in double, rounded to float32 once, as Probes does
                first = j * total + k * self.bins
                for part, value in zip(parts, (scale, first - lo * scale, first, first + self.bins - 1), strict=True):
                    part.append(np.full(sizes[k], value, dtype=np.float32))
        device = self.x.device
        return tuple(torch.from_numpy(np.concatenate(part)).view(jobs, -1).to(device) for part in parts)

    def _boundary(self, z: Tensor) -> Tensor:
        if self.task == "regression":
            return output_activation(self.output_name, z)[..., 0]
        if z.shape[2] <= 2:
            return class1_probability(z, self.output_name)
        return z.argmax(dim=2)

    def _unit_maps(self, jobs: Tensor) -> Tensor:
        assert self.units_x is not None
        rows = self.units_x.shape[1]
        _, acts = self.net.forward(self.units_x[jobs], keep=dict.fromkeys(self.unit_names, rows), jobs=jobs)
        return torch.cat([acts[name].transpose(1, 2).reshape(acts[name].shape[0], -1) for name in self.unit_names], dim=1)

    # --- host side --------------------------------------------------------------------------------

    def _layer_json(
        self, j: int, info: LayerInfo, slots: dict[str, Any], scalars: list[Any], values: np.ndarray, rest: np.ndarray, heavy: bool
    ) -> dict[str, Any]:
        got = dict(zip(slots["keys"], scalars[slots["scalars"]], strict=True))
        layer: dict[str, Any] = {
            "name": info.name,
            "type": info.type,
            "grad_norm": got.get("grad_norm", 0.0),
            "weight_norm": got.get("weight_norm"),
        }
        edges = self.states[j].get("edges", {})
        if heavy and "weight_hist" in slots:
            s, key = slots["weight_hist"]
            layer["weight_hist"] = {"edges": edges[key], "counts": rest[s].astype(np.int64).tolist()}
        activation = {k: got.get(k, 0.0) for k in ("mean", "std", "saturated_fraction", "dead_fraction")}
        if info.activation in DYING:
            activation["dead_units"] = got["dead_units"]
        if heavy and "act_hist" in slots:
            s, key = slots["act_hist"]
            counts = rest[s].astype(np.int64)
            activation["hist"] = {"edges": edges[key], "counts": counts.tolist()}
            if "zeros" in slots:
                zeros = int(rest[slots["zeros"]][0])
                counts[0] -= zeros
                activation["hist"] = {"edges": edges[key], "counts": counts.tolist(), "zeros": zeros}
        layer["activation"] = activation
        if heavy and "weights" in slots:
            w = self.net.params[self.infos.index(info)][0]
            layer["weights"] = json_list(values[slots["weights"]].reshape(tuple(w.shape[1:])))
            if "bias" in slots:
                layer["bias"] = json_list(values[slots["bias"]])
        return layer

    def _units_json(self, values: np.ndarray) -> dict[str, Any]:
        sizes = {info.name: info.size for info in self.infos}
        return unit_maps_json(values, sizes, self.unit_names, self.unit_resolution, fixed_json)
