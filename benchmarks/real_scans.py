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
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import time
from pathlib import Path

import nibabel as nib
import numpy as np
from common import RESULTS, ROOT, header, msanet, num, sha256, small_png

from msanet import discs
from msanet.fileio import atomic_path, ensure_dir, write_text

REAL = ROOT.parent / "shared" / "data" / "real"
DEFAULT_MODEL = ROOT / "src" / "msanet" / "weights" / "msanet-default.safetensors"
FIGURES = ROOT / "docs" / "figures" / "real"
WORK = ROOT / "benchmarks" / "runs" / "real"
RADIUS_MM = 5.0
LUMBAR_SUBJECT = "sub-t2lumbar"  # subject of the one-scan BIDS copy of sct_tutorial_lumbar/t2_lumbar
CROP = REAL / "sct_testing_data" / "t1" / "t1w.nii.gz"
NOTES = {
    "amu_t2w": "6 real T2w cervical scans (1 mm, one site), labels C2-C3 .. T4-T5 at the posterior tip of each disc: names "
               "exact, positions +-2 mm (../shared/data/real/README.md). C1-C2 is never labelled, so a C1-C2 prediction counts "
               "as a false positive.",
    "sct_tutorial_lumbar": "a real thoracolumbar T2w scan (about T9 to the sacrum) with one disc label, T9-T10; its conus-tip "
                           "label (value 60) is not a disc and is left out. The model's channels are C1-C2 .. T4-T5, so it cannot "
                           "find T9-T10 under its name: this row shows where its cervical guesses land on a lumbar scan (each "
                           "one is a false positive).",
    "sct_testing_data": "a real T1w cervical crop (77 mm tall) without labels; by eye it shows the discs C2-C3 to C5-C6, the lowest "
                        "cut by the field of view (../shared/data/real/README.md). Not scored.",
}
CSV_COLUMNS = ["level", "set", "scan", "disc", "n_gt", "tp", "naming_errors", "n_pred", "fp", "detection_rate", "fpr", "dtt_mean_mm",
               "found", "name", "predicted_as", "error_mm", "dtt_mm", "confidence"]


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


def predict(inputs: Path, out: Path, model: Path) -> None:
    msanet("predict", str(inputs), "-o", str(out), "--model", str(model), "--qc-gt", "--overwrite", "--quiet")


def evaluate_set(name: str, bids_root: Path, work: Path, model: Path) -> dict:
    """Predict and evaluate one labelled set; returns its summary (with 'images') and evaluation rows."""
    pred, ev = work / name / "pred", work / name / "eval"
    predict(bids_root, pred, model)
    msanet("evaluate", "--pred", str(pred), "--gt", str(bids_root), "-o", str(ev), "--values", f"{discs.MIN_VALUE}-{discs.MAX_VALUE}",
           "--radius-mm", str(RADIUS_MM))
    with open(ev / "evaluation.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return {"summary": json.loads((ev / "summary.json").read_text()), "rows": rows, "pred": pred}


def scan_name(subject: str) -> str:
    return "t2_lumbar" if subject == LUMBAR_SUBJECT else subject


def picture_path(set_name: str, scan: str) -> Path:
    """The QC picture of one scan in docs/figures/real/."""
    return FIGURES / f"{set_name}_{scan}.png"


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
            "detection_rate": m["tpr"], "fpr": m["fpr"], "dtt_mean_mm": m["dtt_mean"]}


def csv_value(x) -> str:
    return "" if x is None else f"{x:.6g}" if isinstance(x, float) else str(x)


def run_real(model: Path) -> Path:
    if not REAL.is_dir():
        raise SystemExit(f"{REAL}: no real scans here (the benchmark needs ../shared/data/real beside the checkout)")
    started = time.time()
    model = (model / "best.safetensors" if model.is_dir() else model).resolve()  # a run folder means its best checkpoint, as in msanet
    if not model.is_file():
        raise SystemExit(f"{model}: no such checkpoint")
    digest = sha256(model)
    work = ensure_dir(WORK / digest[:12])
    sets = {"amu_t2w": evaluate_set("amu_t2w", REAL / "amu_t2w", work, model),
            "sct_tutorial_lumbar": evaluate_set("sct_tutorial_lumbar", lumbar_bids(work), work, model)}
    predict(CROP, work / "sct_testing_data" / "pred", model)
    crop = json.loads((work / "sct_testing_data" / "pred" / "t1w_discs.json").read_text())

    ensure_dir(FIGURES)
    csv_rows, scans = [], []  # scans: (set, scan, figures, per-disc verdicts, predicted discs, threshold, picture)
    for set_name, result in sets.items():
        for image in result["summary"]["images"]:
            subject, contrast = image["subject"], image["contrast"]
            scan = scan_name(subject)
            verdicts = [disc_verdict(r) for r in result["rows"] if r["subject"] == subject and r["contrast"] == contrast and r["status"] != "fp"]
            predicted = json.loads(output_of(result["pred"], subject, contrast, "_discs.json").read_text())
            picture = small_png(output_of(result["pred"], subject, contrast, "_qc.png"), picture_path(set_name, scan))
            scans.append((set_name, scan, figures_row(image["2d"]), verdicts, predicted["discs"], predicted["threshold"], picture))
    crop_picture = small_png(work / "sct_testing_data" / "pred" / "t1w_qc.png", picture_path("sct_testing_data", "t1w"))
    scans.append(("sct_testing_data", "t1w", None, [], crop["discs"], crop["threshold"], crop_picture))

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

    buf = io.StringIO()
    writer = csv.DictWriter(buf, CSV_COLUMNS)
    writer.writeheader()
    writer.writerows({k: csv_value(row.get(k)) for k in CSV_COLUMNS} for row in csv_rows)
    write_text(RESULTS / "real.csv", buf.getvalue())
    md = RESULTS / "real.md"
    write_text(md, markdown(scans, totals, model, digest, time.time() - started))
    return md


def model_name(model: Path) -> str:
    return str(model.relative_to(ROOT)) if model.is_relative_to(ROOT) else str(model)


def markdown(scans: list, totals: dict, model: Path, digest: str, seconds: float) -> str:
    command = "python benchmarks/experiments.py real" + ("" if model == DEFAULT_MODEL.resolve() else f" --model {model_name(model)}")
    lines = [*header("Real scans: the model on the real MRI of ../shared/data/real", command)[:-1],
             f"- model: `{model_name(model)}` (sha256 {digest})",
             f"- wall time of this command: {seconds:.0f} s",
             f"- scoring: `msanet evaluate`, label-matched, 2D mid-sagittal mm, R = {RADIUS_MM:g} mm, every SCT value (`--values 1-25`). "
             f"**found**: a prediction within R of the label, under any name; **detection rate**: found under the right name "
             f"(TP / labelled discs); **naming error**: found, but only under another name; **FPR**: predictions that are not the "
             f"right-named match of a label / predictions; **DTT**: distance from a label to the prediction of its own name "
             f"(wherever it is; n/a when that name is not predicted), mean over the discs that have one.",
             "- pictures: `docs/figures/real/` (`msanet predict --qc-gt`, reduced): predictions in yellow with their confidence, "
             "labels as blue circles.", ""]
    lines += ["## Summary", "", "| set | scan | discs labelled | found, right name | detection rate | naming errors | predicted | FP | FPR | "
              "DTT mean (mm) |", "|---|---|---|---|---|---|---|---|---|---|"]
    for set_name, scan, figures, *_ in scans:
        if figures is not None:
            lines.append(summary_row(set_name, scan, figures))
    lines += [summary_row(f"**{name}**", f"**all {n}**", figures) for name, (n, figures) in totals.items() if n > 1] + [""]
    for set_name in dict.fromkeys(scan[0] for scan in scans):
        lines += [f"## {set_name}", "", NOTES[set_name], ""]
        for _, scan, _, verdicts, predicted, threshold, picture in (x for x in scans if x[0] == set_name):
            lines += [f"### {scan}", ""]
            if verdicts:
                lines += ["| labelled disc | found | name | predicted as | error (mm) | DTT, own name (mm) |", "|---|---|---|---|---|---|"]
                lines += [f"| {v['disc']} | {v['found']} | {v['name']} | {v['predicted_as']} | {num(v['error_mm'])} | {num(v['dtt_mm'])} |"
                          for v in verdicts] + [""]
            guesses = ", ".join(f"{d['name']} ({d['confidence']:.2f})" for d in predicted) or "none"
            lines += [f"Predicted (confidence; calibrated threshold {threshold:.3f}): {guesses}. "
                      f"Picture: [`{picture.relative_to(ROOT)}`](../../{picture.relative_to(ROOT)}).", ""]
    return "\n".join(lines)


def summary_row(set_name: str, scan: str, m: dict) -> str:
    return (f"| {set_name} | {scan} | {m['n_gt']} | {m['tp']} | {num(m['detection_rate'], True)} | {m['naming_errors']} | {m['n_pred']} | "
            f"{m['fp']} | {num(m['fpr'], True)} | {num(m['dtt_mean_mm'])} |")
