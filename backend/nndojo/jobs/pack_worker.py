"""A slot's pack (nndojo.train.pack) on the worker side: the scheduler starts it with one job (`run`, the long call) and
adds jobs of the same signature while it trains (`join`); each joins at the pack's next epoch boundary.

Each job keeps what a solo run has: its own stop flag and control mailbox, its own events and weights frames tagged with
its id, and its own end frame, sent right after its final status event. The pack's call returns when its last member has
ended and nobody is waiting to join; a join that comes after that is refused (False) and the scheduler queues the job
again.

A pack is named by its first job's id, and a join names its pack. Ray runs an actor's calls on a thread pool, so a join
may reach the worker before the call that starts its pack: it waits in line for that pack. Only a join for a pack that
has ended is refused.
"""

from __future__ import annotations

import contextlib
import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nndojo.jobs.wire import END, MAX_WEIGHTS_BYTES, Sender, encode_frame, event_frame, weights_frames

FINAL = ("completed", "diverged", "cancelled")


class PackRunner:
    """The pack of one slot worker, its members' stop flags and mailboxes, and the jobs waiting to join."""

    def __init__(self, device: str, threads: int, datasets_dir: Path, sender: Sender, stamp: Callable[[dict[str, Any]], dict[str, Any]]):
        self.device, self.threads, self.datasets_dir = device, threads, datasets_dir
        self.sender, self.stamp = sender, stamp
        self._lock = threading.Lock()
        self._open = False
        self._ended: deque[str] = deque(maxlen=64)  # recent packs (first job ids) whose call returned: their joins are refused
        self._incoming: list[tuple[str, str, tuple[str, int], str, bytes | None]] = []
        self._stops: dict[str, threading.Event] = {}
        self._controls: dict[str, Any] = {}
        self._addresses: dict[str, tuple[tuple[str, int], str]] = {}  # where each member's frames go

    def run(self, job_id: str, spec_json: str, address: tuple[str, int], token: str, upload: bytes | None = None) -> dict[str, Any]:
        """Trains a pack that starts with this job until every member has ended; returns each job's outcome."""
        from nndojo.train.pack import Pack

        with self._lock:
            if self._open:
                raise RuntimeError("this worker already trains a pack")
            self._open = True
            self._incoming.insert(0, (job_id, spec_json, (address[0], int(address[1])), token, upload))
        pack = Pack(self.device, self.threads, self.datasets_dir)
        outcomes: dict[str, Any] = {}

        def boundary(p: Pack) -> None:
            self._take_incoming(p, outcomes)

        try:
            while True:
                boundary(pack)  # the first job, or those that came as the last member ended
                outcomes.update((job, {"status": status}) for job, status in pack.run(boundary).items())
                with self._lock:
                    if not self._incoming:
                        self._open = False
                        self._ended.append(job_id)
                        break
        except BaseException as exc:  # the pack fails: every member still in it ends failed, the slot lives on
            from nndojo.jobs.worker import describe_failure

            with self._lock:
                self._open = False
                self._ended.append(job_id)
                left = self._incoming
                self._incoming = []
            failure = describe_failure(exc)
            for job_id_left in [m.job_id for m in pack.members + pack.joining + pack.parked if m.outcome is None]:
                outcomes[job_id_left] = failure
                self._end(job_id_left, failure)
            for job_id_left, _, address_left, token_left, _ in left:
                outcomes[job_id_left] = failure
                self._end(job_id_left, failure, address_left, token_left)
        return outcomes

    def join(self, pack: str, job_id: str, spec_json: str, address: tuple[str, int], token: str, upload: bytes | None = None) -> bool:
        """Queues a job to join pack `pack` (its first job's id) at its next epoch boundary, or as the pack starts when
        its call has not begun yet; False when that pack has ended."""
        with self._lock:
            if pack in self._ended:
                return False
            self._incoming.append((job_id, spec_json, (address[0], int(address[1])), token, upload))
            return True

    def cancel(self, job_id: str) -> bool:
        with self._lock:
            stop = self._stops.get(job_id)
            if stop is None:
                if any(job == job_id for job, *_ in self._incoming):
                    self._stops[job_id] = stop = threading.Event()
                else:
                    return False
        stop.set()  # read at the member's next epoch boundary
        return True

    def control(self, job_id: str, action: str, value: float | None) -> bool:
        with self._lock:
            controls = self._controls.get(job_id)
        if controls is None:
            return False
        controls.request(action, value)
        return True

    def _take_incoming(self, pack: Any, outcomes: dict[str, Any]) -> None:
        """Adds the waiting jobs to the pack (they train from its next epoch); one that cannot start ends failed."""
        from nndojo.datasets.upload import unpack
        from nndojo.spec import JobSpec
        from nndojo.train.control import Controls

        with self._lock:
            incoming, self._incoming = self._incoming, []
        for job_id, spec_json, address, token, upload in incoming:
            controls = Controls()
            with self._lock:
                stop = self._stops.setdefault(job_id, threading.Event())
                self._controls[job_id] = controls
            emit, keep = self._channels(job_id, address, token)
            try:
                spec = JobSpec.model_validate_json(spec_json)
                if stop.is_set():
                    raise _Cancelled
                pack.add(job_id, spec, emit, stop.is_set, keep=keep, controls=controls, upload=None if upload is None else unpack(upload))
            except _Cancelled:
                outcomes[job_id] = {"status": "cancelled"}
                self._end(job_id, outcomes[job_id], address, token)
            except BaseException as exc:
                from nndojo.jobs.worker import describe_failure

                outcomes[job_id] = describe_failure(exc)
                self._end(job_id, outcomes[job_id], address, token)

    def _channels(
        self, job_id: str, address: tuple[str, int], token: str
    ) -> tuple[Callable[[dict[str, Any]], None], Callable[[Any], None]]:
        self._addresses[job_id] = (address, token)

        def emit(event: dict[str, Any]) -> None:
            self.sender.send(address, token, event_frame(job_id, self.stamp(event)))
            if event.get("type") == "status" and event.get("status") in FINAL:
                self._end(job_id, {"status": event["status"]})

        def keep(model: Any) -> None:
            from nndojo.export.weights import weights_bytes

            data = weights_bytes(model)
            if len(data) <= MAX_WEIGHTS_BYTES:
                for frame in weights_frames(job_id, data):
                    self.sender.send(address, token, frame)

        return emit, keep

    def _end(self, job_id: str, outcome: dict[str, Any], address: tuple[str, int] | None = None, token: str | None = None) -> None:
        """The job's end frame, after all its events; it leaves this worker's tables."""
        with self._lock:
            address, token = (address, token) if address is not None and token is not None else self._addresses[job_id]
            self._stops.pop(job_id, None)
            self._controls.pop(job_id, None)
            self._addresses.pop(job_id, None)
        with contextlib.suppress(OSError):
            self.sender.send(address, token, encode_frame(END, job_id, outcome))


class _Cancelled(Exception):
    """A job cancelled before it joined."""
