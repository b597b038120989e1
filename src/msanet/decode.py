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

Models with the class-agnostic "any disc" channel (``MSANetConfig.any_disc``) are decoded by
``name_positions`` instead: the positions are that channel's peaks, and the named channels only choose
the names, by anatomical order (``decode_outputs`` picks the rule from the channel count).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from msanet import discs
from msanet.heatmaps import output_to_input_px

NMS_RADIUS = 2  # output pixels: a second candidate of a channel must be a distinct peak
_LOG_EPS = 1e-12  # heights below this are treated as this value in the log fit
MAX_LOG_GAIN = 0.5  # per axis: log height gained by a sigma-0.5-px Gaussian whose centre lies half a pixel off
ANY_MIN_SEPARATION_MM = 10.0  # "any disc" peaks (and chain members) at least this far apart are distinct discs
SKIP_PENALTY = 0.5  # name_positions: cost of each disc name skipped between two consecutive named positions
ANY_WEIGHT = 1.5  # name_positions: worth of a chain member's "any disc" evidence against its named evidence
GAP_WINDOW = 2  # count_names: a gap is compared with the longest of up to this many gaps on each side of it
GAP_SKIP_RATIO = 1.6  # count_names: a gap at least this many local spacings long holds round(ratio) - 1 missed discs
C1_C2_VALUE = 2  # count_names: C1-C2 lies a whole C2 (body and dens base) above C2-C3, farther than any other neighbour
CERVICAL_ANCHOR_MAX_VALUE = 3  # C1-C2 (2) or C2-C3 (3): discs holding one are named from C2 (``naming_anchor``)
SACRUM_VALUE = 25  # L5-S1: discs holding it and no cervical anchor are named from the sacrum
ANCHORS = ("C2", "sacrum", "none")


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


def channel_candidates(hm: np.ndarray, max_candidates: int = 3, nms_radius: int = NMS_RADIUS) -> list[tuple[float, float, float]]:
    """Candidate peaks of one heatmap [h, w]: ``(row, col, height)`` in output pixels, highest first.

    Local maxima (3x3) with height > 0, non-maximum-suppressed within ``nms_radius`` output pixels,
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
        if all(np.abs(coords[i] - k).max() > nms_radius for k in kept):
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


def _check_stride_threshold(stride: int, threshold: float) -> None:
    if isinstance(stride, bool) or not isinstance(stride, (int, np.integer)) or stride < 1:
        raise ValueError(f"stride={stride!r} must be an integer >= 1")
    if not (isinstance(threshold, (int, float, np.floating)) and 0 <= threshold <= 1):
        raise ValueError(f"threshold={threshold!r} must be in [0, 1]")


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
    _check_stride_threshold(stride, threshold)
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


def any_nms_radius(stride: int, pixel_mm: float) -> int:
    """Non-maximum-suppression radius (output pixels, Chebyshev) of the "any disc" channel at ``stride`` on a grid of
    ``pixel_mm``: peaks ``ANY_MIN_SEPARATION_MM`` apart both stay (at 2 mm: stride 4 -> 1, 2 -> 2, 1 -> 4)."""
    return max(1, math.ceil(ANY_MIN_SEPARATION_MM / (stride * pixel_mm)) - 1)


def naming_anchor(names: Sequence[int]) -> str:
    """Which landmark the disc ``names`` (SCT values) are tied to, one of ``ANCHORS``: ``"C2"`` when a cervical disc
    (value <= ``CERVICAL_ANCHOR_MAX_VALUE``) is among them, else ``"sacrum"`` when L5-S1 is, else ``"none"``."""
    if any(v <= CERVICAL_ANCHOR_MAX_VALUE for v in names):
        return "C2"
    return "sacrum" if SACRUM_VALUE in names else "none"


def count_names(rows: Sequence[float], names: Sequence[int], anchor: str) -> list[int]:
    """Names of a chain of discs re-counted along the column from its anchor, by the gaps between them.

    ``rows``: the chain's positions along the column, head first (any unit); ``names``: the SCT values the
    heatmaps gave them (strictly increasing). Each gap between neighbours is compared with the local disc spacing
    (the longest of up to ``GAP_WINDOW`` other gaps on each side: irregular points, e.g. a disc placed a few mm off,
    must not look like a missed disc): a gap of ``r >= GAP_SKIP_RATIO`` spacings holds
    ``round(r) - 1`` discs the model missed, so the names below it skip at least as many (a skip the heatmaps' names
    already make is kept: they see discs the gaps cannot, e.g. a point the chain left out). The gap below a member named
    C1-C2 spans the tall C2 (about 1.5 spacings): never a reference, and no skip of its own. The
    names then count from the anchor (one of ``ANCHORS``, ``naming_anchor``): ``"C2"`` keeps the first member's name,
    ``"sacrum"`` the last one's, ``"none"`` the offset most members' own names agree with (ties: the topmost such
    member). A chain of fewer than 4 members besides C1-C2 (no spacing to compare with) keeps its names.

    So one missed disc (degenerated, thin) no longer renames every disc below it: the heatmaps' names count the
    discs they see, the gap counts the one they did not. Returns the new names (may leave the vocabulary: the
    caller drops those). Raises ValueError for mismatched lengths, rows not increasing, or an unknown anchor.
    """
    if anchor not in ANCHORS:
        raise ValueError(f"anchor={anchor!r} must be one of {ANCHORS}")
    rows = np.asarray(rows, dtype=np.float64)
    if rows.shape != (len(names),):
        raise ValueError(f"rows ({rows.shape}) and names ({len(names)}) must be one per chain member")
    gaps = np.diff(rows)
    if (gaps <= 0).any():
        raise ValueError("rows must increase strictly (head first)")
    odd = np.asarray(names[:-1]) == C1_C2_VALUE  # the gap below C1-C2 spans the tall C2: one step, and no one's reference
    if len(names) - odd.sum() < 4:
        return [int(v) for v in names]
    steps = []
    for j, gap in enumerate(gaps):
        near = [i for i in range(max(0, j - GAP_WINDOW), j + GAP_WINDOW + 1) if i != j and i < len(gaps) and not odd[i]]
        ratio = gap / float(np.max(gaps[near])) if near and not odd[j] else 1.0
        steps.append(max(int(names[j + 1]) - int(names[j]), int(ratio + 0.5) if ratio >= GAP_SKIP_RATIO else 1))
    relative = np.concatenate([[0], np.cumsum(steps)])  # names up to an offset
    offsets = np.asarray(names) - relative  # the offset each member's own name implies
    if anchor == "C2":
        offset = offsets[0]
    elif anchor == "sacrum":
        offset = offsets[-1]
    else:
        kinds, counts = np.unique(offsets, return_counts=True)
        tied = set(kinds[counts == counts.max()].tolist())
        offset = next(o for o in offsets if o in tied)
    return [int(offset + r) for r in relative]


def name_positions(
    heatmaps: np.ndarray, any_map: np.ndarray, values: Sequence[int], stride: int = 4, threshold: float = 0.3, max_positions: int = 64,
    named_peaks: bool = True, count_gaps: bool = True, beyond_names: bool = True, *, pixel_mm: float,
) -> list[Detection]:
    """Discs placed by the "any disc" channel ``any_map`` [h, w] and named by the channels ``heatmaps`` [V, h, w] in anatomical order.

    1. **Candidates**: the peaks of ``any_map`` (``channel_candidates`` with ``any_nms_radius``, sub-pixel
       refined, at most ``max_positions``) and, with ``named_peaks``, each named channel's own candidates
       (``channel_candidates``) that lie at least ``ANY_MIN_SEPARATION_MM`` from every any-disc peak (they fill its
       gaps), all with height ``>= threshold`` (and > 0), sorted by row (head first).
    2. **Evidence** at each candidate ``i``: ``a_i``, the any-disc channel there (an any-disc peak's refined height),
       and ``e[i, k]``, named channel ``k`` there (bilinear; a named peak's refined height for its own channel), both
       clipped to [0, 1].
    3. **Chain**: names strictly increasing down the candidates, consecutive chain members at least
       ``ANY_MIN_SEPARATION_MM`` apart in row (``pixel_mm``: the input grid's pixel), chosen to maximise ``sum over the chain (e[i, k_i] +
       ANY_WEIGHT * a_i) - SKIP_PENALTY * (names skipped between consecutive members)`` (dynamic programming over
       candidates x channels, O(N^2 V)). A candidate may stay out of the chain at no cost; it may take name ``k``
       only when its confidence for it, ``max(a_i, e[i, k])``, reaches ``threshold``. Below the vocabulary's last disc
       the chain may go on through the names that follow it in the spine (to L5-S1; ``beyond_names``), with no named
       evidence (``e = 0``, confidence ``a_i``): the discs a scan shows below the model's last channel (T5-T6 .. of an
       11-channel model) then take those names instead of pushing a disc in the middle out of the chain.

    4. **Count** (``count_gaps``): the chain's names are re-counted by ``count_names`` from its ``naming_anchor`` (C2
       when a member is C1-C2 or C2-C3; the sacrum when one is L5-S1 and none is cervical; else the names most members
       agree on), so a gap where a disc was missed skips its name; names that leave ``values`` are dropped (the
       names beyond the vocabulary among them).

    So a point goes where both "a disc" and "this disc" agree best: where the named channels have drifted off a disc
    (real scans), the any-disc peak beside it wins on ``a``; where the any-disc channel missed a disc, the named
    channel's own peak still carries it; a weak spurious peak between two discs is left out rather than shifting every
    name below it; a disc that both missed leaves a gap that the count below it skips. ``named_peaks=False`` places discs
    at any-disc peaks only, ``count_gaps=False`` keeps the chain's names, ``beyond_names=False`` ends the chain at the
    vocabulary's last disc (the ablations in ``benchmarks/decode_rules.py``).

    Returns detections sorted by value, ``confidence`` = the larger of ``a_i`` and ``e[i, k_i]`` (for the name it
    ends with). Raises ValueError naming the bad argument.
    """
    heatmaps = np.asarray(heatmaps, dtype=np.float64)
    any_map = np.asarray(any_map, dtype=np.float64)
    if heatmaps.ndim != 3 or any_map.shape != heatmaps.shape[1:]:
        raise ValueError(f"heatmaps {heatmaps.shape} and any_map {any_map.shape} must be [V, h, w] and [h, w]")
    if not (np.isfinite(heatmaps).all() and np.isfinite(any_map).all()):
        raise ValueError("heatmaps contain NaN or infinite values")
    values = _check_values(values, heatmaps.shape[0])
    _check_stride_threshold(stride, threshold)
    if not (isinstance(pixel_mm, (int, float, np.floating)) and pixel_mm > 0):
        raise ValueError(f"pixel_mm={pixel_mm!r} must be > 0")
    sep = ANY_MIN_SEPARATION_MM / (stride * pixel_mm)  # output px
    peaks = [p for p in channel_candidates(any_map, max_positions, any_nms_radius(stride, pixel_mm)) if p[2] >= threshold and p[2] > 0]
    # (row, col, any-disc height: the refined peak's, or NaN = read from the map; the named channel whose own peak it is, or -1;
    # that peak's refined height)
    cands = [(r, c, h, -1, math.nan) for r, c, h in peaks]
    if named_peaks:  # a named channel's own peak fills a gap: no any-disc peak within sep of it
        for k in range(len(values)):
            for r, c, h in channel_candidates(heatmaps[k]):
                if h >= threshold and h > 0 and all(math.hypot(r - pr, c - pc) >= sep for pr, pc, _ in peaks):
                    cands.append((r, c, math.nan, k, h))
    cands.sort(key=lambda cand: cand[:2])  # by row, head first
    if not cands or not values:
        return []
    order = sorted(range(len(values)), key=lambda k: values[k])  # channels by value
    beyond = list(range(max(values) + 1, discs.MAX_VALUE + 1)) if beyond_names else []  # names past the last channel
    names_by_column = [values[k] for k in order] + beyond  # [V + X]: the chain's names, in value order
    coords = np.array([cand[:2] for cand in cands]).T  # [2, N] output px
    sample = lambda hm: np.clip(ndimage.map_coordinates(hm, coords, order=1, mode="nearest"), 0.0, 1.0)  # noqa: E731
    evidence = np.stack([sample(heatmaps[k]) for k in order] + [np.zeros(len(cands))] * len(beyond), axis=1)  # [N, V + X]
    column = {k: j for j, k in enumerate(order)}
    for i, (_, _, _, k, h) in enumerate(cands):  # a named peak's own evidence is its refined height, as an any-disc peak's a_i
        if k >= 0:
            evidence[i, column[k]] = max(evidence[i, column[k]], min(1.0, h))
    refined = np.array([cand[2] for cand in cands])
    anyness = np.clip(np.where(np.isnan(refined), sample(any_map), refined), 0.0, 1.0)  # [N]
    gain = evidence + ANY_WEIGHT * anyness[:, None]  # [N, V + X] worth of putting name k (column) at candidate i
    confidence = np.maximum(anyness[:, None], evidence)  # [N, V + X]
    gain[(confidence < threshold) | (confidence <= 0)] = -np.inf  # a member's confidence passes the threshold
    n, v = evidence.shape
    rows = coords[0]
    # best[i, k]: best score of a chain whose last member is candidate i, named order[k]; came[i, k]: the chain's previous
    # member and name index, or (-1, -1). Predecessors of i are the candidates at least sep rows above (a prefix of the
    # sorted list). With g[j, m] = best[j, m] + SKIP_PENALTY * m, a predecessor (j, m) of (i, k) scores
    # g[j, m] - SKIP_PENALTY * (k - 1): the best one is a prefix maximum of g over those j and m < k.
    best = np.full((n, v), -np.inf)
    came = np.full((n, v, 2), -1, dtype=int)
    for i in range(n):
        best[i] = gain[i]
        above = int(np.searchsorted(rows, rows[i] - sep, side="right"))
        if above == 0:
            continue
        g = best[:above] + SKIP_PENALTY * np.arange(v)[None, :]  # [above, V]
        col_j = np.argmax(g, axis=0)  # best earlier candidate per name
        col_max = g[col_j, np.arange(v)]  # [V]
        for k in range(1, v):
            m = int(np.argmax(col_max[:k]))
            s = col_max[m] - SKIP_PENALTY * (k - 1)
            if s > 0:  # else the chain starts at (i, k)
                best[i, k] = s + gain[i, k]
                came[i, k] = (int(col_j[m]), m)
    if not np.isfinite(best).any():
        return []
    i, k = np.unravel_index(int(np.argmax(best)), best.shape)  # candidates below the chain's last stay out
    members = []  # (candidate, name index), head first
    while i >= 0:
        members.append((int(i), int(k)))
        i, k = came[i, k]
    members = members[::-1]
    if count_gaps:
        names = [names_by_column[k] for _, k in members]
        index_of = {name: k for k, name in enumerate(names_by_column)}
        counted = count_names(rows[[i for i, _ in members]], names, naming_anchor(names))
        members = [(i, index_of[name]) for (i, _), name in zip(members, counted) if name in index_of]
    chain = []
    for i, k in members:
        if k >= len(values):  # a name past the vocabulary: it held its place in the chain, it is not output
            continue
        row, col = output_to_input_px(coords[:, i], int(stride))
        chain.append(Detection(names_by_column[k], float(row), float(col), float(confidence[i, k])))
    return chain


def decode_outputs(
    heatmaps: np.ndarray, values: Sequence[int], any_disc: bool, stride: int = 4, threshold: float = 0.3, *, pixel_mm: float
) -> list[Detection]:
    """Detections from a model's output channels ``[K, h, w]``: ``name_positions`` when the model has the
    "any disc" channel (last, ``K = len(values) + 1``), else ``decode_heatmaps`` (``K = len(values)``); ``pixel_mm``: the
    input grid's pixel (used by ``name_positions`` only)."""
    heatmaps = np.asarray(heatmaps)
    if any_disc:
        return name_positions(heatmaps[:-1], heatmaps[-1], values, stride=stride, threshold=threshold, pixel_mm=pixel_mm)
    return decode_heatmaps(heatmaps, values, stride=stride, threshold=threshold)


def disc_positions(
    heatmaps: np.ndarray, stride: int = 4, threshold: float = 0.3, max_positions: int = 64, nms_radius: int = NMS_RADIUS
) -> list[tuple[float, float, float]]:
    """Disc positions whatever their names: the peaks of the channel-wise maximum of ``heatmaps`` ``[V, h, w]``.

    Returns ``(row, col, height)`` in INPUT pixels, sorted by row: the candidates (``channel_candidates``:
    local maxima, more than ``nms_radius`` output pixels apart, sub-pixel refined) of ``max_v heatmaps[v]``
    with height ``>= threshold`` (and > 0), at most ``max_positions``. Counting them says how many discs
    the scan shows, independently of how the decoder named them (``msanet.anchor``).
    """
    heatmaps = np.asarray(heatmaps, dtype=np.float64)
    if heatmaps.ndim != 3 or heatmaps.shape[0] < 1:
        raise ValueError(f"heatmaps must be [V, h, w] with V >= 1, got shape {heatmaps.shape}")
    _check_stride_threshold(stride, threshold)
    peaks = channel_candidates(heatmaps.max(axis=0), max_candidates=max_positions, nms_radius=nms_radius)
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
