"""Shared fixtures: tiny NIfTI volumes and Spine-Generic-style BIDS folders built on the fly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from nibabel.orientations import axcodes2ornt, io_orientation, ornt_transform

@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    """Tiny tensors run fastest on one thread, and OpenMP threads fighting over 2 cores can be 100x slower."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


REAL_T1W = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real" / "sct_testing_data" / "t1" / "t1w.nii.gz"
REAL_LUMBAR = REAL_T1W.parents[2] / "sct_tutorial_lumbar" / "t2_lumbar.nii.gz"  # 38 x 257 x 201 at 1 mm, RAS


def canonical_phantom(shape=(9, 40, 30), seed=0, disc_rows=(8, 16, 24, 32), disc_col=20):
    """A left-right symmetric phantom in canonical (R, I, P) axes and its disc points.

    Returns (data [X, Y, Z] float32, {SCT value: canonical voxel (x, y, z)}) with the discs at the
    centre slice; value 3 = first disc row, 4 = next ...
    """
    rng = np.random.default_rng(seed)
    x, y, z = shape
    data = np.zeros(shape, np.float32)
    xs = np.abs(np.arange(x) - (x - 1) / 2)[:, None, None]
    data += (100 * np.exp(-xs**2 / 8))  # symmetric about the centre slice
    data += 20 * rng.random((1, y, z)).astype(np.float32)
    for r in disc_rows:
        data[:, r - 1 : r + 2, disc_col - 6 : disc_col] += 80
    labels = {3 + i: np.array([(x - 1) // 2, r, disc_col], float) for i, r in enumerate(disc_rows)}
    return data, labels


def save_canonical(data, affine_canonical, path, axcodes, dtype=np.int16):
    """Save canonical-orientation data reoriented to ``axcodes`` (nibabel 'points to' codes)."""
    img = nib.Nifti1Image(data.astype(dtype), affine_canonical)
    img = img.as_reoriented(ornt_transform(io_orientation(affine_canonical), axcodes2ornt(tuple(axcodes))))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    nib.save(img, str(path))
    return img


def canonical_affine(spacing=(1.0, 1.0, 1.0), origin=(0.0, 0.0, 0.0)):
    """Affine of the canonical (R, I, P) axes: x -> +R (world x), y -> -S (world -z), z -> -A (world -y)."""
    aff = np.zeros((4, 4))
    aff[0, 0], aff[2, 1], aff[1, 2], aff[3, 3] = spacing[0], -spacing[1], -spacing[2], 1.0
    aff[:3, 3] = origin
    return aff


def label_array(shape, labels):
    out = np.zeros(shape, np.float32)
    for value, ijk in labels.items():
        out[tuple(np.rint(ijk).astype(int))] = value
    return out


def make_bids(root: Path, subjects=("sub-aaa01", "sub-aaa02", "sub-bbb01"), naming="current", sites=True, contrasts=("T1w", "T2w"),
              shape=(9, 40, 30), disc_rows=(8, 16, 24, 32), sessions=()):
    """A tiny Spine-Generic-style data set (``sub-*/ses-*/anat`` when ``sessions`` are given); returns root."""
    suffix = {"current": "_label-discs_dlabel", "old": "_labels-disc-manual"}[naming]
    for i, sid in enumerate(subjects):
        for session in sessions or ("",):
            rel = Path(sid, session, "anat")
            prefix = f"{sid}_{session}" if session else sid
            for contrast in contrasts:
                data, labels = canonical_phantom(shape=shape, seed=i, disc_rows=disc_rows)
                aff = canonical_affine()
                save_canonical(data, aff, root / rel / f"{prefix}_{contrast}.nii.gz", "RPI")
                save_canonical(label_array(data.shape, labels), aff,
                               root / "derivatives" / "labels" / rel / f"{prefix}_{contrast}{suffix}.nii.gz", "RPI", dtype=np.float32)
    if sites:
        lines = ["participant_id\tsex\tage\tinstitution_id"]
        lines += [f"{sid}\tF\t30\t{sid[4:7]}" for sid in subjects]
        (root / "participants.tsv").write_text("\n".join(lines) + "\n")
    return root


def random_checkpoint(path: Path, num_discs: int = 24, width: int = 8, depth: int = 2, pixel_mm: float = 1.0) -> Path:
    """A random-weight checkpoint (no training): for shapes, plumbing and timing, not for accuracy."""
    import torch

    from msanet.checkpoint import save_checkpoint
    from msanet.model.msanet import MSANet, MSANetConfig
    from msanet.preprocess import PreprocessConfig

    torch.manual_seed(0)
    cfg = MSANetConfig(num_discs=num_discs, width=width, depth=depth, embed_dim=8)
    unit = cfg.size_unit
    pre = PreprocessConfig(pixel_mm=pixel_mm, height=4 * unit, width=3 * unit, slab_mm=3.0)
    return save_checkpoint(path, MSANet(cfg).eval(), cfg, pre, threshold=0.0)


@pytest.fixture
def dead_pid() -> int:
    """The pid of a process that has already exited (stands for a killed msanet run)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.fixture
def tiny_bids(tmp_path):
    return make_bids(tmp_path / "bids")


def tiny_train_config(bids_root, out, cache, **overrides):
    """A TrainConfig small enough to train in seconds on one CPU thread (depth 2, width 8, 48x32 px)."""
    from msanet.model.msanet import MSANetConfig
    from msanet.preprocess import PreprocessConfig
    from msanet.train import TrainConfig

    model = overrides.pop("model", None) or MSANetConfig(width=8, depth=2, embed_dim=8)
    return TrainConfig(
        bids=str(bids_root), out=str(out), cache_dir=str(cache), epochs=overrides.pop("epochs", 2), batch_size=2, threads=1,
        sigma_mm=4.0, model=model, preprocess=PreprocessConfig(pixel_mm=1.0, height=overrides.pop("height", 48), width=32, slab_mm=1.0),
        **overrides,
    )


@pytest.fixture(scope="session")
def trained_tiny(tmp_path_factory):
    """A tiny model trained for a few epochs on a tiny BIDS set (shared by predict/evaluate/report tests)."""
    from msanet.model.msanet import MSANetConfig
    from msanet.train import train

    root = tmp_path_factory.mktemp("trained")
    bids_root = make_bids(root / "bids", subjects=tuple(f"sub-s{i:02d}" for i in range(1, 7)), shape=(9, 60, 30), disc_rows=(10, 22, 34, 46))
    cfg = tiny_train_config(bids_root, root / "run", root / "cache", epochs=40, augment=False, lr=5e-3, height=64,
                            model=MSANetConfig(width=16, depth=2, embed_dim=8))
    train(cfg, progress=False)
    return {"bids": bids_root, "run": root / "run", "cfg": cfg}


@pytest.fixture(scope="session")
def predicted_sessions(trained_tiny, tmp_path_factory):
    """A two-session BIDS set (2 subjects x 2 sessions x T1w/T2w) and ``msanet predict`` of it with the tiny model
    (threshold 0: every image gets discs): {'bids', 'out', 'model'}. Shared by the derivatives round-trip tests."""
    from msanet.cli import main

    root = tmp_path_factory.mktemp("sessions")
    bids_root = make_bids(root / "bids", subjects=("sub-s01", "sub-s02"), shape=(9, 60, 30), disc_rows=(10, 22, 34, 46), sessions=("ses-01", "ses-02"))
    model = trained_tiny["run"] / "best.safetensors"
    assert main(["predict", str(bids_root), "-o", str(root / "out"), "--model", str(model), "--threshold", "0", "--quiet"]) == 0
    return {"bids": bids_root, "out": root / "out", "model": model}
