import pytest

from msanet.anchor import anchor_of
from msanet.decode import Detection


def _dets(values):
    """Detections 10 px apart in value order (row = 10 * value)."""
    return [Detection(v, 10.0 * v, 5.0, 0.9) for v in values]


def _rows(values, extra=()):
    """Rows of disc positions at those values' detections (plus extra rows)."""
    return sorted([10.0 * v for v in values] + list(extra))


WHOLE = range(2, 26)  # C1-C2 .. L5-S1


@pytest.mark.parametrize("values, rows, anchor, check", [
    ([3, 4, 5, 6], _rows([3, 4, 5, 6]), "C2", None),  # cervical scan
    ([2, 3], _rows([2, 3]), "C2", None),
    ([21, 22, 23, 24, 25], _rows(range(21, 26)), "sacrum", None),  # lumbar-only scan: counted up from the sacrum
    ([25], _rows([25]), "sacrum", None),
    ([10, 11, 12, 13], _rows(range(10, 14)), "none", None),  # thoracic-only scan: the channels alone
    ([4, 5, 6], _rows([4, 5, 6]), "none", None),  # C3-C4 and below: no cervical anchor (value <= 3)
    ([], [], "none", None),
    # whole spine: 21 discs between C2-C3 and L5-S1, as anatomy expects
    (list(WHOLE), _rows(WHOLE), "C2", {"from": "C2-C3", "to": "L5-S1", "expected": 21, "found": 21, "ok": True}),
    # a disc position missed between them
    (list(WHOLE), _rows([v for v in WHOLE if v != 14]), "C2", {"from": "C2-C3", "to": "L5-S1", "expected": 21, "found": 20, "ok": False}),
    # a sixth lumbar vertebra: one more disc position than names
    (list(WHOLE), _rows(WHOLE, extra=[244.0]), "C2", {"from": "C2-C3", "to": "L5-S1", "expected": 21, "found": 22, "ok": False}),
    # only C1-C2 and L5-S1 named: 22 expected between; positions at the anchors (+-2 px) are the anchors
    ([2, 25], [19.0, 21.0, *[10.0 * v for v in range(3, 25)], 249.0], "C2",
     {"from": "C1-C2", "to": "L5-S1", "expected": 22, "found": 22, "ok": True}),
])
def test_anchor_rule(values, rows, anchor, check):
    result = anchor_of(_dets(values), rows)
    assert result.anchor == anchor
    assert (None if result.check is None else result.check.to_dict()) == check


def test_anchor_check_text():
    result = anchor_of(_dets(WHOLE), _rows([v for v in WHOLE if v != 14]))
    assert result.check.text() == "C2-C3 to L5-S1: 20 discs between, anatomy expects 21"


@pytest.mark.parametrize("bad", [-1.0, float("inf"), "4"])
def test_anchor_tolerance_validation(bad):
    with pytest.raises(ValueError, match="tolerance_px"):
        anchor_of(_dets([3]), [], tolerance_px=bad)
