import errno
import os

import pytest

from msanet.errors import OutputError
from msanet.fileio import HOST_TAG, TMP_PREFIX, atomic_path, remove_stale_temps, write_bytes, write_text


def test_write_is_atomic_and_leaves_no_temp(tmp_path):
    target = tmp_path / "a" / "x.nii.gz"
    write_bytes(target, b"abc")
    assert target.read_bytes() == b"abc" and os.listdir(target.parent) == ["x.nii.gz"]


def test_temp_keeps_suffixes_and_names_its_writer(tmp_path):
    with atomic_path(tmp_path / "x_discs.nii.gz") as tmp:
        assert tmp.name.startswith(f"{TMP_PREFIX}{os.getpid()}-{HOST_TAG}-") and tmp.name.endswith(".nii.gz")
        tmp.write_bytes(b"1")
    assert (tmp_path / "x_discs.nii.gz").read_bytes() == b"1"


def test_exception_removes_temp_and_keeps_old_file(tmp_path):
    target = tmp_path / "x.json"
    write_text(target, "old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash")
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["x.json"]


def test_no_overwrite_refuses(tmp_path):
    write_text(tmp_path / "x.json", "old")
    with pytest.raises(OutputError, match="already exists"):
        write_text(tmp_path / "x.json", "new", overwrite=False)


def test_disk_full_is_one_output_error(tmp_path, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(OutputError, match="disk full"):
        write_text(tmp_path / "x.json", "data")
    assert os.listdir(tmp_path) == []


def test_stale_temps_of_dead_writers_are_removed_others_kept(tmp_path, dead_pid):
    dead = tmp_path / f"{TMP_PREFIX}{dead_pid}-{HOST_TAG}-abc123.json"
    live = tmp_path / f"{TMP_PREFIX}{os.getpid()}-{HOST_TAG}-def456.json"
    other_host = tmp_path / f"{TMP_PREFIX}{dead_pid}-00000000-ghi789.json"
    unknown = tmp_path / f"{TMP_PREFIX}oldstyle.json"
    for p in (dead, live, other_host, unknown):
        p.write_text("partial")
    assert remove_stale_temps(tmp_path) == [dead]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in (live, other_host, unknown))


def test_next_write_into_the_folder_clears_a_killed_runs_temp(tmp_path, dead_pid):
    dead = tmp_path / f"{TMP_PREFIX}{dead_pid}-{HOST_TAG}-abc123.nii.gz"
    dead.write_bytes(b"partial")
    write_text(tmp_path / "y.csv", "a,b\n")
    assert os.listdir(tmp_path) == ["y.csv"]
