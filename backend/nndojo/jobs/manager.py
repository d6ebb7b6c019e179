"""The job service: what the API calls. It ties together the event log (nndojo.jobs.log), the scheduler
(nndojo.jobs.scheduler), the worker event socket (nndojo.jobs.ingest) and the store, and keeps each queued or running
job's record in memory until its final status is stored.

It knows owners only as ids with limits (nndojo.jobs.scheduler.TurnLimits); who may see or touch a job is decided in
the API (nndojo.api.access), never here.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import ray
from sqlalchemy import Engine

from nndojo.config import Settings
from nndojo.jobs import wire
from nndojo.jobs.hub import Hub, Subscription
from nndojo.jobs.ingest import EventSocket
from nndojo.jobs.log import EventLog
from nndojo.jobs.scheduler import ActiveJob, Scheduler, TurnLimits
from nndojo.jobs.slots import SlotPool, start_ray
from nndojo.jobs.store import FINAL_STATUSES, DeleteJob, InsertJob, JobFilter, PutWeights, Store, StoredEvent, UpdateJob, utc_now
from nndojo.jobs.worker import stamp
from nndojo.jobs.writer import BatchWriter
from nndojo.spec import JobSpec, summary
from nndojo.spec.check import ShapeReport

log = logging.getLogger(__name__)


class QuotaFull(Exception):
    """A submission over a limit: `code` names it (max_queue, max_queued_per_student), `limit` is its value."""

    def __init__(self, message: str, code: str, limit: int):
        super().__init__(message)
        self.code = code
        self.limit = limit


class JobNotFound(Exception):
    pass


class JobFinished(Exception):
    """The job already reached a final status; `status` says which."""

    def __init__(self, status: str):
        super().__init__(f"the job is already {status}")
        self.status = status


class JobNotControllable(Exception):
    """A live control the job's state forbids now (not started yet; a step while not paused): a 409 with this text."""


@dataclass(frozen=True)
class Owner:
    """Who submits: a user id, their class, and the limits their turns obey."""

    id: str
    class_id: str | None
    limits: TurnLimits


CANCELLED = {"status": "cancelled"}
PAUSE_STATUS = {"pause": "paused", "resume": "running", "step": "running"}  # a job's status after each control event
MAX_LOG_BREAKS = 3


class JobManager:
    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        names: Callable[[str], str | None] = lambda _id: None,
        labels: Callable[[str], str] = str,
    ):
        self.settings = settings
        self.store = Store(engine)
        self.names = names  # an owner's display name, for job views
        self.labels = labels  # an owner as the log names them: name and class
        self.hub = Hub()
        self.active: dict[str, ActiveJob] = {}
        self._weights: dict[str, bytearray] = {}  # a running job's weights file while its frames arrive
        self.interrupted: list[str] = []
        self._token = secrets.token_hex(16)
        self._numbers = itertools.count()
        self._devices: list[str] | None = None
        self._race_turn = 0
        self._started_ray = False
        self.writer: BatchWriter | None = None
        self.log: EventLog | None = None
        self.events: EventSocket | None = None
        self.pool: SlotPool | None = None
        self.scheduler: Scheduler | None = None

    # --- life cycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        self.interrupted = await asyncio.to_thread(self.store.mark_interrupted)
        if self.interrupted:
            log.warning("marked %d jobs interrupted by the restart", len(self.interrupted))
        self.writer = BatchWriter(self.store)
        self.writer.start()
        self.log = EventLog(self.store, self.writer, self.hub, self._on_log_broken)
        self._started_ray = start_ray(self.settings)
        self.events = EventSocket(self._token, self._on_frame, self.writer.room)
        local = not self.settings.ray_address
        advertise = self.settings.worker_events_host or ("127.0.0.1" if local else ray.util.get_node_ip_address())
        await self.events.start("127.0.0.1" if local else advertise, advertise)
        self.pool = SlotPool(self.settings)
        self.scheduler = Scheduler(self.settings, self.pool, self._run_args, self._on_position, self._finish)
        await self.scheduler.start()

    def _run_args(self) -> tuple[Any, ...]:
        assert self.events is not None
        return (self.events.address, self._token)

    async def stop(self) -> None:
        """Stops supervising the workers, commits what is queued, then stops Ray. Running jobs stay 'running' in the
        database and are marked interrupted at the next start (the same path as a crash)."""
        if self.scheduler is not None:
            await self.scheduler.close()
        if self.events is not None:
            await self.events.close()
        if self.writer is not None:
            await self.writer.close()
        if self.pool is not None:
            self.pool.shutdown()
        if self._started_ray and ray.is_initialized():
            await asyncio.to_thread(ray.shutdown)
        self.store.engine.dispose()

    @property
    def has_gpu(self) -> bool:
        return self.pool is not None and self.pool.has_gpu

    async def devices(self) -> list[str]:
        """available_devices() as a worker sees it (the server itself never imports torch); asked once."""
        if self._devices is None:
            assert self.pool is not None
            found = await asyncio.wait_for(asyncio.wrap_future(self.pool.first().actor.devices.remote().future()), timeout=60)
            gpus = int(ray.cluster_resources().get("GPU", 0))
            extra = [f"cuda:{i}" for i in range(gpus) if f"cuda:{i}" not in found]
            self._devices = [*found, *extra]
        return self._devices

    def placement(self) -> dict[str, Any]:
        """Each slot kind's slots and measured cost model (nndojo.jobs.placement), for /api/health."""
        return {} if self.pool is None else self.pool.placement()

    async def race(self, request: dict[str, Any]) -> dict[str, Any]:
        """Runs on the slots in turn, as a concurrent call beside any training there: it is small and fast."""
        assert self.pool is not None
        self._race_turn = (self._race_turn + 1) % len(self.pool.slots)
        actor = self.pool.slots[self._race_turn].actor
        return await asyncio.wait_for(asyncio.wrap_future(actor.race.remote(request).future()), timeout=120)

    # --- submission ------------------------------------------------------------------------------

    def check_quota(self, owner: Owner | None) -> None:
        assert self.scheduler is not None
        queued = len(self.scheduler.queue)
        if queued >= self.settings.max_queue:
            raise QuotaFull(
                f"{queued} jobs are waiting, the most this server queues (max_queue); try again when some finish",
                "max_queue",
                self.settings.max_queue,
            )
        cap = owner.limits.max_queued if owner is not None else None
        if owner is not None and cap is not None and self.scheduler.queued_of(owner.id) >= cap:
            raise QuotaFull(
                f"you already have {cap} jobs waiting, the most your class allows (max_queued_per_student); "
                "wait for one to start or cancel one",
                "max_queued_per_student",
                cap,
            )

    def submit(self, spec: JobSpec, report: ShapeReport, owner: Owner | None = None, upload: bytes | None = None) -> dict[str, Any]:
        """Queues the job; `upload` is the packed uploaded set its spec names (it travels with the job to a worker)."""
        assert self.writer is not None and self.log is not None and self.scheduler is not None
        self.check_quota(owner)
        job_id = uuid.uuid4().hex
        record: dict[str, Any] = {
            "id": job_id,
            "name": spec.name,
            "status": "queued",
            "spec": spec.model_dump(mode="json"),
            "created_at": utc_now(),
            "started_at": None,
            "finished_at": None,
            "device": None,
            "n_params": report.n_params,
            "epoch": None,
            "final": None,
            "error": None,
            "error_code": None,
            "owner_id": owner.id if owner else None,
            "class_id": owner.class_id if owner else None,
            "shared": False,
        }
        job = ActiveJob(
            job_id,
            next(self._numbers),
            spec,
            spec.model_dump_json(),
            record,
            owner.id if owner else None,
            owner.limits if owner else TurnLimits(),
            upload,
            report.memory_mb,
        )
        self.active[job_id] = job
        self.log.open(job_id)
        self.writer.put(InsertJob(dict(record)))
        self._lifecycle(job, "submitted", f"{spec.name!r} {report.n_params} parameters")
        self.scheduler.add(job)
        if job.position is None or job.position == 0:  # started at once: its line had no one in it
            self._append_status(job, {"type": "status", "status": "queued", "position": 0})
        return self.job_view(job)

    def _on_position(self, job: ActiveJob, place: int) -> None:
        self._append_status(job, {"type": "status", "status": "queued", "position": place})

    # --- events from workers ---------------------------------------------------------------------

    def _on_frame(self, frame: wire.Frame) -> None:
        job = self.active.get(frame.job_id)
        if job is None or job.slot is None or job.end is None or job.end.done():
            return  # deleted, or a straggler of a job already ended
        if frame.kind == wire.END:
            job.end.set_result(frame.meta)
        elif frame.kind == wire.EVENT and not job.final_sent:
            self._on_worker_event(job, frame.meta, frame.payload)
        elif frame.kind == wire.WEIGHTS and not job.final_sent:
            self._on_weights(job, frame.meta, frame.payload)

    def _on_weights(self, job: ActiveJob, meta: dict[str, Any], chunk: bytes) -> None:
        """Joins the weights frames (in order: one connection) into the file; the whole file is queued for storing
        ahead of the final event that follows it. A frame out of place or over the bound drops the file."""
        assert self.writer is not None
        total, offset = meta.get("total"), meta.get("offset")
        if offset == 0:
            self._weights[job.id] = bytearray()
        parts = self._weights.get(job.id)
        if parts is None or not isinstance(total, int) or not 0 < total <= wire.MAX_WEIGHTS_BYTES or offset != len(parts) or offset + len(chunk) > total:
            log.warning("job %s: dropped its weights (frame at %s of %s bytes out of place or over the bound)", job.id, offset, total)
            self._weights.pop(job.id, None)
            return
        parts += chunk
        if len(parts) == total:
            del self._weights[job.id]
            self.writer.put(PutWeights(job.id, bytes(parts)))

    def _on_worker_event(self, job: ActiveJob, meta: dict[str, Any], payload: bytes) -> None:
        assert self.log is not None
        changes: dict[str, Any] = {}
        kind, status = meta.get("type"), meta.get("status")
        if kind == "status" and status == "running":
            job.started = True
            job.position = None
            changes = {"status": "running", "started_at": utc_now(), "device": meta.get("device"), "n_params": meta.get("n_params")}
            self._lifecycle(job, "started", f"on {meta.get('device')}")
        elif kind == "status" and status in FINAL_STATUSES:
            if job.stop is not None and status == "cancelled":
                return  # the server stopped it: _finish writes the server's reason instead of the trainer's "cancelled"
            job.final_sent, job.final_status = True, status
            changes = {"status": status, "finished_at": utc_now(), "error": meta.get("error")}
        elif kind == "epoch":
            changes = {"epoch": meta.get("epoch"), "final": {"train": meta.get("train"), "test": meta.get("test")}}
        elif kind == "control" and meta.get("action") in PAUSE_STATUS:
            changes = {"status": PAUSE_STATUS[meta["action"]]}
        changes = {key: value for key, value in changes.items() if value is not None or key == "final"}
        metrics = wire.to_json(meta["metrics"]) if "metrics" in meta else None
        if job.final_sent:
            self._record(job, changes, visible=False)
            self.log.append(job.id, payload, final=True, metrics=metrics, on_stored=self._stored_final(job, changes))
        else:
            self._record(job, changes)
            self.log.append(job.id, payload, metrics=metrics)
        if kind == "control":
            self._on_control(job, str(meta.get("action")))

    def _on_control(self, job: ActiveJob, action: str) -> None:
        """The trainer acted on a control: the scheduler's paused-time limit follows, and whoever asked is told."""
        assert self.scheduler is not None
        job.controls_seen[action] += 1
        self.scheduler.on_control(job, action)
        self._poke(job)

    @staticmethod
    def _poke(job: ActiveJob) -> None:
        job.control_seen.set()
        job.control_seen = asyncio.Event()

    def _record(self, job: ActiveJob, changes: dict[str, Any], *, visible: bool = True) -> None:
        """Stores the changes; shows them in the job's record now, or (visible=False) once its final event is stored."""
        if changes:
            assert self.writer is not None
            if visible:
                job.record.update(changes)
            self.writer.put(UpdateJob(job.id, changes))

    def _append_status(self, job: ActiveJob, event: dict[str, Any], on_stored: Callable[[], None] | None = None) -> None:
        assert self.log is not None
        self.log.append(job.id, wire.to_json(stamp(event)), final=event.get("status") in FINAL_STATUSES, on_stored=on_stored)

    # --- ending ----------------------------------------------------------------------------------

    def _finish(self, job: ActiveJob, outcome: dict[str, Any]) -> None:
        """The final status: the trainer's own if it sent one, else the outcome's (the server's stop reason, a
        failure, or cancelled while queued). The job leaves memory once its final event is stored."""
        job.position = None
        if job.final_sent:  # the trainer's own final status (the record shows it only once its event is stored)
            self._lifecycle(job, str(job.final_status or job.record["status"]), "")
            return
        status = outcome.get("status") if outcome.get("status") in FINAL_STATUSES else "failed"
        event: dict[str, Any] = {"type": "status", "status": status}
        changes: dict[str, Any] = {"status": status, "finished_at": utc_now()}
        error = outcome.get("error") or (f"the trainer ended with status {outcome.get('status')!r}" if status == "failed" else None)
        if error:  # a failure's cause, or why the server cancelled it (max_paused_s)
            event["error"] = changes["error"] = error
            if outcome.get("error_code"):
                event["error_code"] = changes["error_code"] = outcome["error_code"]
            if outcome.get("detail"):
                log.error("job %s failed, error id %s:\n%s", job.id, outcome.get("error_id"), outcome["detail"])
        job.final_sent = True
        self._record(job, changes, visible=False)
        self._append_status(job, event, on_stored=self._stored_final(job, changes))
        self._lifecycle(job, status, str(event.get("error", "")))

    def _stored_final(self, job: ActiveJob, changes: dict[str, Any] | None = None) -> Callable[[], None]:
        """Once the final event is stored: the job shows its final status (so a reader who sees it finds the final
        event in the log too) and leaves memory."""

        def done() -> None:
            assert self.log is not None
            job.record.update(changes or {})
            self.active.pop(job.id, None)
            self._weights.pop(job.id, None)
            self.log.forget(job.id)
            job.finished.set()
            self._poke(job)

        return done

    def _on_log_broken(self, job_id: str) -> None:
        """An event of the job could not be stored: the job is stopped and fails, its final event taking the broken
        seq. If storing keeps failing, its followers are closed and the job leaves memory; the next start marks it
        interrupted."""
        job = self.active.get(job_id)
        if job is None:
            return
        assert self.scheduler is not None and self.log is not None
        job.breaks += 1
        if job.breaks > MAX_LOG_BREAKS:
            log.error("job %s: its events cannot be stored; its followers are closed", job.id)
            self.log.give_up(job.id)
            self._stored_final(job)()
            return
        failure = {"status": "failed", "error": "the server could not store this job's events, so it was stopped", "error_code": "storage"}
        if job.final_sent:  # the final event itself was lost: say it again, as this failure
            changes = {"status": "failed", "error": failure["error"], "error_code": "storage"}
            self._record(job, changes, visible=False)
            self._append_status(job, {"type": "status", **failure}, on_stored=self._stored_final(job, changes))
        else:
            asyncio.get_running_loop().create_task(self.scheduler.stop(job, failure)).add_done_callback(lambda _: None)

    def _lifecycle(self, job: ActiveJob, step: str, detail: str) -> None:
        """One log line per step of a job's life, for `docker compose logs`: who (and their class), how long."""
        took = ""
        if step in FINAL_STATUSES:
            took = f" after {time.time() - _epoch_seconds(job.record['created_at']):.1f} s"
            if job.record.get("started_at"):
                took += f" (trained {time.time() - _epoch_seconds(job.record['started_at']):.1f} s)"
        owner = self.labels(job.owner) if job.owner else "-"
        log.info("job %s %s%s: %s%s", job.id, step, took, owner, f"; {detail}" if detail else "")

    # --- actions ---------------------------------------------------------------------------------

    async def _live(self, job_id: str) -> ActiveJob:
        """The job if it can still be acted on; else JobNotFound, or JobFinished with its final status."""
        job = self.active.get(job_id)
        if job is None or job.final_sent:
            stored = await self.get(job_id)
            if stored is None:
                raise JobNotFound(job_id)
            raise JobFinished(stored["status"])
        return job

    async def cancel(self, job_id: str) -> dict[str, Any]:
        assert self.scheduler is not None
        job = await self._live(job_id)
        await self.scheduler.stop(job, CANCELLED)
        return self.job_view(job)

    async def control(self, job_id: str, action: str, value: float | None = None) -> dict[str, Any]:
        """Pause, resume, step or a new lr (nndojo.train.control); replies once the trainer has acted on it (or after
        cancel_grace_s, with the job as it is then). A pause of a paused job and a resume of a running one change
        nothing. Raises JobNotFound, JobFinished, or JobNotControllable (queued; a step while not paused)."""
        assert self.scheduler is not None
        job = await self._live(job_id)
        if not job.started or job.slot is None:
            raise JobNotControllable("the job has not started training yet: pause, step and lr work once it is running")
        if action == "step" and not job.want_paused:
            raise JobNotControllable("only a paused job can step one epoch: pause it first")
        if action in ("pause", "resume"):
            if job.want_paused == (action == "pause"):
                return self.job_view(job)
            job.want_paused = action == "pause"
        seen = job.controls_seen[action]
        if not await self.scheduler.control(job, action, value):  # its worker has no such run: the job is ending
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(job.finished.wait(), timeout=self.settings.cancel_grace_s)
            if job.finished.is_set():
                raise JobFinished(str(job.record["status"]))
            return self.job_view(job)
        await self._acted(job, action, seen)
        return self.job_view(job)

    async def _acted(self, job: ActiveJob, action: str, seen: int) -> None:
        """Waits until the trainer's control event for `action` arrives (or the job ends), at most cancel_grace_s."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.cancel_grace_s
        while job.controls_seen[action] <= seen and not job.finished.is_set():
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(job.control_seen.wait(), remaining)

    async def delete(self, job_id: str) -> None:
        job = self.active.get(job_id)
        if job is not None:
            if not job.final_sent:
                with contextlib.suppress(JobFinished):
                    await self.cancel(job_id)
            await job.finished.wait()
        elif await self.get(job_id) is None:
            raise JobNotFound(job_id)
        assert self.writer is not None
        self.writer.put(DeleteJob(job_id))
        await self.writer.flush()

    async def delete_class_jobs(self, class_id: str) -> None:
        """Stops every active job of a class, then removes all of its jobs with their events."""
        for job in [job for job in self.active.values() if job.record.get("class_id") == class_id]:
            with contextlib.suppress(JobFinished, JobNotFound):
                await self.cancel(job.id)
            await job.finished.wait()
        assert self.writer is not None
        await self.writer.flush()
        await asyncio.to_thread(self.store.delete_jobs_of, class_id)

    async def set_shared(self, job_id: str, shared: bool) -> dict[str, Any]:
        job = self.active.get(job_id)
        if job is not None:
            self._record(job, {"shared": shared})
            return self.job_view(job)
        assert self.writer is not None
        self.writer.put(UpdateJob(job_id, {"shared": shared}))
        await self.writer.flush()
        stored = await self.get(job_id)
        if stored is None:
            raise JobNotFound(job_id)
        return stored

    # --- reads -----------------------------------------------------------------------------------

    def view(self, record: dict[str, Any], position: int | None) -> dict[str, Any]:
        """A job as the API shows it: the record, its owner by name, its place in line."""
        owner_id = record.get("owner_id")
        return {
            **record,
            "owner": None if owner_id is None else {"id": owner_id, "name": self.names(owner_id) or ""},
            "position": position if record["status"] == "queued" else None,
        }

    def job_view(self, job: ActiveJob) -> dict[str, Any]:
        return self.view(job.record, job.position)

    async def get(self, job_id: str) -> dict[str, Any] | None:
        job = self.active.get(job_id)
        if job is not None:
            return self.job_view(job)
        stored = await asyncio.to_thread(self.store.get_job, job_id)
        return None if stored is None else self.view(stored, None)

    async def list(self, status: str | None, limit: int, where: JobFilter | None = None) -> list[dict[str, Any]]:
        assert self.writer is not None
        await self.writer.flush()  # a job submitted a moment ago is listed
        jobs = await asyncio.to_thread(self.store.list_jobs, status, limit, where)
        out = []
        for stored in jobs:
            job = self.active.get(stored["id"])
            view = self.job_view(job) if job is not None else self.view(stored, None)
            if status is not None and view["status"] != status:
                continue
            view["settings"] = summary(view["spec"])
            out.append(view)
        return out

    def is_active(self, job_id: str) -> bool:
        return job_id in self.active

    def subscribe(self, job_id: str) -> Subscription:
        return self.hub.subscribe(job_id, self.settings.ws_queue_size)

    def unsubscribe(self, sub: Subscription) -> None:
        self.hub.unsubscribe(sub)

    async def events_page(self, job_id: str, after: int, limit: int) -> list[StoredEvent]:
        assert self.log is not None
        return await self.log.page(job_id, after, limit)

    async def metrics(self, job_id: str, after: int) -> dict[str, Any]:
        assert self.log is not None
        return await self.log.metrics(job_id, after)

    async def weights(self, job_id: str) -> bytes | None:
        """The run's trained weights (safetensors bytes), or None when it kept none."""
        return await asyncio.to_thread(self.store.weights, job_id)

    async def lr_changes(self, job_id: str) -> list[tuple[int, float]]:
        """The run's live learning-rate changes: (steps taken before it, new rate), in order."""
        return await asyncio.to_thread(self.store.lr_changes, job_id)


def _epoch_seconds(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
