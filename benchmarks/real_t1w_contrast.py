"""The real T1w crop's contrast, the generator's T1w, and a model on synthetic T1w of either look:
``python benchmarks/real_t1w_contrast.py NAME [--model PATH] [--subjects N]``.

1. **Levels**: mean intensity of disc, vertebral body, cord and muscle at the network's input scaling: each scan
   preprocessed as for training (mid-sagittal slab, 0.5th / 99.5th percentiles of the slab = 0 / 1, clipped) on a 1 mm
   grid (``real_intensity.CFG``).
   The real T1w crop (``sct_testing_data/t1/t1w.nii.gz``, no labels) is read in boxes placed by eye on its canonical
   (R, I, P) voxel grid (``CROP_BOXES``: the bright bands at 20-22, 41-43 and 59-61 mm from its top edge, the dark blocks
   between them, the cord, the posterior neck muscle), carried onto the slab's pixels. A synthetic T1w image is read at
   its labels as ``real_intensity.scan_levels`` reads them (disc 6 mm in front of a label, body 6 mm in front of the
   midpoint of two consecutive labels, along the column's normal), the cord 9 mm behind that midpoint, C1-C2 (the dens
   base) left out; muscle is not sampled there (n/a).
2. **A model on synthetic T1w by marrow look**: ``N`` new subjects (``msanet synth --t1w-marrow-random --level-random``,
   seed 2027), their T1w images predicted (``msanet predict --contrast T1w``) and scored (``msanet evaluate``, R = 5 mm)
   in three bins of the generator's draw (the T1w sidecar's ``MsanetSynthDarkMarrow``: 0 = fatty marrow and dark discs,
   1 = the crop's levels).
3. **The crop**: the model's discs (name, confidence, mm below the top edge) beside the three bands.

Writes ``benchmarks/results/NAME.md``.
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
from pathlib import Path

import numpy as np
from common import RESULTS, ROOT, header, msanet, num

from msanet import bids
from msanet import io as mio
from msanet.fileio import write_text
from msanet.preprocess import preprocess_volume
from real_intensity import CFG, scan_levels
from real_scans import REAL

CROP = REAL / "sct_testing_data" / "t1" / "t1w.nii.gz"
DEFAULT_MODEL = Path(__file__).resolve().parents[1] / "src" / "msanet" / "weights" / "msanet-default.safetensors"
# canonical (X, Y = mm below the top edge, Z = mm behind the front edge) voxel boxes, read off the crop by eye (1 mm grid)
CROP_BOXES = {
    "disc": [(slice(20, 23), slice(20, 30)), (slice(41, 44), slice(20, 30)), (slice(59, 62), slice(20, 30))],
    "body": [(slice(27, 37), slice(20, 30)), (slice(47, 55), slice(20, 30))],
    "cord": [(slice(7, 67), slice(37, 40))],
    "muscle": [(slice(17, 57), slice(56, 71))],
}
CROP_BANDS_MM = (21.0, 42.0, 60.0)  # centres of the bright bands, mm below the top edge
CORD_MM = 9.0  # behind the midpoint of two disc labels (at the discs' posterior tips): the cord
SEED = 2027
BINS = ((0.0, 1 / 3), (1 / 3, 2 / 3), (2 / 3, 1.0 + 1e-9))


def crop_levels() -> dict[str, float]:
    volume = mio.load_image(CROP)
    sag = preprocess_volume(volume, CFG)
    x = volume.shape[0] // 2

    def box_mean(rows: slice, cols: slice) -> float:  # a canonical (Y, Z) voxel box -> the slab's pixels inside it
        (r0, c0), (r1, c1) = sag.voxel_to_pixel(np.array([[x, rows.start, cols.start], [x, rows.stop, cols.stop]], dtype=float))
        return float(sag.image[int(round(r0)) : int(round(r1)), int(round(c0)) : int(round(c1))].mean())

    return {tissue: float(np.mean([box_mean(y, z) for y, z in boxes])) for tissue, boxes in CROP_BOXES.items()}


def synthetic_levels(image: Path, label: Path) -> dict[str, float]:
    disc, body, cord = scan_levels(mio.load_image(image), label, behind_mm=CORD_MM, exclude=(2,))
    return {"disc": disc, "body": body, "cord": cord, "muscle": float("nan")}


def dark_share(root: Path, subject: str) -> float:
    side = json.loads((root / subject / "anat" / f"{subject}_T1w.json").read_text())
    return float(side["MsanetSynthDarkMarrow"])


def score_bins(root: Path, evaluation: Path) -> list[dict]:
    """Per bin of the dark-marrow draw: images, labelled discs, right-named finds, FP predictions, DTT."""
    rows = [r for r in csv.DictReader(open(evaluation)) if r["contrast"] == "T1w"]
    subjects = sorted({r["subject"] for r in rows})
    share = {s: dark_share(root, s) for s in subjects}
    out = []
    for lo, hi in BINS:
        inside = [r for r in rows if lo <= share[r["subject"]] < hi]
        gt = [r for r in inside if r["status"] in ("tp", "fn")]
        tp = [r for r in gt if r["status"] == "tp"]
        fp = [r for r in inside if r["status"] == "fp"]
        dtt = [float(r["dtt_2d_mm"]) for r in gt if r["dtt_2d_mm"] not in ("", "nan")]
        out.append({"bin": f"{lo:.2f}-{min(hi, 1.0):.2f}", "images": len({r["subject"] for r in inside}), "gt": len(gt), "tp": len(tp),
                    "fp": len(fp), "pred": len(tp) + len(fp), "dtt": float(np.mean(dtt)) if dtt else float("nan")})
    return out


def crop_discs(pred_dir: Path) -> list[tuple[str, float, float]]:
    """(name, confidence, mm below the crop's top edge) of each predicted disc."""
    volume = mio.load_image(CROP)
    rows = list(csv.DictReader(open(next(pred_dir.rglob("*_discs.csv")))))
    out = []
    for r in rows:
        canon = volume.from_original_voxel(np.array([float(r["voxel_i"]), float(r["voxel_j"]), float(r["voxel_k"])]))
        out.append((r["name"], float(r["confidence"]), float(canon[1]) * float(volume.spacing_mm[1])))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--subjects", type=int, default=12)
    args = parser.parse_args()
    model = args.model.resolve()  # the msanet commands run in the repository root
    shown = model.relative_to(ROOT) if model.is_relative_to(ROOT) else model
    command = f"python benchmarks/real_t1w_contrast.py {args.name}" + (f" --model {shown}" if model != DEFAULT_MODEL else "") + \
        (f" --subjects {args.subjects}" if args.subjects != 12 else "")
    lines = header("T1w contrast: the real crop, the generator, and a model on either look", command)
    lines += [f"- model: `{shown}`", "- how: `benchmarks/real_t1w_contrast.py` (docstring)", "",
              "## Levels (1 mm mid-sagittal slab, its 0.5 / 99.5th percentiles = 0 / 1, clipped)", "",
              "| image | disc | body | cord | muscle |", "|---|---|---|---|---|"]
    c = crop_levels()
    lines.append(f"| real T1w crop (boxes by eye) | {num(c['disc'])} | {num(c['body'])} | {num(c['cord'])} | {num(c['muscle'])} |")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for flag, kind in (([], "default generator"), (["--t1w-marrow-random"], "--t1w-marrow-random")):
            root = tmp / ("lt" if flag else "plain")
            msanet("synth", str(root), "--subjects", str(args.subjects), "--seed", str(SEED), "--level-random", *flag, "--quiet")
            for s in bids.find_subjects(root, contrasts=("T1w",), require_labels=True)[:4]:
                lv = synthetic_levels(s.images["T1w"], s.labels["T1w"])
                extra = f", dark-marrow draw {dark_share(root, s.subject_id):.2f}" if flag else ""
                lines.append(f"| synthetic T1w, {kind} ({s.subject_id}{extra}) | {num(lv['disc'])} | {num(lv['body'])} | {num(lv['cord'])} | n/a |")
        root = tmp / "lt"
        msanet("predict", str(root), "--contrast", "T1w", "--model", str(model), "-o", str(tmp / "pred"), "--quiet")
        msanet("evaluate", "--pred", str(tmp / "pred"), "--gt", str(root), "-o", str(tmp / "eval"))
        bins = score_bins(root, tmp / "eval" / "evaluation.csv")
        msanet("predict", str(CROP), "--model", str(model), "-o", str(tmp / "crop"), "--quiet")
        discs = crop_discs(tmp / "crop")
    lines += ["", f"## The model on synthetic T1w by marrow look ({args.subjects} subjects, seed {SEED}, `--t1w-marrow-random --level-random`)", "",
              "| dark-marrow draw | images | discs labelled | found, right name | detection rate | FP | FPR | DTT mean (mm) |",
              "|---|---|---|---|---|---|---|---|"]
    for b in bins:
        rate = b["tp"] / b["gt"] if b["gt"] else float("nan")
        fpr = b["fp"] / b["pred"] if b["pred"] else float("nan")
        lines.append(f"| {b['bin']} | {b['images']} | {b['gt']} | {b['tp']} | {num(rate, pct=True)} | {b['fp']} | {num(fpr, pct=True)} | {num(b['dtt'])} |")
    bands = ", ".join(f"{v:g}" for v in CROP_BANDS_MM)
    lines += ["", f"## The real T1w crop: the model's discs (bright bands by eye at {bands} mm below the top edge)", "",
              "| name | confidence | mm below the top edge | nearest band (mm) |", "|---|---|---|---|"]
    for name, conf, mm in sorted(discs, key=lambda d: d[2]):
        near = min(CROP_BANDS_MM, key=lambda b: abs(b - mm))
        lines.append(f"| {name} | {conf:.2f} | {mm:.1f} | {near:g} ({mm - near:+.1f}) |")
    write_text(RESULTS / f"{args.name}.md", "\n".join(lines) + "\n")
    print(f"wrote {RESULTS / f'{args.name}.md'}")


if __name__ == "__main__":
    main()
