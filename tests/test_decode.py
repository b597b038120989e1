import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from msanet.decode import (
    ANY_MIN_SEPARATION_MM,
    ANY_WEIGHT,
    SKIP_PENALTY,
    any_nms_radius,
    Detection,
    calibrate_threshold,
    channel_candidates,
    count_names,
    decode_heatmaps,
    decode_outputs,
    disc_positions,
    name_positions,
    naming_anchor,
    refine_peak,
)
from msanet.heatmaps import make_any_heatmap, make_heatmaps


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


# ---- "any disc" channel: positions from its peaks, names by anatomical order ------------------------------------

VALUES = tuple(range(2, 13))  # the paper's 11 channels, C1-C2 .. T4-T5
PX = 2.0  # mm per input pixel of these cases (stride 4: 8 mm per heatmap pixel)


def _outputs(true_rows, named_rows, shape=(160, 32), col=14.0, any_sigma_mm=6.0):
    """Named channels peaking at ``named_rows`` {value: row} and an any-disc map peaking at ``true_rows`` (input px,
    stride 4, 2 mm pixels, named sigma 10 mm)."""
    named = make_heatmaps({v: np.array([r, col]) for v, r in named_rows.items()}, VALUES, shape, 4, 10.0, PX)
    any_map = make_any_heatmap({i: np.array([r, col]) for i, r in enumerate(true_rows)}, shape, 4, any_sigma_mm, PX)
    return named, any_map


def _names(named, any_map, values=VALUES, **kwargs):
    return [d.value for d in name_positions(named, any_map, values, pixel_mm=PX, **kwargs)]


def test_named_channels_that_drift_down_the_column_still_name_every_disc_at_its_any_disc_peak():
    # discs every 9.5 px (19 mm) from row 13.5; the named channels drift 1.5 px more per disc (C7-T1: 7.5 px = 15 mm low)
    true_rows = [13.5 + 9.5 * i for i in range(6)]
    named, any_map = _outputs(true_rows, {3 + i: r + 1.5 * i for i, r in enumerate(true_rows)})
    for named_peaks in (True, False):
        found = name_positions(named, any_map, VALUES, stride=4, threshold=0.3, named_peaks=named_peaks, pixel_mm=PX)
        assert [d.value for d in found] == [3, 4, 5, 6, 7, 8]
        # where the any-disc channel says (to 1 mm: the max of neighbouring Gaussians bends the log-parabola fit a little)
        assert np.allclose([d.row for d in found], true_rows, atol=0.5)
        assert all(0.8 <= d.confidence <= 1.0 for d in found)
    # the named channels alone put C7-T1 a whole disc low
    plain = {d.value: d.row for d in decode_heatmaps(named, VALUES, stride=4, threshold=0.3)}
    assert plain[8] - true_rows[-1] == pytest.approx(7.5, abs=0.5)


def test_whole_chain_shift_follows_the_named_channels():
    # the named channels say C3-C4 for the first disc (not C2-C3): every name moves with them
    true_rows = [13.5 + 9.5 * i for i in range(5)]
    named, any_map = _outputs(true_rows, {4 + i: r for i, r in enumerate(true_rows)})
    assert _names(named, any_map) == [4, 5, 6, 7, 8]


def test_a_disc_the_any_channel_missed_is_filled_from_its_named_peak():
    # discs C2-C3 .. C6-C7; C4-C5 is missing from the any-disc map, the named channels see all five
    rows = {3 + i: 13.5 + 9.5 * i for i in range(5)}
    named, any_map = _outputs([r for v, r in rows.items() if v != 5], rows)
    found = name_positions(named, any_map, VALUES, pixel_mm=PX)
    assert [d.value for d in found] == [3, 4, 5, 6, 7]
    assert found[2].row == pytest.approx(rows[5], abs=0.5)  # at the named channel's own peak
    # any-disc peaks only: the gap is skipped, the names below it stay right (the named channels pay the skip)
    assert _names(named, any_map, named_peaks=False) == [3, 4, 6, 7]
    # no named evidence below the gap: the chain stays consecutive (a skip costs SKIP_PENALTY) ...
    named_top, _ = _outputs([], {3: rows[3], 4: rows[4]})
    assert _names(named_top, any_map, named_peaks=False, count_gaps=False) == [3, 4, 5, 6]
    # ... until the gap (two spacings long) is counted: one disc missed there, the names below skip it
    assert _names(named_top, any_map, named_peaks=False) == [3, 4, 6, 7]


def test_a_named_peak_between_heatmap_pixels_counts_with_its_refined_height():
    # C2-C3 only in its named channel (the any-disc channel missed it), peaking at 0.5 halfway between two heatmap rows:
    # bilinear sampling there reads about 0.46, below the threshold 0.48; the peak's own refined height (0.5) passes
    rows = {3 + i: 15.5 + 9.5 * i for i in range(5)}
    named, any_map = _outputs([r for v, r in rows.items() if v != 3], rows)
    named[VALUES.index(3)] *= 0.5
    found = name_positions(named, any_map, VALUES, threshold=0.48, pixel_mm=PX)
    assert [d.value for d in found] == [3, 4, 5, 6, 7]
    assert found[0].row == pytest.approx(15.5, abs=0.5) and found[0].confidence == pytest.approx(0.5, abs=0.02)


def test_a_gap_renames_the_discs_below_it_when_the_named_channels_counted_on_regardless():
    # real scan errsm24's failure: C5-C6 missed by every channel, and the named channels call C6-C7 "C5-C6", and so on
    rows = [13.5 + 9.5 * i for i in range(8)]  # C2-C3 .. T2-T3, 19 mm apart
    seen = rows[:3] + rows[4:]
    named, any_map = _outputs(seen, {3 + i: r for i, r in enumerate(seen)})
    assert _names(named, any_map, count_gaps=False) == [3, 4, 5, 6, 7, 8, 9]
    found = name_positions(named, any_map, VALUES, pixel_mm=PX)
    assert [d.value for d in found] == [3, 4, 5, 7, 8, 9, 10]
    assert all(0.8 <= d.confidence <= 1.0 for d in found)  # renamed or not, each is a clear any-disc peak
    # the last names leave the vocabulary: dropped, not clipped
    short = name_positions(named[:8], any_map, (2, 3, 4, 5, 6, 7, 8, 9), pixel_mm=PX)
    assert [d.value for d in short] == [3, 4, 5, 7, 8, 9]


@pytest.mark.parametrize("own_share", [0.4, 0.5])
def test_a_disc_below_the_last_channel_does_not_push_a_disc_out_of_the_chain(own_share):
    # real scan errsm24's second failure: the scan shows C2-C3 .. T5-T6 (11 discs, 19 mm apart) to an 11-channel model
    # (C1-C2 .. T4-T5), whose channels from C5-C6 down split between their disc (own_share) and the next one (the rest, x0.8)
    rows = [13.5 + 9.5 * i for i in range(11)]
    own, any_map = _outputs(rows, {v: rows[v - 3] for v in range(3, 13)}, shape=(192, 32))
    next_one, _ = _outputs(rows, {v: rows[v - 2] for v in range(3, 13)}, shape=(192, 32))
    lower = [VALUES.index(v) for v in range(6, 13)]
    named = own.copy()
    named[lower] = own_share * own[lower] + (1 - own_share) * 0.8 * next_one[lower]
    # the chain goes on to T5-T6 (not output): every disc keeps its name and its place
    found = name_positions(named, any_map, VALUES, pixel_mm=PX)
    assert [d.value for d in found] == list(range(3, 13))
    assert np.allclose([d.row for d in found], rows[:10], atol=1.0)
    # ended at T4-T5, the chain had to leave one disc out: one name short (C6-C7 or T4-T5)
    assert len(_names(named, any_map, beyond_names=False)) == 9


def test_a_lumbar_chain_is_counted_up_from_the_sacrum():
    # a lumbar scan (24-disc vocabulary): L1-L2 .. L5-S1 36 mm apart, L3-L4 missed by every channel, and the named channels
    # counting up from the sacrum call L2-L3 "L3-L4" and L1-L2 "L2-L3"; the gap says one disc is missing above L4-L5
    values = tuple(range(2, 26))
    rows = {21 + i: 13.5 + 18.0 * i for i in range(5)}
    seen = [r for v, r in rows.items() if v != 23]
    named = make_heatmaps({22 + i: np.array([r, 14.0]) for i, r in enumerate(seen)}, values, (128, 32), 4, 10.0, PX)
    any_map = make_any_heatmap({i: np.array([r, 14.0]) for i, r in enumerate(seen)}, (128, 32), 4, 6.0, PX)
    assert _names(named, any_map, values, count_gaps=False) == [22, 23, 24, 25]
    assert _names(named, any_map, values) == [21, 22, 24, 25]  # L5-S1 kept: named from the sacrum


@pytest.mark.parametrize("rows, names, anchor, expected", [
    # evenly spaced: names kept
    ([0, 10, 20, 30, 40], [3, 4, 5, 6, 7], "C2", [3, 4, 5, 6, 7]),
    # one gap of two spacings (one disc missed): the names below it skip one, counted from the top ...
    ([0, 10, 20, 40, 50, 60], [3, 4, 5, 6, 7, 8], "C2", [3, 4, 5, 7, 8, 9]),
    # ... or from the bottom (the sacrum): the names above it move up one
    ([0, 10, 20, 40, 50, 60], [19, 20, 21, 23, 24, 25], "sacrum", [19, 20, 21, 23, 24, 25]),
    ([0, 10, 20, 40, 50, 60], [20, 21, 22, 23, 24, 25], "sacrum", [19, 20, 21, 23, 24, 25]),
    # a gap of three spacings: two discs missed
    ([0, 10, 20, 50, 60, 70], [3, 4, 5, 6, 7, 8], "C2", [3, 4, 5, 8, 9, 10]),
    # 1.5 spacings is not a missed disc (below GAP_SKIP_RATIO): one step ...
    ([0, 10, 20, 35, 45, 55], [3, 4, 5, 6, 7, 8], "C2", [3, 4, 5, 6, 7, 8]),
    # ... unless the heatmaps' names skip there (they may see a disc the chain left out): their skip is kept
    ([0, 10, 20, 35, 45, 55], [3, 4, 5, 7, 8, 9], "C2", [3, 4, 5, 7, 8, 9]),
    # irregular points (a synthetic test image: 13 mm gaps beside a 24 mm one): compared with the longest neighbouring gap,
    # 1.3 spacings, not a missed disc
    (list(np.cumsum([0, 9.4, 6.7, 11.8, 9.0, 6.7, 11.2])), [2, 3, 4, 5, 6, 7, 8], "C2", [2, 3, 4, 5, 6, 7, 8]),
    # spacing growing down the column (cervical -> thoracic -> lumbar, 15 % per disc): no gap
    (list(np.cumsum([0, 10, 11.5, 13.2, 15.2, 17.5, 20.1])), [14, 15, 16, 17, 18, 19, 20], "C2", [14, 15, 16, 17, 18, 19, 20]),
    # no anchor: the offset most members agree with (here the lower four), ties to the topmost member
    ([0, 10, 20, 40, 50, 60, 70], [10, 11, 12, 13, 14, 15, 16], "none", [9, 10, 11, 13, 14, 15, 16]),
    ([0, 10, 20, 40, 50, 60], [10, 11, 12, 13, 14, 15], "none", [10, 11, 12, 14, 15, 16]),
    # C1-C2 sits a tall C2 above C2-C3 (1.67 spacings here): one step, and not a reference for the gaps below it
    ([0, 25, 40, 55, 70, 85], [2, 3, 4, 5, 6, 7], "C2", [2, 3, 4, 5, 6, 7]),
    ([0, 25, 40, 55, 85, 100], [2, 3, 4, 5, 6, 7], "C2", [2, 3, 4, 5, 7, 8]),
    # fewer than four members: no spacing to compare a gap with, names kept
    ([0, 10, 40], [3, 4, 5], "C2", [3, 4, 5]),
])
def test_count_names_by_hand(rows, names, anchor, expected):
    assert count_names(rows, names, anchor) == expected


@pytest.mark.parametrize("names, expected", [
    ([2, 3, 4], "C2"), ([3, 4, 5], "C2"), ([3, 12, 25], "C2"),  # a cervical disc: named from C2, whatever else is there
    ([21, 22, 25], "sacrum"), ([12, 13, 14], "none"), ([], "none"),
])
def test_naming_anchor(names, expected):
    assert naming_anchor(names) == expected


def test_count_names_invalid_arguments():
    with pytest.raises(ValueError, match="anchor='middle' must be one of"):
        count_names([0, 10, 20, 30], [3, 4, 5, 6], "middle")
    with pytest.raises(ValueError, match="one per chain member"):
        count_names([0, 10, 20], [3, 4, 5, 6], "C2")
    with pytest.raises(ValueError, match="increase strictly"):
        count_names([0, 10, 10, 30], [3, 4, 5, 6], "C2")


def test_dp_score_by_hand():
    """Scores sum(e + ANY_WEIGHT * a) over the chain - SKIP_PENALTY per skipped name; candidates left out cost nothing."""
    h, w = 12, 3
    any_map = np.zeros((h, w))
    any_map[2, 1] = any_map[10, 1] = 0.9
    named = np.zeros((2, h, w))
    named[0, 2, 1] = 1.0  # value 3 says: the top position
    # a clear disc is named even without named evidence: [3, 4] = (1 + 0.9) + (0 + 0.9) > [3] = 1.9
    assert _names(named, any_map, (3, 4), stride=1, threshold=0.05) == [3, 4]
    # a weak peak between them (a = 0.1, no evidence) is left out: naming it would push value 4 off its evidence
    named[1, 10, 1] = 1.0
    any_map[6, 1] = 0.1
    found = name_positions(named, any_map, (3, 4), stride=1, threshold=0.05, pixel_mm=PX)
    assert [(d.value, d.row) for d in found] == [(3, 2.0), (4, 10.0)]
    assert [d.confidence for d in found] == [1.0, 1.0]  # the larger of a and e
    # a skipped name costs SKIP_PENALTY: value 5 at the bottom wins over 4 only with evidence > SKIP_PENALTY
    any_map[6, 1] = 0.0
    named3 = np.zeros((3, h, w))
    named3[0, 2, 1] = 1.0
    named3[2, 10, 1] = SKIP_PENALTY + 0.1
    assert _names(named3, any_map, (3, 4, 5), stride=1, threshold=0.05) == [3, 5]
    named3[2, 10, 1] = SKIP_PENALTY - 0.1
    assert _names(named3, any_map, (3, 4, 5), stride=1, threshold=0.05) == [3, 4]
    assert ANY_WEIGHT > 0


def test_chain_members_closer_than_the_minimum_separation_are_one_disc():
    # two any-disc peaks 6 mm apart (3 px at 2 mm, stride 1) are one disc: at most one of them is named
    h, w = 30, 3
    any_map = np.zeros((h, w))
    any_map[5, 1], any_map[8, 1], any_map[20, 1] = 0.9, 0.8, 0.9
    named = np.zeros((3, h, w))
    named[0, 5, 1] = named[1, 8, 1] = named[2, 20, 1] = 1.0
    found = name_positions(named, any_map, (3, 4, 5), stride=1, threshold=0.05, pixel_mm=PX)
    assert all(b.row - a.row >= ANY_MIN_SEPARATION_MM / PX for a, b in zip(found, found[1:]))
    assert [d.value for d in found] in ([3, 5], [4, 5])
    # on a 1 mm grid the same 3 px are 3 mm: still one disc; 12 px apart (12 mm) are two
    assert len(name_positions(named, any_map, (3, 4, 5), stride=1, threshold=0.05, pixel_mm=1.0)) == 2


@pytest.mark.parametrize("stride, pixel_mm, radius", [(4, 2.0, 1), (2, 2.0, 2), (1, 2.0, 4), (4, 1.0, 2), (1, 1.0, 9)])
def test_any_nms_radius_keeps_peaks_the_minimum_separation_apart(stride, pixel_mm, radius):
    assert any_nms_radius(stride, pixel_mm) == radius
    step_mm = stride * pixel_mm  # one heatmap pixel
    assert (radius + 1) * step_mm >= ANY_MIN_SEPARATION_MM or radius == 1  # the nearest distinct peaks are that far apart
    assert radius * step_mm < ANY_MIN_SEPARATION_MM


def test_more_positions_than_channels_drops_the_extra_ones():
    true_rows = [9.5 + 9.5 * i for i in range(14)]  # 14 discs, 11 channels
    named, any_map = _outputs(true_rows, {2 + i: r for i, r in enumerate(true_rows[:11])}, shape=(160, 32))
    found = name_positions(named, any_map, VALUES, pixel_mm=PX)
    assert [d.value for d in found] == list(VALUES)
    assert np.allclose([d.row for d in found], true_rows[:11], atol=0.5)


def test_name_positions_threshold_empty_and_invalid_arguments():
    named, any_map = _outputs([13.5, 23.0], {3: 13.5, 4: 23.0})
    assert name_positions(named * 0.2, any_map * 0.2, VALUES, threshold=0.3, pixel_mm=PX) == []
    assert name_positions(np.zeros_like(named), np.zeros_like(any_map), VALUES, threshold=0.0, pixel_mm=PX) == []
    with pytest.raises(ValueError, match="must be"):
        name_positions(named, any_map[:-1], VALUES, pixel_mm=PX)
    with pytest.raises(ValueError, match="NaN"):
        name_positions(named, any_map * np.nan, VALUES, pixel_mm=PX)
    with pytest.raises(ValueError, match="len"):
        name_positions(named, any_map, VALUES[:-1], pixel_mm=PX)
    with pytest.raises(ValueError, match="threshold"):
        name_positions(named, any_map, VALUES, threshold=1.5, pixel_mm=PX)
    with pytest.raises(ValueError, match="pixel_mm"):
        name_positions(named, any_map, VALUES, pixel_mm=0)


def test_decode_outputs_picks_the_rule_from_the_model():
    true_rows = [13.5 + 9.5 * i for i in range(4)]
    named, any_map = _outputs(true_rows, {3 + i: r + 2.0 * i for i, r in enumerate(true_rows)})
    with_any = decode_outputs(np.concatenate([named, any_map[None]]), VALUES, any_disc=True, pixel_mm=PX)
    assert with_any == name_positions(named, any_map, VALUES, pixel_mm=PX)
    assert decode_outputs(named, VALUES, any_disc=False, pixel_mm=PX) == decode_heatmaps(named, VALUES)
