"""Training-time augmentation for 2D mid-sagittal images and their disc points.

Geometric (one affine, applied to image and points with the same matrix): rotation about the image
centre, isotropic scale, translation. No flips: up-down and anterior-posterior flips break anatomy
and left-right has no meaning in a sagittal slab. Optional field-of-view crop (everything outside a
random window is zeroed, like the small crops of real scans); points outside the image or the window
are dropped. Intensity: gamma, contrast/brightness, smooth multiplicative bias field, Gaussian blur,
Gaussian noise; output clipped to [0, 1]. Deterministic given the ``rng``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage


@dataclass(frozen=True)
class AugmentConfig:
    p_affine: float = 0.9
    rotation_deg: float = 10.0
    scale: tuple[float, float] = (0.85, 1.15)
    translation_frac: float = 0.08
    p_crop: float = 0.25
    crop_keep: tuple[float, float] = (0.35, 1.0)
    p_gamma: float = 0.5
    gamma: tuple[float, float] = (0.6, 1.6)
    p_contrast: float = 0.5
    contrast: tuple[float, float] = (0.7, 1.3)
    brightness: float = 0.1
    p_bias: float = 0.4
    bias_strength: float = 0.35
    p_blur: float = 0.2
    blur_sigma: tuple[float, float] = (0.3, 1.2)
    p_noise: float = 0.5
    noise_std: tuple[float, float] = (0.0, 0.06)

    def __post_init__(self) -> None:
        for name in ("p_affine", "p_crop", "p_gamma", "p_contrast", "p_bias", "p_blur", "p_noise"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name}={getattr(self, name)} must be a probability in [0, 1]")
        for name in ("scale", "crop_keep", "gamma", "contrast", "blur_sigma", "noise_std"):
            lo, hi = getattr(self, name)
            if not 0 <= lo <= hi:
                raise ValueError(f"{name}={getattr(self, name)} must be a range (low <= high, both >= 0)")
        if not (0 < self.scale[0] and 0 < self.gamma[0] and self.crop_keep[1] <= 1 and self.crop_keep[0] > 0):
            raise ValueError("scale and gamma must be > 0, crop_keep within (0, 1]")
        if not 0 <= self.rotation_deg <= 180 or not 0 <= self.translation_frac < 1:
            raise ValueError(f"rotation_deg={self.rotation_deg} / translation_frac={self.translation_frac} out of range")

    @classmethod
    def none(cls) -> "AugmentConfig":
        """All probabilities 0: the identity."""
        return cls(p_affine=0, p_crop=0, p_gamma=0, p_contrast=0, p_bias=0, p_blur=0, p_noise=0)


def _affine(image: np.ndarray, points: dict[int, np.ndarray], rng: np.random.Generator, cfg: AugmentConfig):
    h, w = image.shape
    centre = (np.array([h, w], dtype=float) - 1) / 2
    angle = np.deg2rad(rng.uniform(-cfg.rotation_deg, cfg.rotation_deg))
    s = rng.uniform(*cfg.scale)
    t = rng.uniform(-cfg.translation_frac, cfg.translation_frac, size=2) * np.array([h, w])
    forward = s * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])  # acts on (row, col)
    inverse = np.linalg.inv(forward)
    offset = centre - inverse @ (centre + t)  # out[o] = in[inverse @ o + offset]
    warped = ndimage.affine_transform(image, inverse, offset=offset, order=1, mode="constant", cval=0.0)
    moved = {v: forward @ (np.asarray(p, dtype=float) - centre) + centre + t for v, p in points.items()}
    return warped, moved


def augment(image: np.ndarray, points: dict[int, np.ndarray], rng: np.random.Generator, cfg: AugmentConfig) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """Augment ``image`` [H, W] (float, ~[0, 1]) and its {value: (row, col)} points. Returns copies."""
    out = np.asarray(image, dtype=np.float32).copy()
    pts = {v: np.asarray(p, dtype=float).copy() for v, p in points.items()}
    h, w = out.shape
    if rng.random() < cfg.p_affine:
        out, pts = _affine(out, pts, rng, cfg)
    window = (0.0, h - 1.0, 0.0, w - 1.0)
    if rng.random() < cfg.p_crop:
        kh, kw = (int(round(rng.uniform(*cfg.crop_keep) * n)) for n in (h, w))
        r0, c0 = rng.integers(0, h - kh + 1), rng.integers(0, w - kw + 1)
        mask = np.zeros_like(out, dtype=bool)
        mask[r0 : r0 + kh, c0 : c0 + kw] = True
        out[~mask] = 0.0
        window = (r0, r0 + kh - 1.0, c0, c0 + kw - 1.0)
    pts = {v: p for v, p in pts.items() if window[0] <= p[0] <= window[1] and window[2] <= p[1] <= window[3]}
    fov = out > 0
    if rng.random() < cfg.p_gamma:
        out = np.clip(out, 0, None) ** rng.uniform(*cfg.gamma)
    if rng.random() < cfg.p_contrast:
        out = out * rng.uniform(*cfg.contrast) + rng.uniform(-cfg.brightness, cfg.brightness) * fov
    if rng.random() < cfg.p_bias:
        rows, cols = np.meshgrid(np.linspace(-1, 1, h), np.linspace(-1, 1, w), indexing="ij")
        coeffs = rng.normal(0, cfg.bias_strength / 2, size=5)
        field = coeffs[0] * rows + coeffs[1] * cols + coeffs[2] * rows * cols + coeffs[3] * rows**2 + coeffs[4] * cols**2
        out = out * np.exp(field)
    if rng.random() < cfg.p_blur:
        out = ndimage.gaussian_filter(out, rng.uniform(*cfg.blur_sigma))
    if rng.random() < cfg.p_noise:
        out = out + rng.normal(0, rng.uniform(*cfg.noise_std), size=out.shape)
    return np.clip(out, 0.0, 1.0).astype(np.float32), pts
