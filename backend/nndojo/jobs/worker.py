"""A training slot: a long-lived Ray actor that runs one job at a time with the trainer and hands its events back.

One actor per slot keeps torch imported and, on a GPU, the CUDA context warm across jobs. The actor is threaded
(max_concurrency > 1): `run` trains in one thread while `cancel` (sets the flag the trainer's should_stop reads) and
`control` (pause, resume, step, lr: a request in the trainer's mailbox, nndojo.train.control) answer from another, so
either lands within one training step.

Events leave the worker as JSON over the event socket (nndojo.jobs.wire); the server stores that text and sends it to
every websocket unchanged.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import secrets
import threading
import time
import traceback
from collections import deque
from pathlib import Path
from typing import Any

from nndojo.jobs.pack_worker import PackRunner
from nndojo.jobs.placement import CostModel, calibrate
from nndojo.jobs.wire import END, MAX_WEIGHTS_BYTES, Sender, encode_frame, event_frame, weights_frames

log = logging.getLogger(__name__)

# Errors whose message is written for the student (what to change); anything else is a bug, shown only by its id.
USER_ERRORS = ("SpecError", "DatasetUnavailable", "ValidationError")


def stamp(event: dict[str, Any], node: str | None = None) -> dict[str, Any]:
    """The event with `t_emit`, the wall clock when it was emitted (delivery latency is measured from it), and on its
    `running` status the Ray node that trains it (`node`: which machine of a cluster)."""
    stamped = {**event, "t_emit": time.time()}
    if node is not None and event.get("type") == "status" and event.get("status") == "running":
        stamped["node"] = node
    return stamped


def _node_id() -> str | None:
    """This process's Ray node, when it runs under Ray (a slot's actor); None for a SlotWorker made directly."""
    import ray

    return ray.get_runtime_context().get_node_id() if ray.is_initialized() else None


def describe_failure(exc: BaseException) -> dict[str, Any]:
    """The outcome of a job that raised: a message fit for a student (no paths, no traceback) and, for unexpected
    errors, an error id with the traceback as `detail`, which the server logs and never shows."""
    name = type(exc).__name__
    if name in USER_ERRORS:
        return {"status": "failed", "error": str(exc) or name}
    error_id = secrets.token_hex(4)
    return {
        "status": "failed",
        "error": f"training stopped on an internal error ({name}); the server's log has the details under error id {error_id}",
        "error_id": error_id,
        "detail": "".join(traceback.format_exception(exc))[-8000:],
    }


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
        self._controls: Any = None  # the running job's nndojo.train.control.Controls
        # cancels that came before their run (bounded: a late one for a finished job stays harmless)
        self._cancelled: deque[str] = deque(maxlen=64)
        self._sender = Sender()
        self._stamp = functools.partial(stamp, node=_node_id())
        self._pack = PackRunner(device, threads, self.datasets_dir, self._sender, self._stamp)  # packed jobs (nndojo.jobs.pack_worker)
        self._costs = self._calibrate()

    def _calibrate(self) -> CostModel | None:
        """This device's cost model (nndojo.jobs.placement), measured before the worker answers `ready`; on a GPU it
        also warms CUDA. None if measuring failed: the slot still trains, and placement compares the other slots."""
        try:
            return calibrate(self.device, self.threads)
        except Exception:
            log.exception("measuring the %s cost model failed", self.device)
            return None

    def ready(self) -> CostModel | None:
        """Answers once the actor has started (torch imported, costs measured), with its device's measured cost model: a
        fresh worker gets no job before."""
        return self._costs

    def _release(self) -> None:
        """Hands the GPU memory torch's allocator cached for the last job back to the device, so that the slots sharing
        a GPU (and the next job's different shapes) are not refused memory this worker no longer uses."""
        import torch

        if self.device == "cuda" and torch.cuda.is_initialized():
            torch.cuda.empty_cache()

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
            # ctx (the bound a value broke: le, gt, ...) lets the page say the message in its language; only its plain
            # values cross to the server (a value_error's ctx holds the exception itself).
            errors = exc.errors(include_url=False)
            for error in errors:
                error["ctx"] = {k: v for k, v in error.get("ctx", {}).items() if isinstance(v, str | int | float | bool)}
            return {"errors": errors}
        try:
            return {"result": race(parsed)}
        except ValueError as exc:
            return {"errors": [{"loc": [], "msg": str(exc), "type": "value_error"}]}

    def run(self, job_id: str, spec_json: str, address: tuple[str, int], token: str, upload: bytes | None = None) -> dict[str, Any]:
        """Trains the job, writing each event to the server's event socket as it is emitted, then an end frame with the
        outcome; returns the outcome too. Never raises: a failure is an outcome.

        upload: the packed uploaded set the spec names (nndojo.datasets.upload), sent with the job rather than read
        from the server's disk, since this worker may run on another node."""
        from nndojo.datasets.upload import unpack
        from nndojo.export.weights import weights_bytes
        from nndojo.spec import JobSpec
        from nndojo.train import train
        from nndojo.train.control import Controls

        address = (address[0], int(address[1]))
        controls = Controls()
        with self._lock:
            self._job, self._stop, self._controls = job_id, threading.Event(), controls
            if job_id in self._cancelled:
                self._stop.set()
                self._cancelled.remove(job_id)
        stop = self._stop

        def emit(event: dict[str, Any]) -> None:
            self._sender.send(address, token, event_frame(job_id, self._stamp(event)))

        def keep(model: Any) -> None:
            """The trained weights go to the server ahead of the final status event (nndojo.jobs.wire)."""
            data = weights_bytes(model)
            if len(data) <= MAX_WEIGHTS_BYTES:
                for frame in weights_frames(job_id, data):
                    self._sender.send(address, token, frame)

        try:
            if stop.is_set():
                outcome: dict[str, Any] = {"status": "cancelled"}
            else:
                spec = JobSpec.model_validate_json(spec_json)
                status = train(
                    spec,
                    emit,
                    stop.is_set,
                    datasets_dir=self.datasets_dir,
                    device=self.device,
                    threads=self.threads,
                    controls=controls,
                    keep=keep,
                    upload=None if upload is None else unpack(upload),
                )
                outcome = {"status": str(status)}
        except BaseException as exc:  # the job fails, the slot lives on for the next one
            outcome = describe_failure(exc)
        with self._lock:
            self._job = self._controls = None
        self._release()
        with contextlib.suppress(OSError):
            self._sender.send(address, token, encode_frame(END, job_id, outcome))
        return outcome

    def run_pack(self, job_id: str, spec_json: str, address: tuple[str, int], token: str, upload: bytes | None = None) -> dict[str, Any]:
        """Trains a pack of jobs of one signature, starting with this one, until all have ended (nndojo.jobs.pack_worker)."""
        try:
            return self._pack.run(job_id, spec_json, address, token, upload)
        finally:
            self._release()

    def join_pack(self, pack: str, job_id: str, spec_json: str, address: tuple[str, int], token: str, upload: bytes | None = None) -> bool:
        """Adds a job to pack `pack` (its first job's id) here, from its next epoch; False when that pack has ended."""
        return self._pack.join(pack, job_id, spec_json, address, token, upload)

    def cancel(self, job_id: str) -> None:
        if self._pack.cancel(job_id):
            return
        with self._lock:
            if self._job == job_id:
                self._stop.set()  # read by the trainer's should_stop between steps; harmless once it has finished
                self._controls.wake()  # a paused trainer waits on its mailbox: it rechecks should_stop now
            else:
                self._cancelled.append(job_id)  # cancel arrived before run started: run stops at once

    def control(self, job_id: str, action: str, value: float | None = None) -> bool:
        """Hands a pause, resume, step or lr request to the job's trainer; False when the job is not training here."""
        if self._pack.control(job_id, action, value):
            return True
        with self._lock:
            if self._job != job_id or self._controls is None:
                return False
            self._controls.request(action, value)
            return True
