"""Evaluation: predicted disc-label files vs ground-truth disc labels, disc by disc.

``msanet evaluate --pred DIR --gt GT`` pairs every ground-truth label file with the prediction of the
same image (``<stem>_label-discs_dlabel.nii.gz`` anywhere under DIR) and scores it with
``msanet.metrics``. GT is either a BIDS data set (images + ``derivatives/labels``) or a derivatives
folder of disc-label files alone (``BIDS/derivatives/labels``, or the output of ``msanet predict``):
label files share their image's grid, so the ground-truth file itself gives the geometry. Two spaces:

- 2D: the mid-sagittal plane, in mm (canonical y/z voxel coordinates times the voxel size; the
  left-right coordinate is dropped), the space the network works in;
- 3D: world mm from the NIfTI affine.

plus the anchors' closest-point variant (native in-plane voxels along the superior-inferior axis).
A missing prediction file counts as an empty prediction. Outputs (atomic): ``evaluation.csv`` (one
row per subject, contrast and disc), ``summary.json`` (pooled per contrast, and per image) and
``summary.md`` (a table per contrast).

Threshold check (``thresholds``): predictions made with ``msanet predict --threshold 0`` record every disc's
confidence in their ``<stem>_discs.json``; each threshold keeps the discs at or above it and is scored
again (2D, pooled per contrast), so a data set's own labels show where the model's calibrated threshold
sits: ``summary.json["thresholds"]`` and ``thresholds.csv``.
"""

from __future__ import annotations

import csv
import io as _io
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from msanet import bids, discs, io
from msanet.errors import DatasetError
from msanet.fileio import ensure_dir, write_text
from msanet.metrics import aggregate, closest_point, label_matched, offset_summary
from msanet.predict import LABEL_SUFFIX

CSV_COLUMNS = ["subject", "contrast", "value", "name", "status", "dtt_2d_mm", "status_3d", "dtt_3d_mm", "cp_status", "cp_dtt_mm",
               "misnamed_as", "misnamed_2d_mm", "misnamed_as_3d", "misnamed_3d_mm"]


def _index_predictions(pred_dir: Path) -> dict[str, Path]:
    return {p.name[: -len(LABEL_SUFFIX)]: p for p in sorted(pred_dir.rglob(f"*{LABEL_SUFFIX}"))}


@dataclass(frozen=True)
class Case:
    """One ground-truth label file to score.

    ``name`` is the subject (and session) as the CSV shows it, ``stem`` the image stem its prediction
    carries, ``grid`` the file whose voxel grid gives the geometry (the image, or the label file itself).
    """

    subject_id: str
    name: str
    contrast: str
    stem: str
    label: Path
    grid: Path


def ground_truth(gt_dir: Path) -> list[Case]:
    """The labelled images of ``gt_dir``: a BIDS data set, or else a folder of disc-label files.

    Raises InputNotFoundError (no folder) or DatasetError (nothing labelled).
    """
    if not gt_dir.is_dir():
        raise bids.InputNotFoundError(f"{gt_dir}: no such ground-truth folder")
    if bids.find_images(gt_dir):
        return [Case(s.subject_id, s.key, contrast, bids.label_stem(s.images[contrast]), label, s.images[contrast])
                for s in bids.find_subjects(gt_dir, require_labels=True) for contrast, label in sorted(s.labels.items())]
    cases = []
    for label in bids.find_label_files(gt_dir):
        stem = bids.label_stem(label)
        contrast = bids.contrast_of_name(label)
        name = stem[: -len(contrast) - 1] if contrast and len(stem) > len(contrast) else stem
        cases.append(Case(bids.entity(stem, "sub") or name, name, contrast or "unknown", stem, label, label))
    if not cases:
        raise DatasetError(f"{gt_dir}: no labelled images (neither a BIDS data set with derivatives/labels "
                           f"nor a folder of *_label-discs_dlabel.nii.gz files)")
    return cases


def points_2d(volume: io.Volume, points: dict[int, np.ndarray]) -> dict[int, np.ndarray]:
    """Canonical voxel coordinates -> mid-sagittal plane mm (y, z times the voxel size; left-right dropped)."""
    return {v: np.asarray(x)[1:] * volume.spacing_mm[1:] for v, x in points.items()}


def evaluate_pair(volume: io.Volume, gt: dict[int, np.ndarray], pred: dict[int, np.ndarray], radius_mm: float) -> dict:
    """Score one image: {'2d': ..., '3d': ..., 'closest_point': ...} metric dicts.

    ``gt`` / ``pred`` map SCT values to canonical voxel coordinates of ``volume``.
    """
    to_3d = lambda d: {v: volume.to_world_mm(np.asarray(x)) for v, x in d.items()}  # noqa: E731
    gt2, pred2 = points_2d(volume, gt), points_2d(volume, pred)
    gt3, pred3 = to_3d(gt), to_3d(pred)
    voxels = lambda d: {v: np.asarray(x)[1:] for v, x in d.items()}  # noqa: E731  (y, z) native voxels
    return {
        "2d": label_matched(gt2, list(pred2.items()), radius_mm=radius_mm),
        "3d": label_matched(gt3, list(pred3.items()), radius_mm=radius_mm),
        "closest_point": closest_point(voxels(gt), list(voxels(pred).items()), pixel_mm=volume.spacing_mm[1:]),
    }


def predicted_values(pred_dir: Path) -> tuple[int, ...]:
    """The disc values the models behind ``pred_dir``'s predictions can name: the union of the ``values`` their
    ``*_discs.json`` files record (2..12 for an 11-channel model, 2..25 for a 24-channel one); the 11 channels'
    values when no file records them (outputs of older versions, or label files alone)."""
    found: set[int] = set()
    for path in sorted(pred_dir.rglob("*_discs.json")):
        try:
            recorded = json.loads(path.read_text(encoding="utf-8")).get("values") or []
            found.update(int(v) for v in recorded if discs.is_valid_value(int(v)))
        except (OSError, ValueError, TypeError, AttributeError):
            continue  # not a predict output: it does not say
    return tuple(sorted(found)) or discs.channel_values()


def prediction_confidences(label_path: Path) -> dict[int, float] | None:
    """{SCT value: confidence} from the ``<stem>_discs.json`` beside a predicted label file; None when there is none."""
    json_path = label_path.with_name(label_path.name[: -len(LABEL_SUFFIX)] + "_discs.json")
    try:
        payload = json.loads(json_path.read_text(encoding="utf-8"))
        return {int(d["value"]): float(d["confidence"]) for d in payload["discs"]}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def run_evaluate(pred_dir: str | Path, gt_dir: str | Path, out_dir: str | Path | None = None, radius_mm: float = 5.0,
                 values: tuple[int, ...] | None = None, subjects: list[str] | None = None,
                 thresholds: tuple[float, ...] | None = None) -> dict:
    """Evaluate every labelled ground-truth image of ``gt_dir`` (see ``ground_truth``); returns the summary
    dict (also written to files). ``values``: the SCT values scored; default ``predicted_values(pred_dir)``.
    ``thresholds``: also score the predictions kept at each confidence threshold (module docstring)."""
    pred_dir, gt_dir = Path(pred_dir), Path(gt_dir)
    if not pred_dir.is_dir():
        raise bids.InputNotFoundError(f"{pred_dir}: no such prediction folder")
    if values is None:
        values = predicted_values(pred_dir)
    out_dir = ensure_dir(out_dir or pred_dir)
    predictions = _index_predictions(pred_dir)
    keep = set(values)
    rows, per_contrast, images = [], {}, []
    swept: dict[tuple[str, float], list[dict]] = {}  # (contrast, threshold) -> 2D results
    n_missing = 0
    for case in ground_truth(gt_dir):
        if subjects is not None and case.subject_id not in subjects:
            continue
        volume = io.load_image(case.grid)
        gt = {v: x for v, x in io.read_disc_labels(case.label, volume).items() if v in keep}
        pred_path = predictions.get(case.stem)
        pred = {}
        if pred_path is None:
            n_missing += 1
        else:
            pred = {v: x for v, x in io.read_disc_labels(pred_path, volume).items() if v in keep} if _has_labels(pred_path) else {}
        result = evaluate_pair(volume, gt, pred, radius_mm)
        if thresholds:
            confidence = prediction_confidences(pred_path) if pred_path is not None else {}
            if confidence is None:
                raise DatasetError(f"{pred_path}: no _discs.json with confidences beside it (needed for the threshold check)")
            gt2, pred2 = points_2d(volume, gt), points_2d(volume, pred)
            for t in thresholds:  # 2D only: the space the threshold table reports
                kept = [(v, x) for v, x in pred2.items() if confidence.get(v, 0.0) >= t]
                swept.setdefault((case.contrast, t), []).append(label_matched(gt2, kept, radius_mm=radius_mm))
        per_contrast.setdefault(case.contrast, {"2d": [], "3d": [], "closest_point": []})
        for space in ("2d", "3d", "closest_point"):
            per_contrast[case.contrast][space].append(result[space])
        images.append({"subject": case.subject_id, "contrast": case.contrast,
                       **{space: _image_figures(m) for space, m in result.items()}})
        rows += _rows(case.name, case.contrast, result)
    if not per_contrast:
        raise DatasetError(f"{gt_dir}: no labelled images to evaluate")
    summary = {
        "pred_dir": str(pred_dir), "gt_dir": str(gt_dir), "radius_mm": radius_mm, "values": list(values),
        "missing_predictions": n_missing,
        "contrasts": {c: {space: aggregate(results) for space, results in spaces.items()} for c, spaces in per_contrast.items()},
        "images": images,
    }
    if thresholds:
        summary["thresholds"] = [{"contrast": c, "threshold": t, **{k: v for k, v in aggregate(results).items()
                                                                     if k not in ("dtts", "per_disc", "n_offsets", "offset_mean")}}
                                 for (c, t), results in sorted(swept.items())]
        buf = _io.StringIO()
        writer = csv.writer(buf)
        columns = ["contrast", "threshold", "n_gt", "n_pred", "tp", "fp", "tpr", "fnr", "fpr", "naming_errors", "dtt_mean"]
        writer.writerow(columns)
        writer.writerows([[row["contrast"], *(row[k] if isinstance(row[k], int) else _fmt(row[k]) for k in columns[1:])]
                          for row in summary["thresholds"]])
        write_text(out_dir / "thresholds.csv", buf.getvalue())
    buf = _io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_COLUMNS)
    writer.writerows(rows)
    write_text(out_dir / "evaluation.csv", buf.getvalue())
    write_text(out_dir / "summary.json", json.dumps(_jsonable(summary), indent=2) + "\n")
    write_text(out_dir / "summary.md", summary_markdown(summary))
    return summary


def _image_figures(m: dict) -> dict:
    """One image's metrics of one definition for summary.json: its figures without the per-disc lists, and for label-matched
    results the number and mean of its found discs' offsets (``metrics.offset_summary``), as the pooled figures give them."""
    out = {k: v for k, v in m.items() if k not in ("dtts", "per_disc", "offsets")}
    return out | offset_summary(m["offsets"]) if "offsets" in m else out


def _rows(subject_id: str, contrast: str, result: dict) -> list[list]:
    """CSV rows of one image: one per GT disc (2D, 3D and closest-point verdicts side by side, and the
    label-matched naming errors), then one per false-positive prediction. FP entries of the three
    definitions are paired by (value, occurrence) so a prediction that is FP in one space only still gets one row."""
    def keyed(entries: list[dict]) -> dict:
        out, seen = {}, {}
        for e in entries:
            kind = "fp" if e["status"] == "fp" else "gt"
            n = seen[(kind, e["value"])] = seen.get((kind, e["value"]), -1) + 1
            out[(kind, e["value"], n)] = e
        return out

    spaces = [keyed(result[s]["per_disc"]) for s in ("2d", "3d", "closest_point")]
    keys = sorted(set().union(*spaces), key=lambda k: (k[0] == "fp", k[1], k[2]))
    rows = []
    for key in keys:
        d2, d3, cp = (space.get(key, {}) for space in spaces)
        rows.append([subject_id, contrast, key[1], discs.disc_name(key[1]), d2.get("status", ""), _fmt(d2.get("dtt_mm")),
                     d3.get("status", ""), _fmt(d3.get("dtt_mm")), cp.get("status", ""), _fmt(cp.get("dtt_mm")),
                     _name(d2.get("misnamed_as")), _fmt(d2.get("misnamed_mm")), _name(d3.get("misnamed_as")), _fmt(d3.get("misnamed_mm"))])
    return rows


def _has_labels(path: Path) -> bool:
    import nibabel as nib

    return bool(np.any(np.asarray(nib.load(str(path)).dataobj)))


def _name(value) -> str:
    return "" if value is None else discs.disc_name(value)


def _fmt(value) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{float(value):.3f}"


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        return None if math.isnan(float(obj)) else float(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def summary_markdown(summary: dict) -> str:
    """Markdown tables (one per contrast) of a summary dict; formatting only."""
    lines = [f"# Evaluation: {summary['pred_dir']} vs {summary['gt_dir']}", "",
             f"Label-matched radius R = {summary['radius_mm']} mm; discs {', '.join(discs.disc_name(v) for v in summary['values'])}. "
             "FP beyond the labels: false positives named outside an image's labelled levels (in FP and FPR too).",
             f"Images without a prediction file: {summary['missing_predictions']}.", ""]
    for contrast, spaces in sorted(summary["contrasts"].items()):
        lines += [f"## {contrast}", "", "| definition | images | GT discs | predicted | DTT mean +- std (mm) | DTT median (mm) | FNR | FPR | naming errors | "
                  "FP beyond the labels |", "|---|---|---|---|---|---|---|---|---|---|"]
        names = {"2d": "label-matched, 2D mid-sagittal", "3d": "label-matched, 3D world", "closest_point": "closest-point (anchors' code)"}
        for space in ("2d", "3d", "closest_point"):
            m = spaces[space]
            lines.append(f"| {names[space]} | {m.get('n_images', '')} | {m['n_gt']} | {m['n_pred']} | {_pm(m['dtt_mean'], m['dtt_std'])} | "
                         f"{_num(m['dtt_median'])} | {_pct(m['fnr'])} | {_pct(m['fpr'])} | {m.get('naming_errors', 'n/a')} | "
                         f"{m.get('fp_beyond_labels', 'n/a')} |")
        lines.append("")
        m = spaces["2d"]
        if m.get("n_offsets"):  # where the found discs' points sit against their labels, on average
            inferior, posterior = m["offset_mean"]
            lines += [f"Mean offset of the {m['n_offsets']} found discs' points from their labels (2D, prediction minus label): "
                      f"{inferior:+.2f} mm inferior, {posterior:+.2f} mm posterior.", ""]
    return "\n".join(lines)


def _num(x) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.2f}"


def _pm(mean, std) -> str:
    return "n/a" if _num(mean) == "n/a" else f"{mean:.2f} +- {0.0 if _num(std) == 'n/a' else std:.2f}"


def _pct(x) -> str:
    return "n/a" if _num(x) == "n/a" else f"{100 * x:.1f} %"
