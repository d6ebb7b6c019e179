#!/usr/bin/env bash
# Runs the playground on http://127.0.0.1:8000 (embedded default: a local Ray and SQLite, nothing else to start).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh" requirements.txt
exec .venv/bin/nndojo serve "$@"
