"""Speed and size of the synthetic data generator: ``python benchmarks/bench_synth.py``.

Times ``msanet synth`` on 20 subjects (both contrasts, all cores) and reports the size of the
260-subject benchmark set if it exists (data/sg260). Writes benchmarks/results/synth_speed.md and .json.
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

COMMAND = "python benchmarks/bench_synth.py"


def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    cmd = [sys.executable, "-m", "msanet.cli", "synth", str(tmp / "sg20"), "--subjects", "20", "--seed", "0", "--quiet"]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT)
    seconds = time.perf_counter() - t0
    size20 = sum(p.stat().st_size for p in (tmp / "sg20").rglob("*") if p.is_file())
    shutil.rmtree(tmp)
    lines = header("Synthetic data generator: speed and size", COMMAND)
    lines += [f"- `msanet synth OUT --subjects 20 --seed 0` (T1w + T2w + labels, default workers): **{seconds:.1f} s** "
              f"= {20 / seconds:.2f} subjects/s (process start included)", f"- size of those 20 subjects: {size20 / 1e6:.1f} MB"]
    figures = {"subjects": 20, "seconds": seconds, "subjects_per_s": 20 / seconds, "size_20_mb": size20 / 1e6, "size_260_gb": None}
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
