"""Sampled spine anatomy and its tissue map on any voxel grid.

The spine is a curve in the sagittal plane: the posterior line of the vertebral bodies and discs
(where SCT disc labels sit), parametrised by arc length ``s`` (mm, head -> feet, 0 = tip of the
dens) with signed distance ``d`` (mm, + posterior). Every structure is a region in (s, d); the
left-right extent of each tissue is a half-width beyond which a fallback tissue takes over.

Published adult ranges used for sampling (mm):
- cervical vertebral body height C3-C7 12.5-16: Gilad & Nissan, Spine 1986;11(2):154-157;
- cervical disc height 4.0-6.5 (mid-disc): Gilad & Nissan 1986; Frobin et al., Clin Biomech 2002;17:21-31;
- C2 body below the dens 15-19 and dens 13-16: Gilad & Nissan 1986; Schaffler et al., Spine 1992;17(3):264-268;
- upper thoracic body height T1-T5 14.5-19.5 (increasing ~0.7/level): Panjabi et al., Spine 1991;16(8):888-901;
- upper thoracic disc height 3.5-5.5: Kunkel et al., Spine 2011 (thoracic disc height) / Panjabi 1991;
- body depth (AP) C3-C7 15-18, T1 16-19 growing ~1.5/level: Panjabi et al., Spine 1991;16(8):861-869 and 888-901;
- spinal canal AP C3-C7 13-17, C1 18-22, thoracic 13-15; cord AP 6.5-8.5 cervical, 5.5-7 thoracic:
  Panjabi 1991; Kameyama et al., Spine 1994;19(5):590 (cord dimensions).
Curvature: C2-C7 lordosis -10..+40 degrees (a few straight or kyphotic necks), T1-T5 kyphosis
8..25 degrees: Le Huec et al., Eur Spine J 2019 (cervical sagittal balance).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.spatial import cKDTree

from msanet import discs

# tissue classes: the first 12 are those of the cervical (Spine Generic) scans; the rest appear
# only in thoracic, lumbar and whole-spine scans (column.py, trunk.py)
AIR, FAT, MUSCLE, MARROW, CORTEX, ANNULUS, NUCLEUS, CSF, CORD, BRAIN, LIGAMENT, MEDIASTINUM = range(12)
NERVE, BLOOD, HEART, LUNG, LIVER, BOWEL, URINE, VISCERA = range(12, 20)
TISSUES = ("air", "fat", "muscle", "marrow", "cortex", "annulus", "nucleus", "csf", "cord", "brain", "ligament", "mediastinum",
           "nerve", "blood", "heart", "lung", "liver", "bowel", "urine", "viscera")
N_CERVICAL_TISSUES = 12
VERTEBRAE = ("C2", "C3", "C4", "C5", "C6", "C7", "T1", "T2", "T3", "T4", "T5", "T6")  # each followed by a disc
# left-right half-width (mm) of each tissue at the midline, and what lies beyond it
# (mediastinum: 25 mm, further than a cervical slab ever reaches, then lung)
HALF_WIDTH = np.array([1e9, 1e9, 1e9, 10.0, 11.0, 10.0, 6.0, 11.0, 6.5, 1e9, 2.5, 25.0,
                       5.0, 11.0, 45.0, 1e9, 1e9, 1e9, 35.0, 22.0])
FALLBACK = np.array([AIR, FAT, MUSCLE, MUSCLE, MUSCLE, MUSCLE, ANNULUS, CORTEX, CSF, BRAIN, MUSCLE, LUNG,
                     CSF, FAT, LUNG, LUNG, LIVER, BOWEL, FAT, FAT])


@dataclass
class Level:
    """A vertebra and the disc below it."""

    name: str
    body_height: float
    disc_height: float
    depth: float
    canal: float
    degenerated: bool = False
    protrusion: float = 0.0
    fused: bool = False
    half_width: float = 10.0  # body half-width, mm (used by the whole-column scans)
    body_wedge: float = 0.0  # degrees, + lordotic (anterior taller); whole-column scans only
    disc_wedge: float = 0.0


@dataclass
class Anatomy:
    levels: list[Level]
    dens_height: float
    dens_depth: float
    lordosis_deg: float
    kyphosis_deg: float
    tilt_deg: float
    scoliosis_mm: float
    scoliosis_period: float
    scoliosis_phase: float
    cord_ap: float
    prevertebral: float
    airway_ap: float
    neck_front: float
    neck_back: float
    fat_back: float
    top_yz: tuple[float, float]  # position of the dens tip in the FOV (mm)
    midline_x: float  # patient midline in the FOV (mm)
    pathology: list[str] = field(default_factory=list)

    # ---- the curve ------------------------------------------------------------------------
    def cervical_length(self) -> float:
        return self.dens_height + sum(lv.body_height + lv.disc_height for lv in self.levels[:6])

    def curve(self, step: float = 0.5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Samples of the curve: s [N], points (y, z) [N, 2] mm, posterior normals [N, 2]."""
        s = np.arange(-150.0, 400.0, step)
        cerv = self.cervical_length()
        kappa = np.zeros_like(s)
        in_c = (s >= 0) & (s < cerv)
        kappa[in_c] = np.deg2rad(self.lordosis_deg) / cerv  # lordosis: bulges anteriorly
        thor = 90.0
        in_t = (s >= cerv) & (s < cerv + thor)
        kappa[in_t] = -np.deg2rad(self.kyphosis_deg) / thor  # kyphosis: bulges posteriorly
        theta0 = np.deg2rad(self.tilt_deg) - np.deg2rad(self.lordosis_deg) / 2
        theta = theta0 + np.concatenate([[0.0], np.cumsum(kappa[:-1] * step)])
        theta -= theta[np.searchsorted(s, 0.0)] - theta0
        tangent = np.stack([np.cos(theta), np.sin(theta)], axis=1)  # (dy, dz): head -> feet
        points = np.cumsum(tangent * step, axis=0)
        points += np.asarray(self.top_yz) - points[np.searchsorted(s, 0.0)]
        normal = np.stack([-np.sin(theta), np.cos(theta)], axis=1)  # points posterior
        return s, points, normal

    def level_spans(self) -> list[tuple[Level, float, float, float]]:
        """(level, body top s, body bottom s, disc bottom s) for each vertebra C2..."""
        spans, s = [], self.dens_height
        for lv in self.levels:
            spans.append((lv, s, s + lv.body_height, s + lv.body_height + lv.disc_height))
            s += lv.body_height + lv.disc_height
        return spans

    def disc_points_sd(self) -> dict[int, tuple[float, float]]:
        """{SCT value: (s, d)} of each disc's posterior tip; value 2 (C1-C2) at the dens base."""
        out = {2: (self.dens_height * 0.92, 0.0)}
        for lv, _, bottom, disc_bottom in self.level_spans():
            value = discs.disc_value(f"{lv.name}-{_next(lv.name)}")
            out[value] = ((bottom + disc_bottom) / 2, lv.protrusion)
        return out


def draw_level(rng: np.random.Generator, name: str, scale: float) -> Level:
    """One cervical (C2..C7) or thoracic (T1..T12) level from the ranges in the module docstring.

    Four draws in a fixed order (body, disc, depth, canal): the cervical scans depend on it.
    """
    if name == "C2":
        body, disc, depth, canal = rng.uniform(15, 19), rng.uniform(4.0, 6.0), rng.uniform(15, 17.5), rng.uniform(15, 18)
    elif name.startswith("C"):
        body, disc, depth, canal = rng.uniform(12.5, 16), rng.uniform(4.0, 6.5), rng.uniform(15, 18), rng.uniform(13, 17)
    elif name.startswith("T") and 1 <= int(name[1:]) <= 12:
        t = int(name[1:])
        body = rng.uniform(14.5, 16.5) + 0.7 * (t - 1)
        disc, depth, canal = rng.uniform(3.5, 5.5), rng.uniform(16, 19) + 1.5 * (t - 1), rng.uniform(13, 15)
    else:
        raise ValueError(f"level {name!r} is not a cervical or thoracic vertebra C2..T12")
    return Level(name, body * scale, disc * scale, depth * scale, canal)


def _next(name: str) -> str:
    order = [f"C{i}" for i in range(1, 8)] + [f"T{i}" for i in range(1, 13)]
    return order[order.index(name) + 1]


def sample_anatomy(rng: np.random.Generator, fov_mm: tuple[float, float, float], pathology_rate: float = 0.25) -> Anatomy:
    """Draw one adult anatomy (ranges in the module docstring) placed inside ``fov_mm`` (x, y, z)."""
    scale = rng.normal(1.0, 0.05)  # body size
    levels = [draw_level(rng, name, scale) for name in VERTEBRAE]
    pathology = []
    if rng.random() < pathology_rate:
        kind = rng.choice(["degenerated", "protrusion", "fused", "low_contrast"], p=[0.4, 0.3, 0.1, 0.2])
        pathology.append(str(kind))
        k = int(rng.integers(1, 7))  # C3..T1 discs are the usual suspects
        lv = levels[k]
        if kind == "degenerated":
            lv.degenerated, lv.disc_height = True, lv.disc_height * rng.uniform(0.55, 0.75)
            if rng.random() < 0.5:
                levels[k + 1].degenerated = True
        elif kind == "protrusion":
            lv.protrusion = rng.uniform(1.5, 4.0)
        elif kind == "fused":
            lv.fused = True
    lordosis = rng.normal(18, 12) if rng.random() > 0.12 else rng.uniform(-10, 3)  # some straight/kyphotic necks
    fov_x, fov_y, fov_z = fov_mm
    return Anatomy(
        levels=levels, dens_height=rng.uniform(13, 16) * scale, dens_depth=rng.uniform(9, 11),
        lordosis_deg=float(np.clip(lordosis, -10, 40)), kyphosis_deg=rng.uniform(8, 25), tilt_deg=rng.normal(0, 7),
        scoliosis_mm=rng.uniform(1.5, 4.0) if rng.random() < 0.15 else 0.0, scoliosis_period=rng.uniform(150, 300),
        scoliosis_phase=rng.uniform(0, 2 * np.pi), cord_ap=rng.uniform(6.5, 8.5), prevertebral=rng.uniform(3, 7),
        airway_ap=rng.uniform(12, 20), neck_front=rng.uniform(55, 75), neck_back=rng.uniform(80, 105), fat_back=rng.uniform(4, 14),
        top_yz=(rng.uniform(0.17, 0.24) * fov_y, fov_z * rng.uniform(0.44, 0.56)),
        midline_x=fov_x / 2 + rng.uniform(-2.5, 2.5), pathology=pathology,
    )


def sd_coordinates(anatomy: Anatomy, yz_mm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(s, d) of points ``yz_mm`` [..., 2] relative to the posterior body line."""
    return project_sd(*anatomy.curve(), yz_mm)


def project_sd(s_samples: np.ndarray, points: np.ndarray, normals: np.ndarray, yz_mm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(arc length, signed distance along the normal) of points ``yz_mm`` [..., 2] relative to the sampled
    line (``s_samples`` [N], ``points`` [N, 2], unit ``normals`` [N, 2]), through each point's nearest sample."""
    tree = cKDTree(points)
    _, idx = tree.query(yz_mm.reshape(-1, 2))
    rel = yz_mm.reshape(-1, 2) - points[idx]
    d = np.einsum("ij,ij->i", rel, normals[idx])
    tangential = np.einsum("ij,ij->i", rel, np.stack([normals[idx, 1], -normals[idx, 0]], axis=1))
    s = s_samples[idx] + tangential
    return s.reshape(yz_mm.shape[:-1]), d.reshape(yz_mm.shape[:-1])


def sd_to_yz(anatomy: Anatomy, s: float, d: float) -> np.ndarray:
    """Point (y, z) mm at arc length ``s`` and posterior distance ``d``."""
    s_samples, points, normals = anatomy.curve()
    i = int(np.clip(np.searchsorted(s_samples, s), 1, len(s_samples) - 1))
    t = (s - s_samples[i - 1]) / (s_samples[i] - s_samples[i - 1])
    p = points[i - 1] * (1 - t) + points[i] * t
    n = normals[i - 1] * (1 - t) + normals[i] * t
    return p + d * n / np.linalg.norm(n)


def tissue_map_2d(anatomy: Anatomy, s: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Tissue class of every (s, d) point on the midline: int8 array of the same shape."""
    out = np.full(s.shape, AIR, dtype=np.int8)
    cerv = anatomy.cervical_length()
    thorax = np.clip((s - cerv + 20) / 60, 0, 1)  # 0 in the neck, 1 in the chest
    front = -(anatomy.neck_front + 45 * thorax)
    back = anatomy.neck_back + 10 * thorax
    inside = (d > front) & (d < back)
    out[inside] = FAT
    out[inside & (d > front + 4) & (d < back - anatomy.fat_back)] = MUSCLE
    draw_head(out, s, d, back)
    spans = anatomy.level_spans()
    depth_at = np.interp(s, [sp[1] for sp in spans], [sp[0].depth for sp in spans])
    canal_at = np.interp(s, [-40.0, 0.0] + [sp[1] for sp in spans], [22.0, 20.0] + [sp[0].canal for sp in spans])
    # airway in front of the neck, mediastinum in front of the chest
    airway_front = -(depth_at + anatomy.prevertebral + anatomy.airway_ap)
    out[(s > -35) & (s < cerv + 10) & (d < -(depth_at + anatomy.prevertebral)) & (d > airway_front)] = AIR
    out[(s >= cerv + 10) & (d < -(depth_at + 4)) & (d > front + 6)] = MEDIASTINUM
    # canal, cord
    canal = (d > 1.0) & (d < canal_at) & (s > -30)
    out[canal] = CSF
    cord_ap = np.where(s < 0, anatomy.cord_ap + np.clip(-s, 0, 30) * 0.25, anatomy.cord_ap - 1.0 * thorax)
    cord_centre = 1.0 + canal_at * 0.45
    out[(np.abs(d - cord_centre) < cord_ap / 2) & (s > -40) & (d > 0)] = CORD
    draw_dens_and_c1(out, s, d, anatomy)
    # vertebral bodies, discs, posterior elements
    for i, (lv, top, bottom, disc_bottom) in enumerate(spans):
        slope = 0.35 if lv.name.startswith("C") else 0.9
        length = 28.0 if lv.name in ("C2", "C7") or lv.name.startswith("T") else 18.0
        flavum_end = spans[i + 1][1] + 2 if i + 1 < len(spans) else bottom + 6
        draw_vertebra(out, s, d, lv, top, bottom, disc_bottom, Process(slope, length, top + 2, bottom - 1), flavum_end)
    out[(d >= 0) & (d < 1.0) & (s > 0) & ((out == CSF) | (out == ANNULUS))] = LIGAMENT  # posterior longitudinal ligament
    return out


def draw_head(out: np.ndarray, s: np.ndarray, d: np.ndarray, back: np.ndarray) -> None:
    """Brain, occipital bone and clivus above the dens tip (s < 0), in place."""
    head = s < -6
    out[head & (d > -12) & (d < back - 14)] = BRAIN
    out[head & (d >= back - 14) & (d < back - 8)] = CORTEX  # occipital bone
    clivus = (s > -45) & (s < -3) & (d > -24 + 0.2 * (s + 45)) & (d < -9)
    out[clivus] = MARROW


def draw_dens_and_c1(out: np.ndarray, s: np.ndarray, d: np.ndarray, anatomy: Anatomy) -> None:
    """The dens of C2 and the anterior and posterior arches of C1, in place."""
    dens = (s >= 0) & (s < anatomy.dens_height) & (d < 0) & (d > -anatomy.dens_depth * np.clip(0.45 + s / 6, 0, 1))
    out[dens] = MARROW
    c1 = (s > 1.5) & (s < 11)
    out[c1 & (d < -anatomy.dens_depth - 2) & (d > -anatomy.dens_depth - 10)] = MARROW  # anterior arch
    out[c1 & (d > 21) & (d < 30)] = MARROW  # posterior arch


@dataclass(frozen=True)
class Process:
    """Lamina + spinous process of one vertebra: a bar behind the canal, sloping ``slope`` mm of s per mm
    behind it, ``length_mm`` long (behind the canal), between arc lengths ``top_mm`` and ``bottom_mm``."""

    slope: float
    length_mm: float
    top_mm: float
    bottom_mm: float


def draw_vertebra(out: np.ndarray, s: np.ndarray, d: np.ndarray, lv: Level, top: float, bottom: float, disc_bottom: float,
                  process: Process, flavum_end: float) -> None:
    """One vertebral body (marrow, cortical rim), the disc below it (annulus, nucleus), its lamina and
    spinous process and the ligamentum flavum below them, in place. ``s`` may be any arc-length-like
    coordinate (column.py passes one whose level lines are the tilted endplates)."""
    body = (s >= top) & (s < bottom + (lv.disc_height if lv.fused else 0)) & (d < 0) & (d > -lv.depth)
    out[body] = MARROW
    rim = body & ((s - top < 1.0) | (bottom - s < 1.0) | (d > -1.0) | (d + lv.depth < 1.2))
    out[rim & ~((s >= bottom) & lv.fused)] = CORTEX
    if not lv.fused:
        mid = (bottom + disc_bottom) / 2
        bulge = lv.protrusion * np.clip(1 - ((s - mid) / (lv.disc_height * 0.5 + 1.5)) ** 2, 0, 1)
        disc = (s >= bottom) & (s < disc_bottom) & (d > -lv.depth + 0.5) & (d < bulge)
        out[disc] = ANNULUS
        if not lv.degenerated:
            nucleus = ((s - mid) / (0.32 * lv.disc_height)) ** 2 + ((d + lv.depth * 0.52) / (0.3 * lv.depth)) ** 2 < 1
            out[disc & nucleus] = NUCLEUS
    behind = d - lv.canal
    shifted = s - process.slope * np.clip(behind, 0, None)
    bar = (behind > 0.5) & (behind < process.length_mm) & (shifted > process.top_mm) & (shifted < process.bottom_mm)
    out[bar] = MARROW
    out[bar & ((shifted - process.top_mm < 1.0) | (process.bottom_mm - shifted < 1.0) | (process.length_mm - behind < 1.0))] = CORTEX
    flavum = (behind > 0) & (behind < 3) & (shifted >= process.bottom_mm) & (shifted < flavum_end)
    out[flavum & (out == MUSCLE)] = LIGAMENT


def extrude(anatomy: Anatomy, tissue2d: np.ndarray, s2d: np.ndarray, x_mm: np.ndarray) -> np.ndarray:
    """3D tissue map [X, Y, Z] from the midline map [Y, Z]: beyond a tissue's half-width, its fallback."""
    offset = anatomy.scoliosis_mm * np.sin(2 * np.pi * s2d / anatomy.scoliosis_period + anatomy.scoliosis_phase)  # [Y, Z]
    lateral = np.abs(x_mm[:, None, None] - anatomy.midline_x - offset[None])  # [X, Y, Z]
    out = np.broadcast_to(tissue2d[None], lateral.shape).copy()
    for _ in range(3):  # at most three fallbacks deep (cord -> csf -> cortex -> muscle)
        beyond = lateral > HALF_WIDTH[out]
        if not beyond.any():
            break
        out[beyond] = FALLBACK[out[beyond]]
    return out
