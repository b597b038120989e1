#!/usr/bin/env bash
# Speed and size benchmarks (run on an otherwise idle machine), then the README pictures and results section.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
"$PY" benchmarks/bench_synth.py
"$PY" benchmarks/bench_train_smoke.py
"$PY" benchmarks/bench_complexity.py --size 128x128 --width 64
"$PY" benchmarks/bench_complexity.py --size 256x192
"$PY" benchmarks/bench_onnx.py
"$PY" benchmarks/bench_whole_scan.py
"$PY" benchmarks/figures.py
"$PY" benchmarks/disc_spacing.py
"$PY" benchmarks/readme_results.py
