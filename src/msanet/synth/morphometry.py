"""Published adult morphometry below the cervical spine, and how the sagittal curves are shared out.

The cervical and T1-T6 ranges are in anatomy.py (``draw_level``); T7-T12 continue its thoracic formulas.
Sources (adult ranges; mm unless stated):

- thoracic bodies: posterior height 14.5-16.5 at T1 rising ~0.7 per level (22-24 at T12), upper endplate
  depth 16-19 at T1 rising ~1.5 per level, endplate width ~26 at T1 to ~40 at T12:
  Panjabi et al., Spine 1991;16(8):888-901.
- thoracic discs: 3.5-5.5 high at T1-T6, taller below (5-7 at T11-T12): Pooni et al., Surg Radiol Anat
  1986;8(3):175-182.
- lumbar bodies: posterior height 24-29 (L5 22.5-27, wedged lordotically), upper endplate depth 31-38,
  width 40-52, mid-sagittal bony canal 14.5-19.5: Panjabi et al., Spine 1992;17(3):299-306; Zhou et al.,
  Eur Spine J 2000;9(3):242-248.
- lumbar discs: posterior height 4.5-8.5, anterior height 8-16 (largest at L4-L5 and L5-S1):
  Amonoo-Kuofi, J Anat 1991;175:159-168.
- sagittal alignment of asymptomatic adults: lumbar lordosis L1-S1 60 +- 10 degrees, thoracic kyphosis
  41 +- 8 degrees (T4-T12), sacral slope 41 +- 8 degrees, the C7 plumb line close to the back of S1:
  Vialle et al., J Bone Joint Surg Am 2005;87(2):260-267. Thoracic kyphosis T1-T12 20-65 degrees, rising
  with age: Fon et al., AJR 1980;134(5):979-983.
- share of the lumbar lordosis per segment (about two thirds at L4-S1) and a near-neutral T12-L1:
  Bernhardt & Bridwell, Spine 1989;14(7):717-721; lumbar body wedging (L1-L2 slightly kyphotic, L5
  lordotic): Masharawi et al., Clin Anat 2008;21(1):46-54.
- thoracic kyphosis carried mostly by wedged vertebral bodies (about 70 %), the discs the rest:
  Goh et al., Clin Biomech 1999;14(7):439-448.
- sacrum: 5 fused segments, 95-115 along its posterior body line, S1 endplate depth 30-36 tapering to
  ~12 at S5, a rudimentary S1-S2 disc, sacral curvature 35-65 degrees, canal 12-16 at S1 narrowing to the
  hiatus at S4-S5; coccyx 3-4 segments, 25-40 long, bent forward 15-45 degrees: Standring (ed.), Gray's
  Anatomy, 41st ed., Elsevier 2016.
- lumbosacral transitional vertebrae in 4-30 % of adults (Konin & Walz, AJNR 2010;31(10):1778-1786):
  here 10 %, half with 4 lumbar vertebrae (L5 sacralised) and half with 6 (S1 lumbarised).
"""

from __future__ import annotations

import numpy as np

from msanet.synth.anatomy import Level, draw_level

LUMBAR = {  # posterior body height, endplate depth, canal AP, disc posterior height (below), endplate width
    1: ((24.0, 28.0), (31.0, 35.0), (15.5, 19.5), (4.5, 7.0), (40.0, 44.0)),
    2: ((25.0, 29.0), (32.0, 36.0), (15.0, 19.0), (5.0, 7.5), (42.0, 46.0)),
    3: ((25.0, 28.5), (33.0, 37.0), (14.5, 18.5), (5.0, 8.0), (44.0, 48.0)),
    4: ((24.0, 28.0), (33.0, 38.0), (14.5, 18.5), (5.0, 8.5), (45.0, 50.0)),
    5: ((22.5, 27.0), (33.0, 38.0), (15.0, 19.5), (4.5, 8.0), (47.0, 52.0)),
    6: ((22.0, 26.0), (33.0, 37.0), (15.0, 19.0), (3.5, 6.5), (46.0, 51.0)),  # a lumbarised S1
}
# share of the lumbar lordosis (L1 upper to S1 upper endplate) per disc and per body, counted from the
# bottom (the last entry is the lumbosacral disc / the lowest lumbar body); Bernhardt & Bridwell 1989,
# Masharawi et al. 2008. Renormalised for 4 or 6 lumbar vertebrae.
LORDOSIS_DISC_SHARE = (0.04, 0.07, 0.11, 0.16, 0.23, 0.26)
LORDOSIS_BODY_SHARE = (-0.03, -0.03, 0.00, 0.03, 0.05, 0.12)
THORACIC_BODY_SHARE = 0.7  # Goh et al. 1999
SACRAL_SHARES = (0.05, 0.20, 0.25, 0.25, 0.25)  # sacral curvature per segment S1..S5
SACRAL_HEIGHT_SHARES = (0.27, 0.24, 0.20, 0.16, 0.13)
SACRAL_DEPTH_SHARES = (1.0, 0.80, 0.62, 0.48, 0.38)
TRANSITIONAL_RATE = {4: 0.05, 6: 0.05}


def draw_lumbar_count(rng: np.random.Generator) -> int:
    """4, 5 or 6 mobile lumbar vertebrae (lumbosacral transitional anatomy in 10 % of subjects)."""
    u = rng.random()
    return 4 if u < TRANSITIONAL_RATE[4] else 6 if u < TRANSITIONAL_RATE[4] + TRANSITIONAL_RATE[6] else 5


def level_half_width_mm(name: str) -> float:
    """Half the vertebral body width at the level, mm (Panjabi 1991, 1992; cervical as anatomy.HALF_WIDTH)."""
    region, number = name[0], int(name[1:])
    if region == "C":
        return 10.0
    if region == "T":
        return 13.0 + 0.6 * (number - 1)
    return float(np.mean(LUMBAR[min(number, 6)][4]) / 2)


def draw_lumbar_level(rng: np.random.Generator, number: int, scale: float) -> Level:
    """Lumbar vertebra ``number`` (1..6) and the disc below it (posterior heights), five draws."""
    if not 1 <= number <= 6:
        raise ValueError(f"lumbar vertebra number {number!r} must be in 1..6")
    body, depth, canal, disc, width = LUMBAR[number]
    lv = Level(f"L{number}", rng.uniform(*body) * scale, rng.uniform(*disc) * scale, rng.uniform(*depth) * scale, rng.uniform(*canal))
    lv.half_width = rng.uniform(*width) * scale / 2
    return lv


def draw_mobile_levels(rng: np.random.Generator, lumbar_count: int, scale: float) -> list[Level]:
    """C2..T12 and ``lumbar_count`` lumbar levels, each a vertebra and the disc below it (posterior heights)."""
    if lumbar_count not in (4, 5, 6):
        raise ValueError(f"lumbar_count={lumbar_count!r} must be 4, 5 or 6")
    names = ["C2", "C3", "C4", "C5", "C6", "C7"] + [f"T{t}" for t in range(1, 13)]
    levels = [draw_level(rng, name, scale) for name in names]
    for lv in levels:
        lv.half_width = level_half_width_mm(lv.name) * (scale if lv.name[0] == "T" else 1.0)
        if lv.name[0] == "T" and int(lv.name[1:]) > 6:  # lower thoracic discs are taller (Pooni 1986)
            lv.disc_height *= 1.0 + 0.06 * (int(lv.name[1:]) - 6)
    return levels + [draw_lumbar_level(rng, k, scale) for k in range(1, lumbar_count + 1)]


def share_curves(levels: list[Level], lordosis_c_deg: float, kyphosis_t_deg: float, lordosis_l_deg: float) -> None:
    """Set every level's body and disc wedge angles (degrees, + lordotic) so that C2-C7 carries
    ``lordosis_c_deg``, T1-T12 ``kyphosis_t_deg`` and L1-S1 ``lordosis_l_deg``; in place."""
    cervical = [lv for lv in levels if lv.name[0] == "C"]
    thoracic = [lv for lv in levels if lv.name[0] == "T"]
    lumbar = [lv for lv in levels if lv.name[0] == "L"]
    for lv in cervical[:-1]:  # discs C2-C3 .. C6-C7 carry 80 %, bodies C3..C7 20 %
        lv.disc_wedge = 0.8 * lordosis_c_deg / (len(cervical) - 1)
    for lv in cervical[1:]:
        lv.body_wedge = 0.2 * lordosis_c_deg / (len(cervical) - 1)
    body_w = np.sin(np.pi * (np.arange(1, 13) - 0.5) / 12)  # most wedged at T6-T7
    disc_w = np.sin(np.pi * np.arange(1, 12) / 12)
    for i, lv in enumerate(thoracic):
        lv.body_wedge = -kyphosis_t_deg * THORACIC_BODY_SHARE * body_w[i] / body_w.sum()
        lv.disc_wedge = -kyphosis_t_deg * (1 - THORACIC_BODY_SHARE) * disc_w[i] / disc_w.sum() if i < 11 else 0.0
    n = len(lumbar)
    discs_share, bodies_share = np.array(LORDOSIS_DISC_SHARE[-n:]), np.array(LORDOSIS_BODY_SHARE[-n:])
    total = discs_share.sum() + bodies_share.sum()
    for lv, ds, bs in zip(lumbar, discs_share / total, bodies_share / total):
        lv.disc_wedge, lv.body_wedge = lordosis_l_deg * ds, lordosis_l_deg * bs


def draw_sacrum_coccyx(rng: np.random.Generator, scale: float, s1_depth_mm: float) -> list[Level]:
    """S1..S5 then 3-4 coccygeal segments as levels (the 'disc' of each is the fused or rudimentary joint
    below it; the S1-S2 disc keeps a small remnant). Wedges (+ lordotic) carry the sacral and coccygeal
    curvature."""
    length = rng.uniform(95, 115) * scale
    sacral_curve = rng.uniform(35, 65)
    out = []
    for k in range(5):
        joint = rng.uniform(1.5, 3.5) * scale if k == 0 else rng.uniform(0.8, 1.4)
        lv = Level(f"S{k + 1}", length * SACRAL_HEIGHT_SHARES[k] - joint, joint, s1_depth_mm * SACRAL_DEPTH_SHARES[k],
                   canal=max(4.0, rng.uniform(12, 16) * (1 - 0.17 * k)), degenerated=k > 0)
        lv.body_wedge, lv.half_width = -sacral_curve * SACRAL_SHARES[k], 22.0 * (1 - 0.15 * k) * scale
        out.append(lv)
    n_coccyx = 4 if rng.random() < 0.7 else 3
    coccyx_curve = rng.uniform(15, 45)
    for k in range(n_coccyx):
        size = (10.0, 8.0, 6.5, 5.0)[k] * rng.uniform(0.85, 1.15) * scale
        lv = Level(f"Co{k + 1}", size, rng.uniform(1.0, 2.0), 0.9 * size, canal=0.0, degenerated=True)
        lv.body_wedge, lv.half_width = -coccyx_curve / n_coccyx, 0.6 * size
        out.append(lv)
    return out
