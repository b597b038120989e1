#!/usr/bin/env bash
# Every experiment, in order (about 4 h on 2 CPU cores), then the speed benchmarks, pictures and README results.
# Idempotent: finished runs are skipped, a killed run resumes from its last checkpoint.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
export OMP_WAIT_POLICY=PASSIVE GOMP_SPINCOUNT=0  # no busy-waiting threads when other processes share the cores
for e in data default scan-types gap table1 seeds ablation lambda localisation sigma6-seed1 site sensitivity longer lambda-sigma6 tau-seeds; do
  "$PY" benchmarks/experiments.py "$e"
done
# the bundled model comes from `family any1mm --bundle` (stage 1 on a GPU: bash benchmarks/gpu_families.sh any1mm): score it
"$PY" benchmarks/experiments.py real --folds benchmarks/runs/any1mm
"$PY" benchmarks/experiments.py fresh
bash benchmarks/run_speed.sh
