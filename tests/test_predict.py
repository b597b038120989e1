import csv
import json
import re
import shutil

import nibabel as nib
import numpy as np
import pytest
from conftest import REAL_LUMBAR, REAL_T1W, canonical_affine, canonical_phantom, random_checkpoint, save_canonical

from msanet.cli import main
from msanet.predict import OUTPUT_SUFFIXES


def _model(trained):
    return str(trained["run"] / "best.safetensors")


def _outputs(folder, stem):
    return [folder / f"{stem}{s}" for s in OUTPUT_SUFFIXES]


def test_bids_input_mirrors_layout_and_writes_five_files(trained_tiny, tmp_path, capsys):
    out = tmp_path / "pred"
    assert main(["predict", str(trained_tiny["bids"]), "-o", str(out), "--model", _model(trained_tiny), "--quiet"]) == 0
    files = _outputs(out / "sub-s01" / "anat", "sub-s01_T2w")
    assert all(f.exists() for f in files)
    label_img, source = nib.load(files[0]), nib.load(trained_tiny["bids"] / "sub-s01" / "anat" / "sub-s01_T2w.nii.gz")
    assert label_img.shape == source.shape and np.allclose(label_img.affine, source.affine)
    assert json.loads(files[1].read_text())["SpatialReference"] == "sub-s01/anat/sub-s01_T2w.nii.gz"
    payload = json.loads(files[2].read_text())
    rows = [d["pixel_rc"][0] for d in payload["discs"]]
    values = [d["value"] for d in payload["discs"]]
    assert rows == sorted(rows) and values == sorted(values) and len(set(values)) == len(values)
    with open(files[3]) as f:
        assert len(list(csv.DictReader(f))) == len(payload["discs"])
    assert files[4].read_bytes()[:4] == b"\x89PNG"
    # values in the NIfTI are exactly the decoded discs
    assert sorted(int(v) for v in np.unique(np.asarray(label_img.dataobj)) if v) == values
    # second run skips, --overwrite redoes
    capsys.readouterr()
    assert main(["predict", str(trained_tiny["bids"]), "-o", str(out), "--model", _model(trained_tiny), "--quiet"]) == 0
    assert f"predicted 0 image(s), skipped 12 already done -> {out}; QC page: {out / 'qc' / 'index.html'}" in capsys.readouterr().out
    page = (out / "qc" / "index.html").read_text()
    assert page.count("<section class=") == 12 and page.count("fsleyes ") == 12
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
    produced = sorted(p.name for p in (tmp_path / "out").iterdir() if p.name != "qc")
    assert produced == sorted(f"good_T1w{s}" for s in OUTPUT_SUFFIXES)
    # the run's QC page lists all three, the two failures first, and links the one picture
    page = (tmp_path / "out" / "qc" / "index.html").read_text()
    assert re.findall(r"<h2>([^<]*)</h2>", page) == ["fourd_T2w.nii.gz", "junk_T2w.nii.gz", "good_T1w.nii.gz"]
    assert re.findall(r"<img src='([^']*)'", page) == ["../good_T1w_qc.png"]


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


@pytest.mark.parametrize("tree, expected", [
    # a flat folder of BIDS-named files is a folder of images, not a BIDS data set
    (["sub-01_T2w.nii.gz", "sub-02_T1w.nii"], ["sub-01_T2w.nii.gz -> . (T2w)", "sub-02_T1w.nii -> . (T1w)"]),
    # any names, any depth; label files, outputs and derivatives/ are not images
    (["scan.nii.gz", "a/b/mri.nii", "x_label-discs_dlabel.nii.gz", "derivatives/labels/y.nii.gz", "notes.txt"],
     ["a/b/mri.nii -> a/b (unknown)", "scan.nii.gz -> . (unknown)"]),
    # a BIDS tree: its T1w/T2w images, sessions mirrored; other contrasts and derivatives left alone
    (["sub-01/ses-1/anat/sub-01_ses-1_T2w.nii.gz", "sub-01/ses-1/anat/sub-01_ses-1_T2star.nii.gz", "sub-02/anat/sub-02_T1w.nii.gz",
      "derivatives/labels/sub-02/anat/sub-02_T1w_label-discs_dlabel.nii.gz"],
     ["sub-01/ses-1/anat/sub-01_ses-1_T2w.nii.gz -> sub-01/ses-1/anat (T2w)", "sub-02/anat/sub-02_T1w.nii.gz -> sub-02/anat (T1w)"]),
])
def test_collect_jobs_on_folders(tmp_path, tree, expected):
    from msanet.predict import collect_jobs

    root = tmp_path / "in"
    for rel in tree:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"")
    jobs = collect_jobs([root], tmp_path / "out")
    assert [f"{j.image.relative_to(root).as_posix()} -> {j.out_dir.relative_to(tmp_path / 'out').as_posix()} ({j.contrast})" for j in jobs] == expected


def test_folder_below_a_derivatives_folder_and_output_inside_the_input(tmp_path):
    from msanet.predict import collect_jobs

    root = tmp_path / "derivatives" / "mine"
    for rel in ("a.nii.gz", "out/old.nii.gz"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"")
    assert [j.image.name for j in collect_jobs([root], root / "out")] == ["a.nii.gz"]


def test_flat_folder_of_bids_named_files_is_predicted(trained_tiny, tmp_path, capsys):
    flat = tmp_path / "flat"
    flat.mkdir()
    for sid in ("sub-s01", "sub-s02"):
        shutil.copy(trained_tiny["bids"] / sid / "anat" / f"{sid}_T2w.nii.gz", flat / f"{sid}_T2w.nii.gz")
    assert main(["predict", str(flat), "-o", str(tmp_path / "out"), "--model", _model(trained_tiny), "--quiet", "--device", "cpu"]) == 0
    assert "predicted 2 image(s)" in capsys.readouterr().out
    for sid in ("sub-s01", "sub-s02"):
        assert all(f.exists() for f in _outputs(tmp_path / "out", f"{sid}_T2w"))
        assert json.loads((tmp_path / "out" / f"{sid}_T2w_discs.json").read_text())["contrast"] == "T2w"


@pytest.mark.parametrize("out", ["bids", "bids_with_description"])
def test_predicting_into_the_input_data_set_is_refused(trained_tiny, tmp_path, capsys, out):
    bids_root = tmp_path / "bids"
    shutil.copytree(trained_tiny["bids"], bids_root)
    if out == "bids_with_description":
        (bids_root / "dataset_description.json").write_text('{"Name": "raw", "BIDSVersion": "1.9.0"}')
    before = sorted(p for p in bids_root.rglob("*"))
    assert main(["predict", str(bids_root), "-o", str(bids_root), "--model", _model(trained_tiny), "--quiet"]) == 8
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "write predictions to a folder of their own" in err
    assert sorted(p for p in bids_root.rglob("*")) == before


def test_json_records_the_threshold_used(predicted_sessions):
    path = next(predicted_sessions["out"].rglob("*_discs.json"))
    assert json.loads(path.read_text())["threshold"] == 0.0  # --threshold 0, not the model's calibrated one


def test_bids_tree_without_t1w_or_t2w_is_one_clear_error(tmp_path, capsys):
    (tmp_path / "ds" / "sub-01" / "anat").mkdir(parents=True)
    (tmp_path / "ds" / "sub-01" / "anat" / "sub-01_T2star.nii.gz").write_bytes(b"")
    assert main(["predict", str(tmp_path / "ds"), "-o", str(tmp_path / "out"), "--quiet", "--contrast", "T1w"]) == 6
    assert "BIDS data set without T1w images" in capsys.readouterr().err


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


def _field_checks(out, stem, volume_path):
    """The outputs of one image: label voxels inside the file's grid, pixels inside the scanned field (not the padding)."""
    payload = json.loads((out / f"{stem}_discs.json").read_text())
    shape = nib.load(volume_path).shape
    grid = payload["grid"]
    pad = grid["padding_px"]
    h, w = grid["shape"]
    for d in payload["discs"]:
        assert all(-0.5 <= v <= n - 0.5 for v, n in zip(d["voxel"], shape)), d
        assert pad["top"] - 0.5 <= d["pixel_rc"][0] <= h - pad["bottom"] - 0.5 and pad["anterior"] - 0.5 <= d["pixel_rc"][1] <= w - pad["posterior"] - 0.5
    label = np.asarray(nib.load(out / f"{stem}_label-discs_dlabel.nii.gz").dataobj)
    assert label.shape == shape and sorted(int(v) for v in np.unique(label) if v) == [d["value"] for d in payload["discs"]]
    return payload


@pytest.mark.skipif(not REAL_LUMBAR.exists(), reason="needs ../shared/data/real")
def test_real_lumbar_scan_runs_end_to_end_with_labels_in_its_field_of_view(trained_tiny, tmp_path, capsys):
    """The SCT tutorial lumbar scan (38 x 257 x 201 at 1 mm, RAS): the whole 201 x 257 mm slab goes through the tiny model
    (208 x 272 px), every label lies in the scan. (The tiny 11-channel model knows no lumbar disc: plumbing, not accuracy.)"""
    assert main(["predict", str(REAL_LUMBAR), "-o", str(tmp_path), "--model", _model(trained_tiny), "--quiet", "--threshold", "0"]) == 0
    payload = _field_checks(tmp_path, "t2_lumbar", REAL_LUMBAR)
    assert payload["discs"] and payload["values"] == list(range(2, 13))
    assert payload["grid"]["shape"] == [208, 272] and payload["grid"]["padding_px"] == {"top": 3, "bottom": 4, "anterior": 7, "posterior": 8}
    assert payload["anchor"] in ("C2", "none") and payload["anchor_check"] is None  # no sacral channel in 11 channels
    assert "discs named from: " in capsys.readouterr().out
    assert all(f.exists() for f in _outputs(tmp_path, "t2_lumbar"))


@pytest.mark.parametrize("num_discs, height_mm", [(11, 200), (24, 420)])
def test_any_length_and_vocabulary_end_to_end(tmp_path, capsys, num_discs, height_mm):
    """A random 11- or 24-channel checkpoint on a 200 or 420 mm scan: the whole scan in one pass, the model's values recorded,
    the anchor the rule gives, labels in the field of view."""
    from msanet.anchor import anchor_of
    from msanet.decode import Detection

    model = random_checkpoint(tmp_path / "m.safetensors", num_discs=num_discs)
    data, _ = canonical_phantom(shape=(9, height_mm, 50), disc_rows=tuple(range(12, height_mm - 10, 25)), disc_col=30)
    image = tmp_path / "long_T2w.nii.gz"
    save_canonical(data, canonical_affine(), image, "LPI")
    assert main(["predict", str(image), "-o", str(tmp_path / "out"), "--model", str(model), "--quiet", "--threshold", "0"]) == 0
    payload = _field_checks(tmp_path / "out", "long_T2w", image)
    assert payload["values"] == list(range(2, 2 + num_discs))
    assert payload["grid"]["shape"] == [-(-height_mm // 16) * 16, 64]
    values = [d["value"] for d in payload["discs"]]
    assert values == sorted(values) and [d["pixel_rc"][0] for d in payload["discs"]] == sorted(d["pixel_rc"][0] for d in payload["discs"])
    expected = anchor_of([Detection(d["value"], *d["pixel_rc"], d["confidence"]) for d in payload["discs"]]).anchor
    assert payload["anchor"] == expected
    out = capsys.readouterr().out
    assert f"discs named from: {expected} 1" in out
    # the image's flags are in its JSON and counted in the summary line
    from msanet.qcpage import QcImage, image_flags

    item = QcImage(image=image, labels=image, picture=image, discs=payload["discs"], anchor=payload["anchor"], anchor_check=payload["anchor_check"])
    assert payload["low_confidence"] == pytest.approx(min(1.0, 1.5 * payload["threshold"]))
    assert payload["flags"] == [{"kind": f.kind, "text": f.text} for f in image_flags(item, payload["low_confidence"])]
    kinds = [f["kind"] for f in payload["flags"]]
    assert ("flagged for a look: 1 of 1 (" + ", ".join(f"{k} 1" for k in dict.fromkeys(kinds))) in out if kinds else "no image flagged" in out
