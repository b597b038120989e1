import hashlib
import json

import nibabel as nib
import numpy as np
import pytest

from msanet import __version__, derivatives
from msanet.errors import OutputError


@pytest.fixture
def prov(tmp_path):
    (tmp_path / "m.safetensors").write_bytes(b"weights")
    return derivatives.Provenance.of(tmp_path / "m.safetensors", 0.25)


def test_provenance_and_sidecar_content(prov, tmp_path):
    assert prov.model_sha256 == hashlib.sha256(b"weights").hexdigest() and prov.model_file == (tmp_path / "m.safetensors").resolve()
    sidecar = derivatives.label_sidecar("sub-01/anat/sub-01_T2w.nii.gz", prov)
    assert sidecar["SpatialReference"] == "sub-01/anat/sub-01_T2w.nii.gz"
    (entry,) = sidecar["GeneratedBy"]
    assert (entry["Name"], entry["Version"], entry["ModelSHA256"], entry["Threshold"]) == ("msanet", __version__, prov.model_sha256, 0.25)
    assert entry["ModelFile"] == str((tmp_path / "m.safetensors").resolve())


@pytest.mark.parametrize("image, root, expected", [
    ("ds/sub-01/ses-2/anat/sub-01_ses-2_T1w.nii.gz", "ds", "sub-01/ses-2/anat/sub-01_ses-2_T1w.nii.gz"),
    ("scans/t1w.nii.gz", None, "{tmp}/scans/t1w.nii.gz"),
])
def test_spatial_reference(tmp_path, image, root, expected):
    ref = derivatives.spatial_reference(tmp_path / image, tmp_path / root if root else None)
    assert ref == expected.format(tmp=tmp_path.resolve())


def test_dataset_description_is_a_derivative_and_refuses_a_raw_data_set(prov, tmp_path):
    path = derivatives.write_dataset_description(tmp_path / "out", prov, [tmp_path / "ds"])
    d = json.loads(path.read_text())
    assert d["DatasetType"] == "derivative" and d["BIDSVersion"] and d["GeneratedBy"][0]["Name"] == "msanet"
    assert d["SourceDatasets"] == [{"URL": (tmp_path / "ds").resolve().as_uri()}]
    derivatives.write_dataset_description(tmp_path / "out", prov, [tmp_path / "ds"])  # an earlier derivative is replaced
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "dataset_description.json").write_text('{"Name": "x", "DatasetType": "raw"}')
    with pytest.raises(OutputError, match="holds a raw data set"):
        derivatives.write_dataset_description(tmp_path / "raw", prov, [tmp_path / "ds"])
    with pytest.raises(OutputError, match="is the input data set"):
        derivatives.write_dataset_description(tmp_path / "ds", prov, [tmp_path / "ds"])
    assert json.loads((tmp_path / "raw" / "dataset_description.json").read_text())["DatasetType"] == "raw"
    assert not (tmp_path / "ds").exists()


def test_predicted_sessions_form_a_derivatives_data_set(predicted_sessions):
    """predict on a two-session BIDS set: labels + sidecars at OUT/sub-*/ses-*/anat, one dataset_description.json."""
    bids_root, out = predicted_sessions["bids"], predicted_sessions["out"]
    description = json.loads((out / "dataset_description.json").read_text())
    assert description["DatasetType"] == "derivative" and description["SourceDatasets"] == [{"URL": bids_root.resolve().as_uri()}]
    labels = sorted(p.relative_to(out).as_posix() for p in out.rglob("*_label-discs_dlabel.nii.gz"))
    assert labels == [f"{s}/{ses}/anat/{s}_{ses}_{c}_label-discs_dlabel.nii.gz"
                      for s in ("sub-s01", "sub-s02") for ses in ("ses-01", "ses-02") for c in ("T1w", "T2w")]
    model_sha = hashlib.sha256(predicted_sessions["model"].read_bytes()).hexdigest()
    for rel in labels:
        sidecar = json.loads((out / rel.replace(".nii.gz", ".json")).read_text())
        image = rel.replace("_label-discs_dlabel", "")
        assert sidecar["SpatialReference"] == image and (bids_root / image).is_file()
        assert sidecar["GeneratedBy"][0]["ModelSHA256"] == model_sha and sidecar["GeneratedBy"][0]["Threshold"] == 0.0
        label, source = nib.load(out / rel), nib.load(bids_root / image)
        assert label.shape == source.shape and np.allclose(label.affine, source.affine)
