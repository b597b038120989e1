"""Model complexity and CPU speed: ``python benchmarks/bench_complexity.py [--size 256x192] [--width 114]``.

Measures, in one process on this machine: parameters; FLOPs per image (torch FlopCounterMode);
inference latency at batch 1 and 16 (median of repeated warm runs, torch threads = cores);
throughput; this machine's matmul GFLOP/s (2048^2 float32, same threads) and the ratio achieved
by the model; training images/s (forward + backward + Adam, batch 8) for the old setting (float32,
contiguous NCHW) and the training default (channels_last + ``precision auto``), timed interleaved in
one process, with the bfloat16 numerics checked against float32 (same weights, same batches);
peak resident memory; and the data-pipeline throughput (cached samples + augmentation + heatmaps)
against training throughput.
Writes benchmarks/results/complexity_<H>x<W>_width<N>.md and .json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time

import numpy as np
import torch

from common import RESULTS, header

from msanet.augment import AugmentConfig, augment
from msanet.heatmaps import make_heatmaps
from msanet.losses import PrototypeContrastiveLoss, total_loss
from msanet.model.msanet import MSANet, MSANetConfig, count_flops, count_parameters
from msanet.precision import autocast, resolve_precision


def timed(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def matmul_gflops(threads: int) -> float:
    a, b = torch.rand(2048, 2048), torch.rand(2048, 2048)
    for _ in range(2):
        a @ b
    best = min(timed(lambda: a @ b, 5))
    return 2 * 2048**3 / best / 1e9


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", default="256x192")
    parser.add_argument("--width", type=int, default=MSANetConfig().width)
    args = parser.parse_args()
    h, w = (int(v) for v in args.size.split("x"))
    threads = os.cpu_count() or 1
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    cfg = MSANetConfig(width=args.width)
    model = MSANet(cfg).eval()
    params = count_parameters(model)
    flops = count_flops(model, h, w)
    peak_gflops = matmul_gflops(threads)
    results = {}
    with torch.no_grad():
        for batch, repeats in ((1, 20), (16, 5)):
            x = torch.rand(batch, 1, h, w)
            for _ in range(3):
                model(x)
            med = statistics.median(timed(lambda: model(x), repeats))
            results[batch] = med
    baseline = MSANet(MSANetConfig(width=args.width, mgca=False, fusion=False, contrastive=False)).eval()
    with torch.no_grad():
        x = torch.rand(1, 1, h, w)
        for _ in range(3):
            baseline(x)
        base_med = statistics.median(timed(lambda: baseline(x), 20))
    # training throughput: old setting (float32, NCHW) vs the training default (channels_last + precision auto)
    cpu = torch.device("cpu")
    default_precision = resolve_precision("auto", cpu)
    settings = {"float32, NCHW (before)": ("fp32", torch.contiguous_format),
                f"{default_precision}, channels_last (training default)": (default_precision, torch.channels_last)}
    con = PrototypeContrastiveLoss()
    xb, yb = torch.rand(8, 1, h, w), torch.rand(8, cfg.num_discs, h // 4, w // 4) ** 8
    trainers = {}
    for name, (precision, fmt) in settings.items():
        torch.manual_seed(0)
        m = MSANet(cfg).to(memory_format=fmt).train()
        opt = torch.optim.Adam(m.parameters(), lr=1e-4)

        def step(m=m, opt=opt, precision=precision, fmt=fmt):
            with autocast(precision, cpu):
                out = m(xb.contiguous(memory_format=fmt))
            loss, _ = total_loss(out.float(), yb, con)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return float(loss)

        trainers[name] = step
    losses = {name: [step() for _ in range(3)] for name, step in trainers.items()}  # warm-up = numerics check
    times = {name: [] for name in trainers}
    for _ in range(4):
        for name, step in trainers.items():
            times[name].append(timed(step, 1)[0])
    train_ips = {name: 8 / statistics.median(t) for name, t in times.items()}
    before, after = train_ips.values()
    loss_before, loss_after = losses.values()
    loss_rel = max(abs(a - b) / abs(a) for a, b in zip(loss_before, loss_after))
    with torch.no_grad():
        ref = model.eval()(xb).heatmaps
        with autocast("bf16", cpu):
            low = model(xb).heatmaps.float()
    bf16_rel = float((low - ref).norm() / ref.norm())
    # data pipeline: one cached image + augmentation + heatmaps, single process
    rng = np.random.default_rng(0)
    image = rng.random((h, w)).astype(np.float32)
    points = {v: np.array([h * (v - 1) / 13, w * 0.55]) for v in range(2, 13)}
    aug = AugmentConfig()

    def sample():
        img, pts = augment(image, points, rng, aug)
        make_heatmaps(pts, tuple(range(2, 13)), (h, w), 4, 8.0, 2.0)

    data_ips = 1 / statistics.median(timed(sample, 50))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    lat1, lat16 = results[1], results[16]
    achieved = flops / lat16 * 16 / 1e9
    lines = header(f"Complexity and CPU speed at {h}x{w} input", "python benchmarks/bench_complexity.py " + " ".join(sys.argv[1:]))
    lines += [
        "| quantity | value |", "|---|---|",
        f"| trainable parameters (full MSA-Net, width {args.width}) | {params:,} ({params / 1e6:.3f} M) |",
        f"| FLOPs per image ({h}x{w}, FlopCounterMode, 2 per MAC) | {flops / 1e9:.2f} GFLOP |",
        f"| latency, batch 1 (median of 20 warm runs, {threads} threads) | {lat1 * 1000:.1f} ms |",
        f"| latency of the plain hourglass baseline, batch 1 | {base_med * 1000:.1f} ms |",
        f"| latency, batch 16 (median of 5 warm runs) | {lat16 * 1000:.0f} ms ({lat16 / 16 * 1000:.1f} ms/image) |",
        f"| inference throughput (batch 16) | {16 / lat16:.1f} images/s |",
        f"| achieved compute (batch 16) | {achieved:.1f} GFLOP/s |",
        f"| this machine's float32 matmul (2048^2, same threads) | {peak_gflops:.1f} GFLOP/s |",
        f"| ratio achieved / matmul | {achieved / peak_gflops:.2f} |",
        *(f"| training throughput, {name} (batch 8, forward + backward + Adam, contrastive on) | {ips:.2f} images/s |"
          for name, ips in train_ips.items()),
        f"| training speed-up of the default over float32 NCHW (same process, interleaved) | {after / before:.2f}x |",
        f"| bfloat16 autocast vs float32 forward, same weights: relative L2 difference of the heatmaps | {bf16_rel:.2e} |",
        f"| training loss, first 3 steps from the same init: largest relative difference, default vs float32 | {loss_rel:.2e} |",
        f"| data pipeline (cached sample + augmentation + heatmaps, 1 process) | {data_ips:.0f} images/s |",
        f"| data pipeline / training throughput (default) | {data_ips / after:.0f}x |",
        f"| peak resident memory of this process | {peak_mb:.0f} MB |",
    ]
    stem = RESULTS / f"complexity_{h}x{w}_width{args.width}"
    stem.with_suffix(".md").write_text("\n".join(lines) + "\n")
    figures = {"size": [h, w], "width": args.width, "threads": threads, "parameters": params, "gflop_per_image": flops / 1e9,
               "latency_batch1_ms": lat1 * 1000, "latency_baseline_batch1_ms": base_med * 1000, "latency_batch16_ms": lat16 * 1000,
               "throughput_images_per_s": 16 / lat16, "achieved_gflops": achieved, "matmul_gflops": peak_gflops,
               "train_images_per_s": after, "train_images_per_s_fp32_nchw": before,
               "train_precision": default_precision, "bf16_heatmap_rel_l2": bf16_rel, "train_loss_rel_diff": loss_rel, "data_images_per_s": data_ips, "peak_memory_mb": peak_mb}
    stem.with_suffix(".json").write_text(json.dumps(figures, indent=2) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
