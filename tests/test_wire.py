"""The worker → server event channel: frames round-trip, and the server refuses anything but plain data."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from nndojo.jobs import wire
from nndojo.spec import JobSpec
from nndojo.train import train


def _roundtrip(event: dict) -> dict:
    data = wire.event_frame("job-1", event)
    frame = wire.decode_body(data[4:])
    assert frame.kind == wire.EVENT and frame.job_id == "job-1"
    return wire.load_event(frame)


@pytest.mark.parametrize(
    "spec",
    [
        {"dataset": {"name": "spiral", "n_samples": 100}, "training": {"epochs": 2}},
        {
            "dataset": {"name": "digits", "train_limit": 64},
            "model": {
                "layers": [{"type": "conv2d", "filters": 2}, {"type": "maxpool2d"}, {"type": "flatten"}, {"type": "dense", "units": 3}]
            },
            "training": {"epochs": 1},
        },
        {
            "dataset": {"name": "reg-gauss", "n_samples": 100},
            "model": {"output": {"activation": "identity"}},
            "training": {"loss": "mse", "epochs": 1},
        },
    ],
)
def test_trainer_events_cross_the_wire_unchanged(spec: dict) -> None:
    """Every event the trainer emits is plain data (no numpy or torch scalars), so the guarded unpickler accepts it."""
    torch.set_num_threads(1)
    events: list[dict] = []
    train(JobSpec.model_validate(spec), events.append)
    assert events[-1] == {"type": "status", "status": "completed"}
    for event in events:
        assert _roundtrip(event) == event


@pytest.mark.parametrize("payload", [{"x": np.float32(1.0)}, {"x": torch.tensor(1.0)}, {"x": pickle.PickleBuffer}])
def test_classes_are_refused(payload: dict) -> None:
    frame = wire.decode_body(wire.encode_frame(wire.EVENT, "j", {}, pickle.dumps(payload))[4:])
    with pytest.raises(pickle.UnpicklingError, match="plain data only"):
        wire.load_event(frame)
