"""Per-disc Gaussian target heatmaps on the network's output grid, and the grid convention.

The network outputs heatmaps at ``stride`` (default 4) times coarser resolution than its input.
Output pixel ``(i, j)`` covers input pixels ``s*i .. s*i + s - 1``; its centre is at input-pixel
coordinate ``(s*i + (s-1)/2, s*j + (s-1)/2)``. Every module converts with the two functions below.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np


def input_to_output_px(rc: np.ndarray, stride: int) -> np.ndarray:
    """Input-pixel coordinates ``[..., 2]`` -> output-grid coordinates ``[..., 2]``."""
    return (np.asarray(rc, dtype=float) - (stride - 1) / 2) / stride


def output_to_input_px(rc: np.ndarray, stride: int) -> np.ndarray:
    """Output-grid coordinates ``[..., 2]`` -> input-pixel coordinates ``[..., 2]``."""
    return np.asarray(rc, dtype=float) * stride + (stride - 1) / 2


def make_heatmaps(
    points_px: Mapping[int, np.ndarray],
    values: Sequence[int],
    image_shape: tuple[int, int],
    stride: int,
    sigma_mm: float,
    pixel_mm: float,
) -> np.ndarray:
    """Target heatmaps ``[V, H/stride, W/stride]`` float32: channel v is a Gaussian of peak 1 at disc ``values[v]``.

    Args:
        points_px: {SCT value: (row, col) in input pixels}; values not in ``values`` are ignored,
            channels of absent discs are all zero.
        values: SCT value of each channel, in channel order.
        image_shape: input image ``(H, W)``; both divisible by ``stride``.
        stride: output stride of the network.
        sigma_mm: Gaussian standard deviation in mm.
        pixel_mm: input pixel size in mm.
    """
    height, width = image_shape
    if height % stride or width % stride:
        raise ValueError(f"image_shape={image_shape} must be divisible by stride={stride}")
    if sigma_mm <= 0:
        raise ValueError(f"sigma_mm={sigma_mm} must be > 0")
    h, w = height // stride, width // stride
    sigma_px = sigma_mm / (pixel_mm * stride)  # in output pixels
    rows = np.arange(h, dtype=np.float64)[:, None]
    cols = np.arange(w, dtype=np.float64)[None, :]
    out = np.zeros((len(values), h, w), dtype=np.float32)  # [V, h, w]
    for channel, value in enumerate(values):
        if value not in points_px:
            continue
        r, c = input_to_output_px(points_px[value], stride)
        out[channel] = np.exp(-((rows - r) ** 2 + (cols - c) ** 2) / (2 * sigma_px**2))
    return out


def make_any_heatmap(
    points_px: Mapping[int, np.ndarray], image_shape: tuple[int, int], stride: int, sigma_mm: float, pixel_mm: float
) -> np.ndarray:
    """Target of the class-agnostic "any disc" channel ``[H/stride, W/stride]`` float32: the pixel-wise maximum
    of one Gaussian of peak 1 per disc in ``points_px`` (every labelled disc, whatever its value).

    A narrow ``sigma_mm`` keeps neighbouring discs apart as separate peaks (with the maximum, two Gaussians
    ``d`` apart dip to ``exp(-d**2 / (8 sigma**2))`` between them). No disc: all zero.
    """
    per_disc = make_heatmaps(points_px, sorted(points_px), image_shape, stride, sigma_mm, pixel_mm)  # [n, h, w]
    if per_disc.shape[0] == 0:
        return np.zeros(per_disc.shape[1:], dtype=np.float32)
    return per_disc.max(axis=0)


def labelled_region(
    points_px: Mapping[int, np.ndarray], image_shape: tuple[int, int], stride: int, pixel_mm: float, margin_mm: float = 8.0
) -> np.ndarray:
    """Where a partly labelled image's labels speak for every disc: ``[H/stride, W/stride]`` float32, 1 inside, 0 outside.

    The labelled stretch of the column runs from the top label (lowest SCT value) to the bottom label; it ends half
    a disc spacing beyond each (along the line to its neighbouring label; ``margin_mm`` down the rows when there is
    only one label). Beyond it an unlabelled disc may be visible (C1-C2 above C2-C3, the discs below the last
    label), so a loss must not call it background there. No label: all 0.
    """
    height, width = image_shape
    h, w = height // stride, width // stride
    if not points_px:
        return np.zeros((h, w), dtype=np.float32)
    pts = np.array([points_px[v] for v in sorted(points_px)], dtype=np.float64).reshape(-1, 2)  # head to feet
    grid = output_to_input_px(np.stack(np.meshgrid(np.arange(h), np.arange(w), indexing="ij"), axis=-1), stride)  # [h, w, 2]
    if len(pts) == 1:
        down = np.array([1.0, 0.0])
        top_dir, top_margin, bottom_dir, bottom_margin = down, margin_mm / pixel_mm, down, margin_mm / pixel_mm
    else:
        top_step, bottom_step = pts[1] - pts[0], pts[-1] - pts[-2]
        top_margin, bottom_margin = np.linalg.norm(top_step) / 2, np.linalg.norm(bottom_step) / 2
        top_dir, bottom_dir = top_step / max(2 * top_margin, 1e-9), bottom_step / max(2 * bottom_margin, 1e-9)
    inside = ((grid - pts[0]) @ top_dir >= -top_margin) & ((grid - pts[-1]) @ bottom_dir <= bottom_margin)
    return inside.astype(np.float32)
