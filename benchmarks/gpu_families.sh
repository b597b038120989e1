#!/usr/bin/env bash
# Train two-stage families (benchmarks/experiments.py FAMILIES) on one GPU machine, e.g.
#
#     bash benchmarks/gpu_families.sh any1mm fine1mm
#
# makes data/sg260-dr if missing (16 processes), trains the families' stage-1 runs at once, then all their
# leave-one-subject-out fine-tunes at once (the model is small: one GPU holds a dozen runs; the CPU's augmentation is
# the limit). Finished runs are skipped, interrupted ones resume. Score them afterwards, on any machine, with
# `python benchmarks/experiments.py family F`. Environment: PYTHON (default python3), MSANET_REAL_DATA (the real scans,
# default ../shared/data/real), STAGE1_FLAGS and FOLD_FLAGS (flags of where, not what: device, workers, threads).
set -euo pipefail
cd "$(dirname "$0")/.."
py=${PYTHON:-python3}
[ $# -gt 0 ] || { echo "usage: bash benchmarks/gpu_families.sh FAMILY [FAMILY ...]" >&2; exit 2; }
[ -f data/sg260-dr/participants.tsv ] || "$py" -m msanet.cli synth data/sg260-dr --subjects 260 --seed 0 --domain-random --workers 16 --quiet
stage1="" folds=""
for f in "$@"; do
  stage1="$stage1 $f/default"
  for s in sub-errsm11 sub-errsm18 sub-errsm20 sub-errsm22 sub-errsm23 sub-errsm24; do folds="$folds $f/real-$s"; done
done
MSANET_TRAIN_FLAGS="${STAGE1_FLAGS:---device cuda --workers 7 --threads 1}" "$py" benchmarks/experiments.py train --parallel $stage1
MSANET_TRAIN_FLAGS="${FOLD_FLAGS:---device cuda --workers 1 --threads 1}" "$py" benchmarks/experiments.py train --parallel $folds
