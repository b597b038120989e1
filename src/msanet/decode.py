"""Heatmaps -> disc detections: peaks, sub-pixel refinement, confidence, anatomical order.

Per channel (one disc), up to ``max_candidates`` local maxima (3x3 neighbourhood) are candidates.
Each is refined to sub-pixel precision by fitting a parabola to the LOG of the heatmap along each
axis through the peak and its two neighbours: exact for a Gaussian peak. Confidence = peak height.

Anatomical order: disc values must increase caudally (row increases with value, head at the top).
Among the candidates with confidence >= threshold, at most one per channel is kept, choosing the set
that maximises the summed confidence subject to strictly increasing rows with at least
``min_separation_px`` input pixels between consecutive discs (dynamic programming). So out-of-order
peaks and duplicates (two channels peaking at the same place) are resolved in favour of the more
confident consistent chain, never silently kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from msanet.heatmaps import output_to_input_px


@dataclass(frozen=True)
class Detection:
    value: int  # SCT disc value
    row: float  # input-pixel coordinates
    col: float
    confidence: float


def _refine(hm: np.ndarray, r: int, c: int, eps: float = 1e-6) -> tuple[float, float]:
    """Sub-pixel offset of the peak at (r, c): vertex of a parabola through log-values on each axis."""
    offsets = []
    for axis, (i, n) in enumerate(((r, hm.shape[0]), (c, hm.shape[1]))):
        if i == 0 or i == n - 1:
            offsets.append(0.0)
            continue
        if axis == 0:
            lo, mid, hi = hm[r - 1, c], hm[r, c], hm[r + 1, c]
        else:
            lo, mid, hi = hm[r, c - 1], hm[r, c], hm[r, c + 1]
        lo, mid, hi = (np.log(max(float(v), eps)) for v in (lo, mid, hi))
        denom = lo - 2 * mid + hi
        offsets.append(float(np.clip(0.5 * (lo - hi) / denom, -0.5, 0.5)) if denom < 0 else 0.0)
    return r + offsets[0], c + offsets[1]


def channel_candidates(hm: np.ndarray, max_candidates: int = 3) -> list[tuple[float, float, float]]:
    """Local maxima of one heatmap [h, w] as (row, col, height) in output pixels, highest first."""
    peaks = (hm == ndimage.maximum_filter(hm, size=3, mode="constant", cval=-np.inf)) & (hm > 0)
    coords = np.argwhere(peaks)
    heights = hm[peaks]
    order = np.argsort(-heights, kind="stable")[:max_candidates]
    return [(*_refine(hm, int(coords[i][0]), int(coords[i][1])), float(heights[i])) for i in order]


def decode_heatmaps(
    heatmaps: np.ndarray,
    values: Sequence[int],
    stride: int = 4,
    threshold: float = 0.3,
    min_separation_px: float | None = None,
    max_candidates: int = 3,
) -> list[Detection]:
    """Decode heatmaps [V, h, w] into detections sorted by value (see module docstring).

    ``min_separation_px`` (input pixels) defaults to ``stride`` (one output pixel).
    """
    heatmaps = np.asarray(heatmaps, dtype=np.float64)
    if heatmaps.ndim != 3:
        raise ValueError(f"heatmaps must be [V, h, w], got shape {heatmaps.shape}")
    if not np.isfinite(heatmaps).all():
        raise ValueError("heatmaps contain NaN or infinite values")
    if len(values) != heatmaps.shape[0]:
        raise ValueError(f"len(values)={len(values)} does not match {heatmaps.shape[0]} channels")
    if stride < 1:
        raise ValueError(f"stride={stride} must be >= 1")
    if not 0 <= threshold <= 1:
        raise ValueError(f"threshold={threshold} must be in [0, 1]")
    sep = float(stride if min_separation_px is None else min_separation_px)
    cands: list[tuple[int, Detection]] = []  # (channel, detection), channel order
    for ch, value in enumerate(values):
        for r, c, h in channel_candidates(heatmaps[ch], max_candidates):
            conf = float(np.clip(h, 0.0, 1.0))
            if conf >= threshold and conf > 0:
                row, col = output_to_input_px(np.array([r, c]), stride)
                cands.append((ch, Detection(int(value), float(row), float(col), conf)))
    # DP over candidates in channel order: best chain ending at candidate i.
    best = [0.0] * len(cands)
    prev = [-1] * len(cands)
    for i, (ch_i, d_i) in enumerate(cands):
        best[i] = d_i.confidence
        for j in range(i):
            ch_j, d_j = cands[j]
            if ch_j < ch_i and d_j.row + sep <= d_i.row and best[j] + d_i.confidence > best[i]:
                best[i], prev[i] = best[j] + d_i.confidence, j
    if not cands:
        return []
    i = int(np.argmax(best))
    chain = []
    while i >= 0:
        chain.append(cands[i][1])
        i = prev[i]
    return chain[::-1]


def calibrate_threshold(confidences: Sequence[float], correct: Sequence[bool]) -> float:
    """Confidence threshold minimising FN + FP on validation candidates.

    A candidate kept (confidence >= t) counts as FP when not correct; a correct candidate dropped
    counts as FN. Thresholds tried: 0, 1 and the midpoints between sorted distinct confidences.
    Ties go to the highest threshold (fewest false positives). Empty input -> 0.5.
    """
    conf = np.asarray(confidences, dtype=float)
    ok = np.asarray(correct, dtype=bool)
    if conf.shape != ok.shape:
        raise ValueError(f"{conf.shape[0]} confidences but {ok.shape[0]} correctness flags")
    if conf.size == 0:
        return 0.5
    levels = np.unique(conf)
    thresholds = np.concatenate([[0.0], (levels[:-1] + levels[1:]) / 2, [min(1.0, levels[-1] + 1e-6)]])
    costs = [int(np.sum((conf >= t) & ~ok) + np.sum((conf < t) & ok)) for t in thresholds]
    best = min(costs)
    return float(max(t for t, c in zip(thresholds, costs) if c == best))
