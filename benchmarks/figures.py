"""README picture: ``python benchmarks/figures.py [SUBJECT]``.

docs/figures/synthetic_vs_real.png: the real T1w scan of ../shared/data/real next to one synthetic
subject's T1w and T2w (data/sg260, sub-amu01), each as its mid-sagittal slab at the same mm scale
(same 0.5 mm display grid, same window, cropped to the same 80 x 80 mm around the spine).
docs/figures/real_vs_synthetic_t2w.png: two real amu_t2w T2w scans next to one synthetic subject's realistic
T2w and its domain-randomised twin (data/sg260-dr, what the default model trains on), 150 x 110 mm from
the skull base down, same grid and window, each with its disc labels.
docs/figures/model_input_real_vs_synthetic.png: what the network sees (the benchmark recipe's 128 x 128 px grid at
2 mm, 3 mm slab, percentile-normalised): four real amu_t2w T2w scans above four synthetic T2w subjects made by the
current generator (``msanet synth`` seed 0, into a temporary folder).
The model's pictures of the real scans come from the real-scan benchmark (``python benchmarks/experiments.py real``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from msanet import io  # noqa: E402
from msanet.preprocess import PreprocessConfig, labels_to_pixels, preprocess_volume  # noqa: E402
from real_scans import REAL as REAL_DATA  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "data" / "real" / "sct_testing_data" / "t1" / "t1w.nii.gz"
AMU = REAL_DATA / "amu_t2w"
CFG = PreprocessConfig(pixel_mm=0.5, height=640, width=512)


def panel(ax, path, label_path, title, centre_value=None, window_mm=(80, 80), above=0.5):
    vol = io.load_image(path)
    sag = preprocess_volume(vol, CFG)
    img = sag.image
    if label_path is not None:
        pts = labels_to_pixels(sag, io.read_disc_labels(label_path, vol))
        r, c = pts[centre_value]
    else:
        nz = np.argwhere(img > 0)
        r, c = nz.mean(axis=0)
    h, w = int(window_mm[0] / CFG.pixel_mm), int(window_mm[1] / CFG.pixel_mm)
    r0, c0 = int(max(0, r - h * above)), int(max(0, c - w * 0.6))
    crop = img[r0 : r0 + h, c0 : c0 + w]
    ax.imshow(crop, cmap="gray", vmin=0, vmax=1, extent=(0, crop.shape[1] * CFG.pixel_mm, crop.shape[0] * CFG.pixel_mm, 0))
    if label_path is not None:
        from msanet import discs

        for v, (pr, pc) in pts.items():
            y, x = (pr - r0) * CFG.pixel_mm, (pc - c0) * CFG.pixel_mm
            if 0 <= y <= window_mm[0] and 0 <= x <= window_mm[1]:
                ax.plot(x, y, "o", color="#ffcc00", ms=3)
                ax.text(x - 3, y, discs.disc_name(v), color="#ffcc00", fontsize=7, ha="right", va="center")
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("mm (anterior left)", fontsize=7)
    ax.tick_params(labelsize=6)


def main() -> None:
    sg = ROOT / "data" / "sg260"
    sid = sys.argv[1] if len(sys.argv) > 1 else "sub-amu01"
    lab = sg / "derivatives" / "labels" / sid / "anat"
    fig, axes = plt.subplots(1, 3, figsize=(11, 4.2), dpi=120)
    panel(axes[0], REAL, None, "real T1w (SCT testing data, no labels)")
    panel(axes[1], sg / sid / "anat" / f"{sid}_T1w.nii.gz", lab / f"{sid}_T1w_label-discs_dlabel.nii.gz", f"synthetic T1w ({sid})", 5)
    panel(axes[2], sg / sid / "anat" / f"{sid}_T2w.nii.gz", lab / f"{sid}_T2w_label-discs_dlabel.nii.gz", f"synthetic T2w ({sid})", 5)
    fig.suptitle("Mid-sagittal slabs at the same scale (80 x 80 mm); synthetic discs labelled with their ground truth", fontsize=9)
    fig.tight_layout()
    out = ROOT / "docs" / "figures" / "synthetic_vs_real.png"
    fig.savefig(out)
    print(f"wrote {out}")
    fig, axes = plt.subplots(1, 4, figsize=(13, 5.2), dpi=110)
    for ax, real_id in zip(axes[:2], ("sub-errsm23", "sub-errsm11")):
        real_lab = AMU / "derivatives" / "labels" / real_id / "anat" / f"{real_id}_T2w_label-discs_dlabel.nii.gz"
        panel(ax, AMU / real_id / "anat" / f"{real_id}_T2w.nii.gz", real_lab, f"real T2w ({real_id})", 4, (150, 110), 0.4)
    panel(axes[2], sg / sid / "anat" / f"{sid}_T2w.nii.gz", lab / f"{sid}_T2w_label-discs_dlabel.nii.gz", f"synthetic T2w ({sid})", 4, (150, 110), 0.4)
    dr = ROOT / "data" / "sg260-dr"
    panel(axes[3], dr / sid / "anat" / f"{sid}_T2w.nii.gz", dr / "derivatives" / "labels" / sid / "anat" / f"{sid}_T2w_label-discs_dlabel.nii.gz",
          f"domain-randomised twin ({sid})", 4, (150, 110), 0.4)
    fig.suptitle("Real and synthetic T2w, mid-sagittal slabs at one scale and window (0 to the 99.5th percentile), labels as stored", fontsize=9)
    fig.tight_layout()
    out = ROOT / "docs" / "figures" / "real_vs_synthetic_t2w.png"
    fig.savefig(out)
    print(f"wrote {out}")
    model_input()


def model_input() -> None:
    import tempfile

    from common import msanet

    cfg = PreprocessConfig(pixel_mm=2.0, height=128, width=128, slab_mm=3.0)
    real = [AMU / sid / "anat" / f"{sid}_T2w.nii.gz" for sid in ("sub-errsm11", "sub-errsm20", "sub-errsm23", "sub-errsm24")]
    with tempfile.TemporaryDirectory() as tmp:
        msanet("synth", f"{tmp}/synth", "--subjects", "4", "--seed", "0", "--quiet")
        synthetic = sorted(Path(tmp, "synth").glob("sub-*/anat/*_T2w.nii.gz"))
        fig, axes = plt.subplots(2, 4, figsize=(12, 6.8), dpi=100)
        for ax, path in zip(axes.ravel(), real + synthetic):
            ax.imshow(preprocess_volume(io.load_image(path), cfg).image, cmap="gray", vmin=0, vmax=1)
            ax.set_title(("real " if path in real else "synthetic ") + path.name.split("_")[0], fontsize=8)
            ax.axis("off")
    fig.suptitle("What the network sees: 128 x 128 px at 2 mm (256 mm), mid-sagittal slab, percentile-normalised", fontsize=9)
    fig.tight_layout(h_pad=2.0)
    out = ROOT / "docs" / "figures" / "model_input_real_vs_synthetic.png"
    fig.savefig(out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
