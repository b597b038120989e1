import numpy as np
import pytest

from msanet.augment import AugmentConfig, augment

GEOMETRIC = AugmentConfig(p_affine=1.0, p_crop=0, p_gamma=0, p_contrast=0, p_bias=0, p_blur=0, p_noise=0)


def _dot_image(r, c, shape=(64, 48)):
    image = np.zeros(shape, np.float32)
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
    image += np.exp(-((rows - r) ** 2 + (cols - c) ** 2) / 2.0).astype(np.float32)
    return image


@pytest.mark.parametrize("seed", range(6))
def test_points_follow_the_image(seed):
    image = _dot_image(30, 20)
    out, pts = augment(image, {3: np.array([30.0, 20.0])}, np.random.default_rng(seed), GEOMETRIC)
    if 3 not in pts:
        return  # moved out of the image (allowed), checked in another test
    peak = np.unravel_index(np.argmax(out), out.shape)
    assert np.linalg.norm(np.array(peak) - pts[3]) <= 1.0


@pytest.mark.parametrize("seed", range(4))
def test_full_augmentation_invariants_and_determinism(seed):
    image = np.random.default_rng(0).random((64, 48)).astype(np.float32)
    points = {3: np.array([10.0, 10.0]), 4: np.array([30.0, 24.0])}
    a = augment(image, points, np.random.default_rng(seed), AugmentConfig())
    b = augment(image, points, np.random.default_rng(seed), AugmentConfig())
    assert a[0].shape == image.shape and a[0].dtype == np.float32 and np.isfinite(a[0]).all()
    assert a[0].min() >= 0 and a[0].max() <= 1
    assert np.array_equal(a[0], b[0]) and a[1].keys() == b[1].keys()
    for p in a[1].values():
        assert 0 <= p[0] <= 63 and 0 <= p[1] <= 47


def test_identity_config_returns_input():
    image = np.random.default_rng(1).random((16, 16)).astype(np.float32)
    out, pts = augment(image, {2: np.array([3.0, 4.0])}, np.random.default_rng(0), AugmentConfig.none())
    assert np.array_equal(out, image) and np.array_equal(pts[2], [3.0, 4.0])


def test_points_outside_are_dropped():
    cfg = AugmentConfig(p_affine=1.0, rotation_deg=0, scale=(1.0, 1.0), translation_frac=0.5, p_crop=0, p_gamma=0, p_contrast=0,
                        p_bias=0, p_blur=0, p_noise=0)
    points = {v: np.array([r, 24.0]) for v, r in zip(range(2, 9), np.linspace(1, 62, 7))}
    kept = [len(augment(np.ones((64, 48), np.float32), points, np.random.default_rng(s), cfg)[1]) for s in range(10)]
    assert min(kept) < 7  # big translations push some discs out


def test_crop_zeroes_outside_and_drops_points():
    cfg = AugmentConfig(p_affine=0, p_crop=1.0, crop_keep=(0.4, 0.5), p_gamma=0, p_contrast=0, p_bias=0, p_blur=0, p_noise=0)
    out, pts = augment(np.ones((40, 40), np.float32), {v: np.array([4.0 * v, 20.0]) for v in range(2, 10)}, np.random.default_rng(3), cfg)
    assert 0.15 <= (out > 0).mean() <= 0.26
    for p in pts.values():
        assert out[int(p[0]), int(p[1])] > 0


@pytest.mark.parametrize("kwargs, message", [(dict(p_noise=1.5), "p_noise"), (dict(scale=(1.2, 0.8)), "scale")])
def test_invalid_config(kwargs, message):
    with pytest.raises(ValueError, match=message):
        AugmentConfig(**kwargs)
