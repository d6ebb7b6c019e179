"""The trainer: job spec in, events out; plus the optimizer race. Pure: no HTTP, no Ray."""

from nndojo.train.loop import available_devices, train

__all__ = ["available_devices", "train"]
