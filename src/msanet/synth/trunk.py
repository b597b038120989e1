"""Tissue maps of a whole column (column.py) and its trunk, on any voxel grid.

The midline map [Y, Z] (``column_tissue_map``) holds, from the head down: brain, clivus, dens and C1
(anatomy.py), airway and trachea, the thorax (sternum, heart, mediastinum, descending aorta) above a
domed diaphragm, the abdomen (left liver lobe, bowel loops with gas and mesenteric fat, aorta down to
L4) and the pelvis (rectum, bladder, uterus or prostate, pubic symphysis); behind them the column: wedged
bodies and discs, cervical, thoracic (steep, overlapping) and lumbar (square) spinous processes, the
sacrum with its rudimentary S1-S2 disc, dorsal wall and hiatus, and the coccyx; in the canal the cord
with its conus, the filum and the cauda equina lying dependent (supine) in the dural sac, posterior
epidural fat, and fat below the end of the sac. The outline is schematic: chest, abdomen and pelvis
depths come from ``Trunk``.

``extrude_column`` makes it 3D on sub-slices across the left-right axis: every tissue has a half-width
(anatomy.HALF_WIDTH; vertebral bone scaled to each level's body width) beyond which its fallback
tissue lies, centred on the canal's left-right drift (column.Drift, with the axial rotation shearing the
posterior elements), plus the rib heads and necks of T1-T12 beside the bodies (rib n articulates across
the disc above its vertebra for T2-T9, on its own body for T1 and T10-T12; Standring, Gray's Anatomy).
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d

from msanet.synth.anatomy import (
    AIR, ANNULUS, BLOOD, BOWEL, CORD, CORTEX, CSF, FALLBACK, FAT, HALF_WIDTH, HEART, LIGAMENT, LIVER, LUNG, MARROW, MEDIASTINUM,
    MUSCLE, NERVE, NUCLEUS, URINE, VISCERA, Process, cord_centre_mm, draw_dens_and_c1, draw_head, draw_vertebra, fuse_dens,
)
from msanet.synth.column import STEP_MM, ColumnAnatomy

OUTLINE_SMOOTH_MM = 25.0
BONE = np.zeros(len(HALF_WIDTH), dtype=bool)
BONE[[MARROW, CORTEX, ANNULUS, NUCLEUS]] = True


def _profile(col: ColumnAnatomy, values: dict[float, float], s: np.ndarray) -> np.ndarray:
    """Piecewise-linear profile along s through {vertebral position: value} (column.position_s)."""
    xs = [col.position_s(p) for p in values]
    return np.interp(s, xs, list(values.values()))


def _level_profile(col: ColumnAnatomy, u: np.ndarray, attr: str, after: float) -> np.ndarray:
    spans = col.level_spans() + col.sacral_spans()
    tops = [sp[1] for sp in spans] + [spans[-1][3]]
    return np.interp(u, tops, [getattr(sp[0], attr) for sp in spans] + [after])


def _outline(col: ColumnAnatomy, anchors: dict[float, float], sign: float, below_tail: float) -> tuple[np.ndarray, np.ndarray]:
    """A skin line ``anchors[p]`` mm in front of (sign -1) or behind (+1) the posterior body line at vertebral
    position p, narrowing by ``below_tail`` mm per mm below the coccyx: (s_b samples, d_b) on the body axis,
    smoothed over OUTLINE_SMOOTH_MM."""
    s = col.curve()[0]
    value = np.interp(s, [col.position_s(p) for p in anchors], list(anchors.values()))
    tail = col.sacral_spans()[-1][3]
    value = np.clip(value - below_tail * np.clip(s - tail, 0, None), 0, None)
    line = gaussian_filter1d(col.body_offset(s) + sign * value, OUTLINE_SMOOTH_MM / STEP_MM, mode="nearest")
    return col.body_s(s), line


def column_tissue_map(col: ColumnAnatomy, s: np.ndarray, d: np.ndarray, sb: np.ndarray, db: np.ndarray, field: np.ndarray) -> np.ndarray:
    """Tissue class of every midline point: int8 array shaped like ``s``. (s, d): column coordinates
    (anatomy.sd_coordinates); (sb, db): body-axis coordinates (ColumnAnatomy.body_coordinates); ``field``:
    a smooth zero-mean unit-variance random field (bowel loops)."""
    u = col.warp(s, d)
    t, sacrum = col.trunk, 2 + len(col.levels)
    tail_pos = sacrum + len(col.sacrum)
    front = np.interp(sb, *_outline(col, {2.0: col.neck_front, 7.5: col.neck_front + 10, 10.0: 0.85 * t.chest_front_mm, 13.0: t.chest_front_mm,
                                          17.0: 0.95 * t.chest_front_mm, 20.0: (t.chest_front_mm + t.abdomen_front_mm) / 2, 22.0: t.abdomen_front_mm,
                                          sacrum + 0.0: 0.92 * t.abdomen_front_mm, sacrum + 3.0: t.pelvis_front_mm, tail_pos: 0.9 * t.pelvis_front_mm},
                                     -1.0, 1.5))
    back = np.interp(sb, *_outline(col, {2.0: col.neck_back, 8.0: col.neck_back, 13.0: t.back_thorax_mm, 20.0: (t.back_thorax_mm + t.back_lumbar_mm) / 2,
                                         22.0: t.back_lumbar_mm, sacrum + 0.0: (t.back_lumbar_mm + t.back_sacrum_mm) / 2, sacrum + 2.0: t.back_sacrum_mm,
                                         tail_pos: 0.8 * t.back_sacrum_mm}, 1.0, 0.3))
    out = np.full(s.shape, AIR, dtype=np.int8)
    inside = (db > front) & (db < back) & (sb < col.body_s(col.sacral_spans()[-1][3]) + 80)
    out[inside] = FAT
    out[inside & (db > front + t.fat_front_mm) & (db < back - t.fat_back_mm)] = MUSCLE
    depth = _level_profile(col, u, "depth", 4.0)
    canal = np.where(u > -40, _level_profile(col, u, "canal", 0.0), 22.0)
    _cavities(out, col, s, d, sb, db, depth, front, field)
    _canal(out, col, u, d, canal)
    draw_head(out, u, d, col)
    draw_dens_and_c1(out, u, d, col)
    _vertebrae(out, col, u, d)
    fuse_dens(out, u, d, col)
    out[(d >= 0) & (d < 1.0) & (u > 0) & (u < col.sacrum_top_s()) & ((out == CSF) | (out == ANNULUS))] = LIGAMENT  # PLL
    return out


def _cavities(out: np.ndarray, col: ColumnAnatomy, s: np.ndarray, d: np.ndarray, sb: np.ndarray, db: np.ndarray, depth: np.ndarray,
              front: np.ndarray, field: np.ndarray) -> None:
    """Airway, thorax, abdomen and pelvis in front of the column, in place. Near the column in column
    coordinates (s, d), further out in body-axis coordinates (sb, db)."""
    t, pos = col.trunk, col.position_s

    def pb(position: float) -> float:
        return float(col.body_s(pos(position)))

    wall = front + t.fat_front_mm + 10.0  # inner surface of the anterior body wall (db)
    spine_front = -(depth + 2.0)  # d
    spine_front_b = col.body_offset(s) + spine_front  # the same line in db (valid near the column)
    airway = (s > -35) & (d < -(depth + col.prevertebral)) & (d > -(depth + col.prevertebral + col.airway_ap))
    out[airway & (s < pos(7.8))] = AIR
    cavity = (sb >= pb(7.8)) & (d < spine_front) & (db > wall)
    r = np.clip((spine_front_b - db) / np.maximum(spine_front_b - wall, 1.0), 0, 1)  # 0 at the column, 1 at the front wall
    diaphragm = pb(19.5) + (pb(16.8) - pb(19.5)) * np.sqrt(r)  # domed: T12 behind, T9 in front
    thorax = cavity & (sb < diaphragm)
    out[thorax] = MEDIASTINUM
    out[thorax & (db < wall + 14)] = FAT  # retrosternal and pericardial fat
    out[thorax & (sb < pb(12.5)) & (d > spine_front - 30) & (d < spine_front - 14)] = AIR  # trachea down to the carina
    heart_si, heart_ap = t.heart_mm
    hs, hd = pb(16.8) - heart_si / 2 + 8, wall + heart_ap / 2 + 10
    out[thorax & (((sb - hs) / (heart_si / 2)) ** 2 + ((db - hd) / (heart_ap / 2)) ** 2 < 1)] = HEART
    arch = ((sb - (hs - heart_si / 2)) / 28) ** 2 + ((db - (hd + spine_front_b) / 2) / ((spine_front_b - hd) / 2 + 4)) ** 2
    out[thorax & (sb < hs - heart_si / 2) & (arch < 1) & (arch > (1 - t.aorta_mm / 30) ** 2)] = BLOOD  # aortic arch
    sternum = (sb > pb(10.0)) & (sb < pb(16.5)) & (db > front + t.fat_front_mm + 4) & (db < front + t.fat_front_mm + 16)
    out[sternum] = CORTEX
    out[sternum & (db > front + t.fat_front_mm + 5) & (db < front + t.fat_front_mm + 15)] = MARROW
    abdomen = cavity & (sb >= diaphragm)
    loops = np.where(field > 2.1, AIR, np.where(field > -1.3, BOWEL, FAT)).astype(np.int8)  # gas, bowel, mesenteric fat
    out[abdomen] = loops[abdomen]
    out[abdomen & (sb < pb(t.liver_end) - 45 * (1 - r) ** 2) & (r > 0.35)] = LIVER
    aorta = (s > pos(11.0)) & (s < pos(23.5)) & (d < spine_front - 1) & (d > spine_front - 1 - 0.75 * t.aorta_mm * np.where(sb < diaphragm, 1.0, 0.8))
    out[aorta & cavity] = BLOOD
    # pelvis, around the lower end of the column
    tail = col.sacral_spans()[-1][3]
    pelvis = cavity & (sb > pb(2 + len(col.levels) - 0.5))
    out[pelvis & (s > col.level_top_s("S3")) & (d > spine_front - 25)] = BOWEL  # rectum
    b_s, b_d = float(col.body_s(tail)) - 10, wall + t.bladder_mm + 3
    out[pelvis & (((sb - b_s) / t.bladder_mm) ** 2 + ((db - b_d) / (0.9 * t.bladder_mm)) ** 2 < 1)] = URINE
    if t.female:  # uterus above and behind the bladder
        v_s, v_d, v_size = b_s - t.bladder_mm, b_d + t.bladder_mm * 0.8, (35.0, 20.0)
    else:  # prostate below it
        v_s, v_d, v_size = b_s + t.bladder_mm + 8, b_d + 6, (16.0, 14.0)
    out[pelvis & (((sb - v_s) / v_size[0]) ** 2 + ((db - v_d) / v_size[1]) ** 2 < 1)] = VISCERA
    p_s = float(col.body_s(tail)) + 15
    pubis = ((sb - p_s) / 22) ** 2 + ((db - wall + 2) / 9) ** 2
    out[(pubis < 1) & (out != AIR)] = CORTEX
    out[(pubis < 0.8) & (out == CORTEX)] = MARROW


def _canal(out: np.ndarray, col: ColumnAnatomy, u: np.ndarray, d: np.ndarray, canal: np.ndarray) -> None:
    """Dural sac (CSF), epidural fat, cord and conus, filum and cauda equina, in place."""
    pos = col.position_s
    lumbar = (u > pos(19.6)) & (u < col.sacrum_top_s() + 10)
    epidural = np.where(lumbar, 3.0, np.where(u > pos(12.0), 1.0, 0.0))  # posterior epidural fat
    sac_taper = np.clip((col.sac_end_s - u) / 15.0, 0, 1)
    bony = (d > 1.0) & (d < canal) & (u > -30)
    out[bony] = FAT
    sac_back = 1.0 + (canal - epidural - 1.0) * np.sqrt(sac_taper)
    out[bony & (d < sac_back) & (u < col.sac_end_s)] = CSF
    thorax = np.clip((u - col.cervical_length() + 20) / 60, 0, 1)
    cord_ap = np.where(u < 0, col.cord_ap + np.clip(-u, 0, 30) * 0.25, col.cord_ap - 1.0 * thorax)
    enlargement = np.exp(-(((u - (col.conus_s - 45)) / 25) ** 2))  # lumbar enlargement above the conus
    cord_ap = (cord_ap + 1.2 * enlargement) * np.clip((col.conus_s - u) / 22, 0, 1) ** 0.7
    centre = cord_centre_mm(canal)
    out[(np.abs(d - centre) < cord_ap / 2) & (u > -40) & (d > 0) & (u < col.conus_s)] = CORD
    below = (u >= col.conus_s - 2) & (u < col.sac_end_s) & (d > 1.0)
    out[below & (np.abs(d - centre) < 0.5)] = NERVE  # filum terminale
    for k, depth_mm in enumerate((1.6, 3.0, 4.4)):  # cauda equina roots, dependent in the supine sac
        wave = 0.4 * np.sin(u / (9.0 + 2 * k) + k)
        out[below & (np.abs(d - (sac_back - depth_mm + wave)) < 0.55) & (out == CSF)] = NERVE


def _process(lv, top: float, bottom: float, disc_bottom: float) -> Process:
    region, number = lv.name[0], int(lv.name[1:])
    if region == "C":
        return Process(0.35, 28.0 if number in (2, 7) else 18.0, top + 2, bottom - 1)
    if region == "T" and number <= 10:
        return Process(0.9, 28.0, top + 2, bottom - 1)
    if region == "T":
        return Process(0.45, 30.0, top + 3, bottom)
    height = bottom - top  # lumbar: a square process over the lower body and the disc below
    return Process(0.12, 0.95 * lv.depth, top + 0.3 * height, bottom + 0.5 * (disc_bottom - bottom))


def _vertebrae(out: np.ndarray, col: ColumnAnatomy, u: np.ndarray, d: np.ndarray) -> None:
    """Bodies, discs and posterior elements C2..L, then sacrum and coccyx, in place."""
    spans = col.level_spans()
    for i, (lv, top, bottom, disc_bottom) in enumerate(spans):
        flavum_end = spans[i + 1][1] + 2 if i + 1 < len(spans) else bottom + 6
        draw_vertebra(out, u, d, lv, top, bottom, disc_bottom, _process(lv, top, bottom, disc_bottom), flavum_end, col.bone)
    sacral = col.sacral_spans()
    for lv, top, bottom, joint_bottom in sacral:
        draw_vertebra(out, u, d, lv, top, bottom, joint_bottom, Process(0.0, 0.0, top, top), top, col.bone)
    hiatus = col.position_s(2 + len(col.levels) + 3.5)
    top, canal_at = sacral[0][1], _level_profile(col, u, "canal", 0.0)
    dorsal = (u > top + 4) & (u < hiatus) & (d > canal_at) & (d < canal_at + 8.0 + 4.0 * (np.cos(u / 4.0) > 0.6))
    out[dorsal] = CORTEX
    out[dorsal & (d > canal_at + 1.2) & (d < canal_at + 6.8)] = MARROW
    if col.hemangioma is not None:  # fat-containing, bright on T1w and T2w
        name, fs, fd, radius = col.hemangioma
        lv = next(lv for lv in col.levels if lv.name == name)
        centre = col.level_top_s(name) + fs * lv.body_height
        out[((u - centre) ** 2 + (d + fd * lv.depth) ** 2 < radius**2) & (out == MARROW)] = FAT


def _rib_heads(col: ColumnAnatomy) -> list[tuple[float, float, float, float, float]]:
    """(u, d, lateral mm, radius mm, canal AP) of the T1..T12 rib heads (one side)."""
    ribs = []
    spans = col.level_spans()
    for k, (lv, top, _, _) in enumerate(spans):
        if lv.name[0] != "T":
            continue
        number = int(lv.name[1:])
        above = spans[k - 1][0]
        u = top + 0.3 * lv.body_height if number in (1, 10, 11, 12) else top - above.disc_height / 2
        ribs.append((u, -0.22 * lv.depth, lv.half_width + 3.5, float(np.clip(0.2 * lv.depth, 4.5, 7.0)), lv.canal))
    return ribs


def extrude_column(col: ColumnAnatomy, tissue2d: np.ndarray, s2d: np.ndarray, d2d: np.ndarray, x_mm: np.ndarray) -> np.ndarray:
    """3D tissue map [X, Y, Z] (X = len(x_mm), e.g. sub-slices of thick slices) from the midline map [Y, Z]."""
    u2d = col.warp(s2d, d2d)
    canal = _level_profile(col, u2d, "canal", 0.0)
    width = np.where(d2d < 1.0, _level_profile(col, u2d, "half_width", 6.0) / 10.0, np.where(d2d - canal < 10, 1.4, 0.45))
    centre = col.midline_x + col.drift.offset_mm(s2d) + np.tan(col.drift.rotation_rad(s2d)) * np.clip(d2d, -40, 70)
    windows = []
    for u_c, d_c, lat, radius, rib_canal in _rib_heads(col):
        rows, cols = np.nonzero((np.abs(u2d - u_c) < 14) & (d2d > d_c - 12) & (d2d < rib_canal + 14))
        if len(rows):
            win = (slice(rows.min(), rows.max() + 1), slice(cols.min(), cols.max() + 1))
            windows.append((win, u_c, d_c, lat, radius, rib_canal))
    out = np.empty((len(x_mm),) + tissue2d.shape, dtype=np.int8)
    for i, x in enumerate(x_mm):
        lateral = np.abs(x - centre)
        t = tissue2d.copy()
        for _ in range(4):  # at most four fallbacks deep (e.g. cord -> csf -> cortex -> muscle)
            half = HALF_WIDTH[t] * np.where(BONE[t], width, 1.0)
            beyond = lateral > half
            if not beyond.any():
                break
            t[beyond] = FALLBACK[t[beyond]]
        for win, u_c, d_c, lat, radius, rib_canal in windows:
            _draw_rib(t[win], u2d[win], d2d[win], lateral[win], u_c, d_c, lat, radius, rib_canal)
        out[i] = t
    return out


def _draw_rib(t: np.ndarray, u: np.ndarray, d: np.ndarray, a: np.ndarray, u_c: float, d_c: float, lat: float, radius: float,
              rib_canal: float) -> None:
    """Cross-section of a rib head (a sphere at lateral distance ``lat``) and its neck (running 14 mm further
    out and back to the transverse process) in one sagittal sub-slice window, in place."""
    soft = np.isin(t, (MUSCLE, FAT, MEDIASTINUM, BLOOD, LUNG))
    head_r2 = np.clip(radius**2 - (a - lat) ** 2, 0, None)
    rr = (u - u_c) ** 2 + (d - d_c) ** 2
    frac = np.clip((a - lat) / 14.0, 0, 1)
    neck_d = d_c + frac * (rib_canal + 6 - d_c)
    neck = (a > lat) & (a < lat + 14) & (((u - u_c - 2 * frac) / 4.0) ** 2 + ((d - neck_d) / 6.0) ** 2 < 1)
    bone = ((rr < head_r2) | neck) & soft
    t[bone] = CORTEX
    inner = ((rr < np.clip(np.sqrt(head_r2) - 1.0, 0, None) ** 2) | (neck & (((u - u_c - 2 * frac) / 3.0) ** 2 + ((d - neck_d) / 5.0) ** 2 < 1))) & bone
    t[inner] = MARROW
