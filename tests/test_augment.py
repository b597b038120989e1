import numpy as np
from scipy import ndimage
import pytest

from msanet.augment import AugmentConfig, affine_matrix, augment

OFF = dict(p_affine=0.0, p_crop=0.0, p_gamma=0.0, p_contrast=0.0, p_bias=0.0, p_blur=0.0, p_noise=0.0)
GEOMETRIC = AugmentConfig(**{**OFF, "p_affine": 1.0, "rotation_deg": 20.0})


def _dot_image(r, c, shape=(64, 48), sigma=1.5):
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
    return np.exp(-((rows - r) ** 2 + (cols - c) ** 2) / (2 * sigma**2)).astype(np.float32)


@pytest.mark.parametrize("seed", range(8))
def test_points_follow_the_image(seed):
    p = np.array([30.3, 20.6])
    out, pts = augment(_dot_image(*p), {3: p}, np.random.default_rng(seed), GEOMETRIC)
    assert 3 in pts  # the dot is near the centre: it never leaves the image
    peak = np.unravel_index(np.argmax(out), out.shape)
    assert np.linalg.norm(np.array(peak) - pts[3]) <= 1.0
    rows, cols = np.mgrid[0:64, 0:48]
    centroid = np.array([(out * rows).sum(), (out * cols).sum()]) / out.sum()
    assert np.linalg.norm(centroid - pts[3]) < 0.15  # sub-pixel agreement of image and points


def test_affine_matrix_by_hand():
    m = affine_matrix(np.pi / 2, 2.0, np.array([1.0, -1.0]), (5, 5))  # centre (2, 2)
    # (row, col) = (2, 3): offset (0, 1) -> rotated (-1, 0) -> scaled (-2, 0) -> + centre + t = (1, 1)
    assert m @ np.array([2.0, 3.0, 1.0]) == pytest.approx([1.0, 1.0, 1.0])
    # stretch acts on the row (superior-inferior) offset before the rotation: (3, 2) = offset (1, 0) -> (1.5, 0) -> (0, 1.5) -> x2 + (3, 1)
    s = affine_matrix(np.pi / 2, 2.0, np.array([1.0, -1.0]), (5, 5), stretch=1.5)
    assert s @ np.array([3.0, 2.0, 1.0]) == pytest.approx([3.0, 4.0, 1.0])
    assert s @ np.array([2.0, 3.0, 1.0]) == pytest.approx([1.0, 1.0, 1.0])  # columns are not stretched


def test_stretch_moves_points_with_the_image():
    """A stretched image and its points agree: a bright dot lands where its point goes; spacing grows by the stretch."""
    image = np.zeros((64, 48), dtype=np.float32)
    image[20, 24] = image[40, 24] = 1.0
    image = ndimage.gaussian_filter(image, 1.5)
    image /= image.max()
    cfg = AugmentConfig(**{**OFF, "p_affine": 1.0, "rotation_deg": 0.0, "scale": (1.0, 1.0),
                                             "translation_frac": 0.0, "stretch": (1.3, 1.3)})
    out, pts = augment(image, {3: np.array([20.0, 24.0]), 4: np.array([40.0, 24.0])}, np.random.default_rng(0), cfg)
    assert pts[4][0] - pts[3][0] == pytest.approx(26.0) and pts[3][1] == pytest.approx(24.0)
    for p in pts.values():
        r, c = int(round(p[0])), int(round(p[1]))
        assert out[r, c] == pytest.approx(out[r - 3 : r + 4, c - 3 : c + 4].max())


ELASTIC = AugmentConfig(**{**OFF, "p_elastic": 1.0, "elastic_px": 6.0, "elastic_smooth_px": 8.0})


@pytest.mark.parametrize("seed", range(6))
def test_elastic_moves_points_with_the_image(seed):
    """Two dots, 20 px apart: each lands where its point goes (sub-pixel), and their spacing changes."""
    a, b = np.array([22.3, 24.4]), np.array([42.6, 23.7])
    spacings = []
    for image, p in ((_dot_image(*a), a), (_dot_image(*b), b)):
        out, pts = augment(image, {3: p}, np.random.default_rng(seed), ELASTIC)  # same seed: the same field
        rows, cols = np.mgrid[0:64, 0:48]
        centroid = np.array([(out * rows).sum(), (out * cols).sum()]) / out.sum()
        assert np.linalg.norm(centroid - pts[3]) < 0.3
        spacings.append(pts[3])
    assert abs(np.linalg.norm(spacings[1] - spacings[0]) - 20.3) > 0.05  # not a rigid shift


def test_elastic_off_by_default_draws_nothing():
    image = np.random.default_rng(0).random((32, 32)).astype(np.float32)
    rng_a, rng_b = np.random.default_rng(5), np.random.default_rng(5)
    augment(image, {}, rng_a, AugmentConfig(**OFF))
    augment(image, {}, rng_b, AugmentConfig(**{**OFF, "elastic_px": 9.0}))
    rng_c = np.random.default_rng(5)
    [rng_c.random() for _ in range(7)]  # one draw per step that existed before the elastic one; p_elastic 0 draws nothing
    assert rng_a.random() == rng_b.random() == rng_c.random()


@pytest.mark.parametrize("seed", range(4))
def test_full_augmentation_invariants_and_determinism(seed):
    image = np.random.default_rng(0).random((64, 48)).astype(np.float32)
    points = {3: np.array([10.0, 10.0]), 4: np.array([30.0, 24.0])}
    cfg = AugmentConfig(**{k: 1.0 for k in OFF}) if seed % 2 else AugmentConfig()
    a = augment(image, points, np.random.default_rng(seed), cfg)
    b = augment(image, points, np.random.default_rng(seed), cfg)
    assert a[0].shape == image.shape and a[0].dtype == np.float32 and np.isfinite(a[0]).all()
    assert a[0].min() >= 0 and a[0].max() <= 1
    assert np.array_equal(a[0], b[0]) and a[1].keys() == b[1].keys()
    for v, p in a[1].items():
        assert np.array_equal(p, b[1][v]) and 0 <= p[0] <= 63 and 0 <= p[1] <= 47
    assert np.array_equal(points[3], [10.0, 10.0])  # inputs untouched
    c = augment(image, points, np.random.default_rng(seed + 100), cfg)
    assert not np.array_equal(a[0], c[0])


def test_identity_config_returns_input():
    image = np.random.default_rng(1).random((16, 16)).astype(np.float32)
    out, pts = augment(image, {2: np.array([3.0, 4.0])}, np.random.default_rng(0), AugmentConfig.none())
    assert np.array_equal(out, image) and out is not image
    assert pts.keys() == {2} and np.array_equal(pts[2], [3.0, 4.0])


def test_points_outside_are_dropped_exactly():
    cfg = AugmentConfig(**{**OFF, "p_affine": 1.0, "rotation_deg": 0.0, "scale": (1.0, 1.0), "translation_frac": 0.4})
    image = _dot_image(31.5, 23.5)
    points = {v: np.array([r, c]) for v, (r, c) in enumerate([(31.5, 23.5), (1, 24), (62, 24), (32, 1), (32, 46), (5, 5), (60, 44)], start=2)}
    n_dropped = 0
    for seed in range(10):
        out, pts = augment(image, points, np.random.default_rng(seed), cfg)
        t = pts[2] - points[2]  # a pure translation, the centre point always stays
        peak = np.unravel_index(np.argmax(out), out.shape)
        assert np.linalg.norm(np.array(peak) - pts[2]) <= 1.0
        for v, p in points.items():
            q = p + t
            inside = 0 <= q[0] <= 63 and 0 <= q[1] <= 47
            assert (v in pts) == inside
            if inside:
                assert pts[v] == pytest.approx(q)
        n_dropped += len(points) - len(pts)
    assert n_dropped > 0


def test_outside_the_warped_image_is_zero_even_with_noise():
    cfg = AugmentConfig(**{**OFF, "p_affine": 1.0, "scale": (0.7, 0.7), "p_noise": 1.0, "noise_std": (0.05, 0.05),
                           "p_contrast": 1.0, "brightness": 0.2})
    out, _ = augment(np.full((40, 40), 0.5, np.float32), {}, np.random.default_rng(0), cfg)
    assert (out[0, :] == 0).all() and (out[:, -1] == 0).all()  # shrunk by 0.7: the borders are padding
    assert (out[15:25, 15:25] > 0).all()


def test_crop_zeroes_outside_and_drops_points():
    cfg = AugmentConfig(**{**OFF, "p_crop": 1.0, "crop_keep": (0.4, 0.5), "p_noise": 1.0, "noise_std": (0.1, 0.1)})
    points = {v: np.array([4.0 * v, 20.0]) for v in range(2, 10)}
    for seed in range(3):
        out, pts = augment(np.full((40, 40), 0.5, np.float32), points, np.random.default_rng(seed), cfg)
        nz = np.argwhere(out > 0)
        (r0, c0), (r1, c1) = nz.min(0), nz.max(0)
        assert 0.15 <= (out > 0).mean() <= 0.26 and (out > 0).sum() == (r1 - r0 + 1) * (c1 - c0 + 1)  # one window
        for v, p in points.items():
            assert (v in pts) == bool(r0 <= p[0] <= r1 and c0 <= p[1] <= c1)


def test_intensity_steps_keep_points_and_change_values():
    image = np.random.default_rng(2).random((32, 32)).astype(np.float32)
    for step in ("p_gamma", "p_contrast", "p_bias", "p_blur", "p_noise"):
        out, pts = augment(image, {5: np.array([7.0, 8.0])}, np.random.default_rng(4), AugmentConfig(**{**OFF, step: 1.0}))
        assert not np.array_equal(out, image), step
        assert np.array_equal(pts[5], [7.0, 8.0]) and 0 <= out.min() and out.max() <= 1


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(p_noise=1.5), "p_noise"),
        (dict(p_crop=-0.1), "p_crop"),
        (dict(scale=(1.2, 0.8)), "scale"),
        (dict(scale=(0.0, 1.0)), "scale"),
        (dict(crop_keep=(0.3, 1.2)), "crop_keep"),
        (dict(gamma=(0.5,)), "gamma"),
        (dict(blur_sigma=(-1.0, 1.0)), "blur_sigma"),
        (dict(noise_std=(0.0, float("nan"))), "noise_std"),
        (dict(rotation_deg=200), "rotation_deg"),
        (dict(translation_frac=1.0), "translation_frac"),
        (dict(brightness=-0.1), "brightness"),
        (dict(bias_strength=True), "bias_strength"),
        (dict(elastic_px=-1.0), "elastic_px"),
        (dict(elastic_smooth_px=0.5), "elastic_smooth_px"),
        (dict(p_elastic=1.5), "p_elastic"),
    ],
)
def test_invalid_config(kwargs, message):
    with pytest.raises(ValueError, match=message):
        AugmentConfig(**kwargs)


def test_config_accepts_lists_and_invalid_calls():
    assert AugmentConfig(scale=[0.9, 1.1]).scale == (0.9, 1.1)
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="2D"):
        augment(np.zeros((2, 3, 4)), {}, rng, AugmentConfig())
    with pytest.raises(ValueError, match="NaN"):
        augment(np.full((4, 4), np.nan), {}, rng, AugmentConfig())
    with pytest.raises(ValueError, match="disc 3"):
        augment(np.zeros((4, 4)), {3: np.array([1.0, 2.0, 3.0])}, rng, AugmentConfig())
