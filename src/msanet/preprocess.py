"""Volume -> 2D mid-sagittal image on a fixed mm grid, with an exact map back to 3D voxels.

Steps (each a small function):
1. ``find_midline``: the left-right position of the mid-sagittal plane, found from the image (the
   plane of best left-right mirror symmetry, ``find_midsagittal_x``), then refined per
   superior-inferior band of ``BAND_MM`` so that a canal drifting left-right along the column
   (scoliosis, rotation) stays in the slab: a piecewise-linear curve ``x(y)``, the ``Midline``.
2. ``extract_slab``: for every row ``y``, the mean of the sagittal slices within ``slab_mm`` around
   ``x(y)`` (fractional weights for partly covered slices; at least one slice, so 3-4 mm thick slices
   work), read lazily (only those slices are read from disk).
3. ``normalise_intensity``: robust percentile scaling of the slab to [0, 1].
4. ``resample_to_grid``: the slab resampled to ``pixel_mm`` per pixel on a ``Grid``; out-of-field
   pixels are 0. Two grids, one resampling:
   - ``centred_grid``: ``height x width`` pixels centred on the slab (training crops, ``show``);
   - ``whole_extent_grid``: the slab's whole superior-inferior and anterior-posterior extent, padded
     with zeros to multiples of the model's ``size_unit`` (inference, any length of scan);
   - ``column_grid``: the training window lengthened superior-inferior to the whole scan (random training
     windows along a long column are cut from it).
   ``preprocess_volume``, ``preprocess_whole_scan`` and ``preprocess_column`` run steps 1-4 with each grid; the slab, its
   normalisation and the pixel size are the same, so training and inference see the same pixels.

``SagittalImage`` keeps the 2D image and the affine map between its pixel coordinates ``(row, col)``
and the Volume's canonical voxel coordinates ``(x, y, z)`` (see ``msanet.io``), both directions, and
the padding (pixels outside the scan).
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
        pixel_mm: pixel size of the 2D grid in mm (both axes), for training and inference alike.
        height: rows (superior -> inferior) of the training window; must be divisible by the model's
            ``size_unit`` (``stride * 2**depth``). Inference uses the scan's whole extent instead
            (``preprocess_whole_scan``).
        width: columns (anterior -> posterior) of the training window.
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


BAND_MM = 64.0  # superior-inferior band over which the midline is re-estimated
MAX_DRIFT_MM = 16.0  # largest left-right departure of the midline from the whole-scan plane
DRIFT_TOLERANCE = 0.1  # a band leaves the whole-scan plane only when its own plane is >10 % more symmetric
PREPROCESS_VERSION = 2  # bump when the image a config gives changes (training caches are keyed on it)


@dataclass(frozen=True)
class Midline:
    """The mid-sagittal surface as canonical ``x`` (voxels) of canonical ``y`` (voxels): piecewise linear
    through ``(knots_y[k], knots_x[k])``, constant beyond the first and last knot. ``knots_y`` increase."""

    knots_y: tuple[float, ...]
    knots_x: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.knots_y) != len(self.knots_x) or not self.knots_y:
            raise ValueError(f"midline needs as many knots_y as knots_x (>= 1), got {len(self.knots_y)} and {len(self.knots_x)}")
        if any(b <= a for a, b in zip(self.knots_y, self.knots_y[1:])):
            raise ValueError(f"midline knots_y={self.knots_y} must increase")

    @classmethod
    def constant(cls, x: float) -> "Midline":
        """One sagittal plane at canonical ``x``."""
        return cls((0.0,), (float(x),))

    def x_at(self, y: np.ndarray) -> np.ndarray:
        """Canonical x of the midline at canonical ``y`` (any shape, same shape out)."""
        return np.interp(np.asarray(y, dtype=float), self.knots_y, self.knots_x)

    @property
    def centre_x(self) -> float:
        """The median x of the knots: the plane a single-plane slab would use."""
        return float(np.median(self.knots_x))

    def to_dict(self) -> dict:
        return {"knots_y": [round(float(v), 3) for v in self.knots_y], "knots_x": [round(float(v), 3) for v in self.knots_x]}


@dataclass(frozen=True)
class Grid:
    """Where a ``shape = (height, width)`` pixel grid samples a ``[Y, Z]`` slab: pixel ``(r, c)`` has its
    centre at slab voxel ``origin_yz + (r, c) * step_yz`` (``step_yz = pixel_mm / spacing_yz_mm``)."""

    shape: tuple[int, int]
    origin_yz: tuple[float, float]
    step_yz: tuple[float, float]


def centred_grid(slab_shape: tuple[int, int], spacing_yz_mm: np.ndarray, pixel_mm: float, shape: tuple[int, int]) -> Grid:
    """``shape`` pixels of ``pixel_mm`` centred on the slab (cropping or padding it): the training window."""
    step = pixel_mm / np.asarray(spacing_yz_mm, dtype=float)  # slab voxels per pixel
    centre = (np.asarray(slab_shape, dtype=float) - 1) / 2
    origin = centre - step * (np.asarray(shape, dtype=float) - 1) / 2
    return Grid((int(shape[0]), int(shape[1])), (float(origin[0]), float(origin[1])), (float(step[0]), float(step[1])))


def column_grid(slab_shape: tuple[int, int], spacing_yz_mm: np.ndarray, pixel_mm: float, shape: tuple[int, int]) -> Grid:
    """``centred_grid``'s ``shape = (height, width)`` window lengthened to ``height + 2 k`` rows, ``k >= 0`` the fewest that
    cover the slab's superior-inferior extent: same centre, columns and pixel, so its rows ``k .. k + height - 1`` are
    exactly the centred window (``k = 0`` for a scan no taller than the window). Training windows anywhere along a long
    column (thoracic, lumbar, whole-spine scans) are cut from it (``dataset.DiscDataset``, ``random_window``)."""
    extent_px = slab_shape[0] * float(spacing_yz_mm[0]) / pixel_mm
    k = max(0, int(np.ceil((extent_px - shape[0]) / 2 - 1e-9)))
    return centred_grid(slab_shape, spacing_yz_mm, pixel_mm, (int(shape[0]) + 2 * k, int(shape[1])))


def whole_extent_grid(slab_shape: tuple[int, int], spacing_yz_mm: np.ndarray, pixel_mm: float, size_unit: int) -> Grid:
    """The slab's whole extent at ``pixel_mm``, zero-padded to multiples of ``size_unit``: the inference grid.

    On each axis the scan's extent (``n`` voxels of ``spacing`` mm, edge to edge) needs
    ``m = ceil(n * spacing / pixel_mm)`` pixels, centred on the slab, so every pixel centre lies inside the
    scan; ``ceil(m / size_unit) * size_unit - m`` padding pixels are added, half (rounded down) before.
    A 900 mm x 300 mm slab at 2 mm with ``size_unit`` 64 gives 512 x 192 pixels.
    """
    if isinstance(size_unit, bool) or not isinstance(size_unit, (int, np.integer)) or size_unit < 1:
        raise ValueError(f"size_unit={size_unit!r} must be an integer >= 1")
    extent_mm = np.asarray(slab_shape, dtype=float) * np.asarray(spacing_yz_mm, dtype=float)
    field = np.maximum(1, np.ceil(extent_mm / pixel_mm - 1e-9)).astype(int)  # pixels covering the scan
    padded = -(-field // size_unit) * size_unit
    field_grid = centred_grid(slab_shape, spacing_yz_mm, pixel_mm, (int(field[0]), int(field[1])))
    before = (padded - field) // 2
    origin = np.asarray(field_grid.origin_yz) - before * np.asarray(field_grid.step_yz)
    return Grid((int(padded[0]), int(padded[1])), (float(origin[0]), float(origin[1])), field_grid.step_yz)


def padding_px(grid: Grid, slab_shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """Pixels of ``grid`` whose centres lie outside the scan (voxel coordinates ``-0.5 .. n - 0.5``):
    ``(top, bottom, anterior, posterior)`` = rows above, rows below, columns before, columns after it."""
    out = []
    for axis in (0, 1):
        centres = grid.origin_yz[axis] + np.arange(grid.shape[axis]) * grid.step_yz[axis]
        n = slab_shape[axis]
        out += [int(np.sum(centres < -0.5 - 1e-6)), int(np.sum(centres > n - 0.5 + 1e-6))]
    return out[0], out[1], out[2], out[3]


@dataclass(frozen=True)
class SagittalImage:
    """A 2D mid-sagittal image and its exact map to canonical voxel coordinates.

    ``image`` is float32 ``[H, W]`` (row 0 = superior, col 0 = anterior) in [0, 1].
    Pixel ``(r, c)`` <-> canonical voxel ``(midline.x_at(y), y, z)`` with ``(y, z) = origin_yz + (r, c) *
    step_yz`` and ``step_yz = pixel_mm / spacing_mm[1:]``. ``padding_px`` = (top, bottom, anterior,
    posterior) pixels outside the scanned field (zeros in ``image``).
    """

    image: np.ndarray
    pixel_mm: float
    midline: Midline
    origin_yz: tuple[float, float]
    step_yz: tuple[float, float]
    padding_px: tuple[int, int, int, int] = (0, 0, 0, 0)

    @property
    def centre_x(self) -> float:
        """Canonical x of the mid-sagittal plane (the median of a drifting midline)."""
        return self.midline.centre_x

    def pixel_to_voxel(self, rc: np.ndarray) -> np.ndarray:
        """2D pixel coordinates ``[..., 2]`` -> canonical voxel coordinates ``[..., 3]`` on the midline surface."""
        rc = np.asarray(rc, dtype=float)
        yz = np.asarray(self.origin_yz) + rc * np.asarray(self.step_yz)
        x = self.midline.x_at(yz[..., 0])[..., None]
        return np.concatenate([x, yz], axis=-1)

    def voxel_to_pixel(self, xyz: np.ndarray) -> np.ndarray:
        """Canonical voxel coordinates ``[..., 3]`` -> 2D pixel coordinates ``[..., 2]`` (x dropped)."""
        xyz = np.asarray(xyz, dtype=float)
        return (xyz[..., 1:] - np.asarray(self.origin_yz)) / np.asarray(self.step_yz)

    def grid_dict(self) -> dict:
        """The geometric part as plain JSON-able numbers (for caches and prediction files)."""
        return {
            "pixel_mm": float(self.pixel_mm),
            "shape": [int(v) for v in self.image.shape],
            "origin_yz": [float(v) for v in self.origin_yz],
            "step_yz": [float(v) for v in self.step_yz],
            "padding_px": {"top": self.padding_px[0], "bottom": self.padding_px[1],
                           "anterior": self.padding_px[2], "posterior": self.padding_px[3]},
            "midline": self.midline.to_dict(),
        }


def _symmetry_terms(volume: Volume, max_shift_mm: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Left-right mirror asymmetry of every candidate plane, row by row, as a numerator and a denominator.

    The volume is read at ~2 mm steps in y and z, smoothed in-plane and scaled by its 99th percentile.
    Candidates are the planes ``x0`` of the central half with at least one slice on each side. Returns
    ``(candidates [K], diff [K, Y'], power [K, Y'], rows [Y'])``: on subsampled row ``i`` (canonical row
    ``rows[i]``), ``diff`` is the mean of ``(L - R)^2`` and ``power`` the mean of ``L^2 + R^2`` over the slice
    pairs ``L = x0 - d``, ``R = x0 + d`` (d = 1 .. ``max_shift_mm``, as far as the volume reaches). The
    asymmetry of a set of rows is ``sum(diff) / sum(power)`` (``_asymmetry``), in [0, 2]: relative, so a plane
    among dim slices at the edge of a thin volume does not look symmetric merely because it is dark.
    """
    n_x = volume.shape[0]
    step_y = max(1, int(round(2.0 / volume.spacing_mm[1])))
    step_z = max(1, int(round(2.0 / volume.spacing_mm[2])))
    data = volume.read(slice(None), slice(None, None, step_y), slice(None, None, step_z))  # [X, Y', Z']
    data = ndimage.gaussian_filter(data, sigma=(0.0, 1.0, 1.0))
    scale = float(np.percentile(data, 99)) or 1.0
    data = data / scale
    max_d = max(1, int(round(max_shift_mm / volume.spacing_mm[0])))
    lo, hi = (max(1, n_x // 4), n_x - n_x // 4) if n_x >= 4 else (1, n_x - 1)
    candidates, diff, power = [], [], []
    for x0 in range(lo, min(hi, n_x - 1)):
        d_max = min(max_d, x0, n_x - 1 - x0)
        left = data[x0 - d_max : x0][::-1]  # slices x0-1 ... x0-d_max, [d, Y', Z']
        right = data[x0 + 1 : x0 + 1 + d_max]
        candidates.append(x0)
        diff.append(np.mean((left - right) ** 2, axis=(0, 2)))  # [Y']
        power.append(np.mean(left**2 + right**2, axis=(0, 2)))
    rows = np.arange(data.shape[1], dtype=float) * step_y
    k = len(candidates)
    return (np.asarray(candidates, dtype=int), np.asarray(diff, dtype=float).reshape(k, -1),
            np.asarray(power, dtype=float).reshape(k, -1), rows)


def _asymmetry(diff: np.ndarray, power: np.ndarray) -> np.ndarray:
    """Relative asymmetry ``[K]`` of each candidate over the rows given (``[K, rows]`` terms)."""
    return diff.sum(axis=1) / (power.sum(axis=1) + 1e-12)


def _best_plane(candidates: np.ndarray, score: np.ndarray, prefer: float) -> int:
    """Index of the lowest ``score`` [K]; a tie goes to the candidate closest to ``prefer``."""
    return int(np.argmin(score + 1e-9 * np.abs(candidates - prefer)))


def find_midsagittal_x(volume: Volume, max_shift_mm: float = 12.0) -> int:
    """Canonical x index of the mid-sagittal plane: the plane of best left-right mirror symmetry.

    For each candidate plane x0 in the central half, the relative asymmetry between slices x0-d and x0+d
    (d up to ``max_shift_mm``) over the whole scan (``_symmetry_terms``); the best plane wins, ties go to the
    geometric centre. Volumes thinner than 3 slices return their centre slice.
    """
    n_x = volume.shape[0]
    if n_x < 3:
        return n_x // 2
    candidates, diff, power, _ = _symmetry_terms(volume, max_shift_mm)
    return int(candidates[_best_plane(candidates, _asymmetry(diff, power), (n_x - 1) / 2)])


def find_midline(volume: Volume, max_shift_mm: float = 12.0, band_mm: float = BAND_MM, max_drift_mm: float = MAX_DRIFT_MM) -> Midline:
    """The mid-sagittal midline ``x(y)``: the whole-scan plane (``find_midsagittal_x``), bent where the canal drifts.

    The scan is cut into superior-inferior bands of ``band_mm`` (about half overlapping, from the first row
    to the last). In each band with signal, the plane of best symmetry among the candidates within
    ``max_drift_mm`` of the whole-scan plane is found (sub-slice by a parabola through its neighbours'
    relative asymmetries, ``_symmetry_terms``); a band keeps the whole-scan plane
    unless its own plane is more than ``DRIFT_TOLERANCE`` more symmetric, so a straight spine keeps one
    plane. Band planes are median-filtered over 3 neighbouring bands (one wrong band is dropped) and become
    the knots at the band centres. Scans shorter than two bands, or thinner than 3 slices, get one plane.
    """
    n_x, n_y = volume.shape[0], volume.shape[1]
    if n_x < 3:
        return Midline.constant(n_x // 2)
    candidates, diff, power, rows = _symmetry_terms(volume, max_shift_mm)
    centre = (n_x - 1) / 2
    k_global = _best_plane(candidates, _asymmetry(diff, power), centre)
    x_global = float(candidates[k_global])
    band_rows = band_mm / volume.spacing_mm[1]  # canonical rows per band
    if n_y < 2 * band_rows or len(candidates) < 3:
        return Midline.constant(x_global)
    near = np.abs(candidates - x_global) * volume.spacing_mm[0] <= max_drift_mm  # [K]
    energy = power.max(axis=0)  # [Y']
    n_bands = int(np.ceil((n_y - band_rows) / (band_rows / 2) - 1e-9)) + 1
    starts = np.linspace(0.0, n_y - band_rows, n_bands)  # about half overlapping, the last one ending at the scan's end
    knots_y, knots_x = [], []
    for start in starts:
        in_band = (rows >= start) & (rows < start + band_rows)
        if not in_band.any() or energy[in_band].mean() < 0.05 * energy.mean():
            continue
        band = _asymmetry(diff[:, in_band], power[:, in_band])  # [K]
        masked = np.where(near, band, np.inf)
        k = _best_plane(candidates, masked, x_global)
        x = float(candidates[k])
        if band[k_global] <= (1 + DRIFT_TOLERANCE) * band[k]:
            x = x_global
        elif 0 < k < len(candidates) - 1 and np.isfinite(masked[k - 1]) and np.isfinite(masked[k + 1]):
            curvature = band[k - 1] - 2 * band[k] + band[k + 1]
            if curvature > 0:
                x += float(np.clip((band[k - 1] - band[k + 1]) / (2 * curvature), -0.5, 0.5))
        knots_y.append(start + (band_rows - 1) / 2)
        knots_x.append(x)
    if not knots_x:
        return Midline.constant(x_global)
    if len(knots_x) >= 3:
        knots_x = list(ndimage.median_filter(np.asarray(knots_x), size=3, mode="nearest"))
    return Midline(tuple(float(v) for v in knots_y), tuple(float(v) for v in knots_x))


def extract_slab(volume: Volume, midline: Midline, slab_mm: float) -> np.ndarray:
    """Per row y, the mean of the sagittal slices within ``slab_mm`` around ``midline.x_at(y)`` -> float32 ``[Y, Z]``.

    Slice ``x`` covers ``[x - 0.5, x + 0.5]`` (slice units) and counts with the length it shares with
    ``[x(y) - h, x(y) + h]``, ``h = max(0.5, slab_mm / spacing_x / 2)`` (at least one slice's worth, so thick
    slices give their nearest slices). Only the slices the slab touches are read.
    """
    n_x, n_y = volume.shape[0], volume.shape[1]
    half = max(0.5, slab_mm / volume.spacing_mm[0] / 2)
    centres = np.clip(midline.x_at(np.arange(n_y)), 0, n_x - 1)  # [Y]
    lo = max(0, int(np.floor(centres.min() - half + 0.5)))
    hi = min(n_x - 1, int(np.ceil(centres.max() + half - 0.5)))
    xs = np.arange(lo, hi + 1, dtype=float)[:, None]  # [n, 1]
    weights = np.clip(np.minimum(xs + 0.5, centres + half) - np.maximum(xs - 0.5, centres - half), 0.0, None)  # [n, Y]
    weights /= np.maximum(weights.sum(axis=0, keepdims=True), 1e-12)
    block = volume.read(slice(lo, hi + 1))  # [n, Y, Z]
    return np.einsum("xyz,xy->yz", block, weights.astype(np.float32)).astype(np.float32)


def normalise_intensity(image: np.ndarray, low_percentile: float, high_percentile: float, path: Path | str = "image") -> np.ndarray:
    """Map the ``low``/``high`` percentiles of the non-zero field of view to 0/1 and clip."""
    values = image[image != 0] if np.any(image != 0) else image.ravel()
    lo, hi = np.percentile(values, [low_percentile, high_percentile])
    if not hi > lo:
        lo, hi = float(values.min()), float(values.max())
    if not hi > lo:
        raise ImageError(f"{path}: the mid-sagittal slab is constant (all voxels {lo:g}); nothing to label")
    return np.clip((image - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)


def resample_to_grid(slab: np.ndarray, grid: Grid) -> np.ndarray:
    """Sample a ``[Y, Z]`` slab at the pixel centres of ``grid`` -> float32 ``grid.shape``.

    Linear interpolation; pixels outside the slab are 0. Downsampling (``step > 1``) is preceded by a
    Gaussian anti-alias blur of sigma ``0.4 * step`` slab voxels.
    """
    step = np.asarray(grid.step_yz, dtype=float)
    sigma = np.where(step > 1, 0.4 * step, 0.0)
    if np.any(sigma > 0):
        slab = ndimage.gaussian_filter(slab, sigma=sigma, mode="nearest")
    rows = grid.origin_yz[0] + np.arange(grid.shape[0]) * step[0]
    cols = grid.origin_yz[1] + np.arange(grid.shape[1]) * step[1]
    coords = np.stack(np.meshgrid(rows, cols, indexing="ij"))  # [2, H, W]
    return ndimage.map_coordinates(slab, coords, order=1, mode="constant", cval=0.0).astype(np.float32)


def _sagittal(volume: Volume, cfg: PreprocessConfig, midline: Midline | None, make_grid) -> SagittalImage:
    """Steps 1-4 of the module docstring with the grid ``make_grid(slab_shape, spacing_yz_mm) -> Grid``."""
    if midline is None:
        midline = find_midline(volume)
    slab = extract_slab(volume, midline, cfg.slab_mm)  # [Y, Z]
    slab = normalise_intensity(slab, cfg.low_percentile, cfg.high_percentile, volume.path)
    grid = make_grid(slab.shape, volume.spacing_mm[1:])
    image = resample_to_grid(slab, grid)  # [H, W]
    return SagittalImage(image=image, pixel_mm=cfg.pixel_mm, midline=midline, origin_yz=grid.origin_yz, step_yz=grid.step_yz,
                         padding_px=padding_px(grid, slab.shape))


def preprocess_volume(volume: Volume, cfg: PreprocessConfig, midline: Midline | None = None) -> SagittalImage:
    """Volume -> SagittalImage of ``cfg.height x cfg.width`` pixels centred on the scan (the training window).

    The midline is found from the image (``find_midline``) unless given.
    """
    return _sagittal(volume, cfg, midline, lambda shape, spacing: centred_grid(shape, spacing, cfg.pixel_mm, (cfg.height, cfg.width)))


def preprocess_whole_scan(volume: Volume, cfg: PreprocessConfig, size_unit: int, midline: Midline | None = None) -> SagittalImage:
    """Volume -> SagittalImage of the scan's whole extent at ``cfg.pixel_mm``, zero-padded to multiples of
    ``size_unit`` (``whole_extent_grid``; ``cfg.height`` and ``cfg.width`` are not used): the inference input."""
    return _sagittal(volume, cfg, midline, lambda shape, spacing: whole_extent_grid(shape, spacing, cfg.pixel_mm, size_unit))


def preprocess_column(volume: Volume, cfg: PreprocessConfig, midline: Midline | None = None) -> SagittalImage:
    """Volume -> SagittalImage of ``cfg.width`` columns and at least ``cfg.height`` rows covering the whole scan
    superior-inferior (``column_grid``): the source of random training windows along the column."""
    return _sagittal(volume, cfg, midline, lambda shape, spacing: column_grid(shape, spacing, cfg.pixel_mm, (cfg.height, cfg.width)))


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
