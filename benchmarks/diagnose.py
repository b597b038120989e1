"""Measurements behind benchmarks/results/diagnosis.md: ``python benchmarks/diagnose.py``.

1. M-GCA context and the batch: the channel weights g that M-GCA gives one benchmark image, computed
   twice with the image in two different batches of benchmark images (training mode, width 64, at
   initialisation), for the old design (context pooled from the BatchNorm OUTPUT) and the current one
   (pooled from the convolution output, before the BatchNorm). A context that describes the image
   gives the same g in any batch.
2. bfloat16 vs float32 activations along the depth of the network (same weights, same batch), in
   training mode (batch statistics) and eval mode (running statistics).
Needs the benchmark data (``python benchmarks/experiments.py data``). Writes results/diagnosis_measure.md.
"""

from __future__ import annotations

import json

import numpy as np
import torch
from torch import nn

from common import RESULTS, ROOT, header

from msanet import bids
from msanet.dataset import DiscDataset, items_from_subjects
from msanet.model.mgca import MGCA, gaussian_excitation
from msanet.model.msanet import MSANet, MSANetConfig
from msanet.preprocess import PreprocessConfig


def benchmark_images(n: int) -> torch.Tensor:
    """The first ``n`` training images of the benchmark, preprocessed as in training (no augmentation)."""
    subjects = bids.find_subjects(ROOT / "data" / "sg260", require_labels=True)
    splits = bids.Splits.load(ROOT / "benchmarks" / "splits" / "subject.json")
    items = items_from_subjects(subjects, splits.train)[:n]
    ds = DiscDataset(items, PreprocessConfig(pixel_mm=2.0, height=128, width=128), cache_dir=ROOT / "data" / "cache")
    return torch.stack([ds[i][0] for i in range(len(ds))])  # [n, 1, 128, 128]


def mgca_inputs(model: MSANet, x: torch.Tensor) -> torch.Tensor:
    """Input of the first stack's M-GCA for a batch (training mode)."""
    seen = {}
    model.stacks[0].mgca.register_forward_hook(lambda m, inp, out: seen.setdefault("x", inp[0].detach()))
    with torch.no_grad():
        model(x)
    return seen["x"]


def context_batch_dependence(x_all: torch.Tensor) -> dict:
    """Relative change of one image's M-GCA channel weights between two batches, old vs current design."""
    torch.manual_seed(0)
    model = MSANet(MSANetConfig(width=64)).train()
    mgca: MGCA = model.stacks[0].mgca
    first, other_a, other_b = x_all[:1], x_all[1:8], x_all[8:15]
    out = {}
    for name, batch_mates in (("batch A", other_a), ("batch B", other_b)):
        feats = mgca_inputs(model, torch.cat([first, batch_mates]))  # [8, C, h, w]
        with torch.no_grad():
            conv = mgca.local_conv(feats)
            bn_out = nn.functional.batch_norm(conv, None, None, training=True)  # the old design's pooled tensor
            out[name] = {"old": gaussian_excitation(bn_out.mean(dim=(2, 3)), 1.0)[0],
                         "current": gaussian_excitation(conv.mean(dim=(2, 3)), 1.0)[0]}
    result = {}
    for design in ("old", "current"):
        a, b = out["batch A"][design], out["batch B"][design]
        result[design] = {"rel_change": float((a - b).norm() / a.norm()), "corr": float(np.corrcoef(a.numpy(), b.numpy())[0, 1]),
                          "g_mean": float(a.mean()), "g_std": float(a.std())}
    return result


def bf16_by_depth(x: torch.Tensor) -> dict:
    """Relative L2 difference of BatchNorm outputs, bfloat16 autocast vs float32, at a few depths."""
    torch.manual_seed(0)
    model = MSANet(MSANetConfig(width=64, mgca=False, fusion=False, contrastive=False))
    names = ["stem.res1.bn1", "stem.res3.bn3", "stacks.0.hourglass.inner.inner.inner.inner.bn3", "stacks.0.conv.1",
             "stacks.1.hourglass.inner.inner.inner.inner.bn3", "stacks.1.conv.1"]
    modules = dict(model.named_modules())
    result = {}
    for mode in ("train", "eval"):
        acts: dict[str, list] = {n: [] for n in names}
        hooks = [modules[n].register_forward_hook(lambda m, i, o, n=n: acts[n].append(o.detach().float().clone())) for n in names]
        getattr(model, mode)()
        with torch.no_grad():
            model(x)
            with torch.autocast("cpu", dtype=torch.bfloat16):
                model(x)
        for h in hooks:
            h.remove()
        result[mode] = {n: float((a - b).norm() / a.norm()) for n, (a, b) in acts.items()}
    return result


def main() -> None:
    torch.set_num_threads(2)
    x = benchmark_images(15)
    ctx = context_batch_dependence(x)
    bf = bf16_by_depth(x[:8])
    lines = header("Diagnosis measurements", "python benchmarks/diagnose.py")
    lines += ["## 1. M-GCA channel weights of one image, in two different batches (training mode, width 64, at init)", "",
              "| design | relative change of g between the batches | correlation | mean g | std of g over channels |", "|---|---|---|---|---|"]
    for design, label in (("old", "old: pooled after the BatchNorm"), ("current", "current: pooled before the BatchNorm")):
        r = ctx[design]
        lines.append(f"| {label} | {r['rel_change']:.3f} | {r['corr']:.3f} | {r['g_mean']:.3f} | {r['g_std']:.3f} |")
    lines += ["", "## 2. bfloat16 autocast vs float32: relative L2 difference of activations (same weights, 8 benchmark images)", "",
              "| layer | training mode | eval mode |", "|---|---|---|"]
    for name in bf["train"]:
        lines.append(f"| `{name}` | {bf['train'][name]:.3f} | {bf['eval'][name]:.4f} |")
    (RESULTS / "diagnosis_measure.md").write_text("\n".join(lines) + "\n")
    (RESULTS / "diagnosis_measure.json").write_text(json.dumps({"mgca_context": ctx, "bf16_by_depth": bf}, indent=2) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
