"""Training-time augmentation of a 2D mid-sagittal image and its disc points (numpy + scipy.ndimage).

Geometric part (each step drawn with its probability):
- **affine**: ONE matrix, applied to the image (``scipy.ndimage.affine_transform``, order 1, constant
  0) and to the points with exactly the same mapping: rotation by an angle in
  ``[-rotation_deg, rotation_deg]`` about the image centre ``((H-1)/2, (W-1)/2)``, isotropic scale in
  ``scale``, a superior-inferior stretch in ``stretch`` (rows only: longer or shorter necks and disc
  spacings at the same body depth), translation up to ``translation_frac`` of the image size on each
  axis. In ``(row, col)``: ``p' = s R diag(k, 1) (p - centre) + centre + t``.
- **elastic**: a smooth random displacement field (white noise Gaussian-filtered with sigma
  ``elastic_smooth_px``, scaled so its largest displacement is uniform in ``[0, elastic_px]``): the image
  is resampled at ``p + u(p)`` (order 1) and each point moves to the ``q`` with ``q + u(q) = p`` (fixed-point
  iteration), so discs move with their points while their spacing changes along the column. Off by default
  (``p_elastic`` 0: no random draw at all).
- **field-of-view crop**: keep a random window of ``crop_keep`` (fraction of each dimension) and zero
  everything outside, like the small crops of real scans.
- No flips: left-right has no meaning in a sagittal slab, and up-down or anterior-posterior flips
  would break the anatomy the model must learn (head at the top, anterior on the left).

Points that end up outside the image (``0 <= row <= H-1``, ``0 <= col <= W-1``) or outside the crop
window are dropped. Pixels that no longer come from the image (outside the warped image or the crop
window) are exactly 0 in the output, whatever the intensity steps do.

Intensity part, in this order: gamma (``x ** g``), contrast/brightness (``(x - mean) * c + mean + b``,
mean over the field of view), smooth multiplicative bias field (``exp(a * q)`` with ``q`` a random
quadratic polynomial of the normalised coordinates scaled to max |q| = 1 and ``a`` uniform in
``[0, bias_strength]``), Gaussian blur (sigma in ``blur_sigma`` px), Rician noise (magnitude of the
image plus complex Gaussian noise of std in ``noise_std``, as in MR magnitude images). When any
intensity step ran, the result is clipped to [0, 1] (the range of ``preprocess.normalise_intensity``).

Output: float32, finite, same shape. Deterministic given the ``rng``; with every probability 0 the
input is returned unchanged (as a copy).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

_PROBABILITIES = ("p_affine", "p_elastic", "p_crop", "p_gamma", "p_contrast", "p_bias", "p_blur", "p_noise")
# range field -> (smallest allowed low, low may equal it?, largest allowed high)
_RANGES = {
    "scale": (0.0, False, math.inf),
    "stretch": (0.0, False, math.inf),
    "crop_keep": (0.0, False, 1.0),
    "gamma": (0.0, False, math.inf),
    "contrast": (0.0, False, math.inf),
    "blur_sigma": (0.0, True, math.inf),
    "noise_std": (0.0, True, math.inf),
}


def _is_number(x) -> bool:
    return not isinstance(x, bool) and isinstance(x, (int, float, np.integer, np.floating)) and math.isfinite(x)


@dataclass(frozen=True)
class AugmentConfig:
    """Augmentation parameters; ``p_*`` are the probabilities of each step, ranges are ``(low, high)``."""

    p_affine: float = 0.9
    rotation_deg: float = 10.0
    scale: tuple[float, float] = (0.85, 1.15)
    stretch: tuple[float, float] = (1.0, 1.0)
    translation_frac: float = 0.08
    p_elastic: float = 0.0
    elastic_px: float = 3.0
    elastic_smooth_px: float = 12.0
    p_crop: float = 0.25
    crop_keep: tuple[float, float] = (0.35, 1.0)
    p_gamma: float = 0.5
    gamma: tuple[float, float] = (0.7, 1.5)
    p_contrast: float = 0.5
    contrast: tuple[float, float] = (0.75, 1.25)
    brightness: float = 0.1
    p_bias: float = 0.4
    bias_strength: float = 0.3
    p_blur: float = 0.2
    blur_sigma: tuple[float, float] = (0.3, 1.0)
    p_noise: float = 0.5
    noise_std: tuple[float, float] = (0.0, 0.05)

    def __post_init__(self) -> None:
        for name in _PROBABILITIES:
            p = getattr(self, name)
            if not (_is_number(p) and 0 <= p <= 1):
                raise ValueError(f"{name}={p!r} must be a probability in [0, 1]")
        for name, (least, inclusive, most) in _RANGES.items():
            value = getattr(self, name)
            try:
                lo, hi = value
            except (TypeError, ValueError):
                raise ValueError(f"{name}={value!r} must be a (low, high) pair") from None
            ok = _is_number(lo) and _is_number(hi) and lo <= hi <= most and (lo >= least if inclusive else lo > least)
            if not ok:
                bound = f"{'>=' if inclusive else '>'} {least:g}" + (f" and high <= {most:g}" if math.isfinite(most) else "")
                raise ValueError(f"{name}={value!r} must be a range with low <= high, low {bound}")
            object.__setattr__(self, name, (float(lo), float(hi)))  # lists from config files -> tuples
        checks = {
            "rotation_deg": lambda x: 0 <= x <= 180,
            "translation_frac": lambda x: 0 <= x < 1,
            "brightness": lambda x: 0 <= x <= 1,
            "bias_strength": lambda x: 0 <= x <= 3,
            "elastic_px": lambda x: 0 <= x <= 20,
            "elastic_smooth_px": lambda x: 1 <= x <= 100,
        }
        ranges = {"rotation_deg": "[0, 180]", "translation_frac": "[0, 1)", "brightness": "[0, 1]", "bias_strength": "[0, 3]",
                  "elastic_px": "[0, 20]", "elastic_smooth_px": "[1, 100]"}
        for name, ok in checks.items():
            value = getattr(self, name)
            if not (_is_number(value) and ok(value)):
                raise ValueError(f"{name}={value!r} must be in {ranges[name]}")

    @classmethod
    def none(cls) -> "AugmentConfig":
        """All probabilities 0: the identity."""
        return cls(**{name: 0.0 for name in _PROBABILITIES})

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def affine_matrix(angle_rad: float, scale: float, translation: np.ndarray, shape: tuple[int, int], stretch: float = 1.0) -> np.ndarray:
    """3x3 homogeneous matrix acting on ``(row, col, 1)``: ``p' = s R diag(stretch, 1) (p - centre) + centre + t``."""
    centre = (np.asarray(shape, dtype=float) - 1) / 2
    cos, sin = math.cos(angle_rad), math.sin(angle_rad)
    linear = scale * np.array([[cos, -sin], [sin, cos]]) @ np.diag([stretch, 1.0])
    out = np.eye(3)
    out[:2, :2] = linear
    out[:2, 2] = centre + np.asarray(translation, dtype=float) - linear @ centre
    return out


def elastic_field(rng: np.random.Generator, shape: tuple[int, int], max_px: float, smooth_px: float) -> np.ndarray:
    """Smooth random displacement ``[2, H, W]`` (rows, cols) in pixels whose largest length is ``max_px``."""
    field = np.stack([ndimage.gaussian_filter(rng.standard_normal(shape), smooth_px, mode="reflect") for _ in range(2)])
    peak = float(np.sqrt((field**2).sum(axis=0)).max())
    return field * (max_px / peak) if peak > 0 else field


def _within(src_r: np.ndarray, src_c: np.ndarray, h: int, w: int) -> np.ndarray:
    """Output pixels whose source position ``(src_r, src_c)`` lies inside the ``h x w`` input image."""
    eps = 1e-6
    return (src_r >= -eps) & (src_r <= h - 1 + eps) & (src_c >= -eps) & (src_c <= w - 1 + eps)


def _inside(p: np.ndarray, window: tuple[float, float, float, float]) -> bool:
    r0, r1, c0, c1 = window
    return bool(r0 <= p[0] <= r1 and c0 <= p[1] <= c1)


def augment(
    image: np.ndarray, points: dict[int, np.ndarray], rng: np.random.Generator, cfg: AugmentConfig
) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """Augment ``image`` [H, W] (float, ~[0, 1]) and its ``{value: (row, col)}`` points (see module docstring).

    Returns ``(image [H, W] float32, {value: (row, col)})`` as new arrays; dropped points are absent.
    Raises ValueError for a non-2D or non-finite image or malformed points.
    """
    image = np.asarray(image)
    if image.ndim != 2 or min(image.shape) < 1:
        raise ValueError(f"image must be a non-empty 2D array [H, W], got shape {image.shape}")
    if not np.isfinite(image).all():
        raise ValueError("image contains NaN or infinite values")
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    pts = {}
    for value, p in points.items():
        p = np.array(p, dtype=float)
        if p.shape != (2,) or not np.isfinite(p).all():
            raise ValueError(f"point of disc {value} must be a finite (row, col), got {p!r}")
        pts[value] = p
    out = image.astype(np.float32, copy=True)
    h, w = out.shape
    valid = np.ones((h, w), dtype=bool)  # pixels that still come from the image

    if rng.random() < cfg.p_affine:
        angle = math.radians(rng.uniform(-cfg.rotation_deg, cfg.rotation_deg))
        scale = rng.uniform(*cfg.scale)
        t = rng.uniform(-cfg.translation_frac, cfg.translation_frac, size=2) * np.array([h, w])
        stretch = rng.uniform(*cfg.stretch) if cfg.stretch[0] != cfg.stretch[1] else cfg.stretch[0]  # no draw when fixed
        forward = affine_matrix(angle, scale, t, (h, w), stretch)
        inverse = np.linalg.inv(forward)  # output (row, col, 1) -> input (row, col, 1)
        out = ndimage.affine_transform(out, inverse, order=1, mode="constant", cval=0.0, output=np.float32)
        rows, cols = np.meshgrid(np.arange(h, dtype=float), np.arange(w, dtype=float), indexing="ij")
        src_r = inverse[0, 0] * rows + inverse[0, 1] * cols + inverse[0, 2]
        src_c = inverse[1, 0] * rows + inverse[1, 1] * cols + inverse[1, 2]
        valid &= _within(src_r, src_c, h, w)
        pts = {v: (forward @ np.array([p[0], p[1], 1.0]))[:2] for v, p in pts.items()}
    if cfg.p_elastic > 0 and rng.random() < cfg.p_elastic:
        u = elastic_field(rng, (h, w), rng.uniform(0.0, cfg.elastic_px), cfg.elastic_smooth_px)  # [2, H, W]
        rows, cols = np.meshgrid(np.arange(h, dtype=float), np.arange(w, dtype=float), indexing="ij")
        src = np.stack([rows + u[0], cols + u[1]])
        out = ndimage.map_coordinates(out, src, order=1, mode="constant", cval=0.0, output=np.float32)
        inside = ndimage.map_coordinates(valid.astype(np.float32), src, order=1, mode="constant", cval=0.0)
        valid = (inside > 1 - 1e-3) & _within(src[0], src[1], h, w)
        if pts:
            p = np.array(list(pts.values())).T  # [2, N]
            q = p.copy()
            for _ in range(10):  # q + u(q) = p; converges fast for smooth fields of a few pixels
                q = p - np.stack([ndimage.map_coordinates(f, q, order=1, mode="nearest") for f in u])
            pts = dict(zip(pts, q.T))
    window = (0.0, h - 1.0, 0.0, w - 1.0)
    if rng.random() < cfg.p_crop:
        kh, kw = (max(1, int(round(rng.uniform(*cfg.crop_keep) * n))) for n in (h, w))
        r0, c0 = int(rng.integers(0, h - kh + 1)), int(rng.integers(0, w - kw + 1))
        crop = np.zeros((h, w), dtype=bool)
        crop[r0 : r0 + kh, c0 : c0 + kw] = True
        valid &= crop
        window = (float(r0), r0 + kh - 1.0, float(c0), c0 + kw - 1.0)
    pts = {v: p for v, p in pts.items() if _inside(p, window)}

    x = out.astype(np.float64)
    changed = False
    if rng.random() < cfg.p_gamma:
        x = np.clip(x, 0.0, None) ** rng.uniform(*cfg.gamma)
        changed = True
    if rng.random() < cfg.p_contrast:
        mean = float(x[valid].mean()) if valid.any() else 0.0
        x = (x - mean) * rng.uniform(*cfg.contrast) + mean + rng.uniform(-cfg.brightness, cfg.brightness)
        changed = True
    if rng.random() < cfg.p_bias:
        rr, cc = np.meshgrid(np.linspace(-1, 1, h), np.linspace(-1, 1, w), indexing="ij")
        coeffs = rng.normal(size=5)
        q = coeffs[0] * rr + coeffs[1] * cc + coeffs[2] * rr * cc + coeffs[3] * rr**2 + coeffs[4] * cc**2
        peak = float(np.abs(q).max())
        amplitude = rng.uniform(0.0, cfg.bias_strength)
        if peak > 0:
            x = x * np.exp(amplitude * q / peak)
        changed = True
    if rng.random() < cfg.p_blur:
        x = ndimage.gaussian_filter(x, rng.uniform(*cfg.blur_sigma), mode="nearest")
        changed = True
    if rng.random() < cfg.p_noise:
        std = rng.uniform(*cfg.noise_std)
        real, imag = rng.normal(0.0, std, size=(2, h, w))
        x = np.sqrt((x + real) ** 2 + imag**2)
        changed = True
    if changed:
        x = np.clip(x, 0.0, 1.0)
    x[~valid] = 0.0
    return x.astype(np.float32), pts
