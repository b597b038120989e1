"""The synthetic scan types next to a real scan: ``python benchmarks/figure_scan_types.py [SEED]``.

Writes docs/figures/synth_scan_types.png: the mid-sagittal T2w slice of one synthetic subject per scan type
(``msanet synth --scan-type cervical|thoracic|lumbar|whole``, 1 subject each, seed SEED, default 0) next to the
real thoracolumbar T2w scan of ../shared/data/real/sct_tutorial_lumbar (a 3 mm slab at its labelled midline),
all at the same scale (mm) and window (0 to the 99.5th percentile of the slice). Synthetic discs are marked
with their ground-truth labels; the real scan's single disc label (T9-T10) is marked too.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import nibabel as nib  # noqa: E402
import numpy as np  # noqa: E402

from msanet import bids, discs, io  # noqa: E402
from msanet.synth import generate_dataset  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "data" / "real" / "sct_tutorial_lumbar"
INCH_PER_MM = 0.0105
CONUS = 60  # SCT's label value for the conus medullaris tip


def mid_slice(image: Path, labels: Path, slab_mm: float = 3.0) -> tuple[np.ndarray, np.ndarray, dict[int, np.ndarray]]:
    """(slice [SI, AP] normalised to its 99.5th percentile, spacing (SI, AP) mm, {value: (row, col)}) at the labels' midline."""
    vol = io.load_image(image)
    data = np.rint(np.asarray(nib.load(labels).dataobj)).astype(int)  # the real file also holds 60 = conus tip
    points = {int(data[tuple(ijk)]): vol.from_original_voxel(ijk.astype(float)) for ijk in np.argwhere(data > 0)}
    x = int(round(float(np.median([p[0] for p in points.values()]))))
    k = max(0, int(round(slab_mm / vol.spacing_mm[0] / 2 - 0.5)))
    sl = vol.data[max(0, x - k) : x + k + 1].mean(axis=0)
    return sl / np.percentile(sl, 99.5), vol.spacing_mm[1:], {v: p[1:] for v, p in points.items()}


def main() -> None:
    seed = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    panels = [("real T2w, thoracolumbar\n(SCT course data; T9-T10 and conus labelled)",) + mid_slice(REAL / "t2_lumbar.nii.gz", REAL / "t2_lumbar_labels.nii.gz")]
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("lumbar", "thoracic", "cervical", "whole"):
            root = Path(tmp) / kind
            generate_dataset(root, 1, seed, workers=1, progress=False, scan_type=kind)
            subject = bids.find_subjects(root, require_labels=True)[0]
            sl, spacing, points = mid_slice(subject.images["T2w"], subject.labels["T2w"])
            spec = "3D, 0.8 mm" if kind == "cervical" else f"2D, {io.load_image(subject.images['T2w']).spacing_mm[0]:.1f} mm slices"
            panels.append((f"synthetic {kind} T2w\n({subject.subject_id}, {spec})", sl, spacing, points))
    sizes = [(p[1].shape[0] * p[2][0], p[1].shape[1] * p[2][1]) for p in panels]  # (SI, AP) mm
    # layout: two columns of two panels on the left, the whole spine on the right, all at INCH_PER_MM
    left_w = [max(sizes[0][1], sizes[2][1]), max(sizes[1][1], sizes[3][1])]
    left_h = max(sizes[0][0] + sizes[1][0], sizes[2][0] + sizes[3][0]) + 110
    width = (sum(left_w) + sizes[4][1] + 160) * INCH_PER_MM
    height = (max(left_h, sizes[4][0]) + 90) * INCH_PER_MM
    fig = plt.figure(figsize=(width, height), dpi=110)
    origins = [(0, 0), (0, 1), (1, 0), (1, 1)]  # (column, row)
    for (c, r), (title, sl, spacing, points), (h, w) in zip(origins, panels[:4], sizes[:4]):
        x0 = 40 + c * (left_w[0] + 40)
        y0 = 70 + (0 if r == 0 else max(sizes[0][0], sizes[2][0]) + 80)
        _panel(fig, (x0, y0, w, h), width, height, title, sl, spacing, points)
    title, sl, spacing, points = panels[4]
    _panel(fig, (sum(left_w) + 120, 70, sizes[4][1], sizes[4][0]), width, height, title, sl, spacing, points)
    fig.suptitle("Mid-sagittal T2w slices at one scale and window: a real scan and one synthetic subject per scan type", fontsize=9, y=0.995)
    out = ROOT / "docs" / "figures" / "synth_scan_types.png"
    fig.savefig(out)
    print(f"wrote {out}")


def _panel(fig, box_mm, width_in, height_in, title, sl, spacing, points) -> None:
    x0, y0, w, h = box_mm
    ax = fig.add_axes([x0 * INCH_PER_MM / width_in, 1 - (y0 + h) * INCH_PER_MM / height_in, w * INCH_PER_MM / width_in, h * INCH_PER_MM / height_in])
    ax.imshow(sl, cmap="gray", vmin=0, vmax=1, extent=(0, sl.shape[1] * spacing[1], sl.shape[0] * spacing[0], 0), interpolation="antialiased")
    for value, (row, col) in points.items():
        y, x = row * spacing[0], col * spacing[1]
        ax.plot(x, y, "o", color="#ffcc00", ms=2)
        name = "conus tip" if value == CONUS else discs.disc_name(value)
        ax.text(x + 4, y, name, color="#ffcc00", fontsize=4.5, va="center")
    ax.set_title(title, fontsize=6.5)
    ax.tick_params(labelsize=5)
    ax.set_xlabel("mm (anterior left)", fontsize=5)


if __name__ == "__main__":
    main()
