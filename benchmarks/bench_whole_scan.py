"""Whole-scan labelling speed: ``python benchmarks/bench_whole_scan.py``.

A synthetic 900 mm (superior-inferior) x 300 mm (anterior-posterior) x 40 mm (left-right) whole-spine
volume, made here with numpy + nibabel (1 mm in-plane, 2 mm sagittal slices, 20 x 900 x 300 voxels: a body
symmetric about a midline that drifts 6 mm left-right, a cord, 24 discs 15 to 38 mm apart), labelled by
``msanet.predict.predict_volume`` (load, midline, slab, whole-extent grid, network over training-size windows, decode, anchor)
with a random-weight 24-channel checkpoint of width 64 (the benchmark width; weights do not change the
time). Rows: the benchmark grid (2 mm pixels, as the benchmark models train: 512 x 192 px) and the default
grid (1 mm: 960 x 320 px). Torch threads = cores (``--threads N`` to leave cores to other work); median of 5 warm runs, each stage timed on its own too;
then the whole ``msanet predict`` of the file once (outputs, QC picture and page included). Acceptance
(issue 13): the 900 mm scan labelled in under 2 s on this CPU. Writes benchmarks/results/whole_scan_speed.md
and .json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import nibabel as nib
import numpy as np
import torch

from common import RESULTS, header

from msanet import io
from msanet.checkpoint import load_checkpoint, save_checkpoint
from msanet.decode import decode_heatmaps, disc_positions
from msanet.discs import channel_values
from msanet.model.msanet import MSANet, MSANetConfig
from msanet.predict import predict_volume, run_predict
from msanet.preprocess import PreprocessConfig, find_midline, preprocess_whole_scan
from msanet.windows import windowed_heatmaps

COMMAND = "python benchmarks/bench_whole_scan.py"
SHAPE = (20, 900, 300)  # canonical (x: left-right, y: superior-inferior, z: anterior-posterior) voxels
SPACING = (2.0, 1.0, 1.0)  # mm
REPEATS = 5


def whole_spine_volume(path: Path, seed: int = 0) -> Path:
    """Write the synthetic whole-spine scan (int16, RPI-stored like many scanners' sagittal series) to ``path``."""
    rng = np.random.default_rng(seed)
    n_x, n_y, n_z = SHAPE
    y = np.arange(n_y, dtype=np.float32)
    xc = (n_x - 1) / 2 + (6.0 / SPACING[0]) * np.sin(np.pi * y / (n_y - 1))  # midline drifting 6 mm
    dx_mm = (np.arange(n_x, dtype=np.float32)[:, None] - xc[None, :]) * SPACING[0]  # [X, Y]
    z = np.arange(n_z, dtype=np.float32)
    body = 300 * np.exp(-dx_mm**2 / (2 * 40.0**2))[:, :, None] * ((z > 40) & (z < 260))[None, None, :]
    data = body * (1 + 0.3 * rng.random((1, n_y, n_z), dtype=np.float32))  # [X, Y, Z]
    data[:, :, 150:160] += 400 * (np.abs(dx_mm) <= 4)[:, :, None]  # the cord
    row = 40.0
    for k in range(24):  # discs, 15 mm apart in the neck to 38 mm in the lumbar spine
        r = int(row)
        data[:, r - 3 : r + 3, 90:140] += 350 * (np.abs(dx_mm[:, r - 3 : r + 3]) <= 15)[:, :, None]
        row += 15 + 23 * k / 23
    data += 20 * rng.random(data.shape, dtype=np.float32)
    affine = np.zeros((4, 4))
    affine[0, 0], affine[2, 1], affine[1, 2], affine[3, 3] = SPACING[0], -SPACING[1], -SPACING[2], 1.0  # canonical R, I, P
    nib.save(nib.Nifti1Image(data.astype(np.int16), affine), str(path))
    return path


def random_checkpoint(path: Path, pixel_mm: float) -> Path:
    torch.manual_seed(0)
    cfg = MSANetConfig(num_discs=24, width=64)
    pre = PreprocessConfig(pixel_mm=pixel_mm, height=128, width=128, slab_mm=3.0)
    return save_checkpoint(path, MSANet(cfg).eval(), cfg, pre, threshold=0.3)


def median_seconds(fn, repeats: int = REPEATS) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def time_grid(image: Path, ckpt_path: Path, out: Path) -> dict:
    ckpt = load_checkpoint(ckpt_path)
    unit = ckpt.model_config.size_unit
    volume = io.load_image(image)
    sag = preprocess_whole_scan(volume, ckpt.preprocess, unit)
    window = (ckpt.preprocess.height, ckpt.preprocess.width)
    heat = windowed_heatmaps(ckpt.model, sag.image, window, ckpt.stride)

    def forward():
        windowed_heatmaps(ckpt.model, sag.image, window, ckpt.stride)

    values = channel_values(24)
    row = {
        "pixel_mm": ckpt.preprocess.pixel_mm,
        "input_px": list(sag.image.shape),
        "padding_px": list(sag.padding_px),
        "total_s": median_seconds(lambda: predict_volume(io.load_image(image), ckpt)),
        "midline_s": median_seconds(lambda: find_midline(io.load_image(image))),
        "preprocess_s": median_seconds(lambda: preprocess_whole_scan(io.load_image(image), ckpt.preprocess, unit)),
        "forward_s": median_seconds(forward),
        "decode_s": median_seconds(lambda: (decode_heatmaps(heat, values, threshold=0.3), disc_positions(heat, threshold=0.3))),
    }
    t0 = time.perf_counter()
    run_predict([image], out, model=ckpt_path, progress=False, device="cpu")
    row["cli_s"] = time.perf_counter() - t0
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="torch threads (default: cores)")
    args = parser.parse_args()
    threads = args.threads
    torch.set_num_threads(threads)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        image = whole_spine_volume(tmp / "whole_spine_T2w.nii.gz")
        for pixel_mm in (2.0, 1.0):
            rows.append(time_grid(image, random_checkpoint(tmp / f"m{pixel_mm:g}.safetensors", pixel_mm), tmp / f"out{pixel_mm:g}"))
    command = COMMAND + ("" if threads == (os.cpu_count() or 1) else f" --threads {threads}")
    lines = header("Whole-scan labelling speed (900 mm whole-spine scan)", command)
    lines += [f"Synthetic {SHAPE[1]} x {SHAPE[2]} x {SHAPE[0] * SPACING[0]:g} mm volume (SI x AP x LR; {SHAPE[0]} x {SHAPE[1]} x {SHAPE[2]} "
              f"voxels of {SPACING[1]:g} x {SPACING[2]:g} x {SPACING[0]:g} mm), random-weight 24-channel MSA-Net of width 64 "
              f"(depth 4, size unit 64), CPU, {threads} torch threads; median of {REPEATS} warm runs. `predict_volume` is the labelling: "
              f"NIfTI read, midline, slab, whole-extent grid, the network over overlapping training-size windows (`msanet.windows`), decode and anchor. The last column is one whole "
              f"`msanet predict` of the file (label file, JSON, CSV, QC picture, QC page). Acceptance (issue 13): under 2 s.", "",
              "| grid | network input (px) | padding t/b/a/p (px) | labelling: predict_volume | midline | slab + grid | network (windows) | decode + positions | whole `msanet predict` |",
              "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['pixel_mm']:g} mm | {r['input_px'][0]} x {r['input_px'][1]} | {'/'.join(str(p) for p in r['padding_px'])} | "
                     f"**{r['total_s']:.2f} s** | {r['midline_s']:.2f} s | {r['preprocess_s']:.2f} s | {r['forward_s']:.2f} s | "
                     f"{r['decode_s'] * 1000:.0f} ms | {r['cli_s']:.2f} s |")
    load = os.getloadavg()[0]
    lines += ["", f"The slab + grid column includes the midline. Load average when done: {load:.1f} on {os.cpu_count()} cores "
              f"(other work on the machine slows every column; with more torch threads than free cores the forward pass "
              f"is many times slower, hence --threads)."]
    (RESULTS / "whole_scan_speed.md").write_text("\n".join(lines) + "\n")
    (RESULTS / "whole_scan_speed.json").write_text(json.dumps({"threads": threads, "shape": SHAPE, "spacing_mm": SPACING, "rows": rows}, indent=2) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
