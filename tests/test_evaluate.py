import csv
import json
import shutil

import nibabel as nib
import numpy as np
import pytest
from conftest import make_bids

from msanet import io
from msanet.cli import main
from msanet.evaluate import run_evaluate


def _copy_gt_as_predictions(bids_root, pred_dir, edit=None):
    for label in sorted((bids_root / "derivatives" / "labels").rglob("*_label-discs_dlabel.nii.gz")):
        stem = label.name.replace("_label-discs_dlabel.nii.gz", "")
        target = pred_dir / label.parent.relative_to(bids_root / "derivatives" / "labels") / f"{stem}_label-discs_dlabel.nii.gz"
        target.parent.mkdir(parents=True, exist_ok=True)
        img = nib.load(label)
        data = np.asarray(img.dataobj).copy()
        if edit is not None:
            data = edit(data)
        nib.save(nib.Nifti1Image(data, img.affine, img.header), str(target))


def test_perfect_predictions(tiny_bids, tmp_path):
    _copy_gt_as_predictions(tiny_bids, tmp_path / "pred")
    summary = run_evaluate(tmp_path / "pred", tiny_bids)
    for contrast in ("T1w", "T2w"):
        for space in ("2d", "3d"):
            m = summary["contrasts"][contrast][space]
            assert m["dtt_mean"] == 0 and m["fnr"] == 0 and m["fpr"] == 0 and m["n_gt"] == 12  # 3 subjects x 4 discs
    assert (tmp_path / "pred" / "summary.md").read_text().count("| label-matched, 2D") == 2


def test_missing_disc_and_missing_file(tiny_bids, tmp_path):
    _copy_gt_as_predictions(tiny_bids, tmp_path / "pred", edit=lambda d: np.where(d == 4, 0, d))
    next((tmp_path / "pred").rglob("sub-bbb01_T1w_label-discs_dlabel.nii.gz")).unlink()
    summary = run_evaluate(tmp_path / "pred", tiny_bids)
    t2 = summary["contrasts"]["T2w"]["2d"]
    assert t2["fn"] == 3 and t2["fnr"] == pytest.approx(3 / 12) and t2["fp"] == 0
    t1 = summary["contrasts"]["T1w"]["2d"]
    assert t1["fn"] == 2 + 4 and summary["missing_predictions"] == 1
    with open(tmp_path / "pred" / "evaluation.csv") as f:
        rows = list(csv.DictReader(f))
    assert sum(r["status"] == "fn" for r in rows) == 9


def test_shifted_disc_by_hand(tiny_bids, tmp_path):
    """Move disc 5 of every prediction 3 voxels (1 mm each) towards the feet: DTT 3 mm for it, 0 otherwise."""
    def shift(data):
        out = np.where(data == 5, 0, data)
        i, j, k = np.argwhere(data == 5)[0]
        # files are stored RPI-in-nibabel terms: axes (R, P, I) -> the third axis is inferior
        out[i, j, k + 3] = 5
        return out

    _copy_gt_as_predictions(tiny_bids, tmp_path / "pred", edit=shift)
    summary = run_evaluate(tmp_path / "pred", tiny_bids)
    m = summary["contrasts"]["T2w"]["2d"]
    assert m["dtt_mean"] == pytest.approx(3 / 4) and m["fn"] == 0 and m["fp"] == 0
    assert m["n_offsets"] == 12 and m["offset_mean"] == pytest.approx([3 / 4, 0.0])  # one disc in four, 3 mm inferior
    for image in (i for i in summary["images"] if i["contrast"] == "T2w"):  # each image: 4 found discs, one 3 mm inferior
        assert image["2d"]["n_offsets"] == 4 and image["2d"]["offset_mean"] == pytest.approx([3 / 4, 0.0])
        assert "n_offsets" not in image["closest_point"]  # closest-point matching has no names, so no found-disc offsets
    assert "12 found discs' points from their labels (2D, prediction minus label): +0.75 mm inferior, +0.00 mm posterior" in (
        tmp_path / "pred" / "summary.md").read_text()


def test_wrong_name_is_a_naming_error_per_disc_and_per_image(tiny_bids, tmp_path):
    """Disc 4 (C3-C4) of every prediction renamed 9 (T1-T2): one FN with a naming error and one FP per image."""
    _copy_gt_as_predictions(tiny_bids, tmp_path / "pred", edit=lambda d: np.where(d == 4, 9, d))
    summary = run_evaluate(tmp_path / "pred", tiny_bids)
    assert summary["contrasts"]["T1w"]["2d"]["naming_errors"] == 3 and summary["contrasts"]["T2w"]["3d"]["naming_errors"] == 3
    images = summary["images"]
    assert sorted((i["subject"], i["contrast"]) for i in images) == [(s, c) for s in ("sub-aaa01", "sub-aaa02", "sub-bbb01") for c in ("T1w", "T2w")]
    assert all((i["2d"]["tp"], i["2d"]["fn"], i["2d"]["fp"], i["2d"]["naming_errors"]) == (3, 1, 1, 1) for i in images)
    assert all("per_disc" not in i["2d"] and "dtts" not in i["2d"] for i in images)
    with open(tmp_path / "pred" / "evaluation.csv") as f:
        rows = [r for r in csv.DictReader(f) if r["value"] == "4"]
    assert len(rows) == 6 and all((r["status"], r["misnamed_as"], r["misnamed_2d_mm"], r["misnamed_as_3d"]) == ("fn", "T1-T2", "0.000", "T1-T2")
                                  for r in rows)
    assert "| label-matched, 2D mid-sagittal | 3 | 12 | 12 | 0.00 +- 0.00 | 0.00 | 25.0 % | 25.0 % | 3 |" in (tmp_path / "pred" / "summary.md").read_text()


def test_cli_writes_three_files_and_prints_summary(tiny_bids, tmp_path, capsys):
    _copy_gt_as_predictions(tiny_bids, tmp_path / "pred")
    assert main(["evaluate", "--pred", str(tmp_path / "pred"), "--gt", str(tiny_bids), "-o", str(tmp_path / "ev")]) == 0
    assert "T2w: DTT 0.00 +- 0.00 mm (2D), FNR 0.000, FPR 0.000, naming errors 0" in capsys.readouterr().out
    assert json.loads((tmp_path / "ev" / "summary.json").read_text())["contrasts"]["T1w"]["2d"]["n_gt"] == 12


def test_predict_then_evaluate_matches_2d_figures(trained_tiny, tmp_path):
    """evaluate's 2D DTT per disc equals the distance between predict's JSON pixel and the GT pixel (up to voxel rounding)."""
    from msanet.preprocess import labels_to_pixels, preprocess_whole_scan

    bids_root, model = trained_tiny["bids"], str(trained_tiny["run"] / "best.safetensors")
    assert main(["predict", str(bids_root), "-o", str(tmp_path / "pred"), "--model", model, "--quiet"]) == 0
    run_evaluate(tmp_path / "pred", bids_root, out_dir=tmp_path / "ev")
    with open(tmp_path / "ev" / "evaluation.csv") as f:
        rows = [r for r in csv.DictReader(f) if r["status"] in ("tp", "fn") and r["dtt_2d_mm"]]  # discs with a same-label prediction
    assert rows, "the tiny model should find at least one disc"
    pre, unit = trained_tiny["cfg"].preprocess, trained_tiny["cfg"].model.size_unit
    for r in rows:
        image = bids_root / r["subject"] / "anat" / f"{r['subject']}_{r['contrast']}.nii.gz"
        vol = io.load_image(image)
        label = next((bids_root / "derivatives").rglob(f"{r['subject']}_{r['contrast']}_label-discs_dlabel.nii.gz"))
        gt_px = labels_to_pixels(preprocess_whole_scan(vol, pre, unit), io.read_disc_labels(label, vol))[int(r["value"])]
        pred = json.loads(next((tmp_path / "pred").rglob(f"{r['subject']}_{r['contrast']}_discs.json")).read_text())
        pred_px = next(np.array(d["pixel_rc"]) for d in pred["discs"] if d["value"] == int(r["value"]))
        dtt_2d_float = float(np.linalg.norm(pred_px - gt_px) * pre.pixel_mm)
        assert abs(float(r["dtt_2d_mm"]) - dtt_2d_float) <= 0.75  # label files round to the voxel grid (1 mm here)


def test_no_labelled_images_is_an_error(tmp_path):
    root = make_bids(tmp_path / "b")
    shutil.rmtree(root / "derivatives")
    (tmp_path / "pred").mkdir()
    assert main(["evaluate", "--pred", str(tmp_path / "pred"), "--gt", str(root)]) == 6


def test_synthetic_subjects_in_three_orientations_score_consistently(trained_tiny, tmp_path):
    """predict -> evaluate on 5 synthetic subjects stored in >= 3 orientations: evaluate's 2D DTT of every
    same-label pair equals the distance computed from predict's JSON (model grid: the whole scan) up to voxel rounding."""
    from msanet.preprocess import labels_to_pixels, preprocess_whole_scan
    from msanet.synth import generate_dataset

    root = tmp_path / "sg"
    generate_dataset(root, 5, seed=0, workers=1, progress=False)
    images = sorted(root.glob("sub-*/anat/*_T*w.nii.gz"))
    assert len({"".join(nib.aff2axcodes(nib.load(p).affine)) for p in images}) >= 3
    model = str(trained_tiny["run"] / "best.safetensors")
    # threshold 0: every channel reports its best peak, so the check does not depend on the tiny model's skill
    assert main(["predict", str(root), "-o", str(tmp_path / "pred"), "--model", model, "--quiet", "--threshold", "0"]) == 0
    run_evaluate(tmp_path / "pred", root, out_dir=tmp_path / "ev")
    with open(tmp_path / "ev" / "evaluation.csv") as f:
        rows = [r for r in csv.DictReader(f) if r["status"] in ("tp", "fn") and r["dtt_2d_mm"]]
    assert len(rows) >= 10
    pre, unit = trained_tiny["cfg"].preprocess, trained_tiny["cfg"].model.size_unit
    for r in rows:
        image = root / r["subject"] / "anat" / f"{r['subject']}_{r['contrast']}.nii.gz"
        vol = io.load_image(image)
        label = root / "derivatives" / "labels" / r["subject"] / "anat" / f"{r['subject']}_{r['contrast']}_label-discs_dlabel.nii.gz"
        sag = preprocess_whole_scan(vol, pre, unit)
        gt_px = labels_to_pixels(sag, io.read_disc_labels(label, vol))[int(r["value"])]
        pred = json.loads((tmp_path / "pred" / r["subject"] / "anat" / f"{r['subject']}_{r['contrast']}_discs.json").read_text())
        pred_px = next(np.array(d["pixel_rc"]) for d in pred["discs"] if d["value"] == int(r["value"]))
        # the 2D grid maps pixels to canonical voxels with step pixel_mm / spacing: distances in mm agree
        expected = float(np.linalg.norm(pred_px - gt_px) * pre.pixel_mm)
        half_voxel = 0.5 * float(np.linalg.norm(vol.spacing_mm[1:]))
        assert abs(float(r["dtt_2d_mm"]) - expected) <= half_voxel + 1e-6, (r, expected)


def test_rows_pair_fp_predictions_across_spaces():
    """A prediction 4 mm off in 2D but 6 mm off in 3D (left-right offset) is TP in 2D and FN + FP in 3D: the CSV
    keeps one row per GT disc and one per FP, each with the verdict of every definition."""
    from msanet.evaluate import _rows
    from msanet.metrics import closest_point, label_matched

    gt2, gt3 = {3: [0.0, 0.0], 4: [20.0, 0.0]}, {3: [0.0, 0.0, 0.0], 4: [0.0, 20.0, 0.0]}
    pred2 = [(3, [4.0, 0.0]), (4, [20.0, 0.0]), (9, [60.0, 0.0])]
    pred3 = [(3, [20 ** 0.5, 4.0, 0.0]), (4, [0.0, 20.0, 0.0]), (9, [0.0, 60.0, 0.0])]
    result = {"2d": label_matched(gt2, pred2), "3d": label_matched(gt3, pred3), "closest_point": closest_point(gt2, pred2)}
    rows = _rows("sub-x", "T1w", result)
    assert [(r[2], r[4], r[6], r[8]) for r in rows] == [
        (3, "tp", "fn", "tp"), (4, "tp", "tp", "tp"), (3, "", "fp", ""), (9, "fp", "fp", "fp")]
    assert rows[0][5] == "4.000" and rows[0][7] == "6.000"


def test_round_trip_predict_output_as_predictions_and_as_ground_truth(predicted_sessions, tmp_path, capsys):
    """The derivatives data set predict wrote (two sessions) is read back by evaluate: as --pred against the BIDS set,
    as --gt (label files alone give the geometry), and BIDS/derivatives/labels as --gt gives the same figures as BIDS."""
    bids_root, out = predicted_sessions["bids"], predicted_sessions["out"]
    assert main(["evaluate", "--pred", str(out), "--gt", str(bids_root), "-o", str(tmp_path / "vs_bids")]) == 0
    vs_bids = json.loads((tmp_path / "vs_bids" / "summary.json").read_text())
    assert vs_bids["missing_predictions"] == 0
    assert {c: m["2d"]["n_images"] for c, m in vs_bids["contrasts"].items()} == {"T1w": 4, "T2w": 4}
    with open(tmp_path / "vs_bids" / "evaluation.csv") as f:
        assert sorted({r["subject"] for r in csv.DictReader(f)}) == ["sub-s01_ses-01", "sub-s01_ses-02", "sub-s02_ses-01", "sub-s02_ses-02"]
    run_evaluate(out, bids_root / "derivatives" / "labels", out_dir=tmp_path / "vs_labels")
    assert json.loads((tmp_path / "vs_labels" / "summary.json").read_text())["contrasts"] == vs_bids["contrasts"]
    self_check = run_evaluate(out, out, out_dir=tmp_path / "self")  # predictions against themselves: perfect
    for contrast in ("T1w", "T2w"):
        m = self_check["contrasts"][contrast]["2d"]
        assert m["n_gt"] > 0 and m["dtt_mean"] == 0 and m["fn"] == 0 and m["fp"] == 0


@pytest.mark.parametrize("make, code, message", [
    (lambda d: d / "nope", 3, "no such ground-truth folder"),
    (lambda d: (d / "empty").mkdir() or d / "empty", 6, "no labelled images"),
])
def test_bad_ground_truth_folder(tmp_path, capsys, make, code, message):
    (tmp_path / "pred").mkdir()
    assert main(["evaluate", "--pred", str(tmp_path / "pred"), "--gt", str(make(tmp_path))]) == code
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


@pytest.mark.parametrize("recorded, expected", [
    ([], range(2, 13)),  # label files alone (or outputs of older versions): the 11 channels
    ([list(range(2, 13))], range(2, 13)),  # an 11-channel model's predictions
    ([list(range(2, 26))], range(2, 26)),  # a 24-channel model's
    ([list(range(2, 13)), list(range(2, 26))], range(2, 26)),  # both in one folder: the union
    (["{not json", list(range(2, 26))], range(2, 26)),  # a file that is not a predict output says nothing
])
def test_default_values_are_those_the_predictions_model_names(tiny_bids, tmp_path, recorded, expected):
    from msanet.evaluate import predicted_values

    _copy_gt_as_predictions(tiny_bids, tmp_path / "pred")
    for i, values in enumerate(recorded):
        text = values if isinstance(values, str) else json.dumps({"values": values, "discs": []})
        (tmp_path / "pred" / f"x{i}_discs.json").write_text(text)
    assert predicted_values(tmp_path / "pred") == tuple(expected)
    assert main(["evaluate", "--pred", str(tmp_path / "pred"), "--gt", str(tiny_bids), "-o", str(tmp_path / "ev")]) == 0
    assert json.loads((tmp_path / "ev" / "summary.json").read_text())["values"] == list(expected)
    assert main(["evaluate", "--pred", str(tmp_path / "pred"), "--gt", str(tiny_bids), "-o", str(tmp_path / "ev"), "--values", "3-4"]) == 0
    assert json.loads((tmp_path / "ev" / "summary.json").read_text())["values"] == [3, 4]


def test_threshold_check_rescores_the_discs_kept_at_each_confidence(tiny_bids, tmp_path, capsys):
    """Ground truth copied as predictions, each disc given confidence value / 10 in its _discs.json: at threshold t
    exactly the discs with value / 10 >= t are found (all at 0 mm), none is a false positive."""
    pred = tmp_path / "pred"
    _copy_gt_as_predictions(tiny_bids, pred)
    labels = sorted(pred.rglob("*_label-discs_dlabel.nii.gz"))
    values = sorted(int(v) for v in np.unique(np.asarray(nib.load(labels[0]).dataobj)) if v)
    for label in labels:
        stem = label.name.replace("_label-discs_dlabel.nii.gz", "")
        discs = [{"value": v, "confidence": v / 10} for v in values]
        (label.parent / f"{stem}_discs.json").write_text(json.dumps({"discs": discs}))
    thresholds = (0.0, (values[1] + 0.5) / 10, 1.0)
    summary = run_evaluate(pred, tiny_bids, thresholds=thresholds)
    rows = {(r["contrast"], r["threshold"]): r for r in summary["thresholds"]}
    for contrast in ("T1w", "T2w"):
        kept = [sum(v / 10 >= t for v in values) for t in thresholds]
        assert [rows[(contrast, t)]["tp"] for t in thresholds] == [3 * k for k in kept]  # 3 images per contrast
        assert all(rows[(contrast, t)]["fp"] == 0 and rows[(contrast, t)]["n_gt"] == 3 * len(values) for t in thresholds)
        assert rows[(contrast, 0.0)]["tp"] == summary["contrasts"][contrast]["2d"]["tp"]
    with open(pred / "thresholds.csv") as f:
        assert len(list(csv.DictReader(f))) == 2 * len(thresholds)
    assert main(["evaluate", "--pred", str(pred), "--gt", str(tiny_bids), "--thresholds", "0.3,0.1"]) == 0
    assert "T2w at threshold 0.10: found" in capsys.readouterr().out
    assert main(["evaluate", "--pred", str(pred), "--gt", str(tiny_bids), "--thresholds", "0.3,abc"]) != 0
    next(pred.rglob("*_discs.json")).unlink()
    with pytest.raises(Exception, match="no _discs.json with confidences"):
        run_evaluate(pred, tiny_bids, thresholds=(0.5,))
