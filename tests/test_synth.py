"""The synthetic data generator: layout, labels, anatomy ranges, contrasts, determinism."""

import dataclasses
import hashlib
import json

import nibabel as nib
import numpy as np
import pytest

from msanet import bids, io
from msanet.cli import main
from msanet.synth import anatomy as anat
from msanet.synth import contrast as tissue_contrast
from msanet.synth import generate_dataset, load_sites, read_participants_csv, render_subject, site_protocol
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
            assert set(values.tolist()) <= set(range(2, 18))  # C1-C2 .. T9-T10, the lowest disc drawn
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
                # C3..C7 12.5-16 mm and C2 up to 19 mm (radiographic, / 1.1), x body scale (sd 7 %, 4 sd); pathology thins discs to 55 %
                assert 12.5 / 1.1 * 0.72 <= lv.body_height <= 19 / 1.1 * 1.28 and 1.5 <= lv.disc_height <= 6.5 / 1.1 * 1.21
            else:  # T1 14.5-16.5 mm, + 0.7 mm per level below; discs 3.5-5.5 mm; x body scale (4 sd)
                t = int(lv.name[1:])
                assert 14.5 * 0.72 <= lv.body_height <= (16.5 + 0.7 * (t - 1)) * 1.28 and 3.5 * 0.72 * 0.55 <= lv.disc_height <= 5.5 * 1.28
        s = [sd[0] for v, sd in sorted(a.disc_points_sd().items())]
        spacing = np.diff(s)[1:7]  # C2-C3 .. T1-T2 disc to disc
        assert np.all((spacing >= 11.5) & (spacing <= 25)), spacing


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


def test_dark_marrow_turns_the_t1w_order_over_and_leaves_t2w_alone():
    protocol = site_protocol(load_sites()[0], 0, seed=11)
    plain, dark = render_subject(protocol, seed=11, index=0), render_subject(protocol, seed=11, index=0, t1w_dark_marrow=(1.0, 1.0))
    assert plain["t1w_dark_marrow"] == 0.0 and dark["t1w_dark_marrow"] == 1.0
    for k in (0, 1):  # T2w image and labels, T1w labels: as without the option
        np.testing.assert_array_equal(plain["canonical"]["T2w"][k], dark["canonical"]["T2w"][k])
    np.testing.assert_array_equal(plain["canonical"]["T1w"][1], dark["canonical"]["T1w"][1])
    data, tissue = dark["canonical"]["T1w"][0], dark["tissue"]["T1w"]
    mean = {t: data[tissue == t].mean() for t in (MARROW, NUCLEUS, ANNULUS, CORD)}
    assert mean[NUCLEUS] > mean[MARROW] and mean[ANNULUS] > mean[MARROW] and mean[CORD] > mean[MARROW]  # the real crop's order


def test_dark_marrow_moves_the_t1w_means_by_its_share():
    # the same draws: each moved tissue's value scales with its mean, (1 - t) * classic + t * crop
    classic, crop = tissue_contrast.MEANS["T1w"], tissue_contrast.T1W_DARK_MARROW
    values = {t: tissue_contrast.tissue_intensities(np.random.default_rng(4), "T1w", False, dark_marrow=t) for t in (0.0, 0.5, 1.0)}
    for name, level in crop.items():
        i = anat.TISSUES.index(name)
        for t in (0.5, 1.0):
            assert values[t][i] == pytest.approx(values[0.0][i] * ((1 - t) * classic[i] + t * level) / classic[i])
    untouched = [i for i, name in enumerate(anat.TISSUES) if name not in crop]
    np.testing.assert_array_equal(values[1.0][untouched], values[0.0][untouched])


@pytest.mark.parametrize("kwargs, bad", [({"contrast": "T1w", "dark_marrow": 1.5}, "1.5"), ({"contrast": "T2w", "dark_marrow": 0.5}, "T2w"),
                                         ({"contrast": "T1w", "dark_marrow": 0.5, "trunk": True}, "trunk")])
def test_dark_marrow_rejects_bad_values(kwargs, bad):
    with pytest.raises(ValueError, match=bad):
        tissue_contrast.tissue_intensities(np.random.default_rng(0), domain_random=False, **kwargs)


def test_t1w_marrow_random_records_its_draw_and_needs_cervical_scans(tmp_path, capsys):
    generate_dataset(tmp_path / "x", 2, 3, t1w_marrow_random=True, workers=1, progress=False)
    generate_dataset(tmp_path / "y", 1, 3, workers=1, progress=False)
    sub = read_participants_csv(tmp_path / "x" / "participants.tsv")[0]["participant_id"]
    side = {c: json.loads((tmp_path / "x" / sub / "anat" / f"{sub}_{c}.json").read_text()) for c in ("T1w", "T2w")}
    assert 0.0 <= side["T1w"]["MsanetSynthDarkMarrow"] <= 1.0 and "MsanetSynthDarkMarrow" not in side["T2w"]
    assert "MsanetSynthDarkMarrow" not in json.loads((tmp_path / "y" / sub / "anat" / f"{sub}_T1w.json").read_text())
    assert main(["synth", str(tmp_path / "z"), "--subjects", "1", "--scan-type", "lumbar", "--t1w-marrow-random", "--quiet"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "t1w-marrow-random" in err[0] and "Traceback" not in err[0]
    assert not (tmp_path / "z").exists()


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


@pytest.mark.parametrize("tip,expected", [((10.0, 1.0), (8.0, -1.0)), ((0.0, 0.0), (-2.0, -2.0))])
def test_label_point_is_above_and_in_front_of_the_disc_tip(tip, expected):
    assert anat.label_point(*tip) == pytest.approx(expected)  # s towards the head, d anterior (d > 0 is posterior)


def test_cervical_labels_sit_two_mm_above_mid_disc_and_in_front_of_the_bulge():
    a = anat.sample_anatomy(np.random.default_rng(4), (28.0, 260.0, 190.0))
    points = a.disc_points_sd()
    for value, (lv, _, bottom, disc_bottom) in enumerate(a.level_spans(), start=3):  # C2-C3 = 3, then one value per level
        assert points[value] == pytest.approx(((bottom + disc_bottom) / 2 - anat.LABEL_SUPERIOR_MM, lv.protrusion - anat.LABEL_ANTERIOR_MM))
    assert points[2] == pytest.approx((a.dens_height * 0.92 - anat.LABEL_SUPERIOR_MM, -anat.LABEL_ANTERIOR_MM))


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


# ---- scan types beyond the cervical Spine Generic protocol ------------------------------------------------

# scan type, field of view head-feet (mm), in-plane T2w pixel (mm), label values that must be there, values that must not
SCAN_TYPES = [
    ("thoracic", (300, 400), (0.6, 0.9), set(range(9, 19)), set()),
    ("lumbar", (250, 350), (0.5, 0.8), set(range(21, 25)), set(range(1, 9))),  # no cervical disc (C1-C2 .. C7-T1)
    ("whole", (600, 900), (0.9, 1.3), set(range(3, 24)), set()),
]


@pytest.fixture(scope="module")
def scan_sets(tmp_path_factory):
    roots = {}
    for kind, *_ in SCAN_TYPES:
        roots[kind] = tmp_path_factory.mktemp("synth") / kind
        generate_dataset(roots[kind], 1, seed=3, workers=1, progress=False, scan_type=kind)
    return roots


@pytest.mark.parametrize("kind,fov_si,pixel,present,absent", SCAN_TYPES)
def test_scan_type_protocol_field_of_view_and_labels(scan_sets, kind, fov_si, pixel, present, absent):
    (subject,) = bids.find_subjects(scan_sets[kind], require_labels=True)
    rows = (scan_sets[kind] / "participants.tsv").read_text().splitlines()
    assert rows[1].split("\t")[rows[0].split("\t").index("scan_type")] == kind
    for contrast in ("T1w", "T2w"):
        sidecar = json.loads(subject.images[contrast].with_name(subject.images[contrast].name.replace(".nii.gz", ".json")).read_text())
        assert sidecar["MRAcquisitionType"] == "2D" and sidecar["MsanetScanType"] == kind
        assert sidecar["SliceThickness"] in (3.0, 3.5, 4.0)
        vol = io.load_image(subject.images[contrast])
        lr, si, ap = vol.spacing_mm  # canonical (R, I, P)
        assert sidecar["SliceThickness"] <= lr <= 1.2 * sidecar["SliceThickness"] + 1e-6  # slices 0-20 % apart
        assert sidecar["SpacingBetweenSlices"] == pytest.approx(lr)
        assert si == pytest.approx(ap)
        if contrast == "T2w":
            assert pixel[0] <= si <= pixel[1]
        assert fov_si[0] - 2 <= vol.shape[1] * si <= fov_si[1] + 2
        labels = io.read_disc_labels(subject.labels[contrast], vol)
        values = sorted(labels)
        assert present <= set(values) and not (absent & set(values))
        assert values == list(range(values[0], values[-1] + 1))  # every disc in view, none skipped
        rows_y = [labels[v][1] for v in values]
        assert all(a < b for a, b in zip(rows_y, rows_y[1:]))  # strictly head to feet
    if kind == "whole":
        assert len(values) >= 20 and sidecar["MsanetStations"] in (2, 3)


def test_whole_spine_stations_show_an_intensity_step():
    from msanet.synth.scans import _stations, render_scan

    protocol = site_protocol(load_sites()[0], 0, seed=0)
    scan = render_scan(protocol, 0, 0, "whole", female=False, height_cm=180)["scan"]
    assert len(scan.junctions_mm) in (1, 2) and 600 <= scan.fov_mm[1] <= 900
    y = np.arange(0.0, scan.fov_mm[1], 1.0)
    for seed in range(5):
        gain, noise = _stations(np.random.default_rng(seed), scan, y)
        for junction in scan.junctions_mm:
            j = int(junction)
            assert abs(np.log(gain[j + 4] / gain[j - 4])) > 0.08  # a visible step, not a seamless join
            assert np.all(np.abs(np.diff(gain[j - 20 : j + 20])) < 0.12)  # blended over a few mm, no single-row jump
        assert gain.min() > 0.4 and noise.min() > 0.8


@pytest.mark.parametrize("count,last_name,last_value,unlabelled", [
    (4, "L4-S1", 24, []),  # sacralised L5: the lumbosacral disc is the 24th counted, no 25
    (5, "L5-S1", 25, []),
    (6, "L5-L6", 25, ["L6-S1"]),  # lumbarised S1: L6-S1 would be 26, outside SCT's 1..25
])
def test_transitional_anatomy_labels_count_from_the_top(count, last_name, last_value, unlabelled):
    from msanet import discs
    from msanet.synth.column import sample_column

    col = sample_column(np.random.default_rng(1), female=True, height_cm=165, lumbar_count=count)
    points = col.disc_points_sd()
    names = col.disc_names()
    assert max(points) == last_value and names[last_value - 3] == last_name
    assert [name for name, _ in col.unlabelled_discs()] == unlabelled
    assert names[-1] == f"L{count}-S1" and len(names) == 18 + count
    assert all(discs.disc_name(v) == names[v - 3] for v in points if 3 <= v <= 19)  # C and T names are the SCT names
    s = [points[v][0] for v in sorted(points)]
    assert all(a < b for a, b in zip(s, s[1:]))


def test_six_lumbar_vertebrae_leave_the_lowest_disc_unlabelled_in_the_file():
    from msanet.synth.scans import render_scan

    protocol = site_protocol(load_sites()[1], 1, seed=2)
    out = render_scan(protocol, 2, 4, "lumbar", female=False, height_cm=175, lumbar_count=6)
    col, (_, labels) = out["anatomy"], out["canonical"]["T2w"]
    assert int(labels.max()) == 25
    (name, s), = col.unlabelled_discs()
    y, z = anat.sd_to_yz(col, s, -col.levels[-1].depth / 2)  # the middle of the L6-S1 disc
    spacing = out["scan"].spacing_mm["T2w"]
    tissue = out["tissue"]["T2w"]
    j, k = int(round(y / spacing[1])), int(round(z / spacing[2]))
    x = int(np.argmax(np.isin(tissue[:, j, k], [ANNULUS, NUCLEUS])))
    assert name == "L6-S1" and np.isin(tissue[x, j - 2 : j + 3, k], [ANNULUS, NUCLEUS]).any()  # drawn, in view


def test_transitional_rate_and_participants_lumbar_count():
    from msanet.synth import _subject_row
    from msanet.synth.column import sample_column
    from msanet.synth.morphometry import draw_lumbar_count
    from msanet.synth.scans import lumbar_count_of

    rng = np.random.default_rng(0)
    counts = [draw_lumbar_count(rng) for _ in range(4000)]
    assert 0.08 <= np.mean([c != 5 for c in counts]) <= 0.12 and {4, 6} <= set(counts)
    sites = load_sites()
    for i in range(40):
        row = _subject_row(i, sites, 9, "mixed")
        if row["scan_type"] == "cervical":
            assert row["lumbar_count"] == "n/a"
        else:  # the count written to participants.tsv is the one the rendered anatomy has
            col = sample_column(np.random.default_rng([9, i, 101]), female=row["sex"] == "F", height_cm=row["height"])
            assert row["lumbar_count"] == lumbar_count_of(9, i) == col.lumbar_count


def test_mixed_scan_types_at_clinical_proportions():
    from msanet.synth.scans import MIXED_SHARES, scan_type_of

    kinds = [scan_type_of(0, i, "mixed") for i in range(1000)]
    for kind, share in MIXED_SHARES.items():
        assert abs(kinds.count(kind) / 1000 - share) < 0.05
    assert scan_type_of(0, 7, "lumbar") == "lumbar"
    with pytest.raises(ValueError, match="'sagittal'"):
        scan_type_of(0, 0, "sagittal")
    with pytest.raises(ValueError, match="'neck'"):
        generate_dataset("/nonexistent", 1, seed=0, scan_type="neck")


def test_column_morphometry_curves_and_drift_within_published_ranges():
    from msanet.synth.column import sample_column

    rng = np.random.default_rng(4)
    slopes, drifts = [], []
    for _ in range(60):
        col = sample_column(rng, female=bool(rng.random() < 0.5), height_cm=float(rng.uniform(150, 195)))
        lumbar = [lv for lv in col.levels if lv.name[0] == "L"]
        assert all(19 <= lv.body_height <= 34 and 27 <= lv.depth <= 44 for lv in lumbar)  # 34: the tallest subjects (195 cm) scale the ranges by up to 1.2
        assert all(2 <= lv.disc_height <= 10 for lv in lumbar)
        wedges = sum(lv.body_wedge + lv.disc_wedge for lv in lumbar)
        assert wedges == pytest.approx(col.lumbar_lordosis_deg)  # L1 upper to S1 upper endplate
        anterior = [lv.disc_height + lv.depth * np.tan(np.deg2rad(lv.disc_wedge)) for lv in lumbar]
        assert anterior[-1] > lumbar[-1].disc_height + 3  # the lumbosacral disc is wedge-shaped
        thoracic = sum(lv.body_wedge + lv.disc_wedge for lv in col.levels if lv.name[0] == "T")
        assert thoracic == pytest.approx(-col.kyphosis_deg)
        assert col.position_s(19.5) <= col.conus_s <= col.position_s(22.05)  # mid T12 .. L2-L3
        assert col.sacrum_top_s() < col.sac_end_s < col.level_top_s("S4")
        s = np.arange(0.0, col.sacral_spans()[-1][3], 5.0)
        assert np.abs(col.drift.offset_mm(s)).max() <= 8.0 + 1e-9
        slopes.append(col.sacral_slope_deg)
        drifts.append(col.drift.max_mm)
    assert 0.15 <= np.mean(np.array(drifts) >= 3) <= 0.5  # scoliotic or obliquely positioned spines, up to 8 mm
    assert 30 <= np.median(slopes) <= 50 and min(slopes) > 15 and max(slopes) < 70  # Vialle et al. 2005: 41 +- 8


def test_thick_slices_average_their_sub_slices():
    from msanet.synth.contrast import ScannerStyle, render

    tissue = np.zeros((8, 6, 5), dtype=np.int8)  # two 4-sub-slice slices: the first half muscle, half fat
    tissue[:2], tissue[2:4], tissue[4:] = 2, 1, 2
    intens = np.zeros(20)
    intens[1], intens[2] = 0.8, 0.2
    style = ScannerStyle(noise=0.0, blur_vox=0.0, bias=0.0, gamma=1.0, ghost_prob=0.0, scale=1.0)
    image = render(tissue, intens, style, np.random.default_rng(0), np.array([4.0, 1.0, 1.0]), np.zeros((6, 5)), x_subsamples=4)
    assert image.shape == (2, 6, 5)
    assert np.allclose(image[0], 0.5, atol=0.1) and np.allclose(image[1], 0.2, atol=0.1)  # partial volume


def test_column_labels_sit_on_the_posterior_disc_tip_of_a_drifting_canal():
    from msanet.synth.scans import render_scan

    protocol = site_protocol(load_sites()[2], 2, seed=5)
    out = render_scan(protocol, 5, 1, "thoracic", female=True, height_cm=168)
    _, labels = out["canonical"]["T2w"]
    tissue = out["tissue"]["T2w"]
    for i, j, k in np.argwhere(labels > 2):
        assert np.isin(tissue[i, max(j - 3, 0) : j + 4, max(k - 4, 0) : k + 1], [ANNULUS, NUCLEUS]).any()
    assert len(set(np.argwhere(labels > 0)[:, 0])) >= 2  # this canal drifts: its discs lie in more than one slice


def test_same_seed_same_bytes_for_a_lumbar_scan(scan_sets, tmp_path):
    generate_dataset(tmp_path / "again", 1, seed=3, workers=1, progress=False, scan_type="lumbar")
    digest = lambda root: {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*.nii.gz"))}  # noqa: E731
    assert digest(tmp_path / "again") == digest(scan_sets["lumbar"]) and len(digest(scan_sets["lumbar"])) == 4


def test_cli_scan_type(tmp_path, capsys):
    assert main(["synth", str(tmp_path / "w"), "--subjects", "1", "--quiet", "--workers", "1", "--scan-type", "lumbar"]) == 0
    assert "lumbar 1" in capsys.readouterr().out
    assert main(["synth", str(tmp_path / "x"), "--subjects", "1", "--quiet", "--scan-type", "neck"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "msanet synth: error: argument --scan-type" in err


@pytest.fixture(scope="module")
def sd_map():
    """One sampled anatomy and its midline tissue map on a 0.1 mm (s, d) grid: s -70..100 (head -> feet), d -45..75."""
    a = anat.sample_anatomy(np.random.default_rng(4), (28.0, 260.0, 190.0))
    s, d = np.meshgrid(np.arange(-70, 100, 0.1), np.arange(-45, 75, 0.1), indexing="ij")
    return a, s[:, 0], d[0], anat.tissue_map_2d(a, s, d)


def _runs(row: np.ndarray) -> list[int]:
    """Tissue classes along a line, consecutive repeats merged."""
    return [int(t) for i, t in enumerate(row) if i == 0 or t != row[i - 1]]


def test_posterior_fossa_layers_front_to_back(sd_map):
    a, s, d, tissue = sd_map
    i = int(np.argmin(np.abs(s - (anat.S_FORAMEN - 40))))  # the level of the pons
    runs = [t for t in _runs(tissue[i]) if t in (MARROW, CSF, CORD, anat.BRAIN, anat.CORTEX)]
    order = [runs.index(t) for t in (MARROW, CSF, CORD)] + [len(runs) - 1 - runs[::-1].index(anat.BRAIN)]
    assert order == sorted(order), runs  # clivus, cistern, pons, ..., cerebellum
    assert runs[runs.index(CORD) + 1] == CSF  # the fourth ventricle behind the pons
    assert anat.CORTEX in runs[runs.index(CORD):]  # the occipital bone behind the cerebellum


def test_brain_stem_continues_the_cord_and_the_pons_is_widest(sd_map):
    a, s, d, tissue = sd_map
    ap = lambda s_mm: 0.1 * (tissue[int(np.argmin(np.abs(s - s_mm)))] == CORD).sum()  # noqa: E731
    assert all(ap(v) > 4 for v in np.arange(-60, 40, 5.0))  # no gap from the pons to the cord
    assert ap(anat.S_FORAMEN - 40) > ap(anat.S_FORAMEN - 10) + 5  # pons 22-28 mm, medulla 10-13 mm
    pons = ap(anat.S_FORAMEN - 40)
    assert pons < a.head.pons_ap_mm + 1  # pons 22-28 mm ...
    row = tissue[int(np.argmin(np.abs(s - (anat.S_FORAMEN - 40))))]
    cistern = 0.1 * (np.flatnonzero(row == CORD)[0] - np.flatnonzero(np.isin(row, (anat.CORTEX, MARROW)) & (d < 0))[-1] - 1)
    assert pons > a.head.pons_ap_mm - 1 or abs(cistern - a.head.cistern_mm) < 0.5  # ... unless the clivus leaves less room


def test_endplates_concave_so_discs_are_biconvex(sd_map):
    a, s, d, tissue = sd_map
    _, _, bottom, disc_bottom = a.level_spans()[2]  # C4 and the C4-C5 disc
    lv = a.levels[2]
    window = (s > bottom - 4) & (s < disc_bottom + 4)
    height = lambda d_mm: 0.1 * np.isin(tissue[window, int(np.argmin(np.abs(d - d_mm)))], [ANNULUS, NUCLEUS]).sum()  # noqa: E731
    centre, rim = height(-lv.depth / 2), height(-lv.depth * 0.1)
    assert centre - rim == pytest.approx(2 * a.bone.concavity_mm * (1 - (1 - 0.8**2)), abs=0.35)
    assert centre == pytest.approx(lv.disc_height + 2 * a.bone.concavity_mm, abs=0.35)


def test_c1_anterior_arch_is_a_small_oval_in_front_of_the_dens(sd_map):
    a, s, d, tissue = sd_map
    i = int(np.argmin(np.abs(s - a.dens_height * 0.45)))
    bone = np.isin(tissue[i], [MARROW, anat.CORTEX]) & (d < 0)
    runs, start = [], None
    for j in range(len(d)):  # bony runs along d, front to back
        if bone[j] and start is None:
            start = j
        if not bone[j] and start is not None:
            runs.append((d[start], d[j - 1]))
            start = None
    arch, dens = runs[-2], runs[-1]
    assert arch[1] - arch[0] == pytest.approx(6.4, abs=0.3)  # the oval's full depth at its centre
    assert 0.5 < dens[0] - arch[1] < 3.0  # atlanto-dental interval


@pytest.mark.parametrize("dens_line", [False, True])
def test_dens_and_c2_body_are_one_bone(sd_map, dens_line):
    a, s, d, _ = sd_map
    a = dataclasses.replace(a, bone=dataclasses.replace(a.bone, dens_line=dens_line))
    grid_s, grid_d = np.meshgrid(s, d, indexing="ij")
    tissue = anat.tissue_map_2d(a, grid_s, grid_d)
    c2_bottom = a.level_spans()[0][2]
    mid_dens = int(np.argmin(np.abs(d + a.dens_depth / 2)))  # a line down the middle of the dens, into the C2 body
    line = tissue[(s > 3) & (s < c2_bottom - a.bone.concavity_mm - 1), mid_dens]
    assert not np.isin(line, [ANNULUS, NUCLEUS, CSF]).any()  # no disc, no gap from the dens tip to the C2-C3 disc
    base = (s > a.dens_height - 2) & (s < a.dens_height + 2)
    assert (tissue[base, mid_dens] == anat.CORTEX).any() == dens_line  # the synchondrosis line only when drawn
    assert (tissue[base, mid_dens] == MARROW).any()
    below = tissue[(s > c2_bottom) & (s < c2_bottom + a.levels[0].disc_height), int(np.argmin(np.abs(d + a.levels[0].depth / 2)))]
    assert np.isin(below, [ANNULUS, NUCLEUS]).any()  # the C2-C3 disc is still there


@pytest.mark.parametrize("thickness_mm, expected_mm", [(0.8, 0.8), (2.0, 2.0), (3.0, 2.5)])  # clipped 1 mm above the base
def test_dens_line_thickness(sd_map, thickness_mm, expected_mm):
    a, s, d, _ = sd_map
    a = dataclasses.replace(a, bone=dataclasses.replace(a.bone, dens_line=True, dens_line_mm=thickness_mm))
    grid_s, grid_d = np.meshgrid(s, d, indexing="ij")
    tissue = anat.tissue_map_2d(a, grid_s, grid_d)
    mid_dens = int(np.argmin(np.abs(d + a.dens_depth / 2)))
    base = (s > a.dens_height - 4) & (s < a.dens_height + 4)
    assert 0.1 * (tissue[base, mid_dens] == anat.CORTEX).sum() == pytest.approx(expected_mm, abs=0.15)
    widths = [anat.sample_anatomy(np.random.default_rng([5, i]), (28.0, 260.0, 190.0)).bone.dens_line_mm for i in range(100)]
    assert anat.DENS_LINE_MM[0] <= min(widths) and max(widths) <= anat.DENS_LINE_MM[1] and np.std(widths) > 0.4


def test_a_third_of_subjects_show_the_dens_line():
    rate = np.mean([anat.sample_anatomy(np.random.default_rng(seed), (28.0, 260.0, 190.0)).bone.dens_line for seed in range(300)])
    assert 0.22 < rate < 0.38


def test_disc_degeneration_is_commonest_at_c5_c6():
    rng = np.random.default_rng(1)
    counts = np.zeros(7)
    n = 400
    for _ in range(n):
        a = anat.sample_anatomy(rng, (28.0, 260.0, 190.0), pathology_rate=0.0)
        counts += [lv.degenerated for lv in a.levels[:7]]
    rate = counts / n  # discs C2-C3 .. T1-T2
    assert int(np.argmax(rate)) == 3 and 0.22 < rate[3] < 0.38 and rate[0] < 0.1


def test_clutter_splits_soft_tissue_only():
    protocol = site_protocol(load_sites()[0], 0, seed=2)
    plain, cluttered = render_subject(protocol, 2, 0, domain_random=True), render_subject(protocol, 2, 0, domain_random=True, clutter=True)
    assert np.array_equal(plain["canonical"]["T2w"][1], cluttered["canonical"]["T2w"][1])  # same labels
    tissue = plain["tissue"]["T2w"]
    from msanet.synth.contrast import SOFT_TISSUES, clutter_gain

    gain = clutter_gain(np.random.default_rng(0), tissue, np.array(protocol.spacing["T2w"]))
    soft = np.isin(tissue, SOFT_TISSUES)
    assert np.all(gain[~soft] == 1.0)
    assert len(np.unique(gain[soft])) == 6 and 0.3 <= gain.min() and gain.max() <= 1.7
    a, b = plain["canonical"]["T2w"][0].astype(float), cluttered["canonical"]["T2w"][0].astype(float)
    assert not np.allclose(a[soft], b[soft], atol=1)


def test_cli_clutter_needs_cervical_scans(tmp_path, capsys):
    assert main(["synth", str(tmp_path / "x"), "--subjects", "1", "--scan-type", "lumbar", "--clutter", "--quiet"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "clutter" in err[0] and "Traceback" not in err[0]
    assert not (tmp_path / "x").exists()


def test_randomise_levels_keeps_c2_and_unties_sizes_from_names():
    def levels():
        return [anat.Level(name, 15.0, 5.0, 16.0, 15.0) for name in ("C2", "C3", "C4", "C5", "C6", "C7", "T1")]

    plain, drawn = levels(), levels()
    anat.randomise_levels(np.random.default_rng(3), drawn)
    assert dataclasses.astuple(drawn[0]) == dataclasses.astuple(plain[0])  # C2: the anchor, untouched
    for lv in drawn[1:]:
        assert 15.0 * 0.8 <= lv.body_height <= 15.0 * 1.2 and 16.0 * 0.9 <= lv.depth <= 16.0 * 1.1
        assert 5.0 * 0.75 * 0.6 <= lv.disc_height <= 5.0 * 1.3
    assert len({round(lv.body_height, 6) for lv in drawn[1:]}) == 6  # each level its own draw
    # over many subjects every level below C2 degenerates at the same rate, whatever its name
    counts = np.zeros(6)
    rng = np.random.default_rng(0)
    for _ in range(2000):
        drawn = levels()
        anat.randomise_levels(rng, drawn)
        counts += [lv.degenerated for lv in drawn[1:]]
    assert np.all(np.abs(counts / 2000 - anat.LEVEL_RANDOM_DEGENERATION) < 0.03)


def test_randomise_levels_c2_disc_draws_the_c2_c3_disc_only():
    def levels():
        return [anat.Level(name, 15.0, 5.0, 16.0, 15.0) for name in ("C2", "C3", "C4", "C5", "C6", "C7", "T1")]

    plain, drawn = levels(), levels()
    anat.randomise_levels(np.random.default_rng(3), plain)
    anat.randomise_levels(np.random.default_rng(3), drawn, c2_disc=True)
    assert (drawn[0].body_height, drawn[0].depth) == (15.0, 16.0)  # C2's bone: as drawn
    assert drawn[0].disc_height != 5.0 and 5.0 * 0.75 * 0.6 <= drawn[0].disc_height <= 5.0 * 1.3
    assert [dataclasses.astuple(lv) for lv in drawn[1:]] == [dataclasses.astuple(lv) for lv in plain[1:]]  # same draws below
    # C2-C3 now degenerates at the rate of the discs below it
    rng, dark = np.random.default_rng(1), 0
    for _ in range(2000):
        drawn = levels()
        anat.randomise_levels(rng, drawn, c2_disc=True)
        dark += drawn[0].degenerated
    assert abs(dark / 2000 - anat.LEVEL_RANDOM_DEGENERATION) < 0.03


def test_c2_disc_random_needs_level_random(tmp_path, capsys):
    protocol = site_protocol(load_sites()[0], 0, seed=2)
    with pytest.raises(ValueError, match="level_random"):
        render_subject(protocol, 2, 0, c2_disc_random=True)
    plain, drawn = render_subject(protocol, 2, 0, level_random=True), render_subject(protocol, 2, 0, level_random=True, c2_disc_random=True)
    a, b = plain["anatomy"].disc_points_sd(), drawn["anatomy"].disc_points_sd()
    assert a[2] == b[2] and a[3] != b[3]  # the dens base stays; C2-C3 and every disc below it move with the disc's height
    assert main(["synth", str(tmp_path / "x"), "--subjects", "1", "--c2-disc-random", "--quiet"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "level-random" in err[0] and "Traceback" not in err[0]
    assert not (tmp_path / "x").exists()


def test_level_random_moves_the_discs_below_c2_only():
    protocol = site_protocol(load_sites()[0], 0, seed=2)
    plain, drawn = render_subject(protocol, 2, 0), render_subject(protocol, 2, 0, level_random=True)
    a, b = plain["anatomy"].disc_points_sd(), drawn["anatomy"].disc_points_sd()
    assert a.keys() == b.keys() and a[2] == b[2]  # C1-C2 at the dens base: where it was
    assert any(abs(a[v][0] - b[v][0]) > 0.5 for v in a if v > 3)


def test_cli_level_random_needs_cervical_scans(tmp_path, capsys):
    assert main(["synth", str(tmp_path / "x"), "--subjects", "1", "--scan-type", "whole", "--level-random", "--quiet"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "level-random" in err[0] and "Traceback" not in err[0]
    assert not (tmp_path / "x").exists()


def test_coil_sensitivity_known_values():
    from msanet.synth.anatomy import AIR, FAT, MUSCLE
    from msanet.synth.contrast import Coil, coil_sensitivity

    tissue = np.full((5, 10), AIR, dtype=np.int8)  # [Y, Z], Z increasing posteriorly
    tissue[:, 2:8] = MUSCLE
    tissue[:, 7] = FAT  # the back's skin at z = 7 in every row but the middle one
    tissue[2] = AIR  # a row without tissue takes its neighbours' skin
    sens = coil_sensitivity(Coil(length_mm=10.0, floor=0.2), tissue, np.array([1.0, 1.0, 2.0]), smooth_mm=0.01)
    assert sens.shape == tissue.shape and sens.dtype == np.float32
    np.testing.assert_allclose(sens[:, 7:], 1.0)  # at the skin and behind it
    np.testing.assert_allclose(sens[:, 2], 0.2 + 0.8 * np.exp(-1.0), rtol=1e-6)  # 5 voxels of 2 mm = one fall-off length
    np.testing.assert_allclose(sens[:, 0], 0.2 + 0.8 * np.exp(-1.4), rtol=1e-6)
    assert np.all(np.diff(sens, axis=1) >= 0)  # never brighter further forward
    assert np.all(coil_sensitivity(Coil(10.0, 0.2), np.full((3, 4), AIR, dtype=np.int8), np.ones(3)) == 1.0)
    tissue[:, 6] = CSF  # a canal 2 mm in front of the skin: flat down to BODIES_MM (20 mm) in front of it
    sens = coil_sensitivity(Coil(length_mm=10.0, floor=0.2), tissue, np.array([1.0, 1.0, 1.0]), smooth_mm=0.01)
    np.testing.assert_allclose(sens, 1.0)  # the whole 7 mm deep body lies within 1 + 20 mm of the skin
    deep = np.full((2, 40), MUSCLE, dtype=np.int8)
    deep[:, 35] = CSF  # 4 mm in front of the skin (z = 39): the fall-off starts at depth 24 mm, z = 15
    sens = coil_sensitivity(Coil(length_mm=10.0, floor=0.0), deep, np.ones(3), smooth_mm=0.01)
    np.testing.assert_allclose(sens[:, 15:], 1.0)
    np.testing.assert_allclose(sens[:, 5], np.exp(-1.0), rtol=1e-6)


@pytest.mark.parametrize("kwargs, bad", [({"length_mm": 0.0, "floor": 0.1}, "length_mm"), ({"length_mm": 50.0, "floor": 1.5}, "floor")])
def test_coil_rejects_bad_values(kwargs, bad):
    from msanet.synth.contrast import Coil

    with pytest.raises(ValueError, match=bad):
        Coil(**kwargs)


def test_coil_rate_and_ranges():
    from msanet.synth.contrast import COIL_RATE, sample_coil

    coils = [sample_coil(np.random.default_rng([7, i])) for i in range(2000)]
    used = [c for c in coils if c is not None]
    assert abs(len(used) / len(coils) - COIL_RATE) < 0.03
    assert all(50 <= c.length_mm <= 150 and 0 <= c.floor <= 0.3 for c in used)


def test_render_multiplies_by_the_coil_before_contrast_and_noise():
    from msanet.synth.contrast import ScannerStyle, render

    tissue = np.full((1, 6, 8), 2, dtype=np.int8)  # muscle everywhere
    intens = np.linspace(0.1, 1.0, 20)
    style = ScannerStyle(noise=0.0, blur_vox=0.0, bias=0.0, gamma=1.5, ghost_prob=0.0, scale=1000.0)
    coil = np.tile(np.linspace(0.25, 1.0, 8, dtype=np.float32), (6, 1))  # [Y, Z]
    flat = render(tissue, intens, style, np.random.default_rng(0), np.ones(3), np.zeros((6, 8)))
    dimmed = render(tissue, intens, style, np.random.default_rng(0), np.ones(3), np.zeros((6, 8)), coil=coil)
    np.testing.assert_allclose(dimmed, flat * coil[None] ** 1.5, rtol=1e-5)


def _front_to_back_fat(out: dict, contrast: str) -> float:
    """Mean intensity of the mid-slice's front quarter of fat over its back quarter's."""
    data, _ = out["canonical"][contrast]
    tissue = out["tissue"][contrast]
    mid = tissue.shape[0] // 2
    fat = tissue[mid] == anat.FAT
    z, columns = np.nonzero(fat)[1], np.arange(tissue.shape[2])[None]
    return float(data[mid][fat & (columns < np.percentile(z, 25))].mean() / data[mid][fat & (columns > np.percentile(z, 75))].mean())


def test_the_coil_darkens_the_front_of_the_neck_in_both_contrasts(monkeypatch):
    import msanet.synth as synth

    protocol = site_protocol(load_sites()[1], 1, seed=0)
    with_coil = render_subject(protocol, seed=0, index=1)  # sample_coil([0, 1, 13]): a 69 mm fall-off, floor 0.19
    monkeypatch.setattr(synth, "sample_coil", lambda rng: None)
    flat = render_subject(protocol, seed=0, index=1)
    assert np.array_equal(with_coil["canonical"]["T2w"][1], flat["canonical"]["T2w"][1])  # the coil moves no label
    for contrast in ("T1w", "T2w"):  # the front quarter of the fat (neck and chest) clearly darker: 0.75 (T1w), 0.78 (T2w) here
        assert _front_to_back_fat(with_coil, contrast) < 0.82 * _front_to_back_fat(flat, contrast)


def test_posterior_neck_fat_planes_lie_where_drawn(sd_map):
    a, s, d, tissue = sd_map
    assert 1 <= len(a.septa) <= 3 and all(0.2 <= sp.depth <= 0.9 and 0.8 <= sp.thickness_mm <= 2.5 for sp in a.septa)
    i = int(np.argmin(np.abs(s - 30.0)))  # mid-neck
    canal = np.interp(30.0, [top for _, top, _, _ in a.level_spans()], [lv.canal for lv, _, _, _ in a.level_spans()])
    top, bottom = canal + 3.0, a.neck_back - a.fat_back
    for sp in a.septa:
        centre = top + sp.depth * (bottom - top) + sp.wave_mm * np.sin(2 * np.pi * 30.0 / sp.period_mm + sp.phase)
        j = int(np.argmin(np.abs(d - centre)))
        if tissue[i, j] not in (MARROW, anat.CORTEX):  # a spinous process is drawn over the plane
            assert tissue[i, j] == anat.FAT
    without = dataclasses.replace(a, septa=())
    plain = anat.tissue_map_2d(without, *np.meshgrid(s[i : i + 1], d, indexing="ij"))[0]
    assert (plain == anat.FAT).sum() < (tissue[i] == anat.FAT).sum()  # the planes add fat inside the muscle


def test_cervical_fields_of_view_start_from_the_brain_stem_down_to_c2():
    fov = (28.0, 260.0, 190.0)
    tips = np.array([anat.sample_anatomy(np.random.default_rng([11, i]), fov).top_yz[0] for i in range(300)])
    assert tips.min() >= anat.DENS_TIP_MIN_MM and tips.max() <= anat.DENS_TIP_MAX_FRACTION * fov[1]
    assert np.mean(tips < 10) > 0.2 and np.mean(tips > 40) > 0.2  # the amu_t2w scans start at C1, Spine Generic's far above


def test_a_field_of_view_starting_below_the_dens_tip_labels_only_what_it_shows(monkeypatch):
    protocol = site_protocol(load_sites()[0], 0, seed=3)
    monkeypatch.setattr(anat, "DENS_TIP_MIN_MM", -20.0)
    monkeypatch.setattr(anat, "DENS_TIP_MAX_FRACTION", -20.0 / protocol.fov_mm[1])  # the dens tip 20 mm above the top edge
    out = render_subject(protocol, seed=3, index=0)
    assert out["anatomy"].top_yz[0] == pytest.approx(-20.0)
    data, labels = out["canonical"]["T2w"]
    values = sorted(int(v) for v in np.unique(labels[labels > 0]))
    assert values[0] == 3 and values == list(range(3, values[-1] + 1))  # C1-C2 (the dens base, 12-17 mm down) is cut off
    rows = {v: np.argwhere(labels == v)[0][1] * protocol.spacing["T2w"][1] for v in values}  # canonical y: mm below the top edge
    assert 5 < rows[3] < 30  # C2-C3 just below the top edge, as in the real amu_t2w scans (24-45 mm)


def test_spinous_lengths_by_default_follow_the_level():
    anatomy = anat.sample_anatomy(np.random.default_rng(0), (40.0, 260.0, 260.0))
    by_name = {lv.name: anatomy.spinous_length_mm(i) for i, lv in enumerate(anatomy.levels)}
    assert (by_name["C2"], by_name["C3"], by_name["C6"], by_name["C7"], by_name["T1"]) == (28.0, 18.0, 18.0, 28.0, 28.0)


def test_randomise_junction_unties_the_junction_from_c7_t1():
    anatomy = anat.sample_anatomy(np.random.default_rng(0), (40.0, 260.0, 260.0))
    levels_before = [dataclasses.astuple(lv) for lv in anatomy.levels]
    inlets = []
    for seed in range(200):
        anat.randomise_junction(np.random.default_rng(seed), anatomy)
        assert anat.JUNCTION_RANDOM_INLET_MM[0] <= anatomy.inlet_offset_mm <= anat.JUNCTION_RANDOM_INLET_MM[1]
        assert anat.JUNCTION_RANDOM_TURN_MM[0] <= anatomy.turn_offset_mm <= anat.JUNCTION_RANDOM_TURN_MM[1]
        lengths = [anatomy.spinous_length_mm(i) for i in range(len(anatomy.levels))]
        assert lengths[0] == 28.0  # C2: the anchor keeps its long process
        assert all(anat.JUNCTION_RANDOM_SPINOUS_MM[0] <= x <= anat.JUNCTION_RANDOM_SPINOUS_MM[1] for x in lengths[1:])
        assert anatomy.inlet_mm() == pytest.approx(anatomy.cervical_length() + anatomy.inlet_offset_mm)
        inlets.append(anatomy.inlet_offset_mm)
    assert [dataclasses.astuple(lv) for lv in anatomy.levels] == levels_before  # sizes and names untouched
    assert min(inlets) < -20 and max(inlets) > 20  # the inlet lands above and below C7-T1


def test_junction_random_moves_the_chest_not_the_discs():
    protocol = site_protocol(load_sites()[0], 0, seed=2)
    plain, drawn = render_subject(protocol, 2, 0), render_subject(protocol, 2, 0, junction_random=True)
    a, b = drawn["anatomy"], plain["anatomy"]
    assert [dataclasses.astuple(lv) for lv in a.levels] == [dataclasses.astuple(lv) for lv in b.levels]
    assert a.inlet_offset_mm != 0 and a.turn_offset_mm != 0 and b.inlet_offset_mm == b.turn_offset_mm == 0
    assert a.disc_points_sd() == b.disc_points_sd()  # same levels along the column (the curve may bend elsewhere)
    assert not np.array_equal(drawn["tissue"]["T2w"], plain["tissue"]["T2w"])


def test_cli_junction_random_needs_cervical_scans(tmp_path, capsys):
    assert main(["synth", str(tmp_path / "x"), "--subjects", "1", "--scan-type", "lumbar", "--junction-random", "--quiet"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "junction-random" in err[0] and "Traceback" not in err[0]
    assert not (tmp_path / "x").exists()


def test_level_random_on_a_mixed_set_changes_its_cervical_subjects_only(tmp_path):
    # a mixed set of seed 1 draws a cervical subject, then a lumbar one
    plain = generate_dataset(tmp_path / "plain", 2, 1, scan_type="mixed", workers=1, progress=False)
    drawn = generate_dataset(tmp_path / "drawn", 2, 1, scan_type="mixed", level_random=True, workers=1, progress=False)
    assert plain["scan_types"] == drawn["scan_types"] == {"cervical": 1, "lumbar": 1}
    rows = read_participants_csv(tmp_path / "drawn" / "participants.tsv")
    cervical, lumbar = (next(r["participant_id"] for r in rows if r["scan_type"] == kind) for kind in ("cervical", "lumbar"))
    for contrast in ("T1w", "T2w"):
        same = [f"{lumbar}/anat/{lumbar}_{contrast}.nii.gz", f"derivatives/labels/{lumbar}/anat/{lumbar}_{contrast}_label-discs_dlabel.nii.gz"]
        for rel in same:
            np.testing.assert_array_equal(np.asanyarray(nib.load(tmp_path / "plain" / rel).dataobj),
                                          np.asanyarray(nib.load(tmp_path / "drawn" / rel).dataobj))
        rel = f"derivatives/labels/{cervical}/anat/{cervical}_{contrast}_label-discs_dlabel.nii.gz"
        a, b = (np.asanyarray(nib.load(tmp_path / kind / rel).dataobj) for kind in ("plain", "drawn"))
        assert sorted(np.unique(a)) == sorted(np.unique(b)) and not np.array_equal(a, b)  # the same discs, moved
