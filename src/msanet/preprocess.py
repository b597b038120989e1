"""Volume -> 2D mid-sagittal image on a fixed mm grid, with an exact map back to 3D voxels.

Steps (each a small function):
1. ``find_midsagittal_x``: the left-right position of the mid-sagittal plane, found from the image
   (the plane of best left-right mirror symmetry, searched in the central half of the volume).
2. ``extract_slab``: mean of the few sagittal slices within ``slab_mm`` around that plane,
   read lazily (only those slices are read from disk).
3. ``resample_to_grid``: the slab resampled to ``pixel_mm`` per pixel, ``height x width`` pixels,
   centred on the slab's centre; out-of-field pixels are 0.
4. ``normalise_intensity``: robust percentile scaling to [0, 1].

``SagittalImage`` keeps the 2D image and the affine map between its pixel coordinates ``(row, col)``
and the Volume's canonical voxel coordinates ``(x, y, z)`` (see ``msanet.io``), both directions.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage

from msanet.errors import ImageError
from msanet.io import Volume


@dataclass(frozen=True)
class PreprocessConfig:
    """2D grid of the network input.

    Attributes:
        pixel_mm: pixel size of the 2D grid in mm (both axes).
        height: rows (superior -> inferior); must be divisible by ``stride * 2**depth`` of the model.
        width: columns (anterior -> posterior).
        slab_mm: thickness of the mid-sagittal slab averaged into the 2D image, mm.
        low_percentile / high_percentile: intensity percentiles mapped to 0 and 1.
    """

    pixel_mm: float = 1.0
    height: int = 256
    width: int = 192
    slab_mm: float = 3.0
    low_percentile: float = 0.5
    high_percentile: float = 99.5

    def __post_init__(self) -> None:
        if not 0.05 <= self.pixel_mm <= 20:
            raise ValueError(f"pixel_mm={self.pixel_mm} must be in 0.05..20")
        for name in ("height", "width"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 8:
                raise ValueError(f"{name}={value!r} must be an integer >= 8")
        if not 0 < self.slab_mm <= 50:
            raise ValueError(f"slab_mm={self.slab_mm} must be in (0, 50]")
        if not 0 <= self.low_percentile < self.high_percentile <= 100:
            raise ValueError(f"percentiles ({self.low_percentile}, {self.high_percentile}) must satisfy 0 <= low < high <= 100")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "PreprocessConfig":
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown preprocessing keys: {sorted(unknown)}")
        return cls(**d)


@dataclass(frozen=True)
class SagittalImage:
    """A 2D mid-sagittal image and its exact map to canonical voxel coordinates.

    ``image`` is float32 ``[H, W]`` (row 0 = superior, col 0 = anterior) in [0, 1].
    Pixel ``(r, c)`` <-> canonical voxel ``(centre_x, origin_yz[0] + r * step_yz[0],
    origin_yz[1] + c * step_yz[1])`` where ``step_yz = pixel_mm / spacing_mm[1:]``.
    """

    image: np.ndarray
    pixel_mm: float
    centre_x: float
    origin_yz: tuple[float, float]
    step_yz: tuple[float, float]

    def pixel_to_voxel(self, rc: np.ndarray) -> np.ndarray:
        """2D pixel coordinates ``[..., 2]`` -> canonical voxel coordinates ``[..., 3]`` on the plane."""
        rc = np.asarray(rc, dtype=float)
        yz = np.asarray(self.origin_yz) + rc * np.asarray(self.step_yz)
        x = np.full(rc.shape[:-1] + (1,), self.centre_x)
        return np.concatenate([x, yz], axis=-1)

    def voxel_to_pixel(self, xyz: np.ndarray) -> np.ndarray:
        """Canonical voxel coordinates ``[..., 3]`` -> 2D pixel coordinates ``[..., 2]`` (x dropped)."""
        xyz = np.asarray(xyz, dtype=float)
        return (xyz[..., 1:] - np.asarray(self.origin_yz)) / np.asarray(self.step_yz)

    def grid_dict(self) -> dict:
        """The geometric part as plain JSON-able numbers (for caches and prediction files)."""
        return {
            "pixel_mm": float(self.pixel_mm),
            "centre_x": float(self.centre_x),
            "origin_yz": [float(v) for v in self.origin_yz],
            "step_yz": [float(v) for v in self.step_yz],
        }


def find_midsagittal_x(volume: Volume, max_shift_mm: float = 12.0) -> int:
    """Canonical x index of the mid-sagittal plane: the plane of best left-right mirror symmetry.

    The volume is read at ~2 mm steps in y and z and smoothed; for each candidate plane x0 in the
    central half, the mean squared difference between slices x0-d and x0+d (d up to
    ``max_shift_mm``) is computed; the best plane wins, ties go to the geometric centre.
    Volumes thinner than 3 slices return their centre slice.
    """
    n_x = volume.shape[0]
    if n_x < 3:
        return n_x // 2
    step_y = max(1, int(round(2.0 / volume.spacing_mm[1])))
    step_z = max(1, int(round(2.0 / volume.spacing_mm[2])))
    data = volume.read(slice(None), slice(None, None, step_y), slice(None, None, step_z))  # [X, Y', Z']
    data = ndimage.gaussian_filter(data, sigma=(0.0, 1.0, 1.0))
    scale = float(np.percentile(data, 99)) or 1.0
    data = data / scale
    max_d = max(1, int(round(max_shift_mm / volume.spacing_mm[0])))
    centre = (n_x - 1) / 2
    candidates = range(max(1, n_x // 4), min(n_x - 1, n_x - n_x // 4) if n_x >= 4 else n_x - 1)
    best, best_score = int(round(centre)), np.inf
    for x0 in candidates:
        d_max = min(max_d, x0, n_x - 1 - x0)
        if d_max < 1:
            continue
        left = data[x0 - d_max : x0][::-1]  # slices x0-1 ... x0-d_max
        right = data[x0 + 1 : x0 + 1 + d_max]
        score = float(np.mean((left - right) ** 2))
        score += 1e-6 * abs(x0 - centre)  # deterministic tie-break towards the centre
        if score < best_score:
            best, best_score = x0, score
    return best


def extract_slab(volume: Volume, centre_x: int, slab_mm: float) -> np.ndarray:
    """Mean of the sagittal slices within ``slab_mm`` centred on ``centre_x`` -> float32 ``[Y, Z]``."""
    half = max(0, int(round((slab_mm / volume.spacing_mm[0] - 1) / 2)))
    lo, hi = max(0, centre_x - half), min(volume.shape[0], centre_x + half + 1)
    return volume.read(slice(lo, hi)).mean(axis=0)  # [Y, Z]


def normalise_intensity(image: np.ndarray, low_percentile: float, high_percentile: float, path: Path | str = "image") -> np.ndarray:
    """Map the ``low``/``high`` percentiles of the non-zero field of view to 0/1 and clip."""
    values = image[image != 0] if np.any(image != 0) else image.ravel()
    lo, hi = np.percentile(values, [low_percentile, high_percentile])
    if not hi > lo:
        lo, hi = float(values.min()), float(values.max())
    if not hi > lo:
        raise ImageError(f"{path}: the mid-sagittal slab is constant (all voxels {lo:g}); nothing to label")
    return np.clip((image - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)


def resample_to_grid(
    slab: np.ndarray, spacing_yz_mm: np.ndarray, cfg: PreprocessConfig
) -> tuple[np.ndarray, tuple[float, float], tuple[float, float]]:
    """Resample a ``[Y, Z]`` slab to ``[height, width]`` pixels of ``pixel_mm``, centred on the slab.

    Returns ``(image, origin_yz, step_yz)`` so that pixel ``(r, c)`` samples slab position
    ``origin_yz + (r, c) * step_yz``. Downsampling is preceded by a Gaussian anti-alias blur.
    """
    step = cfg.pixel_mm / np.asarray(spacing_yz_mm, dtype=float)  # slab voxels per output pixel
    centre = (np.asarray(slab.shape, dtype=float) - 1) / 2
    origin = centre - step * (np.array([cfg.height, cfg.width], dtype=float) - 1) / 2
    sigma = np.where(step > 1, 0.4 * step, 0.0)
    if np.any(sigma > 0):
        slab = ndimage.gaussian_filter(slab, sigma=sigma, mode="nearest")
    rows = origin[0] + np.arange(cfg.height) * step[0]
    cols = origin[1] + np.arange(cfg.width) * step[1]
    coords = np.stack(np.meshgrid(rows, cols, indexing="ij"))  # [2, H, W]
    image = ndimage.map_coordinates(slab, coords, order=1, mode="constant", cval=0.0)
    return image.astype(np.float32), (float(origin[0]), float(origin[1])), (float(step[0]), float(step[1]))


def preprocess_volume(volume: Volume, cfg: PreprocessConfig, centre_x: int | None = None) -> SagittalImage:
    """Volume -> SagittalImage (mid-sagittal plane found from the image unless ``centre_x`` given)."""
    if centre_x is None:
        centre_x = find_midsagittal_x(volume)
    slab = extract_slab(volume, centre_x, cfg.slab_mm)  # [Y, Z]
    slab = normalise_intensity(slab, cfg.low_percentile, cfg.high_percentile, volume.path)
    image, origin, step = resample_to_grid(slab, volume.spacing_mm[1:], cfg)  # [H, W]
    return SagittalImage(image=image, pixel_mm=cfg.pixel_mm, centre_x=float(centre_x), origin_yz=origin, step_yz=step)


def labels_to_pixels(sag: SagittalImage, labels_voxel: dict[int, np.ndarray]) -> dict[int, np.ndarray]:
    """{value: canonical voxel (3,)} -> {value: 2D pixel (row, col)} (the x coordinate is dropped)."""
    return {value: sag.voxel_to_pixel(xyz) for value, xyz in labels_voxel.items()}


def file_digest(path: str | Path, extra: dict | None = None) -> str:
    """SHA-256 of a file's bytes (and of ``extra`` as canonical JSON): a content cache key."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    if extra is not None:
        h.update(json.dumps(extra, sort_keys=True).encode())
    return h.hexdigest()[:32]
