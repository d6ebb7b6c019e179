"""Response models: what the OpenAPI page documents and what schemathesis checks responses against."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from nndojo.spec import JobSpec
from nndojo.spec.models import OPTIMIZER_MODELS

Status = Literal["queued", "running", "paused", "completed", "failed", "cancelled", "diverged"]


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Health(Open):
    status: Literal["ok"]
    version: str
    devices: list[str]
    mode: Literal["personal", "classroom"]
    placement: dict[str, Any] = Field(default_factory=dict, description="each slot kind's slots and measured cost model")


class Job(Open):
    id: str
    name: str
    status: Status
    spec: JobSpec
    created_at: str
    started_at: str | None
    finished_at: str | None
    device: str | None
    n_params: int | None
    epoch: int | None = Field(description="the last finished epoch")
    final: dict[str, Any] | None = Field(description="the last epoch's train and test loss and accuracy")
    error: str | None
    error_code: str | None = Field(None, description="what a failure's error means, for translation: max_job_seconds, storage, …")
    position: int | None = Field(description="place in line while queued: 1 is next to start, 0 handed to a slot; null otherwise")
    owner: dict[str, str] | None = Field(None, description="who submitted it: {id, name}; null in personal mode")
    class_id: str | None = None
    shared: bool = Field(False, description="visible, read-only, to the owner's whole class")


class JobSummary(Job):
    settings: dict[str, Any] = Field(description="dataset, layers, output, loss, optimizer, lr, batch_size, epochs, device")


def _lr_max() -> float:
    """The spec's own bound on every optimiser's lr: a running job's lr may not go where a new spec's could not."""
    bounds = [c.le for model in OPTIMIZER_MODELS for c in model.model_fields["lr"].metadata if getattr(c, "le", None) is not None]
    return min(bounds)


class JobChange(BaseModel):
    """PATCH /api/jobs/{id}: what may change while a job trains."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    lr: float = Field(gt=0.0, le=_lr_max(), description="the learning rate from the next step on; the lr schedule goes on relative to it")


class Deleted(Open):
    id: str
    deleted: bool


class LayerShapeOut(Open):
    index: int | None
    name: str
    type: str
    in_shape: list[int]
    out_shape: list[int]
    n_params: int


class CheckReport(Open):
    n_params: int
    n_outputs: int
    input_shape: list[int]
    layers: list[LayerShapeOut]


class Metrics(Open):
    """Per-epoch scalars as columns (one entry per epoch event with seq > after)."""

    seq: list[int]
    epoch: list[int | None]
    train_loss: list[float | None]
    train_accuracy: list[float | None]
    test_loss: list[float | None]
    test_accuracy: list[float | None]
    lr: list[float | None]
    grad_norm: dict[str, list[float | None]]
    weight_norm: dict[str, list[float | None]]
    dead_units: dict[str, list[float | None]]
    saturated_fraction: dict[str, list[float | None]]
    dead_fraction: dict[str, list[float | None]]
    last_seq: int = Field(description="pass as `after` to get only what came since")
    status: Status
