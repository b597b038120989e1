#!/usr/bin/env bash
# Every experiment, in order (about 70-90 min on 2 CPU cores). Logs to benchmarks/runs/all.log.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
for e in data table1 ablation sensitivity site default; do
  "$PY" benchmarks/experiments.py "$e"
done
