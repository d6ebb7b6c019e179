"""What the student sees each epoch: loss and accuracy, per-layer gradients, weights and activations, the boundary.

All measurements of one epoch are computed on the device under torch.no_grad() in eval mode, concatenated into one
tensor and copied to the host once; only epoch 0 reads extra values (each histogram's range, fixed from then on).

Activation histograms: a bounded activation (sigmoid, tanh, step) uses its bounds; every hidden layer's unbounded one
(ReLU, leaky ReLU, identity, batchnorm) shares one range fixed by the spec and the data, never by the run's own values,
so that std 0.01, Xavier and He nets of one lesson show visibly different pictures on the same axis (the book's Figs
6-10 to 6-14); ReLU and step histograms count exact zeros apart (`zeros`), so the spike at 0 hides nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from nndojo.nn.activations import output_activation
from nndojo.nn.build import LayerInfo, Net
from nndojo.spec.memory import PROBE_VALUES, UNIT_VALUES
from nndojo.train.feature_maps import FeatureMaps
from nndojo.train.losses import LossFn, class1_probability, predicted_class
from nndojo.train.outcomes import Outcomes
from nndojo.train.rounding import SIG_DIGITS, json_list, places, sig_array, sig_round

SMALL_WEIGHTS = 100  # layers with at most this many weights also send the values ("for tiny nets, the values")
FILTER_VALUES = 2048  # first conv layers with at most this many weights send their filters
HIST_BATCH_MAX = 1 << 21  # most values histogrammed in one batched op (it keeps four float vectors that long)
HIST_MARGIN = 0.5  # epoch 0's range widened by this share of its span on each side (weights, the output layer)
HIST_RANGE_SCALE = 4.0  # the shared activation range's default: this many times the probe inputs' RMS, rounded up
BOUNDARY_DECIMALS = 2  # a heatmap shows no finer shade; 3 places made a 100-epoch job's events 1.9 MB, 2 places 1.6 MB
UNIT_MAX = 32  # hidden layers of at most this many units send each unit's output map (`units`), as the diagram draws them


def sends_weights(n_in: int, n_out: int) -> bool:
    """Whether a dense layer's entry carries its weights and biases: tiny layers (SMALL_WEIGHTS), and every layer the
    network diagram draws unit by unit on both sides (at most UNIT_MAX inputs and outputs, 1,024 weights), whose
    edges show each weight's sign and size. train.budget counts them with this same rule."""
    return n_in * n_out <= SMALL_WEIGHTS or max(n_in, n_out) <= UNIT_MAX


def _finite_range(values: Tensor) -> tuple[float, float]:
    """min and max of the finite values, (-1, 1) if none: without boolean indexing, whose index tensor costs 8 bytes a value."""
    finite = torch.isfinite(values)
    if bool(finite.all()):
        lo, hi = torch.aminmax(values)
    elif bool(finite.any()):
        lo, hi = torch.where(finite, values, math.inf).min(), torch.where(finite, values, -math.inf).max()
    else:
        return -1.0, 1.0
    return float(lo), float(hi)


def nice_ceil(value: float) -> float:
    """The smallest of 1, 2, 5 × 10^k at least `value` (1 for none): histogram edges that read cleanly."""
    if not math.isfinite(value) or value <= 0:
        return 1.0
    decade = 10.0 ** math.floor(math.log10(value))
    return next(step * decade for step in (1.0, 2.0, 5.0, 10.0) if step * decade >= value * (1 - 1e-9))


@dataclass
class Split:
    x: Tensor
    y: Tensor


@dataclass
class Grid:
    """The boundary's grid over a 2-D set, and the coarser one (same extent) the unit maps are drawn on."""

    xs: list[float]
    ys: list[float]
    inputs: Tensor
    unit_inputs: Tensor | None = None  # unit_resolution² rows, y outer like `inputs`
    unit_resolution: int = 0


def unit_layers(layers: list[tuple[str, int]], resolution: int) -> list[str]:
    """Of (name, units) of the hidden layers, those whose units get output maps: at most UNIT_MAX units, in model order
    while their maps total at most UNIT_VALUES values (~400 KB of JSON; train.budget sizes them with this function)."""
    chosen, total = [], 0
    for name, units in layers:
        if units <= UNIT_MAX and total + units * resolution**2 <= UNIT_VALUES:
            chosen.append(name)
            total += units * resolution**2
    return chosen


def unit_maps_json(
    values: np.ndarray, sizes: dict[str, int], names: list[str], res: int, encode: Callable[[np.ndarray, int], Any]
) -> dict[str, Any]:
    """`units` from the host copy's maps, layer after layer: {layer: [unit][y][x]} at BOUNDARY_DECIMALS places, each
    layer's maps encoded by `encode` (rounding.places for a solo run's events; rounding.fixed_json, JSON text, for a
    pack's)."""
    out, offset = {}, 0
    for name in names:
        n = sizes[name] * res * res
        out[name] = encode(values[offset : offset + n].reshape(sizes[name], res, res), BOUNDARY_DECIMALS)
        offset += n
    return out


@dataclass
class _Layout:
    """Where each measurement sits in the one tensor copied to the host."""

    offset: int = 0
    parts: list[Tensor] = field(default_factory=list)

    def put(self, t: Tensor) -> slice:
        flat = t.reshape(-1)
        if flat.dtype != torch.float32:
            flat = flat.float()
        self.parts.append(flat)
        s = slice(self.offset, self.offset + flat.numel())
        self.offset += flat.numel()
        return s


SATURATING = ("sigmoid", "tanh")  # saturated_fraction: sigmoid outputs < 0.1 or > 0.9, tanh |y| > 0.9; 0 for the rest
DYING = ("relu", "step")  # dead_fraction (outputs exactly 0) and dead_units; 0 and absent for the rest


# Shares of a condition, as means of float signs: comparisons into bool tensors and back to float cost ~4x more on CPU.


def _saturated(y: Tensor, activation: str) -> Tensor:
    """Share of |y − c| > r: sign(|y − c| − r) is 1 exactly there, and 0 or −1 (clamped to 0) elsewhere."""
    distance = (y - 0.5).abs_() if activation == "sigmoid" else y.abs()
    return distance.sub_(0.4 if activation == "sigmoid" else 0.9).sign_().clamp_min_(0.0).mean()


def _dead(y: Tensor) -> Tensor:
    """Share of outputs exactly 0, for ReLU and step, whose outputs are never negative: 1 − mean(sign(y))."""
    return 1.0 - y.sign().mean()


def _dead_units(y: Tensor) -> Tensor:
    """Share of units (a dense layer's outputs, a conv layer's channels) that are exactly 0 for every probe sample (and,
    for a channel, at every position): the textbook's dead unit, whose largest output over the batch is 0."""
    dims = (0, *range(2, y.dim()))
    return 1.0 - y.amax(dim=dims).sign().mean()


def rounded_row(row: np.ndarray, n_scalars: int, n_values: int) -> tuple[list[Any], np.ndarray, np.ndarray]:
    """An epoch's host copy, laid out scalars | values | raw: the scalars to SIG_DIGITS as JSON lists, the values
    (loss steps, small weights) to 4 significant digits, and the raw rest (histogram counts, grids) as it is. A pack
    passes all its members' rows at once (jobs, columns): one numpy pass for the whole pack."""
    split = n_scalars + n_values
    return json_list(sig_round(row[..., :n_scalars], SIG_DIGITS)), sig_round(row[..., n_scalars:split], 4), row[..., split:]


def splits(metrics: list[Any], classify: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """The event's `train` and `test` from the measured (train loss, [accuracy,] test loss[, accuracy])."""
    if classify:
        return {"loss": metrics[0], "accuracy": metrics[1]}, {"loss": metrics[2], "accuracy": metrics[3]}
    return {"loss": metrics[0], "accuracy": None}, {"loss": metrics[1], "accuracy": None}


class Probes:
    """Measures one epoch's event body for a model, its data and its loss."""

    def __init__(
        self,
        model: Net,
        loss_fn: LossFn,
        *,
        task: str,
        train: Split,
        test: Split,
        probe_n: int,
        grid: Grid | None,
        bins: int,
        chunk: int,
        outcomes: Outcomes | None = None,
        hist_range: float | None = None,
    ):
        self.model, self.loss_fn, self.task = model, loss_fn, task
        # train, test and grid rows stacked into one input tensor: one forward pass an epoch serves all three
        self.n_train, self.n_test, self.grid = train.x.shape[0], test.x.shape[0], grid
        self.x = torch.cat([train.x, test.x, *([grid.inputs] if grid is not None else [])])
        self.y = torch.cat([train.y, test.y])
        self.probe_n = min(probe_n, self.n_train)  # the probe batch is the train rows' head, never a test row
        # samples whose outputs each layer keeps: the probe batch, or its head where the layer is wide (bounded memory)
        self.keep = {info.name: min(self.probe_n, max(1, PROBE_VALUES // info.size)) for info in model.layer_infos}
        self.bins, self.chunk, self.outcomes = bins, chunk, outcomes
        if hist_range is None:  # from the data the probes see, not from the init: a lesson's runs share it
            probe = self.x[: self.probe_n].float()
            hist_range = nice_ceil(HIST_RANGE_SCALE * float(probe.square().mean().sqrt()))
        self.shared_range = hist_range
        self.classify = task == "classification"
        self.ranges: dict[str, tuple[float, float]] = {}
        self.edges: dict[str, list[float]] = {}
        self._bin_map: tuple[Tensor, Tensor, Tensor, Tensor] | None = None  # per histogrammed value: scale, shift, first and last bin
        self.modules = model.layer_modules()
        # only dropout and batchnorm behave differently in eval mode: switching just those is cheaper than model.eval()
        self.mode_modules = [mod for mod in model.modules() if isinstance(mod, nn.Dropout | nn.modules.batchnorm._BatchNorm)]
        self.first_conv = next((i for i, mod in enumerate(self.modules) if isinstance(mod, nn.Conv2d)), None)
        self.unit_names: list[str] = []
        if grid is not None and grid.unit_inputs is not None:
            hidden = [(info.name, info.size) for info in model.layer_infos[:-1]]
            self.unit_names = unit_layers(hidden, grid.unit_resolution)
        self.maps: FeatureMaps | None = None  # image sets: one test image's feature maps, on the heavy epochs
        if self.x.dim() == 4 and self.n_test:
            sample = min(outcomes.samples[0] if outcomes is not None and outcomes.samples else 0, self.n_test - 1)
            row = self.n_train + sample  # a view of the stacked rows: no copy of the image to keep
            maps = FeatureMaps(model, self.x[row : row + 1], sample)
            self.maps = maps if maps.layers else None

    # --- pieces -----------------------------------------------------------------------------------

    def _forward(self, rows: int, probe: bool = True) -> tuple[Tensor, dict[str, Tensor]]:
        """z for the first `rows` stacked rows, in chunks, and (with `probe`) each layer's kept probe activations from the
        first chunks."""
        zs: list[Tensor] = []
        keeps = self.keep if probe else {}
        parts: dict[str, list[Tensor]] = {name: [] for name in keeps}
        for start in range(0, rows, self.chunk):
            xb = self.x[start : min(start + self.chunk, rows)]
            need = {name: keep - start for name, keep in keeps.items() if keep > start}
            if need:
                z, acts = self.model.forward_probe(xb, keep=need)
                for name, part in acts.items():
                    parts[name].append(part)
            else:
                z = self.model(xb)
            zs.append(z)
        acts = {name: got[0] if len(got) == 1 else torch.cat(got) for name, got in parts.items()}
        return (zs[0] if len(zs) == 1 else torch.cat(zs)), acts

    def _metrics(self, z: Tensor) -> Tensor:
        """[train loss, train accuracy, test loss, test accuracy] (no accuracies for a regression), on the device."""
        n1, n12 = self.n_train, self.n_train + self.n_test
        y = self.y
        losses = [self.loss_fn(z[:n1], y[:n1]).float(), self.loss_fn(z[n1:n12], y[n1:]).float()]
        if not self.classify:
            return torch.stack(losses)
        hits = (predicted_class(z[:n12], self.model.output_name) == y).float()
        return torch.stack([losses[0], hits[:n1].mean(), losses[1], hits[n1:].mean()])

    def _range(self, key: str, values: Tensor, info: LayerInfo | None) -> tuple[float, float]:
        """A histogram's range, fixed (with its edges) the first time it is asked for (epoch 0): the activation's bounds if
        it has them, the shared range for a hidden layer's unbounded activation, else (weights, an identity output) the
        values' range widened by HIST_MARGIN of its span; weights get a range symmetric about 0."""
        if key in self.ranges:
            return self.ranges[key]
        if info is not None and info.bounded is not None:
            lo, hi = info.bounded
        elif info is not None and info.name != "output":
            r = self.shared_range
            lo, hi = (0.0, r) if info.activation == "relu" else (-r, r)
        else:
            lo, hi = _finite_range(values)
            if info is None:  # weights
                a = max(abs(lo), abs(hi))
                lo, hi = (-a, a) if a > 0 else (-1.0, 1.0)
            span = hi - lo
            if span <= 1e-8 * max(1.0, abs(lo), abs(hi)):
                lo, hi, span = lo - 1.0, hi + 1.0, 2.0
            lo, hi = lo - HIST_MARGIN * span, hi + HIST_MARGIN * span
        self.ranges[key] = (lo, hi)
        self.edges[key] = sig_array(np.linspace(lo, hi, self.bins + 1), 4)
        return lo, hi

    def _hist(self, layout: _Layout, key: str, values: Tensor, info: LayerInfo | None) -> tuple[slice, str]:
        """One histogram on its own (torch.histc), for tensors too big for the batched form."""
        lo, hi = self._range(key, values, info)
        clean = values.reshape(-1).clamp(lo, hi).nan_to_num_(nan=lo)  # out of range → end bins; NaN (diverged) → first bin
        return layout.put(torch.histc(clean, self.bins, lo, hi)), key

    def _hists(self, layout: _Layout, requests: list[tuple[str, Tensor, LayerInfo | None]]) -> list[tuple[slice, str]]:
        """Every histogram of the epoch, each on its own fixed range, in six ops: the values stacked into one vector, each
        mapped to its bin in one shared count vector (k·bins + (v − lo)·bins/(hi − lo), clamped into its histogram's end
        bins, NaN into the first), one bincount. The per-value scale, shift and bounds are built once, at epoch 0.
        Beyond HIST_BATCH_MAX values (those vectors' memory), histc each."""
        total = sum(values.numel() for _, values, _ in requests)
        if total > HIST_BATCH_MAX:
            return [self._hist(layout, key, values, info) for key, values, info in requests]
        if self._bin_map is None or self._bin_map[0].numel() != total:
            parts: list[list[Tensor]] = [[], [], [], []]
            for k, (key, values, info) in enumerate(requests):
                lo, hi = self._range(key, values, info)
                scale, first = self.bins / (hi - lo), k * self.bins
                for part, value in zip(parts, (scale, first - lo * scale, first, first + self.bins - 1), strict=True):
                    part.append(torch.full((values.numel(),), value, dtype=torch.float32))
            device = requests[0][1].device
            self._bin_map = tuple(torch.cat(part).to(device) for part in parts)  # type: ignore[assignment]
        scale_v, shift_v, first_v, last_v = self._bin_map
        flat = torch.cat([values.reshape(-1) for _, values, _ in requests]).float().nan_to_num_(nan=-math.inf)
        bins = torch.addcmul(shift_v, flat, scale_v).clamp_(first_v, last_v).to(torch.int32)
        counts = layout.put(torch.bincount(bins, minlength=len(requests) * self.bins))
        return [(slice(counts.start + k * self.bins, counts.start + (k + 1) * self.bins), key) for k, (key, _, _) in enumerate(requests)]

    # --- the epoch --------------------------------------------------------------------------------

    @torch.inference_mode()
    def measure(
        self,
        grad_norms: Tensor | None,
        heavy: bool = True,
        layers: bool = True,
        loss_steps: tuple[Tensor, int] | None = None,
        outcomes: bool = False,
    ) -> dict[str, Any]:
        """train and test of an epoch event; with `layers` each layer's scalars too, with `heavy` its histograms, values,
        filters, the boundary and the feature maps as well (train.budget decides which epochs); grad_norms is the epoch's
        per-layer mean (None at epoch 0); loss_steps the epoch's training loss every k steps (train.step_losses) and k,
        read here with the rest in the epoch's one host copy; with `outcomes`, the test set's confusion (and samples)."""
        layers = layers or heavy
        model = self.model
        for module in self.mode_modules:
            module.training = False
        try:
            # three regions of the one host copy: scalars (6 significant digits), weight values (4), raw (counts, boundary)
            scal, vals, raw = _Layout(), _Layout(), _Layout()
            boundary_due = self.grid is not None and heavy
            z, acts = self._forward(self.x.shape[0] if boundary_due else self.n_train + self.n_test, probe=layers)
            metrics = scal.put(self._metrics(z))
            step_losses = vals.put(loss_steps[0]) if loss_steps is not None else None
            layer_slots = self._layer_slots(acts, grad_norms, heavy, scal, vals, raw) if layers else []
            boundary = raw.put(self._boundary(z[self.n_train + self.n_test :])) if boundary_due else None
            units = raw.put(self._unit_maps()) if boundary_due and self.unit_names else None
            n12 = self.n_train + self.n_test
            maps = raw.put(self.maps.measure()) if heavy and self.maps is not None else None
            outcome = raw.put(self.outcomes.measure(z[self.n_train : n12])) if outcomes and self.outcomes is not None else None
            host = torch.cat(scal.parts + vals.parts + raw.parts).cpu().numpy().astype(np.float64)
        finally:
            for module in self.mode_modules:
                module.training = True
        scalars, values, host = rounded_row(host, scal.offset, vals.offset)
        train, test = splits(scalars[metrics], self.classify)
        if loss_steps is not None and step_losses is not None:
            train |= {"loss_steps": json_list(values[step_losses]), "loss_every": loss_steps[1]}
        body: dict[str, Any] = {"train": train, "test": test}
        if layers:
            body["layers"] = [
                self._layer_json(info, module, slots, scalars, values, host)
                for info, module, slots in zip(model.layer_infos, self.modules, layer_slots, strict=True)
            ]
        if boundary is not None and self.grid is not None:
            res = (len(self.grid.ys), len(self.grid.xs))
            z = host[boundary].reshape(res)
            body["boundary"] = {"x": self.grid.xs, "y": self.grid.ys, "z": self._z_json(z)}
        if units is not None and self.grid is not None:
            body["units"] = self._units_json(host[units])
        if maps is not None and self.maps is not None:
            body["feature_maps"] = self.maps.to_json(host[maps])
        if outcome is not None and self.outcomes is not None:
            body |= self.outcomes.to_json(host[outcome])
        return body

    def _layer_slots(
        self, acts: dict[str, Tensor], grad_norms: Tensor | None, heavy: bool, scal: _Layout, vals: _Layout, raw: _Layout
    ) -> list[dict[str, Any]]:
        """Each layer's measurements, placed in the host copy's regions: where each one sits (`keys` names its scalars)."""
        layer_slots = []
        hist_requests: list[tuple[str, Tensor, LayerInfo | None]] = []
        for i, (info, module) in enumerate(zip(self.model.layer_infos, self.modules, strict=True)):
            weight: Tensor | None = getattr(module, "weight", None)  # None for an activation layer
            y = acts[info.name]
            mean = y.mean()
            std = torch.linalg.vector_norm(y - mean) / math.sqrt(y.numel())  # two passes, as exact as std_mean, 20× faster on CPU
            scalars = {"mean": mean, "std": std}
            if weight is not None:
                scalars["weight_norm"] = torch.linalg.vector_norm(weight)
                if grad_norms is not None:
                    scalars["grad_norm"] = grad_norms[i]
            if info.activation in SATURATING:
                scalars["saturated_fraction"] = _saturated(y, info.activation)
            if info.activation in DYING:
                scalars["dead_fraction"], scalars["dead_units"] = _dead(y), _dead_units(y)
            slots: dict[str, Any] = {"keys": list(scalars), "scalars": scal.put(torch.stack(list(scalars.values())))}
            if heavy:
                slots["act_hist"] = len(hist_requests)
                hist_requests.append((f"a:{info.name}", y, info))
                if info.activation in DYING:  # exact zeros, in the first bin, are counted apart
                    slots["zeros"] = raw.put((y == 0).sum())
                if weight is not None:
                    slots["weight_hist"] = len(hist_requests)
                    hist_requests.append((f"w:{info.name}", weight, None))
                if isinstance(module, nn.Linear) and weight is not None and sends_weights(weight.shape[1], weight.shape[0]):
                    slots["weights"] = vals.put(weight)
                    if module.bias is not None:
                        slots["bias"] = vals.put(module.bias)
                if i == self.first_conv and weight is not None and weight.numel() <= FILTER_VALUES:
                    slots["filters"] = vals.put(weight)
            layer_slots.append(slots)
        if heavy:
            hist_slots = self._hists(raw, hist_requests)
            for slots in layer_slots:
                for key in ("act_hist", "weight_hist"):
                    if key in slots:
                        slots[key] = hist_slots[slots[key]]
        return layer_slots

    def _layer_json(
        self,
        info: LayerInfo,
        module: nn.Module,
        slots: dict[str, Any],
        scalars: list[Any],
        values: np.ndarray,
        host: np.ndarray,
    ) -> dict[str, Any]:
        """One entry of `layers`; a layer without parameters (an activation layer) has null norms and no weight_hist."""
        got = dict(zip(slots["keys"], scalars[slots["scalars"]], strict=True))
        has_weight = "weight_norm" in got
        grad_norm = got.get("grad_norm", 0.0) if has_weight else None  # 0 at epoch 0, before any gradient
        layer: dict[str, Any] = {"name": info.name, "type": info.type, "grad_norm": grad_norm, "weight_norm": got.get("weight_norm")}
        if "weight_hist" in slots:
            layer["weight_hist"] = self._hist_json(host, *slots["weight_hist"])
        activation = {k: got.get(k, 0.0) for k in ("mean", "std", "saturated_fraction", "dead_fraction")}
        if info.activation in DYING:
            activation["dead_units"] = got["dead_units"]
        if "act_hist" in slots:
            activation["hist"] = self._hist_json(host, *slots["act_hist"], zeros=host[slots["zeros"]][0] if "zeros" in slots else None)
        layer["activation"] = activation
        if "weights" in slots or "filters" in slots:
            shape = tuple(module.weight.shape)
            if "weights" in slots:
                layer["weights"] = json_list(values[slots["weights"]].reshape(shape))
                if "bias" in slots:
                    layer["bias"] = json_list(values[slots["bias"]])
            if "filters" in slots:
                layer["filters"] = json_list(values[slots["filters"]].reshape(shape))
        return layer

    def _boundary(self, z: Tensor) -> Tensor:
        """Per grid point, from its z: P(class 1) for two classes, the most probable class for more, the output for a regression."""
        if self.task == "regression":
            return output_activation(self.model.output_name, z)[:, 0]  # the network's output, from the same forward pass
        if z.shape[1] <= 2:
            return class1_probability(z, self.model.output_name)
        return z.argmax(dim=1)

    def _unit_maps(self) -> Tensor:
        """Each chosen layer's outputs over the coarse grid, unit-major ((units, rows) a layer, layers in order): one forward
        pass in eval mode, in the evaluation's chunks."""
        assert self.grid is not None and self.grid.unit_inputs is not None
        inputs = self.grid.unit_inputs
        rows = inputs.shape[0]
        keep = dict.fromkeys(self.unit_names, rows)
        parts: dict[str, list[Tensor]] = {name: [] for name in self.unit_names}
        for start in range(0, rows, self.chunk):
            _, acts = self.model.forward_probe(inputs[start : start + self.chunk], keep=keep)
            for name in self.unit_names:
                parts[name].append(acts[name])
        return torch.cat([torch.cat(parts[name]).t().reshape(-1) for name in self.unit_names])

    def _units_json(self, values: np.ndarray) -> dict[str, Any]:
        assert self.grid is not None
        sizes = {info.name: info.size for info in self.model.layer_infos}
        return unit_maps_json(values, sizes, self.unit_names, self.grid.unit_resolution, places)

    def _z_json(self, z: np.ndarray) -> list[Any]:
        if self.task == "classification" and self.model.head.out_features > 2:
            return z.astype(np.int64).tolist()
        return places(z, BOUNDARY_DECIMALS)

    def _hist_json(self, host: np.ndarray, s: slice, key: str, zeros: float | None = None) -> dict[str, Any]:
        """edges and counts; with `zeros` (ReLU, step), the exact zeros leave the first bin for their own count."""
        counts = host[s].astype(np.int64)
        if zeros is None:
            return {"edges": self.edges[key], "counts": counts.tolist()}
        counts[0] -= int(zeros)
        return {"edges": self.edges[key], "counts": counts.tolist(), "zeros": int(zeros)}
