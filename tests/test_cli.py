"""The `nndojo` command and the examples: every example validates, passes check_spec and trains through the CLI's code path."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import torch

from nndojo.cli import load_spec, main, run_train
from nndojo.config import get_settings
from nndojo.datasets import DatasetUnavailable
from nndojo.spec.check import check_spec
from nndojo.train.race import RaceRequest, race

torch.set_num_threads(1)

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SPECS = sorted(EXAMPLES.glob("*.json"))
RACES = sorted((EXAMPLES / "race").glob("*.json"))


def test_there_is_an_example_per_syllabus_topic() -> None:
    names = " ".join(p.stem for p in SPECS)
    for topic in ("xor", "circle", "spiral", "step", "vanishing-sigmoid", "relu-he", "init-std-1", "init-std-0.01", "batchnorm",
                  "overfitting", "l2", "dropout", "lenet-digits", "alexnet-fashion-mnist", "regression"):  # fmt: skip
        assert topic in names, topic
    optimizers = {json.loads(p.read_text())["training"]["optimizer"]["name"] for p in SPECS}
    assert optimizers == {"sgd", "momentum", "nesterov", "adagrad", "adadelta", "rmsprop", "adam"}


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_every_example_validates_checks_and_trains_an_epoch(path: Path) -> None:
    spec = load_spec(path)
    check_spec(spec)
    capped = load_spec(path, epochs=1, train_limit=64)
    out = io.StringIO()
    try:
        status = run_train(capped, device="cpu", eval_limit=128, progress=False, out=out, datasets_dir=get_settings().datasets_dir)
    except DatasetUnavailable as exc:
        pytest.skip(str(exc))
    assert status in ("completed", "diverged"), out.getvalue()
    assert "output" in out.getvalue() and "grad_norm" in out.getvalue()


def test_alexnet_example_is_the_syllabus_shape() -> None:
    layers = load_spec(next(p for p in SPECS if "alexnet" in p.stem)).model.layers
    kinds = [layer.type for layer in layers]
    assert kinds.count("conv2d") == 5 and kinds.count("dense") + 1 == 3  # 2 hidden dense + the output layer
    assert {"lrn", "dropout", "maxpool2d"} <= set(kinds)
    assert all(layer.activation == "relu" for layer in layers if hasattr(layer, "activation"))


@pytest.mark.parametrize("path", RACES, ids=lambda p: p.stem)
def test_race_examples_run(path: Path) -> None:
    result = race(RaceRequest.model_validate_json(path.read_text()))
    json.dumps(result, allow_nan=False)


def test_train_command_writes_numbered_events(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = tmp_path / "events.jsonl"
    code = main(
        ["train", str(EXAMPLES / "01-xor-basics.json"), "--events", str(events), "--device", "cpu", "--epochs", "3", "--no-progress"]
    )
    assert code == 0
    lines = [json.loads(line) for line in events.read_text().splitlines()]
    assert [e["seq"] for e in lines] == list(range(len(lines)))
    assert lines[0]["status"] == "running" and lines[-1] == {"seq": len(lines) - 1, "type": "status", "status": "completed"}
    assert [e["epoch"] for e in lines if e["type"] == "epoch"] == [0, 1, 2, 3]
    printed = capsys.readouterr().out
    assert "completed" in printed and "dense_1" in printed and "test  loss" in printed


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ('{"model": {"layers": [{"type": "dense", "units": -1}]}}', "model.layers.0.dense.units"),
        ('{"dataset": {"name": "reg-plane"}}', "training.loss"),
        ('{"training": {"epochs": 0}}', "training.epochs"),
        ("{not json", "not valid JSON"),
        ("[1, 2]", "a job spec is a JSON object"),
    ],
)
def test_a_bad_spec_prints_the_field_and_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, fragment: str) -> None:
    path = tmp_path / "spec.json"
    path.write_text(content)
    assert main(["train", str(path), "--no-progress"]) == 2
    assert fragment in capsys.readouterr().err


def test_a_missing_spec_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", str(tmp_path / "nope.json")]) == 2
    assert "cannot read the spec" in capsys.readouterr().err


def test_a_missing_image_folder_is_a_clear_failure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"dataset": {"name": "mnist"}, "model": {"layers": [{"type": "flatten"}]}}))
    assert main(["train", str(spec), "--datasets-dir", str(tmp_path), "--no-progress"]) == 1
    assert "mnist" in capsys.readouterr().err
