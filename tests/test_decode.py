import numpy as np
import pytest

from msanet.decode import Detection, calibrate_threshold, channel_candidates, decode_heatmaps


def gaussian(h, w, r, c, sigma=1.5, peak=1.0):
    rows, cols = np.mgrid[0:h, 0:w]
    return peak * np.exp(-((rows - r) ** 2 + (cols - c) ** 2) / (2 * sigma**2))


@pytest.mark.parametrize("r, c", [(5.0, 5.0), (5.3, 6.7), (7.45, 3.12), (2.5, 8.5)])
def test_subpixel_peak_of_a_gaussian_is_exact(r, c):
    (row, col, height), *_ = channel_candidates(gaussian(12, 12, r, c))
    assert abs(row - r) < 0.01 and abs(col - c) < 0.01 and height > 0.8


def test_output_to_input_coordinates_and_threshold():
    heat = np.stack([gaussian(8, 8, 2, 3, peak=0.9), gaussian(8, 8, 5, 3, peak=0.2)])
    dets = decode_heatmaps(heat, values=(3, 4), stride=4, threshold=0.3)
    assert dets == [Detection(3, 2 * 4 + 1.5, 3 * 4 + 1.5, pytest.approx(0.9))]


def test_out_of_order_detection_is_resolved_by_total_confidence():
    # disc 3 peaks BELOW disc 4 and 5 -> the chain (4, 5) beats (3) alone
    heat = np.stack([gaussian(16, 8, 12, 3, peak=0.6), gaussian(16, 8, 4, 3, peak=0.8), gaussian(16, 8, 8, 3, peak=0.8)])
    assert [d.value for d in decode_heatmaps(heat, (3, 4, 5), threshold=0.3)] == [4, 5]


def test_second_candidate_rescues_order():
    # channel 4 has a strong wrong peak above disc 3 and a weaker right one below it
    h4 = gaussian(16, 8, 2, 3, peak=0.9) + gaussian(16, 8, 10, 3, peak=0.7)
    heat = np.stack([gaussian(16, 8, 6, 3, peak=0.9), h4])
    dets = decode_heatmaps(heat, (3, 4), threshold=0.3)
    assert [d.value for d in dets] == [3, 4]
    assert abs(dets[0].row - (6 * 4 + 1.5)) < 0.5 and abs(dets[1].row - (10 * 4 + 1.5)) < 1.0  # the lower, weaker peak


def test_duplicate_peaks_keep_the_more_confident():
    heat = np.stack([gaussian(12, 8, 6, 3, peak=0.7), gaussian(12, 8, 6, 3, peak=0.9)])
    assert [d.value for d in decode_heatmaps(heat, (3, 4), threshold=0.3)] == [4]


def test_empty_and_invalid():
    assert decode_heatmaps(np.zeros((3, 8, 8)), (2, 3, 4)) == []
    with pytest.raises(ValueError, match="len\\(values\\)=2"):
        decode_heatmaps(np.zeros((3, 8, 8)), (2, 3))
    with pytest.raises(ValueError, match="threshold=2"):
        decode_heatmaps(np.zeros((1, 8, 8)), (2,), threshold=2)
    with pytest.raises(ValueError, match="NaN"):
        decode_heatmaps(np.full((1, 4, 4), np.nan), (2,))
    with pytest.raises(ValueError, match="\\[V, h, w\\]"):
        decode_heatmaps(np.zeros((8, 8)), (2,))


def test_calibrate_threshold_by_hand():
    # correct: 0.9, 0.8, 0.4; wrong: 0.5, 0.2 -> t in (0.2, 0.4] costs 1 (the 0.5 FP); t in (0.5, 0.8] costs 1 (the 0.4 FN)
    # ties -> highest threshold: midpoint of 0.5 and 0.8
    t = calibrate_threshold([0.9, 0.8, 0.4, 0.5, 0.2], [True, True, True, False, False])
    assert t == pytest.approx(0.65)
    assert calibrate_threshold([0.9, 0.1], [True, False]) == pytest.approx(0.5)
    assert calibrate_threshold([], []) == 0.5
