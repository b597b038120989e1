import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from msanet.decode import Detection, calibrate_threshold, channel_candidates, decode_heatmaps, disc_positions, refine_peak
from msanet.heatmaps import make_heatmaps


def gaussian(h, w, r, c, sigma=1.5, peak=1.0):
    rows, cols = np.mgrid[0:h, 0:w]
    return peak * np.exp(-((rows - r) ** 2 + (cols - c) ** 2) / (2 * sigma**2))


@pytest.mark.parametrize("r, c", [(5.0, 5.0), (5.3, 6.7), (7.45, 3.12), (2.5, 8.5), (6.49, 4.51)])
@pytest.mark.parametrize("sigma", [0.8, 1.5, 3.0])
def test_subpixel_peak_and_height_of_a_shifted_gaussian_are_exact(r, c, sigma):
    (row, col, height), *_ = channel_candidates(gaussian(12, 12, r, c, sigma=sigma, peak=0.7))
    assert abs(row - r) < 0.01 and abs(col - c) < 0.01  # requirement: < 0.1 output px
    assert height == pytest.approx(0.7, abs=1e-6)  # the Gaussian's height, not the pixel value


def test_refine_at_border_and_flat_profile():
    hm = np.zeros((5, 5))
    hm[0, 2], hm[0, 1], hm[0, 3], hm[1, 2] = 1.0, 0.5, 0.5, 0.2
    row, col, height = refine_peak(hm, 0, 2)
    assert (row, col, height) == (0.0, 2.0, 1.0)  # row at the border: no offset; symmetric in col
    flat = np.ones((3, 3))
    assert refine_peak(flat, 1, 1) == (1.0, 1.0, 1.0)  # not concave: no offset


def test_targets_from_heatmaps_module_are_recovered_in_input_pixels():
    points = {2: np.array([21.3, 30.8]), 3: np.array([40.0, 33.1]), 4: np.array([61.7, 35.45])}
    heat = make_heatmaps(points, (2, 3, 4, 5), (96, 64), stride=4, sigma_mm=3.0, pixel_mm=1.0)
    dets = decode_heatmaps(heat, (2, 3, 4, 5), stride=4, threshold=0.5)
    assert [d.value for d in dets] == [2, 3, 4]  # channel 5 is empty
    for d in dets:
        assert np.linalg.norm(np.array([d.row, d.col]) - points[d.value]) < 0.4  # 0.1 output px
        assert d.confidence == pytest.approx(1.0, abs=1e-4)


def test_output_to_input_coordinates_and_threshold():
    heat = np.stack([gaussian(8, 8, 2, 3, peak=0.9), gaussian(8, 8, 5, 3, peak=0.2)])
    dets = decode_heatmaps(heat, values=(3, 4), stride=4, threshold=0.3)
    assert dets == [Detection(3, 2 * 4 + 1.5, 3 * 4 + 1.5, pytest.approx(0.9))]
    assert [d.value for d in decode_heatmaps(heat, (3, 4), threshold=0.2)] == [3, 4]  # >= threshold is kept
    assert decode_heatmaps(heat, (3, 4), stride=1, threshold=0.5)[0].row == pytest.approx(2.0)


def test_out_of_order_detection_is_resolved_by_total_confidence():
    # disc 3 peaks BELOW discs 4 and 5 -> the chain (4, 5) (0.8 + 0.8) beats (3) alone (0.6)
    heat = np.stack([gaussian(16, 8, 12, 3, peak=0.6), gaussian(16, 8, 4, 3, peak=0.8), gaussian(16, 8, 8, 3, peak=0.8)])
    assert [d.value for d in decode_heatmaps(heat, (3, 4, 5), threshold=0.3)] == [4, 5]


def test_second_candidate_rescues_order():
    # channel 4 has a strong wrong peak above disc 3 and a weaker right one below it
    h4 = gaussian(16, 8, 2, 3, peak=0.9) + gaussian(16, 8, 10, 3, peak=0.7)
    heat = np.stack([gaussian(16, 8, 6, 3, peak=0.9), h4])
    dets = decode_heatmaps(heat, (3, 4), threshold=0.3)
    assert [d.value for d in dets] == [3, 4]
    assert abs(dets[0].row - (6 * 4 + 1.5)) < 0.1 and abs(dets[1].row - (10 * 4 + 1.5)) < 0.5  # the lower, weaker peak


def test_duplicate_peaks_keep_the_more_confident():
    heat = np.stack([gaussian(12, 8, 6, 3, peak=0.7), gaussian(12, 8, 6, 3, peak=0.9)])
    assert [d.value for d in decode_heatmaps(heat, (3, 4), threshold=0.3)] == [4]


def test_min_separation_rule():
    # rows 6 and 7 (output) -> 4 input px apart: allowed by the default (stride), not with 5 px
    heat = np.stack([gaussian(12, 8, 6, 3, peak=0.8), gaussian(12, 8, 7, 3, peak=0.9)])
    assert [d.value for d in decode_heatmaps(heat, (3, 4))] == [3, 4]
    assert [d.value for d in decode_heatmaps(heat, (3, 4), min_separation_px=5)] == [4]


def test_channel_order_need_not_be_value_order():
    heat = np.stack([gaussian(16, 8, 10, 3, peak=0.8), gaussian(16, 8, 3, 3, peak=0.8)])
    dets = decode_heatmaps(heat, (5, 4), threshold=0.3)
    assert [(d.value, round(d.row)) for d in dets] == [(4, 14), (5, 42)]


def test_plateau_gives_one_candidate_and_max_candidates():
    hm = np.zeros((10, 10))
    hm[4:6, 4:6] = 0.8
    assert len(channel_candidates(hm)) == 1
    many = sum(gaussian(20, 20, r, c, sigma=0.7, peak=0.5 + 0.01 * r) for r, c in [(3, 3), (8, 8), (13, 13), (17, 3)])
    cands = channel_candidates(many, max_candidates=2)
    assert [round(r) for r, _, _ in cands] == [17, 13]


def test_empty_and_invalid_arguments():
    assert decode_heatmaps(np.zeros((3, 8, 8)), (2, 3, 4)) == []
    assert decode_heatmaps(-np.ones((1, 8, 8)), (2,), threshold=0.0) == []
    bad = [
        (dict(heatmaps=np.zeros((3, 8, 8)), values=(2, 3)), "len\\(values\\)=2"),
        (dict(heatmaps=np.zeros((1, 8, 8)), values=(2,), threshold=2), "threshold=2"),
        (dict(heatmaps=np.zeros((1, 8, 8)), values=(2,), threshold=-0.1), "threshold=-0.1"),
        (dict(heatmaps=np.full((1, 4, 4), np.nan), values=(2,)), "NaN"),
        (dict(heatmaps=np.zeros((8, 8)), values=(2,)), "\\[V, h, w\\]"),
        (dict(heatmaps=np.zeros((1, 8, 8)), values=(2,), stride=0), "stride=0"),
        (dict(heatmaps=np.zeros((2, 8, 8)), values=(2, 2)), "duplicates"),
        (dict(heatmaps=np.zeros((1, 8, 8)), values=(2.5,)), "2.5"),
        (dict(heatmaps=np.zeros((1, 8, 8)), values=(2,), min_separation_px=-1), "min_separation_px=-1"),
        (dict(heatmaps=np.zeros((1, 8, 8)), values=(2,), max_candidates=0), "max_candidates=0"),
    ]
    for kwargs, message in bad:
        with pytest.raises(ValueError, match=message):
            decode_heatmaps(**kwargs)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=3, max_size=3), st.lists(st.floats(0.35, 1.0), min_size=3, max_size=3))
def test_well_separated_ordered_discs_are_all_found(fracs, peaks):
    rows = [3 + 8 * k + 3 * f for k, f in enumerate(fracs)]  # >= 5 output px apart, in value order
    heat = np.stack([gaussian(32, 8, r, 4.2, sigma=1.2, peak=p) for r, p in zip(rows, peaks)])
    dets = decode_heatmaps(heat, (2, 3, 4), threshold=0.3)
    assert [d.value for d in dets] == [2, 3, 4]
    for d, r, p in zip(dets, rows, peaks):
        assert abs(d.row - (4 * r + 1.5)) < 0.4 and d.confidence == pytest.approx(p, abs=1e-3)


def test_calibrate_threshold_by_hand():
    # correct: 0.9, 0.8, 0.4; wrong: 0.5, 0.2. Thresholds 0, .1, .3, .45, .65, .85, .95, 1 cost 2, 2, 1, 2, 1, 2, 3, 3:
    # the tie (0.3 vs 0.65) goes to the highest threshold
    t = calibrate_threshold([0.9, 0.8, 0.4, 0.5, 0.2], [True, True, True, False, False])
    assert t == pytest.approx(0.65)
    assert calibrate_threshold([0.9, 0.1], [True, False]) == pytest.approx(0.5)
    assert calibrate_threshold([0.9, 0.9], [True, True]) == pytest.approx(0.45)  # 0 and 0.45 both cost 0 -> highest
    assert calibrate_threshold([0.3], [False]) == 1.0  # dropping everything is best (0.65 and 1 tie)
    assert calibrate_threshold([], []) == 0.5


def test_calibrate_threshold_invalid():
    with pytest.raises(ValueError, match="2 confidences but 1"):
        calibrate_threshold([0.1, 0.2], [True])
    with pytest.raises(ValueError, match="\\[0, 1\\]"):
        calibrate_threshold([1.5], [True])


@pytest.mark.parametrize("neighbour", [0.0, -0.2, 1e-6])
def test_a_noise_peak_beside_an_empty_pixel_keeps_its_own_height(neighbour):
    """A weak peak (0.03) next to a pixel at or below zero (a linear head's output) or nearly zero must not
    extrapolate to a confident height: the log-parabola is skipped on that axis, or its gain is capped."""
    hm = np.full((5, 5), 0.001)
    hm[2, 2], hm[2, 3], hm[2, 1] = 0.03, 0.02, neighbour
    row, col, height = refine_peak(hm, 2, 2)
    assert 0.03 <= height <= 0.03 * np.exp(2 * 0.5)
    assert row == 2.0 and abs(col - 2.0) <= 0.5


def _spine(channel_values, present, step=6, first=4, w=8, peak=0.8):
    """Heatmaps [V, h, w] of a column: the k-th disc of ``present`` peaks at output row ``first + step * k``."""
    h = first + step * len(present) + 4
    heat = np.zeros((len(channel_values), h, w))
    for k, value in enumerate(present):
        heat[channel_values.index(value)] = gaussian(h, w, first + step * k, 4.0, sigma=1.2, peak=peak)
    return heat


@pytest.mark.parametrize("channel_values, present", [
    (tuple(range(2, 13)), range(2, 13)),  # the paper's 11 channels, cervical window
    (tuple(range(2, 13)), range(5, 9)),
    (tuple(range(2, 26)), range(2, 26)),  # 24 channels, whole spine: 24 discs down a 600 px column
    (tuple(range(2, 26)), range(21, 26)),  # lumbar only (no C2 in view)
    (tuple(range(2, 26)), range(9, 17)),  # thoracic only
])
def test_whole_column_is_decoded_in_anatomical_order(channel_values, present):
    heat = _spine(list(channel_values), list(present))
    dets = decode_heatmaps(heat, channel_values, stride=4, threshold=0.3)
    assert [d.value for d in dets] == list(present)
    assert [round(d.row) for d in dets] == [round(4 * (4 + 6 * k) + 1.5) for k in range(len(present))]
    positions = disc_positions(heat, stride=4, threshold=0.3)
    assert [round(r) for r, _, _ in positions] == [round(d.row) for d in dets]  # one position per disc, whatever its name


def test_24_channels_confusable_thoracic_peak_keeps_the_order():
    """T6-T7 (value 14) peaks strongest one level too low, where T7-T8 is; its weaker right peak keeps the chain."""
    values = list(range(2, 26))
    heat = _spine(values, values)
    h, w = heat.shape[1:]
    k = values.index(14)
    heat[values.index(14)] = gaussian(h, w, 4 + 6 * (k + 1), 4.0, sigma=1.2, peak=0.95) + gaussian(h, w, 4 + 6 * k, 4.0, sigma=1.2, peak=0.6)
    dets = decode_heatmaps(heat, values, threshold=0.3)
    assert [d.value for d in dets] == values
    assert round(dets[k].row) == round(4 * (4 + 6 * k) + 1.5)


def test_disc_positions_threshold_and_invalid_arguments():
    values = list(range(2, 8))
    heat = _spine(values, values)
    heat[2] *= 0.5  # one disc below the threshold
    assert len(disc_positions(heat, threshold=0.5)) == 5 and len(disc_positions(heat, threshold=0.3)) == 6
    with pytest.raises(ValueError, match="V, h, w"):
        disc_positions(np.zeros((8, 8)))
    with pytest.raises(ValueError, match="threshold=1.5"):
        disc_positions(heat, threshold=1.5)
