"""The GPU check (scripts/gpu-check.sh; marker `gpu`, skipped without CUDA): every example spec trains one epoch on CUDA
with no host synchronisation outside the epoch's measurement (torch.cuda.set_sync_debug_mode("error") while the steps
run), and packed jobs on CUDA emit their solo runs' events."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from nndojo.datasets.images import DatasetUnavailable
from nndojo.spec import JobSpec
from nndojo.train import train
from nndojo.train.probes import Probes
from test_pack import assert_same_events, make_spec, packed, solo

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples").glob("*.json"))
IDX_DIR = Path("/usr/share/datasets")

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA"),
    pytest.mark.filterwarnings("ignore:grad and param do not obey the gradient layout contract"),
]


@pytest.fixture
def no_sync_but_the_epoch_read(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Synchronising CUDA calls raise, except inside Probes.measure (the epoch's one read) and before epoch 0 is out
    (the setup: data to the device). Installed by the first measurement: everything after it is training."""
    measure = Probes.measure

    def measured(self: Probes, *args: Any, **kwargs: Any) -> dict[str, Any]:
        torch.cuda.set_sync_debug_mode("default")
        try:
            return measure(self, *args, **kwargs)
        finally:
            torch.cuda.set_sync_debug_mode("error")

    monkeypatch.setattr(Probes, "measure", measured)
    try:
        yield
    finally:
        torch.cuda.set_sync_debug_mode("default")


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_trains_an_epoch_on_cuda_without_a_sync_per_step(path: Path, no_sync_but_the_epoch_read: None) -> None:
    raw = json.loads(path.read_text())
    raw["device"] = "cuda"
    raw["training"]["epochs"] = 1
    events: list[dict[str, Any]] = []
    try:
        status = train(JobSpec.model_validate(raw), events.append, datasets_dir=IDX_DIR, eval_limit=2000)
    except DatasetUnavailable as exc:
        pytest.skip(f"{path.name}: {exc}")
    torch.cuda.set_sync_debug_mode("default")
    assert status in ("completed", "diverged"), events[-1]
    assert events[0]["device"].startswith("cuda")
    assert [e["epoch"] for e in events if e["type"] == "epoch"][:2] == [0, 1] or status == "diverged"


@pytest.mark.parametrize("optimizer", [{"name": "sgd", "lr": 0.3}, {"name": "adam", "lr": 0.02}])
def test_a_pack_on_cuda_matches_its_solo_runs(optimizer: dict[str, Any]) -> None:
    specs = [
        make_spec(seed, dict(optimizer, lr=optimizer["lr"] * seed), epochs=30).model_copy(update={"device": "cuda"}) for seed in (1, 2, 3)
    ]
    for spec, events in zip(specs, packed(specs, device="cuda"), strict=True):
        assert_same_events(solo(spec), events)
