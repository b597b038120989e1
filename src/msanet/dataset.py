"""Training samples: (image, disc points) pairs from BIDS files, cached by file content.

``load_sample`` runs the NIfTI part of the data path once (io -> preprocess) and stores the result
in ``cache_dir`` under a key made of both files' SHA-256 and the preprocessing config, so a second
epoch (or a second run) does no NIfTI work. ``DiscDataset`` adds augmentation and heatmap targets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from msanet import discs
from msanet.augment import AugmentConfig, augment
from msanet.bids import Subject
from msanet.fileio import atomic_path
from msanet.heatmaps import labelled_region, make_any_heatmap, make_heatmaps
from msanet.io import load_image, read_disc_labels
from msanet.preprocess import PREPROCESS_VERSION, PreprocessConfig, file_digest, labels_to_pixels, preprocess_column, preprocess_volume


@dataclass(frozen=True)
class Sample:
    """One preprocessed image: ``image`` float32 [H, W] and {SCT value: (row, col)} disc points."""

    key: str
    subject_id: str
    contrast: str
    image: np.ndarray
    points: dict[int, np.ndarray]


@dataclass(frozen=True)
class Item:
    """One (subject, contrast) image/label pair. ``partial``: its label file names some of the discs the image
    shows, not all (real data sets; see ``bids.labels_complete``)."""

    subject_id: str
    contrast: str
    image_path: Path
    label_path: Path
    partial: bool = False


def items_from_subjects(
    subjects: Sequence[Subject], ids: Sequence[str] | None = None, contrasts: Sequence[str] = ("T1w", "T2w"), partial: bool = False
) -> list[Item]:
    """Labelled (subject, contrast) pairs of the given subject ids (all when None), sorted; ``partial`` as in ``Item``."""
    keep = None if ids is None else set(ids)
    items = []
    for s in subjects:
        if keep is not None and s.subject_id not in keep:
            continue
        for contrast in contrasts:
            if contrast in s.images and contrast in s.labels:
                items.append(Item(s.subject_id, contrast, s.images[contrast], s.labels[contrast], partial))
    return items


def load_sample(item: Item, cfg: PreprocessConfig, cache_dir: str | Path | None = None, whole_column: bool = False) -> Sample:
    """Preprocess one image + its labels, reading ``cache_dir`` first (keyed by content, config and
    ``PREPROCESS_VERSION``). The image is the centred ``cfg.height x cfg.width`` window, or with ``whole_column``
    that window lengthened to the whole scan (``preprocess.preprocess_column``)."""
    extra = {"labels": file_digest(item.label_path), "cfg": cfg.to_dict(), "version": PREPROCESS_VERSION}
    if whole_column:
        extra["grid"] = "column"
    key = file_digest(item.image_path, extra=extra)
    cache_file = Path(cache_dir) / f"{key}.npz" if cache_dir is not None else None
    if cache_file is not None and cache_file.exists():
        try:
            with np.load(cache_file) as z:
                points = {int(v): p for v, p in zip(z["values"], z["points"])}
                return Sample(key, item.subject_id, item.contrast, z["image"], points)
        except (OSError, ValueError, KeyError):
            pass  # unreadable cache entry: recompute and overwrite it
    volume = load_image(item.image_path)
    sag = preprocess_column(volume, cfg) if whole_column else preprocess_volume(volume, cfg)
    points = labels_to_pixels(sag, read_disc_labels(item.label_path, volume))
    if cache_file is not None:
        values = np.array(sorted(points), dtype=np.int64)
        stacked = np.array([points[v] for v in values], dtype=np.float64).reshape(-1, 2)
        with atomic_path(cache_file) as tmp:
            with open(tmp, "wb") as f:
                np.savez(f, image=sag.image, values=values, points=stacked)
    return Sample(key, item.subject_id, item.contrast, sag.image, points)


class DiscDataset(Dataset):
    """Torch dataset of (image [1, H, W], heatmaps [K, h, w], weight [K, h, w], known [h, w]) tuples, h, w = H/s, W/s:
    K = V named disc channels, plus the "any disc" channel last (``heatmaps.make_any_heatmap`` of sigma
    ``any_sigma_mm``) when ``any_disc``.

    ``weight`` is each target pixel's weight in the heatmap loss and ``known`` marks the pixels whose class
    (a disc or background) the labels decide. Both are all 1 for a completely labelled image. For a partly
    labelled one (``Item.partial``) an unlabelled disc is unknown rather than absent: the channel of a value its
    label file lacks weighs 0, and the any-disc channel and ``known`` are 0 beyond the labelled stretch of the
    column (``heatmaps.labelled_region``).

    ``random_window``: each image is loaded along the whole scan (``load_sample(whole_column=True)``) and a
    ``cfg.height``-row window is cut from it before augmentation, at a random row offset (uniform, drawn from the
    item's generator) when augmenting, else the centred one (exactly the sample of ``random_window=False``); the
    augmentation drops the discs outside the window. Long scans (thoracic, lumbar, whole spine) then train on every stretch of
    their column, not only its middle.

    ``ignore_values``: SCT values whose labels are dropped when a sample is loaded, so the disc is trained as background
    in a completely labelled image (e.g. 2, C1-C2, which is not an intervertebral disc but the dens base, and which the
    real amu_t2w labels never name).

    Samples are preprocessed once (and cached); augmentation, when given, uses a generator seeded
    from ``(seed, epoch, index)`` so a run is reproducible and resumable at any epoch.
    """

    def __init__(
        self,
        items: Sequence[Item],
        cfg: PreprocessConfig,
        num_discs: int = discs.DEFAULT_NUM_CHANNELS,
        stride: int = 4,
        sigma_mm: float = 5.0,
        augment_cfg: AugmentConfig | None = None,
        seed: int = 0,
        cache_dir: str | Path | None = None,
        any_disc: bool = False,
        any_sigma_mm: float = 6.0,
        random_window: bool = False,
        ignore_values: Sequence[int] = (),
    ) -> None:
        if not any_sigma_mm > 0:
            raise ValueError(f"any_sigma_mm={any_sigma_mm} must be > 0")
        bad = [v for v in ignore_values if not (isinstance(v, (int, np.integer)) and discs.is_valid_value(int(v)))]
        if bad:
            raise ValueError(f"ignore_values={list(ignore_values)!r}: {bad[0]!r} is not an SCT disc value ({discs.MIN_VALUE}..{discs.MAX_VALUE})")
        self.items = list(items)
        self.cfg = cfg
        self.values = discs.channel_values(num_discs)
        self.stride = stride
        self.sigma_mm = sigma_mm
        self.augment_cfg = augment_cfg
        self.seed = seed
        self.epoch = 0
        self.cache_dir = cache_dir
        self.any_disc = any_disc
        self.any_sigma_mm = any_sigma_mm
        self.random_window = random_window
        self.ignore_values = frozenset(int(v) for v in ignore_values)
        self._samples: dict[int, Sample] = {}

    def __len__(self) -> int:
        return len(self.items)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def sample(self, index: int) -> Sample:
        if index not in self._samples:
            s = load_sample(self.items[index], self.cfg, self.cache_dir, whole_column=self.random_window)
            if self.ignore_values:
                s = replace(s, points={v: p for v, p in s.points.items() if v not in self.ignore_values})
            self._samples[index] = s
        return self._samples[index]

    def _window(self, image: np.ndarray, points: dict[int, np.ndarray], rng: np.random.Generator) -> tuple[np.ndarray, dict[int, np.ndarray]]:
        """``cfg.height`` rows of ``image`` [H', W] (random offset when augmenting, else centred) and every point in their
        coordinates (as ``load_sample`` keeps the discs outside the centred window)."""
        height = self.cfg.height
        spare = image.shape[0] - height  # 2 k >= 0 (preprocess.column_grid)
        top = int(rng.integers(0, spare + 1)) if self.augment_cfg is not None else spare // 2
        shift = np.array([top, 0.0])
        return image[top : top + height], {v: p - shift for v, p in points.items()}  # augment drops those outside

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        s = self.sample(index)
        image, points = s.image, s.points
        rng = np.random.default_rng([self.seed, self.epoch, index])
        if self.random_window:
            image, points = self._window(image, points, rng)  # [H, W] of the whole column [H', W]
        if self.augment_cfg is not None:
            image, points = augment(image, points, rng, self.augment_cfg)
        target = make_heatmaps(points, self.values, image.shape, self.stride, self.sigma_mm, self.cfg.pixel_mm)  # [V, h, w]
        if self.any_disc:
            any_map = make_any_heatmap(points, image.shape, self.stride, self.any_sigma_mm, self.cfg.pixel_mm)
            target = np.concatenate([target, any_map[None]])  # [V + 1, h, w]
        weight = np.ones_like(target)  # [K, h, w]
        known = np.ones(target.shape[1:], dtype=np.float32)  # [h, w]
        if self.items[index].partial:
            labelled = np.array([v in s.points for v in self.values], dtype=np.float32)  # before augmentation: a disc
            weight[: len(self.values)] = labelled[:, None, None]  # cropped out is absent, not unknown
            known = labelled_region(points, image.shape, self.stride, self.cfg.pixel_mm)
            if self.any_disc:
                weight[-1] = known
        image_t = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))[None]  # [1, H, W]
        return image_t, torch.from_numpy(target), torch.from_numpy(weight), torch.from_numpy(known)
