"""How strongly a model answers at the real discs: ``python benchmarks/real_response.py NAME MODEL [MODEL ...]``.

A continuous companion of the real-scan benchmark (``experiments.py real``) for models that barely transfer, whose
thresholded counts (a handful of the 56 amu_t2w discs) move a lot from one training seed to the next. For every model,
on each of the six amu_t2w scans (``msanet.predict.predict_volume``, the model's whole-scan heatmaps):

- **disc response**: at each labelled disc, the largest value of any disc channel within R = 5 mm of the label;
- **own-name response**: the same for the label's own channel only (the model names it right);
- **background**: the 99th percentile of the channel-wise maximum at heatmap pixels more than 15 mm from every label
  whose input pixel has signal (image > 0: neither padding nor air; what a disc must beat to be told from the rest);

means over the 56 discs (responses) and the six scans (background). Writes ``benchmarks/results/NAME.md`` and ``.csv``
(one row per model, then mean and standard deviation when several models are given, e.g. training seeds).
Models that trained on real scans are not accepted (this measures synthetic-only training).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from common import RESULTS, header, sha256, write_csv

from msanet import bids
from msanet import io as mio
from msanet.checkpoint import load_checkpoint
from msanet.fileio import write_text
from msanet.heatmaps import output_to_input_px
from msanet.predict import predict_volume
from msanet.preprocess import labels_to_pixels
from real_scans import REAL, trained_on

RADIUS_MM = 5.0
FAR_MM = 15.0
FIELDS = ("model", "sha256", "disc_response", "own_name_response", "background")


def scan_response(model, image: Path, label: Path) -> tuple[list[float], list[float], float]:
    """(disc responses, own-name responses, background) of one scan and its disc labels."""
    volume = mio.load_image(image)
    labels = mio.read_disc_labels(label, volume)
    pred = predict_volume(volume, model, threshold=1.0)
    heat = pred.heatmaps[: len(pred.values)]  # [V, h, w] named channels (the any-disc channel, if any, is not a name)
    h, w = heat.shape[1:]
    rows, cols = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    centres = output_to_input_px(np.stack([rows.ravel(), cols.ravel()]).astype(float), model.stride).T  # [h*w, 2] input px
    px = model.preprocess.pixel_mm
    points = labels_to_pixels(pred.sagittal, labels)
    top = heat.max(axis=0).ravel()  # [h*w]
    near_any = np.zeros(h * w, dtype=bool)
    disc, own = [], []
    for value, point in points.items():
        dist_mm = np.linalg.norm(centres - point[None], axis=1) * px
        near = dist_mm <= RADIUS_MM
        near_any |= dist_mm <= FAR_MM
        disc.append(float(top[near].max()) if near.any() else 0.0)
        k = pred.values.index(value) if value in pred.values else None
        own.append(float(heat[k].ravel()[near].max()) if k is not None and near.any() else 0.0)
    image = pred.sagittal.image
    r, c = (np.clip(centres[:, i].astype(int), 0, image.shape[i] - 1) for i in (0, 1))
    background = float(np.percentile(top[(image[r, c] > 0) & ~near_any], 99))
    return disc, own, background


def main() -> None:
    if len(sys.argv) < 3:
        sys.exit("usage: python benchmarks/real_response.py NAME MODEL [MODEL ...]")
    name, paths = sys.argv[1], [Path(p) for p in sys.argv[2:]]
    started = time.time()
    scans = bids.find_subjects(REAL / "amu_t2w", contrasts=("T2w",), require_labels=True)
    rows = []
    for path in paths:
        if trained_on(path, REAL / "amu_t2w"):
            sys.exit(f"{path}: trained on amu_t2w scans; this measures synthetic-only models")
        model = load_checkpoint(path)
        disc, own, background = [], [], []
        for subject in scans:
            d, o, b = scan_response(model, subject.images["T2w"], subject.labels["T2w"])
            disc += d
            own += o
            background.append(b)
        rows.append({"model": str(path), "sha256": sha256(path)[:12], "disc_response": np.mean(disc), "own_name_response": np.mean(own),
                     "background": np.mean(background)})
        print(f"{path}: disc {rows[-1]['disc_response']:.3f}, own name {rows[-1]['own_name_response']:.3f}, background {rows[-1]['background']:.3f}")
    table = rows + ([{"model": "mean", "sha256": "", **{k: np.mean([r[k] for r in rows]) for k in FIELDS[2:]}},
                     {"model": "standard deviation", "sha256": "", **{k: np.std([r[k] for r in rows], ddof=1) for k in FIELDS[2:]}}]
                    if len(rows) > 1 else [])
    write_csv(RESULTS / f"{name}.csv", FIELDS, ({k: (f"{v:.4f}" if isinstance(v, float) else v) for k, v in r.items()} for r in table))
    lines = header("Real scans: how strongly synthetic-only models answer at the real discs",
                   f"python benchmarks/real_response.py {' '.join(sys.argv[1:])}")
    lines += [f"- wall time: {time.time() - started:.0f} s", "- what the columns mean: `benchmarks/real_response.py` (docstring); amu_t2w, 56 discs, R = 5 mm", "",
              "| model | sha256 | disc response | own-name response | background |", "|---|---|---|---|---|"]
    lines += [f"| `{r['model']}` | {r['sha256']} | {r['disc_response']:.3f} | {r['own_name_response']:.3f} | {r['background']:.3f} |" for r in table]
    write_text(RESULTS / f"{name}.md", "\n".join(lines) + "\n")
    print(f"wrote {RESULTS / f'{name}.md'}")


if __name__ == "__main__":
    main()
