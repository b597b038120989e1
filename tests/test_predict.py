import csv
import json
import shutil

import nibabel as nib
import numpy as np
import pytest
from conftest import REAL_T1W, canonical_affine, canonical_phantom, save_canonical

from msanet.cli import main
from msanet.predict import OUTPUT_SUFFIXES


def _model(trained):
    return str(trained["run"] / "best.safetensors")


def _outputs(folder, stem):
    return [folder / f"{stem}{s}" for s in OUTPUT_SUFFIXES]


def test_bids_input_mirrors_layout_and_writes_four_files(trained_tiny, tmp_path, capsys):
    out = tmp_path / "pred"
    assert main(["predict", str(trained_tiny["bids"]), "-o", str(out), "--model", _model(trained_tiny), "--quiet"]) == 0
    files = _outputs(out / "sub-s01" / "anat", "sub-s01_T2w")
    assert all(f.exists() for f in files)
    label_img, source = nib.load(files[0]), nib.load(trained_tiny["bids"] / "sub-s01" / "anat" / "sub-s01_T2w.nii.gz")
    assert label_img.shape == source.shape and np.allclose(label_img.affine, source.affine)
    payload = json.loads(files[1].read_text())
    rows = [d["pixel_rc"][0] for d in payload["discs"]]
    values = [d["value"] for d in payload["discs"]]
    assert rows == sorted(rows) and values == sorted(values) and len(set(values)) == len(values)
    with open(files[2]) as f:
        assert len(list(csv.DictReader(f))) == len(payload["discs"])
    assert files[3].read_bytes()[:4] == b"\x89PNG"
    # values in the NIfTI are exactly the decoded discs
    assert sorted(int(v) for v in np.unique(np.asarray(label_img.dataobj)) if v) == values
    # second run skips, --overwrite redoes
    capsys.readouterr()
    assert main(["predict", str(trained_tiny["bids"]), "-o", str(out), "--model", _model(trained_tiny), "--quiet"]) == 0
    assert "predicted 0 image(s), skipped 12" in capsys.readouterr().out
    assert main(["predict", str(trained_tiny["bids"]), "-o", str(out), "--model", _model(trained_tiny), "--quiet", "--overwrite"]) == 0
    assert "predicted 12 image(s)" in capsys.readouterr().out


def test_same_anatomy_in_any_orientation_gives_the_same_world_coordinates(trained_tiny, tmp_path):
    data, _ = canonical_phantom(seed=1)
    worlds = []
    for codes in ["RPI", "LAS", "PSR", "ASR"]:
        path = tmp_path / f"img_{codes}_T2w.nii.gz"
        save_canonical(data, canonical_affine((1.0, 1.0, 1.0), origin=(5, 60, 40)), path, codes)
        assert main(["predict", str(path), "-o", str(tmp_path / "out"), "--model", _model(trained_tiny), "--quiet"]) == 0
        discs = json.loads((tmp_path / "out" / f"img_{codes}_T2w_discs.json").read_text())["discs"]
        worlds.append({d["value"]: d["world_mm"] for d in discs})
        # the label NIfTI voxel equals the rounded float voxel in the file's own grid
        label = np.asarray(nib.load(tmp_path / "out" / f"img_{codes}_T2w_label-discs_dlabel.nii.gz").dataobj)
        for d in discs:
            assert label[tuple(np.rint(d["voxel"]).astype(int))] == d["value"]
    for other in worlds[1:]:
        assert other.keys() == worlds[0].keys()
        for v in other:
            assert np.allclose(other[v], worlds[0][v], atol=1e-3)


def test_qc_gt_draws_the_ground_truth_where_the_image_has_labels(trained_tiny, tmp_path, monkeypatch):
    from msanet import qc

    drawn = []
    draw = qc.draw_discs
    monkeypatch.setattr(qc, "draw_discs", lambda *args, **kw: drawn.append(kw["reference"]) or draw(*args, **kw))
    image = trained_tiny["bids"] / "sub-s01" / "anat" / "sub-s01_T2w.nii.gz"
    shutil.copy(image, tmp_path / "loose_T2w.nii.gz")  # outside a BIDS tree: no labels to find
    for args in ([str(image), "--qc-gt"], [str(image)], [str(tmp_path / "loose_T2w.nii.gz"), "--qc-gt"]):
        assert main(["predict", *args, "-o", str(tmp_path / "out"), "--model", _model(trained_tiny), "--quiet", "--overwrite"]) == 0
    with_gt, plain, loose = drawn
    assert plain is None and loose is None
    # the phantom's discs: canonical rows 10, 22, 34, 46 (1 mm voxels), one column -> 24 px apart on the 0.5 mm display grid
    rc = np.array([with_gt[v] for v in (3, 4, 5, 6)])
    assert sorted(with_gt) == [3, 4, 5, 6] and np.allclose(np.diff(rc[:, 0]), 24.0) and np.allclose(rc[:, 1], rc[0, 1])


@pytest.mark.skipif(not REAL_T1W.exists(), reason="needs ../shared/data/real")
def test_runs_on_the_real_scan(trained_tiny, tmp_path):
    assert main(["predict", str(REAL_T1W), "-o", str(tmp_path), "--model", _model(trained_tiny), "--quiet"]) == 0
    assert all(f.exists() for f in _outputs(tmp_path, "t1w"))


def _bad_inputs(folder):
    (folder / "junk_T2w.nii.gz").write_bytes(b"\x1f\x8b\x08 not really gzip")
    nib.save(nib.Nifti1Image(np.random.rand(5, 6, 7, 3).astype(np.float32), np.eye(4)), str(folder / "fourd_T2w.nii.gz"))


def test_batch_continues_past_bad_files_and_leaves_no_partial_outputs(trained_tiny, tmp_path, capsys):
    inputs = tmp_path / "in"
    inputs.mkdir()
    good = trained_tiny["bids"] / "sub-s01" / "anat" / "sub-s01_T1w.nii.gz"
    shutil.copy(good, inputs / "good_T1w.nii.gz")
    _bad_inputs(inputs)
    code = main(["predict", str(inputs), "-o", str(tmp_path / "out"), "--model", _model(trained_tiny), "--quiet"])
    err = capsys.readouterr().err
    assert code == 10
    assert "junk_T2w.nii.gz: not a readable NIfTI" in err and "fourd_T2w.nii.gz: expected a 3D image, found 4D" in err
    assert "2 of 3 inputs failed" in err and "Traceback" not in err
    produced = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert produced == sorted(f"good_T1w{s}" for s in OUTPUT_SUFFIXES)


@pytest.mark.parametrize(
    "setup, code, message",
    [
        (lambda d: (str(d / "missing.nii.gz"), None), 3, "no such file or folder"),
        (lambda d: (str(REAL_T1W), str(d / "nope.safetensors")), 7, "model file not found"),
        (lambda d: (str(REAL_T1W), str((d / "bad.safetensors").write_bytes(b"junk") and d / "bad.safetensors")), 7, "metadata file missing"),
    ],
)
def test_single_input_errors(trained_tiny, tmp_path, capsys, setup, code, message):
    image, model = setup(tmp_path)
    argv = ["predict", image, "-o", str(tmp_path / "out"), "--quiet", "--model", model or _model(trained_tiny)]
    assert main(argv) == code
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


@pytest.mark.parametrize("name, requested, expected", [
    ("sub-01_T1w.nii.gz", "auto", "T1w"),
    ("sub-01_acq-sag_T2w.nii", "auto", "T2w"),
    ("t1w.nii.gz", "auto", "T1w"),
    ("scan-t2w.nii.gz", "auto", "T2w"),
    ("sub-01_T1w_run-1.nii.gz", "auto", "unknown"),
    ("t1wx.nii.gz", "auto", "unknown"),
    ("anything.nii.gz", "T2w", "T2w"),
])
def test_contrast_from_file_name(name, requested, expected):
    from pathlib import Path

    from msanet.predict import _contrast_of

    assert _contrast_of(Path(name), requested) == expected
