"""Response models: what the OpenAPI page documents and what schemathesis checks responses against."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from nndojo.spec import JobSpec

Status = Literal["queued", "running", "completed", "failed", "cancelled", "diverged"]


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Health(Open):
    status: Literal["ok"]
    version: str
    devices: list[str]


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
    position: int | None = Field(description="place in line while queued: 1 is next to start, 0 handed to a slot; null otherwise")


class JobSummary(Job):
    settings: dict[str, Any] = Field(description="dataset, layers, output, loss, optimizer, lr, batch_size, epochs, device")


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
