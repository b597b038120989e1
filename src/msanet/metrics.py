"""Disc-labelling metrics: pure functions returning plain dicts (NaN where undefined).

Label-matched definitions (this project's main figures):
- **DTT** (distance to target): Euclidean distance in mm between a ground-truth disc and the
  predicted disc of the same label, over the matched pairs (within R); mean, std and median.
- **FN**: a ground-truth disc with no same-label prediction within radius R (default 5 mm).
- **FP**: a predicted disc whose label has no ground truth within R, or a second prediction of a
  label (the prediction closest to the ground truth is the one matched).
- FNR = FN / ground-truth discs, FPR = FP / predicted discs (NaN when the denominator is 0).

Closest-point variant (``closest_point``), as in the published hourglass code for Spine Generic
disc labelling (Rouhier et al. 2020 / Azad et al. 2021 "Intervertebral disc labeling" repositories:
labels are ignored, distances along the superior-inferior axis decide):
- FP: a prediction whose closest ground truth (along that axis) is > 10 px away, or whose closest
  ground truth was already taken by an earlier prediction (predictions visited head to feet);
- FN: a ground-truth disc whose closest prediction (along that axis) is > 7 px away;
- DTT: Euclidean distance (mm) from each ground-truth disc that is not FN to its closest prediction.
Coordinates are in mm for ``label_matched`` and in pixels (with ``pixel_mm``) for ``closest_point``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from msanet import discs


def _summary(dtts: list[float], n_gt: int, n_pred: int, fn: int, fp: int) -> dict:
    arr = np.asarray(dtts, dtype=float)
    return {
        "n_gt": n_gt, "n_pred": n_pred, "tp": len(dtts), "fn": fn, "fp": fp,
        "fnr": fn / n_gt if n_gt else math.nan, "fpr": fp / n_pred if n_pred else math.nan,
        "dtt_mean": float(arr.mean()) if arr.size else math.nan,
        "dtt_std": float(arr.std()) if arr.size else math.nan,
        "dtt_median": float(np.median(arr)) if arr.size else math.nan,
        "dtts": [float(v) for v in arr],
    }


def label_matched(gt: Mapping[int, Sequence[float]], pred: Sequence[tuple[int, Sequence[float]]], radius_mm: float = 5.0) -> dict:
    """Label-matched DTT / FN / FP of one image (see module docstring). Coordinates in mm."""
    if radius_mm <= 0:
        raise ValueError(f"radius_mm={radius_mm} must be > 0")
    by_label: dict[int, list[np.ndarray]] = {}
    for value, xyz in pred:
        by_label.setdefault(int(value), []).append(np.asarray(xyz, dtype=float))
    per_disc, dtts, fn, fp = [], [], 0, 0
    for value in sorted(gt):
        g = np.asarray(gt[value], dtype=float)
        cands = by_label.pop(value, [])
        dists = [float(np.linalg.norm(p - g)) for p in cands]
        if dists and min(dists) <= radius_mm:
            k = int(np.argmin(dists))
            dtts.append(dists[k])
            per_disc.append({"value": value, "name": discs.disc_name(value), "status": "tp", "dtt_mm": dists[k]})
            extra = [d for i, d in enumerate(dists) if i != k]
        else:
            fn += 1
            per_disc.append({"value": value, "name": discs.disc_name(value), "status": "fn", "dtt_mm": min(dists) if dists else math.nan})
            extra = dists
        for d in extra:
            fp += 1
            per_disc.append({"value": value, "name": discs.disc_name(value), "status": "fp", "dtt_mm": d})
    for value in sorted(by_label):
        for _ in by_label[value]:
            fp += 1
            per_disc.append({"value": value, "name": discs.disc_name(value), "status": "fp", "dtt_mm": math.nan})
    out = _summary(dtts, len(gt), len(pred), fn, fp)
    out["per_disc"] = per_disc
    return out


def closest_point(
    gt: Mapping[int, Sequence[float]], pred: Sequence[tuple[int, Sequence[float]]], pixel_mm: float = 1.0,
    axis: int = 0, fp_px: float = 10.0, fn_px: float = 7.0,
) -> dict:
    """The anchors' closest-point FP/FN/DTT (see module docstring). Coordinates in pixels."""
    g_vals = sorted(gt)
    dim = len(next(iter(gt.values()))) if gt else len(pred[0][1]) if pred else 2
    g = np.array([np.asarray(gt[v], dtype=float) for v in g_vals]).reshape(len(g_vals), dim)
    p_list = sorted(((int(v), np.asarray(x, dtype=float)) for v, x in pred), key=lambda vx: vx[1][axis])
    p = np.array([x for _, x in p_list]).reshape(len(p_list), dim)
    fp, taken = 0, set()
    for x in p:
        if len(g) == 0:
            fp += 1
            continue
        d = np.abs(g[:, axis] - x[axis])
        k = int(np.argmin(d))
        if d[k] > fp_px or k in taken:
            fp += 1
        else:
            taken.add(k)
    per_disc, dtts, fn = [], [], 0
    for i, value in enumerate(g_vals):
        if len(p) == 0:
            fn += 1
            per_disc.append({"value": value, "name": discs.disc_name(value), "status": "fn", "dtt_mm": math.nan})
            continue
        d = np.abs(p[:, axis] - g[i, axis])
        k = int(np.argmin(d))
        if d[k] > fn_px:
            fn += 1
            per_disc.append({"value": value, "name": discs.disc_name(value), "status": "fn", "dtt_mm": math.nan})
        else:
            dist = float(np.linalg.norm(p[k] - g[i]) * pixel_mm)
            dtts.append(dist)
            per_disc.append({"value": value, "name": discs.disc_name(value), "status": "tp", "dtt_mm": dist})
    out = _summary(dtts, len(g_vals), len(p_list), fn, fp)
    out["tp"] = len(g_vals) - fn
    out["per_disc"] = per_disc
    return out


def aggregate(results: Sequence[dict]) -> dict:
    """Pool per-image results: summed counts, rates from the sums, DTT statistics over all discs."""
    dtts = [d for r in results for d in r["dtts"]]
    n_gt = sum(r["n_gt"] for r in results)
    n_pred = sum(r["n_pred"] for r in results)
    out = _summary(dtts, n_gt, n_pred, sum(r["fn"] for r in results), sum(r["fp"] for r in results))
    out["tp"] = sum(r["tp"] for r in results)
    out["n_images"] = len(results)
    del out["dtts"]
    return out
