"""Training smoke benchmark: ``python benchmarks/bench_train_smoke.py``.

20 synthetic subjects (`msanet synth`), then `msanet train` for 2 epochs at reduced size (128 x 128 px
at 2 mm, the default full MSA-Net width), timing the training command alone and listing what it wrote.
Writes benchmarks/results/train_smoke.md and .json.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import RESULTS, ROOT, header


def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    subprocess.run([sys.executable, "-m", "msanet.cli", "synth", str(tmp / "sg20"), "--subjects", "20", "--seed", "1", "--quiet"], check=True)
    cmd = [sys.executable, "-m", "msanet.cli", "train", "--bids", str(tmp / "sg20"), "--out", str(tmp / "run"), "--epochs", "2",
           "--size", "128x128", "--pixel-mm", "2.0", "--sigma-mm", "10", "--batch-size", "8", "--cache-dir", str(tmp / "cache"), "--quiet"]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT)
    seconds = time.perf_counter() - t0
    files = sorted(p.name for p in (tmp / "run").iterdir())
    lines = header("Training smoke test: 20 synthetic subjects, 2 epochs", "python benchmarks/bench_train_smoke.py")
    lines += [f"- training command: `msanet train --bids sg20 --out run {' '.join(cmd[cmd.index('--epochs'):])}` "
              "(default model: full MSA-Net; 14 train + 2 val subjects x 2 contrasts)",
              f"- wall time of the training command (preprocessing of the 32 images included): **{seconds:.0f} s**",
              f"- files written: {', '.join(files)}"]
    (RESULTS / "train_smoke.md").write_text("\n".join(lines) + "\n")
    (RESULTS / "train_smoke.json").write_text(json.dumps({"seconds": seconds, "epochs": 2, "files": files}, indent=2) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
