"""Heatmaps -> disc detections: peaks, sub-pixel refinement, confidence, anatomical order.

Pure numpy/scipy (no torch). Coordinates follow docs/design.md: heatmaps live on the output grid
(stride ``s``), detections are reported in INPUT pixel coordinates ``(row, col)`` via
``heatmaps.output_to_input_px``.

1. **Candidates** (``channel_candidates``): per channel, the local maxima of the heatmap (3x3
   neighbourhood, height > 0), highest first; a maximum closer than ``NMS_RADIUS`` output pixels
   (Chebyshev) to a higher (or equal, earlier in row-major order) kept one is dropped, so plateaus
   give one candidate. At most ``max_candidates`` per channel.
2. **Sub-pixel refinement** (``refine_peak``): on each axis, a parabola is fitted to the LOG of the
   heatmap at the peak pixel and its two neighbours; the vertex is the sub-pixel offset (clipped to
   +-0.5 px; 0 at the border, when a neighbour is not positive, or when the log-profile is not
   concave). A Gaussian is a parabola in log space, so the centre of a Gaussian peak is recovered
   exactly (tests: < 0.01 output px). The height gained on an axis is at most ``MAX_LOG_GAIN`` (that
   of a Gaussian of sigma 0.5 output px, far narrower than any training target): a small noise peak
   beside a near-zero pixel would otherwise extrapolate to a large height.
3. **Confidence** = refined peak height (the fitted log-parabolas evaluated at the refined offset,
   i.e. the height of the underlying Gaussian, independent of where its centre falls between
   pixels; never below the pixel value), clipped to [0, 1]. A candidate is kept only when
   ``confidence >= threshold`` (and > 0).
4. **Anatomical order**: disc values increase caudally (row increases with value; head at the top).
   Among the kept candidates, the decoder returns the chain that **maximises the summed confidence**
   subject to: at most one candidate per disc value, and for consecutive discs of the chain (in
   value order) the row of the larger value is at least ``min_separation_px`` input pixels (and
   strictly) below the row of the smaller one. Dynamic programming over candidates sorted by value
   (O(N^2), N <= V * max_candidates). Out-of-order peaks and duplicates (two channels peaking at the
   same place) are therefore resolved in favour of the more confident consistent chain, never kept
   together. Ties between equally good chains go to the one found first (candidates visited in
   value order, then height order).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from msanet.heatmaps import output_to_input_px

NMS_RADIUS = 2  # output pixels: a second candidate of a channel must be a distinct peak
_LOG_EPS = 1e-12  # heights below this are treated as this value in the log fit
MAX_LOG_GAIN = 0.5  # per axis: log height gained by a sigma-0.5-px Gaussian whose centre lies half a pixel off


@dataclass(frozen=True)
class Detection:
    """One decoded disc: SCT ``value``, ``(row, col)`` in input pixels, ``confidence`` in [0, 1]."""

    value: int
    row: float
    col: float
    confidence: float


def refine_peak(hm: np.ndarray, r: int, c: int) -> tuple[float, float, float]:
    """Sub-pixel peak of ``hm`` [h, w] around the integer maximum ``(r, c)``.

    Returns ``(row, col, height)`` in output pixels: per axis, the vertex of the parabola through the
    log-values at offsets -1, 0, +1 (offset clipped to [-0.5, 0.5]); ``height`` is exp of the peak
    log-value plus both axes' parabola gains at the chosen offsets (exact for a Gaussian).
    """
    mid_val = float(hm[r, c])
    log_mid = math.log(max(mid_val, _LOG_EPS))
    offsets, gain = [0.0, 0.0], 0.0
    for axis, (i, n) in enumerate(((r, hm.shape[0]), (c, hm.shape[1]))):
        if i == 0 or i == n - 1:
            continue
        lo_val, hi_val = (hm[r - 1, c], hm[r + 1, c]) if axis == 0 else (hm[r, c - 1], hm[r, c + 1])
        if lo_val <= 0 or hi_val <= 0:
            continue
        lo, hi = (math.log(max(float(v), _LOG_EPS)) for v in (lo_val, hi_val))
        a = (lo + hi - 2 * log_mid) / 2  # f(x) = log_mid + b x + a x^2
        b = (hi - lo) / 2
        if a >= 0:
            continue
        x = min(0.5, max(-0.5, -b / (2 * a)))
        offsets[axis] = x
        gain += min(MAX_LOG_GAIN, b * x + a * x * x)  # >= 0 because f is concave with its vertex on x's side
    height = max(mid_val, math.exp(log_mid + gain))
    return r + offsets[0], c + offsets[1], height


def channel_candidates(hm: np.ndarray, max_candidates: int = 3) -> list[tuple[float, float, float]]:
    """Candidate peaks of one heatmap [h, w]: ``(row, col, height)`` in output pixels, highest first.

    Local maxima (3x3) with height > 0, non-maximum-suppressed within ``NMS_RADIUS`` output pixels,
    at most ``max_candidates``, each refined by ``refine_peak``.
    """
    hm = np.asarray(hm, dtype=np.float64)
    peaks = (hm == ndimage.maximum_filter(hm, size=3, mode="constant", cval=-np.inf)) & (hm > 0)
    coords = np.argwhere(peaks)  # row-major order
    heights = hm[peaks]
    kept: list[np.ndarray] = []
    for i in np.argsort(-heights, kind="stable"):
        if len(kept) == max_candidates:
            break
        if all(np.abs(coords[i] - k).max() > NMS_RADIUS for k in kept):
            kept.append(coords[i])
    return [refine_peak(hm, int(r), int(c)) for r, c in kept]


def _check_values(values: Sequence[int], n_channels: int) -> tuple[int, ...]:
    values = tuple(values)
    if len(values) != n_channels:
        raise ValueError(f"len(values)={len(values)} does not match the {n_channels} heatmap channels")
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise ValueError(f"disc value {v!r} in values is not an integer")
    if len(set(values)) != len(values):
        raise ValueError(f"values={values} contains duplicates")
    return tuple(int(v) for v in values)


def decode_heatmaps(
    heatmaps: np.ndarray,
    values: Sequence[int],
    stride: int = 4,
    threshold: float = 0.3,
    min_separation_px: float | None = None,
    max_candidates: int = 3,
) -> list[Detection]:
    """Decode heatmaps ``[V, h, w]`` (channel ``v`` = disc ``values[v]``) into detections sorted by value.

    See the module docstring for the rule. ``min_separation_px`` (input pixels) is the least row gap
    between consecutive discs of the chain; default ``stride`` (one output pixel).
    Raises ValueError naming the bad argument.
    """
    heatmaps = np.asarray(heatmaps, dtype=np.float64)
    if heatmaps.ndim != 3:
        raise ValueError(f"heatmaps must be [V, h, w], got shape {heatmaps.shape}")
    if not np.isfinite(heatmaps).all():
        raise ValueError("heatmaps contain NaN or infinite values")
    values = _check_values(values, heatmaps.shape[0])
    if isinstance(stride, bool) or not isinstance(stride, (int, np.integer)) or stride < 1:
        raise ValueError(f"stride={stride!r} must be an integer >= 1")
    if not (isinstance(threshold, (int, float, np.floating)) and 0 <= threshold <= 1):
        raise ValueError(f"threshold={threshold!r} must be in [0, 1]")
    sep = float(stride if min_separation_px is None else min_separation_px)
    if not (math.isfinite(sep) and sep >= 0):
        raise ValueError(f"min_separation_px={min_separation_px!r} must be finite and >= 0")
    if isinstance(max_candidates, bool) or not isinstance(max_candidates, (int, np.integer)) or max_candidates < 1:
        raise ValueError(f"max_candidates={max_candidates!r} must be an integer >= 1")

    cands: list[Detection] = []  # sorted by value, then by height
    for ch in sorted(range(len(values)), key=lambda k: values[k]):
        for r, c, h in channel_candidates(heatmaps[ch], max_candidates):
            conf = min(1.0, max(0.0, h))
            if conf >= threshold and conf > 0:
                row, col = output_to_input_px(np.array([r, c]), int(stride))
                cands.append(Detection(values[ch], float(row), float(col), conf))
    if not cands:
        return []
    # best[i]: highest summed confidence of a valid chain ending with candidate i.
    best = [d.confidence for d in cands]
    prev = [-1] * len(cands)
    for i, d_i in enumerate(cands):
        for j in range(i):
            d_j = cands[j]
            if d_j.value < d_i.value and d_i.row > d_j.row and d_i.row - d_j.row >= sep and best[j] + d_i.confidence > best[i]:
                best[i], prev[i] = best[j] + d_i.confidence, j
    i = int(np.argmax(best))
    chain = []
    while i >= 0:
        chain.append(cands[i])
        i = prev[i]
    return chain[::-1]


def disc_positions(heatmaps: np.ndarray, stride: int = 4, threshold: float = 0.3, max_positions: int = 64) -> list[tuple[float, float, float]]:
    """Disc positions whatever their names: the peaks of the channel-wise maximum of ``heatmaps`` ``[V, h, w]``.

    Returns ``(row, col, height)`` in INPUT pixels, sorted by row: the candidates (``channel_candidates``:
    local maxima, at least ``NMS_RADIUS`` output pixels apart, sub-pixel refined) of ``max_v heatmaps[v]``
    with height ``>= threshold`` (and > 0), at most ``max_positions``. Counting them says how many discs
    the scan shows, independently of how the decoder named them (``msanet.anchor``).
    """
    heatmaps = np.asarray(heatmaps, dtype=np.float64)
    if heatmaps.ndim != 3 or heatmaps.shape[0] < 1:
        raise ValueError(f"heatmaps must be [V, h, w] with V >= 1, got shape {heatmaps.shape}")
    if not (isinstance(threshold, (int, float, np.floating)) and 0 <= threshold <= 1):
        raise ValueError(f"threshold={threshold!r} must be in [0, 1]")
    peaks = channel_candidates(heatmaps.max(axis=0), max_candidates=max_positions)
    out = []
    for r, c, h in peaks:
        if h >= threshold and h > 0:
            row, col = output_to_input_px(np.array([r, c]), int(stride))
            out.append((float(row), float(col), float(min(1.0, h))))
    return sorted(out)


def calibrate_threshold(confidences: Sequence[float], correct: Sequence[bool]) -> float:
    """Confidence threshold minimising FN + FP on validation candidates.

    ``confidences[k]`` is a candidate's confidence (e.g. ``decode_heatmaps(..., threshold=0)``),
    ``correct[k]`` whether it is a true detection. At threshold ``t`` a candidate is kept when
    ``confidence >= t``: a kept wrong one is an FP, a dropped correct one an FN (ground-truth discs
    never detected add the same FN to every ``t`` and are left out). Thresholds tried: 0, 1 and the
    midpoints between consecutive distinct values of {0, 1, the confidences}.
    Ties go to the HIGHEST threshold (fewest false positives). Empty input -> 0.5.
    Raises ValueError for mismatched lengths or confidences outside [0, 1].
    """
    conf = np.asarray(confidences, dtype=float).reshape(-1)
    ok = np.asarray(correct, dtype=bool).reshape(-1)
    if conf.shape != ok.shape:
        raise ValueError(f"{conf.size} confidences but {ok.size} correctness flags")
    if conf.size == 0:
        return 0.5
    if not (np.isfinite(conf).all() and conf.min() >= 0 and conf.max() <= 1):
        raise ValueError("confidences must be finite and in [0, 1]")
    levels = np.unique(np.concatenate([[0.0, 1.0], conf]))
    thresholds = np.unique(np.concatenate([[0.0, 1.0], (levels[:-1] + levels[1:]) / 2]))
    costs = np.array([np.sum((conf >= t) & ~ok) + np.sum((conf < t) & ok) for t in thresholds])
    return float(thresholds[costs == costs.min()].max())
