"""Multi-scale Gaussian Context Attention (M-GCA).

Two parallel paths on the input feature map ``x`` ([B, C, H, W]):
  local:  3x3 convolution (C -> C) -> BatchNorm, re-weighted by the Gaussian context of the convolution output;
  global: 7x7 convolution (C -> C, dense, as in the paper) -> BatchNorm, likewise.
The Gaussian context excitation re-weights a path channel-wise from its own global context:
  s = GAP(conv output)                  # [B, C], pooled BEFORE the BatchNorm
  z = (s - mean_c(s)) / (std_c(s) + eps) # per-sample standardisation over channels (population std)
  g = exp(-z^2 / (2 c^2))                # c = 1.0, or learnable (c = softplus(raw) > 0, one per path)
  path = BatchNorm(conv output) * g
The paths are fused by an adaptive gate computed from the input, one weight per channel:
  alpha = sigmoid(W_a GAP(x) + b_a)      # [B, C, 1, 1], W_a a 1x1 convolution (C -> C)
  out = x + alpha * local + (1 - alpha) * global   (residual connection)

Why the context is pooled before the BatchNorm and applied after it (benchmarks/results/diagnosis.md):
- pooled from the BatchNorm OUTPUT (the first version): in training mode BatchNorm removes each
  channel's batch mean, so a sample's pooled context is only its deviation from the other samples of
  its batch, blown up to unit scale by the standardisation: g was batch noise, a random per-sample
  channel mask, and '+ M-GCA' never left the empty-heatmap plateau;
- g applied to the convolution output before the BatchNorm (tried next): the large per-channel means
  of the convolution, scaled by a g that varies per sample, then dominate the batch variance, so the
  BatchNorm squashes the spatial content and eval mode (running statistics) disagrees with training
  (validation MSE worse than predicting nothing after 4 epochs);
- now: the convolution's output keeps its channel means, so its context is a property of the image
  alone, and the BatchNorm normalises the path as in any other block.
Initialisation: PyTorch defaults.

Parameters: 58 C^2 (+ BN, gate) per module, i.e. most of a stack's parameters at the default width.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


def gaussian_excitation(pooled: torch.Tensor, c: torch.Tensor | float, eps: float = 1e-5) -> torch.Tensor:
    """Per-sample standardise ``pooled`` [B, C] over channels and return exp(-z^2 / (2 c^2)) [B, C]."""
    z = (pooled - pooled.mean(dim=1, keepdim=True)) / (pooled.std(dim=1, keepdim=True, unbiased=False) + eps)
    return torch.exp(-(z**2) / (2 * c**2))


class GaussianContext(nn.Module):
    """Channel weights of one path from its Gaussian context excitation: ``[B, C, H, W] -> g [B, C, 1, 1]`` in (0, 1]."""

    def __init__(self, c: float = 1.0, learnable_c: bool = False) -> None:
        super().__init__()
        if not c > 0:
            raise ValueError(f"gca_c={c} must be > 0")
        self.learnable_c = learnable_c
        if learnable_c:  # c = softplus(raw) keeps c > 0; raw initialised so that c starts at the given value
            self.raw_c = nn.Parameter(torch.tensor(math.log(math.expm1(c))))
        else:
            self.register_buffer("fixed_c", torch.tensor(float(c)))

    @property
    def c(self) -> torch.Tensor:
        return F.softplus(self.raw_c) if self.learnable_c else self.fixed_c

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return gaussian_excitation(x.mean(dim=(2, 3)), self.c)[:, :, None, None]  # [B, C, 1, 1]


class MGCA(nn.Module):
    """M-GCA module: ``[B, C, H, W] -> [B, C, H, W]`` (see module docstring)."""

    def __init__(self, channels: int, c: float = 1.0, learnable_c: bool = False) -> None:
        super().__init__()
        self.local_conv = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.global_conv = nn.Conv2d(channels, channels, 7, padding=3, bias=False)
        self.local_gca = GaussianContext(c, learnable_c)
        self.global_gca = GaussianContext(c, learnable_c)
        self.local_bn = nn.BatchNorm2d(channels)
        self.global_bn = nn.BatchNorm2d(channels)
        self.gate = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        local, glob = self.local_conv(x), self.global_conv(x)  # [B, C, H, W]: 3x3 and 7x7 receptive fields
        local = self.local_bn(local) * self.local_gca(local)  # context pooled before the BatchNorm
        glob = self.global_bn(glob) * self.global_gca(glob)
        alpha = torch.sigmoid(self.gate(x.mean(dim=(2, 3), keepdim=True)))  # [B, C, 1, 1]
        return x + alpha * local + (1 - alpha) * glob  # [B, C, H, W]
