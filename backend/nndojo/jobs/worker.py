"""A training slot: a long-lived Ray actor that runs one job at a time with the trainer and hands its events back.

One actor per slot keeps torch imported and, on a GPU, the CUDA context warm across jobs. The actor is threaded
(max_concurrency > 1): `run` trains in one thread while `cancel` (sets the flag the trainer's should_stop reads) answers
from another, so a cancel lands within one training step.

Events leave the worker pickled over the event socket (nndojo.jobs.wire); the server encodes each as JSON once, then
stores that text and sends it to every websocket unchanged.
"""

from __future__ import annotations

import contextlib
import json
import math
import threading
import time
import traceback
from pathlib import Path
from typing import Any

import orjson

from nndojo.jobs.wire import END, Sender, encode_frame, event_frame

# Fields the server needs to track a job without parsing the event text.
META_FIELDS = ("type", "status", "epoch", "device", "n_params", "train", "test", "error")


def _finite(value: Any) -> Any:
    """NaN and infinity are not JSON: a diverged loss is sent as null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def _dumps(value: Any) -> str:
    """Compact JSON with NaN and infinity as null. orjson does both itself, 7x faster than json.dumps on the boundary
    grids (the server encodes every event, so json.dumps cost it ~7 ms per 20-epoch job); json is the fallback for
    what orjson refuses (a non-str key, an int over 64 bits)."""
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:
        pass
    try:
        return json.dumps(value, separators=(",", ":"), allow_nan=False)
    except ValueError:
        return json.dumps(_finite(value), separators=(",", ":"), allow_nan=False)


def stamp(event: dict[str, Any]) -> dict[str, Any]:
    """The event with `t_emit`, the wall clock when it was emitted: delivery latency is measured from it."""
    return {**event, "t_emit": time.time()}


def encode_event(event: dict[str, Any]) -> dict[str, Any]:
    """The event as JSON text (done once, on the server, for storage and every websocket), plus the few fields the
    server tracks the job by."""
    meta = _finite({key: event[key] for key in META_FIELDS if key in event})
    return {"text": _dumps(event), "meta": meta}


class SlotWorker:
    """Wrapped by ray.remote in nndojo.jobs.slots; plain Python here so that it can be tested without Ray."""

    def __init__(self, device: str, threads: int, datasets_dir: str):
        import nndojo.train  # noqa: F401  (torch and the trainer load once, when the slot starts, not per job)

        self.device = device
        self.threads = threads
        self.datasets_dir = Path(datasets_dir)
        self._lock = threading.Lock()
        self._job: str | None = None
        self._stop = threading.Event()
        self._cancelled: set[str] = set()
        self._sender = Sender()

    def ready(self) -> str:
        return self.device

    def devices(self) -> list[str]:
        from nndojo.train import available_devices

        return list(available_devices())

    def race(self, request: dict[str, Any]) -> dict[str, Any]:
        """The optimizer race, validated here (its request model lives with the trainer): result or 422-style errors."""
        from pydantic import ValidationError

        from nndojo.train.race import RaceRequest, race

        try:
            parsed = RaceRequest.model_validate(request)
        except ValidationError as exc:
            return {"errors": exc.errors(include_url=False, include_context=False)}
        try:
            return {"result": race(parsed)}
        except ValueError as exc:
            return {"errors": [{"loc": [], "msg": str(exc), "type": "value_error"}]}

    def run(self, job_id: str, spec_json: str, address: tuple[str, int], token: str) -> dict[str, Any]:
        """Trains the job, writing each event to the server's event socket as it is emitted, then an end frame with the
        outcome; returns the outcome too. Never raises: a failure is an outcome."""
        from nndojo.spec import JobSpec
        from nndojo.train import train

        address = (address[0], int(address[1]))
        with self._lock:
            self._job, self._stop = job_id, threading.Event()
            if job_id in self._cancelled:
                self._stop.set()
                self._cancelled.discard(job_id)
        stop = self._stop

        def emit(event: dict[str, Any]) -> None:
            self._sender.send(address, token, event_frame(job_id, stamp(event)))

        try:
            if stop.is_set():
                outcome: dict[str, Any] = {"status": "cancelled"}
            else:
                spec = JobSpec.model_validate_json(spec_json)
                status = train(spec, emit, stop.is_set, datasets_dir=self.datasets_dir, device=self.device, threads=self.threads)
                outcome = {"status": str(status)}
        except BaseException as exc:  # the job fails, the slot lives on for the next one
            outcome = {"status": "failed", "error": _describe(exc)}
        with contextlib.suppress(OSError):
            self._sender.send(address, token, encode_frame(END, job_id, outcome))
        return outcome

    def cancel(self, job_id: str) -> None:
        with self._lock:
            if self._job == job_id:
                self._stop.set()  # read by the trainer's should_stop between steps; harmless once it has finished
            else:
                self._cancelled.add(job_id)  # cancel arrived before run started: run stops at once


def _describe(exc: BaseException) -> str:
    """The error a student reads: the exception's own message; a traceback tail only for unexpected ones."""
    message = str(exc) or type(exc).__name__
    name = type(exc).__name__
    if name in ("SpecError", "DatasetUnavailable", "ValueError", "ValidationError"):
        return message if name != "ValueError" else f"{name}: {message}"
    tail = "".join(traceback.format_exception(exc)[-3:]).strip()
    return f"{name}: {message}\n{tail}"[:4000]
