"""The paper's experiments on the synthetic benchmark, one command each.

    python benchmarks/experiments.py data        # the 260-subject / 42-site benchmark (+ domain-randomised copy) and splits
    python benchmarks/experiments.py table1      # MSA-Net vs stacked-hourglass baseline (Table 1 analogue; the tables: sigma 6 mm)
    python benchmarks/experiments.py ablation    # baseline, +M-GCA, +contrastive, full (Table 3 analogue)
    python benchmarks/experiments.py sensitivity # temperature tau and batch size (Table 4 analogue, reduced grid)
    python benchmarks/experiments.py site        # site-held-out generalisation
    python benchmarks/experiments.py default     # the synthetic-only default model (domain-randomised training)
    python benchmarks/experiments.py seeds       # run-to-run variation: the four ablation runs with a second seed
    python benchmarks/experiments.py gap         # why the baseline trailed the peers: one change each (issue 15, diagnosis.md)
    python benchmarks/experiments.py lambda      # the weight of the contrastive term: 0.1, 0.01, 0.001 (default)
    python benchmarks/experiments.py localisation # finer than the 8 mm heatmap grid: stride-2 head, smaller sigma
    python benchmarks/experiments.py longer      # the tables' baseline and full runs (sigma 6 mm) for 40 epochs instead of 20
    python benchmarks/experiments.py lambda-sigma6 # the contrastive weight at sigma 6 mm: 0.001 (the default) and 0.0003
    python benchmarks/experiments.py tau-seeds   # the full model at tau 0.1 (the default) and 0.5, seeds 0 and 1 (sigma 6 mm)
    python benchmarks/experiments.py fresh [--model PATH]  # a model (default: the bundled one) on 40 new synthetic subjects (seed 2026)
    python benchmarks/experiments.py real [--model PATH] [--folds DIR] [--name NAME]  # the real scans of ../shared/data/real
    python benchmarks/experiments.py scan-types [RUN ...]  # 24-channel models on mixed scan types, scored per type (scan_types.py)
    python benchmarks/experiments.py family F [--bundle]  # a two-stage family (any, any1mm, any1mmu, any1mmc2, fine1mm, anyhead, whole24any, whole24rw): stage 1,
                                                  # its 6 leave-one-out fine-tunes, their synthetic and real scores;
                                                  # --bundle: also the fine-tune on all six, bundled as the default model
    python benchmarks/experiments.py train RUN [RUN ...] [--parallel]  # train runs only, e.g. on a GPU machine with
                                                  # MSANET_TRAIN_FLAGS="--device cuda --workers 4" (flags of where, not what)
    python benchmarks/experiments.py default-real  # the bundled model: 'default' fine-tuned with the real amu_t2w scans,
                                                  # its 6 leave-one-subject-out twins, and the real benchmark of both models

Each experiment trains the runs it needs (skipping runs already finished in benchmarks/runs/),
predicts the test split, evaluates it, and writes ``benchmarks/results/<name>.md`` and ``.csv``
with the exact command, commit, machine and wall times. The protocol is in benchmarks/README.md.
"""

from __future__ import annotations

import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from common import RESULTS, ROOT, commit, header, machine, msanet, num, sha256
from real_scans import DEFAULT_MODEL, REAL

from msanet import discs
from msanet.train import TrainConfig

DATA = ROOT / "data"
RUNS = ROOT / "benchmarks" / "runs"
SPLITS = ROOT / "benchmarks" / "splits"
CACHE = DATA / "cache"
SEED = 0

# Training budget that fits 2 CPU cores (see benchmarks/README.md): 128 x 128 px at 2.0 mm (256 x 256 mm field of view),
# heatmaps 32 x 32 at 8 mm, sigma 10 mm, Adam lr 2e-3 -> cosine, batch 8, 20 epochs over 364 training images, width 64.
BASE_FLAGS = ["--size", "128x128", "--pixel-mm", "2.0", "--sigma-mm", "10", "--epochs", "20", "--batch-size", "8", "--lr", "2e-3",
              "--width", "64", "--threads", "2", "--seed", str(SEED), "--cache-dir", str(CACHE), "--quiet"]

RUN_SPECS = {
    # name: (data set, split, extra flags)
    "full": ("sg260", "subject", []),
    "baseline": ("sg260", "subject", ["--no-mgca", "--no-fusion", "--no-contrastive"]),
    "mgca": ("sg260", "subject", ["--no-fusion", "--no-contrastive"]),
    "contrastive": ("sg260", "subject", ["--no-mgca", "--no-fusion"]),
    "tau0.05": ("sg260", "subject", ["--tau", "0.05"]),
    "tau0.5": ("sg260", "subject", ["--tau", "0.5"]),
    "batch16": ("sg260", "subject", ["--batch-size", "16"]),
    "full-site": ("sg260", "site", []),
    "baseline-site": ("sg260", "site", ["--no-mgca", "--no-fusion", "--no-contrastive"]),
    "default": ("sg260-dr", "subject", [str(Path("benchmarks") / "default.yaml"), "--epochs", "40"]),
}
REAL_SUBJECTS = ("sub-errsm11", "sub-errsm18", "sub-errsm20", "sub-errsm22", "sub-errsm23", "sub-errsm24")
# Fine-tuning of the synthetic default model with the 6 real amu_t2w scans (T2w), each seen REAL_REPEAT times per epoch
# beside the synthetic training images (which keep it from forgetting T1w and the synthetic anatomy). The last epoch
# is kept: the synthetic validation set does not measure real-scan accuracy.
REAL_REPEAT = 100
REAL_FLAGS = [str(Path("benchmarks") / "default-real.yaml"), "--init", str(RUNS / "default" / "best.safetensors"), "--extra-bids",
              str(REAL / "amu_t2w"), "--extra-repeat", str(REAL_REPEAT), "--epochs", "12", "--lr", "1e-3", "--select", "last",
              "--unlabelled", "background"]  # the real scans' unlabelled discs as background: how every fine-tune here but any1mmu ran
RUN_SPECS["default-real"] = ("sg260-dr", "subject", REAL_FLAGS)
# a trial of the generator's soft-tissue clutter (real_trials.md): the default recipe on a cluttered domain-randomised copy
RUN_SPECS["default-clutter"] = ("sg260-drc", "subject", [str(Path("benchmarks") / "default.yaml"), "--epochs", "40"])
OPTIONAL_DATA = {"sg260-drc": ["--domain-random", "--clutter"], "sg260-lr": ["--level-random"],
                 "sg260-lj": ["--level-random", "--junction-random"],
                 "sg260-lrc2": ["--level-random", "--c2-disc-random"],
                 "sg260-lrt": ["--level-random", "--t1w-marrow-random"]}  # data sets made only when a run needs them
DATA_FLAGS = {"sg260": [], "sg260-dr": ["--domain-random"], **OPTIONAL_DATA}  # msanet synth flags of each 260-subject set
# issue 15, item 0: why the plain stacked hourglass trailed a published one of the same family; one change each from
# the baseline as it was (heads with PyTorch's default init: --no-zero-heads), same recipe, data, split and seed;
# scored by `python benchmarks/experiments.py gap` (results/gap.md, diagnosis.md). gap-zeroheads is today's baseline.
GAP_CONTROL = [*RUN_SPECS["baseline"][2], "--no-zero-heads"]
GAP_CHANGES = {"gap-lr5e-4": ["--lr", "5e-4"], "gap-depth3": ["--depth", "3"], "gap-w128": ["--width", "128"],
               "gap-w256": ["--width", "256"]}
RUN_SPECS["gap-control"] = ("sg260", "subject", GAP_CONTROL)
for _name, _flags in GAP_CHANGES.items():
    RUN_SPECS[_name] = ("sg260", "subject", [*GAP_CONTROL, *_flags])
RUN_SPECS["gap-zeroheads"] = ("sg260", "subject", RUN_SPECS["baseline"][2])  # the one change: zero heads, the default since
# issue 15, item 0: the weight of the contrastive term (its loss is O(1), the heatmap MSE O(1e-3): at 0.1, the default
# until these runs, it drowned the MSE); 0.001 is the default since ('full')
RUN_SPECS["contrastive-l0.1"] = ("sg260", "subject", [*RUN_SPECS["contrastive"][2], "--lambda-contrastive", "0.1"])
RUN_SPECS["full-l0.1"] = ("sg260", "subject", ["--lambda-contrastive", "0.1"])
RUN_SPECS["full-l0.01"] = ("sg260", "subject", ["--lambda-contrastive", "0.01"])
# issue 15, item 2: localisation finer than the 8 mm heatmap grid, one change each from 'full'
RUN_SPECS["full-os2"] = ("sg260", "subject", ["--out-stride", "2"])  # final heatmaps on a 4 mm grid (upsampling head)
# issue 15, items 2 and 5: the paper's tables with the stronger recipe, target Gaussians of sigma 6 mm instead of 10 (the best
# localisation change: localisation.md, sigma6-seed1.md), on the data as it now is. Each table run is the run of the same
# name with --sigma-mm 6, named <run>-sigma6 (full-sigma6 is localisation's row); seed 1: <run>-sigma6-seed1
TABLE_SIGMA_MM = "6"
TABLE_BASE_RUNS = ("baseline", "mgca", "contrastive", "full", "tau0.05", "tau0.5", "batch16", "baseline-site", "full-site")
ABLATION_RUNS = ("baseline", "mgca", "contrastive", "full")


def sigma6(name: str, seed: int = 0) -> str:
    """The table run of ``name`` under the stronger recipe, with training seed ``seed`` (0: the benchmark's)."""
    return f"{name}-sigma6" + (f"-seed{seed}" if seed else "")


VARIANTS: dict[str, tuple[str, str]] = {}  # run -> (the run it varies, the change): labelled "<that run's label>, <change>"


def add_variant(base: str, name: str, change: str, *flags: str) -> None:
    """Run ``name``: run ``base`` (same data and split) with ``flags`` appended, labelled as ``base`` plus ``change``."""
    data, split, base_flags = RUN_SPECS[base]
    RUN_SPECS[name] = (data, split, [*base_flags, *flags])
    VARIANTS[name] = (base, change)


for _name in TABLE_BASE_RUNS:
    add_variant(_name, sigma6(_name), f"sigma {TABLE_SIGMA_MM} mm", "--sigma-mm", TABLE_SIGMA_MM)
for _name in ABLATION_RUNS:
    add_variant(sigma6(_name), sigma6(_name, 1), "seed 1", "--seed", "1")
# issue 15, item 3: on the current data the sigma-6 runs are still improving at epoch 20 (validation DTT and loss falling in
# the last epochs of runs/full-sigma6/log.csv): the same runs for 40 epochs (the cosine schedule stretched over them)
for _name in ("baseline", "full"):
    add_variant(sigma6(_name), f"{sigma6(_name)}-e40", "40 epochs", "--epochs", "40")
add_variant(f"{sigma6('full')}-e40", f"{sigma6('full')}-e40-seed1", "seed 1", "--seed", "1")
# ... and the contrastive weight: lambda 0.001 was chosen against the MSE of sigma-10 targets (lambda.md), whose MSE is about
# (10 / 6)^2 = 2.8x that of sigma-6 targets; at sigma 6 the same lambda weighs the contrastive term 2.8x more. 0.0003 gives it
# the share it had at sigma 10
for _name in ("contrastive", "full"):
    add_variant(sigma6(_name), f"{sigma6(_name)}-l0.0003", "lambda 0.0003", "--lambda-contrastive", "0.0003")
add_variant(f"{sigma6('full')}-l0.0003", f"{sigma6('full')}-l0.0003-seed1", "seed 1", "--seed", "1")
# The tables (issue 15, item 5) take the contrastive weight 0.0003 (lambda-sigma6.md: T2w DTT 1.11 mm against 1.61 at 0.001);
# runs without the contrastive term keep their sigma-6 run. table_run names the run of each table row.
TABLE_LAMBDA = "0.0003"


def table_run(name: str, seed: int = 0) -> str:
    """The run of the paper's tables for ``name`` (a TABLE_BASE_RUNS key) and training seed ``seed``: sigma 6 mm, and lambda
    TABLE_LAMBDA where the run has the contrastive term."""
    run = sigma6(name) if "--no-contrastive" in RUN_SPECS[name][2] else f"{sigma6(name)}-l{TABLE_LAMBDA}"
    return run + (f"-seed{seed}" if seed else "")


for _name in TABLE_BASE_RUNS:  # the lambda variants the tables name that the trials above did not define
    if table_run(_name) not in RUN_SPECS:
        add_variant(sigma6(_name), table_run(_name), f"lambda {TABLE_LAMBDA}", "--lambda-contrastive", TABLE_LAMBDA)
add_variant(table_run("contrastive"), table_run("contrastive", 1), "seed 1", "--seed", "1")


# ... and the temperature: tau 0.5, the best row of sensitivity.md on both data versions, with its second seed
add_variant(sigma6("tau0.5"), sigma6("tau0.5", 1), "seed 1", "--seed", "1")
RUN_SPECS["whole24"] = ("mixed200", "mixed", ["--num-discs", "24"])  # the whole-spine benchmark (benchmarks/scan_types.py)
RUN_SPECS["whole24-e80"] = ("mixed200", "mixed", ["--num-discs", "24", "--epochs", "80"])
RUN_SPECS["whole24-e80-rw"] = ("mixed200", "mixed", ["--num-discs", "24", "--epochs", "80", "--random-window"])  # one change: random windows
RUN_SPECS["whole24-e80-rw-dr"] = ("mixed200-dr", "mixed-dr", RUN_SPECS["whole24-e80-rw"][2])  # ... and one more: domain-randomised data
# the same two with the heatmap heads zero-initialised (the default since the issue-15 diagnosis; the runs above had random heads)
RUN_SPECS["whole24z-rw"] = ("mixed200", "mixed", RUN_SPECS["whole24-e80-rw"][2])
RUN_SPECS["whole24z-rw-dr"] = ("mixed200-dr", "mixed-dr", RUN_SPECS["whole24-e80-rw"][2])
# mixed-type data sets: (split, msanet synth flags, subjects); mixed400 is the current generator's (mixed200 and
# mixed200-dr were made before the cervical realism trials of real_trials.md and the column's endplates and disc bulges)
MIXED_DATA = {"mixed200": ("mixed", [], 200), "mixed200-dr": ("mixed-dr", ["--domain-random"], 200), "mixed400": ("mixed400", [], 400)}
for _subject in REAL_SUBJECTS:  # leave-one-subject-out twins of default-real: real-<subject> never saw <subject>
    RUN_SPECS[f"real-{_subject}"] = ("sg260-dr", "subject", [*REAL_FLAGS, "--exclude-subjects", _subject])
# Two-stage families beside the default one, each in runs/<family>/: stage 1 <family>/default (the default recipe + the
# family's flags) and its six leave-one-subject-out fine-tunes <family>/real-<subject> (the default-real recipe + the
# same flags). `python benchmarks/experiments.py family <family>` trains and scores one (results/<family>.md, real-<family>*.md).
FINE_GRID = ["--pixel-mm", "1.0", "--size", "256x256"]  # 1 mm grid: four times the pixels, heatmaps at 4 mm (a GPU's work)
FAMILIES = {
    "any": ["--any-disc"],  # the class-agnostic "any disc" channel (issue 12, item 3; not in the paper)
    "any1mm": ["--any-disc", *FINE_GRID, "--any-sigma-mm", "4"],  # ... on the 1 mm grid
    "fine1mm": FINE_GRID,  # the paper's model on the 1 mm grid (finer localisation alone)
    "anyhead": ["--any-disc", "--out-stride", "1"],  # the any-disc channel with heatmaps at the input's 2 mm (upsampling head)
}
# flags of a family's fine-tunes only: the GPU run of the 1 mm families stopped their fine-tunes after 6 of 12 epochs
# (the device's time limit), and that is the recipe their leave-one-subject-out figures measure
FINE_TUNE_FLAGS = {"any1mm": ["--stop-after", "6"], "fine1mm": ["--stop-after", "6"]}
# any1mmu: any1mm's stage 1 fine-tuned with the real scans' unlabelled discs left out of the loss (msanet train --unlabelled)
FAMILIES["any1mmu"] = FAMILIES["any1mm"]
FINE_TUNE_FLAGS["any1mmu"] = [*FINE_TUNE_FLAGS["any1mm"], "--unlabelled", "unknown"]
# any1mmc2: the any1mm recipe from scratch on the current data (the dens and C2 body one bone), fine-tunes as any1mmu
FAMILIES["any1mmc2"] = FAMILIES["any1mm"]
FINE_TUNE_FLAGS["any1mmc2"] = FINE_TUNE_FLAGS["any1mmu"]
FINE_TUNE_CONFIG: dict[str, str] = {}  # a family whose fine-tunes read another config file than benchmarks/default-real.yaml
# a family whose fine-tunes see a second synthetic set, (data set, its split): the training subjects of that split, once
# per epoch, beside the family's own synthetic set and the real scans (its validation and test subjects stay unseen)
FINE_TUNE_SECOND_SET: dict[str, tuple[str, str]] = {}
STAGE1_OF = {"any1mmu": "any1mm"}  # a family that fine-tunes another family's stage 1
# what the model card says about such a borrowed stage 1's data (its data set has been re-made since)
STAGE1_NOTES = {"any1mmu": "stage 1 trained on `data/sg260-dr` as generator v2 made it (commit 05891e9); stage 2 on the same "
                           "set re-made by the current generator (the dens and C2 body one bone)"}
# the results stem of a family's stage 1 on the synthetic test split (<stem>.md) and on the real scans
# (real-<stem>-synthetic-only.md), where it is not the family's own name
STAGE1_RESULTS: dict[str, str] = {}
FAMILY_LABELS = {"any": "default recipe + 'any disc' channel", "any1mm": "default recipe + 'any disc' channel, 1 mm grid",
                 "any1mmu": "default recipe + 'any disc' channel, 1 mm grid, real scans' unlabelled discs unknown",
                 "any1mmc2": "default recipe + 'any disc' channel, 1 mm grid, generator with C2 as one bone, unlabelled discs unknown",
                 "fine1mm": "default recipe, 1 mm grid", "anyhead": "default recipe + 'any disc' channel, heatmaps at stride 1",
                 "whole24any": "24 channels (C1-C2 .. L5-S1) + 'any disc' channel, mixed scan types, random windows along the column",
                 "whole24rw": "24 channels (C1-C2 .. L5-S1), mixed scan types, random windows along the column"}


# anyz: family any again with the heatmap heads zero-initialised (the default since the issue-15 diagnosis, diagnosis.md)
FAMILIES["anyz"] = FAMILIES["any"]
FAMILY_LABELS["anyz"] = "default recipe + 'any disc' channel, zero-initialised heads"
# any1mmz: the bundled recipe (any1mm) with zero-initialised heads; a GPU's work for stage 1 (bash benchmarks/gpu_families.sh any1mmz)
FAMILIES["any1mmz"] = FAMILIES["any1mm"]
FINE_TUNE_FLAGS["any1mmz"] = FINE_TUNE_FLAGS["any1mm"]
FAMILY_LABELS["any1mmz"] = "default recipe + 'any disc' channel, 1 mm grid, zero-initialised heads"
# anyz6: anyz with target Gaussians of sigma 6 mm instead of 10 (the best localisation change of issue 15: localisation.md)
FAMILIES["anyz6"] = [*FAMILIES["anyz"], "--sigma-mm", "6"]
FAMILY_LABELS["anyz6"] = "default recipe + 'any disc' channel, zero-initialised heads, sigma 6 mm"
# anyzn: anyz with C1-C2 (value 2, the dens base) trained as background (--ignore-values 2). The synthetic labels put a
# disc there, while the real amu_t2w scans, which never label it, train it as background in the fine-tunes
# (--unlabelled background): the two taught opposite things at the top of the column, where errsm22 and errsm23 are
# named one level off
FAMILIES["anyzn"] = [*FAMILIES["anyz"], "--ignore-values", "2"]
FAMILY_LABELS["anyzn"] = "default recipe + 'any disc' channel, zero-initialised heads, C1-C2 trained as background"


def stage1_run(family: str) -> str:
    """The run whose weights a family's fine-tunes start from (following STAGE1_OF to the family that trained it)."""
    while family not in STAGE1_RUN and family in STAGE1_OF:
        family = STAGE1_OF[family]
    return STAGE1_RUN.get(family, f"{family}/default")


def add_family(family: str, flags: list[str]) -> None:
    data, split = FAMILY_DATA.get(family, ("sg260-dr", "subject"))
    if family not in STAGE1_RUN:
        RUN_SPECS[f"{family}/default"] = (data, split, [*RUN_SPECS["default"][2], *flags])
    fine_tune = [*REAL_FLAGS, *flags, *FINE_TUNE_FLAGS.get(family, [])]
    fine_tune[0] = FINE_TUNE_CONFIG.get(family, fine_tune[0])  # the fine-tunes' config file
    fine_tune[fine_tune.index("--init") + 1] = str(RUNS / stage1_run(family) / "best.safetensors")
    unseen: list[str] = []  # subjects left out of every fine-tune
    if family in FINE_TUNE_SECOND_SET:
        second, second_split = FINE_TUNE_SECOND_SET[family]
        at = fine_tune.index("--extra-bids")
        fine_tune[at: at + 4] = ["--extra-bids", str(DATA / second), str(REAL / "amu_t2w"), "--extra-repeat", "1", str(REAL_REPEAT)]
        held_out = json.loads((SPLITS / f"{second_split}.json").read_text())
        unseen = [*held_out["val"], *held_out["test"]]
    for subject in REAL_SUBJECTS:
        RUN_SPECS[f"{family}/real-{subject}"] = (data, split, [*fine_tune, "--exclude-subjects", *unseen, subject])
    RUN_SPECS[f"{family}/default-real"] = (data, split, [*fine_tune, *(["--exclude-subjects", *unseen] if unseen else [])])  # all six real scans: the model to bundle


# whole24any: the whole spine (24 channels) + the "any disc" channel on the domain-randomised mixed set, training windows
# anywhere along each column; its stage 1 is run `whole24any` (whole24-e80's recipe with these flags, also scored per scan
# type by `scan-types`; benchmarks/default.yaml's crops), its fine-tunes (runs/whole24any/real-<subject>) as any1mmu's, beside the same mixed set.
# whole24any1mm: the same on the 1 mm grid with the default recipe (any1mm's stage 1): it did not learn in 40 epochs.
FAMILIES["whole24any"] = ["--num-discs", "24", "--any-disc", "--random-window"]
FINE_TUNE_FLAGS["whole24any"] = FINE_TUNE_FLAGS["any1mmu"]
# whole24rw: the same with run whole24-e80-rw as stage 1 (the benchmark recipe, 24 channels, random windows, data/mixed200)
FAMILIES["whole24rw"] = ["--num-discs", "24", "--random-window"]
FINE_TUNE_FLAGS["whole24rw"] = FINE_TUNE_FLAGS["whole24any"]
# whole24z, whole24zdr: whole24rw again with zero-initialised heads (the default since the issue-15 diagnosis), stage 1 on
# mixed200 (run whole24z-rw) or on the domain-randomised mixed200-dr (run whole24z-rw-dr)
FAMILIES["whole24z"] = FAMILIES["whole24zdr"] = FAMILIES["whole24rw"]
FINE_TUNE_FLAGS["whole24z"] = FINE_TUNE_FLAGS["whole24zdr"] = FINE_TUNE_FLAGS["whole24rw"]
FAMILY_LABELS["whole24z"] = "24 channels (C1-C2 .. L5-S1), mixed scan types, random windows along the column, zero-initialised heads"
FAMILY_LABELS["whole24zdr"] = FAMILY_LABELS["whole24z"].replace("mixed scan types", "domain-randomised mixed scan types")
FAMILY_DATA = {"whole24any": ("mixed200-dr", "mixed-dr"), "whole24rw": ("mixed200", "mixed"), "whole24z": ("mixed200", "mixed"),
               "whole24zdr": ("mixed200-dr", "mixed-dr")}  # (data set, split) if not sg260-dr's
STAGE1_RUN = {"whole24any": "whole24any", "whole24rw": "whole24-e80-rw", "whole24z": "whole24z-rw",
              "whole24zdr": "whole24z-rw-dr"}  # a family whose stage 1 is this run, not <family>/default
RUN_SPECS["whole24any"] = ("mixed200-dr", "mixed-dr", [str(Path("benchmarks") / "default.yaml"), *FAMILIES["whole24any"], "--epochs", "80"])
RUN_SPECS["whole24any-centred"] = ("mixed200-dr", "mixed-dr", [str(Path("benchmarks") / "default.yaml"), "--num-discs", "24", "--any-disc",
                                                                 "--epochs", "80"])  # whole24any without --random-window
RUN_SPECS["whole24any1mm"] = ("mixed200-dr", "mixed-dr", [*RUN_SPECS["default"][2], "--num-discs", "24", *FAMILIES["any1mm"], "--random-window"])
# anyz6r: anyz6 with its stage 1 and the synthetic half of its fine-tunes on the realistic benchmark set data/sg260 instead
# of the domain-randomised sg260-dr, made by the generator of trials t1-t6 (real_trials.md: posterior coil fall-off, neck
# fat planes, wider field of view, dark endplates, real-like T2w levels); the bundle must also hold on fresh synthetic
# subjects (issue 15), which domain-randomised training does not reach
FAMILIES["anyz6r"] = FAMILIES["anyz6"]
FAMILY_DATA["anyz6r"] = ("sg260", "subject")
FAMILY_LABELS["anyz6r"] = "default recipe + 'any disc' channel, zero-initialised heads, sigma 6 mm, realistic synthetic data"
# anyz6f: anyz6r on data/sg260 re-made with cervical fields of view that start anywhere from the brain stem down to C2
# (synth.anatomy DENS_TIP_MIN_MM; the real amu_t2w scans start at C1, where anyz6r named errsm22-24 one level off)
FAMILIES["anyz6f"] = FAMILIES["anyz6"]
FAMILY_DATA["anyz6f"] = ("sg260", "subject")
FAMILY_LABELS["anyz6f"] = FAMILY_LABELS["anyz6r"] + ", fields of view from the brain stem down to C2"
# anyz6d: anyz6f on data/sg260 re-made with the dens-base line 0.8-3 mm thick (synth.anatomy DENS_LINE_MM; was 0.8 mm): the
# anyz6r and anyz6f folds called real sub-errsm22's 2-3 mm dens-base line C2-C3 and every disc below one level low
FAMILIES["anyz6d"] = FAMILIES["anyz6"]
FAMILY_DATA["anyz6d"] = ("sg260", "subject")
FAMILY_LABELS["anyz6d"] = FAMILY_LABELS["anyz6f"] + ", dens-base line 0.8-3 mm"
# anyz6ds: anyz6d's stage 1 fine-tuned with training images shifted up to 51 mm (translation_frac 0.2, was 0.08): with 40 mm
# of zeros above the real field of view, anyz6d's folds named errsm24 right (real-top-margin.md)
FAMILIES["anyz6ds"] = FAMILIES["anyz6"]
FAMILY_DATA["anyz6ds"] = ("sg260", "subject")
STAGE1_OF["anyz6ds"] = "anyz6d"
FINE_TUNE_CONFIG["anyz6ds"] = str(Path("benchmarks") / "default-real-shift.yaml")
FAMILY_LABELS["anyz6ds"] = FAMILY_LABELS["anyz6d"] + ", fine-tunes shifted up to 51 mm"
# anyz6l: anyz6d on sg260's subjects drawn with level-random anatomy (msanet synth --level-random: the sizes and degeneration of
# the levels below C2 apart from their names). An occlusion probe of wholez6c's folds (real_trials.md) showed each disc named by
# the look of the vertebrae beside it, and errsm23's lower discs confidently named one level high
FAMILIES["anyz6l"] = FAMILIES["anyz6"]
FAMILY_DATA["anyz6l"] = ("sg260-lr", "subject")
FAMILY_LABELS["anyz6l"] = FAMILY_LABELS["anyz6d"] + ", level-random anatomy"
# anyz6j: anyz6l with junction-random anatomy too (msanet synth --junction-random: the thoracic inlet, the lordosis-kyphosis
# turn and the spinous process lengths drawn apart from the C7-T1 level). anyz6l's folds still named errsm23's lower discs
# confidently one level high and errsm22's one level low; in the synthetic necks the chest, the turn of the curve and the long
# C7 and thoracic spinous processes all begin exactly at C7-T1, while in real necks they do not
FAMILIES["anyz6j"] = FAMILIES["anyz6"]
FAMILY_DATA["anyz6j"] = ("sg260-lj", "subject")
FAMILY_LABELS["anyz6j"] = FAMILY_LABELS["anyz6l"] + ", junction-random anatomy"
# anyz6jn: anyz6j with C1-C2 (value 2, the dens base) trained as background, as anyzn did for anyz. Without the chest to
# go by, anyz6j's models count from the top, and the synthetic labels' C1-C2 "disc" at the dens base (where the real scans
# show none) took real errsm18's top disc, C2-C3, for C1-C2 (real-anyz6j.md)
FAMILIES["anyz6jn"] = [*FAMILIES["anyz6"], "--ignore-values", "2"]
FAMILY_DATA["anyz6jn"] = FAMILY_DATA["anyz6j"]
FAMILY_LABELS["anyz6jn"] = FAMILY_LABELS["anyz6j"] + ", C1-C2 trained as background"
# anyz6jnr: anyz6jn's stage 1 fine-tuned with each real scan 20 times per epoch instead of 100 (a fifth of the fine-tune's
# images real instead of three fifths): anyz6jn's synthetic-only model named real errsm22 right below its dens-base band, and
# its errsm22 fold, fine-tuned with the other five real scans, called the band C2-C3 again (real_trials.md)
FAMILIES["anyz6jnr"] = FAMILIES["anyz6jn"]
FAMILY_DATA["anyz6jnr"] = FAMILY_DATA["anyz6jn"]
STAGE1_OF["anyz6jnr"] = "anyz6jn"
FINE_TUNE_FLAGS["anyz6jnr"] = ["--extra-repeat", "20"]
FAMILY_LABELS["anyz6jnr"] = FAMILY_LABELS["anyz6jn"] + ", fine-tunes with each real scan 20 times per epoch"
# anyz6jc: anyz6jn on sg260-lj re-made with the disc labels where Spine Generic's raters put them (synth.anatomy.label_point:
# 2 mm above and 2 mm in front of the disc's posterior tip, where the generator had put them): anyz6jn's synthetic-only model
# put its points 2.1 mm behind and 1.6 mm below the real amu_t2w labels (the placement line of real-anyz6jn-synthetic-only.md)
FAMILIES["anyz6jc"] = FAMILIES["anyz6jn"]
FAMILY_DATA["anyz6jc"] = FAMILY_DATA["anyz6jn"]
FAMILY_LABELS["anyz6jc"] = FAMILY_LABELS["anyz6jn"] + ", labels where raters put them"
# anyz6lc: the bundled family (anyz6l) on sg260-lr re-made with the labels where raters put them, as anyz6jc for anyz6jn
FAMILIES["anyz6lc"] = FAMILIES["anyz6l"]
FAMILY_DATA["anyz6lc"] = FAMILY_DATA["anyz6l"]
FAMILY_LABELS["anyz6lc"] = FAMILY_LABELS["anyz6l"] + ", labels where raters put them"
# anyz6lc2: anyz6lc on sg260-lrc2, sg260-lr's recipe with the C2-C3 disc drawn like the discs below it (msanet synth --c2-disc-random:
# its height and degeneration; C2's bone stays). In the level-random data C2-C3 was always a clear disc, while the
# network sees errsm23's thin C2-C3 as no disc at all (any-disc 0.07, real-naming-anyz6l.md) and counts from C3-C4
FAMILIES["anyz6lc2"] = FAMILIES["anyz6lc"]
FAMILY_DATA["anyz6lc2"] = ("sg260-lrc2", "subject")
FAMILY_LABELS["anyz6lc2"] = FAMILY_LABELS["anyz6lc"] + ", C2-C3 drawn like the discs below it"
# anyz6lt: anyz6lc on sg260-lrt, sg260-lr's recipe with each T1w image's marrow and discs drawn anywhere from fatty marrow
# and dark discs to the real T1w crop's dark marrow and bright discs (msanet synth --t1w-marrow-random): the bundle finds 12 %
# of the discs of synthetic T1w images drawn near the crop's levels (real-t1w-contrast.md) and misplaces the crop's
FAMILIES["anyz6lt"] = FAMILIES["anyz6lc"]
FAMILY_DATA["anyz6lt"] = ("sg260-lrt", "subject")
FAMILY_LABELS["anyz6lt"] = FAMILY_LABELS["anyz6lc"] + ", T1w marrow from fatty to dark"
# anyz6lct: the bundled family's stage 1 (anyz6lc/default) fine-tuned beside sg260-lrt instead of sg260-lr: anyz6lt named the
# real T1w crop right but its stage 1 lost synthetic T1w (1.85 mm / FNR 6.2 % against 1.25 / 1.4) and its folds 5 real discs;
# does the dark-marrow look taught in the fine-tunes alone keep stage 1's figures and still fix the crop?
FAMILIES["anyz6lct"] = FAMILIES["anyz6lc"]
FAMILY_DATA["anyz6lct"] = FAMILY_DATA["anyz6lt"]
STAGE1_OF["anyz6lct"] = "anyz6lc"
STAGE1_NOTES["anyz6lct"] = ("stage 1 trained on `data/sg260-lr` (the same subjects without `--t1w-marrow-random`); "
                            "the synthetic data above is stage 2's")
FAMILY_LABELS["anyz6lct"] = FAMILY_LABELS["anyz6lc"] + "; fine-tunes beside T1w marrow from fatty to dark"
# anyz6lcm: anyz6lct's fine-tunes beside both sg260-lrt and sg260-lr (each training image once per epoch): anyz6lct named the
# T1w crop right, but on fresh synthetic T1w, all with fatty marrow, it found 89.3 % (the bundle 98.8 %, fresh-anyz6lct.md):
# does keeping every image's fatty-marrow twin in the fine-tunes give both?
FAMILIES["anyz6lcm"] = FAMILIES["anyz6lc"]
FAMILY_DATA["anyz6lcm"] = FAMILY_DATA["anyz6lct"]
STAGE1_OF["anyz6lcm"] = "anyz6lc"
STAGE1_RESULTS["anyz6lct"] = "anyz6lc-rerun"
STAGE1_RESULTS["anyz6lcm"] = "anyz6lc-rerun"
STAGE1_NOTES["anyz6lcm"] = (STAGE1_NOTES["anyz6lct"] + "; stage 1 is anyz6lc/default as retrained on 2026-11-29 (sha256 "
                            "4ff04f45837e): the recipe and seed of the anyz6lc bundle's stage 1 (0f43ebcc33be), not bit-identical "
                            "(CPU training is not deterministic), synthetic-only amu_t2w 12 / 56 as the original "
                            "(results/real-anyz6lc-rerun-synthetic-only.md)")
FINE_TUNE_SECOND_SET["anyz6lcm"] = ("sg260-lr", "subject")
FAMILY_LABELS["anyz6lcm"] = FAMILY_LABELS["anyz6lc"] + "; fine-tunes beside T1w marrow from fatty to dark and beside sg260-lr"
# anyz6lcn: anyz6lc with C1-C2 trained as background (as anyz6jn did for anyz6j, here with the chest cue kept): the folds of
# anyz6lc call errsm23's top disc (C2-C3) "C1-C2"; does a model that cannot say C1-C2 name it right? (a diagnostic: such a
# model marks no C1-C2, so it cannot be bundled as it is)
FAMILIES["anyz6lcn"] = [*FAMILIES["anyz6lc"], "--ignore-values", "2"]
FAMILY_DATA["anyz6lcn"] = FAMILY_DATA["anyz6lc"]
FAMILY_LABELS["anyz6lcn"] = FAMILY_LABELS["anyz6lc"] + ", C1-C2 trained as background"
# wholez6: anyz6d's recipe for the whole column (issue 13): 24 channels (C1-C2 .. L5-S1) and the any-disc channel, training
# windows anywhere along each column, on data/mixed400 (the current generator, all scan types at clinical shares); the
# synthetic half of its fine-tunes is mixed400 too, so that they keep the thoracic and lumbar discs
FAMILIES["wholez6"] = ["--num-discs", "24", *FAMILIES["anyz6"], "--random-window"]
FAMILY_DATA["wholez6"] = ("mixed400", "mixed400")
FAMILY_LABELS["wholez6"] = "24 channels (C1-C2 .. L5-S1) + 'any disc' channel, zero-initialised heads, sigma 6 mm, mixed scan types " \
                           "(current generator), random windows along the column"
# wholez6c: wholez6's stage 1 fine-tuned beside the cervical realistic set data/sg260 instead of mixed400 (the cervical share
# of the synthetic half 100 % instead of 27 %): do wholez6's fine-tunes name the amu scans worse for their data or their start?
FAMILIES["wholez6c"] = FAMILIES["wholez6"]
FAMILY_DATA["wholez6c"] = ("sg260", "subject")
STAGE1_OF["wholez6c"] = "wholez6"
FAMILY_LABELS["wholez6c"] = FAMILY_LABELS["wholez6"] + "; fine-tunes beside the cervical set sg260"
# wholez6m: wholez6's stage 1 fine-tuned beside both: mixed400 (which kept the real lumbar scan's names) and the training
# subjects of the cervical sg260 (which kept the amu scans), each image once per epoch, the real scans 100 times
FAMILIES["wholez6m"] = FAMILIES["wholez6"]
FAMILY_DATA["wholez6m"] = FAMILY_DATA["wholez6"]
STAGE1_OF["wholez6m"] = "wholez6"
FINE_TUNE_SECOND_SET["wholez6m"] = ("sg260", "subject")
FAMILY_LABELS["wholez6m"] = FAMILY_LABELS["wholez6"] + "; fine-tunes beside mixed400 and the training subjects of the cervical sg260"
# wholez6s2: wholez6 with heatmaps at stride 2 (4 mm instead of 8 mm): in wholez6's thoracic test scans the any-disc
# channel merged two cervical discs 15 mm apart into one 8 mm-grid peak, and the names above it slipped by one
FAMILIES["wholez6s2"] = [*FAMILIES["wholez6"], "--out-stride", "2"]
FAMILY_DATA["wholez6s2"] = FAMILY_DATA["wholez6"]
FAMILY_LABELS["wholez6s2"] = FAMILY_LABELS["wholez6"] + ", heatmaps at stride 2 (4 mm)"
# wholez6l: wholez6 on a mixed set that has the bundled family's cervical data (anyz6lc on sg260-lr): labels where raters put
# them (mixed400 has them at the disc tips: it predates synth.anatomy.label_point) and level-random anatomy on its cervical
# subjects. Can one 24-channel model keep the real lumbar scan's names (wholez6) and the amu scans' (the bundle)?
MIXED_DATA["mixed400-lr"] = ("mixed400", ["--level-random"], 400)  # mixed400's subjects and split, re-made so
FAMILIES["wholez6l"] = FAMILIES["wholez6"]
FAMILY_DATA["wholez6l"] = ("mixed400-lr", "mixed400")
FAMILY_LABELS["wholez6l"] = FAMILY_LABELS["wholez6"] + ", labels where raters put them, level-random cervical anatomy"
# anyz6ls1, anyz6ds1: the fine-tunes of anyz6l and anyz6d again with seed 1 (same stage 1): anyz6l's gain over anyz6d was
# mostly errsm24, a scan whose names flip under a few percent of size change; is it the data or the draw? (real_trials.md)
# anyz6lcs1: the bundled family's fine-tunes with seed 1: how far one seed moves the real benchmark with gaps counted
# anyz6lts1: anyz6lt's fine-tunes with seed 1: its seed-0 folds lost errsm20's C4-C5 and errsm24's C7-T1 (29 / 56), is it the draw?
# anyz6lcms1: anyz6lcm's fine-tunes with seed 1 (from anyz6lc/default, through STAGE1_OF twice); defined, not run yet
for _family, _stage1 in (("anyz6ls1", "anyz6l"), ("anyz6ds1", "anyz6d"), ("anyz6lcs1", "anyz6lc"), ("anyz6lts1", "anyz6lt"),
                         ("anyz6lcms1", "anyz6lcm")):
    FAMILIES[_family] = FAMILIES[_stage1]
    FAMILY_DATA[_family] = FAMILY_DATA[_stage1]
    STAGE1_OF[_family] = _stage1
    FINE_TUNE_FLAGS[_family] = ["--seed", "1"]
    if _stage1 in FINE_TUNE_SECOND_SET:  # the same fine-tunes: beside the same second synthetic set
        FINE_TUNE_SECOND_SET[_family] = FINE_TUNE_SECOND_SET[_stage1]
    FAMILY_LABELS[_family] = FAMILY_LABELS[_stage1] + ", fine-tunes with seed 1"
for _family, _flags in FAMILIES.items():
    add_family(_family, _flags)
# anyz6lc/pair-out: a diagnostic fold of the bundled family that leaves out both scans no fold names right, errsm22 and
# errsm23 (each trains the other's fold: errsm23's top disc-like line is its C2-C3, errsm22's top one is its dens base):
# does either scan's labels teach the other's shift? It scores only those two (real_trials.md)
RUN_SPECS["anyz6lc/pair-out"] = (*RUN_SPECS["anyz6lc/real-sub-errsm23"][:2],
                                 [*RUN_SPECS["anyz6lc/real-sub-errsm23"][2], "sub-errsm22"])
# stage 1 of anyz6lc and anyz6lc2 again with seed 1: do the synthetic-only real counts (12 and 18 / 56 with seed 0) rank
# the two generators, or is it the draw? (real_trials.md); and wholez6l's: is its reading of the real lumbar scan the draw?
for _family in ("anyz6lc", "anyz6lc2", "wholez6l"):
    RUN_SPECS[f"{_family}/default-s1"] = (*RUN_SPECS[f"{_family}/default"][:2], [*RUN_SPECS[f"{_family}/default"][2], "--seed", "1"])
# one change from wholez6's stage 1: the older data set mixed200 (whole_spine_trials.md: does the real lumbar scan owe its
# names to the current generator or to the recipe?)
RUN_SPECS["wholez6-mixed200"] = ("mixed200", "mixed", RUN_SPECS["wholez6/default"][2])
EXPERIMENTS = {
    "table1": [table_run("baseline"), table_run("full")],
    "ablation": [table_run(n) for n in ABLATION_RUNS],
    "sensitivity": [table_run(n) for n in ("full", "tau0.05", "tau0.5", "batch16")],
    "site": [table_run("baseline-site"), table_run("full-site")],
    "default": ["default"],
    "default-real": ["default-real"],
    "default-clutter": ["default-clutter"],
    "lambda": ["contrastive-l0.1", "contrastive", "full-l0.1", "full-l0.01", "full"],
    "localisation": ["full", "full-os2", "full-sigma6"],
    "longer": [sigma6("baseline"), sigma6("full"), f"{sigma6('baseline')}-e40", f"{sigma6('full')}-e40", f"{sigma6('full')}-e40-seed1"],
    "lambda-sigma6": [sigma6("contrastive"), f"{sigma6('contrastive')}-l0.0003", sigma6("full"), f"{sigma6('full')}-l0.0003",
                      f"{sigma6('full')}-l0.0003-seed1"],
    "tau-seeds": [sigma6("full"), sigma6("full", 1), sigma6("tau0.5"), sigma6("tau0.5", 1)],
    "sigma6-seed1": ["full-sigma6-seed1"],  # the second seed of localisation's best row (since item 5 also a row of seeds)
    "gap": ["gap-control", *GAP_CHANGES, "gap-zeroheads"],
    "seeds": [table_run(n, seed) for seed in (0, 1) for n in ABLATION_RUNS],
    # the bundled family's stage 1 as retrained on 2026-11-29 (`experiments.py train anyz6lc/default`), the start of anyz6lct,
    # anyz6lcm and their seed-1 folds, on the synthetic test split (anyz6lc.md keeps the original's figures)
    "anyz6lc-rerun": ["anyz6lc/default"],
}
LABELS = {"full": "MSA-Net (full)", "baseline": "stacked hourglass (baseline)", "mgca": "+ M-GCA", "contrastive": "+ contrastive",
          "tau0.05": "full, tau = 0.05", "tau0.5": "full, tau = 0.5", "batch16": "full, batch 16", "full-site": "MSA-Net (full)",
          "baseline-site": "stacked hourglass (baseline)", "default": "default model (domain-randomised training)",
          "contrastive-l0.1": "+ contrastive, lambda 0.1", "full-l0.1": "MSA-Net (full), lambda 0.1", "full-l0.01": "MSA-Net (full), lambda 0.01",
          "full-os2": "MSA-Net (full), heatmaps at stride 2 (4 mm)",
          "gap-control": "baseline, heads with PyTorch's default init (as before)",
          **{name: f"as before, {' '.join(flags)}" for name, flags in GAP_CHANGES.items()}, "gap-zeroheads": "as before, zero-initialised heads",
          "default-real": "default model fine-tuned with the 6 real amu_t2w scans",
          "default-clutter": "default recipe, domain-randomised data with soft-tissue clutter", "whole24": "24 channels, mixed scan types", "whole24-e80": "24 channels, mixed scan types, 80 epochs",
          "whole24any": "24 channels + 'any disc' channel, domain-randomised mixed scan types, random windows along the column, 80 epochs",
          "whole24-e80-rw": "24 channels, mixed scan types, 80 epochs, random windows along the column",
          "whole24z-rw": "24 channels, mixed scan types, 80 epochs, random windows, zero-initialised heads",
          "whole24z-rw-dr": "24 channels, domain-randomised mixed scan types, 80 epochs, random windows, zero-initialised heads",
          "whole24-e80-rw-dr": "24 channels, domain-randomised mixed scan types, 80 epochs, random windows along the column",
          "whole24any-centred": "24 channels + 'any disc' channel, domain-randomised mixed scan types, centred windows, 80 epochs",
          "whole24any1mm": "24 channels + 'any disc' channel, 1 mm grid, domain-randomised mixed scan types, random windows along the column",
          **{f"{family}/default": label for family, label in FAMILY_LABELS.items()},
          **{f"{family}/default-real": f"{label}, fine-tuned with the 6 real amu_t2w scans" for family, label in FAMILY_LABELS.items()}}
for _name, (_base, _change) in VARIANTS.items():  # in the order they were added: a variant's base is labelled first
    LABELS[_name] = f"{LABELS[_base]}, {_change}"


def make_synth(name: str, *flags: str, subjects: int = 260) -> None:
    """``data/<name>``: ``subjects`` synthetic subjects of the benchmark seed with ``flags``, unless it exists."""
    if not (DATA / name / "participants.tsv").exists():
        msanet("synth", str(DATA / name), "--subjects", str(subjects), "--seed", str(SEED), *flags, "--quiet")


def make_data() -> None:
    make_synth("sg260", *DATA_FLAGS["sg260"])
    make_synth("sg260-dr", *DATA_FLAGS["sg260-dr"])
    SPLITS.mkdir(parents=True, exist_ok=True)
    if not (SPLITS / "subject.json").exists():
        msanet("split", str(DATA / "sg260"), "-o", str(SPLITS / "subject.json"), "--seed", str(SEED))
    if not (SPLITS / "site.json").exists():
        msanet("split", str(DATA / "sg260"), "-o", str(SPLITS / "site.json"), "--seed", str(SEED), "--by-site")


def synth_flags(data: str) -> tuple[int, list[str]]:
    """(subjects, ``msanet synth`` flags) of the benchmark data set ``data/<data>`` (a key of DATA_FLAGS or MIXED_DATA)."""
    if data in MIXED_DATA:
        return MIXED_DATA[data][2], ["--scan-type", "mixed", *MIXED_DATA[data][1]]
    return 260, DATA_FLAGS[data]


def make_mixed(data: str) -> None:
    """``data/<data>``: synthetic subjects of mixed scan types (``MIXED_DATA``) and their split, unless they exist."""
    split = MIXED_DATA[data][0]
    subjects, flags = synth_flags(data)
    make_synth(data, *flags, subjects=subjects)
    if not (SPLITS / f"{split}.json").exists():
        msanet("split", str(DATA / data), "-o", str(SPLITS / f"{split}.json"), "--seed", str(SEED))


def run(name: str) -> dict:
    """Train (unless finished), predict the realistic test split, evaluate; returns the run's record."""
    data, split, extra = RUN_SPECS[name]
    out = RUNS / name
    record_path = out / "record.json"
    if record_path.exists():
        record = json.loads(record_path.read_text())
        record["train_seconds"] = train_seconds(out)
        record["best_val_mse"] = best_val_mse(out)
        return record
    train_only(name)
    train_s = train_seconds(out)
    pred, evaluation = out / "pred", out / "eval"
    if not data.startswith("sg260"):  # trained on another set (mixed scan types): scored on the cervical benchmark's test split,
        split = "subject"  # in folders of its own (pred/ and eval/ hold that set's test scans, scan_types.py; same subject names)
        pred, evaluation = out / "pred-sg260", out / "eval-sg260"
    splits = json.loads((SPLITS / f"{split}.json").read_text())
    test_images = split_images(DATA / "sg260", splits["test"])
    t1 = time.time()
    msanet("predict", *test_images, "-o", str(pred), "--model", str(out / "best.safetensors"), "--quiet", "--overwrite")
    predict_s = time.time() - t1
    msanet("evaluate", "--pred", str(pred), "--gt", str(DATA / "sg260"), "-o", str(evaluation), "--split", str(SPLITS / f"{split}.json"))
    msanet("report", str(out), "-o", str(out / "report.html"), "--eval", str(evaluation), "--pred", str(pred))
    record = {"name": name, "train_seconds": round(train_s), "predict_seconds_per_image": round(predict_s / len(test_images), 3),
              "flags": BASE_FLAGS + extra, "data": data, "split": split, "summary": json.loads((evaluation / "summary.json").read_text()),
              "best_val_mse": best_val_mse(out)}
    record_path.write_text(json.dumps(record, indent=2))
    return record


def split_images(data: Path, subjects: list[str]) -> list[str]:
    """The T1w and T2w images of ``subjects`` in data set ``data``, sorted."""
    return sorted(str(p) for sid in subjects for p in (data / sid / "anat").glob(f"{sid}_T*w.nii.gz"))


def train_only(name: str) -> Path:
    """Train run ``name`` unless finished (resuming an interrupted one); returns its folder."""
    data, split, extra = RUN_SPECS[name]
    out = RUNS / name
    if not (out / "done").exists():
        if data in OPTIONAL_DATA:
            make_synth(data, *OPTIONAL_DATA[data])
        if "--init" in extra:
            init = Path(extra[extra.index("--init") + 1])
            if not init.exists():
                sys.exit(f"{init}: the run this one starts from is missing (python benchmarks/experiments.py default)")
        resume = ["--resume"] if (out / "last.state.pt").exists() else []
        machine_flags = os.environ.get("MSANET_TRAIN_FLAGS", "").split()  # e.g. "--device cuda --workers 4": where, not what
        msanet("train", "--bids", str(DATA / data), "--split", str(SPLITS / f"{split}.json"), "--out", str(out), *BASE_FLAGS, *extra, *resume,
               *machine_flags)
        (out / "done").write_text("")
    return out


def train_seconds(out: Path) -> int:
    """Training wall time of a run: the sum of its epochs' times in log.csv (resumed runs included)."""
    import csv

    with open(out / "log.csv") as f:
        return round(sum(float(row["seconds"]) for row in csv.DictReader(f)))


def best_val_mse(out: Path) -> float:
    """Validation heatmap MSE of the run's best checkpoint (the one that is evaluated)."""
    return float(json.loads((out / "best.json").read_text())["best_val_loss"])


def _fmt(x, pct=False):
    if x is None:
        return "n/a"
    return f"{100 * x:.1f} %" if pct else f"{x:.2f}"


def write_results(experiment: str, records: list[dict], command: str, started: float) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    lines = [*header(experiment, command)[:-1], f"- wall time of this command: {time.time() - started:.0f} s (runs finished earlier are reused, not retrained)",
             f"- training budget: `{' '.join(BASE_FLAGS)}` (per-run extra flags below)", "- data: synthetic Spine-Generic-like benchmark, 260 subjects, "
             "42 sites, seed 0 (`python benchmarks/experiments.py data`); test = held-out subjects of the split named per row", ""]
    csv_rows = ["run,contrast,definition,n_gt,n_pred,dtt_mean_mm,dtt_std_mm,dtt_median_mm,fnr,fpr,train_s,best_val_mse"]
    for definition, title in (("2d", "label-matched, 2D mid-sagittal mm"), ("3d", "label-matched, 3D world mm"), ("closest_point", "closest-point (anchors' code)")):
        lines += [f"## {title}", "", "| run | contrast | DTT mean +- std (mm) | DTT median (mm) | FNR | FPR | GT discs | predicted |",
                  "|---|---|---|---|---|---|---|---|"]
        for r in records:
            for contrast, spaces in sorted(r["summary"]["contrasts"].items()):
                m = spaces[definition]
                lines.append(f"| {LABELS[r['name']]} | {contrast} | {_fmt(m['dtt_mean'])} +- {_fmt(m['dtt_std'])} | {_fmt(m['dtt_median'])} | "
                             f"{_fmt(m['fnr'], True)} | {_fmt(m['fpr'], True)} | {m['n_gt']} | {m['n_pred']} |")
                csv_rows.append(f"{r['name']},{contrast},{definition},{m['n_gt']},{m['n_pred']},{m['dtt_mean']},{m['dtt_std']},"
                                f"{m['dtt_median']},{m['fnr']},{m['fpr']},{r['train_seconds']},{r['best_val_mse']}")
        lines.append("")
    lines += ["## Runs", "", "| run | extra flags | split | training data | training wall time (s) | best validation MSE | predict s/image |",
              "|---|---|---|---|---|---|---|"]
    for r in records:
        extra = " ".join(r["flags"][len(BASE_FLAGS):]) or "(none)"
        lines.append(f"| {LABELS[r['name']]} | `{extra}` | {r['split']} | {r['data']} | {r['train_seconds']} | {r['best_val_mse']:.5f} | "
                     f"{r['predict_seconds_per_image']} |")
    out = RESULTS / f"{experiment}.md"
    out.write_text("\n".join(lines) + "\n")
    (RESULTS / f"{experiment}.csv").write_text("\n".join(csv_rows) + "\n")
    return out


def bundle_default(record: dict) -> None:
    """Copy run ``record['name']``'s best checkpoint into the package (src/msanet/weights) with a model card."""
    import shutil

    weights = ROOT / "src" / "msanet" / "weights"
    weights.mkdir(parents=True, exist_ok=True)
    src = RUNS / record["name"] / "best.safetensors"
    shutil.copy(src, weights / "msanet-default.safetensors")
    meta = json.loads(src.with_suffix(".json").read_text())
    meta["val"] = meta.get("val")
    (weights / "msanet-default.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    write_model_card(record)
    print(f"bundled {weights / 'msanet-default.safetensors'}")


def bundle_and_measure(record: dict, folds: Path) -> None:
    """Bundle run ``record['name']``, score it on the real scans (results/real.md; amu scans by its leave-one-out twins
    in ``folds``), and write its model card again, now with those figures."""
    from real_scans import run_real

    bundle_default(record)
    run_real(ROOT / "src" / "msanet" / "weights" / "msanet-default.safetensors", folds, "real")
    write_model_card(record)


def synthetic_data_line(data: str, split: str) -> str:
    """The model card's line on the synthetic set ``data`` (see ``synth_flags``) and its ``split``."""
    subjects, flags = synth_flags(data)
    train = len(json.loads((SPLITS / f"{split}.json").read_text())["train"])
    kind = ("the domain-randomised benchmark", "with random tissue intensities") if "--domain-random" in flags else \
        ("the realistic benchmark", "with the generator's tissue intensities (real-like T2w levels, coil fall-off, scanner noise)")
    if "--level-random" in flags:  # the sizes and degeneration of the levels below C2 drawn apart from their names
        kind = (kind[0] + " drawn with level-random anatomy", kind[1] + ", vertebral and disc sizes below C2 drawn apart from their level")
    if "--c2-disc-random" in flags:  # the C2-C3 disc drawn like the discs below it
        kind = (kind[0], kind[1] + ", the C2-C3 disc too")
    if "--junction-random" in flags:  # the cervicothoracic junction's cues drawn apart from the C7-T1 level
        kind = (kind[0] + " and junction-random anatomy", kind[1] + ", the thoracic inlet, the lordosis-kyphosis turn and the spinous "
                "processes drawn apart from the C7-T1 level")
    if "--t1w-marrow-random" in flags:  # T1w marrow and discs from fatty and dark to the real T1w crop's dark marrow and bright discs
        kind = (kind[0], kind[1] + ", T1w marrow and discs anywhere from fatty marrow and dark discs to dark marrow and bright discs "
                "(the real T1w crop's look)")
    if "--scan-type" in flags:  # a mixed set: each subject one scan type (cervical, thoracic, lumbar or whole spine)
        kind = (kind[0].replace("benchmark", "mixed scan-type set"), kind[1] + ", each subject one scan type")
    command = " ".join(["msanet synth", f"data/{data}", "--subjects", str(subjects), "--seed", str(SEED), *flags])
    return f"- training data, synthetic: {kind[0]} (`{command}`), {train} training subjects x (T1w + T2w) {kind[1]}"


def write_model_card(record: dict) -> None:
    """src/msanet/weights/MODEL_CARD.md of the bundled model (run ``record['name']``), from its metadata and results files."""
    weights = ROOT / "src" / "msanet" / "weights"
    meta = json.loads((weights / "msanet-default.json").read_text())
    size_mb = (weights / "msanet-default.safetensors").stat().st_size / 1e6
    m = record["summary"]["contrasts"]
    rows = [f"| {c} | {v['2d']['dtt_mean']:.2f} +- {v['2d']['dtt_std']:.2f} | {100 * v['2d']['fnr']:.1f} % | {100 * v['2d']['fpr']:.1f} % |"
            for c, v in sorted(m.items()) if v["2d"]["dtt_mean"] is not None]
    tc = meta["train_config"]
    mc = meta["model_config"]
    data, split = RUN_SPECS[record["name"]][:2]
    n_test = len(json.loads((SPLITS / f"{record.get('split', 'subject')}.json").read_text())["test"])  # run() scores on the cervical sg260's test split
    repeats = dict(zip((Path(p).name for p in tc.get("extra_bids", [])), TrainConfig.from_dict(tc).extra_repeats()))  # per extra set
    real_repeat = repeats.get("amu_t2w")
    real_subjects = sorted(p.name for p in (REAL / "amu_t2w").glob("sub-*")) if tc.get("extra_bids") else []
    family = record["name"].split("/")[0] if "/" in record["name"] else None  # a two-stage family's stage 2, or default-real
    stage1 = stage1_run(family) if family else "default"
    made_by = f"family {family} --bundle" if family else record["name"]
    stage1_command = ("default" if not family else f"family {stage1.split('/')[0]}" if family not in STAGE1_RESULTS
                      else f"train {stage1}` then `python benchmarks/experiments.py {STAGE1_RESULTS[family]}")
    folds = f"benchmarks/runs/{family}" if family else "benchmarks/runs"
    start = json.loads((RUNS / stage1 / "best.json").read_text()) if tc.get("init") else None
    values = discs.channel_values(mc["num_discs"])
    vocabulary = f"{discs.disc_name(values[0])} .. {discs.disc_name(values[-1])}"
    extras = (["the class-agnostic 'any disc' channel (discs placed by its peaks, named by anatomical order: `decode.name_positions`)"]
              if mc.get("any_disc") else []) + ([f"heatmaps at stride {mc['out_stride']} (upsampling head)"] if mc.get("out_stride", 4) != 4 else []) \
        + (["heatmap heads initialised at zero (benchmarks/results/diagnosis.md)"] if mc.get("zero_heads") else [])
    card = [
        "# msanet default model", "",
        f"- file: `msanet-default.safetensors` ({size_mb:.1f} MB) + `msanet-default.json` (config, config hash, calibrated threshold "
        f"{meta['threshold']:.3f}); made by `python benchmarks/experiments.py {made_by}` at commit {commit()}",
        f"- architecture: full MSA-Net (M-GCA, fusion, contrastive training with weight {tc['lambda_contrastive']:g}), width {mc['width']}, "
        f"{mc['num_discs']} disc channels ({vocabulary})" + "".join(f"; plus {e} (not in the paper)" for e in extras),
        f"- input: mid-sagittal slab resampled to {meta['preprocess']['height']} x {meta['preprocess']['width']} px at "
        f"{meta['preprocess']['pixel_mm']} mm (field of view {meta['preprocess']['height'] * meta['preprocess']['pixel_mm']:.0f} mm; "
        "longer scans are read in overlapping windows)",
        synthetic_data_line(data, split),
    ]
    if family in FINE_TUNE_SECOND_SET:  # stage 2 only: the training subjects of a second synthetic set
        card.append(synthetic_data_line(*FINE_TUNE_SECOND_SET[family]).replace("training data, synthetic:", "training data, synthetic (stage 2 only):")
                    + ", each image once per epoch")
    if real_subjects:
        card += [
            f"- training data, real: the {len(real_subjects)} real T2w scans of `../shared/data/real/amu_t2w` ({', '.join(real_subjects)}; "
            f"one site, 1 mm, C2-C3 .. T4-T5 labelled), each seen {real_repeat} times per epoch beside the synthetic images",
            f"- training: stage 1, synthetic only: `python benchmarks/experiments.py {stage1_command}` "
            f"(`benchmarks/runs/{stage1}`, {start['train_config']['epochs']} epochs"
            f"{' on a GPU, `benchmarks/gpu_families.sh`' if start['train_config'].get('device') == 'cuda' else ''}, "
            f"lr {start['train_config']['lr']:g}); stage 2, this model: the stage-1 weights fine-tuned "
            f"{str(tc['stop_after']) + ' epochs of a ' + str(tc['epochs']) + '-epoch schedule' if tc.get('stop_after') else str(tc['epochs']) + ' epochs'} at lr "
            f"{tc['lr']:g} on synthetic + real (`{' '.join(record['flags'])}`), last epoch kept; {record['train_seconds']} s on {machine()}",
        ] + ([f"- {STAGE1_NOTES[family]}"] if family in STAGE1_NOTES else [])
    else:
        card += [f"- training: `{' '.join(record['flags'])}`; {record['train_seconds']} s on {machine()}"]
    card += [
        f"- augmentation: intensity (gamma, contrast, bias field, blur, Rician noise), small rotation/scale/translation, and "
        f"field-of-view crops with probability {tc['augmentation']['p_crop']} keeping "
        f"{tc['augmentation']['crop_keep'][0]}..{tc['augmentation']['crop_keep'][1]} of each dimension"
        + (f", superior-inferior stretch {tc['augmentation']['stretch'][0]:g}..{tc['augmentation']['stretch'][1]:g}"
           if tc["augmentation"].get("stretch", [1, 1])[0] != tc["augmentation"].get("stretch", [1, 1])[1] else "")
        + f" (`{next(f for f in record['flags'] if f.endswith('.yaml'))}`; later flags override earlier ones)",
        "", f"## Test figures, synthetic (the cervical benchmark's realistic test split, {n_test} subjects, label-matched, 2D mm; "
        f"from benchmarks/results/{'default-real' if real_subjects else record['name']}.md)", "",
        "| contrast | DTT mean +- std (mm) | FNR | FPR |", "|---|---|---|---|", *rows, "",
    ]
    real_md = RESULTS / "real.csv"
    bundled_sha = sha256(weights / "msanet-default.safetensors")
    measured = (RESULTS / "real.md").exists() and f"sha256 {bundled_sha}" in (RESULTS / "real.md").read_text()
    if real_md.exists() and real_subjects and measured:  # the real-scan figures of this very file, not of an earlier model
        import csv

        with open(real_md, newline="") as f:
            rows = list(csv.DictReader(f))
        totals = {r["set"]: r for r in rows if r["level"] == "total"}
        amu = totals["amu_t2w"]
        crop, lumbar = (", ".join(f"{r['disc']} ({float(r['confidence']):.2f})" for r in rows if r["set"] == s and r["level"] == "prediction")
                        for s in ("sct_testing_data", "sct_tutorial_lumbar"))
        t9 = totals["sct_tutorial_lumbar"]
        seed_rows = []  # the same recipe's folds with seed 1 (family <family>s1), where run: how far the draw moves them
        if family and (RESULTS / f"real-{family}s1.csv").exists():
            with open(RESULTS / f"real-{family}s1.csv", newline="") as f:
                s1 = next(r for r in csv.DictReader(f) if r["level"] == "total" and r["set"] == "amu_t2w")
            seed_rows = [f"| amu_t2w, the same recipe's folds with seed 1 (`benchmarks/results/real-{family}s1.md`) | {s1['n_gt']} | "
                         f"{s1['tp']} ({num(s1['detection_rate'], True)}) | {num(s1['fpr'], True)} | {num(s1['dtt_mean_mm'])} |"]
        card += [f"## Real scans (benchmarks/results/real.md, `python benchmarks/experiments.py real --folds {folds}`)", "",
                 "The amu_t2w figures are leave-one-subject-out: each scan is scored by the model of this recipe that never saw it "
                 f"(`{folds}/real-<subject>`), never by this model, which trained on all six.", "",
                 "| set | discs labelled | found under the right name | FPR | DTT mean (mm) |", "|---|---|---|---|---|",
                 f"| amu_t2w (6 scans, leave-one-subject-out) | {amu['n_gt']} | {amu['tp']} ({num(amu['detection_rate'], True)}) | "
                 f"{num(amu['fpr'], True)} | {num(amu['dtt_mean_mm'])} |", *seed_rows, "",
                 f"Real T1w crop (`sct_testing_data`, unlabelled; by eye C2-C3 .. C5-C6): predicted {crop or 'nothing'}. Look at its "
                 "QC picture (`docs/figures/real/sct_testing_data_t1w.png`) before trusting the positions.", "",
                 f"Real thoracolumbar scan (`sct_tutorial_lumbar`, T9-T10 labelled; by eye T9-T10 .. L3-L4): T9-T10 found under "
                 f"its name {t9['tp']} / 1; predicted {lumbar or 'nothing'} (`docs/figures/real/sct_tutorial_lumbar_t2_lumbar.png`).", ""]
    card += [
        "## Limitations", "",
        "- Real training data: six scans of one site and one contrast (T2w). Its real-scan figures are measured on those six "
        "(leave-one-subject-out) and on two unlabelled-or-single-label scans; other sites, T1w and pathology are not measured. "
        "Check every result on its QC picture.",
        "- Trained on a small budget (minutes of compute, few updates): far from the paper's accuracy; use it to try the tool, "
        "then train on your own labelled data (`msanet train`, `--extra-bids` for real scans).",
        f"- Discs {vocabulary}; " + ("real-scan figures only for the cervical spine and one thoracolumbar scan" if mc["num_discs"] > 11
                                      else "cervical and upper thoracic spine only; no lumbar spine") + "; adult anatomy; sagittal T1w/T2w.",
    ]
    (weights / "MODEL_CARD.md").write_text("\n".join(card) + "\n")


FRESH_SEED, FRESH_SUBJECTS = 2026, 40  # subjects no model here trained, validated or was tested on (the benchmark is seed 0)


def run_fresh(model: Path, name: str = "fresh") -> Path:
    """The model on newly generated synthetic subjects, as a new user would try it (issue 15): `msanet synth` with another
    seed, `msanet predict`, `msanet evaluate` on every image; results/<name>.md and .csv."""
    from real_scans import model_name

    started = time.time()
    data = DATA / f"fresh{FRESH_SUBJECTS}-seed{FRESH_SEED}"
    if not (data / "participants.tsv").exists():
        msanet("synth", str(data), "--subjects", str(FRESH_SUBJECTS), "--seed", str(FRESH_SEED), "--quiet")
    images = sorted(str(p) for p in data.glob("sub-*/anat/sub-*_T*w.nii.gz"))
    pred = RUNS / "fresh" / sha256(model)[:12]
    msanet("predict", *images, "-o", str(pred), "--model", str(model), "--quiet", "--overwrite")
    msanet("evaluate", "--pred", str(pred), "--gt", str(data), "-o", str(pred / "eval"))
    summary = json.loads((pred / "eval" / "summary.json").read_text())
    shown = model_name(model)
    lines = [*header("The model on newly generated synthetic subjects", "python benchmarks/experiments.py fresh"
                     + ("" if model == DEFAULT_MODEL.resolve() else f" --model {shown}") + ("" if name == "fresh" else f" --name {name}"))[:-1],
             f"- wall time of this command: {time.time() - started:.0f} s", f"- model: `{shown}` (sha256 {sha256(model)[:12]})",
             f"- data: `msanet synth {data.relative_to(ROOT)} --subjects {FRESH_SUBJECTS} --seed {FRESH_SEED}` (cervical Spine-Generic-like; "
             "the benchmark's subjects are seed 0), every image scored, label-matched, 2D mid-sagittal mm, R = 5 mm", "",
             "| contrast | images | discs labelled | found within 5 mm under their name | FPR | DTT mean +- std (mm) |", "|---|---|---|---|---|---|"]
    csv_rows = ["contrast,n_images,n_gt,tp,detection_rate,fpr,dtt_mean_mm,dtt_std_mm"]
    for contrast, spaces in sorted(summary["contrasts"].items()):
        m = spaces["2d"]
        lines.append(f"| {contrast} | {m['n_images']} | {m['n_gt']} | {m['tp']} ({num(1 - m['fnr'], True)}) | {num(m['fpr'], True)} | "
                     f"{num(m['dtt_mean'])} +- {num(m['dtt_std'])} |")
        csv_rows.append(f"{contrast},{m['n_images']},{m['n_gt']},{m['tp']},{1 - m['fnr']},{m['fpr']},{m['dtt_mean']},{m['dtt_std']}")
    (RESULTS / f"{name}.md").write_text("\n".join(lines) + "\n")
    (RESULTS / f"{name}.csv").write_text("\n".join(csv_rows) + "\n")
    return RESULTS / f"{name}.md"


def run_family(family: str, bundle: bool = False) -> None:
    """Train (unless finished) and score a two-stage family: the synthetic test split of its stage 1
    (results/<family>.md), stage 1 on the real scans (real-<family>-synthetic-only.md) and the six fine-tunes, each real
    scan scored by the one that left it out (real-<family>.md). ``bundle``: also the fine-tune on all six real scans,
    bundled as the default model (results/default-real.md, real.md, the model card)."""
    from real_scans import run_real

    started = time.time()
    make_data()
    if FAMILY_DATA.get(family, ("",))[0] in MIXED_DATA:
        make_mixed(FAMILY_DATA[family][0])
    if family not in STAGE1_OF:  # else the stage 1 of STAGE1_OF[family], trained and scored by its own family
        record = run(stage1_run(family))
        print(f"wrote {write_results(family, [record], f'python benchmarks/experiments.py family {family}', started)}")
        run_real(RUNS / stage1_run(family) / "best.safetensors", None, f"real-{family}-synthetic-only")
    for subject in REAL_SUBJECTS:
        train_only(f"{family}/real-{subject}")
    # no fine-tune saw all six scans: each scan is scored by the fold that left it out
    print(f"wrote {run_real(RUNS / family / f'real-{REAL_SUBJECTS[0]}' / 'best.safetensors', RUNS / family, f'real-{family}')}")
    if bundle:
        started = time.time()
        record = run(f"{family}/default-real")
        print(f"wrote {write_results('default-real', [record], f'python benchmarks/experiments.py family {family} --bundle', started)}")
        bundle_and_measure(record, RUNS / family)


def main() -> None:
    if sys.argv[1:2] == ["real"]:
        import argparse

        from real_scans import run_real

        parser = argparse.ArgumentParser(prog="python benchmarks/experiments.py real", description="the real-scan benchmark")
        parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="checkpoint (.safetensors with its .json); default: the bundled model")
        parser.add_argument("--folds", type=Path, default=None,
                            help="folder of leave-one-out runs real-<subject>/ (needed when the model trained on real scans)")
        parser.add_argument("--name", default="real", help="results file stem (default: real; pictures go to docs/figures/ only for it)")
        args = parser.parse_args(sys.argv[2:])
        print(f"wrote {run_real(args.model, args.folds, args.name)}")
        return
    if sys.argv[1:2] == ["fresh"]:
        import argparse

        parser = argparse.ArgumentParser(prog="python benchmarks/experiments.py fresh", description="a model on new synthetic subjects")
        parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="checkpoint (.safetensors with its .json); default: the bundled model")
        parser.add_argument("--name", default="fresh", help="results file stem (default: fresh, the bundled model's)")
        args = parser.parse_args(sys.argv[2:])
        print(f"wrote {run_fresh(args.model.resolve(), args.name)}")
        return
    if sys.argv[1:2] == ["train"]:
        import argparse

        parser = argparse.ArgumentParser(prog="python benchmarks/experiments.py train", description="train runs only (no scoring)")
        parser.add_argument("names", nargs="+", choices=sorted(RUN_SPECS), metavar="RUN", help="runs of RUN_SPECS, e.g. any1mm/default")
        parser.add_argument("--parallel", action="store_true", help="all at once (one GPU holds several of these small runs)")
        args = parser.parse_args(sys.argv[2:])
        for data in dict.fromkeys(RUN_SPECS[name][0] for name in args.names):  # only the data sets these runs need
            if data in DATA_FLAGS:
                make_synth(data, *DATA_FLAGS[data])
            elif data in MIXED_DATA:
                make_mixed(data)
            elif not (DATA / data / "participants.tsv").exists():
                sys.exit(f"{DATA / data}: missing (the experiment that uses it makes it, e.g. scan-types)")
        with ThreadPoolExecutor(len(args.names) if args.parallel else 1) as pool:
            list(pool.map(train_only, args.names))
        return
    if sys.argv[1:2] == ["family"]:
        if len(sys.argv) not in (3, 4) or sys.argv[2] not in FAMILIES or sys.argv[3:] not in ([], ["--bundle"]):
            sys.exit(f"usage: python benchmarks/experiments.py family {{{','.join(FAMILIES)}}} [--bundle]")
        run_family(sys.argv[2], bundle=sys.argv[3:] == ["--bundle"])
        return
    if sys.argv[1:2] == ["scan-types"]:
        from scan_types import RUNS as SCAN_TYPE_RUNS
        from scan_types import run_scan_types

        names = sys.argv[2:] or list(SCAN_TYPE_RUNS)  # some runs only: the others keep their rows of scan_types.csv
        if not set(names) <= set(SCAN_TYPE_RUNS):
            sys.exit(f"usage: python benchmarks/experiments.py scan-types [{' '.join(SCAN_TYPE_RUNS)}]")
        make_data()
        for data in dict.fromkeys(RUN_SPECS[name][0] for name in names):
            if data in MIXED_DATA:
                make_mixed(data)
        specs = {name: (DATA / RUN_SPECS[name][0], SPLITS / f"{RUN_SPECS[name][1]}.json") for name in names}
        run_scan_types(specs, train_only, split_images)
        return
    if len(sys.argv) != 2 or sys.argv[1] not in ("data", *EXPERIMENTS):
        sys.exit(f"usage: python benchmarks/experiments.py {{data,{','.join(EXPERIMENTS)},real [--model PATH]}}")
    started = time.time()
    make_data()
    if sys.argv[1] == "data":
        return
    if sys.argv[1] == "default-real":
        from real_scans import run_real

        for subject in REAL_SUBJECTS:
            train_only(f"real-{subject}")
        run_real(RUNS / "default" / "best.safetensors", None, "real-synthetic-only")
    records = [run(name) for name in EXPERIMENTS[sys.argv[1]]]
    if sys.argv[1] == "default-real":
        bundle_and_measure(records[0], RUNS)
    print(f"wrote {write_results(sys.argv[1], records, 'python benchmarks/experiments.py ' + sys.argv[1], started)}")


if __name__ == "__main__":
    main()
