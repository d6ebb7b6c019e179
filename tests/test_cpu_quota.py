"""Job slots follow the CPUs a container may use (cgroup v2 cpu.max, v1 cfs quota, affinity), read from fake files."""

from __future__ import annotations

from pathlib import Path

import pytest

from nndojo import config
from nndojo.config import Settings, cgroup_cpu_quota, usable_cpus


@pytest.fixture
def eight_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config.os, "sched_getaffinity", lambda pid: set(range(8)))


def write(root: Path, name: str, text: str) -> None:
    (root / name).parent.mkdir(parents=True, exist_ok=True)
    (root / name).write_text(text)


@pytest.mark.parametrize(("text", "cpus"), [("200000 100000\n", 2.0), ("150000 100000\n", 1.5), ("max 100000\n", None)])
def test_cgroup_v2_cpu_max(tmp_path: Path, text: str, cpus: float | None) -> None:
    write(tmp_path, "cpu.max", text)
    assert cgroup_cpu_quota(tmp_path) == cpus


@pytest.mark.parametrize("controller", ["cpu", "cpu,cpuacct"])
@pytest.mark.parametrize(("quota", "cpus"), [("400000", 4.0), ("50000", 0.5), ("-1", None)])
def test_cgroup_v1_cfs_quota(tmp_path: Path, controller: str, quota: str, cpus: float | None) -> None:
    write(tmp_path, f"{controller}/cpu.cfs_quota_us", quota + "\n")
    write(tmp_path, f"{controller}/cpu.cfs_period_us", "100000\n")
    assert cgroup_cpu_quota(tmp_path) == cpus


def test_no_cgroup_files_means_no_quota(tmp_path: Path) -> None:
    assert cgroup_cpu_quota(tmp_path) is None


@pytest.mark.usefixtures("eight_cores")
@pytest.mark.parametrize(("text", "cpus"), [("300000 100000", 3), ("150000 100000", 1), ("50000 100000", 1), ("max 100000", 8), ("1600000 100000", 8)])
def test_usable_cpus_is_the_quota_capped_by_the_affinity(tmp_path: Path, text: str, cpus: int) -> None:
    write(tmp_path, "cpu.max", text)
    assert usable_cpus(tmp_path) == cpus


@pytest.mark.usefixtures("eight_cores")
def test_default_slots_follow_the_quota_not_the_host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "cpu.max", "400000 100000")
    monkeypatch.setattr(config, "CGROUP_ROOT", tmp_path)
    monkeypatch.setattr(config.os, "cpu_count", lambda: 64)
    assert Settings(cpu_slots=None).resolved_cpu_slots == 4
    assert Settings(cpu_slots=None, threads_per_job=2).resolved_cpu_slots == 2
    assert Settings(cpu_slots=3).resolved_cpu_slots == 3
    assert Settings(cpu_slots=None).resolved_ray_num_cpus == 4
