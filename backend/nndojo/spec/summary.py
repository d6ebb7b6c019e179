"""The settings a job list shows for a stored spec: enough to tell a class's twenty runs apart."""

from __future__ import annotations

from typing import Any

from nndojo.spec.layers import KINDS


def summary(spec: dict[str, Any]) -> dict[str, Any]:
    """Dataset, layers as short strings ("dense 8 relu", "conv2d 6x5 relu", "dropout 0.5", "batchnorm"), output, loss,
    optimizer, lr, batch_size, epochs and device of a spec as stored (a dict, as JobSpec.model_dump gives it)."""
    training = spec["training"]
    return {
        "dataset": spec["dataset"]["name"],
        "layers": [
            KINDS[layer["type"]].summary(layer) if layer["type"] in KINDS else str(layer["type"]) for layer in spec["model"]["layers"]
        ],
        "output": spec["model"]["output"]["activation"],
        "loss": training["loss"],
        "optimizer": training["optimizer"]["name"],
        "lr": training["optimizer"]["lr"],
        "batch_size": training["batch_size"],
        "epochs": training["epochs"],
        "device": spec["device"],
    }
