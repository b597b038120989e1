"""The real-scan benchmark: ``python benchmarks/experiments.py real [--model PATH]``.

On every real scan of ``../shared/data/real`` (described in its README.md): ``msanet predict --qc-gt``, then
``msanet evaluate`` where the scan has disc labels. Writes ``benchmarks/results/real.md`` and ``real.csv``
and one QC picture per scan in ``docs/figures/real/`` (predicted discs in yellow, ground truth in blue).

- ``amu_t2w``: 6 T2w scans, 56 labelled discs (C2-C3 .. T4-T5), a BIDS data set evaluated as it is.
- ``sct_tutorial_lumbar``: one thoracolumbar T2w scan whose label file holds the T9-T10 disc (17) and the conus
  tip (60, not a disc): it is evaluated through a one-subject BIDS copy whose label file keeps the disc values
  (1..25) only.
- ``sct_testing_data``: a T1w crop without labels: its predicted disc names and confidences are listed.

Scoring is ``msanet evaluate``'s label-matched definition on the 2D mid-sagittal plane (mm), R = 5 mm, every
SCT value (``--values 1-25``). This file only formats what ``msanet evaluate`` and ``msanet predict`` wrote.
Intermediate files (predictions, evaluations, the BIDS copy) stay in ``benchmarks/runs/real/<model sha256[:12]>/``.
With ``--model`` the same result files and pictures are rewritten, naming that model and its sha256: the committed
ones (and the README) are the bundled model's.

Leave-one-subject-out: a real scan never scores a model that trained on it. The benchmark reads each checkpoint's
training config (``extra_bids`` minus ``exclude_subjects``); an amu_t2w subject the model trained on is predicted
instead by the fold model ``--folds DIR/real-<subject>/best.safetensors``, whose own config must leave that subject
out (checked; the command stops otherwise). The tables say which model scored each scan.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import time
from pathlib import Path

import nibabel as nib
import numpy as np
from common import RESULTS, ROOT, commit, header, msanet, num, sha256, small_png, write_csv

from msanet import discs
from msanet.fileio import atomic_path, ensure_dir, write_text

REAL = Path(os.environ.get("MSANET_REAL_DATA", ROOT.parent / "shared" / "data" / "real"))  # the real scans (README there)
DEFAULT_MODEL = ROOT / "src" / "msanet" / "weights" / "msanet-default.safetensors"
FIGURES = ROOT / "docs" / "figures" / "real"
WORK = ROOT / "benchmarks" / "runs" / "real"
RADIUS_MM = 5.0
LUMBAR_SUBJECT = "sub-t2lumbar"  # subject of the one-scan BIDS copy of sct_tutorial_lumbar/t2_lumbar
CROP = REAL / "sct_testing_data" / "t1" / "t1w.nii.gz"
NOTES = {
    "amu_t2w": "6 real T2w cervical scans (1 mm, one site), labels C2-C3 .. T4-T5 where Spine Generic's raters put them "
               "(about 2 mm above and in front of the posterior tip of each disc): names exact, positions +-2 mm "
               "(../shared/data/real/README.md). C1-C2 is never labelled, so a C1-C2 prediction counts as a false positive.",
    "sct_tutorial_lumbar": "a real thoracolumbar T2w scan (201 mm tall) with one disc label, T9-T10, 13 mm below its top edge; "
                           "its conus-tip label (value 60) is not a disc and is left out. By eye it shows seven discs, T9-T10 to "
                           "L3-L4, the last at its lower edge (counted down from the label; the conus tip lies between the fourth "
                           "and the fifth, at L1 as usual); no sacrum. ",
    "sct_testing_data": "a real T1w cervical crop (77 mm tall) without labels; by eye it shows the discs C2-C3 to C5-C6, the lowest "
                        "cut by the field of view (../shared/data/real/README.md). Not scored.",
}
T9_T10 = 17  # SCT value of the lumbar scan's one labelled disc
LUMBAR_NOTES = {  # by whether the model has a T9-T10 channel
    False: "The model's channels are C1-C2 .. T4-T5, so it cannot find T9-T10 under its name: this row shows where its cervical "
           "guesses land on a lumbar scan (each one is a false positive).",
    True: "The model names C1-C2 .. L5-S1. Only T9-T10 is scored; the discs below it (T10-T11 .. L3-L4) are not "
          "labelled: their names count down from T9-T10 in the predicted list and on the picture.",
}
CSV_COLUMNS = ["level", "set", "scan", "disc", "n_gt", "tp", "naming_errors", "n_pred", "fp", "fp_beyond_labels", "detection_rate", "fpr",
               "dtt_mean_mm", "found", "name", "predicted_as", "error_mm", "dtt_mm", "confidence"]


def lumbar_bids(work: Path) -> Path:
    """A one-subject BIDS copy of sct_tutorial_lumbar whose label file keeps the disc values (1..25) only."""
    root = work / "sct_tutorial_lumbar_bids"
    anat, labels = root / LUMBAR_SUBJECT / "anat", root / "derivatives" / "labels" / LUMBAR_SUBJECT / "anat"
    ensure_dir(anat), ensure_dir(labels)
    with atomic_path(anat / f"{LUMBAR_SUBJECT}_T2w.nii.gz") as tmp:
        shutil.copyfile(REAL / "sct_tutorial_lumbar" / "t2_lumbar.nii.gz", tmp)
    img = nib.load(REAL / "sct_tutorial_lumbar" / "t2_lumbar_labels.nii.gz")
    data = np.asarray(img.dataobj)
    is_disc = np.isin(np.rint(data), np.arange(discs.MIN_VALUE, discs.MAX_VALUE + 1))
    with atomic_path(labels / f"{LUMBAR_SUBJECT}_T2w_label-discs_dlabel.nii.gz") as tmp:
        nib.save(nib.Nifti1Image(np.where(is_disc, data, 0).astype(data.dtype), img.affine, img.header), str(tmp))
    return root


def trained_on(model: Path, bids_root: Path) -> set[str]:
    """Subject ids of ``bids_root`` whose scans trained checkpoint ``model`` (from the training config in its JSON).

    A data set counts as ``bids_root`` by its path or by its folder name alone: a run trained on another machine (a GPU
    one) holds that machine's path, and a same-named set is safer counted as seen than scored as unseen."""
    meta = json.loads(model.with_suffix(".json").read_text())
    cfg = meta.get("train_config") or {}
    root = bids_root.resolve()
    subjects = {p.name for p in bids_root.glob("sub-*") if p.is_dir()}
    used = set()
    same = lambda path: Path(path).resolve() == root or Path(path).name == root.name  # noqa: E731
    if cfg.get("bids") and same(cfg["bids"]):
        used |= subjects  # trained on its split: every subject counts as seen
    if any(same(extra) for extra in cfg.get("extra_bids") or []):
        used |= subjects - set(cfg.get("exclude_subjects") or [])
    return used


def scorers(model: Path, folds: Path | None, bids_root: Path) -> dict[str, Path]:
    """Which checkpoint scores each subject of ``bids_root``: the model itself, or for a subject it trained on, the
    fold model that left that subject out. Stops with a one-line message when such a fold is missing or saw the subject."""
    subjects = sorted(p.name for p in bids_root.glob("sub-*") if p.is_dir())
    seen = trained_on(model, bids_root)
    chosen = {}
    for subject in subjects:
        if subject not in seen:
            chosen[subject] = model
            continue
        if folds is None:
            raise SystemExit(f"{model_name(model)} trained on {bids_root.name}/{subject}: give --folds DIR with its leave-one-out models")
        fold = (folds / f"real-{subject}" / "best.safetensors").resolve()
        if not fold.is_file():
            raise SystemExit(f"{fold}: no leave-one-out model for {subject}")
        if subject in trained_on(fold, bids_root):
            raise SystemExit(f"{fold}: trained on {subject}, so it cannot score it")
        chosen[subject] = fold
    return chosen


def predict(inputs: Path, out: Path, model: Path, *flags: str) -> None:
    msanet("predict", str(inputs), "-o", str(out), "--model", str(model), "--qc-gt", "--overwrite", "--quiet", *flags)


def predict_each(bids_root: Path, chosen: dict[str, Path], pred: Path, *flags: str) -> None:
    """Predict every image of each subject with its own scorer (``scorers``) into ``pred/<subject>/anat``."""
    for subject, scorer in chosen.items():
        for image in sorted((bids_root / subject / "anat").glob(f"{subject}_*.nii.gz")):
            predict(image, pred / subject / "anat", scorer, *flags)


def evaluate_set(name: str, bids_root: Path, work: Path, model: Path, folds: Path | None = None) -> dict:
    """Predict and evaluate one labelled set (each subject by its scorer, see ``scorers``); returns its summary
    (with 'images'), evaluation rows and the scorer of each subject."""
    pred, ev = work / name / "pred", work / name / "eval"
    chosen = scorers(model, folds, bids_root)
    if all(m == model for m in chosen.values()):
        predict(bids_root, pred, model)
    else:
        predict_each(bids_root, chosen, pred)
    msanet("evaluate", "--pred", str(pred), "--gt", str(bids_root), "-o", str(ev), "--values", f"{discs.MIN_VALUE}-{discs.MAX_VALUE}",
           "--radius-mm", str(RADIUS_MM))
    with open(ev / "evaluation.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return {"summary": json.loads((ev / "summary.json").read_text()), "rows": rows, "pred": pred, "scorers": chosen}


THRESHOLDS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7)


def threshold_check(bids_root: Path, work: Path, chosen: dict[str, Path]) -> list[dict]:
    """Every subject predicted by its scorer at threshold 0, then ``msanet evaluate --thresholds``: detection and FPR
    pooled over the set at each threshold (the rows of its summary.json["thresholds"])."""
    pred, ev = work / "threshold0" / "pred", work / "threshold0" / "eval"
    predict_each(bids_root, chosen, pred, "--threshold", "0")
    msanet("evaluate", "--pred", str(pred), "--gt", str(bids_root), "-o", str(ev), "--values", f"{discs.MIN_VALUE}-{discs.MAX_VALUE}",
           "--radius-mm", str(RADIUS_MM), "--thresholds", ",".join(f"{t:g}" for t in THRESHOLDS))
    return json.loads((ev / "summary.json").read_text())["thresholds"]


def scan_name(subject: str) -> str:
    return "t2_lumbar" if subject == LUMBAR_SUBJECT else subject


def picture_path(set_name: str, scan: str, folder: Path = FIGURES) -> Path:
    """The QC picture of one scan (in docs/figures/real/ for the committed benchmark)."""
    return folder / f"{set_name}_{scan}.png"


def output_of(pred: Path, subject: str, contrast: str, suffix: str) -> Path:
    return pred / subject / "anat" / f"{subject}_{contrast}{suffix}"


def disc_verdict(row: dict) -> dict:
    """One labelled disc of evaluation.csv, in this benchmark's words (formatting only)."""
    found = row["status"] == "tp" or bool(row["misnamed_as"])
    return {"disc": row["name"], "found": "yes" if found else "no",
            "name": "right" if row["status"] == "tp" else "wrong" if found else "",
            "predicted_as": row["name"] if row["status"] == "tp" else row["misnamed_as"],
            "error_mm": row["dtt_2d_mm"] if row["status"] == "tp" else row["misnamed_2d_mm"], "dtt_mm": row["dtt_2d_mm"]}


def figures_row(m: dict) -> dict:
    return {"n_gt": m["n_gt"], "tp": m["tp"], "naming_errors": m["naming_errors"], "n_pred": m["n_pred"], "fp": m["fp"],
            "fp_beyond_labels": m["fp_beyond_labels"], "detection_rate": m["tpr"], "fpr": m["fpr"], "dtt_mean_mm": m["dtt_mean"],
            "n_offsets": m["n_offsets"], "offset_mm": m["offset_mean"]}


def placement_line(set_name: str, figures: dict) -> str:
    """Where the found discs' points sit against their labels on average (``msanet evaluate``'s mean offset in 2D: the
    canonical inferior and posterior axes, msanet.io's ('R', 'I', 'P')), or '' when no disc was found."""
    if not figures["n_offsets"]:
        return ""
    inferior, posterior = figures["offset_mm"]
    return (f"Placement, {set_name}: the points of the {figures['n_offsets']} found discs (right name or not) lie on average "
            f"{abs(posterior):.1f} mm {'behind' if posterior >= 0 else 'in front of'} and {abs(inferior):.1f} mm "
            f"{'below' if inferior >= 0 else 'above'} their labels (2D mid-sagittal mm; the labels' own uncertainty is +-2 mm).")


def csv_value(x) -> str:
    return "" if x is None else f"{x:.6g}" if isinstance(x, float) else str(x)


def run_real(model: Path, folds: Path | None = None, results_name: str = "real") -> Path:
    if not REAL.is_dir():
        raise SystemExit(f"{REAL}: no real scans here (the benchmark needs ../shared/data/real beside the checkout)")
    started = time.time()
    model = (model / "best.safetensors" if model.is_dir() else model).resolve()  # a run folder means its best checkpoint, as in msanet
    if not model.is_file():
        raise SystemExit(f"{model}: no such checkpoint")
    digest = sha256(model)
    work = ensure_dir(WORK / digest[:12])
    sets = {"amu_t2w": evaluate_set("amu_t2w", REAL / "amu_t2w", work, model, folds),
            "sct_tutorial_lumbar": evaluate_set("sct_tutorial_lumbar", lumbar_bids(work), work, model)}
    sweep = threshold_check(REAL / "amu_t2w", work / "amu_t2w", sets["amu_t2w"]["scorers"])
    scorer_thresholds = {m: json.loads(m.with_suffix(".json").read_text())["threshold"] for m in set(sets["amu_t2w"]["scorers"].values())}
    predict(CROP, work / "sct_testing_data" / "pred", model)
    crop = json.loads((work / "sct_testing_data" / "pred" / "t1w_discs.json").read_text())

    figure_dir = ensure_dir(FIGURES if results_name == "real" else work / "figures")
    csv_rows, scans = [], []  # scans: (set, scan, figures, per-disc verdicts, predicted discs, msanet predict's JSON, picture)
    for set_name, result in sets.items():
        for image in result["summary"]["images"]:
            subject, contrast = image["subject"], image["contrast"]
            scan = scan_name(subject)
            # labelled discs only: a prediction's own row says "fp", or "" when it matched a label in 2D but not in 3D
            verdicts = [disc_verdict(r) for r in result["rows"]
                        if r["subject"] == subject and r["contrast"] == contrast and r["status"] in ("tp", "fn")]
            predicted = json.loads(output_of(result["pred"], subject, contrast, "_discs.json").read_text())
            picture = small_png(output_of(result["pred"], subject, contrast, "_qc.png"), picture_path(set_name, scan, figure_dir))
            scans.append((set_name, scan, figures_row(image["2d"]), verdicts, predicted["discs"], predicted, picture))
    crop_picture = small_png(work / "sct_testing_data" / "pred" / "t1w_qc.png", picture_path("sct_testing_data", "t1w", figure_dir))
    scans.append(("sct_testing_data", "t1w", None, [], crop["discs"], crop, crop_picture))

    for set_name, scan, figures, verdicts, predicted, _, _ in scans:
        if figures is not None:
            csv_rows.append({"level": "scan", "set": set_name, "scan": scan, **figures})
        csv_rows += [{"level": "disc", "set": set_name, "scan": scan, **v} for v in verdicts]
        csv_rows += [{"level": "prediction", "set": set_name, "scan": scan, "disc": d["name"], "confidence": d["confidence"]} for d in predicted]
    totals = {}  # every set's pooled figures; set -> (number of scans, figures)
    for name, result in sets.items():
        (contrast,) = result["summary"]["contrasts"].values()  # each set holds one contrast (T2w)
        totals[name] = (contrast["2d"]["n_images"], figures_row(contrast["2d"]))
    csv_rows += [{"level": "total", "set": name, "scan": "all", **figures} for name, (_, figures) in totals.items()]

    write_csv(RESULTS / f"{results_name}.csv", CSV_COLUMNS, ({k: csv_value(row.get(k)) for k in CSV_COLUMNS} for row in csv_rows))
    md = RESULTS / f"{results_name}.md"
    folds_used = {subject: scorer for result in sets.values() for subject, scorer in result["scorers"].items() if scorer != model}
    text = markdown(scans, totals, model, digest, time.time() - started, folds, folds_used, results_name)
    write_text(md, text + "\n" + "\n".join(threshold_markdown(sweep, scorer_thresholds)) + "\n")
    crop_names = " ".join(d["name"] for d in crop["discs"]) or "none"
    record_history(results_name, model, digest, folds_used, totals, crop_names)
    return md


HISTORY_COLUMNS = ["date", "commit", "results", "model", "sha256", "leave_one_out", "amu_found", "amu_n", "amu_detection_rate", "amu_fpr",
                   "amu_dtt_mean_mm", "lumbar_found", "t1w_crop_names"]


def record_history(name: str, model: Path, digest: str, folds_used: dict, totals: dict, crop_names: str) -> None:
    """Append this run's headline figures to results/real_history.csv (+ .md): every model ever measured on the real
    scans, so what helped and what did not stays on record. A re-run of the same model and results name replaces its row."""
    from datetime import datetime, timezone

    path = RESULTS / "real_history.csv"
    rows = []
    if path.exists():
        with open(path, newline="") as f:
            rows = [r for r in csv.DictReader(f) if not (r["sha256"] == digest[:12] and r["results"] == name)]
    amu, lumbar = totals["amu_t2w"][1], totals["sct_tutorial_lumbar"][1]
    rows.append({"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M"), "commit": commit().split()[0], "results": name,
                 "model": model_name(model), "sha256": digest[:12], "leave_one_out": "yes" if folds_used else "no", "amu_found": amu["tp"],
                 "amu_n": amu["n_gt"], "amu_detection_rate": csv_value(amu["detection_rate"]), "amu_fpr": csv_value(amu["fpr"]),
                 "amu_dtt_mean_mm": csv_value(amu["dtt_mean_mm"]), "lumbar_found": lumbar["tp"], "t1w_crop_names": crop_names})
    write_csv(path, HISTORY_COLUMNS, rows)
    lines = ["# Real-scan benchmark: every model measured", "",
             "One row per `python benchmarks/experiments.py real` run (results file, model, its sha256); amu_t2w figures are "
             "leave-one-subject-out where the model trained on those scans. What each model is: the model card or the run's "
             "config.yaml; what was tried and why: `benchmarks/results/real.md` and the session notes.", "",
             "| date (UTC) | commit | results | model | sha256 | leave-one-out | amu_t2w found (right name) | detection | FPR | DTT (mm) | "
             "lumbar T9-T10 | T1w crop names |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['date']} | {r['commit']} | {r['results']} | `{r['model']}` | {r['sha256']} | {r['leave_one_out']} | "
              f"{r['amu_found']} / {r['amu_n']} | {num(r['amu_detection_rate'], True)} | {num(r['amu_fpr'], True)} | "
              f"{num(r['amu_dtt_mean_mm'])} | {r['lumbar_found']} / 1 | {r['t1w_crop_names']} |" for r in rows]
    write_text(RESULTS / "real_history.md", "\n".join(lines) + "\n")


def model_name(model: Path) -> str:
    return str(model.relative_to(ROOT)) if model.is_relative_to(ROOT) else str(model)


def markdown(scans: list, totals: dict, model: Path, digest: str, seconds: float, folds: Path | None = None,
             folds_used: dict[str, Path] | None = None, name: str = "real") -> str:
    command = "python benchmarks/experiments.py real" + ("" if model == DEFAULT_MODEL.resolve() else f" --model {model_name(model)}")
    command += "" if name == "real" else f" --name {name}"
    if folds_used:
        command += f" --folds {model_name(folds.resolve())}"
    lumbar = T9_T10 in discs.channel_values(json.loads(model.with_suffix(".json").read_text())["model_config"]["num_discs"])
    lines = [*header("Real scans: the model on the real MRI of ../shared/data/real", command)[:-1],
             f"- model: `{model_name(model)}` (sha256 {digest})",
             *([f"- **leave-one-subject-out**: this model trained on the amu_t2w scans, so each of them is scored by the model of "
                f"the same recipe that left that scan out: " + ", ".join(f"{s} by `{model_name(m)}` (sha256 {sha256(m)[:12]})"
                                                                        for s, m in sorted(folds_used.items()))] if folds_used else []),
             f"- wall time of this command: {seconds:.0f} s",
             f"- scoring: `msanet evaluate`, label-matched, 2D mid-sagittal mm, R = {RADIUS_MM:g} mm, every SCT value (`--values 1-25`). "
             f"**found**: a prediction within R of the label, under any name; **detection rate**: found under the right name "
             f"(TP / labelled discs); **naming error**: found, but only under another name; **FPR**: predictions that are not the "
             f"right-named match of a label / predictions; **beyond the labels**: the FPs named outside the scan's labelled levels "
             f"(C1-C2 above an amu scan's C2-C3, a disc below its last label), which the labels can neither confirm nor refute (they "
             f"stay in FP and FPR); **DTT**: distance from a label to the prediction of its own name "
             f"(wherever it is; n/a when that name is not predicted), mean over the discs that have one.",
             "- pictures: `docs/figures/real/` (`msanet predict --qc-gt`, reduced): predictions in yellow with their confidence, "
             "labels as blue circles.", ""]
    lines += ["## Summary", "", "| set | scan | discs labelled | found, right name | detection rate | naming errors | predicted | FP | "
              "of them beyond the labels | FPR | DTT mean (mm) |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for set_name, scan, figures, *_ in scans:
        if figures is not None:
            lines.append(summary_row(set_name, scan, figures))
    lines += [summary_row(f"**{name}**", f"**all {n}**", figures) for name, (n, figures) in totals.items() if n > 1] + [""]
    lines += [line for name, (n, figures) in totals.items() if n > 1 and (line := placement_line(name, figures))] + [""]
    for set_name in dict.fromkeys(scan[0] for scan in scans):
        lines += [f"## {set_name}", "", NOTES[set_name] + LUMBAR_NOTES[lumbar] * (set_name == "sct_tutorial_lumbar"), ""]
        for _, scan, _, verdicts, predicted, outputs, picture in (x for x in scans if x[0] == set_name):
            lines += [f"### {scan}", ""]
            if verdicts:
                lines += ["| labelled disc | found | name | predicted as | error (mm) | DTT, own name (mm) |", "|---|---|---|---|---|---|"]
                lines += [f"| {v['disc']} | {v['found']} | {v['name']} | {v['predicted_as']} | {num(v['error_mm'])} | {num(v['dtt_mm'])} |"
                          for v in verdicts] + [""]
            guesses = ", ".join(f"{d['name']} ({d['confidence']:.2f})" for d in predicted) or "none"
            lines += [f"Predicted (confidence; calibrated threshold {outputs['threshold']:.3f}): {guesses}. {outputs_note(outputs)}"
                      f"Picture: [`{picture.relative_to(ROOT)}`](../../{picture.relative_to(ROOT)}).", ""]
    return "\n".join(lines)


def outputs_note(outputs: dict) -> str:
    """What ``msanet predict`` said of the discs beside their names: the anchor that named them and its flags."""
    flags = "; ".join(f"{f['kind']}: {f['text']}" if f["text"] else f["kind"] for f in outputs.get("flags", [])) or "none"
    return f"Named from: {outputs.get('anchor', 'n/a')}; flags: {flags}. "


def threshold_markdown(sweep: list[dict], scorer_thresholds: dict[Path, float]) -> list[str]:
    calibrated = ", ".join(f"{t:.3f} (`{model_name(m)}`)" for m, t in sorted(scorer_thresholds.items()))
    lines = ["## Threshold check (amu_t2w)", "",
             "Is the calibrated confidence threshold right on real scans? Each scan predicted by its scorer with `--threshold 0`, "
             "then `msanet evaluate --thresholds`: the discs kept at each threshold, pooled over the six scans. Calibrated on the "
             f"synthetic validation split: {calibrated}.", "",
             "| threshold | found, right name | detection rate | predicted | FP | FPR | DTT mean (mm) |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['threshold']:.2f} | {r['tp']} / {r['n_gt']} | {num(r['tpr'], True)} | {r['n_pred']} | {r['fp']} | {num(r['fpr'], True)} | "
              f"{num(r['dtt_mean'])} |" for r in sweep]
    return lines + [""]


def summary_row(set_name: str, scan: str, m: dict) -> str:
    return (f"| {set_name} | {scan} | {m['n_gt']} | {m['tp']} | {num(m['detection_rate'], True)} | {m['naming_errors']} | {m['n_pred']} | "
            f"{m['fp']} | {m['fp_beyond_labels']} | {num(m['fpr'], True)} | {num(m['dtt_mean_mm'])} |")
