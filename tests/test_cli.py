"""The `nndojo` command and the examples: every example validates, passes check_spec and trains through the CLI's code path."""

from __future__ import annotations

import argparse
import io
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
import torch

from nndojo import __version__
from nndojo.cli import add_settings_flags, env_name, load_spec, main, run_train, settings_from
from nndojo.config import Settings, get_settings
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
    err = capsys.readouterr().err
    assert "mnist" in err.lower() and str(tmp_path / "mnist") in err and "NNDOJO_DATASETS_DIR" in err  # where, and how to fix it


# --- nndojo serve, nndojo backup, nndojo --version: real processes ---------------------------------------------------


def nndojo(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Runs `nndojo ARGS` as a user would, to its exit."""
    full_env = {**clean_env(), **(env or {})}
    return subprocess.run([sys.executable, "-m", "nndojo.cli", *args], env=full_env, capture_output=True, text=True, timeout=timeout)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_env() -> dict[str, str]:
    """This environment without any server setting, so that a test's flags and variables are the only ones."""
    names = {env_name(name, field) for name, field in Settings.model_fields.items()}
    return {key: value for key, value in os.environ.items() if key not in names} | {"OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def snapshot(directory: Path) -> dict[str, tuple[int, int]]:
    """Every file under `directory` with its size and modification time."""
    return {str(p.relative_to(directory)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.fixture(autouse=True)
def restore_environ() -> Iterator[None]:
    """main() puts its flags into os.environ (see settings_from): undo that after each test, or later tests' servers
    inherit them (a leaked --datasets-dir once pointed every later server at an empty folder)."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)
    get_settings.cache_clear()


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """No server setting in the environment; whatever a test or settings_from() puts there is undone afterwards."""
    for name, field in Settings.model_fields.items():
        monkeypatch.delenv(env_name(name, field), raising=False)
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def serve_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    add_settings_flags(parser)
    return parser


def test_version() -> None:
    done = nndojo("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"nndojo {__version__}"


def test_serve_help_lists_every_setting_with_its_variable_and_default() -> None:
    done = nndojo("serve", "--help")
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())  # argparse wraps lines
    for name, field in Settings.model_fields.items():
        assert f"--{name.replace('_', '-')}" in text, name
        assert f"[{env_name(name, field)}; default: " in text, name
    assert "[NNDOJO_PORT; default: 8000]" in text and "[RAY_ADDRESS; default: unset]" in text


def test_flags_beat_the_environment_which_beats_the_defaults(settings_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings_env.setenv("NNDOJO_PORT", "9000")
    settings_env.setenv("NNDOJO_HOST", "0.0.0.0")
    settings_env.setenv("NNDOJO_MAX_QUEUE", "7")
    args = serve_parser().parse_args(["--port", "8123", "--data-dir", str(tmp_path), "--mode", "classroom", "--ray-address", "h:6379"])
    settings = settings_from(args)
    assert (settings.port, settings.data_dir, settings.mode, settings.ray_address) == (8123, tmp_path, "classroom", "h:6379")
    assert (settings.host, settings.max_queue) == ("0.0.0.0", 7)
    assert settings.cpu_slots is None and settings.max_body_bytes == Settings.model_fields["max_body_bytes"].default
    assert get_settings() is settings  # what the rest of the server reads agrees with the flags
    assert os.environ["NNDOJO_PORT"] == "8123"  # and so do the Ray workers, which inherit the environment


def test_a_bad_setting_names_its_flag_and_variable(tmp_path: Path) -> None:
    done = nndojo("serve", "--data-dir", str(tmp_path), env={"NNDOJO_CPU_SLOTS": "0"})
    assert done.returncode == 2
    assert "--cpu-slots / NNDOJO_CPU_SLOTS" in done.stderr and "greater than or equal to 1" in done.stderr
    assert "Traceback" not in done.stderr and list(tmp_path.iterdir()) == []
    bad_choice = nndojo("serve", "--mode", "lecture")
    assert bad_choice.returncode == 2 and "invalid choice: 'lecture'" in bad_choice.stderr


def start_serve(data_dir: Path, port: int, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """`nndojo serve --port PORT --data-dir DIR` in its own session; returns once /api/health answers on that port."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "nndojo.cli", "serve", "--port", str(port), "--data-dir", str(data_dir), "--cpu-slots", "1"],
        env={**clean_env(), **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=10).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    stop(proc)
    raise AssertionError(f"nndojo serve did not come up on port {port}:\n{proc.stdout.read() if proc.stdout else ''}")


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


@pytest.mark.slow
def test_one_server_per_data_dir_a_busy_port_and_a_live_backup(tmp_path: Path, jobkit: SimpleNamespace) -> None:
    """The first server holds its data dir: a second one on it refuses with the holder's pid and port and touches
    nothing (its running job stays running, no file changes); a taken port is refused before Ray or the store start;
    a backup taken while the server runs holds its jobs and events."""
    data_dir, port = tmp_path / "data", free_port()
    first = start_serve(data_dir, port, env={"NNDOJO_PORT": str(free_port())})  # the --port flag beats the variable
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            done_id = client.post("/api/jobs", json=jobkit.tiny_spec()).json()["id"]
            jobkit.wait_final(client, done_id)
            running_id = client.post("/api/jobs", json=jobkit.long_spec(epochs=2000)).json()["id"]
            jobkit.wait_running(client, running_id)
            lock = json.loads((data_dir / "server.lock").read_text())
            assert lock == {"pid": first.pid, "host": "127.0.0.1", "port": port}

            before = snapshot(data_dir)
            second = nndojo("serve", "--port", str(free_port()), "--data-dir", str(data_dir))
            assert second.returncode == 1
            assert f"another NN Dojo server (pid {first.pid}, port {port}) is using the data directory" in second.stderr
            assert "--data-dir or NNDOJO_DATA_DIR" in second.stderr and "Traceback" not in second.stderr
            after = snapshot(data_dir)
            assert after["server.lock"] == before["server.lock"] and set(after) == set(before)
            assert client.get(f"/api/jobs/{running_id}").json()["status"] == "running"

            other_dir = tmp_path / "other"
            taken = nndojo("serve", "--port", str(port), "--data-dir", str(other_dir))
            assert taken.returncode == 1
            assert f"cannot listen on 127.0.0.1:{port} (address already in use): choose another port with --port or NNDOJO_PORT" in taken.stderr
            assert "Traceback" not in taken.stderr and "ray" not in taken.stderr.lower()
            assert [p.name for p in other_dir.iterdir()] == ["server.lock"]  # no database: nothing started

            backup = tmp_path / "backup.db"
            made = nndojo("backup", str(backup), "--data-dir", str(data_dir))
            assert made.returncode == 0, made.stderr
            assert made.stdout.startswith(f"{backup}: 2 jobs")
            with closing(sqlite3.connect(backup)) as db:
                assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
                stored = db.execute("SELECT count(*) FROM events WHERE job_id = ?", (done_id,)).fetchone()[0]
            assert stored == len(client.get(f"/api/jobs/{done_id}/events").json())
            assert client.get(f"/api/jobs/{running_id}").json()["status"] == "running"
    finally:
        stop(first)


def test_backup_refuses_what_it_cannot_copy(tmp_path: Path) -> None:
    postgres = nndojo("backup", str(tmp_path / "b.db"), "--database-url", "postgresql+psycopg://u:p@db/nndojo")
    assert postgres.returncode == 1 and "not SQLite" in postgres.stderr and "pg_dump" in postgres.stderr
    missing = nndojo("backup", str(tmp_path / "b.db"), "--data-dir", str(tmp_path / "none"))
    assert missing.returncode == 1 and "no database at" in missing.stderr
    assert not (tmp_path / "b.db").exists() and not (tmp_path / "none").exists()
