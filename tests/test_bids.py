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
