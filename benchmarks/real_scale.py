"""Does a model's naming depend on the apparent size of a real spine?
``python benchmarks/real_scale.py NAME FAMILY_RUNS SCALE [SCALE ...]`` (e.g. ``real-scale-wholez6s2 benchmarks/runs/wholez6s2 1 0.9 1.1``).

A probe beside the real-scan benchmark (``experiments.py real``), not a feature of the tool. Each amu_t2w scan is predicted
by the fold of the family that left it out (``FAMILY_RUNS/real-<subject>/best.safetensors``), once per ``SCALE``: the image
and its label file with every voxel size multiplied by the scale (the anatomy looks that many times larger in mm; the
voxels are unchanged). Scored as ``real_top_margin.counts``: a labelled disc is **right** when a prediction of its own
name lies within R = 5 mm x scale of it (3D, world mm), **found** when any prediction does. Writes
``benchmarks/results/NAME.md`` and ``.csv``: one row per scan and scale.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import nibabel as nib
from common import RESULTS, header, write_csv
from real_top_margin import RADIUS_MM, counts

from msanet import bids
from msanet import io as mio
from msanet.checkpoint import load_checkpoint
from msanet.fileio import write_text
from real_scans import REAL

FIELDS = ("subject", "scale", "labelled", "right", "found")


def scaled_copy(path: Path, scale: float, out: Path) -> Path:
    """``path`` with its voxel sizes times ``scale`` (affine's 3x3 part scaled, origin and voxels kept), written to ``out``."""
    img = nib.load(path)
    affine = img.affine.copy()
    affine[:3, :3] *= scale
    nib.save(nib.Nifti1Image(img.dataobj, affine, img.header), out)
    return out


def main() -> None:
    if len(sys.argv) < 4:
        sys.exit("usage: python benchmarks/real_scale.py NAME FAMILY_RUNS SCALE [SCALE ...]")
    name, family = sys.argv[1], Path(sys.argv[2])
    scales = [float(s) for s in sys.argv[3:]]
    started = time.time()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for subject in bids.find_subjects(REAL / "amu_t2w", contrasts=("T2w",), require_labels=True):
            model = load_checkpoint(family / f"real-{subject.subject_id}" / "best.safetensors")
            for scale in scales:
                image = scaled_copy(subject.images["T2w"], scale, Path(tmp) / f"{subject.subject_id}_{scale}.nii.gz")
                label_file = scaled_copy(subject.labels["T2w"], scale, Path(tmp) / f"{subject.subject_id}_{scale}_labels.nii.gz")
                volume = mio.load_image(image)
                labels = {v: volume.to_world_mm(p) for v, p in mio.read_disc_labels(label_file, volume).items()}
                right, found = counts(model, volume, labels, radius_mm=RADIUS_MM * scale)
                rows.append({"subject": subject.subject_id, "scale": scale, "labelled": len(labels), "right": right, "found": found})
                print(f"{subject.subject_id} x{scale:g}: {right}/{len(labels)} right, {found} found", flush=True)
    write_csv(RESULTS / f"{name}.csv", FIELDS, rows)
    lines = header("Real scans: the names when the spine looks larger or smaller", f"python benchmarks/real_scale.py {' '.join(sys.argv[1:])}")
    lines += [f"- wall time: {time.time() - started:.0f} s",
              f"- model: each amu_t2w scan by its leave-one-out fold of `{family}`; what the columns mean: `benchmarks/real_scale.py` (docstring)",
              "- cells: right / found (of the labelled discs)", "",
              "| scan | labelled | " + " | ".join(f"x{s:g}" for s in scales) + " |", "|---|---|" + "---|" * len(scales)]
    for subject in dict.fromkeys(r["subject"] for r in rows):
        mine = [r for r in rows if r["subject"] == subject]
        lines.append(f"| {subject} | {mine[0]['labelled']} | " + " | ".join(f"{r['right']} / {r['found']}" for r in mine) + " |")
    lines.append(f"| **all** | {sum(r['labelled'] for r in rows if r['scale'] == scales[0])} | "
                 + " | ".join(f"{sum(r['right'] for r in rows if r['scale'] == s)} / {sum(r['found'] for r in rows if r['scale'] == s)}" for s in scales) + " |")
    write_text(RESULTS / f"{name}.md", "\n".join(lines) + "\n")
    print(f"wrote {RESULTS / f'{name}.md'}")


if __name__ == "__main__":
    main()
