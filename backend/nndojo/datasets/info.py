"""What each dataset is, without loading it: the spec checker and the catalog need this, torch-free."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

DatasetKind = Literal["toy2d", "image", "tabular"]
Task = Literal["classification", "regression"]

MAX_PREVIEW_IMAGES = 256  # sample images one preview may carry (the API checks the query, preview() its argument)

FEATURES: tuple[str, ...] = ("x1", "x2", "x1^2", "x2^2", "x1x2", "sin_x1", "sin_x2")


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    kind: DatasetKind
    input_shape: tuple[int, ...] | None  # None for toy2d: it depends on the chosen features
    n_classes: int | None  # None for regression
    task: Task
    description: str

    def shape_for(self, features: list[str]) -> tuple[int, ...]:
        return (len(features),) if self.input_shape is None else self.input_shape


DATASETS: dict[str, DatasetInfo] = {
    info.name: info
    for info in (
        DatasetInfo("circle", "toy2d", None, 2, "classification", "a disc inside a ring"),
        DatasetInfo("xor", "toy2d", None, 2, "classification", "four quadrants, opposite corners alike"),
        DatasetInfo("gauss", "toy2d", None, 2, "classification", "two Gaussian clusters"),
        DatasetInfo("spiral", "toy2d", None, 2, "classification", "two interleaved spirals"),
        DatasetInfo("moons", "toy2d", None, 2, "classification", "two interleaved half-moons"),
        DatasetInfo("reg-plane", "toy2d", None, None, "regression", "a tilted plane"),
        DatasetInfo("reg-gauss", "toy2d", None, None, "regression", "a sum of Gaussian bumps"),
        DatasetInfo("digits", "image", (1, 8, 8), 10, "classification", "scikit-learn's 8x8 handwritten digits (1,797)"),
        DatasetInfo("fashion-mnist", "image", (1, 28, 28), 10, "classification", "Zalando's 28x28 clothing images (70,000)"),
        DatasetInfo("mnist", "image", (1, 28, 28), 10, "classification", "28x28 handwritten digits (70,000)"),
    )
}


def catalog_entry(info: DatasetInfo) -> dict:
    """The dataset as /api/catalog lists it; toy2d input shape is given for the default features."""
    return {
        "name": info.name,
        "kind": info.kind,
        "input_shape": list(info.shape_for(["x1", "x2"])),
        "n_classes": info.n_classes,
        "task": info.task,
        "description": info.description,
    }
