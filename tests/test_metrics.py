import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from msanet.metrics import aggregate, closest_point, label_matched

# ground truth: discs 3..6 every 18 mm down the spine (row, col) in mm
GT = {v: np.array([18.0 * (v - 2), 40.0]) for v in range(3, 7)}


def _pred(d):
    return [(v, np.asarray(x)) for v, x in d.items()]


@pytest.mark.parametrize(
    "name, pred, expected",
    [
        ("perfect", _pred(GT), dict(tp=4, fn=0, fp=0, fnr=0.0, fpr=0.0, dtt_mean=0.0)),
        ("one missing", _pred({v: x for v, x in GT.items() if v != 4}), dict(tp=3, fn=1, fp=0, fnr=0.25, fpr=0.0)),
        ("one extra", _pred(GT) + [(7, np.array([90.0, 40.0]))], dict(tp=4, fn=0, fp=1, fnr=0.0, fpr=0.2)),
        ("duplicate label", _pred(GT) + [(5, np.array([56.0, 41.0]))], dict(tp=4, fn=0, fp=1, fpr=0.2)),
        ("shift by one level", [(v - 1, x) for v, x in GT.items()], dict(tp=0, fn=4, fp=4, fnr=1.0, fpr=1.0)),
        ("empty prediction", [], dict(tp=0, fn=4, fp=0, fnr=1.0)),
    ],
)
def test_label_matched_cases(name, pred, expected):
    m = label_matched(GT, pred, radius_mm=5.0)
    for k, v in expected.items():
        assert m[k] == pytest.approx(v), (name, k)


def test_label_matched_dtt_by_hand_and_empty_gt():
    pred = [(3, GT[3] + [3.0, 4.0]), (4, GT[4]), (5, GT[5] + [0.0, 1.0]), (6, GT[6] + [6.0, 0.0])]
    m = label_matched(GT, pred, radius_mm=5.0)
    assert m["dtts"] == [5.0, 0.0, 1.0]  # disc 6 is 6 mm away: FN + FP
    assert m["dtt_mean"] == pytest.approx(2.0) and m["dtt_median"] == pytest.approx(1.0)
    assert m["dtt_std"] == pytest.approx(np.std([5.0, 0.0, 1.0]))
    assert (m["fn"], m["fp"]) == (1, 1)
    empty = label_matched({}, pred)
    assert math.isnan(empty["fnr"]) and empty["fpr"] == 1.0 and math.isnan(empty["dtt_mean"])
    none = label_matched({}, [])
    assert math.isnan(none["fnr"]) and math.isnan(none["fpr"])


@pytest.mark.parametrize(
    "name, pred, expected",
    [
        ("perfect", _pred(GT), dict(tp=4, fn=0, fp=0)),
        ("one missing", _pred({v: x for v, x in GT.items() if v != 4}), dict(fn=1, fp=0)),
        ("one extra far away", _pred(GT) + [(7, np.array([120.0, 40.0]))], dict(fn=0, fp=1)),
        ("extra next to a taken disc", _pred(GT) + [(9, GT[5] + [2.0, 0.0])], dict(fn=0, fp=1)),
        ("shift by one level: labels ignored", [(v - 1, x) for v, x in GT.items()], dict(fn=0, fp=0, dtt_mean=0.0)),
        ("empty prediction", [], dict(fn=4, fp=0)),
    ],
)
def test_closest_point_cases(name, pred, expected):
    m = closest_point(GT, pred, pixel_mm=1.0)
    for k, v in expected.items():
        assert m[k] == pytest.approx(v), (name, k)


def test_closest_point_axis_thresholds_by_hand():
    gt = {3: np.array([10.0, 5.0])}
    assert closest_point(gt, [(3, np.array([17.0, 5.0]))])["fn"] == 0  # 7 px along the axis: not FN
    assert closest_point(gt, [(3, np.array([17.5, 5.0]))])["fn"] == 1  # 7.5 px: FN ...
    assert closest_point(gt, [(3, np.array([17.5, 5.0]))])["fp"] == 0  # ... but within 10 px: not FP
    assert closest_point(gt, [(3, np.array([10.0, 25.0]))], pixel_mm=0.5)["dtt_mean"] == pytest.approx(10.0)  # across the axis: Euclidean mm
    assert closest_point({}, [(3, np.array([1.0, 1.0]))])["fp"] == 1


def test_aggregate_pools_discs():
    a = label_matched(GT, _pred(GT))
    b = label_matched(GT, [(3, GT[3] + [0.0, 2.0])])
    agg = aggregate([a, b])
    assert (agg["n_gt"], agg["tp"], agg["fn"], agg["n_images"]) == (8, 5, 3, 2)
    assert agg["dtt_mean"] == pytest.approx(2.0 / 5)
    assert agg["fnr"] == pytest.approx(3 / 8)


vectors = st.tuples(st.floats(-3.5, 3.5), st.floats(-3.5, 3.5))


@settings(max_examples=60, deadline=None)
@given(vectors)
def test_translation_within_radius_gives_its_length(v):
    shift = np.array(v)
    if np.linalg.norm(shift) > 4.99:
        return
    m = label_matched(GT, [(k, x + shift) for k, x in GT.items()], radius_mm=5.0)
    assert m["fn"] == 0 and m["fp"] == 0
    assert m["dtt_mean"] == pytest.approx(float(np.linalg.norm(shift)), abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(st.permutations(list(range(6))))
def test_metrics_do_not_depend_on_prediction_order(order):
    pred = _pred(GT) + [(5, GT[5] + [1.0, 0.0]), (8, np.array([100.0, 0.0]))]
    ref_lm, ref_cp = label_matched(GT, pred), closest_point(GT, pred)
    shuffled = [pred[i] for i in order]
    lm, cp = label_matched(GT, shuffled), closest_point(GT, shuffled)
    for key in ("tp", "fn", "fp", "dtt_mean"):
        assert lm[key] == ref_lm[key] and cp[key] == ref_cp[key]
