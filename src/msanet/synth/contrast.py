"""Tissue map -> MR-like image: per-contrast intensities, texture, scanner style and artefacts.

Relative intensities (0..1) of each tissue, drawn around these means (+-25 % per subject; the T2w nucleus
also 0.6-1.15 times that, as healthy adult discs range from bright to barely brighter than the marrow):
- T2w (Spine Generic 3D T2 SPACE/CUBE/VISTA, 0.8 mm): CSF brightest by far, fat bright, healthy nucleus
  and cord intermediate, vertebral marrow darker, annulus dark, muscle darker still, cortical bone,
  ligaments and air darkest (levels read off the six real amu_t2w scans, normalised as the network sees them).
- T1w (Spine Generic 3D MPRAGE, 1 mm): fat brightest, marrow bright (fatty), cord brighter than
  CSF (CSF dark), discs intermediate-dark, cortical bone, ligaments and air darkest.
Domain-randomised mode draws every tissue's intensity uniformly in [0, 1] instead, and the scanner style from
ranges wider than any site's (``randomise_style``; SynthSeg-style).
Scanner style (per site, jittered per subject): noise level (Rician), blur (partial volume),
bias field strength, contrast (gamma), occasional motion ghosting along the phase-encode axis.
Noise (Rician, sigma relative to the brightest tissue): 0.003-0.012 per site. The real scans are far quieter than this
generator used to make them (0.015-0.06): in their air, the native voxels' mean and standard deviation are both about
0.005 of the 99th percentile (amu_t2w, all six; 0.012 / 0.010 on the real lumbar scan), i.e. sigma 0.004-0.008, and at the
network's 2 mm input half of a real amu slab is below 0.01 while the old synthetic slabs had a Rician floor of 0.05-0.10
everywhere (real_trials.md, trial t7).
Receive coil (per subject, ``Coil``): the posterior spine array's sensitivity falls with depth, so the front of the neck,
the face and the chest are dark on the real scans; here it falls from the front of the vertebral bodies on, since the
T2w levels above were measured at the spine with the real coil (see the real and synthetic slabs side by side:
``docs/figures/model_input_real_vs_synthetic.png``). The fall-off length (50-150 mm) and floor are this project's
choice, read off those pictures, not a published figure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from msanet.synth.anatomy import AIR, BRAIN, CSF, FAT, MEDIASTINUM, MUSCLE, N_CERVICAL_TISSUES, NUCLEUS, TISSUES

MEANS = {
    #        air   fat   musc  marrow cortex annul nucl  csf   cord  brain  lig   medi
    "T2w": (0.00, 0.62, 0.12, 0.30, 0.04, 0.18, 0.55, 1.00, 0.45, 0.40, 0.05, 0.25),
    "T1w": (0.00, 0.92, 0.36, 0.68, 0.06, 0.36, 0.32, 0.12, 0.60, 0.56, 0.08, 0.45),
}
# The cervical 3D T2w (SPACE-like) scans: bone and discs much darker against the CSF than MEANS["T2w"] gives them, as
# measured on the six real amu_t2w scans at the network's input (1 mm grid, percentile-normalised): vertebral body
# (mid-way between two disc labels, 6 mm in front of the posterior line) 0.14-0.18, disc (6 mm in front of its label)
# 0.13-0.20, CSF (3 mm behind the posterior line) 0.65-0.90 (`benchmarks/results/real-intensity.md`, trial t3). MEANS["T2w"]
# stays the 2D TSE contrast of the thoracic, lumbar and whole-spine scans, whose discs are bright (the real lumbar scan).
CERVICAL_T2W = {"muscle": 0.10, "marrow": 0.18, "annulus": 0.12, "nucleus": 0.32}
# The real T1w crop (../shared/data/real/sct_testing_data, MPRAGE-like, 1 mm) shows the other T1w look: vertebral marrow
# dark, discs bright (body 0.13, disc 0.52, cord 0.73, muscle 0.52 on the network's slab, its 0.5 / 99.5th percentiles at 0 / 1:
# benchmarks/results/real-t1w-contrast.md; young adults' cervical marrow is largely red, not fatty). These levels keep that
# order on MEANS' scale (fat brightest); ``tissue_intensities(dark_marrow=t)`` moves the cervical T1w means this far (0..1)
# from MEANS["T1w"] towards them.
T1W_DARK_MARROW = {"muscle": 0.60, "marrow": 0.18, "annulus": 0.55, "nucleus": 0.72, "cord": 0.82}
# tissues of the thoracic, lumbar and whole-spine scans (2D TSE): nerve roots darker than CSF on T2w;
# flowing blood (aorta) a flow void on both; heart and liver dark on T2w, intermediate on T1w; lung black;
# bowel mixed (its loops, gas and mesenteric fat are drawn in the tissue map); urine like CSF; uterus/prostate
# intermediate.
EXTRA_MEANS = {
    #        nerve blood heart lung  liver bowel urine visc
    "T2w": (0.34, 0.05, 0.16, 0.03, 0.20, 0.24, 0.95, 0.42),
    "T1w": (0.55, 0.07, 0.42, 0.03, 0.52, 0.34, 0.10, 0.36),
}
TEXTURE = np.array([0.0, 0.06, 0.08, 0.14, 0.05, 0.06, 0.05, 0.02, 0.03, 0.05, 0.04, 0.12,
                    0.03, 0.10, 0.10, 0.30, 0.06, 0.45, 0.02, 0.10])
assert all(len(v) == N_CERVICAL_TISSUES for v in MEANS.values())
assert all(len(MEANS[c]) + len(EXTRA_MEANS[c]) == len(TISSUES) == len(TEXTURE) for c in MEANS)


@dataclass(frozen=True)
class ScannerStyle:
    """Per-site appearance; jittered per subject."""

    noise: float  # Rician noise sigma relative to the brightest tissue
    blur_vox: float  # extra Gaussian blur (partial volume), voxels
    bias: float  # bias-field strength (log-amplitude)
    gamma: float  # contrast curve
    ghost_prob: float  # probability of motion ghosting
    scale: float  # stored intensity of the brightest tissue


def sample_style(rng: np.random.Generator) -> ScannerStyle:
    return ScannerStyle(noise=rng.uniform(0.003, 0.012), blur_vox=rng.uniform(0.3, 0.9), bias=rng.uniform(0.05, 0.35),
                        gamma=rng.uniform(0.8, 1.25), ghost_prob=rng.uniform(0.0, 0.2), scale=rng.uniform(600, 1800))


def tissue_intensities(rng: np.random.Generator, contrast: str, domain_random: bool, degenerated: bool = False,
                       low_contrast: bool = False, trunk: bool = False, dark_marrow: float = 0.0) -> np.ndarray:
    """Intensity (0..1) of each of the ``len(TISSUES)`` tissue classes for one image.

    ``trunk=False`` (cervical scans) draws the first 12 classes exactly as it always has and gives the
    others their means without drawing; ``trunk=True`` (2D TSE scans of the thoracic, lumbar or whole
    spine) draws all of them. ``dark_marrow`` (0..1, cervical T1w only): how far the means move from fatty marrow
    and dark discs towards the real T1w crop's dark marrow and bright discs (``T1W_DARK_MARROW``); the draws are
    the same for every value.
    """
    if not 0.0 <= dark_marrow <= 1.0:
        raise ValueError(f"dark_marrow={dark_marrow!r} must be in [0, 1]")
    if dark_marrow and (contrast != "T1w" or trunk):
        raise ValueError(f"dark_marrow={dark_marrow!r} applies to cervical T1w images only (contrast {contrast!r}, trunk={trunk})")
    n = len(TISSUES) if trunk else N_CERVICAL_TISSUES
    means = np.array(MEANS[contrast] + EXTRA_MEANS[contrast])
    if contrast == "T2w" and not trunk:
        for name, value in CERVICAL_T2W.items():
            means[TISSUES.index(name)] = value
    for name, value in T1W_DARK_MARROW.items():
        means[TISSUES.index(name)] += dark_marrow * (value - means[TISSUES.index(name)])
    if domain_random:
        values = rng.uniform(0, 1, size=n)
    else:
        values = means[:n] * rng.uniform(0.75, 1.25, size=n)
        if contrast == "T2w":  # healthy adult nuclei range from bright to barely brighter than the marrow
            values[NUCLEUS] *= rng.uniform(0.6, 1.15)
        if low_contrast:
            m = values[1:].mean()
            values = m + (values - m) * rng.uniform(0.45, 0.65)
        values[0] = 0.0
    return np.clip(np.concatenate([values, means[n:]]), 0, 1)


def smooth_field(rng: np.random.Generator, shape: tuple[int, ...], sigma_vox: float) -> np.ndarray:
    """Zero-mean, unit-std smooth random field (Gaussian-filtered white noise, computed coarse then zoomed)."""
    factor = max(1, int(sigma_vox // 2))
    coarse_shape = tuple(max(2, s // factor) for s in shape)
    field = ndimage.gaussian_filter(rng.standard_normal(coarse_shape).astype(np.float32), sigma_vox / factor)
    if coarse_shape != shape:
        field = ndimage.zoom(field, [s / c for s, c in zip(shape, coarse_shape)], order=1)[tuple(slice(0, s) for s in shape)]
    return (field - field.mean()) / (field.std() + 1e-8)


def jitter_style(style: ScannerStyle, rng: np.random.Generator) -> ScannerStyle:
    """A subject's scanner style: the site's, each setting jittered a little (five draws)."""
    return ScannerStyle(noise=style.noise * rng.uniform(0.85, 1.15), blur_vox=style.blur_vox * rng.uniform(0.9, 1.1),
                        bias=style.bias * rng.uniform(0.8, 1.2), gamma=style.gamma * rng.uniform(0.95, 1.05),
                        ghost_prob=style.ghost_prob, scale=style.scale * rng.uniform(0.9, 1.1))


def randomise_style(rng: np.random.Generator) -> ScannerStyle:
    """A scanner style for domain-randomised images, drawn from ranges wider than any site's (SynthSeg-style):
    from cleaner than any real scan to very noisy, sharp to 3 voxels of blur (a low-resolution or thick-slice scan), strong bias
    fields, gamma 0.6-1.6, frequent ghosting."""
    return ScannerStyle(noise=rng.uniform(0.002, 0.06), blur_vox=rng.uniform(0.3, 3.0), bias=rng.uniform(0.0, 0.6),
                        gamma=rng.uniform(0.6, 1.6), ghost_prob=rng.uniform(0.0, 0.4), scale=rng.uniform(600, 1800))


COIL_RATE = 0.85  # share of subjects scanned with a visible posterior-coil fall-off (the rest: a volume coil's flat profile)


@dataclass(frozen=True)
class Coil:
    """Receive sensitivity of a posterior surface coil: ``floor + (1 - floor) * exp(-depth_mm / length_mm)``, where
    ``depth_mm`` is the distance in front of the vertebral bodies (``coil_sensitivity``); 1 at and behind them."""

    length_mm: float
    floor: float

    def __post_init__(self) -> None:
        if not self.length_mm > 0:
            raise ValueError(f"length_mm={self.length_mm!r} must be > 0")
        if not 0 <= self.floor <= 1:
            raise ValueError(f"floor={self.floor!r} must be in [0, 1]")


def sample_coil(rng: np.random.Generator) -> Coil | None:
    """One subject's coil (three draws), or None (a flat profile) for ``1 - COIL_RATE`` of subjects: fall-off length
    50-150 mm, floor 0-0.3 (module docstring)."""
    use, length, floor = rng.random(), rng.uniform(50, 150), rng.uniform(0.0, 0.3)
    return Coil(length_mm=float(length), floor=float(floor)) if use < COIL_RATE else None


BODIES_MM = 20.0  # coil_sensitivity: the front of the vertebral bodies, this far in front of the canal's CSF


def coil_sensitivity(coil: Coil, tissue_yz: np.ndarray, spacing_mm: np.ndarray, smooth_mm: float = 15.0) -> np.ndarray:
    """Sensitivity [Y, Z] of ``coil`` over a sagittal tissue map ``tissue_yz`` [Y, Z] (Z increasing posteriorly) on a
    grid of ``spacing_mm`` (LR, SI, AP): 1 from the back's skin to the front of the vertebral bodies, falling in front
    of them. Depth is measured from the back's skin, each row's most posterior non-air voxel, smoothed over
    ``smooth_mm`` head-feet (the coil does not follow every fold; rows without tissue take their neighbours' value); the
    fall-off starts ``BODIES_MM`` in front of the median depth of the CSF (the canal), or at the skin in an image
    without CSF. The tissue levels (``CERVICAL_T2W``) were measured at the spine on real scans, coil included, so the
    coil only darkens what lies in front of it. An image without tissue gets 1 everywhere."""
    body = tissue_yz != AIR
    rows = np.nonzero(body.any(axis=1))[0]
    if rows.size == 0:
        return np.ones(tissue_yz.shape, dtype=np.float32)
    n_z = tissue_yz.shape[1]
    back = n_z - 1 - np.argmax(body[:, ::-1], axis=1)  # [Y] index of the most posterior tissue voxel
    back = np.interp(np.arange(tissue_yz.shape[0]), rows, back[rows])
    back = ndimage.gaussian_filter1d(back, smooth_mm / float(spacing_mm[1]), mode="nearest")
    depth_mm = np.clip(back[:, None] - np.arange(n_z)[None, :], 0, None) * float(spacing_mm[2])  # [Y, Z]
    csf = tissue_yz == CSF
    start_mm = float(np.median(depth_mm[csf])) + BODIES_MM if csf.any() else 0.0
    return (coil.floor + (1 - coil.floor) * np.exp(-np.clip(depth_mm - start_mm, 0, None) / coil.length_mm)).astype(np.float32)


SOFT_TISSUES = (FAT, MUSCLE, BRAIN, MEDIASTINUM)


def clutter_gain(rng: np.random.Generator, tissue: np.ndarray, spacing_mm: np.ndarray, levels: int = 6, blob_mm: float = 6.0) -> np.ndarray:
    """Multiplicative gain [X, Y, Z] that splits the soft tissues into random blobs of random brightness.

    A smooth random field over the sagittal plane ([Y, Z], ``blob_mm`` wide, shared by every slice) is cut at its
    quantiles into ``levels`` regions, each with a gain drawn in [0.3, 1.7]; the gain is 1 outside fat, muscle,
    brain and mediastinum. Real scans are full of structure there (face, tongue, fat septa between the neck
    muscles, the brain's folds) that a plain synthetic background never shows; SynthSeg splits its label
    classes the same way.
    """
    field = smooth_field(rng, tissue.shape[1:], sigma_vox=blob_mm / float(spacing_mm[1]))
    edges = np.quantile(field, np.linspace(0, 1, levels + 1)[1:-1])
    gains = rng.uniform(0.3, 1.7, size=levels).astype(np.float32)
    gain2d = gains[np.searchsorted(edges, field)]  # [Y, Z]
    return np.where(np.isin(tissue, SOFT_TISSUES), gain2d[None], np.float32(1.0)).astype(np.float32)


def render(
    tissue: np.ndarray, intensities: np.ndarray, style: ScannerStyle, rng: np.random.Generator, spacing_mm: np.ndarray, texture: np.ndarray,
    x_subsamples: int = 1, gain_y: np.ndarray | None = None, noise_y: np.ndarray | None = None, gain: np.ndarray | None = None,
    coil: np.ndarray | None = None,
) -> np.ndarray:
    """Tissue map [X * x_subsamples, Y, Z] -> stored image [X, Y, Z] (uint16-range float) with texture, blur,
    bias, Rician noise, ghosting.

    ``texture`` is a smooth field [Y, Z] (marrow trabeculae, muscle fibres) shared across slices.
    ``x_subsamples`` > 1: each stored slice is the mean of that many consecutive tissue sub-slices (the
    partial volume of a thick 2D slice). ``gain_y`` and ``noise_y`` [Y]: multiplicative signal gain and
    noise level along the head-feet axis (the stations of a composed whole-spine scan). ``gain`` [X * k, Y, Z]:
    a multiplier of each tissue voxel's intensity (``clutter_gain``). ``coil`` [Y, Z]: the receive coil's
    sensitivity (``coil_sensitivity``), applied with the bias field, before the noise.
    """
    img = intensities[tissue].astype(np.float32)  # [X * k, Y, Z]
    if gain is not None:
        img *= gain
    img *= 1.0 + TEXTURE[tissue].astype(np.float32) * texture[None]
    if x_subsamples > 1:
        img = img.reshape(-1, x_subsamples, *img.shape[1:]).mean(axis=1)  # [X, Y, Z]
    sigma = style.blur_vox * np.array([0.6, 1.0, 1.0]) * (0.8 / np.maximum(spacing_mm, 0.4))
    img = ndimage.gaussian_filter(img, sigma=np.maximum(sigma, 0.25))
    y, z = np.meshgrid(np.linspace(-1, 1, img.shape[1]), np.linspace(-1, 1, img.shape[2]), indexing="ij")
    c = rng.normal(0, 1, size=5) * style.bias
    bias = np.exp(c[0] * y + c[1] * z + c[2] * y * z + c[3] * y**2 + c[4] * z**2).astype(np.float32)
    img *= bias[None]
    if coil is not None:
        img *= coil.astype(np.float32)[None]
    if gain_y is not None:
        img *= gain_y.astype(np.float32)[None, :, None]
    img = np.clip(img, 0, None) ** style.gamma
    if rng.random() < style.ghost_prob:  # motion ghosts: faint copies shifted along the phase-encode (AP) axis
        shift = int(rng.integers(img.shape[2] // 8, img.shape[2] // 3))
        img = img + rng.uniform(0.04, 0.1) * np.roll(img, shift, axis=2) + rng.uniform(0.02, 0.06) * np.roll(img, -shift, axis=2)
    noise = style.noise * rng.uniform(0.8, 1.25)
    if noise_y is not None:
        noise = noise * noise_y.astype(np.float32)[None, :, None]
        real = img + rng.standard_normal(size=img.shape, dtype=np.float32) * noise
        imag = rng.standard_normal(size=img.shape, dtype=np.float32) * noise
    else:
        real = img + rng.normal(0, noise, size=img.shape).astype(np.float32)
        imag = rng.normal(0, noise, size=img.shape).astype(np.float32)
    img = np.sqrt(real * real + imag * imag)  # Rician magnitude
    return img * style.scale
