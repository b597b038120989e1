"""Speed and size of the synthetic data generator: ``python benchmarks/bench_synth.py``.

Times ``msanet synth`` on 20 subjects (both contrasts, all cores), cervical (the default) and
``--scan-type mixed``; then, in this process with one worker, 3 subjects per scan type (seconds per
subject, render + compressed files, and the largest field of view seen) and one 900 mm whole-spine
subject; reports the size of the 260-subject benchmark set if it exists (data/sg260).
Writes benchmarks/results/synth_speed.md and .json.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import RESULTS, ROOT, header

import numpy as np

from msanet import io
from msanet.synth import generate_dataset, load_sites, site_protocol
from msanet.synth.column import sample_column
from msanet.synth.scans import render_scan, sample_scan
from msanet.synth.storage import gz

COMMAND = "python benchmarks/bench_synth.py"


def timed_cli(tmp: Path, *extra: str) -> tuple[float, float]:
    """(seconds, MB) of ``msanet synth OUT --subjects 20 --seed 0 EXTRA`` in a fresh process."""
    out = tmp / ("sg20" + "".join(extra))
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "msanet.cli", "synth", str(out), "--subjects", "20", "--seed", "0", "--quiet", *extra], check=True, cwd=ROOT)
    seconds = time.perf_counter() - t0
    return seconds, sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 1e6


def per_type(tmp: Path, kind: str, n: int = 3) -> dict:
    """Seconds per subject of one scan type in one process (render + files) and the largest head-feet field of view."""
    root = tmp / kind
    t0 = time.perf_counter()
    generate_dataset(root, n, seed=0, workers=1, progress=False, scan_type=kind)
    seconds = (time.perf_counter() - t0) / n
    fov = max(io.load_image(p).shape[1] * io.load_image(p).spacing_mm[1] for p in root.rglob("sub-*_T2w.nii.gz"))
    return {"seconds_per_subject": seconds, "max_fov_si_mm": fov}


def whole_900(seed: int = 0) -> tuple[float, float]:
    """(seconds, field of view mm) to render and compress the first whole-spine subject whose field of view is 900 mm."""
    site = site_protocol(load_sites()[0], 0, seed)
    for index in range(200):
        col = sample_column(np.random.default_rng([seed, index, 101]), female=False, height_cm=178)
        if sample_scan(np.random.default_rng([seed, index, 102]), "whole", col).fov_mm[1] >= 899.9:
            break
    t0 = time.perf_counter()
    out = render_scan(site, seed, index, "whole", female=False, height_cm=178)
    for img, lab in out["images"].values():
        gz(img), gz(lab)
    return time.perf_counter() - t0, out["scan"].fov_mm[1]


def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    seconds, size20 = timed_cli(tmp)
    mixed_seconds, mixed_size = timed_cli(tmp, "--scan-type", "mixed")
    kinds = {kind: per_type(tmp, kind) for kind in ("cervical", "thoracic", "lumbar", "whole")}
    long_seconds, long_fov = whole_900()
    shutil.rmtree(tmp)
    lines = header("Synthetic data generator: speed and size", COMMAND)
    lines += [f"- `msanet synth OUT --subjects 20 --seed 0` (T1w + T2w + labels, default workers): **{seconds:.1f} s** "
              f"= {20 / seconds:.2f} subjects/s (process start included)", f"- size of those 20 subjects: {size20:.1f} MB",
              f"- the same with `--scan-type mixed`: **{mixed_seconds:.1f} s** = {20 / mixed_seconds:.2f} subjects/s, {mixed_size:.1f} MB",
              "", "One process, 3 subjects per scan type (render + compressed files):", "",
              "| scan type | s per subject | largest head-feet field of view (mm) |", "|---|---|---|"]
    lines += [f"| {k} | {v['seconds_per_subject']:.2f} | {v['max_fov_si_mm']:.0f} |" for k, v in kinds.items()]
    lines += ["", f"- one whole-spine subject with a {long_fov:.0f} mm field of view (T1w + T2w, render + compression): **{long_seconds:.2f} s**"]
    figures = {"subjects": 20, "seconds": seconds, "subjects_per_s": 20 / seconds, "size_20_mb": size20, "size_260_gb": None,
               "mixed_seconds": mixed_seconds, "mixed_size_20_mb": mixed_size, "per_type": kinds,
               "whole_900_seconds": long_seconds}
    big = ROOT / "data" / "sg260"
    if (big / "participants.tsv").exists():
        size = sum(p.stat().st_size for p in big.rglob("*") if p.is_file())
        figures["size_260_gb"] = size / 1e9
        lines.append(f"- size of the 260-subject, 42-site benchmark set (data/sg260, seed 0): **{size / 1e9:.2f} GB**")
    (RESULTS / "synth_speed.md").write_text("\n".join(lines) + "\n")
    (RESULTS / "synth_speed.json").write_text(json.dumps(figures, indent=2) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
