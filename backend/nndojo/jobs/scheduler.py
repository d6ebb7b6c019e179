"""The scheduler: who trains next, on which slot, for how long; the only place that stops, kills and replaces workers.

Decisions, in one place:
- Fair turns: the next job belongs to the owner (student) whose last job started longest ago, an owner with none
  started yet first (ties: whose oldest queued job is oldest), and is that owner's oldest queued job. In personal
  mode every job has the same owner (none), so the line is first come, first served.
- A queued job's `position` (1 = next) is its place in that order, recomputed whenever the line changes; the owner of
  the log is told each change (a `queued` event), so a page following the job sees it move.
- Limits per owner: at most `max_running` jobs holding slots (the others wait, still in turn), and a wall-clock limit
  per job (`max_job_seconds`): past it the job is stopped like a cancel and ends `failed` with that reason.
- Stopping: a queued job leaves the line at once; a running one gets its slot's cancel flag, read by the trainer
  between steps. Still running after `cancel_grace_s`: its worker is killed and replaced.
- Pause: a paused job keeps its slot (its model and optimiser state live in that worker; moving them is not worth it
  for classroom-sized runs), so it still counts against its owner's running limit and its wall-clock limit keeps
  running. Past `max_paused_s` paused, it is stopped as cancelled with that reason, so no slot is held forever.
- Packs (setting pack_jobs): a job whose model has a pack signature (nndojo.spec.packing) starts a pack on a free
  slot when it gets its turn, else joins the smallest running pack of its signature (at most pack_max_jobs a pack), in
  that slot's worker, at the pack's next epoch boundary: a class fills every core, one pack each. Turns, the
  per-owner running limit and the time limit apply to each job as they do solo: a pack is many owners' jobs, each
  counted as its owner's. Once a job waits for a slot, those behind it in line join no pack: a pack that kept taking
  members would never free its slot, and the job ahead (another shape, say) would wait for ever. A paused member
  leaves the pack's batched step and waits in the pack (its state stays in that worker), as a paused solo job keeps
  its slot.
- Workers: a slot gets a job only once its actor has answered `ready`. A worker that dies before its job started
  (idle, or while starting it) costs the job nothing: the job goes back to the head of its owner's line (twice at
  most) and the slot gets a fresh worker. A worker that dies mid-job fails that job and is replaced.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import ray
from ray.exceptions import RayError

from nndojo.config import Settings
from nndojo.jobs.slots import Slot, SlotPool
from nndojo.spec import JobSpec
from nndojo.spec.memory import BASE_MB
from nndojo.spec.packing import signature

log = logging.getLogger(__name__)

END_FRAME_WAIT_S = 5.0  # a worker's run returned: its end frame, written just before, is this close behind
PACK_GRACE_FACTOR = 6  # a pack member's stop waits this many cancel graces before its worker (all the pack) is replaced
READY_TIMEOUT_S = 120.0  # a fresh worker imports torch; on a loaded machine that takes a while
MAX_START_ATTEMPTS = 3


@dataclass(frozen=True)
class TurnLimits:
    """What one owner may hold; None means no limit (personal mode)."""

    max_running: int | None = None
    max_queued: int | None = None
    max_job_seconds: float | None = None


@dataclass(eq=False)
class ActiveJob:
    """A queued or running job, held in memory until its final status is stored."""

    id: str
    num: int  # submission order in this server's life
    spec: JobSpec
    spec_json: str
    record: dict[str, Any]
    owner: str | None = None  # whom the job counts against: a user id, or None in personal mode
    limits: TurnLimits = field(default_factory=TurnLimits)
    upload: bytes | None = None  # the packed uploaded set its spec names: it goes to the worker with the job
    memory_mb: int = 0  # its estimated peak in a worker (spec.memory): a pack's members together stay within the budget
    position: int | None = None
    slot: Slot | None = None
    started: bool = False  # its worker said `running`
    stop: dict[str, Any] | None = None  # why the server stops it: the outcome it ends with
    final_sent: bool = False
    final_status: str | None = None  # the final status sent, before its event is stored and the record shows it
    attempts: int = 0
    breaks: int = 0  # times its event log broke (nndojo.jobs.log)
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    end: asyncio.Future[dict[str, Any]] | None = None  # the worker's end frame: the outcome, after all its events
    deadline: asyncio.TimerHandle | None = None
    want_paused: bool = False  # the last pause/resume asked for (the trainer acts on requests in order)
    controls_seen: Counter[str] = field(default_factory=Counter)  # control events from its trainer, by action
    control_seen: asyncio.Event = field(default_factory=asyncio.Event)  # set (and replaced) at each control event
    pause_limit: asyncio.TimerHandle | None = None

    @cached_property
    def pack_key(self) -> tuple[Any, ...] | None:
        """Its pack signature (nndojo.spec.packing), worked out once: dispatch asks for every queued job each time."""
        return signature(self.spec)


def time_limit_outcome(seconds: float) -> dict[str, Any]:
    return {
        "status": "failed",
        "error": f"stopped after the class's time limit of {seconds:g} s per job (max_job_seconds)",
        "error_code": "max_job_seconds",
    }


def paused_limit_outcome(seconds: float) -> dict[str, Any]:
    return {
        "status": "cancelled",
        "error": f"stopped after {seconds:g} s paused (max_paused_s), so that its training slot serves others",
        "error_code": "max_paused_s",
    }


class Scheduler:
    def __init__(
        self,
        settings: Settings,
        pool: SlotPool,
        run_args: Callable[[], tuple[Any, ...]],
        on_position: Callable[[ActiveJob, int], None],
        on_end: Callable[[ActiveJob, dict[str, Any]], None],
    ):
        self.settings = settings
        self.pool = pool
        self.run_args = run_args  # what a worker's run needs besides the job: the event socket's address and token
        self.on_position = on_position
        self.on_end = on_end
        self.queue: list[ActiveJob] = []
        self._last_start: dict[str | None, int] = {}
        self._starts = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._pack_names: dict[int, str] = {}  # slot index → its pack's name (first job's id), which joins address

    async def start(self) -> None:
        """Waits until every slot's worker is ready."""
        await asyncio.gather(*(self._await_ready(slot) for slot in self.pool.slots))

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _spawn_task(self, coro: Any, name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # --- counts ----------------------------------------------------------------------------------

    def queued_of(self, owner: str | None) -> int:
        return sum(1 for job in self.queue if job.owner == owner)

    def running_of(self, owner: str | None) -> int:
        return sum(1 for slot in self.pool.slots for job in self._jobs_of(slot) if job.owner == owner)

    @staticmethod
    def _jobs_of(slot: Slot) -> list[ActiveJob]:
        return [slot.job] if slot.job is not None else slot.members

    # --- turns -----------------------------------------------------------------------------------

    def order(self) -> list[ActiveJob]:
        """The queued jobs in the order they will start, as the fair rule picks them one after another."""
        lines: dict[str | None, deque[ActiveJob]] = {}
        for job in sorted(self.queue, key=lambda job: job.num):
            lines.setdefault(job.owner, deque()).append(job)
        heap = [(self._last_start.get(owner, -1), line[0].num, owner or "") for owner, line in lines.items()]
        owners = {owner or "": owner for owner in lines}
        heapq.heapify(heap)
        turn = self._starts
        out = []
        while heap:
            _, _, key = heapq.heappop(heap)
            line = lines[owners[key]]
            out.append(line.popleft())
            if line:
                turn += 1
                heapq.heappush(heap, (turn, line[0].num, key))
        return out

    def add(self, job: ActiveJob) -> None:
        self.queue.append(job)
        self.dispatch()

    def dispatch(self) -> None:
        """Starts queued jobs on free slots in turn, then tells the ones still waiting where they stand."""
        running: Counter[str | None] = Counter(job.owner for slot in self.pool.slots for job in self._jobs_of(slot))
        waiting = []
        slot_awaited = False  # a job ahead in line waits for a slot: no later one joins a pack (see the module's doc)
        for job in self.order():
            cap = job.limits.max_running
            if cap is not None and running[job.owner] >= cap:
                waiting.append(job)
                continue
            key = job.pack_key if self.settings.pack_jobs else None
            slot = self.pool.free(job.spec.device, job.spec, len(self.queue) if key is not None else 0)  # a free slot first: one pack a core
            pack = self._pack_for(key, job) if key is not None and slot is None and not slot_awaited else None
            slot = slot or pack
            if slot is None:
                waiting.append(job)
                slot_awaited = True
                continue
            running[job.owner] += 1
            if pack is not None:
                self._join(job, pack)
            elif key is not None:
                self._begin_pack(job, slot, key)
            else:
                self._begin(job, slot)
        for place, job in enumerate(waiting, start=1):
            if job.position != place:
                job.position = place
                self.on_position(job, place)

    def _begin(self, job: ActiveJob, slot: Slot) -> None:
        self._take_turn(job, slot)
        slot.job = job
        job.task = self._spawn_task(self._run(job, slot), f"job-{job.id}")

    def _take_turn(self, job: ActiveJob, slot: Slot) -> None:
        """The job leaves the line for `slot`: its owner's turn is used, its time limit starts."""
        self.queue.remove(job)
        self._starts += 1
        self._last_start[job.owner] = self._starts
        job.slot, job.position = slot, 0
        job.attempts += 1
        if job.limits.max_job_seconds is not None:
            seconds = job.limits.max_job_seconds
            job.deadline = asyncio.get_running_loop().call_later(
                seconds, lambda: self._spawn_task(self.stop(job, time_limit_outcome(seconds)), f"limit-{job.id}")
            )

    # --- packs -----------------------------------------------------------------------------------

    def _pack_for(self, key: tuple[Any, ...], job: ActiveJob) -> Slot | None:
        """The running pack of this signature with the fewest members, if it has room for one more job: fewer than
        pack_max_jobs members, and their memory with this job's within a worker's budget (one torch baseline for all)."""
        open_packs = [slot for slot in self.pool.slots if slot.pack_key == key and not slot.pack_closing]
        slot = min(open_packs, key=lambda slot: len(slot.members), default=None)
        if slot is None or len(slot.members) >= self.settings.pack_max_jobs:
            return None
        own = sum(max(member.memory_mb - BASE_MB, 0) for member in [*slot.members, job])
        return slot if BASE_MB + own <= self.settings.max_worker_memory_mb else None

    def _begin_pack(self, job: ActiveJob, slot: Slot, key: tuple[Any, ...]) -> None:
        """Starts a pack on a free slot with this job; the pack's call lives as long as the pack has members."""
        self._take_turn(job, slot)
        slot.pack_key, slot.members, slot.pack_closing = key, [job], False
        self._pack_names[slot.index] = job.id
        slot.pack_done = asyncio.get_running_loop().create_future()
        slot.pack_done.add_done_callback(lambda f: f.cancelled() or f.exception())  # read even when no member waits
        job.task = self._spawn_task(self._run_member(job, slot, slot.pack_done), f"job-{job.id}")  # first: job.end before any frame
        self._spawn_task(self._host_pack(job, slot), f"pack-{slot.index}")

    def _join(self, job: ActiveJob, slot: Slot) -> None:
        self._take_turn(job, slot)
        slot.members.append(job)
        job.task = self._spawn_task(self._run_member(job, slot, slot.pack_done, join=self._pack_names[slot.index]), f"job-{job.id}")

    async def _host_pack(self, first: ActiveJob, slot: Slot) -> None:
        """The pack's long call on its worker; when it returns (every member ended) the slot is free again. The
        worker's death is the members' to handle (their tasks see pack_done fail); the slot gets a fresh worker."""
        done = slot.pack_done
        try:
            ref = slot.actor.run_pack.remote(first.id, first.spec_json, *self.run_args(), upload=first.upload)
            done.set_result(await asyncio.wrap_future(ref.future()))
        except RayError as exc:
            done.set_exception(exc)
            self.replace(slot)
        except Exception as exc:
            log.exception("pack on slot %d", slot.index)
            done.set_exception(exc)
        finally:
            if slot.pack_done is done:
                slot.pack_key, slot.pack_done, slot.pack_closing = None, None, False
        self.dispatch()

    async def _run_member(self, job: ActiveJob, slot: Slot, done: asyncio.Future[Any], join: str | None = None) -> None:
        """One job of a pack: joins pack `join` (unless it started it), then waits for its end frame, or for its pack's
        call to end (`done`, the pack it was given to: the slot may host another by the time this runs)."""
        loop = asyncio.get_running_loop()
        job.end = end = loop.create_future()
        outcome: dict[str, Any] | None = None
        try:
            if join is not None and not await asyncio.wrap_future(
                slot.actor.join_pack.remote(join, job.id, job.spec_json, *self.run_args(), upload=job.upload).future()
            ):
                slot.pack_closing = True  # the pack is ending: the job waits for its next turn, on a new pack
                job.slot, job.end = None, None
                job.attempts -= 1
                self.queue.append(job)
            else:
                await asyncio.wait({end, done}, return_when=asyncio.FIRST_COMPLETED)
                if end.done():
                    outcome = end.result()
                elif done.exception() is not None:
                    exc = done.exception()
                    outcome = (
                        self._after_pack_death(job, exc)
                        if isinstance(exc, RayError)
                        else {"status": "failed", "error": "the training pack failed"}
                    )
                else:
                    try:
                        outcome = await asyncio.wait_for(asyncio.shield(end), END_FRAME_WAIT_S)
                    except TimeoutError:
                        log.warning("job %s: no end frame from its pack; its last events may be missing", job.id)
                        outcome = done.result().get(job.id, {"status": "failed", "error": "the training pack ended without this job"})
        except RayError as exc:
            outcome = self._after_pack_death(job, exc)
        except Exception as exc:
            log.exception("job %s", job.id)
            outcome = {"status": "failed", "error": f"the server could not run the job ({type(exc).__name__})"}
        finally:
            if job in slot.members:
                slot.members.remove(job)
            for timer in (job.deadline, job.pause_limit):
                if timer is not None:
                    timer.cancel()
            if not end.done():
                end.cancel()
        if outcome is not None:
            self.on_end(job, job.stop or outcome)
        self.dispatch()

    def _after_pack_death(self, job: ActiveJob, exc: BaseException) -> dict[str, Any] | None:
        """The pack's worker died (its host task replaces it): as _after_worker_death, for one member."""
        if job.stop is not None:
            return job.stop
        if not job.started and job.attempts < MAX_START_ATTEMPTS:
            job.slot, job.end = None, None
            self.queue.append(job)
            return None
        log.warning("the pack worker running %s died: %s", job.id, exc)
        return {"status": "failed", "error": f"the training worker stopped unexpectedly ({type(exc).__name__}); the job was not finished"}

    # --- running ---------------------------------------------------------------------------------

    async def _run(self, job: ActiveJob, slot: Slot) -> None:
        """Starts the job on its slot and waits for its end frame, or for Ray to say the worker died."""
        loop = asyncio.get_running_loop()
        job.end = end = loop.create_future()
        returned: asyncio.Future[Any] | None = None
        outcome: dict[str, Any] | None
        try:
            ref = slot.actor.run.remote(job.id, job.spec_json, *self.run_args(), upload=job.upload)
            returned = asyncio.wrap_future(ref.future())
            await asyncio.wait({end, returned}, return_when=asyncio.FIRST_COMPLETED)
            if end.done():
                outcome = end.result()
            else:
                result = returned.result()  # raises if the worker died
                try:  # the end frame left the worker before run returned
                    outcome = await asyncio.wait_for(asyncio.shield(end), END_FRAME_WAIT_S)
                except TimeoutError:
                    log.warning("job %s: no end frame from its worker; its last events may be missing", job.id)
                    outcome = result
        except RayError as exc:
            outcome = self._after_worker_death(job, slot, exc)
        except Exception as exc:  # never let one job's trouble reach the others
            log.exception("job %s", job.id)
            outcome = {"status": "failed", "error": f"the server could not run the job ({type(exc).__name__})"}
        finally:
            slot.job = None
            for timer in (job.deadline, job.pause_limit):
                if timer is not None:
                    timer.cancel()
            if not end.done():
                end.cancel()
            if returned is not None and not returned.done():
                returned.add_done_callback(lambda future: future.exception() if not future.cancelled() else None)
        if outcome is not None:
            self.on_end(job, job.stop or outcome)
        self.dispatch()

    def _after_worker_death(self, job: ActiveJob, slot: Slot, exc: RayError) -> dict[str, Any] | None:
        """The worker died: replace it; the job fails unless it never started, then it waits for another turn."""
        self.replace(slot)
        if job.stop is not None:
            return job.stop
        if not job.started and job.attempts < MAX_START_ATTEMPTS:
            log.warning("worker of slot %d died before job %s started; the job waits for another slot", slot.index, job.id)
            job.slot, job.end = None, None
            self.queue.append(job)
            return None
        log.warning("worker of slot %d died running %s: %s", slot.index, job.id, exc)
        return {"status": "failed", "error": f"the training worker stopped unexpectedly ({type(exc).__name__}); the job was not finished"}

    def replace(self, slot: Slot) -> None:
        """Kills the slot's worker and starts a fresh one, which gets jobs once it answers `ready`."""
        self.pool.kill(slot)
        self._spawn_task(self._await_ready(slot), f"ready-{slot.index}")

    async def _await_ready(self, slot: Slot) -> None:
        for attempt in range(MAX_START_ATTEMPTS):
            try:
                slot.costs = await asyncio.wait_for(asyncio.wrap_future(slot.actor.ready.remote().future()), READY_TIMEOUT_S)
            except (RayError, TimeoutError) as exc:
                log.warning("slot %d: a fresh worker did not start (%s, attempt %d)", slot.index, type(exc).__name__, attempt + 1)
                self.pool.kill(slot)
                await asyncio.sleep(1.0 * (attempt + 1))
                continue
            slot.ready = True
            self.dispatch()
            return
        log.error("slot %d: no worker would start; it stays out of service", slot.index)

    # --- live control ----------------------------------------------------------------------------

    async def control(self, job: ActiveJob, action: str, value: float | None = None) -> bool:
        """Hands a pause, resume, step or lr request to the job's worker; False when it is not training there."""
        slot = job.slot
        if slot is None:
            return False
        ref = slot.actor.control.remote(job.id, action, value)
        try:
            return bool(await asyncio.wait_for(asyncio.wrap_future(ref.future()), timeout=self.settings.cancel_grace_s))
        except (TimeoutError, RayError):
            return False

    def on_control(self, job: ActiveJob, action: str) -> None:
        """The trainer acted on a control: a pause starts the paused-time limit, a resume or a step ends it."""
        if action not in ("pause", "resume", "step"):
            return
        if job.pause_limit is not None:
            job.pause_limit.cancel()
            job.pause_limit = None
        if action == "pause":
            seconds = self.settings.max_paused_s
            job.pause_limit = asyncio.get_running_loop().call_later(
                seconds, lambda: self._spawn_task(self.stop(job, paused_limit_outcome(seconds)), f"paused-{job.id}")
            )

    # --- stopping --------------------------------------------------------------------------------

    async def stop(self, job: ActiveJob, outcome: dict[str, Any]) -> None:
        """Stops a queued or running job; it ends with `outcome` (cancelled, or failed with the time limit)."""
        if job.final_sent or job.stop is not None:
            await job.finished.wait()
            return
        job.stop = outcome
        if job in self.queue:
            self.queue.remove(job)
            self.on_end(job, outcome)
            self.dispatch()
        elif job.slot is not None:
            slot = job.slot
            grace = self.settings.cancel_grace_s
            if len(slot.members) > 1:
                grace *= PACK_GRACE_FACTOR  # replacing the worker fails every member: give the pack's epoch longer to end
            try:
                await asyncio.wait_for(asyncio.wrap_future(slot.actor.cancel.remote(job.id).future()), timeout=grace)
                await asyncio.wait_for(job.finished.wait(), timeout=grace)
            except (TimeoutError, RayError):
                if not job.finished.is_set() and (slot.job is job or job in slot.members):
                    log.warning("job %s ignored its stop for %.0f s; its worker is replaced", job.id, grace)
                    with contextlib.suppress(Exception):
                        ray.kill(slot.actor, no_restart=True)  # its run fails, _run ends the job and replaces the worker
        await job.finished.wait()
