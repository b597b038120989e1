"""Small named building blocks of the stacked hourglass (Newell et al. 2016 style)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class ConvBNReLU(nn.Sequential):
    """conv (k x k, stride) -> BatchNorm -> ReLU. ``[B, C_in, H, W] -> [B, C_out, H/stride, W/stride]``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 1, stride: int = 1) -> None:
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=kernel_size // 2, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )


class Residual(nn.Module):
    """Pre-activation bottleneck residual: BN-ReLU-1x1 (C/2) -> BN-ReLU-3x3 (C/2) -> BN-ReLU-1x1 (C), plus skip.

    The skip is a 1x1 convolution when the channel count changes. Shape-preserving in H, W.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        mid = max(out_channels // 2, 1)
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = nn.Conv2d(in_channels, mid, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(mid)
        self.conv2 = nn.Conv2d(mid, mid, 3, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(mid)
        self.conv3 = nn.Conv2d(mid, out_channels, 1)
        self.skip = nn.Conv2d(in_channels, out_channels, 1) if in_channels != out_channels else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv1(F.relu(self.bn1(x)))
        y = self.conv2(F.relu(self.bn2(y)))
        y = self.conv3(F.relu(self.bn3(y)))
        return y + self.skip(x)


class Hourglass(nn.Module):
    """Recursive hourglass of ``depth`` levels at ``channels`` width.

    Each level: an upper residual branch at the current resolution, and a lower branch
    (max-pool /2 -> residual -> inner hourglass or residual -> residual -> nearest upsample x2);
    the two are added. ``[B, C, H, W] -> [B, C, H, W]`` with H, W divisible by ``2**depth``.
    """

    def __init__(self, depth: int, channels: int) -> None:
        super().__init__()
        self.up = Residual(channels, channels)
        self.down = Residual(channels, channels)
        self.inner = Hourglass(depth - 1, channels) if depth > 1 else Residual(channels, channels)
        self.out = Residual(channels, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        upper = self.up(x)  # [B, C, H, W]
        lower = self.down(F.max_pool2d(x, 2))  # [B, C, H/2, W/2]
        lower = self.out(self.inner(lower))
        return upper + F.interpolate(lower, scale_factor=2, mode="nearest")  # [B, C, H, W]


class Stem(nn.Module):
    """Input -> latent map at 1/4 resolution: 7x7/2 conv, residual, max-pool /2, two residuals.

    ``[B, C_in, H, W] -> [B, width, H/4, W/4]``; also returns the shallow 1/4-resolution features
    (before the last residual) used by the contrastive embedding, and the half-resolution features
    (before the max-pool) used by a finer heatmap head (``UpsampleHead``).
    """

    def __init__(self, in_channels: int, width: int, stem_channels: int = 64) -> None:
        super().__init__()
        self.conv = ConvBNReLU(in_channels, stem_channels, kernel_size=7, stride=2)
        self.res1 = Residual(stem_channels, 2 * stem_channels)
        self.res2 = Residual(2 * stem_channels, 2 * stem_channels)
        self.res3 = Residual(2 * stem_channels, width)
        self.shallow_channels = 2 * stem_channels

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        half = self.res1(self.conv(x))  # [B, 2*stem, H/2, W/2]
        shallow = self.res2(F.max_pool2d(half, 2))  # [B, 2*stem, H/4, W/4]
        return self.res3(shallow), shallow, half  # [B, width, H/4, W/4], [B, 2*stem, H/4, W/4], [B, 2*stem, H/2, W/2]


class UpsampleHead(nn.Module):
    """Heatmaps at 1/2 or full input resolution from the 1/4-resolution ones (not in the paper).

    ``forward(coarse [B, K, H/4, W/4], features [B, C, H/4, W/4], half [B, S, H/2, W/2], image [B, C_in, H, W])
    -> [B, K, H/s, W/s]`` for ``out_stride`` s = 2 or 1: the bilinearly upsampled coarse heatmaps plus a learned
    residual. The residual upsamples the (1x1-reduced) features and, at each finer level, concatenates the skip of that
    resolution (the stem's half-resolution features, then the image) before a 3x3 ConvBNReLU; its last 1x1 conv starts
    at zero, so an untrained head returns the upsampled coarse heatmaps.
    """

    def __init__(self, channels: int, half_channels: int, in_channels: int, num_outputs: int, out_stride: int, mid: int = 32) -> None:
        super().__init__()
        if out_stride not in (1, 2):
            raise ValueError(f"out_stride={out_stride!r} must be 1 or 2 for an UpsampleHead")
        self.out_stride = out_stride
        self.reduce = ConvBNReLU(channels, mid, 1)
        self.skip_half = ConvBNReLU(half_channels, mid, 1)
        self.fuse_half = ConvBNReLU(2 * mid, mid, 3)
        self.fuse_full = ConvBNReLU(mid + in_channels, mid, 3) if out_stride == 1 else None
        self.out = nn.Conv2d(mid, num_outputs, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, coarse: torch.Tensor, features: torch.Tensor, half: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        y = F.interpolate(self.reduce(features), scale_factor=2, mode="bilinear", align_corners=False)  # [B, mid, H/2, W/2]
        y = self.fuse_half(torch.cat([y, self.skip_half(half)], dim=1))  # [B, mid, H/2, W/2]
        if self.fuse_full is not None:
            y = F.interpolate(y, scale_factor=2, mode="bilinear", align_corners=False)  # [B, mid, H, W]
            y = self.fuse_full(torch.cat([y, image], dim=1))  # [B, mid, H, W]
        up = F.interpolate(coarse, scale_factor=4 // self.out_stride, mode="bilinear", align_corners=False)  # [B, K, H/s, W/s]
        return up + self.out(y)
