"""Scan types beyond the Spine Generic cervical protocol: their protocols, placement and rendering.

- ``cervical``: Spine Generic 3D (T1w MPRAGE 1 mm, T2w SPACE 0.8 mm), skull base to ~T5 (anatomy.py;
  rendered by ``msanet.synth.render_subject``).
- ``thoracic``: clinical 2D TSE sagittal, 3-4 mm slices, 0.6-0.9 mm in-plane, 300-400 mm field of view
  centred on T6-T7 (so that counting can start at C2).
- ``lumbar``: clinical 2D TSE sagittal, 3-4 mm slices, 0.5-0.8 mm in-plane, 250-350 mm field of view
  centred between T12-L1 and S1.
- ``whole``: 2D TSE sagittal in two or three stations of 260-450 mm, composed into one 600-900 mm image
  with 0.9-1.3 mm pixels, from above the skull base; each station has its own gain, coil fall-off at its
  ends and noise level, so the junctions show as intensity steps.
Slices are 0-20 % apart (spacing between slices = thickness x 1.0-1.2); ``N_SLICES`` of them are kept
around the midline. Each slice is the mean of 3-4 tissue sub-slices across its thickness (partial volume).
T1w and T2w share the slice prescription (as clinical protocols copy it); in-plane pixels may differ.
``mixed`` draws a type per subject: lumbar 55 %, cervical 25 %, thoracic 10 %, whole 10 % (an assumption
in line with lumbar MRI being the most requested spine examination; not a measured statistic).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from msanet.synth import anatomy as anat
from msanet.synth import morphometry as morph
from msanet.synth.column import ColumnAnatomy, sample_column
from msanet.synth.contrast import coil_sensitivity, jitter_style, randomise_style, render, sample_coil, smooth_field, tissue_intensities
from msanet.synth.storage import nifti_pair, place_labels
from msanet.synth.trunk import column_tissue_map, extrude_column

if TYPE_CHECKING:
    from msanet.synth import Site, SiteProtocol

SCAN_TYPES = ("cervical", "thoracic", "lumbar", "whole")
MIXED_SHARES = {"lumbar": 0.55, "cervical": 0.25, "thoracic": 0.10, "whole": 0.10}
N_SLICES = 9
SUBSLICE_MM = 1.2  # partial-volume sub-slices are at most this far apart


@dataclass(frozen=True)
class ScanProtocol:
    """Acquisition of one 2D TSE scan; canonical axes (LR, SI, AP), mm."""

    scan_type: str
    fov_mm: tuple[float, float, float]
    spacing_mm: dict[str, tuple[float, float, float]]  # per contrast; LR = spacing between slices
    slice_thickness_mm: float
    junctions_mm: tuple[float, ...]  # whole spine: station junctions, mm below the top of the field of view
    field_strength_t: float


def scan_type_of(seed: int, index: int, scan_type: str) -> str:
    """The scan type of subject ``index``: ``scan_type`` itself, or for 'mixed' one drawn at MIXED_SHARES."""
    if scan_type in SCAN_TYPES:
        return scan_type
    if scan_type != "mixed":
        raise ValueError(f"scan_type={scan_type!r} must be one of {', '.join(SCAN_TYPES)} or mixed")
    rng = np.random.default_rng([seed, index, 30])
    return str(rng.choice(list(MIXED_SHARES), p=list(MIXED_SHARES.values())))


def lumbar_count_of(seed: int, index: int) -> int:
    """The lumbar count of subject ``index``'s column: the first draw of its anatomy stream (sample_column)."""
    return morph.draw_lumbar_count(_anatomy_rng(seed, index))


def _anatomy_rng(seed: int, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, index, 101])


def scan_sidecar(site: Site, scan: ScanProtocol, contrast: str) -> dict:
    """BIDS JSON sidecar of a 2D TSE scan (plus the msanet scan type and, for whole spine, its stations)."""
    t1 = contrast == "T1w"
    sidecar = {
        "Manufacturer": site.manufacturer, "ManufacturersModelName": site.model, "MagneticFieldStrength": scan.field_strength_t,
        "InstitutionName": site.institution, "SeriesDescription": f"{contrast} TSE sagittal ({scan.scan_type})",
        "MRAcquisitionType": "2D", "ScanningSequence": "SE", "SequenceVariant": "SK", "RepetitionTime": 0.6 if t1 else 3.5,
        "EchoTime": 0.011 if t1 else 0.1, "SliceThickness": scan.slice_thickness_mm, "SpacingBetweenSlices": scan.spacing_mm[contrast][0],
        "MsanetScanType": scan.scan_type, "GeneratedBy": "msanet synth (synthetic data, not a real scan)",
    }
    if scan.junctions_mm:
        sidecar["MsanetStations"] = len(scan.junctions_mm) + 1
    return sidecar


def sample_scan(rng: np.random.Generator, scan_type: str, col: ColumnAnatomy) -> ScanProtocol:
    """Protocol of a thoracic, lumbar or whole-spine scan; places ``col`` in its field of view (top_yz, midline_x)."""
    thickness = float(rng.choice([3.0, 3.5, 4.0]))
    slice_mm = round(thickness * float(rng.choice([1.0, 1.1, 1.2])), 2)
    junctions: tuple[float, ...] = ()
    if scan_type == "lumbar":
        si, pixel = rng.uniform(250, 350), rng.uniform(0.5, 0.8)
        ap = si * rng.uniform(0.85, 1.0)
        anchor_s = (col.disc_mid_s("T12") + col.sacrum_top_s()) / 2  # T12-L1 .. S1
        anchor_y, back = si * rng.uniform(0.45, 0.56), col.trunk.back_lumbar_mm
    elif scan_type == "thoracic":
        si, pixel, ap = rng.uniform(300, 400), rng.uniform(0.6, 0.9), rng.uniform(250, 320)
        anchor_s, anchor_y, back = col.disc_mid_s("T6"), si * rng.uniform(0.42, 0.55), col.trunk.back_thorax_mm
    elif scan_type == "whole":
        n = 2 if rng.random() < 0.55 else 3
        station, overlap = (rng.uniform(360, 450) if n == 2 else rng.uniform(260, 330)), rng.uniform(30, 60)
        si = float(np.clip(n * station - (n - 1) * overlap, 600, 900))
        step = (si - overlap) / n
        junctions = tuple(float(k * step + overlap / 2 + rng.uniform(-10, 10)) for k in range(1, n))
        pixel, ap = rng.uniform(0.9, 1.3), rng.uniform(260, 340)
        anchor_s, anchor_y, back = 0.0, rng.uniform(35, 80), col.trunk.back_lumbar_mm
    else:
        raise ValueError(f"scan_type={scan_type!r}: sample_scan draws thoracic, lumbar or whole")
    pixel_t1 = pixel * rng.uniform(1.0, 1.25)
    fov = (N_SLICES * slice_mm, float(si), float(ap))
    s, points, _ = col.curve()
    anchor = np.array([np.interp(anchor_s, s, points[:, k]) for k in (0, 1)])
    anchor_z = min(ap - back - rng.uniform(12, 40), 0.62 * ap)
    col.top_yz = (float(anchor_y - anchor[0]), float(anchor_z - anchor[1]))
    col.midline_x = fov[0] / 2 + rng.uniform(-4, 4)
    spacing = {"T2w": (slice_mm, pixel, pixel), "T1w": (slice_mm, pixel_t1, pixel_t1)}
    return ScanProtocol(scan_type, fov, spacing, thickness, junctions, 1.5 if rng.random() < 0.55 else 3.0)


def _stations(rng: np.random.Generator, scan: ScanProtocol, y_mm: np.ndarray) -> tuple[np.ndarray, np.ndarray] | tuple[None, None]:
    """Gain and noise level along y of a composed scan: per-station gain and noise, coil fall-off towards
    each station's ends, 4 mm blends at the junctions."""
    if not scan.junctions_mm:
        return None, None
    edges = np.concatenate([[0.0], scan.junctions_mm, [scan.fov_mm[1]]])
    gain, noise = np.zeros_like(y_mm), np.zeros_like(y_mm)
    weight = np.zeros_like(y_mm)
    level, roll_off = 1.0, rng.uniform(0.1, 0.3)  # the same coil fall-off towards every station's ends
    for a, b in zip(edges[:-1], edges[1:]):
        w = np.clip(np.minimum(y_mm - a + 2, b + 2 - y_mm) / 4.0, 0, 1)
        centre, half = (a + b) / 2, (b - a) / 2 + 30
        falloff = 1 - roll_off * ((y_mm - centre) / half) ** 2
        gain += w * level * falloff
        noise += w * rng.uniform(0.85, 1.2)
        weight += w
        level *= np.exp(rng.choice([-1, 1]) * rng.uniform(0.12, 0.3))  # the next station 12-35 % brighter or darker
    return gain / weight, noise / weight


def render_scan(site: SiteProtocol, seed: int, index: int, scan_type: str, female: bool, height_cm: float,
                domain_random: bool = False, lumbar_count: int | None = None) -> dict:
    """One thoracic, lumbar or whole-spine subject: {'images': {contrast: (image, labels)}, 'tissue':
    {contrast: tissue map [X, Y, Z] at the slice centres}, 'canonical': {contrast: (image array, labels array)},
    'anatomy': ColumnAnatomy, 'scan': ScanProtocol}. Pure function of its arguments."""
    col = sample_column(_anatomy_rng(seed, index), female=female, height_cm=height_cm, lumbar_count=lumbar_count)
    rng = np.random.default_rng([seed, index, 102])
    scan = sample_scan(rng, scan_type, col)
    world_shift = rng.uniform(-15, 15, size=3)
    low_contrast = "low_contrast" in col.pathology
    degenerated = any(lv.degenerated for lv in col.levels)
    sub = int(np.ceil(scan.slice_thickness_mm / SUBSLICE_MM))
    out = {"anatomy": col, "scan": scan, "images": {}, "tissue": {}, "canonical": {}}
    cache: dict[tuple, tuple] = {}
    coil = sample_coil(np.random.default_rng([seed, index, 106]))  # one session, one coil: shared by both contrasts
    for contrast in ("T1w", "T2w"):
        crng = np.random.default_rng([seed, index, 103 if contrast == "T1w" else 104])
        spacing = np.array(scan.spacing_mm[contrast])
        shape = tuple(int(round(f / sp)) for f, sp in zip(scan.fov_mm, spacing))
        key = tuple(spacing)
        if key not in cache:
            yz = np.stack(np.meshgrid(np.arange(shape[1]) * spacing[1], np.arange(shape[2]) * spacing[2], indexing="ij"), axis=-1)
            s, d = anat.sd_coordinates(col, yz)  # [Y, Z]
            sb, db = col.body_coordinates(yz)
            field = smooth_field(np.random.default_rng([seed, index, 105]), shape[1:], 3.5 / spacing[1])
            tissue2d = column_tissue_map(col, s, d, sb, db, field)
            offsets = ((np.arange(sub) + 0.5) / sub - 0.5) * scan.slice_thickness_mm
            x_mm = (np.arange(shape[0])[:, None] * spacing[0] + offsets[None]).ravel()
            cache[key] = (extrude_column(col, tissue2d, s, d, x_mm),)
        (tissue,) = cache[key]
        intens = tissue_intensities(crng, contrast, domain_random, degenerated, low_contrast, trunk=True)
        style = randomise_style(crng) if domain_random else jitter_style(site.styles[contrast], crng)
        texture = smooth_field(crng, shape[1:], sigma_vox=1.2 / spacing[1])
        gain, noise = _stations(crng, scan, np.arange(shape[1]) * spacing[1])
        if scan.field_strength_t < 2:  # lower SNR at 1.5 T
            noise = (np.ones(shape[1]) if noise is None else noise) * 1.25
        sensitivity = coil_sensitivity(coil, tissue[tissue.shape[0] // 2], spacing) if coil is not None else None
        image = render(tissue, intens, style, crng, spacing, texture, x_subsamples=sub, gain_y=gain, noise_y=noise, coil=sensitivity)
        data = np.clip(np.rint(image), 0, 32767).astype(np.int16)
        points = {}
        for value, (sv, dv) in col.disc_points_sd().items():
            y, z = anat.sd_to_yz(col, sv, dv)
            points[value] = np.array([col.midline_x + float(col.drift.offset_mm(sv)), y, z])
        labels = place_labels(shape, spacing, points)
        img, lab = nifti_pair(data, labels, spacing, scan.fov_mm, world_shift, site.orientation[contrast])
        out["images"][contrast] = (img, lab)
        out["tissue"][contrast] = tissue[sub // 2 :: sub]
        out["canonical"][contrast] = (data, labels)
    return out
