"""The trainer end to end: it learns, it shows the syllabus' phenomena, and its events keep the API's promises."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

import pytest
import torch

from nndojo.spec.check import SpecError
from nndojo.spec.models import JobSpec
from nndojo.train import available_devices, train
from nndojo.train.loop import batch_bounds, resolve_device

torch.set_num_threads(1)


def make_spec(**parts: Any) -> JobSpec:
    base: dict[str, Any] = {
        "seed": 0,
        "device": "cpu",
        "dataset": {"name": "circle", "n_samples": 200},
        "model": {"layers": [{"type": "dense", "units": 8, "activation": "tanh"}], "output": {"activation": "softmax"}},
        "training": {"epochs": 3, "batch_size": 10, "optimizer": {"name": "sgd", "lr": 0.1}},
    }
    for key, value in parts.items():
        base[key] = {**base[key], **value} if isinstance(value, dict) and isinstance(base.get(key), dict) else value
    return JobSpec.model_validate(base)


def run(spec: JobSpec, should_stop=lambda: False) -> tuple[str, list[dict[str, Any]]]:
    events: list[dict[str, Any]] = []
    status = train(spec, events.append, should_stop, device="cpu", threads=1)
    return status, events


def epochs_of(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == "epoch"]


def layer(event: dict[str, Any], name: str) -> dict[str, Any]:
    return next(entry for entry in event["layers"] if entry["name"] == name)


@pytest.mark.parametrize("dataset", ["xor", "circle"])
def test_a_two_layer_tanh_network_solves_the_playground_sets(dataset: str) -> None:
    spec = make_spec(
        dataset={"name": dataset, "n_samples": 400},
        training={"epochs": 30, "batch_size": 10, "optimizer": {"name": "adam", "lr": 0.03}},
    )
    status, events = run(spec)
    assert status == "completed"
    last = epochs_of(events)[-1]
    assert last["epoch"] == 30
    assert last["test"]["accuracy"] >= 0.95
    assert epochs_of(events)[0]["test"]["accuracy"] < 0.9  # it was learned, not given


def test_event_stream_keeps_the_api_shape() -> None:
    spec = make_spec(
        model={
            "layers": [{"type": "dense", "units": 8, "activation": "tanh"}, {"type": "dense", "units": 8, "activation": "relu"}],
            "output": {"activation": "sigmoid"},
        },
        probes={"histogram_bins": 12, "boundary_resolution": 20},
    )
    status, events = run(spec)
    assert status == "completed"
    assert events[0] == {"type": "status", "status": "running", "device": "cpu", "n_params": 2 * 8 + 8 + 8 * 8 + 8 + 8 + 1}
    assert events[-1] == {"type": "status", "status": "completed"}
    epochs = epochs_of(events)
    assert [e["epoch"] for e in epochs] == [0, 1, 2, 3]
    assert [e["step"] for e in epochs] == [0, 10, 20, 30]  # 100 training samples in batches of 10
    json.dumps(events, allow_nan=False)
    first, last = epochs[0], epochs[-1]
    assert [entry["name"] for entry in first["layers"]] == ["dense_1", "dense_2", "output"]
    assert all(entry["grad_norm"] == 0.0 for entry in first["layers"])
    assert all(entry["grad_norm"] > 0 for entry in last["layers"])
    for entry in last["layers"]:
        n_weights = {"dense_1": 16, "dense_2": 64, "output": 8}[entry["name"]]
        assert sum(entry["weight_hist"]["counts"]) == n_weights
        assert len(entry["weight_hist"]["edges"]) == 13 and len(entry["weight_hist"]["counts"]) == 12
        assert entry["weight_hist"]["edges"] == layer(first, entry["name"])["weight_hist"]["edges"]  # bins fixed at epoch 0
        hist = entry["activation"]["hist"]
        assert sum(hist["counts"]) + hist.get("zeros", 0) == 100 * (1 if entry["name"] == "output" else 8)  # probe batch = 100 samples
        assert entry["activation"]["hist"]["edges"] == layer(first, entry["name"])["activation"]["hist"]["edges"]
    assert layer(last, "dense_1")["activation"]["hist"]["edges"][0] == -1.0  # tanh's range
    assert layer(last, "dense_2")["activation"]["hist"]["edges"][0] == 0.0  # relu starts at zero
    boundary = last["boundary"]
    assert len(boundary["x"]) == len(boundary["y"]) == 20 and len(boundary["z"]) == 20 and len(boundary["z"][0]) == 20
    assert all(0 <= v <= 1 for row in boundary["z"] for v in row)
    assert boundary["x"][0] == -6.0 and boundary["x"][-1] == 6.0
    assert last["lr"] == 0.1 and last["elapsed_s"] >= first["elapsed_s"]


def test_gradient_norm_is_the_mean_over_the_epochs_steps() -> None:
    """One sample, full batch, plain SGD: the epoch's grad_norm is exactly the one step's gradient norm."""
    spec = make_spec(dataset={"name": "gauss", "n_samples": 20}, training={"epochs": 1, "batch_size": "full"})
    from nndojo.datasets import load_dataset
    from nndojo.nn import build_model
    from nndojo.train.losses import make_loss

    torch.manual_seed(0)
    model = build_model(spec)
    data = load_dataset(spec.dataset, 0, None)  # type: ignore[arg-type]
    make_loss("cross_entropy", "softmax", "classification", 2)(
        model(torch.from_numpy(data.x_train)), torch.from_numpy(data.y_train)
    ).backward()
    expected = [torch.linalg.vector_norm(torch.cat([p.grad.view(-1) for p in params])).item() for params in model.layer_params()]
    _, events = run(spec)
    got = [entry["grad_norm"] for entry in epochs_of(events)[1]["layers"]]
    assert got == pytest.approx(expected, rel=1e-4)


def test_regression_has_no_accuracy_and_a_raw_output_boundary() -> None:
    spec = make_spec(
        dataset={"name": "reg-gauss", "n_samples": 300},
        model={"layers": [{"type": "dense", "units": 16, "activation": "tanh"}], "output": {"activation": "identity"}},
        training={"epochs": 20, "loss": "mse", "optimizer": {"name": "adam", "lr": 0.02}},
    )
    status, events = run(spec)
    epochs = epochs_of(events)
    assert status == "completed"
    assert epochs[-1]["train"]["accuracy"] is None and epochs[-1]["test"]["accuracy"] is None
    assert epochs[-1]["test"]["loss"] < 0.5 * epochs[0]["test"]["loss"]
    assert "boundary" in epochs[-1]


def test_image_sets_have_no_boundary_and_lenet_learns_digits() -> None:
    spec = make_spec(
        dataset={"name": "digits"},
        model={
            "layers": [
                {"type": "conv2d", "filters": 6, "kernel_size": 3, "padding": 1},
                {"type": "maxpool2d"},
                {"type": "flatten"},
                {"type": "dense", "units": 32},
            ],
            "output": {"activation": "softmax"},
        },
        training={"epochs": 3, "batch_size": 32, "optimizer": {"name": "adam", "lr": 0.01}},
    )
    status, events = run(spec)
    epochs = epochs_of(events)
    assert status == "completed"
    assert "boundary" not in epochs[-1]
    assert epochs[-1]["test"]["accuracy"] > 0.8
    assert len(layer(epochs[-1], "conv2d_1")["filters"]) == 6  # the first conv's filters, for the CNN lesson


def test_everything_below_a_step_layer_gets_exactly_zero_gradient_and_never_moves() -> None:
    spec = make_spec(
        model={
            "layers": [
                {"type": "dense", "units": 4, "activation": "tanh"},
                {"type": "dense", "units": 4, "activation": "step"},
                {"type": "dense", "units": 4, "activation": "tanh"},
            ],
            "output": {"activation": "softmax"},
        },
        training={"epochs": 5, "optimizer": {"name": "momentum", "lr": 0.1}},
    )
    status, events = run(spec)
    assert status == "completed"
    first, *rest = epochs_of(events)
    for event in rest:
        assert layer(event, "dense_1")["grad_norm"] == 0.0
        assert layer(event, "dense_2")["grad_norm"] == 0.0  # the step layer's own weights feed its zero derivative
        assert layer(event, "dense_3")["grad_norm"] > 0.0
        for name in ("dense_1", "dense_2"):
            assert layer(event, name)["weights"] == layer(first, name)["weights"]
            assert layer(event, name)["bias"] == layer(first, name)["bias"]
            assert layer(event, name)["weight_norm"] == layer(first, name)["weight_norm"]
    assert layer(rest[-1], "dense_3")["weights"] != layer(first, "dense_3")["weights"]
    assert 0 < layer(first, "dense_2")["activation"]["dead_fraction"] < 1


def _deep(activation: str, init: str) -> list[float]:
    spec = make_spec(
        model={
            "layers": [{"type": "dense", "units": 16, "activation": activation, "init": init}] * 8,
            "output": {"activation": "sigmoid", "init": init},
        },
        training={"epochs": 1},
    )
    _, events = run(spec)
    return [entry["grad_norm"] for entry in epochs_of(events)[1]["layers"]]


def test_deep_sigmoid_gradients_vanish_toward_the_input_and_relu_he_does_not() -> None:
    sigmoid = _deep("sigmoid", "xavier")
    relu = _deep("relu", "he")
    # σ' ≤ 1/4: every sigmoid layer passes back at most a quarter, so the norm shrinks at least ~3x a layer
    assert all(lower < upper / 2.5 for lower, upper in itertools.pairwise(sigmoid[:8]))
    assert sigmoid[0] / sigmoid[7] < 1e-3
    assert relu[0] / relu[7] > 0.05
    assert relu[0] / relu[7] > 100 * sigmoid[0] / sigmoid[7]


def _activations_at_init(activation: str, init: str, std: float = 0.01) -> list[dict[str, float]]:
    hidden = {"type": "dense", "units": 100, "activation": activation, "init": init, "init_std": std}
    spec = make_spec(dataset={"name": "circle", "n_samples": 600}, model={"layers": [hidden] * 5}, training={"epochs": 1})
    _, events = run(spec, should_stop=lambda: True)  # epoch 0 is measured before the first step
    assert events[-1] == {"type": "status", "status": "cancelled"}
    return [entry["activation"] for entry in epochs_of(events)[0]["layers"][:5]]


def test_initialisation_std_decides_saturation_and_relu_he_keeps_the_spread() -> None:
    wide = _activations_at_init("sigmoid", "normal", 1.0)
    assert all(a["saturated_fraction"] > 0.6 for a in wide[1:])  # the textbook's histograms piled at 0 and 1
    narrow = _activations_at_init("sigmoid", "normal", 0.01)
    assert all(abs(a["mean"] - 0.5) < 0.01 and a["std"] < 0.02 and a["saturated_fraction"] == 0 for a in narrow)
    he = _activations_at_init("relu", "he")
    stds = [a["std"] for a in he[1:]]
    assert max(stds) / min(stds) < 1.5
    assert all(0.2 < a["dead_fraction"] < 0.8 for a in he)


def test_a_huge_learning_rate_diverges_cleanly() -> None:
    spec = make_spec(
        dataset={"name": "reg-plane"},
        model={"layers": [{"type": "dense", "units": 8, "activation": "relu"}], "output": {"activation": "identity"}},
        training={"epochs": 50, "loss": "mse", "optimizer": {"name": "sgd", "lr": 50.0}},
    )
    status, events = run(spec)
    assert status == "diverged"
    final = events[-1]
    assert final["type"] == "status" and final["status"] == "diverged"
    assert final["epoch"] == epochs_of(events)[-1]["epoch"] < 50
    assert epochs_of(events)[-1]["train"]["loss"] is None
    json.dumps(events, allow_nan=False)


def test_same_spec_and_seed_give_identical_events() -> None:
    spec = make_spec(
        seed=7,
        model={
            "layers": [{"type": "dense", "units": 8, "activation": "relu"}, {"type": "batchnorm"}, {"type": "dropout", "p": 0.3}],
            "output": {"activation": "softmax"},
        },
        training={"epochs": 3, "optimizer": {"name": "adam", "lr": 0.01}},
    )
    runs = [run(spec)[1] for _ in range(2)]
    for events in runs:
        for event in events:
            event.pop("elapsed_s", None)
    assert runs[0] == runs[1]
    other = run(make_spec(seed=8, model=spec.model.model_dump(), training=spec.training.model_dump()))[1]
    assert epochs_of(other)[1]["test"] != epochs_of(runs[0])[1]["test"]


def test_cancellation_is_honoured_within_a_step() -> None:
    spec = make_spec(dataset={"name": "circle", "n_samples": 2000}, training={"epochs": 10_000, "batch_size": 1})
    calls = 0

    def stop() -> bool:
        nonlocal calls
        calls += 1
        return calls > 150

    started = time.perf_counter()
    status, events = run(spec, stop)
    assert status == "cancelled" and events[-1] == {"type": "status", "status": "cancelled"}
    assert calls == 151  # checked every step: 150 steps of batch 1, then stopped
    assert time.perf_counter() - started < 5


def test_l2_pulls_weights_down_and_l1_shrinks_their_sum() -> None:
    def final_weights(**training: Any) -> dict[str, Any]:
        spec = make_spec(
            model={"layers": [{"type": "dense", "units": 8, "activation": "tanh"}], "output": {"activation": "softmax"}},
            training={"epochs": 20, "optimizer": {"name": "sgd", "lr": 0.05}, **training},
        )
        return epochs_of(run(spec)[1])[-1]

    plain, l2, l1 = final_weights(), final_weights(l2=0.1), final_weights(l1=0.05)
    for name in ("dense_1", "output"):
        assert layer(l2, name)["weight_norm"] < 0.8 * layer(plain, name)["weight_norm"]
        assert sum(abs(w) for row in layer(l1, name)["weights"] for w in row) < 0.8 * sum(
            abs(w) for row in layer(plain, name)["weights"] for w in row
        )


@pytest.mark.parametrize("output", ["softmax", "sigmoid", "identity"])
@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
def test_every_output_and_loss_pairing_trains(output: str, loss: str) -> None:
    spec = make_spec(
        dataset={"name": "gauss"},
        model={"layers": [{"type": "dense", "units": 4, "activation": "tanh"}], "output": {"activation": output}},
        training={"epochs": 5, "loss": loss, "optimizer": {"name": "sgd", "lr": 0.05}},
    )
    status, events = run(spec)
    epochs = epochs_of(events)
    assert status == "completed"
    assert epochs[-1]["train"]["loss"] < epochs[0]["train"]["loss"]
    assert epochs[-1]["test"]["accuracy"] > 0.9


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        (None, [0.1] * 6),
        ({"name": "step", "step_size": 2, "gamma": 0.5}, [0.1, 0.1, 0.1, 0.05, 0.05, 0.025]),
        ({"name": "exponential", "gamma": 0.5}, [0.1, 0.1, 0.05, 0.025, 0.0125, 0.00625]),
        ({"name": "cosine"}, [0.1, 0.1, 0.0904508, 0.0654508, 0.0345492, 0.00954915]),
    ],
)
def test_learning_rate_schedules_per_epoch(schedule: dict | None, expected: list[float]) -> None:
    spec = make_spec(training={"epochs": 5, "lr_schedule": schedule})
    assert [e["lr"] for e in epochs_of(run(spec)[1])] == pytest.approx(expected)


@pytest.mark.parametrize(("batch_size", "steps_per_epoch"), [(1, 100), (7, 15), ("full", 1), (5000, 1)])
def test_batch_sizes(batch_size: int | str, steps_per_epoch: int) -> None:
    spec = make_spec(training={"epochs": 2, "batch_size": batch_size})
    assert [e["step"] for e in epochs_of(run(spec)[1])] == [0, steps_per_epoch, 2 * steps_per_epoch]


def test_batchnorm_needs_two_samples_a_batch() -> None:
    assert batch_bounds(21, 10, merge_single=True) == [(0, 10), (10, 21)]
    assert batch_bounds(21, 10, merge_single=False)[-1] == (20, 21)
    spec = make_spec(model={"layers": [{"type": "dense", "units": 4}, {"type": "batchnorm"}]}, training={"batch_size": 1})
    with pytest.raises(SpecError, match=r"training\.batch_size"):
        run(spec)


def test_events_of_a_100_epoch_playground_job_stay_small() -> None:
    spec = make_spec(
        dataset={"name": "spiral", "n_samples": 500},
        model={"layers": [{"type": "dense", "units": 8, "activation": "tanh"}] * 2, "output": {"activation": "sigmoid"}},
        training={"epochs": 100, "batch_size": 10, "optimizer": {"name": "sgd", "lr": 0.03}},
    )
    _, events = run(spec)
    units = sum(len(json.dumps(e.pop("units"), allow_nan=False)) for e in epochs_of(events) if "units" in e)
    assert len(json.dumps(events, allow_nan=False)) < 1_400_000
    assert units < 2_500_000  # 62 epochs x 16 units x 20² cells, up to 7 bytes each ("-0.65, "): 2.24 MB measured
    carrying = [e["epoch"] for e in epochs_of(events) if "boundary" in e]
    assert carrying[:11] == list(range(11)) and carrying[-1] == 100


def test_devices() -> None:
    assert available_devices()[0] == "cpu"
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="no GPU"):
            resolve_device("cuda")


def test_grad_norm_is_the_losss_gradient_without_the_penalties() -> None:
    """shared/API.md: grad_norm is the norm of the gradient of the loss; L1/L2 are penalties added to the update, not to it.

    One full-batch step from the same initial weights: the loss's gradient is the same with or without a penalty."""

    def first_step_norms(**training: Any) -> list[float]:
        spec = make_spec(training={"epochs": 1, "batch_size": "full", **training})
        return [entry["grad_norm"] for entry in epochs_of(run(spec)[1])[1]["layers"]]

    plain = first_step_norms()
    assert first_step_norms(l2=5.0) == plain
    assert first_step_norms(l1=5.0) == plain


@pytest.mark.parametrize("flat_max", [0, 512])
def test_gradient_norm_accumulator_both_forms_give_the_mean_of_per_step_layer_norms(flat_max: int, monkeypatch) -> None:
    """The flat-copy form (small models) and the foreach-norm form (large ones), across block flushes."""
    from nndojo.train.loop import GradNorms

    monkeypatch.setattr(GradNorms, "FLAT_MAX", flat_max)
    monkeypatch.setattr(GradNorms, "BLOCK", 3)
    torch.manual_seed(0)
    layers = [[torch.nn.Parameter(torch.zeros(4, 3)), torch.nn.Parameter(torch.zeros(4))], [torch.nn.Parameter(torch.zeros(2, 4))]]
    norms = GradNorms(layers, torch.device("cpu"))
    assert (norms.flat is not None) == (flat_max > 0)
    expected = torch.zeros(2)
    for _ in range(7):
        loss = sum((torch.randn_like(p) * p).sum() for params in layers for p in params)
        loss.backward()  # type: ignore[union-attr]
        norms.record()
        expected += torch.stack([torch.linalg.vector_norm(torch.cat([p.grad.view(-1) for p in params])) for params in layers])
        norms.clear()
        assert all(p.grad is None or not p.grad.any() for params in layers for p in params)
    assert torch.allclose(norms.take_mean(7), expected / 7, rtol=1e-5)
    assert torch.equal(norms.take_mean(1), torch.zeros(2))  # reset for the next epoch


@pytest.mark.parametrize("output", ["softmax", "identity"])
def test_epoch_0_is_the_untrained_network_measured_exactly_on_both_sets(output: str) -> None:
    """Train and test loss and accuracy of epoch 0 are the freshly built model's, over every train and test sample."""
    from nndojo.datasets import load_dataset
    from nndojo.nn import build_model
    from nndojo.train.losses import make_loss, predicted_class

    task = "classification" if output == "softmax" else "regression"
    spec = make_spec(
        dataset={"name": "spiral" if task == "classification" else "reg-plane", "n_samples": 300},
        model={"layers": [{"type": "dense", "units": 8, "activation": "relu"}], "output": {"activation": output}},
        training={"epochs": 1, "loss": "cross_entropy" if task == "classification" else "mse"},
    )
    data = load_dataset(spec.dataset, 0, None)  # type: ignore[arg-type]
    torch.manual_seed(0)
    model = build_model(spec)
    loss_fn = make_loss(spec.training.loss, output, task, 2 if task == "classification" else 1)
    first = epochs_of(run(spec)[1])[0]
    with torch.no_grad():
        for split, x, y in (("train", data.x_train, data.y_train), ("test", data.x_test, data.y_test)):
            z = model(torch.from_numpy(x))
            assert first[split]["loss"] == pytest.approx(loss_fn(z, torch.from_numpy(y)).item(), rel=1e-5)
            if task == "classification":
                hits = (predicted_class(z, output) == torch.from_numpy(y)).float().mean().item()
                assert first[split]["accuracy"] == pytest.approx(hits, abs=1e-6)
            else:
                assert first[split]["accuracy"] is None


@pytest.mark.parametrize("batch_max", [0, 1 << 21])
def test_batched_histograms_count_like_histc_with_end_bins_for_outliers_and_nan_first(batch_max: int, monkeypatch) -> None:
    """The batched form and histc (past HIST_BATCH_MAX values) put every value in the same bin, outliers in the end bins."""
    from nndojo.nn.build import LayerInfo
    from nndojo.train import probes as probes_module
    from nndojo.train.probes import Probes, _Layout

    monkeypatch.setattr(probes_module, "HIST_BATCH_MAX", batch_max)

    torch.manual_seed(0)
    a = torch.randn(40, 8)
    a[0, 0], a[0, 1], a[0, 2], a[0, 3] = float("nan"), float("inf"), -float("inf"), 1e9
    w = torch.rand(5, 3) * 4 - 2
    info = LayerInfo("dense_1", "dense", "identity", 0, 1, None, 8)
    probes = Probes.__new__(Probes)  # only the histogram state is needed
    probes.bins, probes.ranges, probes.edges, probes._bin_map = 7, {"a": (-2.0, 2.0), "w": (-1.5, 1.5)}, {}, None
    requests = [("a", a, info), ("w", w, None)]
    layout = _Layout()
    slots = probes._hists(layout, requests)
    got = torch.cat(layout.parts)
    for (s, key), (_, values, _) in zip(slots, requests, strict=True):
        lo, hi = probes.ranges[key]
        expected = torch.histc(values.reshape(-1).clamp(lo, hi).nan_to_num(nan=lo), 7, lo, hi)
        assert torch.equal(got[s], expected), key
        assert got[s].sum() == values.numel()
    assert got[slots[0][0]][0] >= 2 and got[slots[0][0]][-1] >= 2  # NaN and -inf first, inf and 1e9 last


def test_saturated_and_dead_fractions_keep_their_definitions_at_the_thresholds() -> None:
    """sigmoid: y < 0.1 or y > 0.9; tanh: |y| > 0.9 (strictly, so the thresholds themselves are not saturated); dead: y == 0."""
    from nndojo.train.probes import _dead, _saturated

    torch.manual_seed(0)
    edges = torch.tensor([0.1, 0.9, -0.9, 0.0, 0.5, 1.0, -1.0, 0.0999, 0.9001, -0.9001])
    y = torch.cat([edges, torch.rand(1000) * 2 - 1])
    sig = torch.cat([torch.tensor([0.1, 0.9, 0.0, 1.0, 0.5]), torch.rand(1000)])
    assert _saturated(sig, "sigmoid").item() == pytest.approx(((sig < 0.1) | (sig > 0.9)).float().mean().item(), abs=1e-7)
    assert _saturated(y, "tanh").item() == pytest.approx((y.abs() > 0.9).float().mean().item(), abs=1e-7)
    relu = torch.cat([torch.zeros(7), y.relu()])
    assert _dead(relu).item() == pytest.approx((relu == 0).float().mean().item(), abs=1e-7)
    assert _dead((y > 0).float()).item() == pytest.approx((y <= 0).float().mean().item(), abs=1e-7)  # step


def test_evaluation_in_chunks_measures_what_one_chunk_does(monkeypatch) -> None:
    """Big sets are evaluated in chunks (train, test and grid rows stacked); the figures must not depend on the chunking."""
    from nndojo.train import loop

    spec = make_spec(dataset={"name": "spiral", "n_samples": 1200}, training={"epochs": 1})
    whole = epochs_of(run(spec)[1])
    monkeypatch.setattr(loop, "ACTIVATION_BUDGET", 1)  # chunks of one row
    chunked = epochs_of(run(spec)[1])
    for a, b in zip(whole, chunked, strict=True):
        for split in ("train", "test"):
            assert b[split]["loss"] == pytest.approx(a[split]["loss"], rel=1e-5)
            assert b[split]["accuracy"] == pytest.approx(a[split]["accuracy"], abs=1e-6)
        for x, y in zip(a["layers"], b["layers"], strict=True):
            assert [y["activation"][k] for k in ("mean", "std")] == pytest.approx([x["activation"][k] for k in ("mean", "std")], rel=1e-4)
            assert sum(y["activation"]["hist"]["counts"]) == sum(x["activation"]["hist"]["counts"])  # the same probe batch
        assert list(itertools.chain(*b["boundary"]["z"])) == pytest.approx(list(itertools.chain(*a["boundary"]["z"])), abs=0.011)


def test_cross_entropy_without_autograd_matches_torchs() -> None:
    """The probes' evaluation path (log-softmax over the transposed logits on the CPU) gives torch's cross-entropy."""
    import torch.nn.functional as F

    from nndojo.train.losses import make_loss

    loss = make_loss("cross_entropy", "softmax", "classification", 10)
    torch.manual_seed(0)
    for n in (1, 7, 1437):
        z, t = torch.randn(n, 10) * 5, torch.randint(0, 10, (n,))
        with torch.inference_mode():
            assert torch.allclose(loss(z, t), F.cross_entropy(z, t), rtol=1e-6)
    with torch.inference_mode():
        assert loss(torch.tensor([[float("nan"), 1.0]]), torch.tensor([0])).isnan()
