"""Every row of docs/errors.md, triggered through the CLI; faults (SIGKILL, disk full); fuzzed NIfTI bytes."""

from __future__ import annotations

import errno
import gzip
import hashlib
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from conftest import canonical_affine, canonical_phantom, label_array, make_bids, save_canonical
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from msanet.checkpoint import save_checkpoint
from msanet.cli import main
from msanet.fileio import HOST_TAG, TMP_PREFIX
from msanet.model.msanet import MSANet, MSANetConfig
from msanet.preprocess import PreprocessConfig


def _nifti(path, array, affine=None):
    nib.save(nib.Nifti1Image(array, np.eye(4) if affine is None else affine), str(path))
    return str(path)


def _good_pair(d: Path):
    data, labels = canonical_phantom()
    save_canonical(data, canonical_affine(), d / "img.nii.gz", "RPI")
    return data, labels


def _label(d: Path, edit=lambda x: x, affine=None):
    data, labels = _good_pair(d)
    save_canonical(edit(label_array(data.shape, labels)), affine if affine is not None else canonical_affine(), d / "lab.nii.gz", "RPI", dtype=np.float32)
    return ["inspect", str(d / "img.nii.gz"), "--labels", str(d / "lab.nii.gz")]


def _truncated(d: Path):
    raw = gzip.compress(nib.Nifti1Image(np.random.rand(30, 30, 30).astype(np.float32), np.eye(4)).to_bytes())
    (d / "t.nii.gz").write_bytes(raw[: len(raw) // 2])
    return ["inspect", str(d / "t.nii.gz")]


def _bad_header(d: Path, vox_offset: float):
    """A single-file NIfTI whose header's vox_offset (where the voxel data start) is impossible."""
    raw = bytearray(nib.Nifti1Image(np.random.rand(8, 8, 8).astype(np.float32), np.eye(4)).to_bytes())
    raw[108:112] = np.float32(vox_offset).tobytes()  # vox_offset field, little-endian like the file
    (d / "h.nii").write_bytes(bytes(raw))
    return ["inspect", str(d / "h.nii")]


def _spacing_zero(d: Path):
    img = nib.Nifti1Image(np.random.rand(4, 5, 6).astype(np.float32), None)
    img.header["pixdim"][1] = 0.0
    img.header["qform_code"] = img.header["sform_code"] = 0
    nib.save(img, str(d / "z.nii.gz"))
    return ["inspect", str(d / "z.nii.gz")]


def _nan(d: Path):
    a = np.random.rand(4, 5, 6).astype(np.float32)
    a[1, 1, 1] = np.nan
    return ["inspect", _nifti(d / "n.nii.gz", a)]


def _model(d: Path, kind: str, trained=None):
    src = Path(trained["run"]) / "best.safetensors"
    shutil.copy(src, d / "m.safetensors")
    shutil.copy(src.with_suffix(".json"), d / "m.json")
    if kind == "corrupt":
        (d / "m.safetensors").write_bytes(b"\x00garbage" * 10)
    elif kind == "arch":  # weights of another width under the trained model's metadata
        other = MSANetConfig(width=8, depth=2, embed_dim=8)
        save_checkpoint(d / "other.safetensors", MSANet(other), other, PreprocessConfig(pixel_mm=2.0, height=64, width=64))
        (d / "other.safetensors").replace(d / "m.safetensors")
        (d / "other.json").unlink()
    elif kind == "version":
        meta = json.loads((d / "m.json").read_text())
        meta["format_version"] = 99
        (d / "m.json").write_text(json.dumps(meta))
    return ["predict", str(trained["bids"] / "sub-s01" / "anat" / "sub-s01_T2w.nii.gz"), "-o", str(d / "out"), "--model", str(d / "m.safetensors"), "--quiet"]


ROWS = {
    # name: (argv builder, exit code, message)
    "missing": (lambda d, t: ["inspect", str(d / "nope.nii.gz")], 3, "no such file"),
    "not-nifti": (lambda d, t: ["inspect", str((d / "x.nii.gz").write_text("hello") and d / "x.nii.gz")], 4, "not a readable NIfTI"),
    "truncated": (lambda d, t: _truncated(d), 4, "truncated or corrupt"),
    "bad-header": (lambda d, t: _bad_header(d, 264), 4, "not a readable NIfTI image .*vox offset 264 too low"),
    "huge-offset": (lambda d, t: _bad_header(d, 1e30), 4, "truncated or corrupt image data"),
    "2d": (lambda d, t: ["inspect", _nifti(d / "a.nii.gz", np.ones((4, 5), np.float32))], 4, "expected a 3D image, found 2D"),
    "4d": (lambda d, t: ["inspect", _nifti(d / "a.nii.gz", np.ones((4, 5, 6, 2), np.float32))], 4, "found 4D"),
    "zero-size": (lambda d, t: ["inspect", _nifti(d / "a.nii.gz", np.ones((4, 0, 6), np.float32))], 4, "zero-size dimension"),
    "constant": (lambda d, t: ["inspect", _nifti(d / "a.nii.gz", np.full((4, 5, 6), 7, np.float32))], 4, r"image is constant \(all voxels 7\)"),
    "nan": (lambda d, t: _nan(d), 4, "NaN or infinite"),
    "spacing-zero": (lambda d, t: _spacing_zero(d), 4, "absurd voxel spacing"),
    "spacing-huge": (lambda d, t: ["inspect", _nifti(d / "a.nii.gz", np.ones((4, 5, 6), np.float32), np.diag([1e6, 1, 1, 1]))], 4, "absurd voxel spacing"),
    "huge": (lambda d, t: ["inspect", _nifti(d / "a.nii.gz", np.random.rand(10, 10, 10).astype(np.float32)), "--max-voxels", "999"], 9, "exceeds the limit of 999"),
    "label-grid": (lambda d, t: _label(d, affine=canonical_affine((1, 1, 2.0))), 5, "differs from its image"),
    "label-vocab": (lambda d, t: _label(d, lambda x: np.where(x == 3, 30, x)), 5, "outside the SCT vocabulary"),
    "label-duplicate": (lambda d, t: _label(d, lambda x: np.where(np.roll(x == 4, 1, axis=1), 4, x)), 5, "more than one voxel"),
    "label-empty": (lambda d, t: _label(d, lambda x: x * 0), 5, "holds no disc labels"),
    "no-subjects": (lambda d, t: ["split", str((d / "empty").mkdir() or d / "empty"), "-o", str(d / "s.json")], 6, "no labelled subjects found"),
    "participants-missing": (lambda d, t: ["split", str(make_bids(d / "b", sites=False)), "-o", str(d / "s.json"), "--by-site"], 6, "cannot split by site"),
    "participants-malformed": (lambda d, t: ["split", str(_malformed(d)), "-o", str(d / "s.json")], 6, "malformed participants.tsv"),
    "contrast": (lambda d, t: ["predict", str(d), "-o", str(d / "o"), "--contrast", "T3w"], 2, "invalid choice: 'T3w'"),
    "model-missing": (lambda d, t: ["predict", str(t["bids"]), "-o", str(d / "o"), "--model", str(d / "nope.safetensors")], 7, "model file not found"),
    "model-corrupt": (lambda d, t: _model(d, "corrupt", t), 7, "corrupt or unreadable weights"),
    "model-version": (lambda d, t: _model(d, "version", t), 7, "unsupported checkpoint format version 99"),
    "model-arch": (lambda d, t: _model(d, "arch", t), 7, "do not fit the MSA-Net architecture"),
    "config-unknown": (lambda d, t: ["train", str(_yaml(d, "bogus: 1\n")), "--bids", str(d)], 2, "unknown config keys: bogus"),
    "config-type": (lambda d, t: ["train", str(_yaml(d, "epochs: two\n")), "--bids", str(d)], 2, "'epochs' must be int"),
    "output-not-writable": (lambda d, t: ["show", str(t["bids"] / "sub-s01" / "anat" / "sub-s01_T2w.nii.gz"), "-o",
                                          str((d / "afile").write_text("x") and d / "afile" / "sub" / "x.png")], 8, "not writable|cannot write"),
    "output-exists": (lambda d, t: ["show", str(t["bids"] / "sub-s01" / "anat" / "sub-s01_T2w.nii.gz"), "-o",
                                    str((d / "x.png").write_text("old") and d / "x.png")], 8, "already exists"),
}


def _malformed(d: Path) -> Path:
    root = make_bids(d / "m")
    (root / "participants.tsv").write_text("participant_id\tage\nsub-aaa01\n")
    return root


def _yaml(d: Path, text: str) -> Path:
    (d / "c.yaml").write_text(text)
    return d / "c.yaml"


@pytest.mark.parametrize("name", list(ROWS))
def test_error_table(name, tmp_path, capsys, trained_tiny):
    build, code, message = ROWS[name]
    work = tmp_path / "w"
    work.mkdir()
    argv = build(work, trained_tiny)
    before = {p for p in work.rglob("*")}
    assert main(argv) == code
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith("msanet") and "Traceback" not in err
    import re

    assert re.search(message, err), err
    new = {p for p in work.rglob("*")} - before
    assert not [p for p in new if p.is_file() and p.name != "s.json"], new  # nothing partial left behind
    assert not list(work.rglob(".msanet-tmp-*"))


def test_no_bundled_model_is_one_clear_line(tmp_path, capsys, monkeypatch, trained_tiny):
    monkeypatch.setattr("msanet.checkpoint.default_model_path", lambda: tmp_path / "absent.safetensors")
    image = trained_tiny["bids"] / "sub-s01" / "anat" / "sub-s01_T2w.nii.gz"
    assert main(["predict", str(image), "-o", str(tmp_path / "out"), "--quiet"]) == 7
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no bundled default model" in err and "msanet train" in err, err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_documented_table_lists_every_row():
    doc = (Path(__file__).resolve().parents[1] / "docs" / "errors.md").read_text()
    for name in ROWS:
        assert f"[{name}]" in doc, name


def test_disk_full_leaves_nothing(trained_tiny, tmp_path, capsys, monkeypatch):
    import msanet.io

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(msanet.io.nib, "save", full)
    image = trained_tiny["bids"] / "sub-s01" / "anat" / "sub-s01_T2w.nii.gz"
    code = main(["predict", str(image), "-o", str(tmp_path / "out"), "--model", str(trained_tiny["run"] / "best.safetensors"), "--quiet"])
    assert code == 8
    assert "disk full while writing" in capsys.readouterr().err
    assert not list((tmp_path / "out").glob("*label-discs*")) and not list((tmp_path / "out").glob(".msanet-tmp-*"))


def _digest(root: Path) -> dict:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def _kill_when(cmd: list[str], ready, timeout=300):
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + timeout
    while not ready() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def test_sigkill_during_synth_then_rerun_gives_the_same_bytes(tmp_path):
    cmd = [sys.executable, "-m", "msanet.cli", "synth", str(tmp_path / "k"), "--subjects", "4", "--seed", "3", "--workers", "1", "--quiet"]
    _kill_when(cmd, lambda: (tmp_path / "k" / "sub-balgrist01").exists())
    assert subprocess.run(cmd).returncode == 0
    clean = [sys.executable, "-m", "msanet.cli", "synth", str(tmp_path / "c"), "--subjects", "4", "--seed", "3", "--workers", "1", "--quiet"]
    assert subprocess.run(clean).returncode == 0
    assert _digest(tmp_path / "k") == _digest(tmp_path / "c")


def test_sigkill_during_batch_predict_then_rerun_finishes(trained_tiny, tmp_path):
    model = str(trained_tiny["run"] / "best.safetensors")
    cmd = [sys.executable, "-m", "msanet.cli", "predict", str(trained_tiny["bids"]), "-o", str(tmp_path / "p"), "--model", model, "--quiet"]
    _kill_when(cmd, lambda: len(list((tmp_path / "p").rglob("*_qc.png"))) >= 2)
    assert subprocess.run(cmd).returncode == 0
    labels = sorted((tmp_path / "p").rglob("*_label-discs_dlabel.nii.gz"))
    assert len(labels) == 12 and not list((tmp_path / "p").rglob(".msanet-tmp-*"))
    for path in labels:
        nib.load(path).get_fdata()  # every file complete and readable
        assert json.loads(Path(str(path).replace("_label-discs_dlabel.nii.gz", "_discs.json")).read_text())["discs"] is not None


def test_rerun_after_a_kill_removes_the_killed_runs_temp_files(trained_tiny, tmp_path, dead_pid):
    """A run killed while overwriting outputs leaves a temp file; a later run that skips the job removes it."""
    image = trained_tiny["bids"] / "sub-s01" / "anat" / "sub-s01_T2w.nii.gz"
    args = ["predict", str(image), "-o", str(tmp_path / "p"), "--model", str(trained_tiny["run"] / "best.safetensors"), "--quiet"]
    assert main(args) == 0
    before = _digest(tmp_path / "p")
    folder = next((tmp_path / "p").rglob("*_discs.json")).parent
    (folder / f"{TMP_PREFIX}{dead_pid}-{HOST_TAG}-x1y2z3_discs.json").write_text('{"half": ')
    assert main(args) == 0
    assert _digest(tmp_path / "p") == before


@pytest.fixture(scope="module")
def valid_bytes(tmp_path_factory):
    d = tmp_path_factory.mktemp("fuzz")
    data, _ = canonical_phantom()
    save_canonical(data, canonical_affine(), d / "ok.nii.gz", "RPI")
    return (d / "ok.nii.gz").read_bytes()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(0, 4000), flips=st.lists(st.tuples(st.integers(0, 4000), st.integers(0, 255)), max_size=8), gz=st.booleans())
def test_fuzzed_nifti_bytes_give_a_clean_answer(valid_bytes, tmp_path, cut, flips, gz, capsys, trained_tiny):
    raw = bytearray(gzip.decompress(valid_bytes) if not gz else valid_bytes)
    for pos, value in flips:
        if pos < len(raw):
            raw[pos] = value
    raw = bytes(raw[: max(1, len(raw) - cut)])
    path = tmp_path / ("f.nii.gz" if gz else "f.nii")
    path.write_bytes(raw)
    for argv in (["inspect", str(path)], ["predict", str(path), "-o", str(tmp_path / "o"), "--quiet", "--overwrite",
                                          "--model", str(trained_tiny["run"] / "best.safetensors")]):
        code = main(argv)
        err = capsys.readouterr().err.strip()
        assert code == 0 or (code in (3, 4, 5, 9) and len(err.splitlines()) == 1 and "Traceback" not in err), (code, err)
