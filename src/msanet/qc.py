"""QC pictures: the mid-sagittal image with named discs drawn on it (matplotlib, PNG).

Shown the way a radiologist reads a sagittal spine: head at the top, anterior on the left, square
pixels at true mm scale, cropped to the scanned field of view. Each disc is a marker at its
posterior tip with its name (and confidence, for predictions) written in the prevertebral space,
coloured by region (``REGION_COLOURS``: cervical, thoracic, lumbar) so a whole-spine picture reads at a glance;
reference discs (ground truth) are open circles in another colour, named at the posterior edge.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from msanet import discs  # noqa: E402
from msanet.fileio import atomic_path  # noqa: E402

REGION_COLOURS = {"C": "#ffcc00", "T": "#ff77cc", "L": "#ff9966"}  # discs.region -> marker and name colour
REFERENCE_COLOUR = "#33ccff"  # ground truth (predict --qc-gt)


def field_of_view(image: np.ndarray, margin_px: int = 4) -> tuple[slice, slice]:
    """Rows/cols bounding the non-zero part of ``image`` (plus a margin); the whole image if empty."""
    nonzero = np.argwhere(image > 0)
    if len(nonzero) == 0:
        return slice(0, image.shape[0]), slice(0, image.shape[1])
    lo = np.maximum(nonzero.min(axis=0) - margin_px, 0)
    hi = np.minimum(nonzero.max(axis=0) + margin_px + 1, image.shape)
    return slice(int(lo[0]), int(hi[0])), slice(int(lo[1]), int(hi[1]))


def draw_discs(
    image: np.ndarray,
    points: Mapping[int, np.ndarray],
    out_path: str | Path,
    pixel_mm: float,
    title: str = "",
    confidences: Mapping[int, float] | None = None,
    reference: Mapping[int, np.ndarray] | None = None,
    overwrite: bool = True,
) -> Path:
    """Write a PNG of ``image`` [H, W] with discs {SCT value: (row, col)} named on it.

    ``reference`` (e.g. ground truth) {SCT value: (row, col)} is drawn as named open circles in another
    colour for comparison. Written atomically.
    """
    rows, cols = field_of_view(image)
    crop = image[rows, cols]
    height_mm, width_mm = crop.shape[0] * pixel_mm, crop.shape[1] * pixel_mm
    scale = 7.0 / max(height_mm, width_mm)
    fig_width = max(3.0, width_mm * scale + 1.6)  # inches: a whole spine is a tall, narrow picture
    fig, ax = plt.subplots(figsize=(fig_width, max(3.0, height_mm * scale + 0.6)), dpi=110)
    extent = (cols.start * pixel_mm - pixel_mm / 2, cols.stop * pixel_mm - pixel_mm / 2,
              rows.stop * pixel_mm - pixel_mm / 2, rows.start * pixel_mm - pixel_mm / 2)
    ax.imshow(crop, cmap="gray", vmin=0, vmax=1, extent=extent, interpolation="bilinear")
    margin = 0.02 * (extent[1] - extent[0])
    for value, (r, c) in sorted((reference or {}).items()):
        ax.plot(c * pixel_mm, r * pixel_mm, "o", mfc="none", mec=REFERENCE_COLOUR, ms=9, mew=1.2)
        _name_tag(ax, discs.disc_name(int(value)), (c * pixel_mm, r * pixel_mm), extent[1] - margin, REFERENCE_COLOUR, "right")
    for value, (r, c) in sorted(points.items()):
        x_mm, y_mm = c * pixel_mm, r * pixel_mm
        colour = REGION_COLOURS[discs.region(int(value))]
        ax.plot(x_mm, y_mm, "o", color=colour, ms=4.5, mec="black", mew=0.6)
        label = discs.disc_name(int(value))
        if confidences is not None and value in confidences:
            label += f" {confidences[value]:.2f}"
        _name_tag(ax, label, (x_mm, y_mm), extent[0] + margin, colour, "left")
    wrapped = "\n".join(textwrap.fill(line, width=int(11 * fig_width)) for line in title.split("\n"))  # ~11 characters of 9 pt per inch
    ax.set_title(wrapped, fontsize=9)
    ax.set_xlabel("anterior  <-  mm  ->  posterior", fontsize=8)
    ax.set_ylabel("superior  <-  mm  ->  inferior", fontsize=8)
    ax.tick_params(labelsize=7)
    fig.tight_layout()
    with atomic_path(out_path, overwrite=overwrite) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return Path(out_path)


def _name_tag(ax, text: str, xy: tuple[float, float], text_x: float, colour: str, ha: str) -> None:
    """``text`` at the image edge ``text_x``, level with the disc at ``xy``, joined to it by a thin line."""
    ax.annotate(text, xy=xy, xytext=(text_x, xy[1]), color=colour, fontsize=8, va="center", ha=ha,
                arrowprops={"arrowstyle": "-", "color": colour, "lw": 0.5, "alpha": 0.6},
                bbox={"boxstyle": "round,pad=0.15", "fc": "black", "ec": "none", "alpha": 0.55})
