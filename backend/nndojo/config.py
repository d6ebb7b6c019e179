"""Settings from the environment (prefix NNDOJO_), with defaults that run on a laptop with nothing else installed."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from nndojo.spec import models as m
from nndojo.spec.check import Limits
from nndojo.spec.limits import MAX_WORKER_MEMORY_MB

CGROUP_ROOT = Path("/sys/fs/cgroup")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NNDOJO_", extra="ignore")

    mode: Literal["personal", "classroom"] = Field(
        "personal", description="personal: one user, no login; classroom: a teacher's password, classes with join codes, owned jobs"
    )
    teacher_password: str | None = Field(
        None, description="classroom mode's teacher password; when unset, one is generated at the first start and printed once"
    )
    session_days: int = Field(14, ge=1, le=365, description="how long a login (cookie or token) lasts")
    host: str = Field("127.0.0.1", description="the address to listen on; 0.0.0.0 for every interface (a classroom LAN)")
    port: int = Field(8000, ge=1, le=65535, description="the TCP port to listen on")
    data_dir: Path = Field(Path("data"), description="where the SQLite database lives")
    datasets_dir: Path = Field(
        Path("/usr/share/datasets"),
        description="IDX files: <datasets_dir>/fashion-mnist/ (Debian's dataset-fashion-mnist) and <datasets_dir>/mnist/",
    )
    database_url: str | None = Field(None, description="SQLAlchemy URL; default sqlite:///<data_dir>/nndojo.db")
    ray_address: str | None = Field(None, validation_alias="RAY_ADDRESS", description="join this Ray cluster instead of starting one")
    cpu_slots: int | None = Field(None, ge=1, description="jobs training at once on the CPU; default: one per usable core (affinity, container CPU quota)")
    gpu_slots_per_gpu: int = Field(4, ge=0, description="jobs sharing each GPU")
    threads_per_job: int = Field(1, ge=1, description="torch threads of a CPU job, so that N jobs do not oversubscribe the cores")
    max_queue: int = Field(200, ge=1, description="queued jobs beyond which submissions get 429")
    max_body_bytes: int = Field(1_000_000, ge=1024, description="request bodies over this get 413")
    max_upload_bytes: int = Field(
        5_000_000, ge=1024, description="a CSV upload (POST /api/datasets, the whole multipart body) over this gets 413"
    )
    max_uploads_per_student: int = Field(20, ge=1, description="uploaded datasets a student may keep; one more gets 429")
    body_timeout_s: float = Field(30.0, gt=0, description="a request body not fully sent this long after its headers gets 408")
    max_pending_body_bytes: int = Field(
        64_000_000, ge=1024, description="request bodies being received, all together; a body that would go over gets 429"
    )
    keep_alive_s: float = Field(5.0, gt=0, description="a connection's time for a request's head, from opening or its last response")
    ws_max_bytes: int = Field(65_536, ge=1024, description="incoming websocket messages over this close the socket with 1009")
    max_header_bytes: int = Field(16_384, ge=4096, description="a request line and headers over this get 400 (h11's limit)")
    ws_queue_size: int = Field(1000, ge=1, description="events buffered per websocket before a slow client is closed with 1013")
    frontend_dir: Path | None = Field(None, description="the page's files; default: frontend/ beside backend/")
    ray_num_cpus: int | None = Field(None, ge=1, description="CPUs the embedded Ray offers; default cpu_slots × threads_per_job")
    ray_object_store_mb: int = Field(128, ge=80, description="object store of the embedded Ray; events are small, so it stays small")
    worker_events_host: str | None = Field(
        None, description="address workers send events to; default 127.0.0.1 with the embedded Ray, this node's IP in a cluster"
    )
    cancel_grace_s: float = Field(
        5.0, gt=0, description="a running job that has not stopped this long after a cancel has its worker restarted"
    )
    max_paused_s: float = Field(
        900.0, gt=0, description="a paused job keeps its slot at most this long, then it is stopped (cancelled) so the slot serves others"
    )
    pack_jobs: bool = Field(
        True,
        description="train queued jobs of one shape together as one batched model in one slot (nndojo.train.pack): a class's "
        "playground jobs cost little more than one (bench/bench_class.py)",
    )
    pack_max_jobs: int = Field(200, ge=1, le=1000, description="most jobs one pack trains at once")
    max_layers: int = Field(m.MAX_LAYERS, ge=1, le=m.MAX_LAYERS)
    max_units: int = Field(m.MAX_UNITS, ge=1, le=m.MAX_UNITS)
    max_filters: int = Field(m.MAX_FILTERS, ge=1, le=m.MAX_FILTERS)
    max_params: int = Field(m.MAX_PARAMS, ge=1, le=m.MAX_PARAMS)
    max_epochs: int = Field(m.MAX_EPOCHS, ge=1, le=m.MAX_EPOCHS)
    max_samples: int = Field(m.MAX_SAMPLES, ge=10, le=m.MAX_SAMPLES)
    max_worker_memory_mb: int = Field(
        MAX_WORKER_MEMORY_MB, ge=128, description="a job whose estimated peak memory in its worker exceeds this is refused (422)"
    )

    @property
    def limits(self) -> Limits:
        return Limits(
            self.max_layers, self.max_units, self.max_filters, self.max_params, self.max_epochs, self.max_samples, self.max_worker_memory_mb
        )

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'nndojo.db'}"

    @property
    def resolved_cpu_slots(self) -> int:
        return self.cpu_slots or max(1, usable_cpus() // self.threads_per_job)

    @property
    def resolved_frontend_dir(self) -> Path:
        return self.frontend_dir or Path(__file__).resolve().parents[2] / "frontend"

    @property
    def resolved_ray_num_cpus(self) -> int:
        return self.ray_num_cpus or self.resolved_cpu_slots * self.threads_per_job


def cgroup_cpu_quota(root: Path | None = None) -> float | None:
    """The CPUs a container's quota allows (cgroup v2 cpu.max, else v1 cfs_quota_us / cfs_period_us); None when unlimited."""
    root = root or CGROUP_ROOT
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    for controller in ("cpu", "cpu,cpuacct", "cpuacct,cpu"):
        try:
            quota_us = int((root / controller / "cpu.cfs_quota_us").read_text())
            period_us = int((root / controller / "cpu.cfs_period_us").read_text())
        except (OSError, ValueError):
            continue
        return quota_us / period_us if quota_us > 0 and period_us > 0 else None
    return None


def usable_cpus(root: Path | None = None) -> int:
    """The cores this process may run on (its affinity), capped by the container's CPU quota: in a container limited
    to 4 CPUs on a 64-core host, 4; os.cpu_count() would say 64 and start 64 slots fighting for 4 CPUs."""
    cpus = len(os.sched_getaffinity(0))
    quota = cgroup_cpu_quota(root)
    return max(1, min(cpus, int(quota))) if quota is not None else cpus


@lru_cache
def get_settings() -> Settings:
    return Settings()
