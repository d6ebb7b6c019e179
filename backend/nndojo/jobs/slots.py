"""Ray for the server: the embedded local instance (or a cluster by RAY_ADDRESS) and the pool of training slots."""

from __future__ import annotations

import contextlib
import logging
import math
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import ray

from nndojo.config import Settings
from nndojo.jobs.placement import CostModel, combined, place
from nndojo.jobs.worker import SlotWorker

if TYPE_CHECKING:
    from nndojo.jobs.manager import ActiveJob
    from nndojo.spec import JobSpec

log = logging.getLogger(__name__)

SlotKind = Literal["cpu", "gpu"]
# run, poll, cancel and the small utility calls (devices) of one slot answer at the same time.
ACTOR_CONCURRENCY = 6
FEED_CPUS = 1.0  # what a GPU slot's worker reserves: one core launching its kernels and slicing its batches


def start_ray(settings: Settings) -> bool:
    """Starts a local Ray inside this process, or joins RAY_ADDRESS's cluster; True when this call started it.

    Ray installs its own SIGTERM/SIGINT handlers; the server's (uvicorn's) are put back so that Ctrl-C and SIGTERM
    still mean a clean shutdown.
    """
    if ray.is_initialized():
        return False
    main = threading.current_thread() is threading.main_thread()
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)} if main else {}
    common: dict[str, Any] = {"log_to_driver": False, "configure_logging": False, "namespace": "nndojo"}
    if settings.ray_address:
        ray.init(address=settings.ray_address, **common)
    else:
        ray.init(
            address="local",  # always a fresh instance of our own, never someone's `ray start` cluster
            num_cpus=settings.resolved_ray_num_cpus,
            include_dashboard=False,
            object_store_memory=settings.ray_object_store_mb * 1024 * 1024,
            **common,
        )
    for sig, handler in saved.items():
        if handler is not None:
            signal.signal(sig, handler)
    return True


@dataclass(eq=False)
class Slot:
    index: int
    kind: SlotKind
    actor: Any
    job: ActiveJob | None = field(default=None, repr=False)
    ready: bool = False  # the actor answered `ready`: only then does it get a job
    # a pack (nndojo.jobs.pack_worker) instead of one job: its signature, its members, its call's outcome
    pack_key: tuple[Any, ...] | None = None
    members: list[ActiveJob] = field(default_factory=list, repr=False)
    pack_done: Any = field(default=None, repr=False)  # asyncio.Future of the pack's call: its outcomes, or the worker's death
    pack_closing: bool = False  # it refused a join: it is ending, no more joins
    booking: tuple[float, float] | None = None  # (monotonic start, estimated seconds) of what it was last given
    costs: CostModel | None = field(default=None, repr=False)  # its worker's measured model, with its `ready` answer

    @property
    def busy(self) -> bool:
        return self.job is not None or self.pack_key is not None


def cpu_slot_count(settings: Settings, gpu_slots: int) -> int:
    """CPU slots: the setting when given, else one per usable core less the cores the GPU slots' workers reserve."""
    if settings.cpu_slots is not None:
        return settings.cpu_slots
    return max(1, settings.resolved_cpu_slots - math.ceil(gpu_slots * FEED_CPUS / settings.threads_per_job))


def feed_cpus(total_cpus: float, cpu_slots: int, threads: int, gpu_slots: int) -> float:
    """The CPU each GPU slot's worker reserves: FEED_CPUS, or an even share of what the CPU slots leave when less."""
    if gpu_slots == 0:
        return 0.0
    left = max(0.0, total_cpus - cpu_slots * threads)
    return round(min(FEED_CPUS, left / gpu_slots), 4)


class SlotPool:
    """One long-lived actor per slot: CPU actors and gpu_slots_per_gpu actors on each GPU. It creates and kills actors
    when told to, and places jobs on them (nndojo.jobs.placement); the scheduler decides when (nndojo.jobs.scheduler).

    A GPU slot's worker reserves the CPU that feeds its GPU (FEED_CPUS), so that CPU slots do not take that core from
    it: without a setting, the CPU slots are one per core less those."""

    def __init__(self, settings: Settings):
        self.settings = settings
        resources = ray.cluster_resources()
        gpu_slots = int(resources.get("GPU", 0)) * settings.gpu_slots_per_gpu
        cpu_slots = cpu_slot_count(settings, gpu_slots)
        self.feed_cpus = feed_cpus(resources.get("CPU", 0), cpu_slots, settings.threads_per_job, gpu_slots)
        if gpu_slots and self.feed_cpus < FEED_CPUS:
            log.warning("GPU slots get %.2f CPU each to feed their GPU (%g wanted): lower cpu_slots", self.feed_cpus, FEED_CPUS)
        self.slots: list[Slot] = []
        for _ in range(cpu_slots):
            self.slots.append(Slot(len(self.slots), "cpu", None))
        for _ in range(gpu_slots):
            self.slots.append(Slot(len(self.slots), "gpu", None))
        for slot in self.slots:
            self._start(slot)

    @property
    def has_gpu(self) -> bool:
        return any(slot.kind == "gpu" for slot in self.slots)

    def _start(self, slot: Slot) -> None:
        """A fresh actor for the slot; it measures its device's cost model, which its `ready` answer carries."""
        slot.actor = self._spawn(slot.kind)
        slot.costs = None

    def _spawn(self, kind: SlotKind) -> Any:
        s = self.settings
        if kind == "gpu":
            options: dict[str, Any] = {"num_cpus": self.feed_cpus, "num_gpus": 1 / s.gpu_slots_per_gpu}
            device = "cuda"
        else:
            options = {"num_cpus": s.threads_per_job, "num_gpus": 0}
            device = "cpu"
        actor_class = ray.remote(SlotWorker)
        return actor_class.options(max_concurrency=ACTOR_CONCURRENCY, max_restarts=0, **options).remote(
            device, s.threads_per_job, str(s.datasets_dir)
        )

    def kill(self, slot: Slot) -> None:
        """Ends the slot's actor (a stuck job's, or a dead one's remains) and starts a fresh one; the slot keeps its
        place and gets no job until the fresh actor answers `ready`."""
        with contextlib.suppress(Exception):  # already gone
            ray.kill(slot.actor, no_restart=True)
        slot.ready = False
        self._start(slot)

    def cost_models(self) -> dict[str, CostModel]:
        """Each slot kind's measured model: the median over its ready slots that measured one."""
        found = {
            kind: combined(slot.costs for slot in self.slots if slot.kind == kind and slot.ready and slot.costs is not None)
            for kind in ("cpu", "gpu")
        }
        return {kind: model for kind, model in found.items() if model is not None}

    def free(self, wants: str, spec: JobSpec, pack_of: int = 0) -> Slot | None:
        """A free, ready slot for a job: 'cuda' needs a GPU, 'cpu' a CPU, 'auto' goes where the job finishes soonest
        (nndojo.jobs.placement), or None to wait for a busy slot that finishes it sooner. The caller starts the job on
        the slot returned, which is booked for the job's estimate.

        pack_of: the jobs the job may share a pack with (the queue's length when packing; capped at pack_max_jobs),
        so that a pack's estimate is its share of the batched step."""
        share = min(pack_of, self.settings.pack_max_jobs) if pack_of > 0 else 1
        now = time.monotonic()
        found = place(self.slots, wants, spec, self.cost_models(), now=now, share=share)
        if found is None:
            return None
        found.slot.booking = None if found.seconds is None else (now, found.seconds)
        return found.slot

    def placement(self) -> dict[str, Any]:
        """The measured cost models by slot kind, and how many slots each has, for /api/health."""
        models = self.cost_models()
        kinds = sorted({slot.kind for slot in self.slots})
        return {
            kind: {"slots": sum(slot.kind == kind for slot in self.slots), "model": models[kind].as_dict() if kind in models else None}
            for kind in kinds
        }

    def first(self) -> Slot:
        gpu = [slot for slot in self.slots if slot.kind == "gpu"]
        return (gpu or self.slots)[0]

    def shutdown(self) -> None:
        for slot in self.slots:
            with contextlib.suppress(Exception):
                ray.kill(slot.actor, no_restart=True)
