#!/usr/bin/env bash
# Every experiment, in order (about 70-90 min on 2 CPU cores). Logs to benchmarks/runs/all.log.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
export OMP_WAIT_POLICY=PASSIVE GOMP_SPINCOUNT=0  # no busy-waiting threads when other processes share the cores
for e in data default table1 ablation site sensitivity; do
  "$PY" benchmarks/experiments.py "$e"
done
