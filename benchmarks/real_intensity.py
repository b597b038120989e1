"""Disc, vertebra and CSF brightness as the network sees them, real vs synthetic T2w:
``python benchmarks/real_intensity.py NAME [SYNTHETIC_BIDS]``.

Each scan is preprocessed as for training (mid-sagittal slab, percentile-normalised) on a 1 mm grid. Between each two
consecutive disc labels (at the discs' posterior tips) the column's direction gives a normal pointing anterior; read
(bilinear) at: **disc**, 6 mm in front of a label; **body**, 6 mm in front of the midpoint of two labels; **CSF**, 3 mm
behind that midpoint. Two measures of the background: **air, native**: in the file's own voxels, those whose 9 x 9 x 9
box mean is below 2 % of the 99th percentile (air), their mean over the 99th percentile (the scanner's noise floor;
Rician noise of sigma s in air averages 1.25 s); **dark share**: of the slab's pixels inside the field of view (> 0) on the
network's own 2 mm grid (128 x 128), the share below 0.02 (black air). One row per scan (means over its labels): the six
real amu_t2w scans, then the first six subjects
of ``SYNTHETIC_BIDS`` (default: six new subjects of the current generator, ``msanet synth`` seed 0, in a temporary
folder). Writes ``benchmarks/results/NAME.md``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
from common import RESULTS, header, msanet
from scipy import ndimage

from msanet import bids
from msanet import io as mio
from msanet.fileio import write_text
from msanet.preprocess import PreprocessConfig, labels_to_pixels, preprocess_volume
from real_scans import REAL

CFG = PreprocessConfig(pixel_mm=1.0, height=400, width=300)
NET = PreprocessConfig(pixel_mm=2.0, height=128, width=128)  # what the benchmark models see
DISC_MM, CSF_MM = 6.0, 3.0
AIR_BOX, AIR_LEVEL, DARK_LEVEL = 9, 0.02, 0.02


def background(volume: mio.Volume) -> tuple[float, float]:
    """(air mean over the 99th percentile in the native voxels, share of the 2 mm input's in-view pixels below
    ``DARK_LEVEL``) of one scan."""
    data = np.asarray(volume.data, dtype=np.float32)
    p99 = float(np.percentile(data, 99))
    air = ndimage.uniform_filter(data, AIR_BOX) < AIR_LEVEL * p99
    net = preprocess_volume(volume, NET).image
    inside = net[net > 0]
    return float(data[air].mean() / p99) if air.any() else float("nan"), float(np.mean(inside < DARK_LEVEL))


def scan_levels(volume: mio.Volume, label: Path, behind_mm: float = CSF_MM, exclude: tuple[int, ...] = ()) -> tuple[float, float, float]:
    """(disc, body, CSF) mean normalised intensity of one scan; the third is read ``behind_mm`` behind the midpoints (9 mm:
    the cord); labels of the values in ``exclude`` are not read."""
    sag = preprocess_volume(volume, CFG)
    points = labels_to_pixels(sag, mio.read_disc_labels(label, volume))
    values = sorted(v for v in points if v not in exclude)
    read = lambda p: float(ndimage.map_coordinates(sag.image, p[:, None], order=1)[0])  # noqa: E731
    disc, body, csf = [], [], []
    for a, b in zip(values[:-1], values[1:]):
        pa, pb = points[a], points[b]
        t = (pb - pa) / np.linalg.norm(pb - pa)
        normal = np.array([t[1], -t[0]])
        if normal[1] > 0:  # columns grow posterior: the normal must point anterior
            normal = -normal
        disc.append(read(pa + DISC_MM / CFG.pixel_mm * normal))
        body.append(read((pa + pb) / 2 + DISC_MM / CFG.pixel_mm * normal))
        csf.append(read((pa + pb) / 2 - behind_mm / CFG.pixel_mm * normal))
    return float(np.mean(disc)), float(np.mean(body)), float(np.mean(csf))


def rows_of(root: Path, kind: str, limit: int | None = None) -> list[str]:
    subjects = bids.find_subjects(root, contrasts=("T2w",), require_labels=True)[:limit]
    out = []
    for s in subjects:
        volume = mio.load_image(s.images["T2w"])
        d, b, c = scan_levels(volume, s.labels["T2w"])
        air, dark = background(volume)
        out.append(f"| {kind} | {s.subject_id} | {d:.2f} | {b:.2f} | {c:.2f} | {air:.4f} | {dark:.2f} |")
    return out


def main() -> None:
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: python benchmarks/real_intensity.py NAME [SYNTHETIC_BIDS]")
    lines = header("Disc, vertebra and CSF brightness at the network's input, real vs synthetic T2w",
                   f"python benchmarks/real_intensity.py {' '.join(sys.argv[1:])}")
    lines += ["- how: `benchmarks/real_intensity.py` (docstring); 1 mm grid, percentile-normalised slab", "",
              "| set | scan | disc | body | CSF | air, native (mean / p99) | dark share at 2 mm |", "|---|---|---|---|---|---|---|"]
    lines += rows_of(REAL / "amu_t2w", "real amu_t2w")
    with tempfile.TemporaryDirectory() as tmp:
        synthetic = Path(sys.argv[2]) if len(sys.argv) == 3 else Path(tmp) / "synth"
        if len(sys.argv) == 2:
            msanet("synth", str(synthetic), "--subjects", "6", "--seed", "0", "--quiet")
        lines += rows_of(synthetic, f"synthetic ({sys.argv[2] if len(sys.argv) == 3 else 'current generator, seed 0'})", 6)
    write_text(RESULTS / f"{sys.argv[1]}.md", "\n".join(lines) + "\n")
    print(f"wrote {RESULTS / f'{sys.argv[1]}.md'}")


if __name__ == "__main__":
    main()
