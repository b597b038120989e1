"""Disc-to-disc spacing, real vs synthetic: ``python benchmarks/disc_spacing.py [N_SYNTHETIC]``.

One realism figure of the generator: the distance (mm, in world space) between consecutive labelled discs from
C2-C3 to C7-T1, per scan, on the six real amu_t2w scans and on the T2w labels of the first N synthetic subjects
of ``data/sg260`` (default 20; ``python benchmarks/experiments.py data`` makes it). Writes
``benchmarks/results/disc_spacing.md``. A generator whose necks are longer than real ones teaches the network
the wrong level spacing, which shows on real scans as points sliding off their discs and names off by one.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from common import RESULTS, ROOT, header
from real_scans import REAL as REAL_DATA

from msanet import bids, io
from msanet.fileio import write_text

REAL = REAL_DATA / "amu_t2w"
SYNTH = ROOT / "data" / "sg260"
VALUES = range(3, 9)  # C2-C3 .. C7-T1


def spacings_mm(image: Path, labels: Path) -> list[float]:
    """Distances (mm) between consecutive discs among C2-C3 .. C7-T1 that are both labelled."""
    vol = io.load_image(image)
    points = io.read_disc_labels(labels, vol)
    world = {v: vol.to_world_mm(np.asarray(p, float)) for v, p in points.items()}
    return [float(np.linalg.norm(world[v + 1] - world[v])) for v in VALUES if v in world and v + 1 in world]


def summary(root: Path, limit: int | None) -> tuple[int, np.ndarray]:
    subjects = bids.find_subjects(root, require_labels=True)[:limit]
    per_scan = [np.mean(s) for s in (spacings_mm(sub.images["T2w"], sub.labels["T2w"]) for sub in subjects if "T2w" in sub.labels) if s]
    return len(per_scan), np.asarray(per_scan)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    rows = []
    for name, root, limit in (("real amu_t2w", REAL, None), (f"synthetic sg260 (first {n} subjects)", SYNTH, n)):
        count, values = summary(root, limit)
        rows.append(f"| {name} | {count} | {values.mean():.1f} | {values.std():.1f} | {values.min():.1f} | {values.max():.1f} |")
    lines = header("Disc-to-disc spacing, C2-C3 .. C7-T1, real vs synthetic T2w", f"python benchmarks/disc_spacing.py {n}")
    lines += ["Mean distance between consecutive labelled discs of each scan (mm, world space), then over scans.", "",
              "| data | scans | mean (mm) | sd | min | max |", "|---|---|---|---|---|---|", *rows, ""]
    out = RESULTS / "disc_spacing.md"
    write_text(out, "\n".join(lines))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
