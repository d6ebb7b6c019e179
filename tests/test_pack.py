"""Packing (nndojo.train.pack): jobs trained as one stacked model emit the events their solo runs emit.

Losses and accuracies agree with the solo run to 1e-5 relative at every epoch of 100; numbers sent at 4 significant
digits or 2 decimals (loss_steps, weights, boundary, unit maps) to one unit of their last digit; histogram counts to a
few samples that sit on a bin edge. Datasets are tiny so that the whole file runs in well under a minute.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import orjson
import pytest
import torch

from nndojo.jobs.wire import to_json
from nndojo.nn.build import Net
from nndojo.spec.models import JobSpec
from nndojo.spec.packing import signature
from nndojo.train import train
from nndojo.train.control import Controls
from nndojo.train.pack import Pack

# the stacked parameters' gradient views keep their strides; torch warns about the layout all the same (nndojo.train.pack)
pytestmark = pytest.mark.filterwarnings("ignore:grad and param do not obey the gradient layout contract")

OPTIMISERS = {
    "sgd": {"lr": 0.3},
    "momentum": {"lr": 0.05, "momentum": 0.8},
    "nesterov": {"lr": 0.05, "momentum": 0.85},
    "adagrad": {"lr": 0.1, "eps": 1e-6},
    "adadelta": {"lr": 1.0, "rho": 0.9},
    "rmsprop": {"lr": 0.01, "rho": 0.95},
    "adam": {"lr": 0.02, "beta1": 0.85, "beta2": 0.99},
}
SCHEDULES = [None, {"name": "step", "step_size": 30, "gamma": 0.5}, {"name": "exponential", "gamma": 0.98}, {"name": "cosine"}]
PENALTIES = [{}, {"l2": 0.003}, {"l1": 0.001}, {"l1": 0.0005, "l2": 0.002}]


def make_spec(
    seed: int, optimizer: dict[str, Any], *, epochs: int = 100, layers: list[dict[str, Any]] | None = None, **training: Any
) -> JobSpec:
    output = training.pop("output", "sigmoid")
    dataset = training.pop("dataset", "circle")
    return JobSpec.model_validate(
        {
            "seed": seed,
            "dataset": {"name": dataset, "n_samples": 40, "noise": 0.1},
            "model": {"layers": layers or [{"type": "dense", "units": 4, "activation": "tanh"}] * 2, "output": {"activation": output}},
            "training": {"epochs": epochs, "batch_size": 5, "optimizer": optimizer, **training},
            "probes": {"histogram_bins": 10, "boundary_resolution": 10, "unit_resolution": 5},
        }
    )


def solo(spec: JobSpec, **kw: Any) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    train(spec, events.append, **kw)
    return events


def as_received(event: dict[str, Any]) -> dict[str, Any]:
    """A pack's event as the server receives it (its grids come as JSON text, which wire.to_json splices in)."""
    return orjson.loads(to_json(event))


def receiver(into: list[dict[str, Any]]) -> Callable[[dict[str, Any]], None]:
    return lambda event: into.append(as_received(event))


def packed(specs: list[JobSpec], device: str = "cpu") -> list[list[dict[str, Any]]]:
    pack = Pack(device=device)
    got: list[list[dict[str, Any]]] = [[] for _ in specs]
    for i, spec in enumerate(specs):
        pack.add(str(i), spec, receiver(got[i]))
    pack.run()
    return got


def close(a: float | None, b: float | None, rel: float, absolute: float = 0.0) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) <= rel * max(abs(a), abs(b)) + absolute


def last_digit(a: float, b: float, digits: int = 4, floor: float = 1e-6) -> bool:
    """Equal to one unit of the last of `digits` significant digits (both sides rounded to them), or within `floor`
    (a weight near 0, where a drift of 1e-9 shows in its 4th significant digit)."""
    scale = 10 ** (math.floor(math.log10(max(abs(a), abs(b), 1e-30))) - digits + 1)
    return abs(a - b) <= max(1.01 * scale, floor)


def assert_same_events(want: list[dict[str, Any]], got: list[dict[str, Any]]) -> None:
    assert [(e["type"], e.get("status"), e.get("epoch")) for e in got] == [(e["type"], e.get("status"), e.get("epoch")) for e in want]
    for a, b in zip(want, got, strict=True):
        assert set(a) == set(b), (a["type"], a.get("epoch"))
        if a["type"] != "epoch":
            assert {k: v for k, v in a.items() if k != "device"} == {k: v for k, v in b.items() if k != "device"}
            continue
        where = f"epoch {a['epoch']}"
        assert (a["step"], a["lr"]) == (b["step"], b["lr"]), where
        for split in ("train", "test"):
            assert set(a[split]) == set(b[split]), where
            for key in ("loss", "accuracy"):
                assert close(a[split][key], b[split][key], 1e-5), (where, split, key, a[split][key], b[split][key])
        assert a["train"].get("loss_every") == b["train"].get("loss_every")
        assert all(last_digit(x, y) for x, y in zip(a["train"]["loss_steps"], b["train"]["loss_steps"], strict=True)), where
        assert ("layers" in a) == ("layers" in b), where
        for la, lb in zip(a.get("layers", []), b.get("layers", []), strict=True):
            assert set(la) == set(lb) and set(la["activation"]) == set(lb["activation"]), (where, la["name"])
            for key in ("grad_norm", "weight_norm"):
                assert close(la[key], lb[key], 1e-4, 1e-7), (where, la["name"], key, la[key], lb[key])
            for key in ("mean", "std", "saturated_fraction", "dead_fraction", "dead_units"):
                if key in la["activation"]:
                    assert close(la["activation"][key], lb["activation"][key], 1e-4, 1e-6), (where, la["name"], key)
            for key in ("weights", "bias"):
                if key in la:
                    flat_a, flat_b = torch.tensor(la[key]).flatten().tolist(), torch.tensor(lb[key]).flatten().tolist()
                    # Adam's normalised steps move a near-zero weight by ~η whatever its tiny gradient: a rounding there
                    # shows in its digits, not in the loss. Such values count to 1e-3 of the tensor's largest.
                    floor = 1e-3 * max(abs(v) for v in flat_a + flat_b)
                    bad = [(x, y) for x, y in zip(flat_a, flat_b, strict=True) if not last_digit(x, y, floor=max(floor, 1e-6))]
                    assert not bad, (where, la["name"], key, bad)
            hists = [(la["activation"].get("hist"), lb["activation"].get("hist")), (la.get("weight_hist"), lb.get("weight_hist"))]
            for ha, hb in hists:
                assert (ha is None) == (hb is None)
                if ha is not None:
                    assert ha["edges"] == hb["edges"] and sum(ha["counts"]) == sum(hb["counts"]), (where, la["name"])
                    assert sum(abs(x - y) for x, y in zip(ha["counts"], hb["counts"], strict=True)) <= 4, (where, la["name"], ha, hb)
        if "boundary" in a:
            za, zb = torch.tensor(a["boundary"]["z"], dtype=torch.float64), torch.tensor(b["boundary"]["z"], dtype=torch.float64)
            assert a["boundary"]["x"] == b["boundary"]["x"] and (za - zb).abs().max() <= 0.0101, where
        assert set(a.get("units", {})) == set(b.get("units", {})), where
        for name, maps in a.get("units", {}).items():
            ua, ub = torch.tensor(maps, dtype=torch.float64), torch.tensor(b["units"][name], dtype=torch.float64)
            assert (ua - ub).abs().max() <= 0.0101, (where, name)


@pytest.mark.parametrize("name", list(OPTIMISERS))
def test_every_optimiser_with_schedules_and_penalties_matches_solo(name: str) -> None:
    """Four jobs a pack, each with its own seed, learning rate, hyper-parameters, schedule and L1/L2."""
    specs = []
    for k, (schedule, penalty) in enumerate(zip(SCHEDULES, PENALTIES, strict=True)):
        hyper = dict(OPTIMISERS[name], name=name, lr=OPTIMISERS[name]["lr"] * (1 + 0.2 * k))
        specs.append(make_spec(11 + k, hyper, lr_schedule=schedule, **penalty))
    for spec, got in zip(specs, packed(specs), strict=True):
        assert_same_events(solo(spec), got)


@pytest.mark.parametrize(
    ("loss", "output", "dataset", "layers"),
    [
        (
            "mse",
            "sigmoid",
            "xor",
            [{"type": "dense", "units": 5, "activation": "relu"}, {"type": "dense", "units": 3, "activation": "leaky_relu", "bias": False}],
        ),
        (
            "cross_entropy",
            "softmax",
            "moons",
            [{"type": "dense", "units": 4, "activation": "sigmoid", "init": "he"}, {"type": "dense", "units": 3, "activation": "step"}],
        ),
        ("mse", "softmax", "gauss", [{"type": "dense", "units": 6, "activation": "identity", "init": "xavier"}]),
        ("mse", "identity", "reg-plane", [{"type": "dense", "units": 4, "activation": "tanh", "init": "normal", "init_std": 0.5}]),
    ],
)
def test_losses_outputs_and_dense_layers_match_solo(loss: str, output: str, dataset: str, layers: list[dict[str, Any]]) -> None:
    specs = [
        make_spec(seed, {"name": "momentum", "lr": 0.05 * seed}, layers=layers, loss=loss, output=output, dataset=dataset)
        for seed in (1, 2, 3)
    ]
    for spec, got in zip(specs, packed(specs), strict=True):
        assert_same_events(solo(spec), got)


def test_dropout_at_each_members_own_rate_matches_solo() -> None:
    """Dropout on the inputs, after a layer, twice in a row, and at 0: each member draws its solo run's masks, at its
    own rates, joining when the others are half-way."""
    layers = [
        {"type": "dropout", "p": 0.1},
        {"type": "dense", "units": 6, "activation": "relu"},
        {"type": "dropout", "p": 0.5},
        {"type": "dropout", "p": 0.2},
        {"type": "dense", "units": 4, "activation": "tanh"},
        {"type": "dropout", "p": 0.3},
    ]
    rates = [(0.1, 0.5, 0.2, 0.3), (0.0, 0.3, 0.0, 0.6), (0.25, 0.1, 0.4, 0.0)]

    def with_rates(seed: int, ps: tuple[float, ...], epochs: int) -> JobSpec:
        it = iter(ps)
        own = [dict(layer, p=next(it)) if layer["type"] == "dropout" else layer for layer in layers]
        return make_spec(seed, {"name": "adam", "lr": 0.01 * seed}, layers=own, epochs=epochs)

    specs = [with_rates(seed, ps, 30) for seed, ps in zip((1, 2, 3), rates, strict=True)]
    late = with_rates(4, (0.5, 0.5, 0.5, 0.5), 20)
    got: dict[str, list[dict[str, Any]]] = {str(i): [] for i in range(4)}
    pack = Pack()
    for i, spec in enumerate(specs):
        pack.add(str(i), spec, receiver(got[str(i)]))

    def boundary(p: Pack) -> None:
        if got["0"] and got["0"][-1].get("epoch") == 15 and not got["3"]:
            p.add("3", late, receiver(got["3"]))

    pack.run(boundary)
    for i, spec in enumerate([*specs, late]):
        want = solo(spec)
        assert_same_events(want, got[str(i)])
    # dropout is on: a member without it trains elsewhere
    assert solo(specs[0])[-2]["train"]["loss"] != solo(make_spec(1, {"name": "adam", "lr": 0.01}, layers=[layers[1], layers[4]], epochs=30))[-2]["train"]["loss"]


def test_jobs_join_and_leave_without_disturbing_the_others() -> None:
    """One job (of fewer epochs) joins at epoch 5 of the others, one diverges, one is cancelled after its epoch 3: the rest still match
    their solo runs event for event."""
    steady = make_spec(1, {"name": "sgd", "lr": 0.01}, epochs=30, loss="mse", output="identity")
    late = make_spec(2, {"name": "sgd", "lr": 0.03}, epochs=20, loss="mse", output="identity")  # epochs may differ
    wild = make_spec(3, {"name": "sgd", "lr": 100.0}, epochs=30, loss="mse", output="identity")
    stopped = make_spec(4, {"name": "sgd", "lr": 0.01}, epochs=30, loss="mse", output="identity")
    wild_solo = solo(wild)
    assert wild_solo[-1]["status"] == "diverged", "the wild job must diverge for this test to mean anything"
    events: dict[str, list[dict[str, Any]]] = {name: [] for name in ("steady", "late", "wild", "stopped")}
    cancel = {"flag": False}

    def stopped_emit(event: dict[str, Any]) -> None:
        events["stopped"].append(as_received(event))
        if event.get("epoch") == 3 and event["type"] == "epoch":
            cancel["flag"] = True

    pack = Pack()
    pack.add("steady", steady, receiver(events["steady"]))
    pack.add("wild", wild, receiver(events["wild"]))
    pack.add("stopped", stopped, stopped_emit, lambda: cancel["flag"])

    def boundary(p: Pack) -> None:
        if events["steady"][-1].get("epoch") == 5 and not events["late"]:
            p.add("late", late, receiver(events["late"]))

    outcomes = pack.run(boundary)
    assert outcomes == {"steady": "completed", "late": "completed", "wild": "diverged", "stopped": "cancelled"}
    assert_same_events(solo(steady), events["steady"])
    assert_same_events(solo(late), events["late"])
    # a diverging run amplifies rounding: the same epochs and outcome, and the same epoch 0
    assert [(e["type"], e.get("status"), e.get("epoch")) for e in events["wild"]] == [
        (e["type"], e.get("status"), e.get("epoch")) for e in wild_solo
    ]
    assert_same_events(wild_solo[:2], events["wild"][:2])
    stopped_solo = solo(stopped)
    assert [e.get("epoch") for e in events["stopped"] if e["type"] == "epoch"] == [0, 1, 2, 3]
    assert events["stopped"][-1] == {"type": "status", "status": "cancelled"}
    assert_same_events(stopped_solo[:5], events["stopped"][:5])


def test_a_paused_member_waits_outside_the_pack_and_ends_as_its_solo_run() -> None:
    """Pause after epoch 2 (requested from inside the run, so no clock is involved), one epoch stepped when the other job
    reaches epoch 6, resume at its epoch 10, then an lr change: control events at those epochs, and the losses of a
    solo run with the same changes."""
    spec = make_spec(5, {"name": "sgd", "lr": 0.2}, epochs=20)
    other = make_spec(6, {"name": "sgd", "lr": 0.2}, epochs=20)
    controls = Controls()
    got: list[dict[str, Any]] = []
    other_events: list[dict[str, Any]] = []

    def emit(event: dict[str, Any]) -> None:
        got.append(as_received(event))
        if event["type"] == "epoch" and event["epoch"] == 2:
            controls.request("pause")
        if event["type"] == "epoch" and event["epoch"] == 4:
            controls.request("lr", 0.05)

    def other_emit(event: dict[str, Any]) -> None:
        other_events.append(as_received(event))
        if event["type"] == "epoch" and event["epoch"] == 6:
            controls.request("step")
        if event["type"] == "epoch" and event["epoch"] == 10:
            controls.request("resume")

    pack = Pack()
    pack.add("a", spec, emit, controls=controls)
    pack.add("b", other, other_emit)
    assert pack.run() == {"a": "completed", "b": "completed"}
    controls_seen = [(e["action"], e["epoch"]) for e in got if e["type"] == "control"]
    assert controls_seen == [("pause", 2), ("step", 2), ("pause", 3), ("resume", 3), ("lr", 4)]
    first_done = [e["epoch"] for e in other_events if e["type"] == "epoch"]
    assert first_done == list(range(21))
    # the same run solo: pause and resume change nothing; the lr of epoch 5 on is 0.05
    want = solo(spec.model_copy(update={"training": spec.training.model_copy(update={"epochs": 4})}))
    epochs = [e for e in got if e["type"] == "epoch"]
    assert_same_events([e for e in want if e["type"] == "epoch"], epochs[:5])
    assert [e["lr"] for e in epochs[5:]] == [0.05] * 16


def test_keep_gets_the_weights_of_the_solo_run() -> None:
    spec = make_spec(7, {"name": "rmsprop", "lr": 0.01}, epochs=20)
    kept: dict[str, Net] = {}
    solo(spec, keep=lambda model: kept.setdefault("solo", model))
    pack = Pack()
    pack.add("a", spec, lambda e: None, keep=lambda model: kept.setdefault("pack", model))
    pack.add("b", make_spec(8, {"name": "rmsprop", "lr": 0.02}, epochs=20), lambda e: None)
    pack.run()
    for (name, a), b in zip(kept["solo"].state_dict().items(), kept["pack"].state_dict().values(), strict=True):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-6), name


def test_signature_groups_only_what_can_train_together() -> None:
    a = make_spec(1, {"name": "sgd", "lr": 0.1})
    assert signature(a) is not None
    assert signature(a) == signature(make_spec(9, {"name": "sgd", "lr": 0.5}, l2=0.1, lr_schedule={"name": "cosine"}, epochs=7))
    assert signature(a) != signature(make_spec(1, {"name": "adam", "lr": 0.1}))
    assert signature(a) != signature(make_spec(1, {"name": "sgd", "lr": 0.1}, layers=[{"type": "dense", "units": 5, "activation": "tanh"}]))
    dropout = [{"type": "dense", "units": 4, "activation": "tanh"}, {"type": "dropout", "p": 0.2}]
    other_rate = [dropout[0], {"type": "dropout", "p": 0.6}]
    assert signature(make_spec(1, {"name": "sgd", "lr": 0.1}, layers=dropout)) == signature(make_spec(2, {"name": "sgd", "lr": 0.1}, layers=other_rate))
    assert signature(make_spec(1, {"name": "sgd", "lr": 0.1}, layers=dropout)) != signature(make_spec(1, {"name": "sgd", "lr": 0.1}, layers=dropout[:1]))
    batchnorm = [dropout[0], {"type": "batchnorm"}]
    assert signature(make_spec(1, {"name": "sgd", "lr": 0.1}, layers=batchnorm)) is None
    assert signature(make_spec(1, {"name": "sgd", "lr": 0.1}, dataset="digits", output="softmax")) is None  # 10 classes: confusion
    with pytest.raises(ValueError, match="does not fit"):
        pack = Pack()
        pack.add("a", a, lambda e: None)
        pack.add("b", make_spec(1, {"name": "adam", "lr": 0.1}), lambda e: None)
