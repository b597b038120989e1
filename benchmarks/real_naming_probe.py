"""What names the discs of a real scan? ``python benchmarks/real_naming_probe.py NAME FAMILY_RUNS [OCCLUDE_SCAN ...]``
(e.g. ``real-naming-wholez6c benchmarks/runs/wholez6c sub-errsm11 sub-errsm23``).

A probe beside the real-scan benchmark (``experiments.py real``), not a feature of the tool. Each amu_t2w scan is
predicted by the fold of the family that left it out (``FAMILY_RUNS/real-<subject>/best.safetensors``):

1. **Cut fields of view**: the scan as it is, then cut (reoriented to RAS, the affine kept, so the labels stay put in
   world mm) so that its top edge lies ``TOP_CUTS_MM`` above the C2-C3 label, or its bottom edge ``BOTTOM_CUTS_MM``
   below it, or with ``SIDE_MM`` cut off (negative) or zeros added (positive) in front or behind. Counted as in
   ``real_top_margin.py``: **right** = a prediction of the disc's own name within 5 mm (3D), **found** = any prediction.
   If the names come from where the field of view starts or ends, the cuts move them.
2. **Evidence at each label**: the any-disc channel and the three strongest named channels at each labelled disc
   (bilinear on the output grid): what the network itself says, before the decoder chains the names.
3. **Occlusion** (scans named on the command line): for the disc ``OCCLUDE_VALUE``, the change of
   ``log(own channel / channel of the name above)`` at its label when a ``PATCH_MM`` square of the input is replaced by
   a blurred copy (Gaussian, ``BLUR_MM``), for patches every ``STEP_MM``; red where hiding the patch favours the right
   name, blue where it favours the name above. A picture ``benchmarks/results/NAME_occlusion.png``.

Writes ``benchmarks/results/NAME.md`` and ``.csv`` (part 1, one row per scan and cut).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import matplotlib
import nibabel as nib
import numpy as np
from common import RESULTS, header, write_csv
from scipy import ndimage

from msanet import bids, discs
from msanet import io as mio
from msanet.checkpoint import load_checkpoint
from msanet.fileio import write_text
from msanet.heatmaps import input_to_output_px
from msanet.predict import predict_volume
from msanet.preprocess import labels_to_pixels
from msanet.windows import windowed_heatmaps
from real_scans import REAL
from real_top_margin import prediction_counts

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

TOP_CUTS_MM = (30, 18, 10)
BOTTOM_CUTS_MM = (100, 70)
SIDE_MM = (-40, 40)
OCCLUDE_VALUE = 8  # C7-T1
PATCH_MM, STEP_MM, BLUR_MM = 16.0, 6.0, 8.0


def cut_copy(image: Path, labels_world: dict[int, np.ndarray], cut: tuple[str, float], folder: Path) -> Path:
    """``image`` in RAS, cut or padded as ``cut`` = (where, mm) says (module docstring), written into ``folder``."""
    img = nib.as_closest_canonical(nib.load(image))
    data, affine = np.asarray(img.dataobj, dtype=np.float32), img.affine.copy()  # [X, Y, Z]: Y anterior, Z superior
    zooms = img.header.get_zooms()
    where, mm = cut
    z3 = (np.linalg.inv(affine) @ np.r_[labels_world[3], 1.0])[2]  # C2-C3, voxel z
    if where == "top":
        data = data[:, :, : int(round(z3 + mm / zooms[2])) + 1]
    elif where == "bottom":
        k = max(0, int(round(z3 - mm / zooms[2])))
        data, affine = data[:, :, k:], affine @ _shift(2, k)
    else:  # front (anterior = high y) or back: cut (mm < 0) or zeros added (mm > 0)
        n = int(round(abs(mm) / zooms[1]))
        front = where == "front"
        if mm < 0:
            data = data[:, :-n] if front else data[:, n:]
            affine = affine if front else affine @ _shift(1, n)
        else:
            zeros = np.zeros((data.shape[0], n, data.shape[2]), np.float32)
            data = np.concatenate([data, zeros] if front else [zeros, data], axis=1)
            affine = affine if front else affine @ _shift(1, -n)
    out = folder / f"{image.name.split('.')[0]}_{where}{mm:g}.nii.gz"
    nib.save(nib.Nifti1Image(data, affine), out)
    return out


def _shift(axis: int, n: int) -> np.ndarray:
    t = np.eye(4)
    t[axis, 3] = n
    return t


def channel_evidence(heat: np.ndarray, rc_px: np.ndarray, stride: int) -> np.ndarray:
    """Every channel of ``heat`` [K, h, w] at input pixel ``rc_px`` (bilinear on the output grid)."""
    rc = input_to_output_px(rc_px, stride)
    k = heat.shape[0]
    return ndimage.map_coordinates(heat, np.array([np.arange(k), [rc[0]] * k, [rc[1]] * k]), order=1)


def occlusion_map(model, image: np.ndarray, window: tuple[int, int], stride: int, pixel_mm: float, rc: np.ndarray, own: int, above: int,
                  region: tuple[int, int, int, int]) -> tuple[float, np.ndarray]:
    """(base score, map of score change) for ``score = log(channel own / channel above)`` at ``rc`` (module docstring)."""
    def score(x: np.ndarray) -> float:
        e = np.clip(channel_evidence(windowed_heatmaps(model, x, window, stride), rc, stride), 1e-6, None)
        return float(np.log(e[own] / e[above]))

    base = score(image)
    blurred = ndimage.gaussian_filter(image, BLUR_MM / pixel_mm)
    p, step = int(PATCH_MM / pixel_mm), max(1, int(STEP_MM / pixel_mm))
    total, seen = np.zeros(image.shape), np.zeros(image.shape)
    r0, r1, c0, c1 = region
    for r in range(r0, r1 + 1, step):
        for c in range(c0, c1 + 1, step):
            x = image.copy()
            x[r: r + p, c: c + p] = blurred[r: r + p, c: c + p]
            total[r: r + p, c: c + p] += score(x) - base
            seen[r: r + p, c: c + p] += 1
    return base, np.where(seen > 0, total / np.maximum(seen, 1), np.nan)


def main() -> None:
    if len(sys.argv) < 3:
        sys.exit("usage: python benchmarks/real_naming_probe.py NAME FAMILY_RUNS [OCCLUDE_SCAN ...]")
    name, family, occlude = sys.argv[1], Path(sys.argv[2]), sys.argv[3:]
    started = time.time()
    scans = bids.find_subjects(REAL / "amu_t2w", contrasts=("T2w",), require_labels=True)
    cuts = [("top", mm) for mm in TOP_CUTS_MM] + [("bottom", mm) for mm in BOTTOM_CUTS_MM] + [(w, mm) for w in ("front", "back") for mm in SIDE_MM]
    rows, evidence_lines, panels = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for subject in scans:
            sid = subject.subject_id
            ckpt = load_checkpoint(family / f"real-{sid}" / "best.safetensors")
            volume = mio.load_image(subject.images["T2w"])
            labels_vox = mio.read_disc_labels(subject.labels["T2w"], volume)
            labels = {v: volume.to_world_mm(p) for v, p in labels_vox.items()}
            prediction = predict_volume(volume, ckpt)  # its slab and heatmaps serve parts 2 and 3 too
            right, found = prediction_counts(prediction, labels)
            row = {"subject": sid, "labelled": len(labels), "right": right, "found": found}
            for cut in cuts:
                r, f = prediction_counts(predict_volume(mio.load_image(cut_copy(subject.images["T2w"], labels, cut, Path(tmp))), ckpt), labels)
                row[f"{cut[0]}{cut[1]:g}"] = f"{r}/{f}"
            rows.append(row)
            print(sid, row, flush=True)
            # evidence at each label, and the occlusion map
            sag, heat = prediction.sagittal, prediction.heatmaps
            window, stride, px = (ckpt.preprocess.height, ckpt.preprocess.width), ckpt.stride, ckpt.preprocess.pixel_mm
            values = list(discs.channel_values(ckpt.model_config.num_discs))
            named = len(values)
            pixels = labels_to_pixels(sag, labels_vox)
            cells = []
            for v, rc in sorted(pixels.items()):
                e = channel_evidence(heat, rc, stride)
                top = np.argsort(-e[:named])[:3]
                anyness = f"any {e[named]:.2f}, " if ckpt.model_config.any_disc else ""
                cells.append(f"{discs.disc_name(v)}: {anyness}" + ", ".join(f"{discs.disc_name(values[k])} {e[k]:.2f}" for k in top))
            evidence_lines.append(f"- **{sid}** (threshold {ckpt.threshold:.2f}): " + "; ".join(cells))
            if sid in occlude and OCCLUDE_VALUE in pixels:
                rc = pixels[OCCLUDE_VALUE]
                region = (max(0, int(rc[0] - 130 / px)), min(sag.image.shape[0] - int(PATCH_MM / px), int(rc[0] + 90 / px)),
                          max(0, int(rc[1] - 100 / px)), min(sag.image.shape[1] - int(PATCH_MM / px), int(rc[1] + 80 / px)))
                base, change = occlusion_map(ckpt.model, sag.image, window, stride, px, rc, values.index(OCCLUDE_VALUE),
                                             values.index(OCCLUDE_VALUE - 1), region)
                panels.append((sid, sag.image, pixels, rc, base, change, region, int(PATCH_MM / px)))
    fields = ["subject", "labelled", "right", "found", *[f"{w}{mm:g}" for w, mm in cuts]]
    write_csv(RESULTS / f"{name}.csv", fields, rows)
    lines = header(f"Real scans: what names the discs ({family.name}, each scan by its leave-one-out fold)",
                   f"python benchmarks/real_naming_probe.py {' '.join(sys.argv[1:])}")
    lines += [f"- wall time: {time.time() - started:.0f} s", "- what the columns mean: `benchmarks/real_naming_probe.py` (docstring)", "",
              "## 1. Cut fields of view: right / found (3D, R = 5 mm)", "",
              "top N: top edge N mm above the C2-C3 label; bottom N: bottom edge N mm below it; front/back -40: 40 mm cut off, +40: "
              "40 mm of zeros added.", "",
              "| scan | labelled | right | found | " + " | ".join(fields[4:]) + " |", "|" + "---|" * len(fields)]
    lines += ["| " + " | ".join(str(r[f]) for f in fields) + " |" for r in rows]
    lines += ["", "## 2. The network's evidence at each labelled disc", "",
              "Any-disc channel, then the three strongest named channels, at each label (before the decoder names anything).", "",
              *evidence_lines]
    if panels:
        figure = RESULTS / f"{name}_occlusion.png"
        fig, axes = plt.subplots(1, len(panels), figsize=(6.5 * len(panels), 7.5), squeeze=False)
        for ax, (sid, image, pixels, rc, base, change, (r0, r1, c0, c1), p) in zip(axes[0], panels):
            ax.imshow(image, cmap="gray", vmin=0, vmax=1)
            lim = float(np.nanmax(np.abs(change))) or 1.0
            shown = ax.imshow(change, cmap="bwr", vmin=-lim, vmax=lim, alpha=0.45)
            for q in pixels.values():
                ax.plot(q[1], q[0], "c.", ms=5)
            ax.plot(rc[1], rc[0], "yo", mfc="none", ms=11)
            ax.set_xlim(c0, c1 + p)
            ax.set_ylim(r1 + p, r0)
            ax.set_title(f"{sid}: {discs.disc_name(OCCLUDE_VALUE)} (yellow), log(own / above) = {base:+.2f}\n"
                         f"red: hiding the patch favours {discs.disc_name(OCCLUDE_VALUE)}, blue: {discs.disc_name(OCCLUDE_VALUE - 1)}", fontsize=9)
            plt.colorbar(shown, ax=ax, fraction=0.04)
        fig.tight_layout()
        fig.savefig(figure, dpi=70)
        plt.close(fig)
        lines += ["", f"## 3. Occlusion, {discs.disc_name(OCCLUDE_VALUE)}", "", f"![occlusion]({figure.name})"]
    write_text(RESULTS / f"{name}.md", "\n".join(lines) + "\n")
    print(f"wrote {RESULTS / f'{name}.md'}")


if __name__ == "__main__":
    main()
