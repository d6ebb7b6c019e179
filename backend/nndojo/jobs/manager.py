"""The job service: queue, slots, the per-job event log and its fan-out.

Decisions, in one place:
- Transport: each slot's worker writes its job's events, as they are emitted, to the server's event socket (one TCP
  connection per slot, token-checked; nndojo.jobs.wire), so an epoch's event reaches the websockets a few ms after it
  is emitted and the training thread loses no time to Ray calls. Ray starts the job (`run`), cancels it and tells the
  server when a worker dies.
- Numbering: the server gives each event its seq (0, 1, 2, … per job) when it arrives, then keeps it in memory until
  the batch writer has committed it. A replay reads that in-memory tail and then the database, after subscribing, so a
  reconnecting client misses nothing and (by skipping seq ≤ the last it got) sees nothing twice.
- Positions: a queued job's `position` is its place in line, 1 = next to start (0 once handed to a slot but not yet
  running). The first event of a job is a `queued` status with its position, and a new `queued` event follows each time
  the line moves it up, so a page following the job sees it advance; GET /api/jobs/{id} shows the live value.
- Cancel: a queued job is cancelled at once; a running one through its slot's cancel flag, which the trainer's
  should_stop reads between steps. If it has not stopped after settings.cancel_grace_s, its worker is killed and replaced.
- Storage: events are stored exactly as sent, so a replay equals the live stream. The trainer already bounds the
  boundary grids (epochs 0-10, then about 50 evenly spaced, and the last), so a 100-epoch 2-8-8-1 job stores about
  0.9 MB; no thinning is needed here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import socket
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import ray
from ray.exceptions import RayError

from nndojo.config import Settings
from nndojo.jobs import wire
from nndojo.jobs.hub import Hub, Subscription
from nndojo.jobs.slots import Slot, SlotPool, start_ray
from nndojo.jobs.store import (
    FINAL_STATUSES,
    DeleteJob,
    InsertEvent,
    InsertJob,
    Store,
    StoredEvent,
    UpdateJob,
    utc_now,
)
from nndojo.jobs.worker import encode_event, stamp
from nndojo.jobs.writer import BatchWriter
from nndojo.spec import JobSpec
from nndojo.spec.check import ShapeReport

log = logging.getLogger(__name__)

END_FRAME_WAIT_S = 5.0  # a worker's run returned: its end frame, written just before, is this close behind


class QueueFull(Exception):
    """More jobs are waiting than settings.max_queue allows."""


class JobNotFound(Exception):
    pass


class JobFinished(Exception):
    """The job already reached a final status; `status` says which."""

    def __init__(self, status: str):
        super().__init__(f"the job is already {status}")
        self.status = status


@dataclass(eq=False)
class ActiveJob:
    """A queued or running job, held in memory until its final status is committed."""

    id: str
    spec: JobSpec
    spec_json: str
    record: dict[str, Any]
    next_seq: int = 0
    position: int | None = None
    slot: Slot | None = None
    cancel_requested: bool = False
    final_sent: bool = False
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    end: asyncio.Future[dict[str, Any]] | None = None  # the worker's end frame: the outcome, after all its events


def with_seq(seq: int, text: str) -> str:
    """Puts the server's seq first into the worker's JSON object text, without parsing it."""
    return f'{{"seq":{seq}}}' if text == "{}" else f'{{"seq":{seq},{text[1:]}'


def summary_settings(spec: dict[str, Any]) -> dict[str, Any]:
    """The settings a job list shows: enough to tell a class's twenty runs apart."""
    layers = []
    for layer in spec["model"]["layers"]:
        kind = layer["type"]
        if kind == "dense":
            layers.append(f"dense {layer['units']} {layer['activation']}")
        elif kind == "conv2d":
            layers.append(f"conv2d {layer['filters']}x{layer['kernel_size']} {layer['activation']}")
        elif kind == "dropout":
            layers.append(f"dropout {layer['p']}")
        else:
            layers.append(kind)
    training = spec["training"]
    return {
        "dataset": spec["dataset"]["name"],
        "layers": layers,
        "output": spec["model"]["output"]["activation"],
        "loss": training["loss"],
        "optimizer": training["optimizer"]["name"],
        "lr": training["optimizer"]["lr"],
        "batch_size": training["batch_size"],
        "epochs": training["epochs"],
        "device": spec["device"],
    }


class JobManager:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.store = Store(settings.resolved_database_url)
        self.hub = Hub()
        self.writer: BatchWriter | None = None
        self.pool: SlotPool | None = None
        self.active: dict[str, ActiveJob] = {}
        self.queue: deque[ActiveJob] = deque()
        self.pending: dict[str, dict[int, StoredEvent]] = {}
        self._devices: list[str] | None = None
        self._race_turn = 0
        self._started_ray = False
        self.interrupted: list[str] = []
        self._token = secrets.token_hex(16)
        self._event_server: asyncio.Server | None = None
        self.event_address: tuple[str, int] = ("127.0.0.1", 0)

    # --- life cycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        self.interrupted = await asyncio.to_thread(self.store.mark_interrupted)
        if self.interrupted:
            log.warning("marked %d jobs interrupted by the restart", len(self.interrupted))
        self.writer = BatchWriter(self.store)
        self.writer.start()
        self._started_ray = start_ray(self.settings)
        await self._serve_events()
        self.pool = SlotPool(self.settings)

    async def _serve_events(self) -> None:
        """The event socket: loopback with the embedded Ray; all interfaces in a cluster, advertised by this node's IP."""
        local = not self.settings.ray_address
        bind = "127.0.0.1" if local else "0.0.0.0"
        self._event_server = await asyncio.start_server(self._on_worker_connection, bind, 0)
        port = self._event_server.sockets[0].getsockname()[1]
        host = self.settings.worker_events_host or ("127.0.0.1" if local else ray.util.get_node_ip_address())
        self.event_address = (host, port)

    async def _on_worker_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One slot's stream of frames: events go into their job's log, an end frame completes the job's `end`."""
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            hello = await wire.read_frame(reader)
            if hello.kind != wire.HELLO or not secrets.compare_digest(str(hello.meta.get("token", "")), self._token):
                log.warning("refused an event connection without this server's token")
                return
            while True:
                frame = await wire.read_frame(reader)
                job = self.active.get(frame.job_id)
                if job is None or job.slot is None or job.end is None or job.end.done():
                    continue  # deleted, or a straggler of a job already finished
                if frame.kind == wire.EVENT:
                    self._on_worker_event(job, encode_event(wire.load_event(frame)))
                elif frame.kind == wire.END:
                    job.end.set_result(frame.meta)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the worker went away; its job's supervisor (_run) sees that through Ray
        except Exception:
            log.exception("bad frame on an event connection")
        finally:
            writer.close()

    async def stop(self) -> None:
        """Stops polling the workers, commits what is queued, then stops Ray. Running jobs stay 'running' in the
        database and are marked interrupted at the next start (the same path as a crash)."""
        tasks = [job.task for job in self.active.values() if job.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._event_server is not None:
            self._event_server.close()
        if self.writer is not None:
            await self.writer.close()
        if self.pool is not None:
            self.pool.shutdown()
        if self._started_ray and ray.is_initialized():
            await asyncio.to_thread(ray.shutdown)
        self.store.close()

    @property
    def has_gpu(self) -> bool:
        return self.pool is not None and self.pool.has_gpu

    async def devices(self) -> list[str]:
        """available_devices() as a worker sees it (the server itself never imports torch); asked once."""
        if self._devices is None:
            assert self.pool is not None
            found = await asyncio.wait_for(self.pool.first().actor.devices.remote(), timeout=60)
            gpus = int(ray.cluster_resources().get("GPU", 0))
            extra = [f"cuda:{i}" for i in range(gpus) if f"cuda:{i}" not in found]
            self._devices = [*found, *extra]
        return self._devices

    async def race(self, request: dict[str, Any]) -> dict[str, Any]:
        """Runs on the slots in turn, as a concurrent call beside any training there: it is small and fast."""
        assert self.pool is not None
        self._race_turn = (self._race_turn + 1) % len(self.pool.slots)
        actor = self.pool.slots[self._race_turn].actor
        return await asyncio.wait_for(actor.race.remote(request), timeout=120)

    # --- submission ------------------------------------------------------------------------------

    def submit(self, spec: JobSpec, report: ShapeReport) -> dict[str, Any]:
        assert self.writer is not None
        if len(self.queue) >= self.settings.max_queue:
            raise QueueFull(f"{len(self.queue)} jobs are waiting, the most this server queues (max_queue); try again when some finish")
        job_id = uuid.uuid4().hex
        spec_dict = spec.model_dump(mode="json")
        record: dict[str, Any] = {
            "id": job_id,
            "name": spec.name,
            "status": "queued",
            "spec": spec_dict,
            "created_at": utc_now(),
            "started_at": None,
            "finished_at": None,
            "device": None,
            "n_params": report.n_params,
            "epoch": None,
            "final": None,
            "error": None,
        }
        job = ActiveJob(job_id, spec, spec.model_dump_json(), record)
        self.active[job_id] = job
        self.writer.put(InsertJob(dict(record)))
        self.queue.append(job)
        self._dispatch()
        if job.next_seq == 0:  # started at once: its line had no one in it
            self._append_status(job, {"type": "status", "status": "queued", "position": job.position or 0})
        return self.job_view(job)

    def _dispatch(self) -> None:
        """Hands queued jobs to free slots in order, then tells the ones still waiting where they stand."""
        assert self.pool is not None
        for job in list(self.queue):
            slot = self.pool.free(job.spec.device)
            if slot is None:
                continue
            self.queue.remove(job)
            slot.job, job.slot, job.position = job, slot, 0
            job.task = asyncio.create_task(self._run(job, slot), name=f"job-{job.id}")
        for place, job in enumerate(self.queue, start=1):
            if job.position != place:
                job.position = place
                self._append_status(job, {"type": "status", "status": "queued", "position": place})

    # --- running ---------------------------------------------------------------------------------

    async def _run(self, job: ActiveJob, slot: Slot) -> None:
        """Starts the job on its slot and waits for its end frame, or for Ray to say the worker died."""
        assert self.pool is not None
        loop = asyncio.get_running_loop()
        job.end = end = loop.create_future()
        outcome: dict[str, Any]
        returned: asyncio.Future[Any] | None = None
        try:
            ref = slot.actor.run.remote(job.id, job.spec_json, self.event_address, self._token)
            returned = asyncio.wrap_future(ref.future())
            await asyncio.wait({end, returned}, return_when=asyncio.FIRST_COMPLETED)
            if not end.done():
                result = returned.result()  # raises if the worker died
                try:  # the end frame left the worker before run returned
                    outcome = await asyncio.wait_for(asyncio.shield(end), END_FRAME_WAIT_S)
                except TimeoutError:
                    log.warning("job %s: no end frame from its worker; its last events may be missing", job.id)
                    outcome = result
            else:
                outcome = end.result()
        except asyncio.CancelledError:
            raise
        except RayError as exc:
            if job.cancel_requested:
                outcome = {"status": "cancelled"}
            else:
                log.warning("worker of slot %d died running %s: %s", slot.index, job.id, exc)
                outcome = {
                    "status": "failed",
                    "error": f"the training worker stopped unexpectedly ({type(exc).__name__}); the job was not finished",
                }
            self.pool.replace(slot)
        except Exception as exc:  # never let one job's trouble reach the others
            log.exception("job %s", job.id)
            outcome = {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}
        finally:
            slot.job = None
            if not end.done():
                end.cancel()
            if returned is not None and not returned.done():
                returned.add_done_callback(lambda future: future.exception() if not future.cancelled() else None)
        self._finish(job, outcome)
        self._dispatch()

    def _on_worker_event(self, job: ActiveJob, encoded: dict[str, Any]) -> None:
        meta: dict[str, Any] = encoded["meta"]
        record, changes = job.record, {}
        if meta.get("type") == "status":
            status = meta.get("status")
            if status == "running":
                changes = {"status": "running", "started_at": utc_now(), "device": meta.get("device"), "n_params": meta.get("n_params")}
                job.position = None
            elif status in FINAL_STATUSES:
                job.final_sent = True
                changes = {"status": status, "finished_at": utc_now()}
                if meta.get("error"):
                    changes["error"] = meta["error"]
        elif meta.get("type") == "epoch":
            changes = {"epoch": meta.get("epoch"), "final": {"train": meta.get("train"), "test": meta.get("test")}}
        changes = {key: value for key, value in changes.items() if value is not None or key == "final"}
        if changes:
            record.update(changes)
            assert self.writer is not None
            self.writer.put(UpdateJob(job.id, changes))
        self._append(job, encoded["text"], final=job.final_sent)

    def _append_status(self, job: ActiveJob, event: dict[str, Any]) -> None:
        self._append(job, encode_event(stamp(event))["text"], final=event.get("status") in FINAL_STATUSES)

    def _append(self, job: ActiveJob, text: str, *, final: bool) -> int:
        """Numbers the event, keeps it in memory until committed, sends it to the job's followers."""
        assert self.writer is not None
        seq = job.next_seq
        job.next_seq += 1
        event = StoredEvent(seq, with_seq(seq, text), final)
        self.pending.setdefault(job.id, {})[seq] = event
        self.hub.publish(job.id, event)
        self.writer.put(InsertEvent(job.id, seq, event.data, final), on_commit=lambda: self._forget(job.id, seq))
        return seq

    def _forget(self, job_id: str, seq: int) -> None:
        events = self.pending.get(job_id)
        if events is not None:
            events.pop(seq, None)
            if not events:
                del self.pending[job_id]

    def _finish(self, job: ActiveJob, outcome: dict[str, Any]) -> None:
        """The final status: the trainer's own if it sent one, else the outcome's (failed, or cancelled while queued)."""
        assert self.writer is not None
        if not job.final_sent:
            status = outcome.get("status") if outcome.get("status") in FINAL_STATUSES else "failed"
            event: dict[str, Any] = {"type": "status", "status": status}
            changes: dict[str, Any] = {"status": status, "finished_at": utc_now()}
            if status == "failed":
                event["error"] = changes["error"] = outcome.get("error") or f"the trainer ended with status {outcome.get('status')!r}"
            job.final_sent = True
            job.record.update(changes)
            self.writer.put(UpdateJob(job.id, changes))
            self._append_status(job, event)
        job.position = None

        def done() -> None:
            self.active.pop(job.id, None)
            job.finished.set()

        self.writer.put(UpdateJob(job.id, {}), on_commit=done)

    # --- actions ---------------------------------------------------------------------------------

    async def cancel(self, job_id: str) -> dict[str, Any]:
        job = self.active.get(job_id)
        if job is None or job.final_sent:
            stored = await self.get(job_id)
            if stored is None:
                raise JobNotFound(job_id)
            raise JobFinished(stored["status"])
        if job in self.queue:
            self.queue.remove(job)
            self._finish(job, {"status": "cancelled"})
            self._dispatch()
        elif job.slot is not None:
            job.cancel_requested = True
            slot = job.slot
            try:
                await asyncio.wait_for(slot.actor.cancel.remote(job.id), timeout=self.settings.cancel_grace_s)
                await asyncio.wait_for(job.finished.wait(), timeout=self.settings.cancel_grace_s)
            except (TimeoutError, RayError):
                if not job.finished.is_set() and slot.job is job:
                    log.warning("job %s ignored its cancel; restarting its worker", job.id)
                    ray.kill(slot.actor, no_restart=True)  # its poll fails, _run records the cancel and respawns
        await job.finished.wait()
        return self.job_view(job)

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
        self.pending.pop(job_id, None)

    # --- reads -----------------------------------------------------------------------------------

    def job_view(self, job: ActiveJob) -> dict[str, Any]:
        return {**job.record, "position": job.position if job.record["status"] == "queued" else None}

    async def get(self, job_id: str) -> dict[str, Any] | None:
        job = self.active.get(job_id)
        if job is not None:
            return self.job_view(job)
        stored = await asyncio.to_thread(self.store.get_job, job_id)
        if stored is not None:
            stored["position"] = None
        return stored

    async def list(self, status: str | None, limit: int) -> list[dict[str, Any]]:
        assert self.writer is not None
        await self.writer.flush()  # a job submitted a moment ago is listed
        jobs = await asyncio.to_thread(self.store.list_jobs, status, limit)
        out = []
        for stored in jobs:
            job = self.active.get(stored["id"])
            view = self.job_view(job) if job is not None else {**stored, "position": None}
            if status is not None and view["status"] != status:
                continue
            view["settings"] = summary_settings(view["spec"])
            out.append(view)
        return out

    def exists_active(self, job_id: str) -> bool:
        return job_id in self.active

    def subscribe(self, job_id: str) -> Subscription:
        return self.hub.subscribe(job_id, self.settings.ws_queue_size)

    def unsubscribe(self, sub: Subscription) -> None:
        self.hub.unsubscribe(sub)

    async def events_after(self, job_id: str, after: int, limit: int | None = None) -> list[StoredEvent]:
        """The events with seq > after: the uncommitted tail from memory (taken first), the rest from the database."""
        tail = [event for seq, event in self.pending.get(job_id, {}).items() if seq > after]
        stored = await asyncio.to_thread(self.store.events_after, job_id, after, limit)
        merged = {event.seq: event for event in tail}
        merged.update({event.seq: event for event in stored})
        events = sorted(merged.values(), key=lambda event: event.seq)
        return events if limit is None else events[:limit]
