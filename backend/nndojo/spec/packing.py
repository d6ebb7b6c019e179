"""Which jobs may train together as one pack (nndojo.train.pack): the shape signature the scheduler groups queued jobs
by. Here, without torch, since the server decides it."""

from __future__ import annotations

from typing import Any

from nndojo.datasets.info import dataset_info
from nndojo.spec import models as m
from nndojo.spec.check import ShapeReport, check_spec
from nndojo.spec.memory import memory_estimate

PACKED_LAYERS = ("dense", "dropout")  # what nndojo.train.pack_net stacks


def signature(spec: m.JobSpec, report: ShapeReport | None = None) -> tuple[Any, ...] | None:
    """What a job must share with the others of its pack (epochs and dropout rates may differ: each member ends at its
    own, and draws its own masks), or None for a job that runs solo (a layer but dense and dropout, an uploaded set, a
    GPU request)."""
    if any(layer.type not in PACKED_LAYERS for layer in spec.model.layers) or spec.dataset.name.startswith("upload-"):
        return None
    if spec.device == "cuda" or (dataset_info(spec.dataset.name).n_classes or 0) > 2:
        return None  # more than two classes: their events carry the test confusion, which the pack does not measure
    report = report or check_spec(spec)
    if memory_estimate(spec, report).eval_chunks > 1:
        return None  # a pack evaluates its members in one pass; a job whose evaluation a solo run chunks is too big
    tr = spec.training
    layers = tuple(
        (layer.units, layer.activation, layer.bias) if isinstance(layer, m.DenseLayer) else layer.type for layer in spec.model.layers
    )
    return (
        spec.dataset.name,
        spec.dataset.n_samples,
        spec.dataset.test_fraction,
        spec.dataset.train_limit,
        tuple(spec.dataset.features),
        layers,
        spec.model.output.activation,
        tr.loss,
        tr.optimizer.name,
        tr.batch_size,
        spec.probes.histogram_bins,
        spec.probes.boundary_resolution,
        spec.probes.unit_resolution,
        report.n_outputs,
    )
