"""ONNX export of a checkpoint, checked against ONNX Runtime: ``msanet export --onnx OUT.onnx [--model M]``.

The exported graph is the network only: input ``image`` [B, 1, H, W] float32 (the preprocessed
mid-sagittal slab, H x W and mm/pixel as in the checkpoint's ``preprocess``), output ``heatmaps``
[B, V, H/stride, W/stride] in [0, 1]; the batch size is dynamic. Preprocessing and decoding stay in
Python; a JSON sidecar (``OUT.json``) copies the checkpoint's metadata (preprocessing, threshold,
stride, disc values) so the ``.onnx`` file can be used without the original checkpoint.

Needs the optional extra ``pip install 'msanet[onnx]'`` (onnx, onnxruntime, onnxscript).
"""

from __future__ import annotations

import json
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from msanet.checkpoint import load_checkpoint
from msanet.errors import ConfigError
from msanet.fileio import atomic_path, write_text
from msanet.model.msanet import HeatmapOnly

OPSET = 17


def _onnxruntime():
    try:
        import onnx  # noqa: F401  (torch.onnx.export needs it)
        import onnxruntime
    except ImportError:
        raise ConfigError("ONNX export needs the optional extra: pip install 'msanet[onnx]'") from None
    return onnxruntime


def export_onnx(out_path: str | Path, model_path: str | Path | None = None, overwrite: bool = False, repeats: int = 20) -> dict:
    """Export the checkpoint (bundled default when ``model_path`` is None) to ``out_path`` and check it.

    The check runs PyTorch and ONNX Runtime on the same random batches of 1 and 3 images and reports
    the largest absolute heatmap difference; ``repeats`` warm batch-1 runs of each give median latencies.
    Returns {"onnx": path, "max_abs_diff": float, "torch_ms": float, "onnxruntime_ms": float, ...}.
    """
    ort = _onnxruntime()
    out_path = Path(out_path)
    if out_path.suffix != ".onnx":
        raise ConfigError(f"{out_path}: the ONNX output file name must end with .onnx")
    ckpt = load_checkpoint(model_path)
    net = HeatmapOnly(ckpt.model).eval()
    h, w = ckpt.preprocess.height, ckpt.preprocess.width
    example = torch.rand(1, 1, h, w, generator=torch.Generator().manual_seed(0))  # [1, 1, H, W]
    sidecar = out_path.with_suffix(".json")
    with atomic_path(out_path, overwrite=overwrite) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about shape checks that are constant for a fixed H x W
        torch.onnx.export(net, (example,), str(tmp), input_names=["image"], output_names=["heatmaps"],
                          dynamic_axes={"image": {0: "batch"}, "heatmaps": {0: "batch"}}, opset_version=OPSET, dynamo=False)
        session = ort.InferenceSession(str(tmp), providers=["CPUExecutionProvider"])
        max_diff = 0.0
        for batch in (1, 3):
            x = torch.rand(batch, 1, h, w, generator=torch.Generator().manual_seed(batch))
            with torch.no_grad():
                ref = net(x).numpy()  # [B, V, H/stride, W/stride]
            got = session.run(None, {"image": x.numpy()})[0]
            if got.shape != ref.shape:
                raise RuntimeError(f"ONNX output shape {got.shape} != PyTorch {ref.shape}")  # a bug, not a user error
            max_diff = max(max_diff, float(np.abs(got - ref).max()))
        torch_ms = _median_ms(lambda: net(example), repeats)
        ort_ms = _median_ms(lambda: session.run(None, {"image": example.numpy()}), repeats)
    meta = {**ckpt.meta, "onnx": {"file": out_path.name, "opset": OPSET, "input": "image [B, 1, H, W]",
                                  "output": "heatmaps [B, K, H/stride, W/stride] (K: the named channels of values, then the any-disc channel when model_config.any_disc)", "source_checkpoint": str(ckpt.path)}}
    write_text(sidecar, json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return {"onnx": str(out_path), "metadata": str(sidecar), "input_size": [h, w], "max_abs_diff": max_diff,
            "torch_ms": torch_ms, "onnxruntime_ms": ort_ms, "threads": torch.get_num_threads()}


def _median_ms(fn, repeats: int) -> float:
    with torch.no_grad():
        for _ in range(3):
            fn()
        times = []
        for _ in range(max(1, repeats)):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)
