#!/usr/bin/env bash
# Session schedule used for the committed results (after run_all.sh's first run): bundle the default model,
# Table 1, ablation, site-held-out, continue the default model to 40 epochs (warm restart), sensitivity.
# Idempotent: finished runs are skipped, a killed run resumes from its last checkpoint.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
export OMP_WAIT_POLICY=PASSIVE GOMP_SPINCOUNT=0
"$PY" benchmarks/experiments.py default
"$PY" benchmarks/experiments.py table1
"$PY" benchmarks/experiments.py ablation
"$PY" benchmarks/experiments.py site
if ! grep -q '^40,' benchmarks/runs/default/log.csv; then   # continue the 20-epoch default model to 40 epochs
  rm -f benchmarks/runs/default/done benchmarks/runs/default/record.json
fi
MSANET_DEFAULT_EPOCHS=40 "$PY" benchmarks/experiments.py default
"$PY" benchmarks/experiments.py sensitivity
