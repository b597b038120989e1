"""Sampled spine anatomy and its tissue map on any voxel grid.

The spine is a curve in the sagittal plane: the posterior line of the vertebral bodies and discs
(disc labels sit just in front of it and above each disc's tip: ``label_point``), parametrised by arc
length ``s`` (mm, head -> feet, 0 = tip of the dens) with signed distance ``d`` (mm, + posterior).
Every structure is a region in (s, d); the left-right extent of each tissue is a half-width beyond which a
fallback tissue takes over.

Published adult ranges used for sampling (mm):
- cervical vertebral body height C3-C7 12.5-16: Gilad & Nissan, Spine 1986;11(2):154-157;
- cervical disc height 4.0-6.5 (mid-disc): Gilad & Nissan 1986; Frobin et al., Clin Biomech 2002;17:21-31;
- C2 body below the dens 15-19 and dens 13-16: Gilad & Nissan 1986; Schaffler et al., Spine 1992;17(3):264-268;
  these radiographic cervical heights are divided by a 1.1 film magnification (``RADIOGRAPH_MAGNIFICATION``);
  body size scale: normal, sd 7 %;
- upper thoracic body height T1-T5 14.5-19.5 (increasing ~0.7/level): Panjabi et al., Spine 1991;16(8):888-901;
- upper thoracic disc height 3.5-5.5: Kunkel et al., Spine 2011 (thoracic disc height) / Panjabi 1991;
- body depth (AP) C3-C7 15-18, T1 16-19 growing ~1.5/level: Panjabi et al., Spine 1991;16(8):861-869 and 888-901;
- spinal canal AP C3-C7 13-17, C1 18-22, thoracic 13-15; cord AP 6.5-8.5 cervical, 5.5-7 thoracic:
  Panjabi 1991; Kameyama et al., Spine 1994;19(5):590 (cord dimensions).
Levels drawn: C2 .. T9 (the discs C1-C2 .. T9-T10), so that a field of view starting at C1 still ends in drawn anatomy.
Field of view: the dens tip lies ``DENS_TIP_MIN_MM`` (above the top edge) .. ``DENS_TIP_MAX_FRACTION`` of the FOV height
below the top edge, uniformly: from scans that show the brain stem and cerebellum (Spine Generic) down to scans that start at
C1 (the real amu_t2w scans: C2-C3 24-45 mm below the top edge).
Curvature: C2-C7 lordosis -10..+40 degrees (a few straight or kyphotic necks), T1-T5 kyphosis
8..25 degrees: Le Huec et al., Eur Spine J 2019 (cervical sagittal balance).
Shape details (``BoneShape``, ``HeadShape``):
- endplates concave by 0.5-2 mm at their centre, so discs are biconvex; body corners rounded (1.5-4 mm):
  Panjabi et al., Spine 1991 (endplate concavity depth); cortical shell 0.4-1.2 mm, seen as a dark rim; each
  endplate a dark band 0.8-2 mm (cortical endplate, subchondral bone and the chemical-shift band on the real scans);
- every disc bulges 0.3-1.8 mm behind the posterior body line (physiological bulge; pathological protrusions more);
- basivertebral vein: a small notch (<= 3 mm deep, about 1 mm high) of fat-like signal at the middle of the posterior
  body wall, in half of the subjects (on the real amu_t2w scans it is rarely seen at all);
- disc degeneration in healthy adults rises caudally, most often C5-C6 and C6-C7 (about a third of
  adults under 50 have a dark or thin disc there): Matsumoto et al., J Bone Joint Surg Br 1998;80(1):19-24;
- craniovertebral junction: clivus-canal angle 150-180 degrees (here 15-35 degrees of forward lean from the dens
  axis, which itself leans back from the canal), clivus 8-12 mm thick; C1 anterior arch a
  small oval in front of the dens (atlanto-dental interval <= 3 mm); cisterna magna 3-10 mm: Smoker,
  RadioGraphics 1994;14(2):255-277; the dens and the C2 body are one bone (no disc between them; the C1-C2 label sits
  at the dens base, and every label ``LABEL_SUPERIOR_MM`` above and ``LABEL_ANTERIOR_MM`` in front of its tip, as
  Spine Generic's raters place them), in about a third of subjects with the dark line of the fused subdental
  synchondrosis, 0.8-3 mm thick (the rate and thickness are this project's assumptions, from the real amu_t2w scans,
  not published ones);
- posterior neck: one to three fat planes (0.8-2.5 mm) between the muscle layers (trapezius, splenius, semispinalis),
  as the real T2w scans show them; the cerebellum 0.5-1.5 mm inside the occipital bone (a thin CSF layer);
- brain stem: medulla 10-13 mm AP, pons 22-28 mm AP, fourth ventricle behind it, cerebellum and its
  tonsils above the foramen magnum: Raininko et al., Neuroradiology 1994;36(5):364-368.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

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
# where the field of view of a cervical scan starts: the dens tip lies DENS_TIP_MIN_MM .. DENS_TIP_MAX_FRACTION * (FOV
# height) below its top edge. Spine Generic's 3D scans show the brain stem and cerebellum above the dens (dens tip 40-68 mm
# below the top); the real amu_t2w scans start at C1, C2-C3 24-45 mm below the top edge (dens tip about -10 .. +15 mm).
DENS_TIP_MIN_MM = -15.0
DENS_TIP_MAX_FRACTION = 0.24
# thickness of the dens-base line (when drawn): from a thin cortical remnant to a disc-like dark band across the C2 body, as
# on real sub-errsm22 (2-3 mm), which networks trained with the thin line only called C2-C3
DENS_LINE_MM = (0.8, 3.0)
# where a disc label sits: Spine Generic's expert raters put their points about 2 mm above and 2 mm in front of the disc's
# posterior tip (its mid-height at the back of the bulge): the real amu_t2w labels, found at that tip, were shifted by
# this much to match a scan's expert labels (../shared/data/real/README.md), and models trained on labels at the tip
# put their points 2.1 mm behind and 1.6 mm below those real labels (benchmarks/results/real-anyz6jn-synthetic-only.md)
LABEL_SUPERIOR_MM = 2.0
LABEL_ANTERIOR_MM = 2.0
VERTEBRAE = ("C2", "C3", "C4", "C5", "C6", "C7", "T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8", "T9")  # each followed by a disc
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


@dataclass(frozen=True)
class BoneShape:
    """Vertebral body and disc detail (mm) shared by every level of one subject."""

    concavity_mm: float = 1.0  # endplate concavity at its centre: the disc bulges into the body by this much
    corner_mm: float = 2.0  # radius of the rounded body corners
    cortex_mm: float = 0.8  # cortical rim thickness of the front and back walls
    endplate_mm: float = 1.4  # dark band of each endplate (cortex + subchondral bone + chemical shift), mm
    basivertebral: bool = True  # small bright notch (vein) in the middle of the posterior body wall
    nucleus_scale: float = 1.0  # nucleus size relative to its disc
    dens_line: bool = False  # a dark line where the dens joined the C2 body (the fused subdental synchondrosis)
    dens_line_mm: float = 0.8  # its thickness


@dataclass(frozen=True)
class HeadShape:
    """Craniovertebral junction and posterior fossa in (s, d) mm, relative to the dens tip (s = 0)."""

    clivus_slope: float = 0.45  # mm anterior per mm up, relative to the dens axis
    clivus_mm: float = 10.0  # clivus thickness
    cistern_mm: float = 4.0  # prepontine CSF between clivus and brain stem
    pons_ap_mm: float = 25.0
    medulla_ap_mm: float = 11.5
    magna_mm: float = 6.0  # cisterna magna depth behind the medulla
    tonsil_s: float = -6.0  # lowest point of the cerebellum (tonsils)
    skull_mm: float = 7.0  # occipital bone thickness
    pia_mm: float = 1.5  # CSF between the cerebellum and the inner table of the occipital bone


@dataclass(frozen=True)
class Septum:
    """A fat plane between two posterior neck muscles: at ``depth`` (0 = behind the canal, 1 = under the subcutaneous
    fat) of the muscle layer, ``thickness_mm`` thick, waving ``wave_mm`` back and forth with period ``period_mm`` along
    the neck."""

    depth: float
    thickness_mm: float
    wave_mm: float
    period_mm: float
    phase: float


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
    bone: BoneShape = field(default_factory=BoneShape)
    head: HeadShape = field(default_factory=HeadShape)
    septa: tuple[Septum, ...] = ()  # fat planes between the posterior neck muscles
    # the cervicothoracic junction (``randomise_junction``): where the thoracic inlet and the lordosis-kyphosis turn lie
    # relative to the bottom of the C7-T1 disc (mm of arc length, + towards the feet), and each vertebra's spinous process
    # length behind the canal (mm; empty: C2, C7 and thoracic 28, the others 18)
    inlet_offset_mm: float = 0.0
    turn_offset_mm: float = 0.0
    spinous_mm: tuple[float, ...] = ()

    # ---- the curve ------------------------------------------------------------------------
    def cervical_length(self) -> float:
        """Arc length (mm) from the dens tip to the bottom of the C7-T1 disc."""
        return self.dens_height + sum(lv.body_height + lv.disc_height for lv in self.levels[:6])

    def inlet_mm(self) -> float:
        """Arc length (mm) of the thoracic inlet: where the neck's outline widens into the chest and the airway gives way
        to the mediastinum."""
        return self.cervical_length() + self.inlet_offset_mm

    def spinous_length_mm(self, index: int) -> float:
        """Spinous process length (mm behind the canal) of vertebra ``levels[index]``."""
        if self.spinous_mm:
            return self.spinous_mm[index]
        name = self.levels[index].name
        return 28.0 if name in ("C2", "C7") or name.startswith("T") else 18.0

    def curve(self, step: float = 0.5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Samples of the curve: s [N], points (y, z) [N, 2] mm, posterior normals [N, 2]."""
        s = np.arange(-150.0, 400.0, step)
        turn = self.cervical_length() + self.turn_offset_mm  # where the lordosis turns into kyphosis
        kappa = np.zeros_like(s)
        in_c = (s >= 0) & (s < turn)
        kappa[in_c] = np.deg2rad(self.lordosis_deg) / turn  # lordosis: bulges anteriorly
        thor = 90.0
        in_t = (s >= turn) & (s < turn + thor)
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
        """{SCT value: (s, d)} of each disc's label: ``label_point`` of its posterior tip; value 2 (C1-C2) at the dens base."""
        out = {2: label_point(self.dens_height * 0.92, 0.0)}
        for lv, _, bottom, disc_bottom in self.level_spans():
            value = discs.disc_value(f"{lv.name}-{_next(lv.name)}")
            out[value] = label_point((bottom + disc_bottom) / 2, lv.protrusion)
        return out


def label_point(s_tip: float, d_tip: float) -> tuple[float, float]:
    """(s, d) of a disc label whose disc has its posterior tip at (``s_tip``, ``d_tip``): ``LABEL_SUPERIOR_MM`` towards the
    head along the column and ``LABEL_ANTERIOR_MM`` in front, where Spine Generic's raters put it."""
    return s_tip - LABEL_SUPERIOR_MM, d_tip - LABEL_ANTERIOR_MM


# Gilad & Nissan measured lateral radiographs, which magnify the spine by about 10 % (source-to-film 1.8 m,
# spine 15-20 cm from the film); their cervical heights are divided by this to give true sizes
RADIOGRAPH_MAGNIFICATION = 1.1


def draw_level(rng: np.random.Generator, name: str, scale: float) -> Level:
    """One cervical (C2..C7) or thoracic (T1..T12) level from the ranges in the module docstring.

    Four draws in a fixed order (body, disc, depth, canal): the cervical scans depend on it.
    """
    if name == "C2":
        body, disc, depth, canal = rng.uniform(15, 19), rng.uniform(4.0, 6.0), rng.uniform(15, 17.5), rng.uniform(15, 18)
        body, disc = body / RADIOGRAPH_MAGNIFICATION, disc / RADIOGRAPH_MAGNIFICATION
    elif name.startswith("C"):
        body, disc, depth, canal = rng.uniform(12.5, 16), rng.uniform(4.0, 6.5), rng.uniform(15, 18), rng.uniform(13, 17)
        body, disc = body / RADIOGRAPH_MAGNIFICATION, disc / RADIOGRAPH_MAGNIFICATION
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
    scale = rng.normal(1.0, 0.07)  # body size
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
    anatomy = Anatomy(
        levels=levels, dens_height=rng.uniform(13, 16) / RADIOGRAPH_MAGNIFICATION * scale, dens_depth=rng.uniform(9, 11),
        lordosis_deg=float(np.clip(lordosis, -10, 40)), kyphosis_deg=rng.uniform(8, 25), tilt_deg=rng.normal(0, 7),
        scoliosis_mm=rng.uniform(1.0, 6.0) if rng.random() < 0.5 else 0.0, scoliosis_period=rng.uniform(150, 300),
        scoliosis_phase=rng.uniform(0, 2 * np.pi), cord_ap=rng.uniform(6.5, 8.5), prevertebral=rng.uniform(3, 7),
        airway_ap=rng.uniform(12, 20), neck_front=rng.uniform(55, 75), neck_back=rng.uniform(80, 105), fat_back=rng.uniform(4, 14),
        top_yz=(rng.uniform(DENS_TIP_MIN_MM, DENS_TIP_MAX_FRACTION * fov_y), fov_z * rng.uniform(0.44, 0.56)),
        midline_x=fov_x / 2 + rng.uniform(-2.5, 2.5), pathology=pathology,
    )
    # drawn after everything above, so that the rest of the anatomy of a seed does not move
    degenerate_discs(rng, levels)
    anatomy.bone = sample_bone(rng)
    anatomy.head = HeadShape(clivus_slope=np.tan(np.deg2rad(rng.uniform(15, 35))), clivus_mm=rng.uniform(8, 12), cistern_mm=rng.uniform(2.5, 6),
                             pons_ap_mm=rng.uniform(22, 28), medulla_ap_mm=rng.uniform(10, 13), magna_mm=rng.uniform(3, 10),
                             tonsil_s=rng.uniform(-12, -2), skull_mm=rng.uniform(5, 9))
    anatomy.bone = replace(anatomy.bone, dens_line=bool(rng.random() < 0.3))  # last: the rest stays put
    bulge_discs(rng, levels)
    anatomy.head = replace(anatomy.head, pia_mm=float(rng.uniform(0.5, 1.5)))
    anatomy.septa = draw_septa(rng)
    anatomy.bone = replace(anatomy.bone, dens_line_mm=float(rng.uniform(*DENS_LINE_MM)))
    return anatomy


def draw_septa(rng: np.random.Generator) -> tuple[Septum, ...]:
    """One to three fat planes in the posterior neck muscles (the real T2w scans show bright fat between the trapezius,
    splenius and semispinalis layers), spread over the muscle layer's depth."""
    n = int(rng.integers(1, 4))
    depths = np.sort(rng.uniform(0.2, 0.9, size=n))
    return tuple(Septum(float(f), float(rng.uniform(0.8, 2.5)), float(rng.uniform(0, 2)), float(rng.uniform(60, 150)), float(rng.uniform(0, 2 * np.pi)))
                 for f in depths)


def bulge_discs(rng: np.random.Generator, levels: list[Level]) -> None:
    """Every disc's annulus bulges a little behind the posterior body line (0.3-1.8 mm; a protruded disc keeps its
    larger protrusion), in place: on real sagittal scans the front of the CSF column is scalloped, dented at each
    disc, and the disc labels sit at that posterior tip. One draw per level, after every other draw."""
    for lv in levels:
        lv.protrusion = max(lv.protrusion, float(rng.uniform(0.3, 1.8)))


def sample_bone(rng: np.random.Generator) -> BoneShape:
    """One subject's vertebral body and disc detail (ranges in the module docstring); the dens line is drawn separately."""
    return BoneShape(concavity_mm=rng.uniform(0.5, 2.0), corner_mm=rng.uniform(1.5, 4.0), cortex_mm=rng.uniform(0.4, 1.2),
                     basivertebral=bool(rng.random() < 0.5), nucleus_scale=rng.uniform(0.8, 1.25), endplate_mm=rng.uniform(0.8, 2.0))


# probability that a healthy adult's disc below each vertebra is dark (dehydrated) or thin (Matsumoto et al. 1998)
DEGENERATION_RATE = {"C2": 0.05, "C3": 0.12, "C4": 0.2, "C5": 0.3, "C6": 0.25, "C7": 0.1, "T1": 0.05}


def degenerate_discs(rng: np.random.Generator, levels: list[Level]) -> None:
    """Mark some discs as degenerated (no bright nucleus, 70-95 % of the height), in place; one draw per level."""
    for lv in levels:
        draw = rng.random()
        if draw < DEGENERATION_RATE.get(lv.name, 0.05) and not lv.degenerated:
            lv.degenerated = True
            lv.disc_height *= 0.7 + 0.25 * draw / DEGENERATION_RATE.get(lv.name, 0.05)


# level-random anatomy (``randomise_levels``): each level below C2 drawn apart from its neighbours and its name, so that a
# model cannot name a disc by the look of the vertebrae beside it (measured on the real scans: real_trials.md)
LEVEL_RANDOM_BODY = (0.8, 1.2)  # factor on each body's height
LEVEL_RANDOM_DISC = (0.75, 1.3)  # factor on each disc's height
LEVEL_RANDOM_DEPTH = (0.9, 1.1)  # factor on each body's depth
LEVEL_RANDOM_DEGENERATION = 0.15  # rate of a dark, thin disc at every level alike


def randomise_levels(rng: np.random.Generator, levels: list[Level], c2_disc: bool = False) -> None:
    """Sizes and degeneration of every level below C2 drawn independently of its name, in place: body height, disc
    height and body depth scaled by a factor from ``LEVEL_RANDOM_*`` each, and a disc not yet degenerated made so at
    ``LEVEL_RANDOM_DEGENERATION`` (60-85 % of its height). C2 and the dens stay as drawn: the anchor of the names;
    ``c2_disc``: the disc below C2 (C2-C3) drawn like the others all the same (height and degeneration; C2's bone stays),
    so that C2 must be told by its bone, not by a clear first disc below it. Four draws per level, in level order."""
    for lv in levels:
        factors = rng.uniform(*LEVEL_RANDOM_BODY), rng.uniform(*LEVEL_RANDOM_DISC), rng.uniform(*LEVEL_RANDOM_DEPTH)
        degenerate = rng.random()
        if lv.name == "C2":
            if not c2_disc:
                continue
            factors = (1.0, factors[1], 1.0)
        lv.body_height, lv.disc_height, lv.depth = lv.body_height * factors[0], lv.disc_height * factors[1], lv.depth * factors[2]
        if degenerate < LEVEL_RANDOM_DEGENERATION and not lv.degenerated:
            lv.degenerated = True
            lv.disc_height *= 0.6 + 0.25 * degenerate / LEVEL_RANDOM_DEGENERATION


# junction-random anatomy (``randomise_junction``): the cervicothoracic junction's cues drawn apart from the C7-T1 level, so
# that a model cannot name the lower neck's discs by where the chest begins (real necks differ: real_trials.md)
JUNCTION_RANDOM_INLET_MM = (-30.0, 30.0)  # thoracic inlet relative to the bottom of the C7-T1 disc (about +-1.5 levels)
JUNCTION_RANDOM_TURN_MM = (-20.0, 20.0)  # lordosis-kyphosis turn relative to it (about +-1 level)
JUNCTION_RANDOM_SPINOUS_MM = (16.0, 30.0)  # spinous process length of every vertebra below C2 (C2's stays 28 mm)


def randomise_junction(rng: np.random.Generator, anatomy: Anatomy) -> None:
    """The thoracic inlet, the lordosis-kyphosis turn and the spinous process lengths below C2 drawn independently of the
    levels (ranges ``JUNCTION_RANDOM_*``), in place. Draws: inlet, turn, then one length per vertebra in level order."""
    anatomy.inlet_offset_mm = float(rng.uniform(*JUNCTION_RANDOM_INLET_MM))
    anatomy.turn_offset_mm = float(rng.uniform(*JUNCTION_RANDOM_TURN_MM))
    lengths = rng.uniform(*JUNCTION_RANDOM_SPINOUS_MM, size=len(anatomy.levels))
    anatomy.spinous_mm = tuple(28.0 if lv.name == "C2" else float(x) for lv, x in zip(anatomy.levels, lengths))


def cord_centre_mm(canal_mm: np.ndarray | float) -> np.ndarray | float:
    """Distance (mm) of the cord's centre behind the posterior body line, for a canal ``canal_mm`` deep: the cord
    lies a little in front of the canal's middle."""
    return 1.0 + 0.45 * canal_mm


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
    inlet = anatomy.inlet_mm()
    thorax = np.clip((s - inlet + 20) / 60, 0, 1)  # 0 in the neck, 1 in the chest
    front = -(anatomy.neck_front + 45 * thorax)
    back = anatomy.neck_back + 10 * thorax
    inside = (d > front) & (d < back)
    out[inside] = FAT
    out[inside & (d > front + 4) & (d < back - anatomy.fat_back)] = MUSCLE
    spans = anatomy.level_spans()
    depth_at = np.interp(s, [sp[1] for sp in spans], [sp[0].depth for sp in spans])
    canal_at = np.interp(s, [-40.0, 0.0] + [sp[1] for sp in spans], [22.0, 20.0] + [sp[0].canal for sp in spans])
    muscle_top, muscle_bottom = canal_at + 3.0, back - anatomy.fat_back  # the posterior muscle layer
    for sp in anatomy.septa:
        centre = muscle_top + sp.depth * (muscle_bottom - muscle_top) + sp.wave_mm * np.sin(2 * np.pi * s / sp.period_mm + sp.phase)
        out[(out == MUSCLE) & (np.abs(d - centre) < sp.thickness_mm / 2) & (s > -25)] = FAT
    # airway in front of the neck, mediastinum in front of the chest
    airway_front = -(depth_at + anatomy.prevertebral + anatomy.airway_ap)
    out[(s > -35) & (s < inlet + 10) & (d < -(depth_at + anatomy.prevertebral)) & (d > airway_front)] = AIR
    out[(s >= inlet + 10) & (d < -(depth_at + 4)) & (d > front + 6)] = MEDIASTINUM
    # canal, cord
    canal = (d > 1.0) & (d < canal_at) & (s > -30)
    out[canal] = CSF
    cord_ap = np.where(s < 0, anatomy.cord_ap + np.clip(-s, 0, 30) * 0.25, anatomy.cord_ap - 1.0 * thorax)
    cord_centre = cord_centre_mm(canal_at)
    out[(np.abs(d - cord_centre) < cord_ap / 2) & (s > -40) & (d > 0)] = CORD
    draw_head(out, s, d, anatomy)
    draw_dens_and_c1(out, s, d, anatomy)
    # vertebral bodies, discs, posterior elements
    for i, (lv, top, bottom, disc_bottom) in enumerate(spans):
        slope = 0.35 if lv.name.startswith("C") else 0.9
        length = anatomy.spinous_length_mm(i)
        flavum_end = spans[i + 1][1] + 2 if i + 1 < len(spans) else bottom + 6
        draw_vertebra(out, s, d, lv, top, bottom, disc_bottom, Process(slope, length, top + 2, bottom - 1), flavum_end, anatomy.bone)
    fuse_dens(out, s, d, anatomy)
    out[(d >= 0) & (d < 1.0) & (s > 0) & ((out == CSF) | (out == ANNULUS))] = LIGAMENT  # posterior longitudinal ligament
    return out


S_FORAMEN = -5.0  # arc length of the foramen magnum (basion, opisthion), mm above the dens tip


def _bump(x: np.ndarray) -> np.ndarray:
    return np.clip(1 - x * x, 0, None)


def draw_head(out: np.ndarray, s: np.ndarray, d: np.ndarray, anatomy: Anatomy) -> None:
    """Everything above the foramen magnum (s < ``S_FORAMEN``), in place, over what the canal and cord
    drawing left there: clivus, posterior fossa (brain stem, fourth ventricle, cerebellum and its tonsils,
    cisterna magna) inside the occipital bone. Call it after the canal and cord, before the dens and C1."""
    h, fm = anatomy.head, S_FORAMEN
    up = np.clip(fm - s, 0, None)  # mm above the foramen magnum
    above = s < fm
    clivus_back = -3.0 - h.clivus_slope * up  # posterior surface of the clivus; the basion at (fm, -3)
    # inner table of the occipital bone: an ellipse through the opisthion (fm, 23), deepest 62 mm behind the column
    s0, d0, rs, rd = fm - 45.0, 10.0, 46.5, 52.0
    inner = ((s - s0) / rs) ** 2 + ((d - d0) / rd) ** 2
    outer = ((s - s0) / (rs + h.skull_mm)) ** 2 + ((d - d0) / (rd + h.skull_mm)) ** 2
    fossa = above & (inner < 1) & (d > clivus_back)
    out[fossa] = CSF
    # brain stem: continues the cord, leaning forward a third as much as the clivus; the pons bulges forward
    # towards the clivus, a cistern away from it; the medulla widens from the cord's size over 14 mm
    cord_back = cord_centre_mm(20.0) + (anatomy.cord_ap + 1.25) / 2  # the cord at the foramen: canal 20 mm, 1.25 mm wider
    back = cord_back - 0.33 * h.clivus_slope * up
    blend = np.clip(up / 14, 0, 1)
    ap = anatomy.cord_ap + 1.25 + (h.medulla_ap_mm - anatomy.cord_ap - 1.25) * blend
    ap = ap + (h.pons_ap_mm - h.medulla_ap_mm) * _bump((s - (fm - 40)) / 15) + 4.0 * np.clip((fm - 55 - s) / 20, 0, 1)
    front = np.maximum(back - ap, clivus_back + h.cistern_mm)
    out[above & (d > front) & (d < back) & (s > fm - 95)] = CORD
    ventricle = back + 7.0 * _bump((s - (fm - 33)) / 14)  # fourth ventricle: a tent behind the pons and upper medulla
    out[above & (d >= back) & (d < ventricle)] = CSF
    # cerebellum behind it down to its tonsils, a thin CSF layer inside the bone; the cisterna magna between
    # its lower surface and the bone
    behind = d - (ventricle + 1.0)
    pia = ((s - s0) / (rs - h.pia_mm)) ** 2 + ((d - d0) / (rd - h.pia_mm)) ** 2
    magna = ((s - s0) / (rs - h.magna_mm)) ** 2 + ((d - d0) / (rd - h.magna_mm)) ** 2
    out[fossa & (behind > 0) & (s < h.tonsil_s) & (pia < 1) & ((magna < 1) | (s < s0))] = BRAIN
    # occipital bone (tables and diploe) behind the canal, from the opisthion up
    bone = (inner >= 1) & (outer < 1) & (d > 12) & (s < fm + 1)
    out[bone] = CORTEX
    mid_r = ((s - s0) / (rs + h.skull_mm / 2)) ** 2 + ((d - d0) / (rd + h.skull_mm / 2)) ** 2
    out[bone & (np.abs(mid_r - 1) < 0.35 * h.skull_mm / (rd + h.skull_mm))] = MARROW
    # clivus, with its cortex, sloping forward from the basion
    clivus = above & (s > fm - 48) & (d <= clivus_back) & (d > clivus_back - h.clivus_mm)
    out[clivus] = CORTEX
    out[clivus & (d < clivus_back - 1.0) & (d > clivus_back - h.clivus_mm + 1.0) & (s < fm - 1.0)] = MARROW


def _oval(out: np.ndarray, s: np.ndarray, d: np.ndarray, centre: tuple[float, float], radii: tuple[float, float], rim_mm: float) -> None:
    """A bone oval (marrow inside a cortical rim) centred at (s, d) with half-axes ``radii`` mm, in place."""
    r = ((s - centre[0]) / radii[0]) ** 2 + ((d - centre[1]) / radii[1]) ** 2
    out[r < 1] = CORTEX
    inner = ((s - centre[0]) / max(radii[0] - rim_mm, 0.5)) ** 2 + ((d - centre[1]) / max(radii[1] - rim_mm, 0.5)) ** 2
    out[inner < 1] = MARROW


def draw_dens_and_c1(out: np.ndarray, s: np.ndarray, d: np.ndarray, anatomy: Anatomy) -> None:
    """The dens of C2 (rounded tip, transverse ligament behind it) and the two arches of C1 (small ovals), in place."""
    dens_front = -anatomy.dens_depth * np.sqrt(np.clip(0.2 + s / 5, 0, 1))
    dens = (s >= 0) & (s < anatomy.dens_height) & (d < 0) & (d > dens_front)
    out[dens] = MARROW
    out[dens & ((d > -0.8) | (d < dens_front + 0.8) | (s < 0.8))] = CORTEX
    out[(s > 2) & (s < 11) & (d >= 0) & (d < 2.0)] = LIGAMENT  # transverse ligament of the atlas
    c1_s = anatomy.dens_height * 0.45
    _oval(out, s, d, (c1_s, -anatomy.dens_depth - 4.5), (5.5, 3.2), anatomy.bone.cortex_mm + 0.4)  # anterior arch
    _oval(out, s, d, (c1_s + 1.5, 26.0), (4.5, 6.5), anatomy.bone.cortex_mm + 0.4)  # posterior arch


def fuse_dens(out: np.ndarray, s: np.ndarray, d: np.ndarray, anatomy: Anatomy) -> None:
    """The dens and the body of C2 are one bone, in place: call it after ``draw_vertebra`` has drawn C2 like any other
    body (top endplate, rounded corners, cortex). Their junction becomes marrow with cortex only at the front and the
    back, the front widening from the dens to the body, so no disc-like band separates the two (the C1-C2 label lies in
    this bone, at the dens base). With ``bone.dens_line``, the dark line of the fused subdental synchondrosis
    (``bone.dens_line_mm`` thick; its upper half stops 1 mm above the dens base, where the dens is drawn)."""
    height, c2_depth, bone = anatomy.dens_height, anatomy.levels[0].depth, anatomy.bone
    reach = height + bone.concavity_mm + bone.corner_mm + bone.cortex_mm + 1.0  # below C2's drawn top endplate
    widening = np.clip((s - height) / (reach - height), 0, 1)  # 0 at the dens base, 1 where the body is full depth
    front = -(anatomy.dens_depth + (c2_depth - anatomy.dens_depth) * widening)
    junction = (s >= height - 1.0) & (s < reach) & (d < 0) & (d > front)
    out[junction] = MARROW
    out[junction & ((d > -bone.cortex_mm) | (d < front + bone.cortex_mm))] = CORTEX
    if bone.dens_line:
        out[junction & (np.abs(s - height) < bone.dens_line_mm / 2)] = CORTEX


@dataclass(frozen=True)
class Process:
    """Lamina + spinous process of one vertebra: a bar behind the canal, sloping ``slope`` mm of s per mm
    behind it, ``length_mm`` long (behind the canal), between arc lengths ``top_mm`` and ``bottom_mm``."""

    slope: float
    length_mm: float
    top_mm: float
    bottom_mm: float


def _rounded_box(s: np.ndarray, d: np.ndarray, top: np.ndarray, bottom: np.ndarray, depth: float, radius: float) -> np.ndarray:
    """Points inside the box ``top <= s < bottom``, ``-depth < d < 0`` whose corners are rounded by ``radius``."""
    ds = np.maximum(np.maximum(top + radius - s, s - (bottom - radius)), 0)
    dd = np.maximum(np.maximum(-depth + radius - d, d + radius), 0)
    return (s >= top) & (s < bottom) & (d < 0) & (d > -depth) & (ds * ds + dd * dd <= radius * radius)


def draw_vertebra(out: np.ndarray, s: np.ndarray, d: np.ndarray, lv: Level, top: float, bottom: float, disc_bottom: float,
                  process: Process, flavum_end: float, bone: BoneShape = BoneShape()) -> None:
    """One vertebral body (marrow, cortical rim, rounded corners, concave endplates, basivertebral vein), the
    biconvex disc below it (annulus, nucleus), its lamina and spinous process and the ligamentum flavum below
    them, in place. ``s`` may be any arc-length-like coordinate (column.py passes one whose level lines are the
    tilted endplates)."""
    across = _bump(2 * np.clip(-d / lv.depth, 0, 1) - 1)  # 0 at the front and back of the body, 1 in the middle
    dent = bone.concavity_mm * across
    body_bottom = bottom + (lv.disc_height if lv.fused else 0)
    body = _rounded_box(s, d, top + dent, body_bottom - dent, lv.depth, bone.corner_mm)
    out[body] = CORTEX
    c, e = bone.cortex_mm, bone.endplate_mm
    marrow = _rounded_box(s, d + c, top + dent + e, body_bottom - dent - e, lv.depth - 2 * c, max(bone.corner_mm - c, 0.1))
    out[body & marrow] = MARROW
    if bone.basivertebral:  # the vein enters the middle of the posterior wall
        mid_body = (top + bottom) / 2
        out[body & (np.abs(s - mid_body) < 0.6) & (d > -min(3.0, 0.15 * lv.depth))] = FAT
    if not lv.fused:
        mid = (bottom + disc_bottom) / 2
        bulge = lv.protrusion * np.clip(1 - ((s - mid) / (lv.disc_height * 0.5 + 1.5)) ** 2, 0, 1)
        disc = (s >= bottom - dent) & (s < disc_bottom + dent) & (d > -lv.depth - 0.5) & (d < bulge) & ~body
        out[disc] = ANNULUS
        if not lv.degenerated:
            k = bone.nucleus_scale
            nucleus = ((s - mid) / (0.26 * k * (lv.disc_height + 2 * bone.concavity_mm))) ** 2 + ((d + lv.depth * 0.55) / (0.34 * k * lv.depth)) ** 2 < 1
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
