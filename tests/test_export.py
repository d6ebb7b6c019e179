"""Export (docs/api.md "Export"): the .py file, run in a subprocess, prints the run's own final metrics (within 1e-4
relative, on the CPU) for a spread of specs; the server's kept weights load into the exported module and give the
run's numbers again; the notebook validates and executes; the endpoints follow the read rules of a run."""

from __future__ import annotations

import json
import math
import os
import re
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import numpy as np
import pytest
import torch
from safetensors.torch import load

from nndojo.datasets.toy import GENERATORS
from nndojo.datasets.upload import Upload, parse_upload
from nndojo.export.data import csv_name, plot_part, toy_generator_source
from nndojo.export.ja import JA
from nndojo.export.notebook import notebook_file
from nndojo.export.python import Run, import_block, python_file
from nndojo.export.snippet import SNIPPETS, comments
from nndojo.export.weights import weights_bytes
from nndojo.spec.models import JobSpec
from nndojo.train import train
from nndojo.train.control import Controls

ROOT = Path(__file__).resolve().parents[1]
RUFF = Path(sys.executable).with_name("ruff")
PASSWORD = "export teacher password"
EPOCH_LINE = re.compile(r"^epoch +(\d+) +train loss (\S+)(?: +accuracy (\S+))? +test loss (\S+)(?: +accuracy (\S+))?$", re.MULTILINE)


def spec(name: str, dataset: dict[str, Any], layers: list[dict[str, Any]], output: str, training: dict[str, Any], seed: int = 0) -> dict[str, Any]:
    return {
        "name": name,
        "seed": seed,
        "device": "cpu",
        "dataset": dataset,
        "model": {"layers": layers, "output": {"activation": output}},
        "training": training,
        "probes": {"histogram_bins": 10, "boundary_resolution": 10, "unit_resolution": 5},
    }


# Every optimiser, both losses with each output activation, a CNN (conv, LRN, both poolings, batchnorm 2-D, flatten),
# dropout, batchnorm after dense (with its lone-sample batch merge) and an activation layer after it, every schedule, L1 and L2, every init, the step
# activation, a layer without bias, full batch and online SGD, 2-D sets with extra features, a regression, digits.
SPECS: dict[str, dict[str, Any]] = {
    "sgd": spec(
        "sgd spiral\nwith a newline",
        {"name": "spiral", "n_samples": 120, "noise": 0.1, "features": ["x1", "x2", "sin_x1", "x1x2"]},
        [{"type": "dense", "units": 8, "activation": "tanh", "init": "he"}, {"type": "dropout", "p": 0.2}],
        "softmax",
        {"epochs": 4, "batch_size": 8, "optimizer": {"name": "sgd", "lr": 0.1}, "l2": 0.01, "lr_schedule": {"name": "step", "step_size": 2, "gamma": 0.5}},
        seed=3,
    ),
    "momentum": spec(
        "momentum circle",
        {"name": "circle", "n_samples": 101, "noise": 0.2},
        [{"type": "dense", "units": 5, "activation": "identity"}, {"type": "batchnorm"}, {"type": "activation", "activation": "relu"}, {"type": "dense", "units": 3}],
        "sigmoid",
        {"epochs": 3, "batch_size": 10, "loss": "mse", "optimizer": {"name": "momentum", "lr": 0.1}, "l1": 0.001},
        seed=5,
    ),
    "nesterov": spec(
        "nesterov xor",
        {"name": "xor", "n_samples": 100, "features": ["x1", "x2", "x1^2"]},
        [{"type": "dense", "units": 6, "activation": "step", "init": "xavier"}, {"type": "dense", "units": 4, "activation": "sigmoid"}],
        "sigmoid",
        {"epochs": 3, "batch_size": 16, "optimizer": {"name": "nesterov", "lr": 0.05}, "lr_schedule": {"name": "cosine"}},
    ),
    "adagrad": spec(
        "adagrad plane",
        {"name": "reg-plane", "n_samples": 80, "noise": 0.1},
        [{"type": "dense", "units": 4, "activation": "identity", "init": "normal", "init_std": 0.3, "bias": False}],
        "identity",
        {"epochs": 4, "batch_size": "full", "loss": "mse", "optimizer": {"name": "adagrad", "lr": 0.1}},
    ),
    "adadelta": spec(
        "adadelta gauss",
        {"name": "gauss", "n_samples": 90, "noise": 0.3, "features": ["x1", "x2", "x2^2", "sin_x2"]},
        [{"type": "dense", "units": 6, "activation": "leaky_relu", "init": "he"}],
        "softmax",
        {"epochs": 3, "batch_size": 12, "loss": "mse", "optimizer": {"name": "adadelta"}, "lr_schedule": {"name": "exponential", "gamma": 0.9}},
        seed=7,
    ),
    "rmsprop": spec(
        "rmsprop bumps",
        {"name": "reg-gauss", "n_samples": 40, "noise": 0.05},
        [{"type": "dense", "units": 6, "activation": "sigmoid"}],
        "identity",
        {"epochs": 3, "batch_size": 1, "loss": "mse", "optimizer": {"name": "rmsprop", "lr": 0.01}},
    ),
    "adam-moons": spec(
        "adam moons",
        {"name": "moons", "n_samples": 100, "train_limit": 30},
        [{"type": "dense", "units": 5, "activation": "tanh", "init": "zeros"}],
        "identity",
        {"epochs": 3, "batch_size": 7, "optimizer": {"name": "adam", "lr": 0.05}},
    ),
    "adam-cnn": spec(
        "LeNet-ish digits",
        {"name": "digits", "train_limit": 160},
        [
            {"type": "conv2d", "filters": 4, "kernel_size": 3, "padding": 1, "init": "he"},
            {"type": "lrn", "size": 3},
            {"type": "maxpool2d", "kernel_size": 2},
            {"type": "batchnorm"},
            {"type": "conv2d", "filters": 6, "kernel_size": 2, "activation": "tanh"},
            {"type": "avgpool2d", "kernel_size": 2, "stride": 1},
            {"type": "flatten"},
            {"type": "dropout", "p": 0.3},
            {"type": "dense", "units": 12},
        ],
        "softmax",
        {"epochs": 2, "batch_size": 32, "optimizer": {"name": "adam", "lr": 0.01}, "l2": 0.001},
        seed=1,
    ),
}


def csv_rows(seed: int, n: int) -> list[list[float]]:
    generator = np.random.default_rng(seed)
    return generator.normal(0.0, [1.0, 30.0, 0.01], (n, 3)).round(4).tolist()


def iris_like() -> bytes:
    """Text classes, an id column that is not a feature, columns on very different scales, a blank last line."""
    lines = ["id,width,length,tiny,kind"]
    for i, (a, b, c) in enumerate(csv_rows(1, 60)):
        kind = ["setosa", "versicolor", "virginica"][(a > 0) + (b > 10)]
        lines.append(f"{i},{a},{b},{c}, {kind}")
    return ("\n".join(lines) + "\n\n").encode()


def whole_classes() -> bytes:
    """Integer classes written as 1.0 or 2, semicolons, two features: a plane."""
    lines = ["x;y;class"]
    for a, b, _ in csv_rows(2, 50):
        lines.append(f"{a};{b / 30};{'1.0' if a * b > 0 else 2}")
    return "\n".join(lines).encode()


def prices() -> bytes:
    """A regression: the target is a number."""
    lines = ["rooms,area,age,price"]
    for a, b, c in csv_rows(3, 40):
        lines.append(f"{a},{b},{c},{3 * a + b / 10 + 100 * c}")
    return "\n".join(lines).encode()


# An uploaded CSV (nndojo.datasets.upload): the file, its parse options and the rest of a spec for it.
UPLOADED: dict[str, tuple[bytes, str, dict[str, Any], dict[str, Any]]] = {
    "csv-classes": (
        iris_like(),
        "kind",
        {"features": ["width", "length", "tiny"]},
        spec(
            "csv classes",
            {"test_fraction": 0.3},
            [{"type": "dense", "units": 6, "activation": "relu"}],
            "softmax",
            {"epochs": 3, "batch_size": 8, "optimizer": {"name": "adam", "lr": 0.02}},
        ),
    ),
    "csv-plane": (
        whole_classes(),
        "class",
        {},
        spec("csv plane", {"train_limit": 20}, [{"type": "dense", "units": 4}], "sigmoid", {"epochs": 3, "batch_size": 5, "optimizer": {"name": "sgd", "lr": 0.1}}),
    ),
    "csv-regression": (
        prices(),
        "price",
        {"task": "regression"},
        spec("csv prices", {}, [{"type": "dense", "units": 5, "activation": "tanh"}], "identity", {"epochs": 3, "batch_size": 4, "loss": "mse", "optimizer": {"name": "rmsprop", "lr": 0.01}}),
    ),
}
for key, upload_case in UPLOADED.items():
    SPECS[key] = upload_case[3]
IDX_DIR = Path("/usr/share/datasets")  # where the exported file looks for an MNIST-like set (Debian's package)
if (IDX_DIR / "fashion-mnist").is_dir():
    SPECS["idx"] = spec(
        "fashion idx",
        {"name": "fashion-mnist", "train_limit": 300},
        [{"type": "flatten"}, {"type": "dense", "units": 8}],
        "softmax",
        {"epochs": 1, "batch_size": 50, "optimizer": {"name": "adam", "lr": 0.01}},
        seed=4,
    )
# Live control: after the event of epoch e, the learning rate becomes r (PATCH /api/jobs/{id}), mid-schedule.
LIVE_LR: dict[str, dict[int, float]] = {"live-lr": {1: 0.3, 2: 0.02}, "live-lr-full": {2: 0.5}}
SPECS["live-lr"] = spec(
    "live lr",
    {"name": "circle", "n_samples": 80, "noise": 0.1},
    [{"type": "dense", "units": 5, "activation": "tanh"}],
    "softmax",
    {"epochs": 4, "batch_size": 9, "optimizer": {"name": "momentum", "lr": 0.1}, "lr_schedule": {"name": "step", "step_size": 2, "gamma": 0.5}},
)
SPECS["live-lr-full"] = spec(
    "live lr, full batch",
    {"name": "xor", "n_samples": 60},
    [{"type": "dense", "units": 4, "activation": "relu"}],
    "softmax",
    {"epochs": 4, "batch_size": "full", "optimizer": {"name": "sgd", "lr": 0.1}},
)
LANGS = {name: "ja" if i % 2 else "en" for i, name in enumerate(SPECS)}


def train_in_process(
    spec_dict: dict[str, Any], upload: Upload | None = None, live: dict[int, float] | None = None
) -> tuple[str, dict[str, Any], bytes, tuple[tuple[int, float], ...]]:
    """The trainer's status, last epoch event, kept weights and live lr changes (as its control events say them)."""
    events: list[dict[str, Any]] = []
    kept: list[bytes] = []
    controls = Controls()

    def emit(event: dict[str, Any]) -> None:
        events.append(event)
        if event["type"] == "epoch" and event["epoch"] in (live or {}):
            controls.request("lr", (live or {})[event["epoch"]])  # acted on before the next step, as from the API

    keep = lambda model: kept.append(weights_bytes(model))  # noqa: E731
    status = train(JobSpec.model_validate(spec_dict), emit, keep=keep, device="cpu", threads=1, upload=upload, controls=controls, datasets_dir=IDX_DIR)
    assert events[-1]["type"] == "status" and len(kept) == 1, "keep runs once, before the final status event"
    changes = tuple((e["step"], e["value"]) for e in events if e["type"] == "control" and e["action"] == "lr")
    assert len(changes) == len(live or {})
    return status, [e for e in events if e["type"] == "epoch"][-1], kept[0], changes


RUNNER = textwrap.dedent(
    """
    import runpy, sys
    from pathlib import Path
    from safetensors.torch import load_file
    for script, weights in zip(sys.argv[1::2], sys.argv[2::2]):
        print(f"=== {script}", flush=True)
        g = runpy.run_path(script, run_name="__main__")
        g["model"].load_state_dict(load_file(weights))  # strict: every name of the exported module, and no other
        print("weights", *g["evaluate"](g["x_test"], g["y_test"]), flush=True)
        exec(Path(script).with_suffix(".plot").read_text(), g)  # the notebook's look at the data, on this data
        print("plot", type(g["fig"]).__name__, len(g["fig"].data), flush=True)
    """
)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, SimpleNamespace]:
    """Every spec trained here, exported, and run in one subprocess (torch imports once): its output per spec."""
    folder = tmp_path_factory.mktemp("exported")
    runs: dict[str, SimpleNamespace] = {}
    args: list[str] = []
    for name, spec_dict in SPECS.items():
        upload = None
        if name in UPLOADED:
            raw, target, options, _ = UPLOADED[name]
            upload = parse_upload(raw, name, target, **options)
            (folder / csv_name(upload.title)).write_bytes(raw)  # the user's own file, beside the exported one
            spec_dict = {**spec_dict, "dataset": {**spec_dict["dataset"], "name": upload.name}}
        status, last, weights, changes = train_in_process(spec_dict, upload, LIVE_LR.get(name))
        run = Run("0123456789abcdef0123456789abcdef", spec_dict["name"], status, last["epoch"], changes)
        code = python_file(JobSpec.model_validate(spec_dict), run, LANGS[name], upload and upload.meta())  # type: ignore[arg-type]
        script, weights_file = folder / f"{name}.py", folder / f"{name}.safetensors"
        plot = plot_part(JobSpec.model_validate(spec_dict), "en", upload and upload.meta())
        script.with_suffix(".plot").write_text(f"{import_block([plot], plot.code)}\n{plot.code}\n", encoding="utf-8")
        script.write_text(code, encoding="utf-8")
        weights_file.write_bytes(weights)
        runs[name] = SimpleNamespace(status=status, last=last, code=code, script=script, weights=weights)
        args += [str(script), str(weights_file)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", RUNNER, *args], capture_output=True, text=True, timeout=240, env=env, cwd=folder)
    assert done.returncode == 0, done.stderr[-4000:]
    for block in done.stdout.split("=== ")[1:]:
        path, _, output = block.partition("\n")
        runs[Path(path).stem].output = output
    return runs


def close(a: float | None, b: float | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and math.isclose(a, b, rel_tol=1e-4, abs_tol=1e-9))


@pytest.mark.parametrize("name", list(SPECS))
def test_the_exported_file_prints_the_runs_final_metrics(exported: dict[str, SimpleNamespace], name: str) -> None:
    run = exported[name]
    assert run.status == "completed"
    lines = EPOCH_LINE.findall(run.output)
    assert [int(line[0]) for line in lines] == list(range(SPECS[name]["training"]["epochs"] + 1)), run.output
    _, train_loss, train_acc, test_loss, test_acc = lines[-1]
    numbers = [float(v) if v else None for v in (train_loss, train_acc, test_loss, test_acc)]
    wanted = [run.last["train"]["loss"], run.last["train"]["accuracy"], run.last["test"]["loss"], run.last["test"]["accuracy"]]
    assert all(close(a, b) for a, b in zip(numbers, wanted, strict=True)), (numbers, wanted)


@pytest.mark.parametrize("name", list(SPECS))
def test_the_kept_weights_load_and_the_data_plot_draws(exported: dict[str, SimpleNamespace], name: str) -> None:
    """load_state_dict (strict) takes the server's file, and the module then measures the run's final test numbers; the
    notebook's data plot runs on the file's data (2-D points, digit images, an upload's columns)."""
    run = exported[name]
    found = re.search(r"^weights (\S+) (\S+)$", run.output, re.MULTILINE)
    assert found, run.output
    loss, accuracy = float(found[1]), None if found[2] == "None" else float(found[2])
    assert close(loss, run.last["test"]["loss"]) and close(accuracy, run.last["test"]["accuracy"])
    names = set(load(run.weights))
    assert "head.weight" in names and all(n.startswith(("body.", "head.")) for n in names)
    plotted = re.search(r"^plot Figure (\d+)$", run.output, re.MULTILINE)
    assert plotted and int(plotted[1]) >= 1, "the notebook's data plot draws this data"


def test_the_exported_files_pass_the_linter_and_read_in_the_chosen_language(exported: dict[str, SimpleNamespace]) -> None:
    scripts = [str(run.script) for run in exported.values()]
    lint = subprocess.run([str(RUFF), "check", "--no-cache", "--config", str(ROOT / "pyproject.toml"), *scripts], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    for name, run in exported.items():
        texts = [c for c in comments(run.code) if not c.startswith(" ")]
        if LANGS[name] == "ja":
            assert not [c for c in texts if JA.get(c, c) != c], f"{name}: every comment in Japanese"
        else:
            assert not [c for c in texts if re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", c)], name
    header = exported["sgd"].code.splitlines()[0]
    assert header == '# NN Dojo: the run "sgd spiral with a newline", exported as plain PyTorch.', "user text stays one comment line"
    assert "batches[-2:] = [(batches[-2][0], len(x_train))]" in exported["momentum"].code, "51 samples in 10s: the lone last one merged"
    assert "CLASSES = ['setosa', 'versicolor', 'virginica']" in exported["csv-classes"].code
    assert "str(int(float(row[target])))" in exported["csv-plane"].code, "whole-number classes: 1.0 is class '1'"


def test_every_comment_has_its_japanese() -> None:
    missing = {c for s in SNIPPETS for c in comments(s.text) if not c.startswith(" ") and c not in JA}
    missing |= {c for name in GENERATORS for c in comments(toy_generator_source(name)) if c not in JA}
    assert not missing


def test_a_stopped_or_gpu_runs_file_says_so() -> None:
    spec_dict = SPECS["adagrad"]
    code = python_file(JobSpec.model_validate(spec_dict), Run("f" * 32, "x", "cancelled", 2), "en")
    assert "# The run stopped (cancelled) after epoch 2 of 4; this file trains all 4 epochs." in code
    assert "この実行はエポック 2 / 4 で止まりました" in python_file(JobSpec.model_validate(spec_dict), Run("f" * 32, "x", "cancelled", 2), "ja")
    on_gpu = python_file(JobSpec.model_validate(spec_dict), Run.of({"id": "f" * 32, "status": "completed", "epoch": 4, "device": "cuda:0"}), "en")
    assert "# The run trained on a GPU (cuda:0), whose sums round differently" in on_gpu


def test_the_notebook_validates_and_executes(tmp_path: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    from nbclient import NotebookClient

    spec_dict = SPECS["adam-moons"]
    status, last, _, _ = train_in_process(spec_dict)
    text = notebook_file(JobSpec.model_validate(spec_dict), Run("a" * 32, "moons", status, last["epoch"]), "ja")
    book = nbformat.reads(text, as_version=4)
    nbformat.validate(book)
    assert [c.id for c in book.cells if c.cell_type == "code"] == ["setup", "data", "data-plot", "model", "training", "curve"]
    NotebookClient(book, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    cells = {c.id: c for c in book.cells}
    printed = "".join(o.get("text", "") for o in cells["training"].outputs)
    final = EPOCH_LINE.findall(printed)[-1]
    assert close(float(final[3]), last["test"]["loss"]) and close(float(final[4]), last["test"]["accuracy"])
    for plot in ("data-plot", "curve"):
        assert any("application/vnd.plotly.v1+json" in o.get("data", {}) for o in cells[plot].outputs), plot


# --- the endpoints, on a classroom server ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, jobkit: SimpleNamespace) -> Iterator[SimpleNamespace]:
    env = {"NNDOJO_MODE": "classroom", "NNDOJO_TEACHER_PASSWORD": PASSWORD}
    process = jobkit.start_server(tmp_path_factory.mktemp("export"), env)
    try:
        yield process
    finally:
        process.stop()


def login(url: str, body: dict[str, Any]) -> httpx.Client:
    http = httpx.Client(base_url=url, timeout=60)
    assert http.post("/api/session", json=body).status_code == 200
    return http


def test_the_endpoints_follow_the_read_rules(server: SimpleNamespace, jobkit: SimpleNamespace) -> None:
    teacher = login(server.url, {"password": PASSWORD})
    code = teacher.post("/api/classes", json={"name": "export"}).json()["code"]
    owner, mate = login(server.url, {"class_code": code, "name": "Owner"}), login(server.url, {"class_code": code, "name": "Mate"})
    spec_dict = jobkit.tiny_spec(3, name="tiny export")
    job = owner.post("/api/jobs", json=spec_dict).json()
    running = owner.post("/api/jobs", json=jobkit.long_spec()).json()
    done = jobkit.wait_final(owner, job["id"])
    base = f"/api/jobs/{job['id']}/export"

    python = owner.get(f"{base}/python", params={"lang": "ja"})
    assert python.status_code == 200 and python.headers["content-type"].startswith("text/x-python")
    assert python.headers["content-disposition"] == 'attachment; filename="nndojo-tiny-export.py"'
    assert python.text == python_file(JobSpec.model_validate(done["spec"]), Run.of(done), "ja")
    assert owner.get(f"{base}/python").text == python_file(JobSpec.model_validate(done["spec"]), Run.of(done), "en")
    book = owner.get(f"{base}/notebook")
    assert book.status_code == 200 and json.loads(book.text)["nbformat"] == 4
    assert book.headers["content-disposition"] == 'attachment; filename="nndojo-tiny-export.ipynb"'
    weights = owner.get(f"{base}/weights")
    assert weights.status_code == 200 and weights.headers["content-type"] == "application/octet-stream"
    state = load(weights.content)
    assert {n: tuple(t.shape) for n, t in state.items()} == {"body.0.weight": (4, 2), "body.0.bias": (4,), "head.weight": (1, 4), "head.bias": (1,)}
    assert all(torch.isfinite(t).all() for t in state.values())

    for path in ("python", "notebook", "weights"):
        assert mate.get(f"{base}/{path}").status_code == 404, "an unshared run is invisible to a classmate"
        assert teacher.get(f"{base}/{path}").status_code == 200
    assert owner.get(f"{base}/python", params={"lang": "fr"}).status_code == 422

    jobkit.wait_running(owner, running["id"])
    assert owner.patch(f"/api/jobs/{running['id']}", json={"lr": 0.02}).status_code == 200
    busy = owner.get(f"/api/jobs/{running['id']}/export/weights")
    assert busy.status_code == 409 and busy.json()["detail"]["code"] == "run_not_finished"
    assert owner.post(f"/api/jobs/{running['id']}/cancel").json()["status"] == "cancelled"
    stopped = owner.get(f"/api/jobs/{running['id']}/export/weights")
    assert stopped.status_code == 200 and "head.weight" in load(stopped.content), "a stopped run keeps its weights as they were"
    stopped_code = owner.get(f"/api/jobs/{running['id']}/export/python").text
    assert "# The run stopped (cancelled)" in stopped_code
    assert re.search(r"^LR_CHANGES = \[\(\d+, 0\.02\)\]$", stopped_code, re.MULTILINE), "the live change is repeated"

    upload = owner.post("/api/datasets", files={"file": ("prices.csv", prices(), "text/csv")}, data={"target": "price", "task": "regression"})
    assert upload.status_code == 201, upload.text
    model = {"layers": spec_dict["model"]["layers"], "output": {"activation": "identity"}}
    on_csv = owner.post("/api/jobs", json={**spec_dict, "dataset": {"name": upload.json()["name"]}, "model": model, "training": {**spec_dict["training"], "loss": "mse"}}).json()
    jobkit.wait_final(owner, on_csv["id"])
    code = owner.get(f"/api/jobs/{on_csv['id']}/export/python").text
    assert "DATA_FILE = Path('prices.csv')" in code and "TARGET = 'price'" in code
    assert owner.delete(f"/api/datasets/{upload.json()['name']}").status_code == 200
    gone = owner.get(f"/api/jobs/{on_csv['id']}/export/python")
    assert gone.status_code == 409 and gone.json()["detail"]["code"] == "upload_deleted"
    assert owner.get(f"/api/jobs/{on_csv['id']}/export/weights").status_code == 200, "the weights need no file"

    assert owner.delete(f"/api/jobs/{job['id']}").status_code == 200
    assert owner.get(f"{base}/weights").status_code == 404
    with sqlite3.connect(server.data_dir / "nndojo.db") as db:
        assert db.execute("select count(*) from weights where job_id = ?", (job["id"],)).fetchone() == (0,), "deleted with the job"
        assert db.execute("select count(*) from weights where job_id = ?", (running["id"],)).fetchone() == (1,)


def test_weights_travel_in_frames_under_the_frame_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """A weights file larger than one frame's chunk arrives whole, in order, each frame with its place in the file."""
    from nndojo.jobs import wire

    monkeypatch.setattr(wire, "WEIGHTS_CHUNK", 1000)
    data = bytes(range(256)) * 10
    frames = [wire.decode_body(frame[4:]) for frame in wire.weights_frames("job", data)]
    assert [f.meta for f in frames] == [{"offset": o, "total": 2560} for o in (0, 1000, 2000)]
    assert all(f.kind == wire.WEIGHTS and f.job_id == "job" for f in frames)
    assert b"".join(f.payload for f in frames) == data
    assert wire.MAX_WEIGHTS_BYTES >= 4 * 2 * 10_000_000, "the largest model a spec allows fits"


def test_a_spec_this_version_cannot_read_is_a_409() -> None:
    from fastapi import HTTPException

    from nndojo.api.export import code_of

    job = {"id": "e" * 32, "status": "completed", "epoch": 3, "spec": {**SPECS["sgd"], "training": {"epochs": 3, "momentum_typo": 1}}}
    with pytest.raises(HTTPException) as refused:
        code_of(job, SimpleNamespace(get=lambda name: None), python_file, Run.of(job), "en")  # type: ignore[arg-type]
    assert refused.value.status_code == 409 and refused.value.detail["code"] == "spec_outdated"
