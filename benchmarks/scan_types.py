"""The whole-spine benchmark per scan type: ``python benchmarks/experiments.py scan-types``.

24-channel models (C1-C2 .. L5-S1) on mixed synthetic sets (``msanet synth --subjects 200 --seed 0 --scan-type mixed``:
cervical, thoracic, lumbar and whole-spine scans, transitional anatomy included): ``whole24`` and ``whole24-e80``, the
benchmark recipe (``experiments.BASE_FLAGS``, 128 x 128 px at 2 mm) for 20 and 80 epochs on ``data/mixed200``;
``whole24-e80-rw``, the 80 epochs with training windows anywhere along each column (``--random-window``; one change);
``whole24-e80-rw-dr``, that on the domain-randomised ``data/mixed200-dr`` (one more change); ``whole24z-rw-dr`` and
``whole24z-rw``: those two again with the heatmap heads zero-initialised (the default since; the others had random heads);
``whole24any``, the 80 epochs with the "any disc" channel, random windows and ``benchmarks/default.yaml``'s crops, on the
domain-randomised ``data/mixed200-dr``; ``whole24any-centred``, the same without random windows; ``whole24any1mm``, the
bundled model's stage-1 recipe (any disc, 1 mm grid, 40 epochs) with random windows on mixed200-dr; ``wholez6/default``,
the stage 1 of family wholez6 (experiments.py) on ``data/mixed400``, 400 subjects made by the current generator;
``wholez6s2/default``, the same with heatmaps at stride 2 (4 mm instead of 8 mm); ``wholez6l/default``, wholez6's recipe on
``data/mixed400-lr`` (mixed400's subjects re-made with the labels where raters put them and ``--level-random`` cervical
anatomy). Each run's test subjects are predicted (whole scans, any length) and
scored by ``msanet evaluate`` once per scan type (the ``scan_type`` column of participants.tsv), T1w and T2w. Writes ``benchmarks/results/scan_types.md`` and ``.csv``; each type's figures are
also given as a ratio to the cervical ones (issue: every type within 1.5x of the cervical figures).
"""

from __future__ import annotations

import csv
import json
import re
import time

from common import RESULTS, header, msanet, num, write_csv

from msanet import bids
from msanet.fileio import ensure_dir, write_text

SCAN_TYPES = ("cervical", "thoracic", "lumbar", "whole")
RUNS = ("whole24", "whole24-e80", "whole24-e80-rw", "whole24-e80-rw-dr", "whole24any", "whole24any-centred", "whole24any1mm",
        "whole24z-rw-dr", "whole24z-rw", "wholez6/default", "wholez6s2/default", "wholez6l/default")  # see the module docstring
COLUMNS = ["run", "scan_type", "contrast", "n_images", "n_gt", "n_pred", "tp", "naming_errors", "dtt_mean_mm", "fnr", "fpr",
           "predict_s_per_image"]
COUNTS = ("n_images", "n_gt", "n_pred", "tp", "naming_errors")
NUMERIC = ("n_images", "n_gt", "n_pred", "tp", "naming_errors", "dtt_mean_mm", "fnr", "fpr", "predict_s_per_image")


def kept_rows(names: set[str]) -> tuple[list[dict], dict[str, float]]:
    """Rows of ``scan_types.csv`` for the runs of ``RUNS`` not in ``names`` (kept when only some runs are re-scored), and
    their predict s/image (from the csv, or from the markdown of a csv written before that column existed)."""
    path = RESULTS / "scan_types.csv"
    if not path.exists():
        return [], {}
    rows = [r for r in csv.DictReader(path.open()) if r["run"] in RUNS and r["run"] not in names]
    old_md = (RESULTS / "scan_types.md").read_text() if (RESULTS / "scan_types.md").exists() else ""
    seconds = dict((m.group(1), float(m.group(2))) for m in re.finditer(r"([\w.-]+) ([0-9.]+) s\b", old_md.split("predict per test image:")[-1].split("\n")[0]))
    for r in rows:
        for k in NUMERIC:
            r[k] = float(r[k]) if r.get(k) not in (None, "", "nan") else float("nan")
            if k in COUNTS:
                r[k] = int(r[k])
        if r["predict_s_per_image"] == r["predict_s_per_image"]:
            seconds[r["run"]] = r["predict_s_per_image"]
    return rows, {name: s for name, s in seconds.items() if name in {r["run"] for r in rows}}


def evaluate_run(name: str, data, split: dict, types: dict, train_run, split_images) -> tuple[list[dict], float]:
    """Train run ``name`` (unless finished), predict its test scans, score them per scan type; (rows, predict s/image)."""
    out = train_run(name)
    test_images = split_images(data, split["test"])
    t0 = time.time()
    msanet("predict", *test_images, "-o", str(out / "pred"), "--model", str(out / "best.safetensors"), "--quiet")
    predict_s = (time.time() - t0) / len(test_images)
    rows = []
    for scan_type in SCAN_TYPES:
        subjects = [sid for sid in split["test"] if types.get(sid) == scan_type]
        if not subjects:
            continue
        part = ensure_dir(out / "eval" / scan_type)
        write_text(part / "split.json", json.dumps({**split, "test": subjects}, indent=2) + "\n")
        msanet("evaluate", "--pred", str(out / "pred"), "--gt", str(data), "-o", str(part), "--split", str(part / "split.json"), "--values", "2-25")
        summary = json.loads((part / "summary.json").read_text())
        for contrast, spaces in sorted(summary["contrasts"].items()):
            m = spaces["2d"]
            rows.append({"run": name, "scan_type": scan_type, "contrast": contrast, "n_images": m["n_images"], "n_gt": m["n_gt"],
                         "n_pred": m["n_pred"], "tp": m["tp"], "naming_errors": m["naming_errors"], "dtt_mean_mm": m["dtt_mean"],
                         "fnr": m["fnr"], "fpr": m["fpr"], "predict_s_per_image": predict_s})
    return rows, predict_s


def run_scan_types(specs: dict, train_run, split_images) -> None:
    """``specs``: run name -> (data set folder, split file) of the runs to train (unless finished) and score; the other
    runs of ``RUNS`` keep their rows of the existing ``scan_types.csv``. ``train_run`` and ``split_images`` are
    experiments.py's (train a run unless finished; the images of some subjects)."""
    started = time.time()
    rows, predict_s = kept_rows(set(specs))
    for name, (data, split_path) in specs.items():
        split = json.loads(split_path.read_text())
        types = {sid: row.get("scan_type", "cervical") for sid, row in bids.read_participants(data).items()}
        run_rows, predict_s[name] = evaluate_run(name, data, split, types, train_run, split_images)
        rows += run_rows
    order = {name: i for i, name in enumerate(RUNS)}
    rows.sort(key=lambda r: order[r["run"]])  # stable: each run's rows keep their order
    predict_s = {name: predict_s[name] for name in sorted(predict_s, key=order.get)}
    write_csv(RESULTS / "scan_types.csv", COLUMNS, rows)
    cervical = {(r["run"], r["contrast"]): r for r in rows if r["scan_type"] == "cervical"}
    lines = [*header("Whole spine: one 24-channel model per scan type (synthetic)", "python benchmarks/experiments.py scan-types")[:-1],
             f"- wall time of this command: {time.time() - started:.0f} s (a finished training run is reused; "
             f"scored here: {', '.join(specs)}; the other runs' rows are kept from the previous scan_types.csv); predict per test image: "
             + ", ".join(f"{name} {s:.2f} s" for name, s in predict_s.items()),
             "- data: `msanet synth data/mixed200 --subjects 200 --seed 0 --scan-type mixed` (each subject one scan type: cervical "
             "Spine Generic 3D, thoracic, lumbar 2D TSE or whole spine in two or three stations; 4 or 6 lumbar vertebrae in ~10 %), "
             "and the same with `--domain-random` in `data/mixed200-dr`; `data/mixed400`: the same with `--subjects 400`, made by a later "
             "generator (commit 1a9796f: the cervical realism of real_trials.md, the column's endplates and disc bulges); `data/mixed400-lr`: "
             "mixed400's subjects re-made by a later generator (labels 2 mm above and in front of each disc's posterior tip, where raters "
             "put them) with `--level-random` (cervical subjects); each split by `msanet split --seed 0` (subjects; mixed400-lr uses mixed400's); "
             "test = its held-out subjects",
             "- models: `msanet train --num-discs 24` with the benchmark recipe (`experiments.py` BASE_FLAGS: 128 x 128 px at 2 mm, "
             "width 64, 20 epochs, centred 256 mm training windows) on mixed200: run `whole24`; the same with `--epochs 80`: run "
             "`whole24-e80`; the same with `--random-window` (256 mm training windows anywhere along each scan's column): run "
             "`whole24-e80-rw`, and the same on mixed200-dr: run `whole24-e80-rw-dr`; these two with zero-initialised heatmap heads "
             "(the default since commit 88e011f; all other runs here had randomly initialised heads): `whole24z-rw`, `whole24z-rw-dr`; on mixed200-dr: run `whole24any`, the same 80 epochs with `--any-disc --random-window` and "
             "`benchmarks/default.yaml`'s crops; run `whole24any-centred`, the same without `--random-window`; run `whole24any1mm`, the recipe of "
             "the bundled model's stage 1 (`benchmarks/default.yaml`, 40 epochs, `--any-disc --pixel-mm 1 --size 256x256 "
             "--any-sigma-mm 4`) with `--random-window`; on mixed400: `wholez6/default`, `benchmarks/default.yaml`, 40 epochs, "
             "`--num-discs 24 --any-disc --sigma-mm 6 --random-window` (the stage 1 of family wholez6), and `wholez6s2/default`, the same "
             "with `--out-stride 2` (heatmaps at 4 mm); on mixed400-lr: `wholez6l/default`, wholez6's recipe; prediction on each whole scan "
             "(overlapping windows)",
             "- scoring: `msanet evaluate --values 2-25`, label-matched, 2D mid-sagittal mm, R = 5 mm, once per scan type; "
             "'x cervical' = the type's figure over the cervical one of the same contrast (DTT and FNR; lower is better)", "",
             "| run | scan type | contrast | images | discs labelled | found (right name) | naming errors | DTT mean (mm) | FNR | FPR | DTT x cervical | FNR x cervical |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        c = cervical.get((r["run"], r["contrast"]))
        ratio = lambda k: "n/a" if c is None or not c[k] or c[k] != c[k] or r[k] != r[k] else f"{r[k] / c[k]:.2f}"  # noqa: E731
        lines.append(f"| {r['run']} | {r['scan_type']} | {r['contrast']} | {r['n_images']} | {r['n_gt']} | {r['tp']} | {r['naming_errors']} | "
                     f"{num(r['dtt_mean_mm'])} | {num(r['fnr'], True)} | {num(r['fpr'], True)} | {ratio('dtt_mean_mm')} | {ratio('fnr')} |")
    write_text(RESULTS / "scan_types.md", "\n".join(lines) + "\n")
    print(f"wrote {RESULTS / 'scan_types.md'}")
