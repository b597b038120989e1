import pytest
from conftest import make_bids

from msanet import bids
from msanet.errors import DatasetError, InputNotFoundError


@pytest.mark.parametrize("naming, suffix", [("current", "_label-discs_dlabel"), ("old", "_labels-disc-manual")])
def test_finds_subjects_images_labels_and_sites(tmp_path, naming, suffix):
    root = make_bids(tmp_path / "ds", naming=naming)
    subjects = bids.find_subjects(root)
    assert [s.subject_id for s in subjects] == ["sub-aaa01", "sub-aaa02", "sub-bbb01"]
    assert [s.site for s in subjects] == ["aaa", "aaa", "bbb"]
    for s in subjects:
        assert set(s.images) == {"T1w", "T2w"} == set(s.labels)
        assert s.labels["T2w"].name == f"{s.subject_id}_T2w{suffix}.nii.gz"
        assert s.images["T1w"].name == f"{s.subject_id}_T1w.nii.gz"


def test_sessions_are_one_entry_each_and_stay_in_one_split_part(tmp_path):
    root = make_bids(tmp_path / "ds", sessions=("ses-01", "ses-02"))
    subjects = bids.find_subjects(root, require_labels=True)
    assert [s.key for s in subjects] == [f"{sid}_{ses}" for sid in ("sub-aaa01", "sub-aaa02", "sub-bbb01") for ses in ("ses-01", "ses-02")]
    first = subjects[1]
    assert (first.subject_id, first.session, first.site) == ("sub-aaa01", "ses-02", "aaa")
    assert first.images["T2w"] == root / "sub-aaa01" / "ses-02" / "anat" / "sub-aaa01_ses-02_T2w.nii.gz"
    assert first.labels["T2w"].parent == root / "derivatives" / "labels" / "sub-aaa01" / "ses-02" / "anat"
    split = bids.make_splits(subjects, seed=0, test_fraction=0.34, val_fraction=0)
    assert sorted(split.train + split.test) == ["sub-aaa01", "sub-aaa02", "sub-bbb01"]


def test_labels_from_a_separate_derivatives_folder(tmp_path):
    root = make_bids(tmp_path / "ds", sessions=("ses-01",))
    (root / "derivatives").rename(tmp_path / "elsewhere")
    with pytest.raises(DatasetError, match="no labelled subjects found .*no \\*_label-discs_dlabel.nii.gz for its images under"):
        bids.find_subjects(root, require_labels=True)
    subjects = bids.find_subjects(root, require_labels=True, labels=tmp_path / "elsewhere" / "labels")
    assert len(subjects) == 3 and all(s.labels["T1w"].is_relative_to(tmp_path / "elsewhere") for s in subjects)
    with pytest.raises(InputNotFoundError, match="no such labels folder"):
        bids.find_subjects(root, labels=tmp_path / "nope")


@pytest.mark.parametrize("tree, expected", [
    (["sub-01/anat/sub-01_T2w.nii.gz"], True),
    (["sub-01/ses-1/anat/sub-01_ses-1_T2w.nii.gz"], True),
    (["sub-01_T2w.nii.gz", "sub-02_T2w.nii.gz"], False),  # a flat folder of BIDS-named files
    (["sub-01/sub-01_T2w.nii.gz"], False),  # no anat folder
    (["scans/t1w.nii.gz"], False),
])
def test_is_bids_dataset(tmp_path, tree, expected):
    for rel in tree:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"")
    assert bids.is_bids_dataset(tmp_path) is expected


def test_find_images_lists_every_image_of_every_session(tmp_path):
    for rel in ["sub-01/anat/sub-01_T1w.nii.gz", "sub-01/anat/sub-01_acq-sag_T2w.nii", "sub-02/ses-b/anat/sub-02_ses-b_T2w.nii.gz",
                "sub-02/ses-b/anat/sub-02_ses-b_T2w.json", "sub-02/ses-b/anat/sub-02_ses-b_T2star.nii.gz"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"")
    found = [(p.relative_to(tmp_path).as_posix(), c) for p, c in bids.find_images(tmp_path)]
    assert found == [("sub-01/anat/sub-01_T1w.nii.gz", "T1w"), ("sub-01/anat/sub-01_acq-sag_T2w.nii", "T2w"),
                     ("sub-02/ses-b/anat/sub-02_ses-b_T2w.nii.gz", "T2w")]


@pytest.mark.parametrize("name, contrast, subject, session", [
    ("sub-01_ses-2_T1w.nii.gz", "T1w", "sub-01", "ses-2"),
    ("sub-01_acq-sag_T2w_label-discs_dlabel.nii.gz", "T2w", "sub-01", None),
    ("t2w.nii", "T2w", None, None),
    ("scan.nii.gz", None, None, None),
])
def test_names(name, contrast, subject, session):
    assert bids.contrast_of_name(name) == contrast
    assert (bids.entity(name, "sub"), bids.entity(name, "ses")) == (subject, session)


def test_unlabelled_images_are_found_but_filtered_on_request(tmp_path):
    root = make_bids(tmp_path / "ds")
    for f in (root / "derivatives" / "labels" / "sub-aaa02" / "anat").glob("*T1w*"):
        f.unlink()
    subjects = {s.subject_id: s for s in bids.find_subjects(root)}
    assert "T1w" in subjects["sub-aaa02"].images and "T1w" not in subjects["sub-aaa02"].labels
    labelled = {s.subject_id: s for s in bids.find_subjects(root, require_labels=True)}
    assert set(labelled["sub-aaa02"].images) == {"T2w"}


def test_missing_participants_gives_unknown_sites_and_no_site_split(tmp_path):
    root = make_bids(tmp_path / "ds", sites=False)
    subjects = bids.find_subjects(root)
    assert {s.site for s in subjects} == {"n/a"}
    with pytest.raises(DatasetError, match="cannot split by site"):
        bids.make_splits(subjects, by_site=True)


@pytest.mark.parametrize("content, message", [("foo\tbar\nx\ty\n", "no 'participant_id'"), ("participant_id\tage\nsub-aaa01\n", "line 2 has 1 columns")])
def test_malformed_participants(tmp_path, content, message):
    root = make_bids(tmp_path / "ds")
    (root / "participants.tsv").write_text(content)
    with pytest.raises(DatasetError, match=message):
        bids.find_subjects(root)


def test_empty_and_missing_folders(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no subjects found"):
        bids.find_subjects(tmp_path / "empty")
    with pytest.raises(InputNotFoundError):
        bids.find_subjects(tmp_path / "nope")
    with pytest.raises(DatasetError, match="unknown contrast 'T3w'"):
        bids.find_subjects(tmp_path / "empty", contrasts=("T3w",))


def _fake_subjects(n_sites=6, per_site=5):
    return [bids.Subject(f"sub-s{i}x{j}", f"s{i}") for i in range(n_sites) for j in range(per_site)]


def test_subject_split_is_deterministic_disjoint_and_complete():
    subjects = _fake_subjects()
    a = bids.make_splits(subjects, seed=3)
    b = bids.make_splits(list(reversed(subjects)), seed=3)
    assert a == b
    parts = [set(a.train), set(a.val), set(a.test)]
    assert set.union(*parts) == {s.subject_id for s in subjects}
    assert sum(len(p) for p in parts) == 30 and (len(a.test), len(a.val)) == (6, 3)
    assert bids.make_splits(subjects, seed=4) != a


def test_site_split_holds_out_whole_sites(tmp_path):
    subjects = _fake_subjects()
    s = bids.make_splits(subjects, seed=1, by_site=True)
    site = {x.subject_id: x.site for x in subjects}
    train_sites = {site[i] for i in s.train}
    assert train_sites.isdisjoint({site[i] for i in s.test}) and train_sites.isdisjoint({site[i] for i in s.val})
    assert set(s.test_sites) == {site[i] for i in s.test} and s.test
    s.save(tmp_path / "split.json")
    assert bids.Splits.load(tmp_path / "split.json") == s
