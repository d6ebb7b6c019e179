"""Small builders for the lessons' job specs, so that each variant reads as the textbook's table row it reproduces."""

from __future__ import annotations

from typing import Any

SEED = 0  # every variant of every lesson: the runs differ only in what the lesson varies
FLATTEN = {"type": "flatten"}  # before the first dense layer on images


def dense(units: int, activation: str, init: str = "he", std: float | None = None, **extra: Any) -> dict[str, Any]:
    layer = {"type": "dense", "units": units, "activation": activation, "init": "normal" if std is not None else init, **extra}
    if std is not None:
        layer["init_std"] = std
    return layer


def conv(filters: int, kernel_size: int, padding: int = 0, std: float | None = None) -> dict[str, Any]:
    layer = {"type": "conv2d", "filters": filters, "kernel_size": kernel_size, "padding": padding, "activation": "relu", "init": "he"}
    return layer if std is None else {**layer, "init": "normal", "init_std": std}


def pool(kernel_size: int = 2) -> dict[str, Any]:
    return {"type": "maxpool2d", "kernel_size": kernel_size}


def fashion(train_limit: int) -> dict[str, Any]:
    return {"name": "fashion-mnist", "train_limit": train_limit}


def job(
    name: str,
    dataset: dict[str, Any],
    layers: list[dict[str, Any]],
    *,
    epochs: int,
    batch_size: int | str,
    optimizer: dict[str, Any],
    output: dict[str, Any] | None = None,
    loss: str = "cross_entropy",
    **training: Any,
) -> dict[str, Any]:
    """A whole spec; its device is auto, like any job the page submits."""
    return {
        "name": name,
        "seed": SEED,
        "device": "auto",
        "dataset": dataset,
        "model": {"layers": layers, "output": output or {"activation": "softmax", "init": "xavier"}},
        "training": {"epochs": epochs, "batch_size": batch_size, "loss": loss, "optimizer": optimizer, **training},
    }
