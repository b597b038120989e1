"""Decoding rules side by side on the real amu_t2w scans (issue 12: the "any disc" channel against the paper's decode).

    python benchmarks/decode_rules.py benchmarks/runs/anyhead [--name anyhead]

Each real scan is run once through the fold model that left it out (``FOLDS/real-<subject>/best.safetensors``, a model
with the any-disc channel), and its heatmaps are decoded three ways at that model's calibrated threshold:

- ``named``: ``decode.decode_heatmaps`` on the named channels alone (the paper's model's rule: positions and names from
  the same channels);
- ``any-peaks``: ``decode.name_positions(named_peaks=False)``: discs at the any-disc peaks only, names by anatomical order;
- ``any-uncounted``: ``decode.name_positions(count_gaps=False)``: the same, plus the named channels' own peaks where the
  any-disc channel has no peak within 10 mm, names as the chain gave them (``msanet predict`` before gaps were counted);
- ``any-vocabulary``: ``decode.name_positions(beyond_names=False)``: the same, names re-counted by the gaps between the
  discs (``decode.count_names``: a gap two spacings long skips a name), the chain ending at the model's last channel
  (``msanet predict`` before the names past it were allowed);
- ``any``: ``decode.name_positions``: the same, the chain going on past the last channel (a disc below T4-T5 of an
  11-channel model takes T5-T6, not output, instead of pushing a disc out of the chain); what ``msanet predict`` does
  with such a model;
- ``snap``: the ``named`` chain, each point moved to the nearest any-disc peak within ``SNAP_MM`` (names unchanged).

Scored like ``msanet evaluate``'s 2D definition (``metrics.label_matched``, R = 5 mm, on the whole-scan grid), per scan
and summed: results/decode_rules-<name>.md.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from common import RESULTS, header
from real_scans import REAL

from msanet import bids
from msanet.checkpoint import load_checkpoint
from msanet.decode import Detection, any_nms_radius, decode_heatmaps, disc_positions, name_positions
from msanet.fileio import write_text
from msanet.io import load_image, read_disc_labels
from msanet.metrics import label_matched
from msanet.predict import predict_volume
from msanet.preprocess import labels_to_pixels

SNAP_MM = 8.0
RULES = ("named", "any-peaks", "any-uncounted", "any-vocabulary", "any", "snap")


def snap(named: list[Detection], peaks: list[tuple[float, float, float]], pixel_mm: float) -> list[Detection]:
    """Each detection moved to the nearest peak (input px) within ``SNAP_MM``; names and confidences kept."""
    out = []
    for d in named:
        near = [(np.hypot(r - d.row, c - d.col) * pixel_mm, r, c) for r, c, _ in peaks]
        dist, r, c = min(near, default=(np.inf, d.row, d.col))
        out.append(Detection(d.value, r, c, d.confidence) if dist <= SNAP_MM else d)
    return out


def score_scan(image: Path, labels: Path, model: Path) -> dict[str, dict]:
    ckpt = load_checkpoint(model)
    if not ckpt.model_config.any_disc:
        raise SystemExit(f"{model}: not a model with the any-disc channel")
    volume = load_image(image)
    pred = predict_volume(volume, ckpt)
    heat, values, t, s = pred.heatmaps, pred.values, ckpt.threshold, ckpt.stride
    px = ckpt.preprocess.pixel_mm
    gt = {v: p * px for v, p in labels_to_pixels(pred.sagittal, read_disc_labels(labels, volume)).items()}
    named = decode_heatmaps(heat[:-1], values, stride=s, threshold=t)
    peaks = disc_positions(heat[-1:], stride=s, threshold=t, nms_radius=any_nms_radius(s, px))
    rules = {"named": named, "any-peaks": name_positions(heat[:-1], heat[-1], values, stride=s, threshold=t, named_peaks=False, pixel_mm=px),
             "any-uncounted": name_positions(heat[:-1], heat[-1], values, stride=s, threshold=t, count_gaps=False, beyond_names=False,
                                             pixel_mm=px),
             "any-vocabulary": name_positions(heat[:-1], heat[-1], values, stride=s, threshold=t, beyond_names=False, pixel_mm=px),
             "any": name_positions(heat[:-1], heat[-1], values, stride=s, threshold=t, pixel_mm=px), "snap": snap(named, peaks, px)}
    return {rule: label_matched(gt, [(d.value, np.array([d.row, d.col]) * px) for d in dets]) for rule, dets in rules.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folds", type=Path, help="folder of leave-one-out runs real-<subject>/")
    parser.add_argument("--name", default=None, help="results file stem suffix (default: the folder's name)")
    args = parser.parse_args()
    name = args.name or args.folds.name
    started = time.time()
    rows, totals = [], {rule: {"n_gt": 0, "tp": 0, "fp": 0, "n_pred": 0, "naming": 0, "dtts": []} for rule in RULES}
    for subject in bids.find_subjects(REAL / "amu_t2w", require_labels=True):
        model = args.folds / f"real-{subject.subject_id}" / "best.safetensors"
        scores = score_scan(subject.images["T2w"], subject.labels["T2w"], model)
        cells = []
        for rule in RULES:
            m, tot = scores[rule], totals[rule]
            tot["n_gt"] += m["n_gt"]
            tot["tp"] += m["tp"]
            tot["fp"] += m["fp"]
            tot["n_pred"] += m["n_pred"]
            tot["naming"] += m["naming_errors"]
            tot["dtts"] += [d for d in m["dtts"] if np.isfinite(d)]
            cells.append(f"{m['tp']} / {m['n_gt']} ({m['naming_errors']} misnamed, FP {m['fp']})")
        rows.append(f"| {subject.subject_id} | " + " | ".join(cells) + " |")
    lines = [*header(f"Decoding rules on the real amu_t2w scans: {name}", f"python benchmarks/decode_rules.py {args.folds} --name {name}")[:-1],
             f"- wall time: {time.time() - started:.0f} s",
             f"- models: `{args.folds}/real-<subject>/best.safetensors`, each scoring the scan it left out, at its calibrated threshold",
             f"- rules (module docstring of `benchmarks/decode_rules.py`): named = the paper's decode on the named channels; any-peaks = "
             f"discs at the any-disc peaks, names by anatomical order; any-uncounted = the same, plus the named channels' own peaks where the "
             f"any-disc channel has none within 10 mm; any-vocabulary = that, names re-counted by the gaps between discs, the chain "
             f"ending at the last channel; any = that, the chain going on past it (`msanet predict`); snap = named, moved to the nearest "
             f"any-disc peak within {SNAP_MM:g} mm", "- scoring: `metrics.label_matched`, 2D mid-sagittal mm, R = 5 mm, every labelled disc",
             "", "| scan | " + " | ".join(RULES) + " |", "|---|" + "---|" * len(RULES), *rows]
    cells = []
    for rule in RULES:
        tot = totals[rule]
        fpr = tot["fp"] / tot["n_pred"] if tot["n_pred"] else float("nan")
        dtt = float(np.mean(tot["dtts"])) if tot["dtts"] else float("nan")
        cells.append(f"**{tot['tp']} / {tot['n_gt']}** ({tot['naming']} misnamed, FPR {100 * fpr:.1f} %, DTT {dtt:.2f} mm)")
    lines.append("| **all 6** | " + " | ".join(cells) + " |")
    out = RESULTS / f"decode_rules-{name}.md"
    write_text(out, "\n".join(lines) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
