"""NIfTI input/output: images in one canonical orientation, exact maps back to the file's grid.

A ``Volume`` hides orientation and spacing from callers (TorchIO's ``Image`` idea): whatever the
file's orientation (RPI, LPI, PSR, ASR, ...), ``Volume.read`` returns arrays with axes
``(x, y, z)`` = nibabel axis codes ``('R', 'I', 'P')``: x increases to the patient's right,
y increases inferior (index 0 = head), z increases posterior (index 0 = anterior).

Canonical and original voxel indices differ only by an axis permutation and flips, so the maps
between them (``to_original_voxel`` / ``from_original_voxel``) are exact. Data are read lazily
through nibabel's array proxy: ``read`` touches only the block it is asked for.

Disc-label files follow the Spinal Cord Toolbox convention: single voxels whose integer value names
the disc (``msanet.discs``), stored on the same grid (shape + affine) as their image.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import nibabel as nib
import numpy as np
from nibabel.orientations import aff2axcodes, axcodes2ornt, inv_ornt_aff, io_orientation, ornt_transform

from msanet import discs
from msanet.errors import ImageError, InputNotFoundError, LabelError, ResourceError
from msanet.fileio import atomic_path

CANONICAL_AXCODES = ("R", "I", "P")
DEFAULT_MAX_VOXELS = 200_000_000
MIN_SPACING_MM = 0.01
MAX_SPACING_MM = 50.0
GRID_ATOL_MM = 1e-3

_READ_ERRORS = (OSError, EOFError, ValueError, zlib.error, gzip.BadGzipFile, nib.filebasedimages.ImageFileError,
                nib.spatialimages.HeaderDataError, nib.spatialimages.HeaderTypeError,  # inconsistent headers
                OverflowError)  # absurd offsets or sizes in a header


def _load_header(path: str | Path, what: str = "image") -> nib.Nifti1Image:
    """nib.load with user-facing errors; returns an image whose data are not read yet."""
    path = Path(path)
    if not path.exists():
        raise InputNotFoundError(f"{path}: no such file")
    if not path.is_file():
        raise InputNotFoundError(f"{path}: is not a file")
    try:
        img = nib.load(str(path))
    except _READ_ERRORS as exc:
        raise ImageError(f"{path}: not a readable NIfTI {what} ({_short(exc)})") from None
    if not isinstance(img, (nib.Nifti1Image, nib.Nifti2Image)):
        raise ImageError(f"{path}: not a NIfTI {what} (found {type(img).__name__})")
    return img


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]


def _spatial_shape(img: nib.Nifti1Image, path: Path) -> tuple[int, int, int]:
    shape = tuple(int(s) for s in img.shape)
    while len(shape) > 3 and shape[-1] == 1:  # [X, Y, Z, 1] is a 3D image saved as 4D
        shape = shape[:-1]
    if len(shape) != 3:
        raise ImageError(f"{path}: expected a 3D image, found {len(shape)}D with shape {shape}")
    if min(shape) < 1:
        raise ImageError(f"{path}: image has a zero-size dimension {shape}")
    return shape  # type: ignore[return-value]


def _check_raw_pixdim(path: Path, img: nib.Nifti1Image) -> None:
    """nibabel silently turns a 0 voxel size into 1 mm on load; read the raw header to refuse it."""
    with nib.openers.ImageOpener(str(path)) as fobj:
        raw = type(img.header).from_fileobj(fobj, check=False)
    pixdim = np.asarray(raw["pixdim"][1:4], dtype=float)
    if int(raw["sform_code"]) == 0 and not np.all(np.isfinite(pixdim) & (pixdim > 0)):
        raise ImageError(f"{path}: absurd voxel spacing {tuple(float(p) for p in pixdim)} mm in the header (must be > 0)")


@dataclass
class Volume:
    """A 3D NIfTI image seen in the canonical orientation ('R', 'I', 'P').

    Attributes:
        path: the file.
        shape: canonical shape ``(X, Y, Z)`` in voxels.
        spacing_mm: canonical voxel size ``(sx, sy, sz)`` in mm.
        affine: canonical voxel index -> world (RAS+) mm, 4x4.
        original_affine / original_shape / original_axcodes: the file's own grid.
        header: the file's NIfTI header (used to write label files on the same grid).
    """

    path: Path
    shape: tuple[int, int, int]
    spacing_mm: np.ndarray
    affine: np.ndarray
    original_affine: np.ndarray
    original_shape: tuple[int, int, int]
    original_axcodes: tuple[str, str, str]
    header: nib.Nifti1Header
    _ornt: np.ndarray = field(repr=False)  # [3, 2]: original axis i -> (canonical axis, flip)
    _proxy: object = field(repr=False)

    # ---- coordinates -------------------------------------------------------------------
    def to_original_voxel(self, ijk: np.ndarray) -> np.ndarray:
        """Canonical voxel coordinates ``[..., 3]`` -> the file's voxel coordinates ``[..., 3]``."""
        ijk = np.asarray(ijk, dtype=float)
        out = np.empty_like(ijk)
        for axis, (target, flip) in enumerate(self._ornt):
            target = int(target)
            c = ijk[..., target]
            out[..., axis] = (self.original_shape[axis] - 1 - c) if flip < 0 else c
        return out

    def from_original_voxel(self, ijk: np.ndarray) -> np.ndarray:
        """The file's voxel coordinates ``[..., 3]`` -> canonical voxel coordinates ``[..., 3]``."""
        ijk = np.asarray(ijk, dtype=float)
        out = np.empty_like(ijk)
        for axis, (target, flip) in enumerate(self._ornt):
            target = int(target)
            c = ijk[..., axis]
            out[..., target] = (self.original_shape[axis] - 1 - c) if flip < 0 else c
        return out

    def to_world_mm(self, ijk: np.ndarray) -> np.ndarray:
        """Canonical voxel coordinates ``[..., 3]`` -> world RAS+ mm ``[..., 3]``."""
        ijk = np.asarray(ijk, dtype=float)
        return ijk @ self.affine[:3, :3].T + self.affine[:3, 3]

    def from_world_mm(self, xyz_mm: np.ndarray) -> np.ndarray:
        """World RAS+ mm ``[..., 3]`` -> canonical voxel coordinates ``[..., 3]``."""
        inv = np.linalg.inv(self.affine)
        xyz_mm = np.asarray(xyz_mm, dtype=float)
        return xyz_mm @ inv[:3, :3].T + inv[:3, 3]

    # ---- data --------------------------------------------------------------------------
    def read(self, xs: slice = slice(None), ys: slice = slice(None), zs: slice = slice(None)) -> np.ndarray:
        """Read a canonical block ``[xs, ys, zs]`` (steps allowed) as float32; only that block is read.

        Raises ImageError for truncated/corrupt data or NaN/Inf voxels in the block.
        """
        canonical = (xs, ys, zs)
        original: list[slice] = [slice(None)] * 3
        for axis, (target, flip) in enumerate(self._ornt):
            target = int(target)
            start, stop, step = canonical[target].indices(self.shape[target])
            if step < 1:
                raise ValueError("negative steps are not supported")
            if flip < 0:  # canonical index c <-> original index n-1-c
                n = self.original_shape[axis]
                last = start + ((stop - 1 - start) // step) * step if stop > start else start
                original[axis] = slice(n - 1 - last, n - start, step) if stop > start else slice(0, 0)
            else:
                original[axis] = slice(start, stop, step)
        index = tuple(original) + (0,) * (len(self._proxy.shape) - 3)  # type: ignore[attr-defined]
        try:
            block = np.asarray(self._proxy[index], dtype=np.float32)  # type: ignore[index]
        except _READ_ERRORS as exc:
            raise ImageError(f"{self.path}: truncated or corrupt image data ({_short(exc)})") from None
        # Original block -> canonical: transpose then flip (same rule as nibabel.apply_orientation).
        block = np.transpose(block, np.argsort(self._ornt[:, 0].astype(int)))
        for target in range(3):
            axis = int(np.where(self._ornt[:, 0] == target)[0][0])
            if self._ornt[axis, 1] < 0:
                block = np.flip(block, axis=target)
        if not np.isfinite(block).all():
            raise ImageError(f"{self.path}: image contains NaN or infinite voxel values")
        return np.ascontiguousarray(block)

    @property
    def data(self) -> np.ndarray:
        """The whole volume in canonical orientation, float32 ``[X, Y, Z]``."""
        return self.read()


def load_image(path: str | Path, max_voxels: int = DEFAULT_MAX_VOXELS) -> Volume:
    """Open a 3D NIfTI image; reads the header only (data are read lazily by ``Volume.read``).

    Raises InputNotFoundError, ImageError (not NIfTI, corrupt, not 3D, zero-size, absurd spacing,
    singular affine) or ResourceError (more than ``max_voxels`` voxels).
    """
    path = Path(path)
    img = _load_header(path)
    shape = _spatial_shape(img, path)
    n_voxels = int(np.prod(shape))
    if n_voxels > max_voxels:
        raise ResourceError(f"{path}: {n_voxels} voxels exceeds the limit of {max_voxels} (see --max-voxels)")
    _check_raw_pixdim(path, img)
    affine = np.asarray(img.affine, dtype=float)
    if not np.isfinite(affine).all() or abs(np.linalg.det(affine[:3, :3])) < 1e-12:
        raise ImageError(f"{path}: image affine is singular or not finite")
    zooms = np.sqrt((affine[:3, :3] ** 2).sum(axis=0))
    if not np.all((zooms >= MIN_SPACING_MM) & (zooms <= MAX_SPACING_MM)):
        raise ImageError(
            f"{path}: absurd voxel spacing {tuple(round(float(z), 6) for z in zooms)} mm "
            f"(expected {MIN_SPACING_MM}..{MAX_SPACING_MM} mm)"
        )
    ornt = ornt_transform(io_orientation(affine), axcodes2ornt(CANONICAL_AXCODES))
    canonical_affine = affine @ inv_ornt_aff(ornt, shape)
    canonical_shape = [0, 0, 0]
    for axis, (target, _) in enumerate(ornt):
        canonical_shape[int(target)] = shape[axis]
    spacing = np.sqrt((canonical_affine[:3, :3] ** 2).sum(axis=0))
    return Volume(
        path=path,
        shape=tuple(canonical_shape),  # type: ignore[arg-type]
        spacing_mm=spacing,
        affine=canonical_affine,
        original_affine=affine,
        original_shape=shape,
        original_axcodes=tuple(aff2axcodes(affine)),  # type: ignore[arg-type]
        header=img.header.copy(),
        _ornt=ornt,
        _proxy=img.dataobj,
    )


def orientation_string(volume: Volume) -> str:
    """The file's orientation in SCT's convention (axis codes name where each axis points FROM).

    nibabel's codes name where an axis points TO ('RAS' = x increases to the right); SCT and
    FSLeyes call that orientation 'LPI' (x goes from left to right ...). Both are shown by inspect.
    """
    opposite = {"R": "L", "L": "R", "A": "P", "P": "A", "S": "I", "I": "S"}
    return "".join(opposite[c] for c in volume.original_axcodes)


# ---- disc labels -------------------------------------------------------------------------------


def read_disc_labels(path: str | Path, image: Volume) -> dict[int, np.ndarray]:
    """Read an SCT disc-label file on ``image``'s grid -> {SCT value: canonical voxel (3,)}.

    Values are rounded to the nearest integer (older Spine Generic files store e.g. 3.0000457).
    Raises LabelError when the file is empty, is on another grid, holds values outside the SCT
    vocabulary (1..25) or repeats a value at several voxels.
    """
    path = Path(path)
    img = _load_header(path, what="label file")
    shape = _spatial_shape(img, path)
    if shape != image.original_shape or not np.allclose(img.affine, image.original_affine, atol=GRID_ATOL_MM):
        raise LabelError(
            f"{path}: label grid (shape {shape}) differs from its image {image.path.name} "
            f"(shape {image.original_shape}); label files must share their image's shape and affine"
        )
    try:
        data = np.asarray(img.dataobj, dtype=np.float64).reshape(shape)
    except _READ_ERRORS as exc:
        raise LabelError(f"{path}: truncated or corrupt label data ({_short(exc)})") from None
    if not np.isfinite(data).all():
        raise LabelError(f"{path}: label file contains NaN or infinite values")
    values = np.rint(data).astype(np.int64)
    voxels = np.argwhere(values != 0)
    if len(voxels) == 0:
        raise LabelError(f"{path}: label file holds no disc labels (all voxels are 0)")
    found: dict[int, np.ndarray] = {}
    for ijk in voxels:
        value = int(values[tuple(ijk)])
        if not discs.is_valid_value(value):
            raise LabelError(f"{path}: label value {value} at voxel {tuple(int(v) for v in ijk)} is outside the SCT vocabulary 1..25")
        if value in found:
            raise LabelError(f"{path}: label value {value} ({discs.disc_name(value)}) appears at more than one voxel")
        found[value] = image.from_original_voxel(ijk.astype(float))
    return dict(sorted(found.items()))


def write_disc_labels(
    path: str | Path, image: Volume, labels: Mapping[int, np.ndarray], overwrite: bool = True
) -> Path:
    """Write {SCT value: canonical voxel (3,)} as an SCT label file on ``image``'s own grid.

    Coordinates are rounded to the nearest voxel of the ORIGINAL grid; the file keeps the image's
    affine, qform/sform codes and header fields, with uint8 data. Written atomically.
    """
    data = np.zeros(image.original_shape, dtype=np.uint8)
    for value, ijk in labels.items():
        if not discs.is_valid_value(int(value)):
            raise ValueError(f"label value {value!r} is outside the SCT vocabulary 1..25")
        orig = np.rint(image.to_original_voxel(np.asarray(ijk, dtype=float))).astype(int)
        orig = np.clip(orig, 0, np.asarray(image.original_shape) - 1)
        data[tuple(orig)] = int(value)
    header = image.header.copy()
    header.set_data_shape(image.original_shape)
    header.set_data_dtype(np.uint8)
    out = nib.Nifti1Image(data, image.original_affine, header) if isinstance(header, nib.Nifti1Header) else nib.Nifti2Image(data, image.original_affine, header)
    out.header.set_slope_inter(1.0, 0.0)
    out.header["cal_min"], out.header["cal_max"] = 0, int(max(labels, default=0))
    with atomic_path(path, overwrite=overwrite) as tmp:
        nib.save(out, str(tmp))
    return Path(path)
