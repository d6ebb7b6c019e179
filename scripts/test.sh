#!/usr/bin/env bash
# Runs the whole test suite: lint, unit, API and browser tests. Installs what it needs on a fresh machine.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh" requirements-test.txt

# Debian's Chromium drives the browser tests; Fashion-MNIST's IDX files feed the image tests. Never `playwright install`.
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -d /usr/share/datasets/fashion-mnist ] || missing+=(dataset-fashion-mnist)
if [ ${#missing[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" fonts-noto-cjk >/dev/null
  else
    echo "warning: ${missing[*]} missing and apt-get unavailable: the tests that need them are skipped" >&2
  fi
fi

.venv/bin/ruff check backend tests bench
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1 RAY_DEDUP_LOGS=0
exec .venv/bin/pytest -q -p no:cacheprovider --durations=15 "$@"
