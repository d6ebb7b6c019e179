"""Ray for the server: the embedded local instance (or a cluster by RAY_ADDRESS) and the pool of training slots."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import ray

from nndojo.config import Settings
from nndojo.jobs.worker import SlotWorker

if TYPE_CHECKING:
    from nndojo.jobs.manager import ActiveJob

log = logging.getLogger(__name__)

SlotKind = Literal["cpu", "gpu"]
# run, poll, cancel and the small utility calls (devices) of one slot answer at the same time.
ACTOR_CONCURRENCY = 6


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

    @property
    def busy(self) -> bool:
        return self.job is not None or self.pack_key is not None


class SlotPool:
    """One long-lived actor per slot: cpu_slots CPU actors and gpu_slots_per_gpu actors on each GPU. It creates and
    kills actors when told to; the scheduler decides when (nndojo.jobs.scheduler)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        gpus = int(ray.cluster_resources().get("GPU", 0))
        self.slots: list[Slot] = []
        for _ in range(settings.resolved_cpu_slots):
            self.slots.append(Slot(len(self.slots), "cpu", None))
        for _ in range(gpus * settings.gpu_slots_per_gpu):
            self.slots.append(Slot(len(self.slots), "gpu", None))
        for slot in self.slots:
            slot.actor = self._spawn(slot.kind)

    @property
    def has_gpu(self) -> bool:
        return any(slot.kind == "gpu" for slot in self.slots)

    def _spawn(self, kind: SlotKind) -> Any:
        s = self.settings
        if kind == "gpu":
            options: dict[str, Any] = {"num_cpus": 0, "num_gpus": 1 / s.gpu_slots_per_gpu}
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
        slot.actor = self._spawn(slot.kind)

    def free(self, wants: str) -> Slot | None:
        """A free, ready slot for a job's device: 'cuda' needs a GPU, 'cpu' a CPU, 'auto' prefers a GPU."""
        kinds: tuple[SlotKind, ...] = {"cuda": ("gpu",), "cpu": ("cpu",)}.get(wants, ("gpu", "cpu"))
        for kind in kinds:
            for slot in self.slots:
                if slot.kind == kind and not slot.busy and slot.ready:
                    return slot
        return None

    def first(self) -> Slot:
        gpu = [slot for slot in self.slots if slot.kind == "gpu"]
        return (gpu or self.slots)[0]

    def shutdown(self) -> None:
        for slot in self.slots:
            with contextlib.suppress(Exception):
                ray.kill(slot.actor, no_restart=True)
