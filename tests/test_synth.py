"""The synthetic data generator: layout, labels, anatomy ranges, contrasts, determinism."""

import hashlib
import json

import nibabel as nib
import numpy as np
import pytest

from msanet import bids, io
from msanet.cli import main
from msanet.synth import anatomy as anat
from msanet.synth import generate_dataset, load_sites, render_subject, site_protocol
from msanet.synth.anatomy import ANNULUS, CORD, CSF, MARROW, NUCLEUS


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth") / "sg"
    generate_dataset(root, 3, seed=7, workers=1, progress=False)
    return root


def test_layout_is_found_by_the_loader(dataset):
    subjects = bids.find_subjects(dataset, require_labels=True)
    assert [s.subject_id for s in subjects] == ["sub-amu01", "sub-balgrist01", "sub-barcelona01"]
    assert all(set(s.images) == set(s.labels) == {"T1w", "T2w"} for s in subjects)
    assert [s.site for s in subjects] == ["amu", "balgrist", "barcelona"]
    rows = (dataset / "participants.tsv").read_text().splitlines()
    assert rows[0].split("\t")[:4] == ["participant_id", "sex", "age", "height"] and "institution_id" in rows[0]
    sidecar = json.loads((dataset / "sub-amu01" / "anat" / "sub-amu01_T2w.json").read_text())
    assert sidecar["Manufacturer"] == "Siemens" and sidecar["MagneticFieldStrength"] == 3
    assert json.loads((dataset / "dataset_description.json").read_text())["BIDSVersion"]


def test_label_files_single_voxels_sct_values_head_to_feet(dataset):
    for s in bids.find_subjects(dataset, require_labels=True):
        for contrast in ("T1w", "T2w"):
            img, lab = nib.load(s.images[contrast]), nib.load(s.labels[contrast])
            assert img.shape == lab.shape and np.allclose(img.affine, lab.affine)
            data = np.asarray(lab.dataobj)
            values = data[data > 0]
            assert len(values) == len(set(values.tolist())) >= 9  # single voxels, C1-C2 .. at least T2-T3
            assert set(values.tolist()) <= set(range(2, 13))
            vol = io.load_image(s.images[contrast])
            labels = io.read_disc_labels(s.labels[contrast], vol)
            rows = [labels[v][1] for v in sorted(labels)]  # canonical y: increases towards the feet
            assert rows == sorted(rows)


def test_disc_spacing_and_heights_within_published_ranges():
    rng = np.random.default_rng(0)
    for _ in range(50):
        a = anat.sample_anatomy(rng, (28.0, 260.0, 190.0))
        for lv in a.levels:
            if lv.name.startswith("C"):
                assert 11.0 <= lv.body_height <= 20.5 and 2.0 <= lv.disc_height <= 7.5
            else:
                assert 13.0 <= lv.body_height <= 25.0 and 2.0 <= lv.disc_height <= 6.5
        s = [sd[0] for v, sd in sorted(a.disc_points_sd().items())]
        spacing = np.diff(s)[1:7]  # C2-C3 .. C7-T1 disc to disc
        assert np.all((spacing >= 14) & (spacing <= 25)), spacing


@pytest.fixture(scope="module")
def subject():
    site = load_sites()[0]
    protocol = site_protocol(site, 0, seed=3)
    return render_subject(protocol, seed=3, index=5)


@pytest.mark.parametrize("contrast", ["T2w", "T1w"])
def test_intensity_order_per_contrast(contrast):
    means = {t: [] for t in (ANNULUS, NUCLEUS, MARROW, CSF, CORD)}
    for index in range(4):
        protocol = site_protocol(load_sites()[index], index, seed=11)
        out = render_subject(protocol, seed=11, index=index)
        data, _ = out["canonical"][contrast]
        tissue = out["tissue"][contrast]
        mid = tissue.shape[0] // 2
        for t in means:
            values = data[mid - 1 : mid + 2][tissue[mid - 1 : mid + 2] == t]
            if values.size > 20:
                means[t].append(values.mean() / np.percentile(data, 99))
    m = {t: float(np.mean(v)) for t, v in means.items()}
    if contrast == "T2w":
        assert m[CSF] > m[NUCLEUS] > m[MARROW] and m[CSF] > m[CORD] and m[NUCLEUS] > m[ANNULUS]
    else:
        assert m[MARROW] > m[NUCLEUS] and m[MARROW] > m[ANNULUS] and m[CORD] > m[CSF]


def test_label_voxel_sits_on_the_disc(subject):
    for contrast in ("T1w", "T2w"):
        _, labels = subject["canonical"][contrast]
        tissue = subject["tissue"][contrast]
        for ijk in np.argwhere(labels > 2):  # 2 = C1-C2 sits at the dens base, not on a disc
            i, j, k = ijk
            neighbourhood = tissue[i, max(j - 2, 0) : j + 3, max(k - 3, 0) : k + 1]  # anterior side of the posterior tip
            assert np.isin(neighbourhood, [ANNULUS, NUCLEUS, MARROW]).any()


def test_same_seed_byte_identical_and_other_seed_differs(tmp_path):
    generate_dataset(tmp_path / "a", 1, seed=5, workers=1, progress=False)
    generate_dataset(tmp_path / "b", 1, seed=5, workers=1, progress=False)
    generate_dataset(tmp_path / "c", 1, seed=6, workers=1, progress=False)
    digest = lambda root: {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}  # noqa: E731
    a, b, c = digest(tmp_path / "a"), digest(tmp_path / "b"), digest(tmp_path / "c")
    assert a == b
    assert a["sub-amu01/anat/sub-amu01_T2w.nii.gz"] != c["sub-amu01/anat/sub-amu01_T2w.nii.gz"]


def test_orientations_and_spacings_vary_across_sites():
    protocols = [site_protocol(s, k, seed=0) for k, s in enumerate(load_sites()[:42])]
    assert len({p.orientation["T2w"] for p in protocols}) >= 4
    assert any(max(p.spacing["T2w"]) / min(p.spacing["T2w"]) > 2 for p in protocols)  # anisotropic voxels
    assert {p.spacing["T2w"] for p in protocols} >= {(0.8, 0.8, 0.8)}


def test_domain_random_changes_contrast_not_anatomy():
    protocol = site_protocol(load_sites()[0], 0, seed=2)
    real, dr = render_subject(protocol, 2, 0), render_subject(protocol, 2, 0, domain_random=True)
    assert np.array_equal(real["canonical"]["T2w"][1], dr["canonical"]["T2w"][1])  # same labels
    assert not np.array_equal(real["canonical"]["T2w"][0], dr["canonical"]["T2w"][0])


def test_cli_refuses_non_empty_folder_and_continues_same_command(tmp_path, capsys):
    out = tmp_path / "ds"
    out.mkdir()
    (out / "stray.txt").write_text("x")
    assert main(["synth", str(out), "--subjects", "1", "--quiet", "--workers", "1"]) == 8
    assert "not empty" in capsys.readouterr().err
    fresh = tmp_path / "fresh"
    assert main(["synth", str(fresh), "--subjects", "2", "--seed", "1", "--quiet", "--workers", "1", "--label-naming", "old"]) == 0
    assert len(list(fresh.rglob("*_labels-disc-manual.nii.gz"))) == 4
    first = (fresh / "sub-amu01" / "anat" / "sub-amu01_T1w.nii.gz").stat().st_mtime_ns
    (fresh / "sub-balgrist01" / "anat" / "sub-balgrist01_T2w.nii.gz").unlink()  # as if killed mid-subject
    assert main(["synth", str(fresh), "--subjects", "2", "--seed", "1", "--quiet", "--workers", "1", "--label-naming", "old"]) == 0
    assert (fresh / "sub-balgrist01" / "anat" / "sub-balgrist01_T2w.nii.gz").exists()
    assert (fresh / "sub-amu01" / "anat" / "sub-amu01_T1w.nii.gz").stat().st_mtime_ns == first  # finished subject kept
