"""The worker → server event channel: frames round-trip, and the server refuses what breaks the protocol."""

from __future__ import annotations

import asyncio
import json
import struct

import numpy as np
import orjson
import pytest
import torch

from nndojo.jobs import wire
from nndojo.jobs.metrics import scalars
from nndojo.spec import JobSpec
from nndojo.train import train
from nndojo.train.rounding import fixed_json, places


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
def test_trainer_events_cross_the_wire_as_json(spec: dict) -> None:
    """Every event the trainer emits leaves the worker as the JSON of itself, with its tracking fields beside it."""
    torch.set_num_threads(1)
    events: list[dict] = []
    train(JobSpec.model_validate(spec), events.append)
    assert events[-1] == {"type": "status", "status": "completed"}
    for event in events:
        frame = wire.decode_body(wire.event_frame("job-1", event)[4:])
        assert frame.kind == wire.EVENT and frame.job_id == "job-1"
        assert json.loads(frame.payload) == json.loads(json.dumps(event))
        assert frame.meta["type"] == event["type"]
        if event["type"] == "epoch":
            assert frame.meta["metrics"] == scalars(event) and frame.meta["epoch"] == event["epoch"]


def test_nan_and_infinity_travel_as_null() -> None:
    frame = wire.decode_body(wire.event_frame("j", {"type": "epoch", "train": {"loss": float("nan")}, "big": 2**80})[4:])
    assert json.loads(frame.payload) == {"type": "epoch", "train": {"loss": None}, "big": 2**80}


@pytest.mark.parametrize(
    "values",
    [
        np.random.default_rng(0).uniform(-1, 1, (17, 20, 20)),  # a 2-8-8-1's unit maps
        np.random.default_rng(1).uniform(0, 1, (50, 50)),  # a boundary
        np.array([-0.0, -0.004, 0.005, 0.015, 2.675, 1.0, -1.0, 99.99, -99.994, 0.1]),  # signs, halves, whole, the edge
        np.random.default_rng(2).normal(0, 40, (3, 4, 5, 2)),  # deeper, wider than the table in places
        np.array([[np.nan, 1.0], [np.inf, -np.inf]]),  # not finite: the fallback
        np.array([1e6, 0.5]),  # beyond the table: the fallback
        np.zeros((1, 1)),
        np.full((1, 2, 1, 1, 2), 0.25),  # five dimensions: the fallback
    ],
)
@pytest.mark.parametrize("decimals", [1, 2])
def test_fixed_json_is_the_text_of_places(values: np.ndarray, decimals: int) -> None:
    """A pack's grids, encoded in numpy, are byte for byte the JSON places and orjson give a solo run's, and travel in
    the event as that text."""
    text = fixed_json(values, decimals)
    assert text.text == orjson.dumps(places(values, decimals))
    frame = wire.decode_body(wire.event_frame("j", {"type": "epoch", "units": {"dense_1": text}, "n": 1})[4:])
    assert json.loads(frame.payload) == {"type": "epoch", "units": {"dense_1": places(values, decimals)}, "n": 1}
    # what orjson refuses goes through json, grids and all
    assert json.loads(wire.to_json({"big": 2**80, "z": text})) == {"big": 2**80, "z": places(values, decimals)}


def _read(data: bytes, max_bytes: int = wire.MAX_FRAME) -> wire.Frame:
    async def go() -> wire.Frame:
        reader = asyncio.StreamReader()
        reader.feed_data(data)
        reader.feed_eof()
        return await wire.read_frame(reader, max_bytes)

    return asyncio.run(go())


def test_oversized_and_malformed_frames_are_refused_before_their_body_is_read() -> None:
    with pytest.raises(wire.FrameError, match="over the limit"):
        _read(struct.pack("!I", 200 * 1024 * 1024), wire.MAX_HELLO)  # only the 4 length bytes exist: nothing more is read
    with pytest.raises(wire.FrameError, match="malformed"):
        _read(struct.pack("!I", 3) + b"e\x05a")
    hello = _read(wire.hello_frame("secret"), wire.MAX_HELLO)
    assert hello.kind == wire.HELLO and hello.meta == {"token": "secret"}
