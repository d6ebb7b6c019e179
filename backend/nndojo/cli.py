"""The `nndojo` command: train a spec on this machine (`nndojo train SPEC.json`), run the server (`nndojo serve`), copy
its database (`nndojo backup FILE`)."""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import typing
from contextlib import closing
from pathlib import Path
from typing import Any, TextIO

from pydantic import ValidationError
from pydantic.fields import FieldInfo
from sqlalchemy.engine import make_url

from nndojo import __version__
from nndojo.config import Settings, get_settings
from nndojo.spec.check import SpecError
from nndojo.spec.models import JobSpec

EXIT_BAD_SPEC = 2
EXIT_BAD_SETTINGS = 2
EXIT_FAILED = 1


def load_spec(path: Path, epochs: int | None = None, train_limit: int | None = None) -> JobSpec:
    """A spec from a JSON file, with optional overrides (validated like the rest); raises ValueError or ValidationError."""
    try:
        raw = json.loads(Path(path).read_text())
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the spec: {exc.strerror or exc}") from exc
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: a job spec is a JSON object, got {type(raw).__name__}")
    if epochs is not None:
        raw.setdefault("training", {})["epochs"] = epochs
    if train_limit is not None:
        raw.setdefault("dataset", {})["train_limit"] = train_limit
    return JobSpec.model_validate(raw)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def summary_table(last_epoch: dict[str, Any]) -> str:
    """The final metrics, then one row per layer with parameters."""
    lines = [
        f"epoch {last_epoch['epoch']}  step {last_epoch['step']}  {last_epoch['elapsed_s']:.2f}s",
        f"train loss {_fmt(last_epoch['train']['loss'])}  accuracy {_fmt(last_epoch['train']['accuracy'])}",
        f"test  loss {_fmt(last_epoch['test']['loss'])}  accuracy {_fmt(last_epoch['test']['accuracy'])}",
        "",
    ]
    header = ("layer", "type", "grad_norm", "weight_norm", "act mean", "act std", "saturated", "dead")
    rows = [header]
    for layer in last_epoch["layers"]:
        act = layer["activation"]
        rows.append(
            (
                layer["name"],
                layer["type"],
                _fmt(layer["grad_norm"]),
                _fmt(layer["weight_norm"]),
                _fmt(act["mean"]),
                _fmt(act["std"]),
                _fmt(act["saturated_fraction"]),
                _fmt(act["dead_fraction"]),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    return "\n".join(lines)


def run_train(
    spec: JobSpec,
    *,
    events: Path | None = None,
    device: str | None = None,
    datasets_dir: Path | None = None,
    threads: int | None = None,
    eval_limit: int | None = None,
    progress: bool = True,
    out: TextIO | None = None,
) -> str:
    """Train with a progress bar, write numbered events as JSON lines, print the summary; returns the final status."""
    from tqdm import tqdm

    from nndojo.spec.check import check_spec
    from nndojo.train import train

    out = out or sys.stdout
    check_spec(spec)  # a bad spec is reported before a progress bar or an events file appears
    seq = 0
    last_epoch: dict[str, Any] | None = None
    final: dict[str, Any] = {}
    bar = tqdm(total=spec.training.epochs, unit="epoch", disable=not progress, file=sys.stderr)
    sink = events.open("w") if events else None
    try:

        def emit(event: dict[str, Any]) -> None:
            nonlocal seq, last_epoch, final
            if sink:
                sink.write(json.dumps({"seq": seq, **event}, separators=(",", ":"), allow_nan=False) + "\n")
            seq += 1
            if event["type"] == "epoch":
                last_epoch = event
                if event["epoch"] > 0:
                    bar.update(1)
                acc = event["test"]["accuracy"]
                bar.set_postfix(
                    loss=_fmt(event["train"]["loss"]),
                    test_loss=_fmt(event["test"]["loss"]),
                    **({"test_acc": _fmt(acc)} if acc is not None else {}),
                )
            elif event["type"] == "status":
                final = event

        status = train(spec, emit, datasets_dir=datasets_dir, device=device, threads=threads, eval_limit=eval_limit)
    finally:
        bar.close()
        if sink:
            sink.close()
    print(f"{spec.name or 'job'}: {status}" + (f" at epoch {final['epoch']}" if "epoch" in final else ""), file=out)
    if last_epoch is not None:
        print(summary_table(last_epoch), file=out)
    return status


def _bad_spec(exc: ValidationError | SpecError | ValueError) -> int:
    if isinstance(exc, ValidationError | SpecError):
        errors = exc.errors() if isinstance(exc, ValidationError) else exc.errors
        for err in errors:
            print(f"error: {'.'.join(map(str, err['loc'])) or 'spec'}: {err['msg']}", file=sys.stderr)
    else:
        print(f"error: {exc}", file=sys.stderr)
    return EXIT_BAD_SPEC


def env_name(name: str, field: FieldInfo) -> str:
    """The environment variable of a setting: NNDOJO_<NAME>, or its own alias (RAY_ADDRESS)."""
    alias = field.validation_alias
    return alias if isinstance(alias, str) else f"NNDOJO_{name.upper()}"


def _flag_type(annotation: Any) -> tuple[Any, list[str] | None]:
    """What argparse parses a setting's flag as: the type without None, and the choices of a Literal."""
    args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
    if typing.get_origin(annotation) is typing.Literal:
        return str, [str(arg) for arg in args]
    if args and typing.get_origin(annotation) is not None:
        return _flag_type(args[0])
    return (annotation if annotation in (int, float, str, Path, bool) else str), None


def add_settings_flags(parser: argparse.ArgumentParser, only: tuple[str, ...] | None = None) -> None:
    """One flag per Settings field (or those named in `only`), generated from the fields: --data-dir for data_dir, with
    the field's description, its variable and its default. An absent flag leaves the environment's value in force."""
    group = parser.add_argument_group("settings (flag, environment variable, default)")
    for name, field in Settings.model_fields.items():
        if only is not None and name not in only:
            continue
        kind, choices = _flag_type(field.annotation)
        default = "unset" if field.default is None else str(field.default)
        about = field.description or (f"this server's limit on {name[4:]}, below the API's" if name.startswith("max_") else name)
        if "password" in name:
            about += " (a flag shows in `ps`: prefer the variable)"
        text = f"{about} [{env_name(name, field)}; default: {default}]".replace("%", "%%")
        flag = f"--{name.replace('_', '-')}"
        if kind is bool:
            group.add_argument(flag, dest=name, action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS, help=text)
        else:
            group.add_argument(flag, dest=name, type=kind, choices=choices, default=argparse.SUPPRESS, metavar=None if choices else name.upper(), help=text)


def settings_from(args: argparse.Namespace) -> Settings:
    """The settings with the given flags put into the environment first: flags beat variables, which beat defaults.

    Through the environment, not as arguments, so that every reader agrees: the Ray workers (started by this process)
    and any code that calls get_settings() see the flags too."""
    for name, field in Settings.model_fields.items():
        if name in args:
            value = getattr(args, name)
            os.environ[env_name(name, field)] = str(value).lower() if isinstance(value, bool) else str(value)
    get_settings.cache_clear()
    return get_settings()


def run_backup(settings: Settings, target: Path) -> int:
    """A consistent copy of a live SQLite database through SQLite's backup API (a plain file copy can tear mid-write)."""
    url = make_url(settings.resolved_database_url)
    if not url.drivername.startswith("sqlite"):
        print(
            f"error: the database is {url.get_backend_name()}, not SQLite: back it up with that database's own tools "
            "(PostgreSQL: pg_dump)",
            file=sys.stderr,
        )
        return EXIT_FAILED
    source = Path(url.database or "")
    if not url.database or url.database == ":memory:" or not source.is_file():
        print(f"error: no database at {source} (is --data-dir or NNDOJO_DATA_DIR right?)", file=sys.stderr)
        return EXIT_FAILED
    partial = target.with_name(target.name + ".partial")
    try:
        with closing(sqlite3.connect(f"{source.resolve().as_uri()}?mode=rw", uri=True)) as src, closing(sqlite3.connect(partial)) as dst:
            src.backup(dst)
            jobs = dst.execute("SELECT count(*) FROM jobs").fetchone()[0]
        os.replace(partial, target)
    except (OSError, sqlite3.Error) as exc:
        partial.unlink(missing_ok=True)
        print(f"error: backup to {target} failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"{target}: {jobs} jobs, {target.stat().st_size / 1e6:.1f} MB, copied from {source}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nndojo", description="NN Dojo: design neural networks, train them, watch them learn.")
    parser.add_argument("--version", action="version", version=f"nndojo {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train a job spec on this machine")
    t.add_argument("spec", type=Path, help="a job spec as JSON (see examples/)")
    t.add_argument("--events", type=Path, help="write the events here as JSON lines, numbered by seq")
    t.add_argument("--device", help="auto, cpu, cuda or cuda:N (default: the spec's)")
    t.add_argument("--datasets-dir", type=Path, help="where fashion-mnist/ and mnist/ IDX files live (default: settings)")
    t.add_argument("--threads", type=int, default=None, help="torch threads on the CPU (default 1)")
    t.add_argument("--epochs", type=int, default=None, help="override training.epochs")
    t.add_argument("--train-limit", type=int, default=None, help="override dataset.train_limit")
    t.add_argument("--eval-limit", type=int, default=None, help="evaluate at most this many samples per split each epoch")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    serve_parser = sub.add_parser(
        "serve",
        help="run the web server",
        description="Run the web server. Every setting is a flag and an environment variable: a flag beats the variable, "
        "which beats the default.",
    )
    add_settings_flags(serve_parser)
    backup = sub.add_parser(
        "backup",
        help="copy the SQLite database consistently, even while the server runs",
        description="Copy the server's SQLite database (jobs, events, classes) into FILE, consistently, even while the server "
        "runs. Restore: stop the server and put the copy in place of <data dir>/nndojo.db.",
    )
    backup.add_argument("file", type=Path, help="where to write the copy (replaced if it exists)")
    add_settings_flags(backup, only=("data_dir", "database_url"))
    args = parser.parse_args(argv)

    if args.command in ("serve", "backup"):
        try:
            settings = settings_from(args)
        except ValidationError as exc:
            for err in exc.errors():
                name = str(err["loc"][0]) if err["loc"] else ""
                field = Settings.model_fields.get(name)
                where = f"--{name.replace('_', '-')} / {env_name(name, field)}" if field else "settings"
                print(f"error: {where}: {err['msg']}", file=sys.stderr)
            return EXIT_BAD_SETTINGS
        if args.command == "backup":
            return run_backup(settings, args.file)
        from nndojo.api.server import serve  # the server is optional for training; import it only when asked

        serve(settings)
        return 0

    from nndojo.datasets import DatasetUnavailable

    try:
        spec = load_spec(args.spec, args.epochs, args.train_limit)
    except (ValidationError, ValueError) as exc:
        return _bad_spec(exc)
    try:
        status = run_train(
            spec,
            events=args.events,
            device=args.device,
            datasets_dir=args.datasets_dir,
            threads=args.threads,
            eval_limit=args.eval_limit,
            progress=not args.no_progress,
        )
    except SpecError as exc:
        return _bad_spec(exc)
    except DatasetUnavailable as exc:  # whoever runs the CLI administers the files: the path and the fix too
        print(f"error: {exc}\n{exc.detail}", file=sys.stderr)
        return EXIT_FAILED
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return 0 if status in ("completed", "diverged") else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
