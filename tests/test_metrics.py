import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from msanet.metrics import aggregate, closest_point, label_matched

# ground truth: discs 3..6 every 18 mm (or px) down the spine, (row, col)
GT = {v: np.array([18.0 * (v - 2), 40.0]) for v in range(3, 7)}
NAN = math.nan


def _pred(d):
    return [(v, np.asarray(x)) for v, x in d.items()]


def _check(m, expected, name):
    for k, v in expected.items():
        if isinstance(v, float) and math.isnan(v):
            assert math.isnan(m[k]), (name, k, m[k])
        else:
            assert m[k] == pytest.approx(v), (name, k, m[k])


MISSING_4 = _pred({v: x for v, x in GT.items() if v != 4})
EXTRA_7 = _pred(GT) + [(7, np.array([90.0, 40.0]))]  # 18 mm below disc 6
SHIFTED = [(v - 1, x) for v, x in GT.items()]  # every disc labelled one level too high

LABEL_MATCHED_ROWS = [
    ("perfect", GT, _pred(GT), dict(n_gt=4, n_pred=4, tp=4, fn=0, fp=0, fnr=0.0, fpr=0.0, dtt_mean=0.0, dtt_std=0.0, dtt_median=0.0, naming_errors=0,
                                             fp_beyond_labels=0)),
    ("one missing", GT, MISSING_4, dict(tp=3, fn=1, fp=0, tpr=0.75, fnr=0.25, fpr=0.0, dtt_mean=0.0, naming_errors=0)),
    ("one extra", GT, EXTRA_7, dict(n_pred=5, tp=4, fn=0, fp=1, fnr=0.0, fpr=0.2, dtt_mean=0.0, fp_beyond_labels=1)),  # 7 > 6
    ("duplicate label", GT, _pred(GT) + [(5, np.array([56.0, 41.0]))], dict(tp=4, fn=0, fp=1, fpr=0.2, dtt_mean=0.0, fp_beyond_labels=0)),
    # pred labelled 3 sits on GT 4 (18 mm from GT 3) ... pred 2 has no GT, GT 6 is not predicted;
    # every GT disc has a prediction of another label on it: 4 naming errors
    ("shift by one level", GT, SHIFTED, dict(tp=0, fn=4, fp=4, fnr=1.0, fpr=1.0, dtt_mean=18.0, dtt_median=18.0, dtt_std=0.0, naming_errors=4,
                                                 fp_beyond_labels=1)),  # only value 2 lies outside 3..6
    ("empty prediction", GT, [], dict(n_pred=0, tp=0, fn=4, fp=0, fnr=1.0, fpr=NAN, dtt_mean=NAN, naming_errors=0)),
    ("empty ground truth", {}, _pred(GT), dict(n_gt=0, tp=0, fn=0, fp=4, tpr=NAN, fnr=NAN, fpr=1.0, dtt_mean=NAN, naming_errors=0,
                                                  fp_beyond_labels=4)),
    ("both empty", {}, [], dict(n_gt=0, n_pred=0, fnr=NAN, fpr=NAN, dtt_median=NAN, naming_errors=0)),
]


@pytest.mark.parametrize("name, gt, pred, expected", LABEL_MATCHED_ROWS, ids=[r[0] for r in LABEL_MATCHED_ROWS])
def test_label_matched_rows(name, gt, pred, expected):
    _check(label_matched(gt, pred, radius_mm=5.0), expected, name)


def test_label_matched_dtt_and_per_disc_by_hand():
    pred = [(6, GT[6] + [6.0, 0.0]), (3, GT[3] + [3.0, 4.0]), (4, GT[4]), (5, GT[5] + [0.0, 1.0]), (8, np.array([0.0, 0.0]))]
    m = label_matched(GT, pred, radius_mm=5.0)
    # disc 3 at exactly R = 5 is a TP (inclusive); disc 6 is 6 mm away: FN + FP, but its DTT counts
    assert m["dtts"] == [5.0, 0.0, 1.0, 6.0]
    assert m["dtt_mean"] == pytest.approx(3.0) and m["dtt_median"] == pytest.approx(3.0)
    assert m["dtt_std"] == pytest.approx(np.std([5.0, 0.0, 1.0, 6.0]))
    assert (m["tp"], m["fn"], m["fp"]) == (3, 1, 2)
    assert [(d["value"], d["name"], d["status"]) for d in m["per_disc"]] == [
        (3, "C2-C3", "tp"), (4, "C3-C4", "tp"), (5, "C4-C5", "tp"), (6, "C5-C6", "fn"), (6, "C5-C6", "fp"), (8, "C7-T1", "fp")]
    assert m["per_disc"][4]["dtt_mm"] == pytest.approx(6.0) and math.isnan(m["per_disc"][5]["dtt_mm"])
    assert m["offsets"] == [[3.0, 4.0], [0.0, 0.0], [0.0, 1.0]]  # found discs 3, 4, 5; disc 6 (6 mm away) is not found


def test_offsets_of_named_and_misnamed_discs_pool_into_their_mean():
    moved = [(v, x + [1.0, -2.0]) for v, x in SHIFTED]  # one level off, and 1 mm down, 2 mm back from each disc
    m = label_matched(GT, moved)
    assert m["naming_errors"] == 4 and m["offsets"] == [[1.0, -2.0]] * 4  # misnamed discs are found too
    agg = aggregate([m, label_matched(GT, [(3, GT[3] + [3.0, 2.0])])])  # + one right-named disc, (3, 2) off
    assert agg["n_offsets"] == 5 and agg["offset_mean"] == pytest.approx([(4 * 1.0 + 3.0) / 5, (4 * -2.0 + 2.0) / 5])
    none = aggregate([label_matched(GT, [])])
    assert none["n_offsets"] == 0 and math.isnan(none["offset_mean"])


def test_label_matched_closest_duplicate_is_the_match_and_3d_works():
    gt = {3: np.array([0.0, 0.0, 0.0])}
    m = label_matched(gt, [(3, np.array([0.0, 0.0, 4.0])), (3, np.array([0.0, 2.0, 0.0]))])
    assert (m["tp"], m["fp"], m["dtts"]) == (1, 1, [2.0])
    assert m["per_disc"][1] == {"value": 3, "name": "C2-C3", "status": "fp", "dtt_mm": 4.0}


def test_label_matched_naming_errors_by_hand():
    pred = [(4, GT[3] + [3.0, 4.0]),  # 5 mm from GT 3 (R is inclusive), under the name C3-C4
            (5, GT[3] + [0.0, 1.0]),  # 1 mm from GT 3: the nearest wrong name is the one reported
            (5, GT[5]),  # the TP of GT 5
            (7, GT[6] + [6.0, 0.0])]  # 6 mm from GT 6: beyond R, not a naming error
    m = label_matched(GT, pred, radius_mm=5.0)
    assert (m["tp"], m["fn"], m["fp"], m["naming_errors"]) == (1, 3, 3, 1)
    gt_entries = m["per_disc"][:4]
    assert [(d["value"], d["status"], d["misnamed_as"]) for d in gt_entries] == [(3, "fn", 5), (4, "fn", None), (5, "tp", None), (6, "fn", None)]
    assert gt_entries[0]["misnamed_mm"] == pytest.approx(1.0) and all(math.isnan(d["misnamed_mm"]) for d in gt_entries[1:])
    assert label_matched(GT, pred[:1])["per_disc"][0]["misnamed_mm"] == pytest.approx(5.0)  # alone, the 5 mm one counts
    assert all("misnamed_as" not in d for d in m["per_disc"][4:])  # FP entries: only value, name, status, dtt_mm


def test_label_matched_right_prediction_of_a_neighbour_is_not_a_naming_error():
    gt = {3: np.array([0.0, 0.0]), 4: np.array([8.0, 0.0])}
    neighbour = [(4, np.array([4.0, 0.0]))]  # 4 mm from both discs; the TP of GT 4
    m = label_matched(gt, neighbour, radius_mm=5.0)
    assert (m["tp"], m["fn"], m["naming_errors"]) == (1, 1, 0) and m["per_disc"][0]["misnamed_as"] is None
    m = label_matched(gt, neighbour + [(5, np.array([2.0, 0.0]))], radius_mm=5.0)
    assert m["naming_errors"] == 1 and (m["per_disc"][0]["misnamed_as"], m["per_disc"][0]["misnamed_mm"]) == (5, 2.0)


@pytest.mark.parametrize(
    "gt, pred, message",
    [
        ({3: [0.0, 0.0]}, [(3, [0.0, 0.0, 0.0])], "same shape"),
        ({3: [0.0, np.nan]}, [], "NaN"),
        ({30: [0.0, 0.0]}, [], "30"),
        ({3: [0.0, 0.0]}, [(3.5, [0.0, 0.0])], "3.5"),
    ],
)
def test_invalid_inputs(gt, pred, message):
    with pytest.raises(ValueError, match=message):
        label_matched(gt, pred)
    with pytest.raises(ValueError, match=message):
        closest_point(gt, pred)


def test_invalid_parameters():
    with pytest.raises(ValueError, match="radius_mm=0"):
        label_matched(GT, [], radius_mm=0)
    with pytest.raises(ValueError, match="pixel_mm"):
        closest_point(GT, [], pixel_mm=[1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="axis=2"):
        closest_point(GT, [], axis=2)
    with pytest.raises(ValueError, match="fp_px=-1"):
        closest_point(GT, [], fp_px=-1)


# ---- closest-point (anchors' rule), coordinates in px -----------------------------------------

CLOSEST_POINT_ROWS = [
    ("perfect", GT, _pred(GT), dict(tp=4, fn=0, fp=0, fnr=0.0, fpr=0.0, fpr_anchor=0.0, dtt_mean=0.0)),
    ("one missing", GT, MISSING_4, dict(tp=3, fn=1, fp=0, tpr=0.75, fnr=0.25, dtt_mean=18.0 / 4)),  # GT 4's DTT: 18 px to disc 3
    ("one extra far away", GT, EXTRA_7 + [(8, np.array([120.0, 40.0]))], dict(tp=4, fn=0, fp=2, fpr=2 / 6, fpr_anchor=0.5)),
    ("extra next to a taken disc", GT, _pred(GT) + [(9, GT[5] + [2.0, 0.0])], dict(tp=4, fn=0, fp=1, fpr=0.2, fpr_anchor=0.25)),
    ("shift by one level: labels ignored", GT, SHIFTED, dict(tp=4, fn=0, fp=0, dtt_mean=0.0)),
    ("empty prediction", GT, [], dict(tp=0, fn=4, fp=0, fnr=1.0, fpr=NAN, fpr_anchor=0.0, dtt_mean=NAN)),
    ("empty ground truth", {}, _pred(GT), dict(n_gt=0, tp=0, fn=0, fp=4, fnr=NAN, fpr=1.0, fpr_anchor=NAN, dtt_mean=NAN)),
]


@pytest.mark.parametrize("name, gt, pred, expected", CLOSEST_POINT_ROWS, ids=[r[0] for r in CLOSEST_POINT_ROWS])
def test_closest_point_rows(name, gt, pred, expected):
    _check(closest_point(gt, pred, pixel_mm=1.0), expected, name)


def test_closest_point_one_extra_18px_below_is_fp():
    # the extra disc (90 px) has GT 6 (72 px) as closest: 18 px > 10 along the axis -> FP
    _check(closest_point(GT, EXTRA_7), dict(tp=4, fn=0, fp=1, fpr=0.2), "extra")


def test_closest_point_axis_thresholds_by_hand():
    gt = {3: np.array([10.0, 5.0])}
    assert closest_point(gt, [(3, np.array([17.0, 5.0]))])["fn"] == 0  # exactly 7 px along the axis: not FN
    assert closest_point(gt, [(3, np.array([17.5, 5.0]))])["fn"] == 1  # 7.5 px: FN ...
    assert closest_point(gt, [(3, np.array([17.5, 5.0]))])["fp"] == 0  # ... but within 10 px: not FP
    assert closest_point(gt, [(3, np.array([20.5, 5.0]))])["fp"] == 1  # 10.5 px: FP
    far_across = closest_point(gt, [(3, np.array([10.0, 25.0]))], pixel_mm=0.5)  # 20 px across the axis
    assert (far_across["fn"], far_across["fp"]) == (0, 0) and far_across["dtt_mean"] == pytest.approx(10.0)
    aniso = closest_point(gt, [(3, np.array([13.0, 9.0]))], pixel_mm=[2.0, 0.5])
    assert aniso["dtt_mean"] == pytest.approx(np.hypot(6.0, 2.0))
    col_axis = closest_point(gt, [(3, np.array([30.0, 5.0]))], axis=1)  # along the column: 0 px
    assert (col_axis["fn"], col_axis["fp"]) == (0, 0)


def test_closest_point_uses_euclidean_nearest_not_axis_nearest():
    # GT 3 at (0, 0), GT 4 at (12, 40); prediction at (12, 1): Euclidean-nearest GT is disc 3
    # (12.04 px; disc 4 is 39 px away) and it is 12 px away along the axis -> FP, although disc 4
    # is level with it. Disc 4's closest prediction is that same one, 0 px along the axis -> not FN.
    gt = {3: np.array([0.0, 0.0]), 4: np.array([12.0, 40.0])}
    m = closest_point(gt, [(3, np.array([12.0, 1.0]))])
    assert (m["fp"], m["fn"], m["tp"]) == (1, 1, 1)  # disc 3: 12 px along the axis > 7 -> FN
    assert m["dtts"] == pytest.approx([np.hypot(12, 1), 39.0])


def test_closest_point_taken_rule_and_published_variant():
    gt = {3: np.array([18.0, 40.0]), 4: np.array([36.0, 40.0])}
    pred = [(3, np.array([20.0, 40.0])), (4, np.array([17.0, 41.0])), (5, np.array([36.0, 40.0]))]
    m = closest_point(gt, pred)
    assert m["fp"] == 1 and [d["status"] for d in m["per_disc"]] == ["tp", "tp", "fp"]
    assert m["per_disc"][2]["value"] == 3  # the farther of the two claimants of GT 3 (2 px vs 1.41 px)
    assert closest_point(gt, pred, mark_taken=False)["fp"] == 0  # published code: taken list never filled


def test_aggregate_pools_discs():
    a = label_matched(GT, _pred(GT))
    b = label_matched(GT, [(3, GT[3] + [0.0, 2.0])])
    agg = aggregate([a, b])
    assert (agg["n_images"], agg["n_gt"], agg["n_pred"], agg["tp"], agg["fn"], agg["fp"]) == (2, 8, 5, 5, 3, 0)
    assert agg["dtt_mean"] == pytest.approx(2.0 / 5) and agg["dtt_median"] == 0.0
    assert agg["dtt_std"] == pytest.approx(np.std([0, 0, 0, 0, 2.0]))
    assert agg["fnr"] == pytest.approx(3 / 8) and agg["tpr"] == pytest.approx(5 / 8) and agg["fpr"] == 0.0
    assert "fpr_anchor" not in agg and "dtts" not in agg
    assert aggregate([a, label_matched(GT, SHIFTED), label_matched(GT, SHIFTED)])["naming_errors"] == 0 + 4 + 4
    assert aggregate([label_matched(GT, EXTRA_7), label_matched(GT, SHIFTED)])["fp_beyond_labels"] == 1 + 1
    cp = aggregate([closest_point(GT, EXTRA_7), closest_point({}, [])])
    assert cp["fpr_anchor"] == pytest.approx(1 / 4) and cp["fpr"] == pytest.approx(1 / 5) and "naming_errors" not in cp
    empty = aggregate([])
    assert empty["n_images"] == 0 and math.isnan(empty["fnr"]) and math.isnan(empty["dtt_mean"])


# ---- properties ------------------------------------------------------------------------------

vectors = st.tuples(st.floats(-3.5, 3.5), st.floats(-3.5, 3.5))


@settings(max_examples=40, deadline=None)
@given(vectors)
def test_translation_within_radius_gives_its_length(v):
    shift = np.array(v)
    d = float(np.linalg.norm(shift))
    if d > 4.99:
        return
    for m in (label_matched(GT, [(k, x + shift) for k, x in GT.items()], radius_mm=5.0),
              closest_point(GT, [(k, x + shift) for k, x in GT.items()], pixel_mm=1.0)):
        assert m["fn"] == 0 and m["fp"] == 0 and m["tp"] == 4
        assert m["dtt_mean"] == pytest.approx(d, abs=1e-9) and m["dtt_std"] == pytest.approx(0.0, abs=1e-9)


@settings(max_examples=30, deadline=None)
@given(st.permutations(list(range(7))))
def test_metrics_do_not_depend_on_prediction_order(order):
    pred = _pred(GT) + [(5, GT[5] + [1.0, 0.0]), (8, np.array([100.0, 0.0])), (3, GT[3] + [0.5, 0.5])]
    refs = (label_matched(GT, pred), closest_point(GT, pred))
    shuffled = [pred[i] for i in order]
    for ref, m in zip(refs, (label_matched(GT, shuffled), closest_point(GT, shuffled))):
        for key in ("tp", "fn", "fp", "dtts", "per_disc"):
            assert m[key] == ref[key]


@settings(max_examples=30, deadline=None)
@given(st.floats(0.1, 10.0))
def test_label_matched_is_scale_equivariant(s):
    pred = [(3, GT[3] + [1.0, 1.0]), (4, GT[4] + [4.0, 4.0]), (7, np.array([0.0, 0.0]))]
    a, b = label_matched(GT, pred, radius_mm=5.0), label_matched({k: x * s for k, x in GT.items()}, [(k, x * s) for k, x in pred], radius_mm=5.0 * s)
    assert (a["tp"], a["fn"], a["fp"]) == (b["tp"], b["fn"], b["fp"])
    assert b["dtt_mean"] == pytest.approx(a["dtt_mean"] * s)
