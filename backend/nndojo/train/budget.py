"""Which epochs carry which measurements, so that a job's events stay under EVENT_BUDGET bytes whatever its spec.

The bound: a job stores at most about 20 MB of events (EVENT_BUDGET, JSON as the API sends it) for every spec the
limits allow (50 layers, 4,096 units, 10,000 epochs, 100 bins, a 200x200 boundary). Each epoch event has three tiers:

- core, every epoch: epoch, step, elapsed_s, lr, train and test loss and accuracy (~200 bytes), and the training loss
  every k steps (train.loss_steps: at most LOSS_POINTS numbers, fewer in jobs of over 2,000 epochs);
- layer scalars (`layers`: each layer's grad_norm, weight_norm and activation mean, std, saturated and dead fractions,
  ~200 bytes a layer, so at most ~10 KB an epoch at 51 layers): every epoch while the budget holds them all, which it
  does for every job of up to ~1,000 epochs or a few layers; beyond that on a schedule;
- heavy payloads (histograms of weights and activations, small layers' weights and biases, first-layer filters, the
  decision boundary, small layers' unit maps, one test image's feature maps): on at most HEAVY_EPOCHS epochs (epochs
  0-10, ~50 evenly spaced, the last), fewer where the budget needs it; such an epoch also carries the layer scalars;
- outcomes (the test confusion matrix, and for image sets the fixed sample predictions): with the boundary on 2-D
  sets, else on every OUTCOME_EVERY-th epoch and the last; the sample images once.

`due` is the one schedule function: a job's plan asks it with two counts. The sizes come from the spec before
training (`EventPlan.for_job`); they are upper estimates of the JSON (tests/test_event_budget.py measures them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from nndojo.datasets.info import dataset_info, train_test_sizes
from nndojo.spec import models as m
from nndojo.spec.check import ShapeReport
from nndojo.spec.layers import KINDS
from nndojo.spec.memory import PROBE_BATCH, PROBE_VALUES
from nndojo.train.feature_maps import map_layers
from nndojo.train.outcomes import SAMPLES, outcomes_apply
from nndojo.train.probes import FILTER_VALUES, sends_weights, unit_layers

EVENT_BUDGET = 20_000_000  # bytes of events a job stores at most
PLAN_BUDGET = 18_000_000  # what the plan fills: the estimates' margin, and the status and control events
HEAD = 11  # the first epochs (0-10), where training changes most, all carry the heavy payloads when any do
HEAVY_EPOCHS = 62  # at most: HEAD, 50 evenly spaced, the last
CORE_BYTES = 260  # an epoch's core fields, seq and type included
LAYER_BYTES = 240  # one layer's scalars: name, type, two norms, five activation figures, keys (206 bytes at most)
NUMBER_BYTES = 12  # a number at 4 to 6 significant digits with its comma, sign and exponent
BOUNDARY_BYTES = 7  # a boundary cell at 2 decimals ("-0.12,"); a class index takes 2
UNIT_BYTES = 8  # a unit-map cell at 2 decimals, unbounded (ReLU) outputs up to "-999.99,"
LOSS_POINTS = 50  # most train.loss_steps points an epoch carries
LOSS_POINTS_TOTAL = 100_000  # most a job carries (~1 MB): a 10,000-epoch job gets 10 an epoch
LOSS_STEP_BYTES = 10  # a loss at 4 significant digits ("1.234e-05,"; losses are never negative)
OUTCOME_EVERY = 10  # off 2-D sets, confusion and samples ride on every 10th epoch and the last
PIXEL_BYTES = 5  # a sample image's pixel at 2 decimals ("0.12,")


def loss_every(steps: int, epochs: int) -> int:
    """k of train.loss_steps: the fewest steps a point averages so that an epoch of `steps` steps carries at most
    LOSS_POINTS points and the job at most LOSS_POINTS_TOTAL."""
    return -(-steps // _loss_points(epochs))


def _loss_points(epochs: int) -> int:
    return max(1, min(LOSS_POINTS, LOSS_POINTS_TOTAL // epochs))


def due(epoch: int, epochs: int, count: int) -> bool:
    """Whether `epoch` (0..epochs) is one of at most `count` epochs: the first min(HEAD, count / 4), evenly spaced ones,
    and the last. Every epoch when count covers them all; epoch 0 and the last always."""
    if count >= epochs + 1:
        return True
    head = min(HEAD, count // 4)
    spaced = count - head - 1
    if epoch < max(head, 1) or epoch == epochs:
        return True
    return epoch * spaced // epochs != (epoch - 1) * spaced // epochs  # the epoch that passes the next k·epochs/spaced


@dataclass(frozen=True)
class EventPlan:
    """How many epochs carry the heavy payloads and the layer scalars, and the per-epoch sizes that chose them."""

    epochs: int
    heavy_count: int
    layer_count: int
    core_bytes: int
    layer_bytes: int  # the layer scalars of one epoch
    heavy_bytes: int  # what a heavy epoch adds to them
    outcomes_on: str | None = None  # when confusion and samples come: "heavy" (with the boundary), "tenth", or never
    extra_bytes: int = 0  # the job's bytes outside the per-epoch tiers: outcomes on their own epochs, the sample images

    def outcomes(self, epoch: int) -> bool:
        if self.outcomes_on == "heavy":
            return self.heavy(epoch)
        return self.outcomes_on == "tenth" and (epoch % OUTCOME_EVERY == 0 or epoch == self.epochs)

    def heavy(self, epoch: int) -> bool:
        return due(epoch, self.epochs, self.heavy_count)

    def layers(self, epoch: int) -> bool:
        return self.heavy(epoch) or due(epoch, self.epochs, self.layer_count)

    def spare_heavy(self, most: int = 200) -> int:
        """How many more epochs could carry the heavy payloads within PLAN_BUDGET (at most `most`): the pictures a
        student stepping a paused run gets for each stepped epoch (nndojo.train.control)."""
        return max(0, min(most, (PLAN_BUDGET - self.bound()) // (self.layer_bytes + self.heavy_bytes)))

    def bound(self) -> int:
        """The most bytes the epoch events can take under these estimates."""
        n = self.epochs + 1
        tiers = n * self.core_bytes + min(n, self.heavy_count + self.layer_count) * self.layer_bytes + self.heavy_count * self.heavy_bytes
        return tiers + self.extra_bytes

    @classmethod
    def for_job(cls, spec: m.JobSpec, report: ShapeReport, budget: int = PLAN_BUDGET) -> EventPlan:
        core, layers, heavy = _sizes(spec, report)
        outcome, images = _outcome_sizes(spec, report)
        epochs = spec.training.epochs
        on = None if not outcome else "heavy" if dataset_info(spec.dataset.name).planar else "tenth"
        if on == "heavy":
            heavy += outcome
        extra = images + (outcome * (epochs // OUTCOME_EVERY + 2) if on == "tenth" else 0)
        return cls.for_sizes(epochs, core, layers, heavy, budget=budget, outcomes_on=on, extra=extra)

    @classmethod
    def for_sizes(
        cls, epochs: int, core: int, layers: int, heavy: int, budget: int = PLAN_BUDGET, outcomes_on: str | None = None, extra: int = 0
    ) -> EventPlan:
        n = epochs + 1
        left = budget - n * core - extra
        heavy_count = max(2, min(n, HEAVY_EPOCHS, left // 2 // (layers + heavy)))
        left -= heavy_count * (layers + heavy)
        layer_count = max(0, min(n, left // layers))
        return cls(epochs, heavy_count, layer_count, core, layers, heavy, outcomes_on, extra)


def _hist_bytes(bins: int, most: int) -> int:
    """A histogram's JSON: bins + 1 edges and bins counts of at most `most` each."""
    return (bins + 1) * NUMBER_BYTES + bins * (len(str(most)) + 1) + 40


def _sizes(spec: m.JobSpec, report: ShapeReport) -> tuple[int, int, int]:
    """Upper estimates of (core, layer scalars, heavy payloads) bytes of one epoch event of this spec."""
    bins = spec.probes.histogram_bins
    probed = [s for s in report.layers if s.index is None or KINDS[s.type].probed]
    heavy = 0
    first_conv = True
    for shape in probed:
        values = math.prod(shape.out_shape)
        weights = shape.in_shape[0] if shape.type == "batchnorm" else shape.n_params  # batchnorm's histogram is of its scale
        heavy += _hist_bytes(bins, weights) + _hist_bytes(bins, min(PROBE_BATCH * values, max(PROBE_VALUES, values)))
        if shape.type == "dense" and sends_weights(shape.in_shape[0], shape.out_shape[0]):  # its weights and biases
            heavy += (shape.n_params + 4 * shape.out_shape[0]) * NUMBER_BYTES
        if shape.type == "conv2d" and first_conv:
            first_conv = False
            if shape.n_params - shape.out_shape[0] <= FILTER_VALUES:
                heavy += (shape.n_params + 4 * shape.out_shape[0] * shape.in_shape[0]) * NUMBER_BYTES
    heavy += map_bytes(report)
    if dataset_info(spec.dataset.name).planar:
        res = spec.probes.boundary_resolution
        heavy += res * res * BOUNDARY_BYTES + 2 * res * NUMBER_BYTES + 40
        hidden = {s.name: math.prod(s.out_shape) for s in probed if s.index is not None}
        ures = spec.probes.unit_resolution
        for name in unit_layers(list(hidden.items()), ures):
            heavy += hidden[name] * (ures * ures * UNIT_BYTES + 3 * ures + 3) + len(name) + 8
    core = CORE_BYTES + _loss_points(spec.training.epochs) * LOSS_STEP_BYTES + 40  # with "loss_steps" and "loss_every"
    return core, LAYER_BYTES * len(probed), heavy


def map_bytes(report: ShapeReport) -> int:
    """Upper estimate of one event's `feature_maps` (0 without image-shaped layers): [channel][y][x] cells at 2 decimals,
    their brackets, each layer's name, the sample index."""
    hidden = [(s.name, s.type, tuple(s.out_shape)) for s in report.layers if s.index is not None]
    chosen = map_layers(hidden)
    if not chosen:
        return 0
    return 50 + sum(c * hgt * wid * UNIT_BYTES + c * (hgt + 1) * 3 + len(name) + 8 for name, (c, hgt, wid) in chosen)


def _outcome_sizes(spec: m.JobSpec, report: ShapeReport) -> tuple[int, int]:
    """Upper estimates of (one epoch's confusion and samples, the sample images once) bytes; (0, 0) where none apply."""
    info = dataset_info(spec.dataset.name)
    if not outcomes_apply(info):
        return 0, 0
    _, n_test = train_test_sizes(spec.dataset.name, spec.dataset.n_samples, spec.dataset.test_fraction, spec.dataset.train_limit)
    count = len(str(n_test)) + 1
    classes = report.n_outputs if report.n_outputs > 1 else 2
    outcome = classes * classes * count + 3 * classes + 20
    if info.kind != "image":
        return outcome, 0
    outcome += SAMPLES * (count + 3 + 3 + 7) + 60  # index, label, pred, prob ("0.123,")
    return outcome, SAMPLES * (math.prod(report.input_shape) * PIXEL_BYTES + 3) + 40
