"""Placement of `device: auto` jobs (nndojo.jobs.placement): the decision with injected cost models, a job's work from
its spec, the CPU calibration through a real server start, the CPU-only pooling path, and (marker `gpu`) the same
measured on CUDA."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import torch
from torch.overrides import TorchFunctionMode

from nndojo.config import Settings
from nndojo.datasets.info import train_test_sizes
from nndojo.jobs.placement import SMALL_CONV, CostModel, Work, calibrate, combined, place, wait_s, work_of
from nndojo.jobs.slots import Slot, cpu_slot_count, feed_cpus
from nndojo.nn.pool import MaxPool2d
from nndojo.spec import JobSpec

# Plausible constants: this 2-core CPU measured ~41 µs a layer-step and ~3.6e-11 s a FLOP; a GPU pays more per launch
# (Python and the driver) and far less per FLOP.
CPU = CostModel(launch_s=4e-5, flop_s=3.6e-11)
GPU = CostModel(launch_s=1.5e-4, flop_s=5e-13)
MODELS = {"cpu": CPU, "gpu": GPU}
NOW = 1000.0


def dense_spec(units: int = 8, layers: int = 2, epochs: int = 100) -> JobSpec:
    """The playground's job: 2-units-…-1 tanh on 500 points, batch 10."""
    return JobSpec.model_validate(
        {
            "dataset": {"name": "moons", "n_samples": 500},
            "model": {"layers": [{"type": "dense", "units": units, "activation": "tanh"}] * layers, "output": {"activation": "sigmoid"}},
            "training": {"epochs": epochs, "batch_size": 10, "loss": "cross_entropy", "optimizer": {"name": "adam", "lr": 0.01}},
        }
    )


def lenet_spec() -> JobSpec:
    return JobSpec.model_validate(
        {
            "dataset": {"name": "fashion-mnist", "train_limit": 10000},
            "model": {
                "layers": [
                    {"type": "conv2d", "filters": 6, "kernel_size": 5, "activation": "relu"},
                    {"type": "maxpool2d", "kernel_size": 2},
                    {"type": "conv2d", "filters": 16, "kernel_size": 5, "activation": "relu"},
                    {"type": "maxpool2d", "kernel_size": 2},
                    {"type": "flatten"},
                    {"type": "dense", "units": 120, "activation": "relu"},
                    {"type": "dense", "units": 84, "activation": "relu"},
                ],
                "output": {"activation": "softmax"},
            },
            "training": {"epochs": 5, "batch_size": 64, "loss": "cross_entropy", "optimizer": {"name": "adam", "lr": 0.001}},
        }
    )


def slots(*kinds: str) -> list[Slot]:
    return [Slot(i, kind, None, ready=True) for i, kind in enumerate(kinds)]  # type: ignore[arg-type]


def busy(slot: Slot, left_s: float | None, *, seconds: float = 600.0) -> Slot:
    """The slot running a job; left_s: the seconds its booking says remain (None: no booking)."""
    slot.job = object()  # type: ignore[assignment]
    slot.booking = None if left_s is None else (NOW + left_s - seconds, seconds)
    return slot


# --- the decision ---------------------------------------------------------------------------------------------


def test_auto_puts_a_convnet_on_the_gpu_and_a_tiny_dense_net_on_the_cpu() -> None:
    pool = slots("cpu", "cpu", "gpu")
    conv = place(pool, "auto", lenet_spec(), MODELS, now=NOW)
    assert conv is not None and conv.slot.kind == "gpu"
    assert conv.seconds == pytest.approx(GPU.seconds(work_of(lenet_spec())))
    tiny = place(pool, "auto", dense_spec(), MODELS, now=NOW)
    assert tiny is not None and tiny.slot.kind == "cpu"
    assert tiny.seconds == pytest.approx(CPU.seconds(work_of(dense_spec())))
    assert tiny.seconds < GPU.seconds(work_of(dense_spec()))


def test_the_choice_follows_the_measured_constants_not_a_size() -> None:
    """The same convnet goes to the CPU where the GPU measured slow (a weak or shared GPU): nothing is hard-coded."""
    slow_gpu = CostModel(launch_s=1e-3, flop_s=1e-10)
    found = place(slots("cpu", "gpu"), "auto", lenet_spec(), {"cpu": CPU, "gpu": slow_gpu}, now=NOW)
    assert found is not None and found.slot.kind == "cpu"


def test_a_busy_gpu_is_waited_for_only_when_that_still_finishes_sooner() -> None:
    work = work_of(lenet_spec())
    cpu_s, gpu_s = CPU.seconds(work), GPU.seconds(work)
    assert gpu_s < cpu_s
    soon = slots("cpu", "gpu")
    busy(soon[1], left_s=(cpu_s - gpu_s) / 2)
    assert place(soon, "auto", lenet_spec(), MODELS, now=NOW) is None  # wait: the GPU frees in time
    late = slots("cpu", "gpu")
    busy(late[1], left_s=2 * cpu_s)
    found = place(late, "auto", lenet_spec(), MODELS, now=NOW)
    assert found is not None and found.slot is late[0] and found.seconds == pytest.approx(cpu_s)


def test_a_busy_slot_without_a_booking_is_not_waited_for() -> None:
    pool = slots("cpu", "gpu")
    busy(pool[1], left_s=None)
    found = place(pool, "auto", lenet_spec(), MODELS, now=NOW)
    assert found is not None and found.slot.kind == "cpu"


def test_an_overdue_slot_is_expected_to_take_as_long_again() -> None:
    slot = busy(Slot(0, "gpu", None, ready=True), left_s=-50.0, seconds=30.0)
    assert wait_s(slot, NOW) == 30.0
    assert wait_s(busy(Slot(1, "gpu", None, ready=True), left_s=12.0), NOW) == pytest.approx(12.0)


def test_cpu_and_cuda_keep_their_meaning() -> None:
    pool = slots("cpu", "gpu")
    found = place(pool, "cpu", lenet_spec(), MODELS, now=NOW)
    assert found is not None and found.slot.kind == "cpu"  # the student asked: slower, but the CPU
    found = place(pool, "cuda", dense_spec(), MODELS, now=NOW)
    assert found is not None and found.slot.kind == "gpu"
    busy(pool[1], left_s=None)
    assert place(pool, "cuda", dense_spec(), MODELS, now=NOW) is None  # waits for a GPU, never takes the CPU


def test_without_models_a_gpu_is_preferred_and_unready_slots_are_skipped() -> None:
    pool = slots("cpu", "gpu", "gpu")
    pool[1].ready = False
    found = place(pool, "auto", dense_spec(), {}, now=NOW)
    assert found is not None and found.slot is pool[2] and found.seconds is None
    only_cpu = place(slots("cpu"), "auto", lenet_spec(), {}, now=NOW)  # one kind: nothing to compare or book
    assert only_cpu is not None and only_cpu.slot.kind == "cpu" and only_cpu.seconds is None


def test_a_pack_makes_the_gpu_the_place_for_a_dense_net_that_runs_solo_on_the_cpu() -> None:
    """A pack's one batched step launches what a single job's does: its share of the launches shrinks with the pack,
    its arithmetic does not, and the GPU's arithmetic is the cheaper."""
    spec = dense_spec(units=64)
    solo = place(slots("cpu", "gpu"), "auto", spec, MODELS, now=NOW)
    assert solo is not None and solo.slot.kind == "cpu"
    packed = place(slots("cpu", "gpu"), "auto", spec, MODELS, now=NOW, share=200)
    assert packed is not None and packed.slot.kind == "gpu"
    assert packed.seconds == pytest.approx(GPU.seconds(work_of(spec), share=200))


def test_combined_takes_the_median_of_the_slots_measurements() -> None:
    models = [CostModel(1e-5, 1e-11, 0.1), CostModel(2e-5, 3e-11, 0.2), CostModel(9e-5, 2e-11, 0.3)]
    assert combined(models) == CostModel(2e-5, 2e-11, 0.3)
    assert combined([]) is None


# --- the estimate from a spec ---------------------------------------------------------------------------------


def test_work_counts_flops_from_the_checked_shapes() -> None:
    """2-8-8-1: per sample, 2 × parameters + inputs per layer: (2·24 + 2) + (2·72 + 8) + (2·9 + 8) = 228 FLOPs."""
    spec = dense_spec(epochs=7)
    work = work_of(spec)
    n_train, n_test = train_test_sizes("moons", 500, spec.dataset.test_fraction, None)
    assert work.layers == 3
    assert work.step_flops == 3 * 228 * 10
    assert work.steps == 7 * math.ceil(n_train / 10)
    assert work.eval_flops == 228 * (n_train + n_test + dense_spec().probes.boundary_resolution ** 2)


def test_a_conv_layer_costs_its_weights_at_every_output_pixel() -> None:
    """conv 1→8 5×5 on 28×28: 2·208·24² + 784; the pool reads 8·24²; the output 1152→10: 2·11530 + 1152."""
    spec = JobSpec.model_validate(SMALL_CONV)  # the calibration's convnet, batch 16
    forward = (2 * 208 * 24 * 24 + 784) + 8 * 24 * 24 + 8 * 12 * 12 + (2 * 11530 + 1152)
    assert work_of(spec).step_flops == 3 * forward * 16


def test_seconds_add_steps_and_evaluations_and_a_pack_shares_the_launches() -> None:
    work = Work(layers=4, step_flops=1e6, steps=100, epochs=10, eval_flops=1e8, eval_chunks=2)
    model = CostModel(launch_s=1e-4, flop_s=1e-10)
    assert model.seconds(work) == pytest.approx(100 * (4e-4 + 1e-4) + 10 * (8e-4 + 1e-2))
    assert model.seconds(work, share=4) == pytest.approx(100 * (1e-4 + 1e-4) + 10 * (2e-4 + 1e-2))


# --- the workers' CPU reservations ----------------------------------------------------------------------------


def test_gpu_slots_reserve_a_core_each_out_of_the_cpu_slots() -> None:
    settings = Settings(cpu_slots=None, threads_per_job=1)
    assert cpu_slot_count(settings, 0) == settings.resolved_cpu_slots
    assert cpu_slot_count(settings, 4) == max(1, settings.resolved_cpu_slots - 4)
    assert cpu_slot_count(Settings(cpu_slots=3), 4) == 3  # an explicit setting stands
    assert feed_cpus(16, 12, 1, 4) == 1.0
    assert feed_cpus(2, 1, 1, 4) == 0.25  # what the CPU slots leave, shared
    assert feed_cpus(4, 4, 1, 2) == 0.0
    assert feed_cpus(16, 16, 1, 0) == 0.0


# --- measured on this machine ---------------------------------------------------------------------------------


def test_calibration_on_this_cpu_gives_positive_finite_constants() -> None:
    model = calibrate("cpu", 1)
    assert all(math.isfinite(v) and v > 0 for v in (model.launch_s, model.flop_s, model.calibration_s))


def test_a_started_server_reports_its_measured_cpu_model(api_client: Any, jobkit: Any) -> None:
    """The workers measured at start-up; /api/health shows it (the model comes with each worker's `ready` answer, which
    the server waits for before it serves)."""
    placement = api_client.get("/api/health").json()["placement"]
    assert placement["cpu"]["slots"] == 2 and ("gpu" in placement) == torch.cuda.is_available()
    for kind in placement.values():
        assert all(math.isfinite(kind["model"][k]) and kind["model"][k] > 0 for k in ("launch_s", "flop_s", "calibration_s"))
    job = api_client.post("/api/jobs", json=jobkit.tiny_spec(device="auto")).json()
    assert jobkit.wait_final(api_client, job["id"])["status"] == "completed"
    running = [e for e in jobkit.all_events(api_client, job["id"]) if e.get("status") == "running"]
    assert running[0]["device"] == "cpu"


class Calls(TorchFunctionMode):
    """Records the torch functions a block calls."""

    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []

    def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        self.names.append(getattr(func, "__name__", str(func)))
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize("device", ["cpu", "meta"])
def test_the_strided_maximum_pooling_is_a_cpu_path_only(device: str) -> None:
    """On the CPU evaluation takes the strided maxima; on any other device (meta here, CUDA in the gpu check) torch's
    one pooling kernel."""
    x = torch.zeros(2, 3, 8, 8, device=device)
    with torch.no_grad(), Calls() as calls:
        out = MaxPool2d(2)(x)
    assert out.shape == (2, 3, 4, 4)
    assert ("maximum" in calls.names) == (device == "cpu")
    assert ("max_pool2d" in calls.names) == (device != "cpu")


# --- on CUDA (scripts/gpu-check.sh) ---------------------------------------------------------------------------


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA")
def test_measured_models_put_lenet_on_the_gpu_and_a_tiny_net_on_the_cpu() -> None:
    models = {"cpu": calibrate("cpu", 1), "gpu": calibrate("cuda")}
    print("placement models", {k: m.as_dict() for k, m in models.items()})
    assert models["gpu"].flop_s < models["cpu"].flop_s
    pool = slots("cpu", "gpu")
    conv = place(pool, "auto", lenet_spec(), models, now=NOW)
    tiny = place(pool, "auto", dense_spec(), models, now=NOW)
    assert conv is not None and conv.slot.kind == "gpu"
    assert tiny is not None and tiny.slot.kind == "cpu"


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA")
def test_an_auto_job_on_a_cpu_slot_of_a_gpu_machine_trains_on_the_cpu() -> None:
    from nndojo.train import train

    events: list[dict[str, Any]] = []
    spec = dense_spec(epochs=1)
    assert spec.device == "auto"
    train(spec, events.append, device="cpu")
    assert [e["device"] for e in events if e.get("status") == "running"] == ["cpu"]


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA")
def test_pooling_on_cuda_takes_torchs_kernel() -> None:
    x = torch.zeros(2, 3, 8, 8, device="cuda")
    with torch.no_grad(), Calls() as calls:
        MaxPool2d(2)(x)
    assert "maximum" not in calls.names and "max_pool2d" in calls.names


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA")
def test_a_gpu_worker_releases_its_cached_memory_between_jobs(tmp_path: Path) -> None:
    from nndojo.jobs.worker import SlotWorker

    worker = SlotWorker("cuda", 1, str(tmp_path))
    assert worker.ready() is not None
    block = torch.empty(64 << 20, device="cuda")
    del block
    assert torch.cuda.memory_reserved() > 0
    worker._release()
    assert torch.cuda.memory_reserved() == 0
