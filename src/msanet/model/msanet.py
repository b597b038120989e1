"""MSA-Net: stacked hourglass + M-GCA + multi-scale attention fusion (+ contrastive embeddings).

Forward pass (N stacks, default 2)::

    x [B, 1, H, W]
    stem                       -> latent [B, C, H/4, W/4], shallow [B, 128, H/4, W/4]
    for each stack i:
        hourglass -> residual -> 1x1 conv -> M-GCA (if mgca)     -> features_i [B, C, H/4, W/4]
        head (1x1)                                              -> heatmaps_i [B, K, H/4, W/4]
        latent += remap(features_i) + remap(heatmaps_i)   (re-injection, all but the last stack)
    fusion (if fusion): sum_i softmax_i(1x1 conv(concat(features, heatmaps))) * heatmaps_i -> final [B, K, H/4, W/4]
    else: final = heatmaps_N
    out_stride 2 or 1 (not in the paper): UpsampleHead(final, features_N, stem's H/2 features, x) -> final [B, K, H/s, W/s]
    embeddings (if contrastive, when training): 1x1 projections of concat(shallow, features_1..N) -> [B, E, H/4, W/4]

K = V disc channels, plus one class-agnostic "any disc" channel last when ``any_disc`` (not in the paper: every
disc of the image is a peak there, whatever its name; ``decode.name_positions`` names those peaks by anatomical
order). The extra channel goes through the heads, re-injection and fusion like the others. ``out_stride`` 2 or 1 adds
a small upsampling head (``blocks.UpsampleHead``) so the final heatmaps are finer than the hourglass's 1/4 grid; the
stacks' intermediate heatmaps stay at 1/4 (``losses.heatmap_mse`` pools the target to them).
With mgca, fusion and contrastive all off it is the plain stacked-hourglass pose-estimation baseline.
The default width (114) gives 2.980 M trainable parameters (the paper's 2.96 M, +0.7 %); about half of
them are in the two M-GCA modules (dense 3x3 + 7x7 convolutions, 58 C^2 each).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import NamedTuple

import torch
from torch import nn

from msanet.model.blocks import ConvBNReLU, Hourglass, Residual, Stem, UpsampleHead
from msanet.model.fusion import AttentionFusion
from msanet.model.mgca import MGCA

STRIDE = 4  # of the stem and the hourglass stacks; the final heatmaps are at cfg.out_stride
OUT_STRIDES = (4, 2, 1)


@dataclass(frozen=True)
class MSANetConfig:
    """Architecture of MSA-Net. Every switch changes the architecture (see module docstring)."""

    in_channels: int = 1
    num_discs: int = 11
    width: int = 114
    num_stacks: int = 2
    depth: int = 4
    mgca: bool = True
    fusion: bool = True
    contrastive: bool = True
    gca_c: float = 1.0
    learnable_c: bool = False
    embed_dim: int = 64
    any_disc: bool = False
    out_stride: int = STRIDE
    zero_heads: bool = True  # initialisation (not in the paper): every heatmap head starts at 0, i.e. predicts an empty map

    def __post_init__(self) -> None:
        for name in ("in_channels", "num_discs", "width", "num_stacks", "depth", "embed_dim"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name}={value!r} must be a positive integer")
        if isinstance(self.out_stride, bool) or self.out_stride not in OUT_STRIDES:
            raise ValueError(f"out_stride={self.out_stride!r} must be one of {OUT_STRIDES}")
        if self.num_discs > 24:
            raise ValueError(f"num_discs={self.num_discs} must be <= 24 (SCT values 2..25)")
        if isinstance(self.gca_c, bool) or not isinstance(self.gca_c, (int, float)) or not 0 < self.gca_c < math.inf:
            raise ValueError(f"gca_c={self.gca_c!r} must be a finite number > 0")
        for name in ("mgca", "fusion", "contrastive", "learnable_c", "any_disc", "zero_heads"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name}={getattr(self, name)!r} must be true or false")

    @property
    def num_outputs(self) -> int:
        """Heatmap channels: the ``num_discs`` named ones, then the "any disc" channel when ``any_disc``."""
        return self.num_discs + int(self.any_disc)

    @property
    def size_unit(self) -> int:
        """Input height and width must be multiples of this."""
        return STRIDE * 2**self.depth

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "MSANetConfig":
        if not isinstance(d, dict):
            raise ValueError(f"model config must be a mapping, got {type(d).__name__}")
        unknown = sorted(set(d) - {f.name for f in fields(cls)})
        if unknown:
            raise ValueError(f"unknown model config keys: {', '.join(unknown)}")
        return cls(**d)


class MSANetOutput(NamedTuple):
    heatmaps: torch.Tensor  # [B, K, H/s, W/s] final (K = cfg.num_outputs, s = cfg.out_stride)
    stack_heatmaps: list[torch.Tensor]  # N x [B, K, H/4, W/4] intermediate (supervised)
    embeddings: torch.Tensor | None  # [B, E, H/4, W/4] or None

    def float(self) -> "MSANetOutput":
        """The same outputs in float32 (a bfloat16 autocast forward returns bfloat16 tensors)."""
        return MSANetOutput(self.heatmaps.float(), [h.float() for h in self.stack_heatmaps],
                            None if self.embeddings is None else self.embeddings.float())


class Stack(nn.Module):
    """One hourglass stack: hourglass -> residual -> 1x1 conv -> optional M-GCA -> heatmap head."""

    def __init__(self, cfg: MSANetConfig) -> None:
        super().__init__()
        c = cfg.width
        self.hourglass = Hourglass(cfg.depth, c)
        self.residual = Residual(c, c)
        self.conv = ConvBNReLU(c, c, 1)
        self.mgca = MGCA(c, cfg.gca_c, cfg.learnable_c) if cfg.mgca else None
        self.head = nn.Conv2d(c, cfg.num_outputs, 1)
        if cfg.zero_heads:  # PyTorch's default init gives heatmaps of std ~0.4 where the targets are ~0 almost everywhere
            nn.init.zeros_(self.head.weight)
            nn.init.zeros_(self.head.bias)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y = self.conv(self.residual(self.hourglass(x)))  # [B, C, h, w]
        if self.mgca is not None:
            y = self.mgca(y)
        return y, self.head(y)  # features [B, C, h, w], heatmaps [B, K, h, w]


class MSANet(nn.Module):
    """MSA-Net; ``forward(x [B, in_channels, H, W])`` -> ``MSANetOutput`` (H, W multiples of ``cfg.size_unit``).

    Embeddings are computed only when asked for; by default in training mode when the model has the
    contrastive head (``return_embeddings=None``).
    """

    def __init__(self, cfg: MSANetConfig) -> None:
        super().__init__()
        if not isinstance(cfg, MSANetConfig):
            raise ValueError(f"cfg must be an MSANetConfig, got {type(cfg).__name__}")
        self.cfg = cfg
        c, v = cfg.width, cfg.num_outputs
        self.stem = Stem(cfg.in_channels, c)
        self.stacks = nn.ModuleList(Stack(cfg) for _ in range(cfg.num_stacks))
        self.remap_features = nn.ModuleList(nn.Conv2d(c, c, 1) for _ in range(cfg.num_stacks - 1))
        self.remap_heatmaps = nn.ModuleList(nn.Conv2d(v, c, 1) for _ in range(cfg.num_stacks - 1))
        self.fusion = AttentionFusion(c, v, cfg.num_stacks) if cfg.fusion else None
        self.up = UpsampleHead(c, self.stem.shallow_channels, cfg.in_channels, v, cfg.out_stride) if cfg.out_stride < STRIDE else None
        if cfg.contrastive:
            self.projection = nn.Sequential(
                ConvBNReLU(self.stem.shallow_channels + cfg.num_stacks * c, cfg.embed_dim, 1),
                nn.Conv2d(cfg.embed_dim, cfg.embed_dim, 1),
            )
        else:
            self.projection = None

    def forward(self, x: torch.Tensor, return_embeddings: bool | None = None) -> MSANetOutput:
        if x.ndim != 4 or x.shape[1] != self.cfg.in_channels:
            raise ValueError(f"input shape {tuple(x.shape)} must be [B, {self.cfg.in_channels}, H, W]")
        unit = self.cfg.size_unit
        if x.shape[2] % unit or x.shape[3] % unit:
            raise ValueError(f"input size {x.shape[2]}x{x.shape[3]} must be divisible by {unit}")
        latent, shallow, half = self.stem(x)  # [B, C, H/4, W/4], [B, 128, H/4, W/4], [B, 128, H/2, W/2]
        features, heatmaps = [], []
        for i, stack in enumerate(self.stacks):
            y, h = stack(latent)  # [B, C, H/4, W/4], [B, K, H/4, W/4]
            features.append(y)
            heatmaps.append(h)
            if i < len(self.stacks) - 1:
                latent = latent + self.remap_features[i](y) + self.remap_heatmaps[i](h)  # re-injection
        if self.fusion is not None:
            final = self.fusion(features, heatmaps)  # [B, K, H/4, W/4]
        else:
            final = heatmaps[-1]
        if self.up is not None:
            final = self.up(final, features[-1], half, x)  # [B, K, H/s, W/s]
        if return_embeddings is None:
            return_embeddings = self.training and self.projection is not None
        if return_embeddings and self.projection is None:
            raise ValueError("return_embeddings=True needs a model built with contrastive=True")
        embeddings = None
        if return_embeddings:
            embeddings = self.projection(torch.cat([shallow, *features], dim=1))  # [B, E, H/4, W/4]
        return MSANetOutput(final, heatmaps, embeddings)


class HeatmapOnly(nn.Module):
    """Wrapper returning only the final heatmaps tensor (for ONNX export / tracing)."""

    def __init__(self, model: MSANet) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x, return_embeddings=False).heatmaps


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def count_flops(model: MSANet, height: int, width: int) -> int:
    """FLOPs of one forward pass at batch 1 in eval mode (torch's FlopCounterMode: 2 per MAC)."""
    from torch.utils.flop_counter import FlopCounterMode

    was_training = model.training
    model.eval()
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        device = next(model.parameters()).device
        model(torch.zeros(1, model.cfg.in_channels, height, width, device=device))
    model.train(was_training)
    return int(counter.get_total_flops())
