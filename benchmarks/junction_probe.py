"""Does a model name the lower neck's discs by where the chest begins?
``python benchmarks/junction_probe.py NAME [MODEL ...]`` (default: the bundled model).

A probe beside the real-scan benchmark, not a feature of the tool. In the generator's cervical scans the thoracic inlet
(the neck's outline widening into the chest, the airway giving way to the mediastinum) lies at the bottom of the C7-T1
disc; in real necks it does not. Here ``SUBJECTS`` new synthetic subjects (seed ``SEED``, level-random anatomy, T2w) are
drawn once and rendered with the inlet moved by each of ``OFFSETS_MM`` (mm along the column, + towards the feet; 0: as the
generator draws it), nothing else changed: the same vertebrae, discs and labels (``anatomy.Anatomy.inlet_offset_mm``).
Each model predicts every rendering; a labelled disc counts as **right** when a prediction of its own name lies within
R = 5 mm (3D, world mm) and as **found** when any prediction does (``real_top_margin.prediction_counts``). A model that
names by the inlet gets fewer names right as the inlet moves away from 0, the discs still found, and its names shift one
way with the sign of the move. Writes ``benchmarks/results/NAME.md`` and ``.csv``: one row per model and offset.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import nibabel as nib
import numpy as np
from common import RESULTS, header, sha256, write_csv
from real_scans import DEFAULT_MODEL, model_name
from real_top_margin import prediction_counts

from msanet import io as mio
from msanet import synth
from msanet.checkpoint import load_checkpoint
from msanet.fileio import write_text
from msanet.predict import disc_records, predict_volume

SEED, SUBJECTS = 2027, 12
N_SITES = 42  # as `msanet synth` (generate_dataset's default): subject i is scanned with protocol i % N_SITES
OFFSETS_MM = (-30.0, -15.0, 0.0, 15.0, 30.0)
FIELDS = ("model", "offset_mm", "labelled", "right", "found", "named_high", "named_low")


def render_with_inlet(protocols: list, index: int, offset_mm: float, folder: Path) -> tuple[Path, Path]:
    """T2w image and disc labels of subject ``index`` (seed ``SEED``, level-random, scanned with ``protocols[index %
    N_SITES]``) with the thoracic inlet moved by ``offset_mm``, written into ``folder``."""
    original = synth.anat.randomise_junction

    def fixed_inlet(rng, anatomy) -> None:  # only the inlet moves: the turn and the spinous processes stay as drawn
        anatomy.inlet_offset_mm = offset_mm

    synth.anat.randomise_junction = fixed_inlet
    try:
        image, labels = synth.render_subject(protocols[index % N_SITES], SEED, index, level_random=True, junction_random=True)["images"]["T2w"]
    finally:
        synth.anat.randomise_junction = original
    paths = folder / f"s{index}_{offset_mm:+.0f}_T2w.nii.gz", folder / f"s{index}_{offset_mm:+.0f}_labels.nii.gz"
    nib.save(image, paths[0])
    nib.save(labels, paths[1])
    return paths


def shifts(prediction, labels_world: dict[int, np.ndarray], radius_mm: float = 5.0) -> tuple[int, int]:
    """(named one level high, named one level low): labelled discs whose nearest prediction within ``radius_mm`` carries the
    name of the disc above (value - 1) or below (value + 1)."""
    records = [(r["value"], np.asarray(r["world_mm"])) for r in disc_records(prediction)]
    high = low = 0
    for value, point in labels_world.items():
        near = [(np.linalg.norm(p - point), v) for v, p in records if np.linalg.norm(p - point) <= radius_mm]
        if near:
            named = min(near)[1]
            high, low = high + (named == value - 1), low + (named == value + 1)
    return high, low


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit("usage: python benchmarks/junction_probe.py NAME [MODEL ...]")
    name, models = sys.argv[1], [Path(p) for p in sys.argv[2:]] or [DEFAULT_MODEL]
    started = time.time()
    rows = []
    protocols = [synth.site_protocol(site, k, SEED) for k, site in enumerate(synth.load_sites()[:N_SITES])]
    with tempfile.TemporaryDirectory() as tmp:
        renderings = {(i, off): render_with_inlet(protocols, i, off, Path(tmp)) for i in range(SUBJECTS) for off in OFFSETS_MM}
        for model_path in models:
            model = load_checkpoint(model_path)
            for off in OFFSETS_MM:
                row = dict.fromkeys(FIELDS[2:], 0) | {"model": model_name(model_path), "offset_mm": off}
                for i in range(SUBJECTS):
                    image, labels = renderings[(i, off)]
                    volume = mio.load_image(image)
                    world = {v: volume.to_world_mm(p) for v, p in mio.read_disc_labels(labels, volume).items()}
                    prediction = predict_volume(volume, model)
                    right, found = prediction_counts(prediction, world)
                    high, low = shifts(prediction, world)
                    row["labelled"] += len(world)
                    row["right"], row["found"] = row["right"] + right, row["found"] + found
                    row["named_high"], row["named_low"] = row["named_high"] + high, row["named_low"] + low
                rows.append(row)
                print(row, flush=True)
    write_csv(RESULTS / f"{name}.csv", FIELDS, rows)
    lines = header("Synthetic necks: the names with the thoracic inlet moved along the column",
                   f"python benchmarks/junction_probe.py {' '.join(sys.argv[1:])}")
    lines += [f"- wall time: {time.time() - started:.0f} s",
              f"- data: {SUBJECTS} synthetic subjects (seed {SEED}, level-random anatomy, T2w), each rendered with the inlet moved by "
              f"{', '.join(f'{o:+.0f}' for o in OFFSETS_MM)} mm (+: towards the feet), nothing else changed; what the columns mean: "
              "`benchmarks/junction_probe.py` (docstring)",
              *(f"- model `{model_name(m)}`: sha256 {sha256(m)[:12]}" for m in models), "",
              "| model | inlet moved (mm) | labelled | right | found | named one level high | named one level low |",
              "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['model']} | {r['offset_mm']:+.0f} | {r['labelled']} | {r['right']} | {r['found']} | {r['named_high']} | {r['named_low']} |"
              for r in rows]
    write_text(RESULTS / f"{name}.md", "\n".join(lines) + "\n")
    print(f"wrote {RESULTS / f'{name}.md'}")


if __name__ == "__main__":
    main()
