"""Grow a checkpoint's disc vocabulary (e.g. the 11-channel cervical model to 24 channels, issue 13) for fine-tuning.

``python benchmarks/grow_channels.py IN.safetensors OUT.safetensors --num-discs 24``

Every weight is copied; the three layers whose shape follows the number of heatmap channels (each stack's head, the
remap of the heatmaps into the next stack, the fusion's attention) keep the old channels' weights at those channels'
new places (C1-C2 .. T4-T5 stay the first channels, the 'any disc' channel moves to the end) and start the new
channels at zero: the grown model predicts the old discs exactly as before and an empty map for the new ones (test:
the output check below). Then ``msanet train --init OUT ... --num-discs 24`` fine-tunes it.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import torch

from msanet.checkpoint import load_checkpoint, save_checkpoint
from msanet.model.msanet import MSANet


def channel_map(old_discs: int, new_discs: int, any_disc: bool) -> list[int]:
    """New index of each old heatmap channel: named channels keep theirs, the any-disc channel goes last."""
    return list(range(old_discs)) + ([new_discs] if any_disc else [])


def grow(state: dict[str, torch.Tensor], new_state: dict[str, torch.Tensor], new_v: int, places: list[int],
         num_stacks: int, feature_channels: int) -> dict[str, torch.Tensor]:
    """A state of ``new_state``'s shapes from ``state``: old heatmap channel i at ``places[i]`` of ``new_v``, the rest zero."""
    out = {}
    idx = torch.tensor(places)
    for key, old in state.items():
        new = new_state[key]
        if new.shape == old.shape:
            out[key] = old.clone()
            continue
        new = torch.zeros_like(new)
        if key.endswith("head.weight") or key.endswith("head.bias"):  # [V, C, 1, 1] / [V]
            new[idx] = old
        elif key.startswith("remap_heatmaps") and key.endswith("weight"):  # [C, V, 1, 1]
            new[:, idx] = old
        elif key == "fusion.attention.weight":  # [N*V, N*(C+V)]: inputs features 1..N then heatmaps 1..N; outputs stack-major
            rows = torch.cat([n * new_v + idx for n in range(num_stacks)])
            cols_in = torch.cat([torch.arange(num_stacks * feature_channels)]
                                + [num_stacks * feature_channels + n * new_v + idx for n in range(num_stacks)])
            new[rows[:, None], cols_in[None, :]] = old
        elif key == "fusion.attention.bias":  # [N*V]
            new[torch.cat([n * new_v + idx for n in range(num_stacks)])] = old
        else:
            raise ValueError(f"{key}: shape {tuple(old.shape)} -> {tuple(new.shape)}, no rule to grow it")
        out[key] = new
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("src", type=Path)
    parser.add_argument("dst", type=Path)
    parser.add_argument("--num-discs", type=int, default=24)
    args = parser.parse_args()
    ck = load_checkpoint(args.src)
    cfg = ck.model_config
    if args.num_discs <= cfg.num_discs:
        sys.exit(f"--num-discs {args.num_discs}: must exceed the checkpoint's {cfg.num_discs}")
    new_cfg = dataclasses.replace(cfg, num_discs=args.num_discs)
    model = MSANet(new_cfg)
    places = channel_map(cfg.num_discs, args.num_discs, cfg.any_disc)
    state = grow(ck.model.state_dict(), model.state_dict(), new_cfg.num_outputs, places,
                 cfg.num_stacks, cfg.width)
    model.load_state_dict(state)
    model.eval()
    x = torch.randn(1, 1, 64, 64)
    with torch.no_grad():
        old_h, new_h = ck.model(x).heatmaps, model(x).heatmaps
    diff = (new_h[:, places] - old_h).abs().max().item()
    rest = [i for i in range(new_cfg.num_outputs) if i not in places]
    if diff > 1e-5 or new_h[:, rest].abs().max().item() > 1e-6:
        sys.exit(f"grown model differs from the original (max |diff| {diff:.2e}) or predicts on new channels")
    save_checkpoint(args.dst, model, new_cfg, ck.preprocess, threshold=ck.threshold, stride=ck.stride, sigma_mm=ck.sigma_mm,
                    extra={"grown_from": str(args.src)})
    print(f"wrote {args.dst}: {cfg.num_discs} -> {args.num_discs} disc channels, old channels' output unchanged (max |diff| {diff:.1e})")


if __name__ == "__main__":
    main()
