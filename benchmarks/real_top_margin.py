"""Does a model's naming depend on where the real column sits in its window?
``python benchmarks/real_top_margin.py NAME FAMILY_RUNS [FAMILY_RUNS ...]`` (e.g. ``benchmarks/runs/anyz6f``).

A probe beside the real-scan benchmark (``experiments.py real``), not a feature of the tool. Each amu_t2w scan is
predicted by the fold of the family that left it out (``FAMILY_RUNS/real-<subject>/best.safetensors``), once as it is and
once with ``MARGIN_MM`` of zeros added above its top edge (reoriented to RAS; the affine is kept, so the labels stay where
they are in world mm). A labelled disc counts as **right** when a prediction of its own name lies within R = 5 mm of it
(3D, world mm) and as **found** when any prediction does. A scan whose fold is not trained is left out (the family's
total row says over how many scans). (The benchmark's figures are 2D, on the mid-sagittal plane:
within one disc of these.) Writes ``benchmarks/results/NAME.md`` and ``.csv``: one row per family and scan.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import nibabel as nib
import numpy as np
from common import RESULTS, header, write_csv

from msanet import bids
from msanet import io as mio
from msanet.checkpoint import load_checkpoint
from msanet.fileio import write_text
from msanet.metrics import label_matched
from msanet.predict import Prediction, disc_records, predict_volume
from real_scans import REAL

MARGIN_MM = 40
RADIUS_MM = 5.0
FIELDS = ("family", "subject", "labelled", "right", "found", "right_margin", "found_margin")


def padded_copy(image: Path, margin_mm: float, folder: Path) -> Path:
    """``image`` in RAS with ``margin_mm`` of zeros added above its top edge (its affine kept), written into ``folder``."""
    img = nib.as_closest_canonical(nib.load(image))
    data = np.asarray(img.dataobj, dtype=np.float32)  # [X, Y, Z], Z superior
    n = int(round(margin_mm / float(img.header.get_zooms()[2])))
    out = folder / f"{image.name.split('.')[0]}_margin{n}.nii.gz"
    nib.save(nib.Nifti1Image(np.concatenate([data, np.zeros(data.shape[:2] + (n,), np.float32)], axis=2), img.affine), out)
    return out


def counts(model, volume: mio.Volume, labels_world: dict[int, np.ndarray], radius_mm: float = RADIUS_MM) -> tuple[int, int]:
    """(right, found) of one prediction of ``volume`` against labelled discs in world mm (``prediction_counts``)."""
    return prediction_counts(predict_volume(volume, model), labels_world, radius_mm)


def prediction_counts(prediction: Prediction, labels_world: dict[int, np.ndarray], radius_mm: float = RADIUS_MM) -> tuple[int, int]:
    """(right, found) of ``prediction`` against labelled discs in world mm (``metrics.label_matched`` within ``radius_mm``:
    right = its TPs, found = TPs + naming errors)."""
    predicted = [(r["value"], np.asarray(r["world_mm"])) for r in disc_records(prediction)]
    m = label_matched(labels_world, predicted, radius_mm=radius_mm)
    return m["tp"], m["tp"] + m["naming_errors"]


def main() -> None:
    if len(sys.argv) < 3:
        sys.exit("usage: python benchmarks/real_top_margin.py NAME FAMILY_RUNS [FAMILY_RUNS ...]")
    name, families = sys.argv[1], [Path(p) for p in sys.argv[2:]]
    started = time.time()
    scans = bids.find_subjects(REAL / "amu_t2w", contrasts=("T2w",), require_labels=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for family in families:
            for subject in scans:
                fold = family / f"real-{subject.subject_id}" / "best.safetensors"
                if not fold.is_file():  # a family trained in part: its other scans are still probed
                    print(f"{fold}: no such fold, {subject.subject_id} left out for {family.name}", flush=True)
                    continue
                model = load_checkpoint(fold)
                image = subject.images["T2w"]
                volume = mio.load_image(image)
                labels = {v: volume.to_world_mm(p) for v, p in mio.read_disc_labels(subject.labels["T2w"], volume).items()}
                right, found = counts(model, volume, labels)
                right_m, found_m = counts(model, mio.load_image(padded_copy(image, MARGIN_MM, Path(tmp))), labels)
                rows.append({"family": family.name, "subject": subject.subject_id, "labelled": len(labels), "right": right, "found": found,
                             "right_margin": right_m, "found_margin": found_m})
                print(f"{family.name} {subject.subject_id}: {right}/{len(labels)} right, {found} found; with the margin {right_m}, {found_m}", flush=True)
    write_csv(RESULTS / f"{name}.csv", FIELDS, rows)
    lines = header(f"Real scans: the names with {MARGIN_MM} mm of zeros above the field of view",
                   f"python benchmarks/real_top_margin.py {' '.join(sys.argv[1:])}")
    lines += [f"- wall time: {time.time() - started:.0f} s",
              "- what the columns mean: `benchmarks/real_top_margin.py` (docstring); amu_t2w, each scan by its leave-one-out fold", "",
              f"| family | scan | labelled | right | found | right, {MARGIN_MM} mm margin | found, {MARGIN_MM} mm margin |",
              "|---|---|---|---|---|---|---|"]
    for family in dict.fromkeys(r["family"] for r in rows):
        mine = [r for r in rows if r["family"] == family]
        lines += [f"| {family} | {r['subject']} | {r['labelled']} | {r['right']} | {r['found']} | {r['right_margin']} | {r['found_margin']} |" for r in mine]
        lines.append(f"| **{family}** | **all {len(mine)}** | " + " | ".join(str(sum(r[k] for r in mine)) for k in FIELDS[2:]) + " |")
    write_text(RESULTS / f"{name}.md", "\n".join(lines) + "\n")
    print(f"wrote {RESULTS / f'{name}.md'}")


if __name__ == "__main__":
    main()
