"""A training slot: a long-lived Ray actor that runs one job at a time with the trainer and hands its events back.

One actor per slot keeps torch imported and, on a GPU, the CUDA context warm across jobs. The actor is threaded
(max_concurrency > 1): `run` trains in one thread while `poll` (the server's long-poll for new events) and `cancel`
(sets the flag the trainer's should_stop reads) answer from others, so a cancel lands within one training step.

Events leave the worker as compact JSON text, encoded here rather than on the server: the server only prefixes the
seq, stores the text and fans it out, so 100 websockets cost it no encoding work.
"""

from __future__ import annotations

import json
import math
import threading
import time
import traceback
from pathlib import Path
from typing import Any

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
    try:
        return json.dumps(value, separators=(",", ":"), allow_nan=False)
    except ValueError:
        return json.dumps(_finite(value), separators=(",", ":"), allow_nan=False)


def encode_event(event: dict[str, Any]) -> dict[str, Any]:
    """The event as JSON text, plus the few fields the server tracks the job by."""
    event = {**event, "t_emit": time.time()}  # wall clock at emit: the benchmark measures delivery latency from it
    meta = _finite({key: event[key] for key in META_FIELDS if key in event})
    return {"text": _dumps(event), "meta": meta}


class SlotWorker:
    """Wrapped by ray.remote in nndojo.jobs.slots; plain Python here so that it can be tested without Ray."""

    def __init__(self, device: str, threads: int, datasets_dir: str):
        import nndojo.train  # noqa: F401  (torch and the trainer load once, when the slot starts, not per job)

        self.device = device
        self.threads = threads
        self.datasets_dir = Path(datasets_dir)
        self._cond = threading.Condition()
        self._job: str | None = None
        self._events: list[dict[str, Any]] = []
        self._outcome: dict[str, Any] | None = None
        self._stop = threading.Event()
        self._cancelled: set[str] = set()

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

    def run(self, job_id: str, spec_json: str) -> dict[str, Any]:
        """Trains the job; its events and outcome are collected by `poll`. Never raises: a failure is an outcome."""
        from nndojo.spec import JobSpec
        from nndojo.train import train

        with self._cond:
            self._job, self._events, self._outcome = job_id, [], None
            self._stop = threading.Event()
            if job_id in self._cancelled:
                self._stop.set()
        stop = self._stop

        def emit(event: dict[str, Any]) -> None:
            encoded = encode_event(event)
            with self._cond:
                self._events.append(encoded)
                self._cond.notify_all()

        try:
            spec = JobSpec.model_validate_json(spec_json)
            status = train(spec, emit, stop.is_set, datasets_dir=self.datasets_dir, device=self.device, threads=self.threads)
            outcome: dict[str, Any] = {"status": str(status)}
        except BaseException as exc:  # the job fails, the slot lives on for the next one
            outcome = {"status": "failed", "error": _describe(exc)}
        with self._cond:
            self._outcome = outcome
            self._cancelled.discard(job_id)
            self._cond.notify_all()
        return outcome

    def poll(self, job_id: str, timeout: float) -> dict[str, Any]:
        """New events of the job (waits up to `timeout` for one), and its outcome once all its events are taken."""
        with self._cond:
            self._cond.wait_for(lambda: self._job == job_id and (self._events or self._outcome is not None), timeout)
            if self._job != job_id:
                return {"events": [], "outcome": None}
            events, self._events = self._events, []
            return {"events": events, "outcome": self._outcome}

    def cancel(self, job_id: str) -> None:
        with self._cond:
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
