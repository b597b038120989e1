"""The whole column, skull base to coccyx, for thoracic, lumbar and whole-spine scans.

Same coordinates as anatomy.py: arc length ``s`` along the posterior line of the vertebral bodies and
discs (mm, head -> feet, 0 = tip of the dens) and signed distance ``d`` (mm, + posterior). Sizes come
from morphometry.py; the curves (cervical lordosis, thoracic kyphosis, lumbar lordosis, sacral and
coccygeal curvature) are carried by each body's and disc's own wedge angle, as in real spines.

Geometry: the reference line turns with the wedges' curvature smoothed by a Gaussian of ``SMOOTH_MM``,
so that its normals do not cross near the spine; what the smoothing takes away is given back by tilting
the endplates: ``u = s - tan(tilt(s)) * d`` is the coordinate whose level lines are the endplates
(``warp``). A body of posterior height h, depth D and wedge w is then h + D * tan(w) high anteriorly.
The sagittal orientation puts the C7 plumb line near the back of S1 (Vialle et al. 2005), within
``tilt_deg``; the sacral slope follows from the wedges (``sacral_slope_deg``).

Labels count vertebrae from the top, as an SCT user does by counting down from C2: the disc below the
n-th vertebra (C1 = 1) has value n + 1. With 4 lumbar vertebrae the lumbosacral disc L4-S1 is 24 and no
disc is 25; with 6 the L5-L6 disc is 25 and the lumbosacral disc L6-S1 (it would be 26) has no value in
the SCT vocabulary 1..25, so it is drawn but not labelled (``unlabelled_discs``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from scipy.ndimage import gaussian_filter1d

from msanet import discs
from msanet.synth import morphometry as morph
from msanet.synth.anatomy import RADIOGRAPH_MAGNIFICATION, Anatomy, Level, bulge_discs, label_point, project_sd, sample_bone

STEP_MM = 0.5
HEAD_MM = 150.0  # reference line above the dens tip
TAIL_MM = 250.0  # straight reference line below the coccyx
SMOOTH_MM = 12.0
BODY_SMOOTH_MM = 45.0


@dataclass(frozen=True)
class Trunk:
    """Body outline and organs around the column; distances in mm from the posterior body line (d)."""

    chest_front_mm: float  # skin in front of the sternum (T4-T8), > 0 anteriorly
    abdomen_front_mm: float  # skin in front of L3
    pelvis_front_mm: float  # skin over the pubis
    back_thorax_mm: float  # back skin behind T6
    back_lumbar_mm: float  # back skin behind L3
    back_sacrum_mm: float  # skin behind S2
    fat_front_mm: float  # subcutaneous fat, front
    fat_back_mm: float
    aorta_mm: float  # diameter of the descending aorta
    heart_mm: tuple[float, float]  # heart size (SI, AP)
    liver_end: float  # vertebral position of the left lobe's lower edge (e.g. 20.5 = middle of L1)
    bladder_mm: float  # radius of the bladder
    female: bool


@dataclass(frozen=True)
class Drift:
    """Left-right position of the canal along the column: a scoliotic S-curve of two sines, an oblique
    patient position, and the vertebral axial rotation that goes with the curve (spinous processes
    swing further than the bodies). Never more than ``max_mm`` off the patient's midline over the column."""

    amplitudes_mm: tuple[float, float]
    periods_mm: tuple[float, float]
    phases: tuple[float, float]
    oblique: float  # mm of x per mm of s
    rotation_per_mm: float  # radians of axial rotation per mm of scoliotic offset
    max_mm: float

    def _parts(self, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        s = np.asarray(s, dtype=float)
        curve = sum(a * np.sin(2 * np.pi * s / p + ph) for a, p, ph in zip(self.amplitudes_mm, self.periods_mm, self.phases))
        return curve, self.oblique * (s - 350.0)

    @cached_property
    def _gain(self) -> float:
        curve, oblique = self._parts(np.arange(0.0, 800.0, 2.0))
        peak = float(np.abs(curve + oblique).max())
        return min(1.0, self.max_mm / peak) if peak > 0 else 1.0

    def offset_mm(self, s: np.ndarray) -> np.ndarray:
        """Left-right offset (mm) of the canal at arc length ``s``."""
        curve, oblique = self._parts(s)
        return (curve + oblique) * self._gain

    def rotation_rad(self, s: np.ndarray) -> np.ndarray:
        """Axial rotation of the vertebra at ``s`` (radians)."""
        return self._parts(s)[0] * self._gain * self.rotation_per_mm


@dataclass(kw_only=True)
class ColumnAnatomy(Anatomy):
    """An Anatomy whose ``levels`` run C2..L4/L5/L6, followed by the sacrum and coccyx."""

    sacrum: list[Level]  # S1..S5 then Co1..Co3/4
    lumbar_count: int
    lumbar_lordosis_deg: float
    conus_s: float  # tip of the conus medullaris
    sac_end_s: float  # end of the dural sac
    trunk: Trunk
    drift: Drift
    hemangioma: tuple[str, float, float, float] | None = None  # (level, s fraction, d fraction, radius mm)
    notes: dict = field(default_factory=dict)

    # ---- the curve ------------------------------------------------------------------------
    def elements(self) -> tuple[np.ndarray, np.ndarray]:
        """Posterior heights (mm) and wedge angles (radians, + lordotic) of dens, body, disc, body, ... coccyx."""
        heights, wedges = [self.dens_height], [0.0]
        for lv in self.levels + self.sacrum:
            heights += [lv.body_height, lv.disc_height]
            wedges += [np.deg2rad(lv.body_wedge), np.deg2rad(lv.disc_wedge)]
        return np.array(heights), np.array(wedges)

    @cached_property
    def _frame(self) -> dict[str, np.ndarray]:
        heights, wedges = self.elements()
        bounds = np.concatenate([[0.0], np.cumsum(heights)])
        s = np.arange(-HEAD_MM, bounds[-1] + TAIL_MM, STEP_MM)
        inside = (s >= 0) & (s < bounds[-1])
        kappa_exact = np.zeros_like(s)
        kappa_exact[inside] = (wedges / heights)[np.searchsorted(bounds, s[inside], side="right") - 1]
        kappa = gaussian_filter1d(kappa_exact, SMOOTH_MM / STEP_MM, mode="constant")
        i0 = int(np.searchsorted(s, 0.0))
        turn = np.concatenate([[0.0], np.cumsum(kappa[:-1]) * STEP_MM])
        exact = np.concatenate([[0.0], np.cumsum(kappa_exact[:-1]) * STEP_MM])
        tilt = (turn - turn[i0]) - (exact - exact[i0])  # endplate tilt against the reference normal
        theta = turn - turn[i0]
        points = np.cumsum(np.stack([np.cos(theta), np.sin(theta)], axis=1) * STEP_MM, axis=0)
        a, b = (np.array([np.interp(v, s, points[:, k]) for k in (0, 1)]) for v in (self.disc_mid_s("C7"), self.sacrum_top_s()))
        theta += np.deg2rad(self.tilt_deg) - np.arctan2(b[1] - a[1], b[0] - a[0])  # C7 plumb line through S1
        points = np.cumsum(np.stack([np.cos(theta), np.sin(theta)], axis=1) * STEP_MM, axis=0)
        points -= points[i0]
        normal = np.stack([-np.sin(theta), np.cos(theta)], axis=1)
        return {"s": s, "points": points, "normal": normal, "tilt": tilt, "theta": theta}

    @cached_property
    def _body(self) -> dict[str, np.ndarray]:
        f = self._frame
        points = f["points"].copy()  # below the lumbosacral junction the axis runs on straight (T12-L1 -> S1 chord)
        i = int(np.searchsorted(f["s"], self.sacrum_top_s() - 20))
        a = np.array([np.interp(self.disc_mid_s("T12"), f["s"], points[:, k]) for k in (0, 1)])
        points[i:] = points[i] + (f["s"][i:] - f["s"][i])[:, None] * (points[i] - a) / np.linalg.norm(points[i] - a)
        points = gaussian_filter1d(points, BODY_SMOOTH_MM / STEP_MM, axis=0, mode="nearest")
        tangent = np.gradient(points, axis=0)
        tangent /= np.linalg.norm(tangent, axis=1, keepdims=True)
        arc = f["s"][0] + np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))])
        normal = np.stack([-tangent[:, 1], tangent[:, 0]], axis=1)
        line_s, line_d = project_sd(arc, points, normal, f["points"])  # the posterior body line in body coordinates
        return {"s": arc, "points": points, "normal": normal, "line_s": np.maximum.accumulate(line_s), "line_d": line_d}

    def body_coordinates(self, yz_mm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(s_b, d_b) of points [..., 2] relative to the body axis: the reference line smoothed over
        ``BODY_SMOOTH_MM`` and running on straight below the lumbosacral junction, so that its normals do
        not cross inside the trunk (the outline and the organs far from the column are drawn in these
        coordinates; in front of the sacrum and behind the lumbosacral junction the column's own normals
        cross within about 100 mm)."""
        b = self._body
        return project_sd(b["s"], b["points"] + np.asarray(self.top_yz), b["normal"], yz_mm)

    def body_s(self, s: np.ndarray | float) -> np.ndarray:
        """s_b of the posterior body line's point at arc length ``s``."""
        return np.interp(s, self._frame["s"], self._body["line_s"])

    def body_offset(self, s: np.ndarray | float) -> np.ndarray:
        """d_b of the posterior body line's point at arc length ``s``."""
        return np.interp(s, self._frame["s"], self._body["line_d"])

    def curve(self, step: float = STEP_MM) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Samples of the reference line: s [N], points (y, z) [N, 2] mm in the field of view, posterior normals [N, 2]."""
        f = self._frame
        return f["s"], f["points"] + np.asarray(self.top_yz), f["normal"]

    def warp(self, s: np.ndarray, d: np.ndarray) -> np.ndarray:
        """The arc-length coordinate whose level lines are the (tilted) endplates."""
        return s - np.tan(np.interp(s, self._frame["s"], self._frame["tilt"])) * d

    def unwarp_s(self, u: float, d: float) -> float:
        """s of the point at endplate coordinate ``u`` and distance ``d`` (inverse of ``warp`` along s)."""
        s = u
        for _ in range(4):
            s = u + np.tan(np.interp(s, self._frame["s"], self._frame["tilt"])) * d
        return float(s)

    @property
    def sacral_slope_deg(self) -> float:
        """Angle of the S1 upper endplate to the scanner's anterior-posterior axis, degrees."""
        f, s1 = self._frame, self.sacrum_top_s()
        return float(np.rad2deg(np.interp(s1, f["s"], f["theta"]) - np.arctan(np.interp(s1, f["s"], f["tilt"]))))

    # ---- levels ---------------------------------------------------------------------------
    def sacrum_top_s(self) -> float:
        return self.dens_height + sum(lv.body_height + lv.disc_height for lv in self.levels)

    def sacral_spans(self) -> list[tuple[Level, float, float, float]]:
        """(segment, top u, bottom u, joint bottom u) for S1..S5 and the coccygeal segments."""
        spans, s = [], self.sacrum_top_s()
        for lv in self.sacrum:
            spans.append((lv, s, s + lv.body_height, s + lv.body_height + lv.disc_height))
            s += lv.body_height + lv.disc_height
        return spans

    def level_top_s(self, name: str) -> float:
        """Arc length of the upper endplate of vertebra ``name`` (C2..L6, S1..S5, Co1..)."""
        for lv, top, _, _ in self.level_spans() + self.sacral_spans():
            if lv.name == name:
                return top
        raise ValueError(f"vertebra {name!r} is not in this column (lumbar count {self.lumbar_count})")

    def disc_mid_s(self, name: str) -> float:
        """Arc length of the middle of the disc below vertebra ``name`` at the posterior body line."""
        lv = next((lv for lv in self.levels + self.sacrum if lv.name == name), None)
        if lv is None:
            raise ValueError(f"vertebra {name!r} is not in this column (lumbar count {self.lumbar_count})")
        return self.level_top_s(name) + lv.body_height + lv.disc_height / 2

    def position_s(self, position: float) -> float:
        """Arc length of a vertebral position: 1 + k + f is fraction f of the way down the k-th
        vertebra below C1 with its disc (e.g. 20.67 = two thirds down L1)."""
        spans = self.level_spans() + self.sacral_spans()
        k = int(np.clip(np.floor(position) - 2, 0, len(spans) - 1))
        _, top, _, bottom = spans[k]
        return top + (position - 2 - k) * (bottom - top)

    def disc_names(self) -> list[str]:
        """Names of the mobile discs head to feet, as an SCT user counts them: 'C2-C3' .. 'L4-S1' / 'L6-S1'."""
        names = [lv.name for lv in self.levels] + ["S1"]
        return [f"{a}-{b}" for a, b in zip(names[:-1], names[1:])]

    def disc_points_sd(self) -> dict[int, tuple[float, float]]:
        """{SCT value: (s, d)} of every labelled disc's label, counted from the top: ``label_point`` of the disc's posterior tip
        (above it along the endplates' coordinate u, in front of it along d); value 2 (C1-C2) at the dens base as in anatomy.py."""
        out = {2: label_point(self.dens_height * 0.92, 0.0)}
        for n, (lv, _, bottom, disc_bottom) in enumerate(self.level_spans(), start=3):
            if n <= discs.MAX_VALUE:
                u, d = label_point((bottom + disc_bottom) / 2, lv.protrusion)
                out[n] = (self.unwarp_s(u, d), d)
        return out

    def unlabelled_discs(self) -> list[tuple[str, float]]:
        """(name, s) of the discs that have no SCT value (L6-S1 with six lumbar vertebrae)."""
        spans = self.level_spans()
        return [(name, (b + e) / 2) for n, (name, (_, _, b, e)) in enumerate(zip(self.disc_names(), spans), start=3) if n > discs.MAX_VALUE]


def sample_column(rng: np.random.Generator, *, female: bool, height_cm: float, lumbar_count: int | None = None,
                  pathology_rate: float = 0.3) -> ColumnAnatomy:
    """Draw one adult column and trunk (ranges in morphometry.py); ``top_yz`` and ``midline_x`` are set
    later by the scan placement. ``lumbar_count`` forces 4, 5 or 6 lumbar vertebrae (default: drawn, as
    the stream's first draw, which scans.lumbar_count_of relies on)."""
    if not 120 <= height_cm <= 230:
        raise ValueError(f"height_cm={height_cm!r} must be an adult height in 120..230")
    count = morph.draw_lumbar_count(rng) if lumbar_count is None else lumbar_count
    scale = (height_cm / 172.0) * rng.normal(1.0, 0.03)
    levels = morph.draw_mobile_levels(rng, count, scale)
    cervical = rng.normal(18, 12) if rng.random() > 0.12 else rng.uniform(-10, 3)  # as anatomy.sample_anatomy
    kyphosis, lordosis = float(np.clip(rng.normal(42, 9), 20, 65)), float(np.clip(rng.normal(57, 9), 35, 80))
    morph.share_curves(levels, float(np.clip(cervical, -10, 40)), kyphosis, lordosis)
    sacrum = morph.draw_sacrum_coccyx(rng, scale, s1_depth_mm=rng.uniform(30, 36) * scale)
    pathology = _lumbar_pathology(rng, levels, pathology_rate)
    fat = rng.beta(1.5, 3.5)  # 0 lean .. 1 obese
    trunk = Trunk(
        chest_front_mm=rng.uniform(115, 160) * scale + 25 * fat, abdomen_front_mm=rng.uniform(85, 150) * scale + 90 * fat,
        pelvis_front_mm=rng.uniform(95, 130) * scale + 50 * fat, back_thorax_mm=rng.uniform(62, 80) * scale + 20 * fat,
        back_lumbar_mm=rng.uniform(55, 75) * scale + 25 * fat, back_sacrum_mm=rng.uniform(28, 40) * scale + 25 * fat,
        fat_front_mm=6 + 40 * fat, fat_back_mm=4 + 25 * fat, aorta_mm=rng.uniform(19, 27), heart_mm=(rng.uniform(95, 125), rng.uniform(80, 105)),
        liver_end=rng.uniform(19.0, 21.5), bladder_mm=rng.uniform(18, 42), female=female,
    )
    scoliotic = rng.random() < 0.3
    amp = rng.uniform(3, 8) if scoliotic else rng.uniform(0.5, 2.5)
    split = rng.uniform(0.3, 0.7)
    drift = Drift(amplitudes_mm=(amp * split, amp * (1 - split)), periods_mm=(rng.uniform(250, 450), rng.uniform(120, 260)),
                  phases=tuple(rng.uniform(0, 2 * np.pi, size=2)), oblique=rng.uniform(-0.012, 0.012),
                  rotation_per_mm=rng.uniform(0.01, 0.02), max_mm=amp)
    hemangioma = None
    if rng.random() < 0.12:
        lv = levels[int(rng.integers(6, len(levels)))]
        hemangioma = (lv.name, rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.7), rng.uniform(3, 7))
    column = ColumnAnatomy(
        levels=levels, dens_height=rng.uniform(13, 16) / RADIOGRAPH_MAGNIFICATION * scale, dens_depth=rng.uniform(9, 11), lordosis_deg=float(np.clip(cervical, -10, 40)),
        kyphosis_deg=kyphosis, tilt_deg=rng.normal(0, 2.5), scoliosis_mm=0.0, scoliosis_period=1.0, scoliosis_phase=0.0,
        cord_ap=rng.uniform(6.5, 8.5), prevertebral=rng.uniform(3, 7), airway_ap=rng.uniform(12, 20), neck_front=rng.uniform(55, 75),
        neck_back=rng.uniform(80, 105), fat_back=trunk.fat_back_mm, top_yz=(0.0, 0.0), midline_x=0.0, pathology=pathology,
        sacrum=sacrum, lumbar_count=count, lumbar_lordosis_deg=lordosis, conus_s=0.0, sac_end_s=0.0, trunk=trunk, drift=drift,
        hemangioma=hemangioma,
    )
    # conus tip: mean lower third of L1, from mid-T12 to the L2-L3 disc (Saifuddin et al., Spine 1998;23(13):1452);
    # dural sac: ends at S2 on average, S1 to S3 (Macdonald et al., Clin Anat 1999;12(3):149-152)
    column.conus_s = column.position_s(float(np.clip(rng.normal(20.75, 0.45), 19.5, 22.05)))
    sacral_position = 2 + len(levels) + float(np.clip(rng.normal(1.4, 0.35), 0.4, 2.6))
    column.sac_end_s = column.position_s(sacral_position)
    column.bone = sample_bone(rng)  # drawn last, so that the rest of a seed's column does not move
    bulge_discs(rng, levels)
    return column


def _lumbar_pathology(rng: np.random.Generator, levels: list[Level], rate: float) -> list[str]:
    """Degenerated (thin, dark) and protruding discs, most often at the two lowest lumbar levels; in place."""
    found = []
    for k, lv in enumerate(levels):
        low = k >= len(levels) - 2
        p = (0.7 if low else 0.2) * rate if lv.name[0] == "L" else 0.1 * rate if lv.name[0] == "T" else 0.0
        if rng.random() < p:
            lv.degenerated, lv.disc_height = True, lv.disc_height * rng.uniform(0.55, 0.8)
            found.append(f"degenerated:{lv.name}")
        if low and rng.random() < 0.4 * rate:
            lv.protrusion = rng.uniform(1.5, 5.0)
            found.append(f"protrusion:{lv.name}")
    if rng.random() < 0.05:
        found.append("low_contrast")
    return found
