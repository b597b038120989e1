"""Losses of MSA-Net: heatmap MSE over all outputs + lambda * prototype contrastive loss.

- ``heatmap_mse``: mean of the MSE of every intermediate stack head and of the final heatmap
  against the same target, i.e. (sum over N + 1 outputs) / (N + 1). An output coarser than the target by an
  integer factor f (the 1/4-grid stacks of a model with a finer head) is compared with the target
  average-pooled f x f (``target_at``).
- ``PrototypeContrastiveLoss``: pixel embeddings are labelled from the target heatmaps (disc k
  where channel k is the largest and >= ``fg_threshold``, else background). Up to
  ``max_pixels_per_class`` pixels per class are sampled (torch's global RNG, so seeded runs are
  deterministic). Prototype of each class present = L2-normalised mean of its (L2-normalised)
  embeddings over the batch. Per pixel: cross-entropy over cosine similarities to all present
  prototypes divided by ``tau``, positive = own class, averaged over the sampled pixels. Separation: ``beta`` * mean cosine
  similarity over ordered pairs of distinct present prototypes, clamped at 0 (only similar
  prototypes are pushed apart). Fewer than two classes present -> 0 (with a graph).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def target_at(target: torch.Tensor, shape: torch.Size | tuple) -> torch.Tensor:
    """``target`` [B, K, h, w] at ``shape`` [B, K, h/f, w/f]: itself when f = 1, else average-pooled f x f.
    Raises ValueError when ``shape`` is not ``target``'s shape divided by one integer factor."""
    shape = tuple(shape)
    t_shape = tuple(target.shape)
    if shape == t_shape:
        return target
    f = t_shape[2] // shape[2] if len(shape) == 4 and shape[2] else 0
    if len(shape) != 4 or shape[:2] != t_shape[:2] or f < 2 or shape[2] * f != t_shape[2] or shape[3] * f != t_shape[3]:
        raise ValueError(f"heatmap {shape} and target {t_shape} differ in shape")
    return F.avg_pool2d(target, f)


def heatmap_mse(output, target: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """Mean MSE over the intermediate heatmaps and the final heatmap. target: [B, K, h, w] at the final heatmap's grid.

    ``weight`` [B, K, h, w] (optional, same grid, pooled like the target): each squared error is multiplied by it
    before the mean over all pixels, so a weight of 0 leaves a pixel out (an unknown target) and all-ones weights
    give the plain MSE."""
    outputs = list(output.stack_heatmaps) + [output.heatmaps]
    targets = [target_at(target, o.shape) for o in outputs]
    if weight is None:
        return sum(F.mse_loss(o, t) for o, t in zip(outputs, targets)) / len(outputs)
    if weight.shape != target.shape:
        raise ValueError(f"weight {tuple(weight.shape)} and target {tuple(target.shape)} differ in shape")
    weights = [target_at(weight, o.shape) for o in outputs]
    return sum((wt * (o - t) ** 2).mean() for o, t, wt in zip(outputs, targets, weights)) / len(outputs)


def pixel_classes(target: torch.Tensor, fg_threshold: float) -> torch.Tensor:
    """Class of every pixel from target heatmaps [B, V, h, w] -> [B, h, w] long: 0 = background, k+1 = disc channel k."""
    peak, channel = target.max(dim=1)
    return torch.where(peak >= fg_threshold, channel + 1, torch.zeros_like(channel))


class PrototypeContrastiveLoss(nn.Module):
    """Pixel-to-prototype contrastive loss (see module docstring).

    Args:
        tau: temperature dividing the cosine similarities (0.1: a cosine gap of 0.1 is one logit unit).
        beta: weight of the prototype-separation term.
        fg_threshold: a pixel belongs to disc k when target channel k is its largest and >= this.
        max_pixels_per_class: pixels sampled per class for the cross-entropy (prototypes use all pixels).
    """

    def __init__(self, tau: float = 0.1, beta: float = 0.1, fg_threshold: float = 0.5, max_pixels_per_class: int = 64) -> None:
        super().__init__()
        if not tau > 0:
            raise ValueError(f"tau={tau} must be > 0")
        if beta < 0:
            raise ValueError(f"beta={beta} must be >= 0")
        if not 0 < fg_threshold <= 1:
            raise ValueError(f"fg_threshold={fg_threshold} must be in (0, 1]")
        if max_pixels_per_class < 1:
            raise ValueError(f"max_pixels_per_class={max_pixels_per_class} must be >= 1")
        self.tau, self.beta, self.fg_threshold, self.max_pixels = tau, beta, fg_threshold, max_pixels_per_class

    def forward(self, embeddings: torch.Tensor, target: torch.Tensor, known: torch.Tensor | None = None) -> torch.Tensor:
        """embeddings [B, E, h, w], target [B, V, h, w] -> scalar. ``known`` [B, h, w] (optional): pixels below 0.5
        (whose class the labels do not decide) are left out."""
        e_shape, t_shape = tuple(embeddings.shape), tuple(target.shape)
        if len(e_shape) != 4 or len(t_shape) != 4 or e_shape[0] != t_shape[0] or e_shape[2:] != t_shape[2:]:
            raise ValueError(f"embeddings {e_shape} and target {t_shape} must be [B, E, h, w] and [B, V, h, w]")
        emb = F.normalize(embeddings.permute(0, 2, 3, 1).reshape(-1, embeddings.shape[1]), dim=1)  # [B*h*w, E]
        labels = pixel_classes(target, self.fg_threshold).reshape(-1)  # [B*h*w]
        if known is not None:
            labels = torch.where(known.reshape(-1) >= 0.5, labels, torch.full_like(labels, -1))
        picked, picked_labels, prototypes = [], [], []
        for cls in torch.unique(labels[labels >= 0]):  # sorted
            idx = torch.nonzero(labels == cls).squeeze(1)
            if idx.numel() > self.max_pixels:
                idx = idx[torch.randperm(idx.numel(), device=idx.device)[: self.max_pixels]]
            picked.append(emb[idx])
            picked_labels.append(torch.full((idx.numel(),), len(prototypes), dtype=torch.long, device=emb.device))
            prototypes.append(F.normalize(emb[labels == cls].mean(dim=0), dim=0))
        if len(prototypes) < 2:
            return embeddings.sum() * 0.0
        protos = torch.stack(prototypes)  # [K, E]
        pixels = torch.cat(picked)  # [P, E]
        logits = pixels @ protos.T / self.tau  # [P, K]
        loss = F.cross_entropy(logits, torch.cat(picked_labels))
        sim = protos @ protos.T  # [K, K]
        off_diag = ~torch.eye(len(prototypes), dtype=torch.bool, device=sim.device)
        return loss + self.beta * sim[off_diag].clamp(min=0).mean()


def total_loss(
    output, target: torch.Tensor, contrastive: PrototypeContrastiveLoss | None = None, lambda_contrastive: float = 0.001,
    num_discs: int | None = None, weight: torch.Tensor | None = None, known: torch.Tensor | None = None,
) -> tuple[torch.Tensor, dict]:
    """MSE over all heatmap outputs + lambda * contrastive (when ``contrastive`` is given and embeddings are present).

    ``target`` [B, K, h, w]; the contrastive classes come from its first ``num_discs`` channels (the named discs;
    all when None), so a trailing "any disc" channel is in the MSE only. ``weight`` [B, K, h, w] weighs the MSE
    (``heatmap_mse``), ``known`` [B, h, w] masks the contrastive pixels (``DiscDataset`` makes both; None: all
    known). Returns (loss, {'mse': float, 'contrastive': float}).
    """
    mse = heatmap_mse(output, target, weight)
    parts = {"mse": float(mse.detach()), "contrastive": 0.0}
    if contrastive is None or output.embeddings is None:
        return mse, parts
    named = target if num_discs is None else target[:, :num_discs]
    grid = output.embeddings.shape[2:]
    known_e = None if known is None else target_at(known[:, None], (known.shape[0], 1, *grid))[:, 0]  # [B, h_e, w_e]
    c = contrastive(output.embeddings, target_at(named, (*named.shape[:2], *grid)), known_e)
    parts["contrastive"] = float(c.detach())
    return mse + lambda_contrastive * c, parts
