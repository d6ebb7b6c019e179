"""An estimate of the memory a job adds to its worker at its peak, so that the check can refuse one that would not fit.

The parts, in float32 values unless said (measured against peak RSS growth in tests/test_worker_memory.py):
- base: what a fresh job's first torch ops and its dataset's libraries take (thread pools, kernels, scikit-learn);
- data: the training and test arrays, the stacked evaluation copy (train metrics' samples, test set, boundary grid),
  and for sets read from files their cached bytes and the float conversion of the training set;
- parameters: weights, gradients, the optimiser's state, and one copy for a histogram;
- training: a batch's activations that backward keeps (each layer's output and what its type saves, spec.layers) plus
  the gradients of the two widest layers in flight;
- evaluation: one chunk of rows through the widest layer (train.loop caps a chunk at ACTIVATION_BUDGET values there;
  LRN makes several temporaries of its input), and the probe batch's activations each layer keeps (train.probes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from nndojo.datasets.info import dataset_info, train_test_sizes
from nndojo.spec import models as m
from nndojo.spec.batches import batch_size_for
from nndojo.spec.layers import KINDS

if TYPE_CHECKING:  # check imports this module
    from nndojo.spec.check import ShapeReport

FLOAT = 4
MB = 1 << 20
BASE_MB = 100  # a 2-8-8-1 job's whole growth: torch's first ops in a fresh process
LIBRARY_MB = {"digits": 100}  # scikit-learn, imported to load digits
# The trainer's evaluation sizes, defined here so that train.loop, train.probes and this estimate share them:
ACTIVATION_BUDGET = 1 << 22  # values one evaluation chunk may produce in its widest layer
PROBE_BATCH = 256  # training samples whose activations are described every epoch
PROBE_VALUES = 1 << 20  # most output values kept per layer: a layer wider than PROBE_VALUES / PROBE_BATCH keeps fewer samples
UNIT_VALUES = 1 << 16  # most unit-map values (`units`, 2-D sets) an epoch computes and sends
TRAIN_EVAL_CAP = 10_000  # training samples the train loss and accuracy are measured on (a fixed subset beyond this)
EVAL_TEMPORARIES = {"lrn": 6}  # evaluation temporaries of a layer type, in multiples of its input; others 2
OPTIMIZER_STATE = {"sgd": 0, "momentum": 1, "nesterov": 1, "adagrad": 1, "rmsprop": 1, "adadelta": 2, "adam": 2}


@dataclass
class MemoryEstimate:
    """Megabytes by part; `widest` names the hidden layer with the most output values a sample, for messages."""

    parts: dict[str, float] = field(default_factory=dict)
    widest: tuple[int, str] | None = None  # (index in model.layers, type)
    toy: bool = True
    eval_chunks: int = 1  # the evaluation's chunks of rows: a pack evaluates its members in one pass, unchunked

    @property
    def total_mb(self) -> int:
        return math.ceil(sum(self.parts.values()))

    def _largest(self) -> str:
        variable = {k: v for k, v in self.parts.items() if k != "base"}
        return max(variable, key=lambda k: variable[k])

    def what_to_reduce(self) -> list[str]:
        """The spec fields (dotted paths) that shrink the largest part, most effective first."""
        largest = self._largest()
        if largest == "data":
            return ["dataset.n_samples"] if self.toy else ["dataset.train_limit"]
        if largest == "parameters":
            return ["model.layers"]
        widest = [] if self.widest is None else [f"model.layers.{self.widest[0]}.{'units' if self.widest[1] == 'dense' else 'filters'}"]
        return (["training.batch_size"] if largest == "training" else []) + widest

    def loc(self) -> tuple:
        """The field the error names: the one that shrinks the largest part."""
        largest = self._largest()
        if largest == "data":
            return ("dataset", "n_samples") if self.toy else ("dataset", "train_limit")
        if largest == "training":
            return ("training", "batch_size")
        return ("model", "layers")


def memory_estimate(spec: m.JobSpec, report: ShapeReport) -> MemoryEstimate:
    """The peak memory a job adds to an idle worker, by part, from its spec and its checked shapes."""
    ds, tr = spec.dataset, spec.training
    info = dataset_info(ds.name)
    width = math.prod(report.input_shape)
    n_train, n_test = train_test_sizes(ds.name, ds.n_samples, ds.test_fraction, ds.train_limit)
    grid = spec.probes.boundary_resolution**2 if info.planar else 0
    unit_grid = spec.probes.unit_resolution**2 if info.planar else 0  # the unit maps' coarser grid
    eval_rows = min(n_train, TRAIN_EVAL_CAP) + n_test + grid
    data = FLOAT * width * (n_train + n_test + eval_rows + min(n_train, TRAIN_EVAL_CAP) + unit_grid)
    if info.shipped_split is not None:  # the cached uint8 files, and the training set's float conversion in flight
        data += width * sum(info.shipped_split) + FLOAT * width * n_train

    params = FLOAT * report.n_params * (3 + OPTIMIZER_STATE[tr.optimizer.name])

    saved, widest_values, widest, eval_peak = width, width, None, 2 * width
    kept = 2 * UNIT_VALUES if unit_grid else 0  # the unit maps and their concatenation
    for shape in report.layers:
        values = math.prod(shape.out_shape)
        if shape.index is None:  # the output layer: its z and the loss's softmax
            saved += 2 * values
            kept += min(PROBE_BATCH * values, PROBE_VALUES)
            continue
        layer = spec.model.layers[shape.index]
        kind = KINDS[layer.type]
        saved += values + kind.saved(layer, shape.in_shape, shape.out_shape)
        eval_peak = max(eval_peak, EVAL_TEMPORARIES.get(layer.type, 2) * max(values, math.prod(shape.in_shape)))
        if kind.probed:
            kept += min(PROBE_BATCH * values, max(PROBE_VALUES, values))
        if values > widest_values:
            widest_values, widest = values, (shape.index, layer.type)
    batch = batch_size_for(n_train, tr.batch_size)
    training = FLOAT * batch * (saved + 2 * widest_values)
    chunk = max(1, ACTIVATION_BUDGET // max(widest_values, width))
    evaluation = FLOAT * (min(chunk, eval_rows) * eval_peak + 2 * kept)

    parts = {
        "base": BASE_MB + LIBRARY_MB.get(ds.name, 0),
        "data": data / MB,
        "parameters": params / MB,
        "training": training / MB,
        "evaluation": evaluation / MB,
    }
    return MemoryEstimate(parts, widest, info.kind == "toy2d", math.ceil(eval_rows / chunk))
