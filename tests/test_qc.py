import numpy as np
import pytest

from msanet import discs
from msanet.qc import REGION_COLOURS, draw_discs


@pytest.mark.parametrize("values, height_mm", [
    (range(2, 13), 256),  # the paper's 11 channels on a cervical window
    (range(2, 26), 900),  # 24 channels down a whole spine
    (range(21, 26), 300),  # a lumbar scan
])
def test_draws_any_vocabulary_with_region_colours(tmp_path, monkeypatch, values, height_mm):
    import matplotlib.axes

    drawn = []
    original = matplotlib.axes.Axes.annotate
    monkeypatch.setattr(matplotlib.axes.Axes, "annotate", lambda self, text, *a, **k: drawn.append((text, k["color"])) or original(self, text, *a, **k))
    image = np.random.default_rng(0).random((height_mm // 2, 60)).astype(np.float32)
    values = list(values)
    points = {v: np.array([10.0 + k * (height_mm // 2 - 20) / len(values), 30.0]) for k, v in enumerate(values)}
    out = draw_discs(image, points, tmp_path / "qc.png", pixel_mm=2.0, confidences={v: 0.9 for v in values})
    assert out.read_bytes()[:4] == b"\x89PNG"
    assert drawn == [(f"{discs.disc_name(v)} 0.90", REGION_COLOURS[discs.region(v)]) for v in values]


def test_long_titles_wrap_but_keep_their_own_line_breaks(tmp_path, monkeypatch):
    import matplotlib.axes

    titles = []
    original = matplotlib.axes.Axes.set_title
    monkeypatch.setattr(matplotlib.axes.Axes, "set_title", lambda self, text, *a, **k: titles.append(text) or original(self, text, *a, **k))
    title = "scan_T2w.nii.gz: 0 discs, anchor none (T2w, model msanet-default.safetensors)\nblue circles: ground truth (9)"
    draw_discs(np.random.default_rng(0).random((64, 200)).astype(np.float32), {}, tmp_path / "qc.png", pixel_mm=2.0, title=title)
    assert titles[-1].split("\n")[-1] == "blue circles: ground truth (9)"
