#!/usr/bin/env bash
# The GPU check, for whenever a machine with CUDA is at hand (< 8 minutes on one GPU): the test suite's `gpu` marker
# (every example spec for one epoch on CUDA with no synchronisation outside the epoch's read, packing vs solo on CUDA,
# placement by the measured cost models),
# then the GPU benchmarks (packing against solo runs, and the trainer's overhead), printed as one table.
# Without CUDA it says so and exits 0.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=.venv/bin/python
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1 RAY_DEDUP_LOGS=0

if ! $PY -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  echo "no CUDA: skipped (torch $($PY -c 'import torch; print(torch.__version__)' 2>/dev/null || echo missing) sees no GPU)"
  exit 0
fi

out=$(mktemp -d)
started=$(date +%s)
timeout 300 .venv/bin/pytest -q -p no:cacheprovider -m gpu tests/test_gpu.py tests/test_placement.py > "$out/tests.txt" 2>&1
tests_rc=$?
timeout 150 $PY bench/bench_pack.py --device cuda --jobs 10,100,200,1000 --epochs 20 > "$out/pack.txt" 2>&1
pack_rc=$?
timeout 60 $PY bench/bench_trainer.py --device cuda --quick > "$out/trainer.txt" 2>&1
trainer_rc=$?

echo
echo "GPU check on $(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1), $(( $(date +%s) - started )) s"
printf '%-34s %s\n' "check" "result"
printf '%-34s %s\n' "tests -m gpu (rc $tests_rc)" "$(tail -1 "$out/tests.txt")"
grep -E '^(solo|pack) ' "$out/pack.txt" | while read -r line; do printf '%-34s %s\n' "bench_pack (rc $pack_rc)" "$line"; done
tail -4 "$out/trainer.txt" | while read -r line; do printf '%-34s %s\n' "bench_trainer (rc $trainer_rc)" "$line"; done
[ "$tests_rc" = 0 ] || { echo "--- failing tests:"; grep -E '^(FAILED|ERROR)' "$out/tests.txt"; }
exit $(( tests_rc || pack_rc || trainer_rc ))
