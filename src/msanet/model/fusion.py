"""Multi-scale attention fusion of the stacks' heatmaps into one heatmap channel per disc.

Inputs: the N stacks' features ``f_i`` [B, C, h, w] and heatmaps ``h_i`` [B, V, h, w].
  a = softmax over the N stacks of W concat(f_1..N, h_1..N)   # [B, N, V, h, w], W a 1x1 conv -> N * V
  final = sum_i a_i * h_i                                       # [B, V, h, w]
For every disc channel and pixel, the attention chooses how much each stack's estimate counts.

The output is linear in the heatmaps, with no squashing: an earlier version put a sigmoid on
the fused map and trained it under MSE, which starts at 0.5 everywhere and then saturates near 0,
where the gradient at the disc peaks vanishes (benchmarks/results/diagnosis.md). W starts at zero,
so a new module returns the mean of the stacks' heatmaps and learns the weighting from there.
"""

from __future__ import annotations

import torch
from torch import nn


class AttentionFusion(nn.Module):
    """``forward(features: N x [B, C, h, w], heatmaps: N x [B, V, h, w]) -> [B, V, h, w]``."""

    def __init__(self, channels: int, num_discs: int, num_stacks: int) -> None:
        super().__init__()
        if num_stacks < 1:
            raise ValueError(f"num_stacks={num_stacks} must be >= 1")
        self.num_stacks, self.num_discs = num_stacks, num_discs
        self.attention = nn.Conv2d(num_stacks * (channels + num_discs), num_stacks * num_discs, 1)
        nn.init.zeros_(self.attention.weight)
        nn.init.zeros_(self.attention.bias)

    def forward(self, features: list[torch.Tensor], heatmaps: list[torch.Tensor]) -> torch.Tensor:
        if len(features) != self.num_stacks or len(heatmaps) != self.num_stacks:
            raise ValueError(f"expected {self.num_stacks} feature and heatmap maps, got {len(features)} and {len(heatmaps)}")
        b, v, h, w = heatmaps[0].shape
        logits = self.attention(torch.cat(features + heatmaps, dim=1))  # [B, N*V, h, w]
        weights = logits.view(b, self.num_stacks, v, h, w).softmax(dim=1)  # [B, N, V, h, w]
        return (weights * torch.stack(heatmaps, dim=1)).sum(dim=1)  # [B, V, h, w]
