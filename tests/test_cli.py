"""The command line: real invocations of ``msanet.cli.main`` (in-process) on tiny files."""

import pytest
from conftest import REAL_T1W

from msanet.cli import main


def test_inspect_prints_geometry_and_labels(tiny_bids, capsys):
    image = tiny_bids / "sub-aaa01" / "anat" / "sub-aaa01_T2w.nii.gz"
    assert main(["inspect", str(image)]) == 0
    out = capsys.readouterr().out
    assert "orientation:  RPI" in out and "shape:        9 x 30 x 40" in out
    assert "4 discs" in out and "C2-C3" in out and "C5-C6" in out


@pytest.mark.parametrize(
    "make, code, message",
    [
        (lambda p: p / "missing.nii.gz", 3, "no such file"),
        (lambda p: (p / "junk.nii.gz").write_bytes(b"\x1f\x8b garbage") and p / "junk.nii.gz", 4, "not a readable NIfTI"),
    ],
)
def test_inspect_bad_input_one_line_and_exit_code(tmp_path, capsys, make, code, message):
    path = make(tmp_path)
    assert main(["inspect", str(path)]) == code
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and str(path) in err and "Traceback" not in err


def test_split_and_show(tiny_bids, tmp_path, capsys):
    assert main(["split", str(tiny_bids), "-o", str(tmp_path / "s.json"), "--test", "0.34", "--val", "0"]) == 0
    assert "train 2, val 0, test 1" in capsys.readouterr().out
    image = tiny_bids / "sub-aaa01" / "anat" / "sub-aaa01_T1w.nii.gz"
    labels = tiny_bids / "derivatives" / "labels" / "sub-aaa01" / "anat" / "sub-aaa01_T1w_label-discs_dlabel.nii.gz"
    png = tmp_path / "show.png"
    assert main(["show", str(image), "--labels", str(labels), "-o", str(png)]) == 0
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert main(["show", str(image), "-o", str(png)]) == 8  # exists, no --overwrite
    assert "already exists" in capsys.readouterr().err


@pytest.mark.skipif(not REAL_T1W.exists(), reason="needs ../shared/data/real")
def test_inspect_real_scan(capsys):
    assert main(["inspect", str(REAL_T1W)]) == 0
    assert "42 x 76 x 77" in capsys.readouterr().out
