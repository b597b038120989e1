import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import pytest

from msanet.qcpage import QcImage, build_page, fsleyes_command, image_flags, write_page


def _discs(*rows):
    """(value, row px, superior-inferior mm, confidence) -> _discs.json records (world mm only along one axis)."""
    return [{"value": v, "name": f"d{v}", "pixel_rc": [r, 10.0], "world_mm": [0.0, 0.0, -mm], "confidence": c} for v, r, mm, c in rows]


REGULAR = [(3, 10, 0, 0.9), (4, 20, 17, 0.9), (5, 30, 34, 0.9), (6, 40, 51, 0.9)]


@pytest.mark.parametrize("discs, error, expected", [
    (REGULAR, None, []),
    ([], None, [("no disc", "")]),
    (REGULAR, "x.nii.gz: not a readable NIfTI", [("failed", "x.nii.gz: not a readable NIfTI")]),
    ([REGULAR[0], REGULAR[2], REGULAR[3]], None, [("gap", "C3-C4 missing")]),  # 34 mm over two levels: regular spacing
    # C4-C5 named where C5-C6 is: one step of two levels' length
    ([(3, 10, 0, 0.9), (4, 20, 17, 0.9), (5, 40, 51, 0.9), (6, 50, 68, 0.9)], None,
     [("order", "d4 to d5: 34 mm per level, median 17 mm (a skipped or an extra disc?)")]),
    ([(3, 10, 0, 0.9), (4, 20, 17, 0.9), (5, 15, 34, 0.9)], None, [("order", "d5 is not below d4")]),
    ([(3, 10, 0, 0.9), (4, 20, 17, 0.65)], None, [("low confidence", "d4 0.65")]),
])
def test_image_flags(discs, error, expected):
    item = QcImage(Path("x.nii.gz"), Path("x_label.nii.gz"), Path("x_qc.png"), _discs(*discs), error)
    assert [(f.kind, f.text) for f in image_flags(item)] == expected


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.srcs, self.ids = [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.srcs.append(attrs["src"])
        if tag == "section":
            self.ids.append(attrs["id"])


def test_page_is_offline_flagged_first_and_links_local_pictures(tmp_path):
    out = tmp_path / "run out"
    items = []
    for name, discs, error in [("a_ok", REGULAR, None), ("b_none", [], None), ("c_failed", [], "c: broken"), ("d_gap", [REGULAR[0], REGULAR[2]], None)]:
        picture = out / "sub dir" / f"{name}_qc.png"
        if error is None:
            picture.parent.mkdir(parents=True, exist_ok=True)
            picture.write_bytes(b"\x89PNG")
        items.append(QcImage(tmp_path / "in" / f"{name}.nii.gz", out / f"{name}_label.nii.gz", picture, _discs(*discs), error))
    page = write_page(items, out / "qc" / "index.html", title="QC <run>", details="model m")
    text = page.read_text()
    assert text.startswith("<!DOCTYPE html>") and "QC &lt;run&gt;" in text
    assert not re.search(r"(src|href)=[\"']?(https?:)?//", text) and "<script" not in text and "<link" not in text
    assert re.findall(r"<h2>([^<]*)</h2>", text) == ["c_failed.nii.gz", "b_none.nii.gz", "d_gap.nii.gz", "a_ok.nii.gz"]
    links = _Links()
    links.feed(text)
    assert len(links.srcs) == 3 and all((page.parent / unquote(src)).resolve().is_file() for src in links.srcs)
    assert "4</b> image(s), <b>3</b> flagged" in text
    assert text.count("fsleyes ") == 3  # not for the failed image
    assert f"-cm greyscale &#x27;{out / 'a_ok_label.nii.gz'}&#x27; -cm subcortical" in text  # a path with a space is quoted


def test_fsleyes_command_opens_the_image_then_its_labels(tmp_path):
    cmd = fsleyes_command(tmp_path / "a b.nii.gz", tmp_path / "lab.nii.gz")
    assert cmd == f"fsleyes '{tmp_path}/a b.nii.gz' -cm greyscale {tmp_path}/lab.nii.gz -cm subcortical"


def test_same_items_give_the_same_page(tmp_path):
    items = [QcImage(tmp_path / "a.nii.gz", tmp_path / "l.nii.gz", tmp_path / "p.png", _discs(*REGULAR))]
    assert build_page(items, tmp_path / "qc" / "index.html", "t") == build_page(list(items), tmp_path / "qc" / "index.html", "t")


def test_readme_shows_the_qc_page_screenshot():
    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text()
    assert "](docs/figures/qc_page.png)" in readme and readme.index("## Outputs") < readme.index("<!-- RESULTS -->")
    assert (root / "docs" / "figures" / "qc_page.png").read_bytes()[:4] == b"\x89PNG"


def _whole_spine(skip=()):
    """24 discs C1-C2 .. L5-S1, the step per level growing from 15 mm (neck) to 38 mm (lumbar)."""
    rows, mm = [], 0.0
    for k, value in enumerate(range(2, 26)):
        rows.append((value, 10 + 20 * k, mm, 0.9))
        mm += 15 + 23 * k / 22
    return [r for r in rows if r[0] not in skip]


COUNT_OFF = {"from": "C2-C3", "to": "L5-S1", "expected": 21, "found": 22, "ok": False}


@pytest.mark.parametrize("discs, anchor_check, expected", [
    (_whole_spine(), {**COUNT_OFF, "found": 21, "ok": True}, []),  # 15 -> 38 mm per level is no spacing flag
    (_whole_spine(), COUNT_OFF,
     [("count", "C2-C3 to L5-S1: 22 discs between, anatomy expects 21 (a transitional vertebra, or a missed or extra disc?)")]),
    (_whole_spine(), None, []),  # outputs of older versions carry no anchor fields
    # a whole-spine chain that names T8-T9 where T9-T10 is: a double step among its neighbours
    ([r if r[0] < 16 else (r[0] - 1, *r[1:]) for r in _whole_spine(skip=(16,))], None,
     [("order", "d15 to d16: 58 mm per level, median 31 mm (a skipped or an extra disc?)")]),
])
def test_whole_spine_flags(discs, anchor_check, expected):
    item = QcImage(Path("x.nii.gz"), Path("x_label.nii.gz"), Path("x_qc.png"), _discs(*discs), anchor="C2", anchor_check=anchor_check)
    assert [(f.kind, f.text) for f in image_flags(item)] == expected


def test_card_says_which_anchor_named_the_discs(tmp_path):
    items = [QcImage(tmp_path / f"{a}.nii.gz", tmp_path / "l.nii.gz", tmp_path / "p.png", _discs(*REGULAR), anchor=a) for a in ("C2", "sacrum", "none")]
    text = build_page(items, tmp_path / "qc" / "index.html", "t")
    assert "named from: C2 (counted down from the neck)" in text and "named from: the sacrum (counted up from L5-S1)" in text
    assert "named from: no anchor in view (the model&#x27;s per-disc channels alone)" in text


@pytest.mark.parametrize("threshold, level, flagged", [(0.3, 0.45, ["d4 0.40"]), (0.2, 0.3, []), (0.8, 1.0, ["d3 0.90", "d4 0.40"])])
def test_low_confidence_level_follows_the_threshold(threshold, level, flagged):
    """1.5 x the run's threshold, at most 1: a disc at 0.40 is low for a 0.3 threshold, not for 0.2."""
    from msanet.qcpage import low_confidence_level

    assert low_confidence_level(threshold) == pytest.approx(level)
    item = QcImage(image=Path("a.nii.gz"), labels=Path("a_l.nii.gz"), picture=Path("a.png"), discs=_discs((3, 10, 0, 0.9), (4, 20, 17, 0.4)))
    flags = [f.text for f in image_flags(item, low_confidence_level(threshold)) if f.kind == "low confidence"]
    assert flags == ([", ".join(flagged)] if flagged else [])
