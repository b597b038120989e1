"""Canonical synthetic arrays -> NIfTI images and SCT disc-label files in a chosen storage orientation.

Canonical arrays are [X, Y, Z] = (left -> right, head -> feet, anterior -> posterior) with voxel (i, j, k)
centred at (i, j, k) * spacing mm from the field of view's corner; the stored files keep that grid,
reoriented to one of nibabel's axis codes, with a zero-timestamp gzip so the same data give the same bytes.
"""

from __future__ import annotations

import gzip

import nibabel as nib
import numpy as np
from nibabel.orientations import axcodes2ornt, io_orientation, ornt_transform


def place_labels(shape: tuple[int, int, int], spacing_mm: np.ndarray, points_mm: dict[int, np.ndarray]) -> np.ndarray:
    """uint8 label array [X, Y, Z] with one voxel per SCT value at the nearest voxel of its (x, y, z) mm
    point; points outside the field of view are left out."""
    labels = np.zeros(shape, dtype=np.uint8)
    for value, xyz in points_mm.items():
        ijk = np.rint(np.asarray(xyz, dtype=float) / spacing_mm).astype(int)
        if np.all(ijk >= 0) and np.all(ijk < shape):
            labels[tuple(ijk)] = value
    return labels


def nifti_pair(data: np.ndarray, labels: np.ndarray, spacing_mm: np.ndarray, fov_mm: tuple[float, float, float],
               world_shift_mm: np.ndarray, orientation: str) -> tuple[nib.Nifti1Image, nib.Nifti1Image]:
    """(image, label image) on the same grid: RAS world centred on the field of view (+ ``world_shift_mm``),
    stored in ``orientation`` (e.g. 'RPI'), qform and sform code 1."""
    affine = np.zeros((4, 4))
    affine[0, 0], affine[2, 1], affine[1, 2], affine[3, 3] = spacing_mm[0], -spacing_mm[1], -spacing_mm[2], 1.0
    affine[:3, 3] = np.array([-fov_mm[0] / 2, fov_mm[2] / 2, fov_mm[1] / 2]) + world_shift_mm
    ornt = ornt_transform(io_orientation(affine), axcodes2ornt(tuple(orientation)))
    img = nib.Nifti1Image(data, affine).as_reoriented(ornt)
    lab = nib.Nifti1Image(labels, affine).as_reoriented(ornt)
    for i in (img, lab):
        i.header.set_xyzt_units("mm", "sec")
        i.header.set_qform(i.affine, code=1)
        i.header.set_sform(i.affine, code=1)
    return img, lab


def gz(img: nib.Nifti1Image) -> bytes:
    """The image as .nii.gz bytes (compression level 4, zero timestamp)."""
    return gzip.compress(img.to_bytes(), compresslevel=4, mtime=0)
