"""The `nndojo` command: train a spec on this machine (`nndojo train SPEC.json`) or run the server (`nndojo serve`)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from pydantic import ValidationError

from nndojo.spec.check import SpecError
from nndojo.spec.models import JobSpec

EXIT_BAD_SPEC = 2
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nndojo", description="NN Dojo: design neural networks, train them, watch them learn.")
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
    sub.add_parser("serve", help="run the web server (settings from NNDOJO_* environment variables)")
    args = parser.parse_args(argv)

    if args.command == "serve":
        from nndojo.api.server import serve  # the server is optional for training; import it only when asked

        serve()
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
    except (DatasetUnavailable, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return 0 if status in ("completed", "diverged") else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
