"""The classroom deployment, built and run for real: scripts/docker-smoke.sh (its own dockerd, a local Debian base, the
compose file in classroom mode, a teacher, a class, a student's job over HTTP and websocket, a restart, teardown).

Skipped, with the reason printed, where Docker cannot run here: not root, no apt-get to install Docker, or
NNDOJO_SKIP_DOCKER=1. It takes minutes (mostly the image build), so it is marked slow.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "scripts" / "docker-smoke.sh"
TIMEOUT_S = 1500


def skip_reason() -> str | None:
    if os.environ.get("NNDOJO_SKIP_DOCKER") == "1":
        return "NNDOJO_SKIP_DOCKER=1"
    if os.geteuid() != 0:
        return "not root: the smoke test starts its own dockerd"
    if not shutil.which("dockerd") and not shutil.which("apt-get"):
        return "no dockerd and no apt-get to install Debian's docker.io"
    return None


def test_the_compose_files_and_dockerfile_state_the_deployment() -> None:
    """What the smoke test cannot see on a machine without a GPU or a registry, read from the files themselves."""
    service = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["nndojo"]
    assert service["ports"] == ["8000:8000"] and service["init"] is True and service["shm_size"]
    assert service["volumes"] == ["nndojo-data:/data"] and service["environment"]["NNDOJO_MODE"] == "classroom"
    assert service["build"]["args"]["BASE_IMAGE"] == "${NNDOJO_BASE_IMAGE:-python:3.11-slim-bookworm}"
    gpu = yaml.safe_load((ROOT / "docker-compose.gpu.yml").read_text())["services"]["nndojo"]
    assert gpu["deploy"]["resources"]["reservations"]["devices"] == [{"driver": "nvidia", "count": "all", "capabilities": ["gpu"]}]
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "ARG BASE_IMAGE=python:3.11-slim-bookworm" in dockerfile and "\nUSER nndojo\n" in dockerfile
    assert "HEALTHCHECK" in dockerfile and "/api/health" in dockerfile and "NNDOJO_MODE=classroom" in dockerfile
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert ignored[ignored.index("*") :][:1] == ["*"]  # everything is left out but what the image copies
    assert not any(line.startswith("!") and any(name in line for name in (".venv", "data", "wheels", "test-artifacts", ".git")) for line in ignored)


@pytest.mark.slow
@pytest.mark.timeout(TIMEOUT_S + 60)
def test_the_classroom_image_builds_starts_trains_and_survives_a_restart(capsys: pytest.CaptureFixture[str]) -> None:
    reason = skip_reason()
    if reason:
        with capsys.disabled():
            print(f"\ntests/test_docker.py skipped: {reason}")
        pytest.skip(reason)
    done = subprocess.run(["bash", str(SMOKE)], cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_S)
    with capsys.disabled():  # the figures (image size, build and start times) belong in the test log
        print("\n" + "\n".join(line for line in done.stdout.splitlines() if line.startswith("docker smoke:")))
    assert done.returncode == 0, f"{done.stdout[-6000:]}\n{done.stderr[-4000:]}"
    assert "docker smoke: passed" in done.stdout
