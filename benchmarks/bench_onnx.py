"""ONNX export of the bundled default model and ONNX Runtime vs PyTorch speed: ``python benchmarks/bench_onnx.py``.

Runs ``msanet.export.export_onnx`` (the code behind ``msanet export --onnx``) on the bundled model with
torch threads = cores, 50 warm batch-1 runs each. Writes benchmarks/results/onnx.md and .json.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import torch

from common import RESULTS, header

from msanet.export import export_onnx


def main() -> None:
    torch.set_num_threads(os.cpu_count() or 1)
    with tempfile.TemporaryDirectory() as tmp:
        r = export_onnx(Path(tmp) / "msanet-default.onnx", repeats=50)
        size_mb = Path(r["onnx"]).stat().st_size / 1e6
    lines = header("ONNX export of the bundled default model", "python benchmarks/bench_onnx.py")
    lines += ["| quantity | value |", "|---|---|",
              f"| input | 1 x 1 x {r['input_size'][0]} x {r['input_size'][1]} (batch dynamic) |",
              f"| ONNX file size | {size_mb:.1f} MB |",
              f"| max abs heatmap difference, ONNX Runtime vs PyTorch (batches 1 and 3) | {r['max_abs_diff']:.1e} |",
              f"| batch-1 latency, PyTorch (median of 50 warm runs, {r['threads']} threads) | {r['torch_ms']:.1f} ms |",
              f"| batch-1 latency, ONNX Runtime CPU (median of 50 warm runs) | {r['onnxruntime_ms']:.1f} ms |"]
    (RESULTS / "onnx.md").write_text("\n".join(lines) + "\n")
    (RESULTS / "onnx.json").write_text(json.dumps({**r, "onnx_mb": size_mb}, indent=2) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
