import numpy as np
import pytest

from msanet.heatmaps import input_to_output_px, labelled_region, make_any_heatmap, make_heatmaps, output_to_input_px


@pytest.mark.parametrize("stride", [1, 2, 4])
def test_grid_maps_are_inverse(stride):
    rc = np.array([[0.0, 0.0], [13.7, 2.2], [63.0, 47.5]])
    assert np.allclose(output_to_input_px(input_to_output_px(rc, stride), stride), rc)


def test_output_pixel_centre_by_hand():
    # stride 4: output pixel 0 covers input pixels 0..3, centre 1.5; output pixel 2 -> 9.5
    assert np.allclose(output_to_input_px(np.array([0.0, 2.0]), 4), [1.5, 9.5])


def test_heatmap_peak_and_width_by_hand():
    # point at input (9.5, 5.5) -> output (2, 1); sigma 8 mm at 1 mm/px, stride 4 -> 2 output px
    hm = make_heatmaps({3: np.array([9.5, 5.5])}, values=(2, 3), image_shape=(16, 12), stride=4, sigma_mm=8.0, pixel_mm=1.0)
    assert hm.shape == (2, 4, 3) and hm.dtype == np.float32
    assert hm[0].max() == 0  # disc 2 absent -> empty channel
    assert hm[1, 2, 1] == pytest.approx(1.0)
    assert hm[1, 3, 1] == pytest.approx(np.exp(-1 / (2 * 2**2)))  # one output px away
    assert hm[1, 0, 0] == pytest.approx(np.exp(-(4 + 1) / 8))


def test_bad_shapes_raise():
    with pytest.raises(ValueError, match="divisible"):
        make_heatmaps({}, (2,), (15, 12), 4, 5.0, 1.0)
    with pytest.raises(ValueError, match="sigma_mm"):
        make_heatmaps({}, (2,), (16, 12), 4, 0.0, 1.0)


@pytest.mark.parametrize("num_discs, points, filled", [
    (11, {3: (20.0, 10.0), 12: (60.0, 12.0)}, [1, 10]),  # the paper's 11 channels: values 2..12
    (11, {22: (20.0, 10.0), 25: (60.0, 12.0)}, []),  # lumbar discs have no channel among 11
    (24, {22: (20.0, 10.0), 25: (60.0, 12.0)}, [20, 23]),  # 24 channels: L2-L3 and L5-S1
    (24, {2: (8.0, 8.0), 13: (30.0, 8.0), 25: (70.0, 9.0)}, [0, 11, 23]),
])
def test_targets_for_11_and_24_channels(num_discs, points, filled):
    from msanet.discs import channel_values

    hm = make_heatmaps({v: np.array(p) for v, p in points.items()}, channel_values(num_discs), (80, 16), 4, 4.0, 1.0)
    assert hm.shape == (num_discs, 20, 4)
    assert [c for c in range(num_discs) if hm[c].max() > 0] == filled
    for value, (r, c) in points.items():
        if value - 2 < num_discs:
            assert np.unravel_index(np.argmax(hm[value - 2]), hm.shape[1:]) == (round((r - 1.5) / 4), round((c - 1.5) / 4))


def test_any_disc_target_is_the_maximum_of_every_discs_gaussian_by_hand():
    # discs at output rows 2 and 6 (input 9.5 and 25.5, stride 4), sigma 8 mm at 1 mm/px = 2 output px
    points = {3: np.array([9.5, 5.5]), 25: np.array([25.5, 5.5])}  # L5-S1 too: the channel knows no names
    hm = make_any_heatmap(points, image_shape=(32, 12), stride=4, sigma_mm=8.0, pixel_mm=1.0)
    assert hm.shape == (8, 3) and hm.dtype == np.float32
    assert hm[2, 1] == pytest.approx(1.0) and hm[6, 1] == pytest.approx(1.0)
    assert hm[4, 1] == pytest.approx(np.exp(-4 / 8))  # midway, 2 px from both: exp(-d**2 / (8 sigma**2)), d = 4
    assert hm[3, 1] == pytest.approx(np.exp(-1 / 8))  # the nearer disc wins
    named = make_heatmaps(points, (3, 25), (32, 12), 4, 8.0, 1.0)
    assert np.array_equal(hm, named.max(axis=0))


def test_any_disc_target_without_discs_is_zero():
    hm = make_any_heatmap({}, image_shape=(16, 8), stride=4, sigma_mm=4.0, pixel_mm=1.0)
    assert hm.shape == (4, 2) and not hm.any()
    with pytest.raises(ValueError, match="divisible"):
        make_any_heatmap({}, (15, 8), 4, 4.0, 1.0)


def test_labelled_region_ends_half_a_spacing_beyond_the_end_labels_by_hand():
    # labels at rows 20 and 40 (col 10) of a 64 x 32 image, stride 1: spacing 20 px, so rows 10 .. 50 are inside
    region = labelled_region({3: np.array([20.0, 10.0]), 4: np.array([40.0, 10.0])}, (64, 32), 1, 1.0)
    assert region.shape == (64, 32)
    assert region[:10].sum() == 0 and region[51:].sum() == 0 and bool((region[10:51] == 1).all())


def test_labelled_region_follows_a_tilted_column_by_hand():
    # labels along the diagonal: the boundary is perpendicular to it, 5 * sqrt(2) px beyond each end label
    region = labelled_region({3: np.array([20.0, 20.0]), 4: np.array([30.0, 30.0])}, (64, 64), 1, 1.0)
    assert region[15, 15] == 1 and region[14, 14] == 0  # (p - top) . u = -5 sqrt(2) exactly at (15, 15)
    assert region[35, 35] == 1 and region[36, 36] == 0
    assert region[10, 30] == 1  # beside the top label, off the column's axis: inside (projection 0)


@pytest.mark.parametrize("points, inside_rows", [({5: np.array([30.0, 8.0])}, list(range(11, 19))), ({}, [])])
def test_labelled_region_with_one_label_or_none(points, inside_rows):
    # one label at row 30: margin_mm (8) down the rows each side; stride 2 puts output row i at input row 2i + 0.5,
    # so rows with |2i + 0.5 - 30| <= 8 are inside: i = 11 .. 18. No label: nothing is inside.
    region = labelled_region(points, (64, 16), 2, 1.0)
    assert list(np.nonzero(region[:, 0])[0]) == inside_rows
    assert bool((region == region[:, :1]).all())  # the same for every column
