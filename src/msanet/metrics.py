"""Disc-labelling metrics: pure functions returning plain dicts (NaN where undefined, no formatting).

Two definitions are implemented; both return the same keys (see ``_summary``) plus ``per_disc``.

**Label-matched** (``label_matched``; this project's main figures). Coordinates in mm (2D or 3D).
- A ground-truth (GT) disc of value ``v`` is paired with the prediction(s) labelled ``v``; when a
  label is predicted several times, the prediction closest to the GT disc is its partner.
- **TP**: the partner is within ``radius_mm`` (R, default 5 mm, inclusive).
- **FN**: a GT disc with no same-label prediction within R.
- **FP**: a prediction that is not a TP partner: its label has no GT disc, its GT disc is farther
  than R, or it is a second (third...) prediction of a label.
- FNR = FN / n_gt, FPR = FP / n_pred (NaN when the denominator is 0); TPR = TP / n_gt = 1 - FNR, the
  detection rate (found within R under the right name).
- **DTT** (distance to target): Euclidean distance (mm) between a GT disc and its same-label partner,
  over ALL same-label pairs, including those farther than R (so a one-level label shift shows up as
  a large DTT instead of being hidden by the radius). GT discs whose label is not predicted have no
  DTT. Reported as mean, std (population, ddof=0) and median; NaN when there is no pair.
- **Naming error**: an FN disc with a prediction of another label within R (a disc found in the right
  place under the wrong name). A prediction that is the TP of its own GT disc does not count; of
  several candidates the nearest is reported. Each such prediction is also an FP.
- **FP beyond the labels** (``fp_beyond_labels``): the FPs named outside the image's labelled levels (a value below
  its lowest or above its highest GT value; every FP when it has no GT). Real label files name a range of the discs
  an image shows (amu_t2w never labels C1-C2), so these are predictions the labels can neither confirm nor refute;
  they stay in FP and FPR.

**Closest-point** (``closest_point``): the rule of the published hourglass code for Spine Generic disc
labelling (Rouhier et al. 2020; Azad et al. 2021, "Stacked hourglass network with a multi-level
attention mechanism: where to look for intervertebral disc labeling"), checked against
``src/Metrics.py`` (``closest_node``, ``mesure_err_disc``, ``Faux_pos``, ``Faux_neg``) and ``src/test.py``
of github.com/rezazad68/Deep-Intervertebral-Disc-Labeling (commit 765fe405; same functions in
spinalcordtoolbox/disc-labeling-hourglass). Labels are ignored. Coordinates in pixels:
- "closest" is always the nearest point by Euclidean distance in pixels (their ``closest_node``);
  the thresholds apply to the distance along the spine (superior-inferior) axis only, i.e. the
  coordinate ``axis`` (default 0 = row).
- **FP**: a prediction whose closest GT disc is more than ``fp_px`` (10) px away along the axis, or
  whose closest GT disc is already taken by another prediction. (In the published code the list of
  taken discs is never filled, so that second clause never fires; ``mark_taken=False`` reproduces
  those numbers exactly. With ``mark_taken=True`` (default) each GT disc accepts one prediction: of
  several predictions that are within ``fp_px`` of the same closest GT disc, the one nearest to it is
  accepted and the others are FP, so the result does not depend on the order of the predictions.)
- **FN**: a GT disc whose closest prediction is more than ``fn_px`` (7) px away along the axis.
- **DTT**: Euclidean distance from EVERY GT disc to its closest prediction (their
  ``mesure_err_disc``: FN discs included), converted to mm with ``pixel_mm`` (a scalar or one size
  per coordinate axis). NaN when there is no prediction.
- FNR = FN / n_gt as published. FPR = FP / n_pred like the label-matched definition; the published
  "false positive percentage" divides by the number of GT discs instead: ``fpr_anchor`` = FP / n_gt.
- TP = n_gt - FN (GT discs found). Empty prediction: every GT disc is FN; empty GT: every prediction
  is FP (the published code crashes on both).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike

from msanet import discs


def _points(gt: Mapping[int, ArrayLike], pred: Sequence[tuple[int, ArrayLike]]) -> tuple[list[int], np.ndarray, list[int], np.ndarray]:
    """Validate and convert: GT values sorted, GT coords [n_gt, D], pred values, pred coords [n_pred, D]."""
    g_vals = sorted(gt)
    p_vals = []
    coords = []
    for v in g_vals:
        coords.append(gt[v])
    for item in pred:
        if len(item) != 2:
            raise ValueError(f"prediction {item!r} is not a (value, coordinates) pair")
        p_vals.append(item[0])
        coords.append(item[1])
    for v in list(g_vals) + p_vals:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not discs.is_valid_value(int(v)):
            raise ValueError(f"disc value {v!r} is not an SCT disc value (1..25)")
    arrays = [np.asarray(c, dtype=float) for c in coords]
    dims = {a.shape for a in arrays}
    if len(dims) > 1 or any(a.ndim != 1 or a.size not in (2, 3) for a in arrays):
        raise ValueError(f"coordinates must all have the same shape (2,) or (3,), got shapes {sorted(map(str, dims))}")
    if any(not np.isfinite(a).all() for a in arrays):
        raise ValueError("coordinates contain NaN or infinite values")
    dim = arrays[0].size if arrays else 2
    g = np.array(arrays[: len(g_vals)], dtype=float).reshape(len(g_vals), dim)
    p = np.array(arrays[len(g_vals) :], dtype=float).reshape(len(p_vals), dim)
    return [int(v) for v in g_vals], g, [int(v) for v in p_vals], p


def _positive(name: str, x: float) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)) or not (math.isfinite(x) and x > 0):
        raise ValueError(f"{name}={x!r} must be a finite number > 0")
    return float(x)


def _stats(dtts: list[float]) -> dict:
    arr = np.asarray(dtts, dtype=float)
    if arr.size == 0:
        return {"dtt_mean": math.nan, "dtt_std": math.nan, "dtt_median": math.nan}
    return {"dtt_mean": float(arr.mean()), "dtt_std": float(arr.std()), "dtt_median": float(np.median(arr))}


def _summary(n_gt: int, n_pred: int, tp: int, fn: int, fp: int, dtts: list[float]) -> dict:
    """The common keys: counts, rates (NaN for a zero denominator), DTT statistics and the raw DTTs."""
    return {
        "n_gt": n_gt, "n_pred": n_pred, "tp": tp, "fn": fn, "fp": fp,
        "tpr": tp / n_gt if n_gt else math.nan,
        "fnr": fn / n_gt if n_gt else math.nan,
        "fpr": fp / n_pred if n_pred else math.nan,
        **_stats(dtts),
        "dtts": [float(d) for d in dtts],
    }


def _entry(value: int, status: str, dtt_mm: float) -> dict:
    return {"value": value, "name": discs.disc_name(value), "status": status, "dtt_mm": float(dtt_mm)}


def label_matched(gt: Mapping[int, ArrayLike], pred: Sequence[tuple[int, ArrayLike]], radius_mm: float = 5.0) -> dict:
    """Label-matched DTT / FN / FP of one image (definitions in the module docstring). Coordinates in mm.

    Args:
        gt: {SCT value: coordinates (2,) or (3,) in mm}.
        pred: [(SCT value, coordinates in mm)], any order; a value may repeat.
        radius_mm: R, the largest distance (inclusive) of a true positive.

    Returns a dict with n_gt, n_pred, tp, fn, fp, tpr, fnr, fpr, dtt_mean, dtt_std, dtt_median, dtts (the
    DTT of each paired GT disc in value order), naming_errors and fp_beyond_labels (counts), offsets (prediction minus GT
    disc, per coordinate, of each found GT disc in value order: its TP partner or the prediction that makes it a naming
    error; their mean says whether the points sit systematically to one side of the labels) and per_disc: one entry per GT
    disc in value order (status 'tp' | 'fn', dtt_mm NaN when the label is not predicted), then one per
    false-positive prediction sorted by value then position (status 'fp', dtt_mm = distance to the GT
    disc of its label or NaN). Each entry: value, name, status, dtt_mm; GT entries also have
    misnamed_as (the SCT value of the prediction that makes it a naming error, else None) and
    misnamed_mm (its distance, else NaN).
    """
    radius_mm = _positive("radius_mm", radius_mm)
    g_vals, g, p_vals, p = _points(gt, pred)
    order = sorted(range(len(p_vals)), key=lambda k: (p_vals[k], *p[k]))  # order-independent output
    gt_entries, fp_entries, dtts = [], [], []
    tp = 0
    matched: set[int] = set()
    partner: dict[int, int] = {}  # GT disc -> the prediction that found it (TP partner, or naming error below)
    for i, value in enumerate(g_vals):
        same = [k for k in order if p_vals[k] == value]
        if not same:
            gt_entries.append(_entry(value, "fn", math.nan))
            continue
        dists = {k: float(np.linalg.norm(p[k] - g[i])) for k in same}
        k = min(same, key=lambda j: dists[j])  # first of the closest in the canonical order
        dtts.append(dists[k])
        if dists[k] <= radius_mm:
            tp += 1
            matched.add(k)
            partner[i] = k
            gt_entries.append(_entry(value, "tp", dists[k]))
        else:
            gt_entries.append(_entry(value, "fn", dists[k]))
    for i, entry in enumerate(gt_entries):  # naming errors: FN discs with another label's prediction within R
        near = {} if entry["status"] == "tp" else {
            k: d for k in order if p_vals[k] != entry["value"] and k not in matched and (d := float(np.linalg.norm(p[k] - g[i]))) <= radius_mm}
        k = min(near, key=near.__getitem__) if near else None  # the nearest; ties: first in the canonical order
        entry["misnamed_as"], entry["misnamed_mm"] = (None, math.nan) if k is None else (p_vals[k], near[k])
        if k is not None:
            partner[i] = k
    g_index = {v: i for i, v in enumerate(g_vals)}
    for k in order:
        if k not in matched:
            i = g_index.get(p_vals[k])
            fp_entries.append(_entry(p_vals[k], "fp", math.nan if i is None else float(np.linalg.norm(p[k] - g[i]))))
    out = _summary(len(g_vals), len(p_vals), tp, len(g_vals) - tp, len(fp_entries), dtts)
    out["naming_errors"] = sum(e["misnamed_as"] is not None for e in gt_entries)
    out["fp_beyond_labels"] = sum(not g_vals or not g_vals[0] <= e["value"] <= g_vals[-1] for e in fp_entries)
    out["offsets"] = [[float(x) for x in p[partner[i]] - g[i]] for i in sorted(partner)]
    out["per_disc"] = gt_entries + fp_entries
    return out


def closest_point(
    gt: Mapping[int, ArrayLike],
    pred: Sequence[tuple[int, ArrayLike]],
    pixel_mm: float | ArrayLike = 1.0,
    axis: int = 0,
    fp_px: float = 10.0,
    fn_px: float = 7.0,
    mark_taken: bool = True,
) -> dict:
    """The anchors' closest-point FP / FN / DTT of one image (rule in the module docstring). Labels ignored.

    Args:
        gt: {SCT value: coordinates in pixels}; pred: [(SCT value, coordinates in pixels)].
        pixel_mm: pixel size in mm, scalar or one per coordinate axis (anisotropic grids); used for the
            DTT only; the nearest-point search and the thresholds work in pixels, as published.
        axis: the coordinate index of the superior-inferior (spine) axis; 0 = row.
        fp_px, fn_px: the published thresholds (10 and 7 px) along that axis; a distance equal to
            the threshold is not an error (the published tests are ``> 10`` and ``> 7``).
        mark_taken: apply the "already taken" clause (see module docstring); False = published numbers.

    Returns the same keys as ``label_matched`` plus ``fpr_anchor`` (FP / n_gt). ``dtts`` holds the DTT of
    every GT disc (value order); per_disc: one entry per GT disc ('tp' | 'fn', dtt_mm to its closest
    prediction), then one per FP prediction ('fp', dtt_mm NaN) sorted by position along the axis.
    """
    fp_px, fn_px = _positive("fp_px", fp_px), _positive("fn_px", fn_px)
    g_vals, g, p_vals, p = _points(gt, pred)
    dim = g.shape[1]
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)) or not 0 <= axis < dim:
        raise ValueError(f"axis={axis!r} must be a coordinate index in 0..{dim - 1}")
    scale = np.asarray(pixel_mm, dtype=float)
    if scale.ndim > 1 or scale.size not in (1, dim) or not (np.isfinite(scale).all() and (scale > 0).all()):
        raise ValueError(f"pixel_mm={pixel_mm!r} must be > 0: a scalar or one value per coordinate axis ({dim})")
    order = sorted(range(len(p_vals)), key=lambda k: (p[k][axis], *p[k], p_vals[k]))  # head to feet
    p_vals, p = [p_vals[k] for k in order], p[order].reshape(len(order), dim)

    # FP: closest GT (Euclidean, px) of each prediction; the along-axis gap decides.
    fp_flags = [True] * len(p_vals)
    if len(g_vals):
        dist = np.linalg.norm(p[:, None, :] - g[None, :, :], axis=-1)  # [n_pred, n_gt] px
        closest_gt = np.argmin(dist, axis=1) if len(p_vals) else np.zeros(0, dtype=int)
        for k, h in enumerate(closest_gt):
            fp_flags[k] = abs(p[k, axis] - g[h, axis]) > fp_px
        if mark_taken:
            for h in set(int(x) for x in closest_gt):
                claimants = [k for k in range(len(p_vals)) if closest_gt[k] == h and not fp_flags[k]]
                if claimants:
                    keep = min(claimants, key=lambda k: dist[k, h])
                    for k in claimants:
                        fp_flags[k] = k != keep

    # FN and DTT: closest prediction (Euclidean, px) of each GT disc.
    gt_entries, dtts, fn = [], [], 0
    for i, value in enumerate(g_vals):
        if not len(p_vals):
            fn += 1
            gt_entries.append(_entry(value, "fn", math.nan))
            continue
        k = int(np.argmin(np.linalg.norm(p - g[i], axis=1)))
        dtt = float(np.linalg.norm((p[k] - g[i]) * scale))
        dtts.append(dtt)
        is_fn = abs(p[k, axis] - g[i, axis]) > fn_px
        fn += is_fn
        gt_entries.append(_entry(value, "fn" if is_fn else "tp", dtt))
    fp_entries = [_entry(p_vals[k], "fp", math.nan) for k in range(len(p_vals)) if fp_flags[k]]
    n_gt = len(g_vals)
    out = _summary(n_gt, len(p_vals), n_gt - fn, fn, len(fp_entries), dtts)
    out["fpr_anchor"] = len(fp_entries) / n_gt if n_gt else math.nan
    out["per_disc"] = gt_entries + fp_entries
    return out


def aggregate(results: Sequence[dict]) -> dict:
    """Pool per-image results of ONE definition: summed counts, rates from the sums, DTT stats over all discs.

    Returns n_images, n_gt, n_pred, tp, fn, fp, tpr, fnr, fpr, dtt_mean, dtt_std, dtt_median (and
    ``fpr_anchor`` = FP / n_gt when every result has it, i.e. closest-point results; ``naming_errors`` and
    ``fp_beyond_labels``, summed, and ``n_offsets`` and ``offset_mean`` (the mean offset of every found disc, a list per
    coordinate, NaN when none was found), when every result has them, i.e. label-matched results). Empty -> counts 0, rates
    and DTT NaN.
    """
    results = list(results)
    n_gt = sum(int(r["n_gt"]) for r in results)
    n_pred = sum(int(r["n_pred"]) for r in results)
    fp = sum(int(r["fp"]) for r in results)
    out = _summary(n_gt, n_pred, sum(int(r["tp"]) for r in results), sum(int(r["fn"]) for r in results), fp,
                   [d for r in results for d in r["dtts"]])
    del out["dtts"]
    if results and all("fpr_anchor" in r for r in results):
        out["fpr_anchor"] = fp / n_gt if n_gt else math.nan
    for key in ("naming_errors", "fp_beyond_labels"):  # label-matched results
        if results and all(key in r for r in results):
            out[key] = sum(int(r[key]) for r in results)
    if results and all("offsets" in r for r in results):  # label-matched: the mean offset of every found disc, per coordinate
        out.update(offset_summary([o for r in results for o in r["offsets"]]))
    return {"n_images": len(results), **out}


def offset_summary(offsets: Sequence[Sequence[float]]) -> dict:
    """``n_offsets`` and ``offset_mean`` (per coordinate, a list; NaN when there is none) of found discs' ``offsets``
    (prediction minus label, as ``label_matched`` gives them)."""
    return {"n_offsets": len(offsets), "offset_mean": np.mean(offsets, axis=0).tolist() if len(offsets) else math.nan}
