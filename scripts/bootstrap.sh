#!/usr/bin/env bash
# Sourced by run.sh and test.sh: makes .venv and installs the pinned requirements once (again when they change).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
reqs="${1:-requirements.txt}"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
stamp=".venv/.installed-$(cat requirements.txt requirements-test.txt pyproject.toml | sha1sum | cut -c1-12)-$(basename "$reqs")"
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  # torch first and alone, pinned: it resolves to the CPU wheel on this disk, never a CUDA download.
  .venv/bin/python -m pip install -q "torch==2.13.0"
  .venv/bin/python -m pip install -q -r "$reqs"
  .venv/bin/python -m pip install -q --no-deps -e .
  touch "$stamp"
fi
