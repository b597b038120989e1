import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import make_bids, tiny_train_config

from msanet.checkpoint import load_checkpoint
from msanet.errors import ConfigError
from msanet.train import TrainConfig, state_digest, train

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bids_root(tmp_path_factory):
    return make_bids(tmp_path_factory.mktemp("data") / "bids", subjects=tuple(f"sub-s{i:02d}" for i in range(1, 6)))


def test_two_epoch_run_writes_every_artefact(bids_root, tmp_path):
    cfg = tiny_train_config(bids_root, tmp_path / "run", tmp_path / "cache")
    summary = train(cfg, progress=False)
    run = tmp_path / "run"
    for name in ["config.yaml", "split.json", "last.safetensors", "last.json", "last.state.pt", "best.safetensors", "best.json", "log.csv", "curves.png"]:
        assert (run / name).exists(), name
    with open(run / "log.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert all(float(r["train_loss"]) > 0 for r in rows)
    assert TrainConfig.load(run / "config.yaml").to_dict() == cfg.to_dict()
    ckpt = load_checkpoint(run / "last.safetensors")
    assert state_digest(ckpt.model) == summary["digest"]
    assert ckpt.model_config == cfg.model and ckpt.preprocess == cfg.preprocess
    assert not list(run.glob(".msanet-tmp-*"))


def test_same_seed_same_weights_and_refuses_to_clobber(bids_root, tmp_path):
    a = train(tiny_train_config(bids_root, tmp_path / "a", tmp_path / "cache", epochs=1), progress=False)
    b = train(tiny_train_config(bids_root, tmp_path / "b", tmp_path / "cache", epochs=1), progress=False)
    assert a["digest"] == b["digest"]
    with pytest.raises(ConfigError, match="already holds a run"):
        train(tiny_train_config(bids_root, tmp_path / "a", tmp_path / "cache", epochs=1), progress=False)


def test_resume_after_sigkill_gives_identical_weights(bids_root, tmp_path):
    flags = ["--bids", str(bids_root), "--cache-dir", str(tmp_path / "cache"), "--epochs", "4", "--size", "32x32", "--pixel-mm", "1",
             "--width", "8", "--depth", "2", "--embed-dim", "8", "--batch-size", "1", "--threads", "1", "--quiet", "--sigma-mm", "4"]
    # one uninterrupted run (in-process, same config as the CLI builds)
    full = subprocess.run([sys.executable, "-m", "msanet.cli", "train", *flags, "--out", str(tmp_path / "full"), "--rank-digest"],
                          capture_output=True, text=True, timeout=600)
    assert full.returncode == 0, full.stderr
    # the same run, killed with SIGKILL once its first checkpoint exists, then resumed
    run = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "msanet.cli", "train", *flags, "--out", str(run)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not (run / "last.state.pt").exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    resumed = subprocess.run([sys.executable, "-m", "msanet.cli", "train", *flags, "--out", str(run), "--resume", "--rank-digest"],
                             capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    assert (run / "rank0.digest").read_text() == (tmp_path / "full" / "rank0.digest").read_text()
    with open(run / "log.csv") as f:
        assert [int(r["epoch"]) for r in csv.DictReader(f)] == [1, 2, 3, 4]
    assert not list(run.glob(".msanet-tmp-*"))


def test_trains_on_labels_from_a_predict_output(predicted_sessions, tmp_path, capsys):
    """Round trip: the derivatives data set written by predict (two sessions) is the labels of a BIDS set without its own."""
    import shutil

    from msanet.cli import main

    raw = tmp_path / "raw"
    shutil.copytree(predicted_sessions["bids"], raw, ignore=shutil.ignore_patterns("derivatives"))
    flags = ["--bids", str(raw), "--cache-dir", str(tmp_path / "cache"), "--epochs", "1", "--size", "32x32", "--pixel-mm", "1", "--width", "8",
             "--depth", "2", "--embed-dim", "8", "--batch-size", "2", "--threads", "1", "--quiet"]
    assert main(["train", *flags, "--out", str(tmp_path / "no_labels")]) == 6
    assert "no labelled subjects found" in capsys.readouterr().err
    assert main(["train", *flags, "--out", str(tmp_path / "run"), "--labels", str(predicted_sessions["out"])]) == 0
    assert TrainConfig.load(tmp_path / "run" / "config.yaml").labels == str(predicted_sessions["out"])
    split = json.loads((tmp_path / "run" / "split.json").read_text())
    assert sorted(split["train"] + split["val"] + split["test"]) == ["sub-s01", "sub-s02"]
    assert load_checkpoint(tmp_path / "run" / "best.safetensors").model_config.width == 8


def test_ddp_two_processes_hold_identical_weights(bids_root, tmp_path):
    torchrun = Path(sys.executable).with_name("torchrun")
    cmd = [str(torchrun), "--standalone", "--nproc_per_node=2", "-m", "msanet.cli", "train", "--bids", str(bids_root),
           "--out", str(tmp_path / "ddp"), "--cache-dir", str(tmp_path / "cache"), "--epochs", "2", "--size", "32x32", "--pixel-mm", "1",
           "--width", "8", "--depth", "2", "--embed-dim", "8", "--batch-size", "2", "--threads", "1", "--quiet", "--rank-digest"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    d0, d1 = (tmp_path / "ddp" / "rank0.digest").read_text(), (tmp_path / "ddp" / "rank1.digest").read_text()
    assert d0 == d1
    assert (tmp_path / "ddp" / "best.safetensors").exists()


@pytest.mark.parametrize(
    "content, message",
    [
        ("epochs: 2\nbogus: 1\n", "unknown config keys: bogus"),
        ("epochs: two\n", "'epochs' must be int"),
        ("model: {width: 8, colour: red}\n", "colour"),
        ("epochs: [\n", "not valid YAML"),
        ("optimizer: sgd\n", "optimizer='sgd'"),
        ("device: gpu\n", "device='gpu' must be one of auto, cpu, cuda"),
        ("epochs: 3\nstop_after: 4\n", "stop_after=4 must be in 1..epochs"),
        ("contrasts: T2w\n", "'contrasts' must be list"),
        ("extra_repeat: many\n", "'extra_repeat' must be int or list"),
        ("extra_bids: [a, b]\nextra_repeat: [1, 2, 3]\n", "one number per extra_bids set \\(2\\)"),
    ],
)
def test_bad_config_files_are_one_line_errors(tmp_path, content, message):
    path = tmp_path / "c.yaml"
    path.write_text(content)
    with pytest.raises(ConfigError, match=message):
        TrainConfig.load(path)


def test_config_round_trip_yaml(tmp_path):
    cfg = TrainConfig(bids="x", epochs=3)
    cfg.save(tmp_path / "c.yaml")
    assert TrainConfig.load(tmp_path / "c.yaml") == cfg
    assert yaml.safe_load((tmp_path / "c.yaml").read_text())["model"]["mgca"] is True


def test_size_must_fit_model_depth():
    from msanet.preprocess import PreprocessConfig

    with pytest.raises(ValueError, match="divisible by 64"):
        TrainConfig(bids="x", preprocess=PreprocessConfig(height=96, width=100))


def test_target_grid_must_be_the_models_out_stride():
    from msanet.model.msanet import MSANetConfig

    with pytest.raises(ValueError, match="stride=4 must equal the model's out_stride=2"):
        TrainConfig(bids="x", model=MSANetConfig(out_stride=2))
    assert TrainConfig(bids="x", stride=1, model=MSANetConfig(out_stride=1)).stride == 1


@pytest.mark.parametrize("num_discs", [11, 24])
def test_vocabulary_is_a_config_value(bids_root, tmp_path, num_discs):
    """The paper's 11 channels and the whole column's 24: same code, one config value (or --num-discs) end to end."""
    from msanet.cli import main
    from msanet.model.msanet import MSANetConfig

    cfg = tiny_train_config(bids_root, tmp_path / "run", tmp_path / "cache", epochs=1, model=MSANetConfig(width=8, depth=2, embed_dim=8, num_discs=num_discs))
    train(cfg, progress=False)
    ckpt = load_checkpoint(tmp_path / "run" / "best.safetensors")
    assert ckpt.model_config.num_discs == num_discs
    flags = ["--bids", str(bids_root), "--cache-dir", str(tmp_path / "cache"), "--epochs", "1", "--size", "32x32", "--pixel-mm", "1",
             "--width", "8", "--depth", "2", "--embed-dim", "8", "--threads", "1", "--quiet", "--num-discs", str(num_discs)]
    assert main(["train", *flags, "--out", str(tmp_path / "cli")]) == 0
    assert load_checkpoint(tmp_path / "cli" / "best.safetensors").model_config.num_discs == num_discs


def test_any_disc_channel_and_finer_head_train_and_predict_end_to_end(bids_root, tmp_path):
    """--any-disc: one more output channel; --out-stride 2: heatmaps on a 2-pixel grid; --no-zero-heads. All
    saved in the checkpoint's config; predict decodes them (names by the any-disc peaks)."""
    from msanet.cli import main

    flags = ["--bids", str(bids_root), "--cache-dir", str(tmp_path / "cache"), "--epochs", "2", "--size", "48x32", "--pixel-mm", "1",
             "--width", "8", "--depth", "2", "--embed-dim", "8", "--threads", "1", "--quiet", "--sigma-mm", "4", "--any-disc", "--any-sigma-mm", "3",
             "--out-stride", "2", "--no-zero-heads"]
    assert main(["train", *flags, "--out", str(tmp_path / "run")]) == 0
    cfg = TrainConfig.load(tmp_path / "run" / "config.yaml")
    assert cfg.model.any_disc and cfg.any_sigma_mm == 3.0 and cfg.model.out_stride == cfg.stride == 2
    assert not cfg.model.zero_heads
    ckpt = load_checkpoint(tmp_path / "run" / "best.safetensors")
    assert ckpt.model_config.any_disc and ckpt.model.stacks[0].head.out_channels == 12 and ckpt.stride == 2
    image = next(bids_root.glob("sub-*/anat/*_T2w.nii.gz"))
    assert main(["predict", str(image), "-o", str(tmp_path / "pred"), "--model", str(tmp_path / "run" / "best.safetensors"), "--quiet", "--threshold", "0"]) == 0
    payload = json.loads(next((tmp_path / "pred").rglob("*_discs.json")).read_text())
    values = [d["value"] for d in payload["discs"]]
    assert payload["values"] == list(range(2, 13)) and values == sorted(set(values))  # the names are tested in test_decode
    assert [d["pixel_rc"][0] for d in payload["discs"]] == sorted(d["pixel_rc"][0] for d in payload["discs"])


def test_stop_after_ends_early_on_the_full_schedule_and_resumes_to_the_same_weights(bids_root, tmp_path):
    """A time-boxed run (stop_after 1 of 3 epochs) keeps the 3-epoch learning rates; resumed without the stop it ends with
    the weights of an uninterrupted 3-epoch run."""
    full = train(tiny_train_config(bids_root, tmp_path / "full", tmp_path / "cache", epochs=3), progress=False)
    boxed = tiny_train_config(bids_root, tmp_path / "boxed", tmp_path / "cache", epochs=3, stop_after=1)
    train(boxed, progress=False)
    with open(tmp_path / "boxed" / "log.csv") as f:
        rows = list(csv.DictReader(f))
    with open(tmp_path / "full" / "log.csv") as f:
        full_rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [1] and rows[0]["lr"] == full_rows[0]["lr"]
    resumed = train(tiny_train_config(bids_root, tmp_path / "boxed", tmp_path / "cache", epochs=3), resume=True, progress=False)
    assert resumed["digest"] == full["digest"]


def test_extra_data_sets_train_only_and_leave_subjects_out(bids_root, tmp_path):
    """extra_bids images go to training only, extra_repeat times each, minus exclude_subjects (leave-one-subject-out)."""
    from msanet.train import Dist, _datasets

    extra = make_bids(tmp_path / "real", subjects=("sub-r01", "sub-r02", "sub-r03"), contrasts=("T2w",), sites=False)
    cfg = tiny_train_config(bids_root, tmp_path / "run", tmp_path / "cache", extra_bids=[str(extra)], extra_repeat=3, exclude_subjects=["sub-r02"])
    (tmp_path / "run").mkdir()
    train_set, val_set, splits = _datasets(cfg, tmp_path / "run", Dist())
    extra_ids = [item.subject_id for item in train_set.items if item.subject_id.startswith("sub-r")]
    assert sorted(extra_ids) == ["sub-r01"] * 3 + ["sub-r03"] * 3
    assert all(item.contrast == "T2w" for item in train_set.items if item.subject_id.startswith("sub-r"))
    assert not any(item.subject_id.startswith("sub-r") for item in val_set.items)
    assert not any(sid.startswith("sub-r") for sid in splits.train + splits.val + splits.test)
    with pytest.raises(ValueError, match="extra_repeat=0"):
        tiny_train_config(bids_root, tmp_path / "x", tmp_path / "cache", extra_repeat=0)


def test_extra_repeat_per_data_set(bids_root, tmp_path):
    """A list gives each extra set its own repeat count (e.g. a second synthetic set once, real scans 100 times)."""
    from msanet.train import Dist, _datasets

    one = make_bids(tmp_path / "one", subjects=("sub-a01", "sub-a02"), contrasts=("T2w",), sites=False)
    two = make_bids(tmp_path / "two", subjects=("sub-b01",), contrasts=("T2w",), sites=False)
    cfg = tiny_train_config(bids_root, tmp_path / "run", tmp_path / "cache", extra_bids=[str(one), str(two)], extra_repeat=[1, 4],
                            exclude_subjects=["sub-a02"])
    assert cfg.extra_repeats() == [1, 4]
    (tmp_path / "run").mkdir()
    train_set, _, _ = _datasets(cfg, tmp_path / "run", Dist())
    extra_ids = [item.subject_id for item in train_set.items if item.subject_id[4] in "ab"]
    assert sorted(extra_ids) == ["sub-a01"] + ["sub-b01"] * 4
    assert TrainConfig.from_dict(cfg.to_dict()).extra_repeats() == [1, 4]  # survives config.yaml
    assert tiny_train_config(bids_root, tmp_path / "y", tmp_path / "cache", extra_bids=["p", "q"], extra_repeat=2).extra_repeats() == [2, 2]
    with pytest.raises(ValueError, match=r"one number per extra_bids set \(1\)"):
        tiny_train_config(bids_root, tmp_path / "x", tmp_path / "cache", extra_bids=["p"], extra_repeat=[1, 2])


def test_init_starts_from_a_checkpoint_and_refuses_another_config(bids_root, tmp_path):
    from msanet.model.msanet import MSANet, MSANetConfig
    from msanet.train import _load_init

    first = train(tiny_train_config(bids_root, tmp_path / "a", tmp_path / "cache", epochs=1), progress=False)
    cfg = tiny_train_config(bids_root, tmp_path / "b", tmp_path / "cache", epochs=1, init=str(tmp_path / "a" / "last.safetensors"))
    model = MSANet(cfg.model)
    assert state_digest(model) != first["digest"]
    _load_init(model, cfg)
    assert state_digest(model) == first["digest"]
    assert train(cfg, progress=False)["digest"] != first["digest"]  # and training goes on from there
    wider = tiny_train_config(bids_root, tmp_path / "c", tmp_path / "cache", epochs=1, init=cfg.init,
                              model=MSANetConfig(width=16, depth=2, embed_dim=8))
    with pytest.raises(ConfigError, match="model config differs"):
        train(wider, progress=False)


def test_select_last_keeps_the_last_epoch_as_best(bids_root, tmp_path):
    summary = train(tiny_train_config(bids_root, tmp_path / "run", tmp_path / "cache", epochs=3, select="last"), progress=False)
    best = load_checkpoint(tmp_path / "run" / "best.safetensors")
    assert best.meta["epoch"] == 2
    assert state_digest(best.model) == summary["digest"]
    with pytest.raises(ValueError, match="select='newest'"):
        tiny_train_config(bids_root, tmp_path / "x", tmp_path / "cache", select="newest")


@pytest.mark.parametrize("unlabelled, synthetic_main, expected_main, expected_extra", [
    ("unknown", False, True, True),  # a real main set and a real extra set: both partial
    ("unknown", True, False, True),  # a set made by msanet synth is completely labelled
    ("background", False, False, False),  # the paper's target: every unlabelled disc is background
])
def test_real_data_sets_are_read_as_partly_labelled(tmp_path, unlabelled, synthetic_main, expected_main, expected_extra):
    from msanet.train import Dist, _datasets

    main = make_bids(tmp_path / "main", subjects=("sub-s01", "sub-s02", "sub-s03"))
    if synthetic_main:
        (main / "dataset_description.json").write_text(json.dumps({"Name": "x", "GeneratedBy": [{"Name": "msanet synth"}]}))
    extra = make_bids(tmp_path / "real", subjects=("sub-r01",), contrasts=("T2w",), sites=False)
    cfg = tiny_train_config(main, tmp_path / "run", tmp_path / "cache", extra_bids=[str(extra)], unlabelled=unlabelled)
    (tmp_path / "run").mkdir()
    train_set, val_set, _ = _datasets(cfg, tmp_path / "run", Dist())
    assert {item.partial for item in train_set.items + val_set.items if item.subject_id.startswith("sub-s")} == {expected_main}
    assert {item.partial for item in train_set.items if item.subject_id.startswith("sub-r")} == {expected_extra}
    with pytest.raises(ValueError, match="unlabelled='missing'"):
        tiny_train_config(main, tmp_path / "x", tmp_path / "cache", unlabelled="missing")


@pytest.mark.parametrize("bad", ["0", "26", "2,30"])
def test_ignored_values_are_checked_before_a_run_folder_is_made(bids_root, tmp_path, capsys, bad):
    from msanet.cli import main

    flags = ["--bids", str(bids_root), "--cache-dir", str(tmp_path / "cache"), "--epochs", "1", "--size", "32x32", "--pixel-mm", "1",
             "--width", "8", "--depth", "2", "--embed-dim", "8", "--threads", "1", "--quiet", "--ignore-values", bad]
    assert main(["train", *flags, "--out", str(tmp_path / "run")]) != 0
    assert "ignore_values=" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()  # no config.yaml or split.json left behind


def test_random_window_trains_on_windows_along_the_column_and_validates_on_the_centred_one(bids_root, tmp_path):
    """--random-window: saved in config.yaml; the training set cuts windows from the whole column, validation does not."""
    from msanet.cli import main
    from msanet.train import Dist, _datasets

    flags = ["--bids", str(bids_root), "--cache-dir", str(tmp_path / "cache"), "--epochs", "2", "--size", "16x32", "--pixel-mm", "1",
             "--width", "8", "--depth", "2", "--embed-dim", "8", "--threads", "1", "--quiet", "--sigma-mm", "4", "--random-window"]
    assert main(["train", *flags, "--out", str(tmp_path / "run")]) == 0
    cfg = TrainConfig.load(tmp_path / "run" / "config.yaml")
    assert cfg.random_window
    train_set, _, _ = _datasets(cfg, tmp_path / "run", Dist())
    assert train_set.random_window
    assert train_set.sample(0).image.shape == (40, 32)  # the phantom's whole 40 mm column
    assert tuple(train_set[0][0].shape) == (1, 16, 32)


@pytest.mark.parametrize("random_window, rows", [(False, 4), (True, 10)])  # output rows: the 16-row window, the 40-row column
def test_validation_decodes_the_whole_column_when_training_windows_are_random(bids_root, tmp_path, random_window, rows):
    """A centred window of a long scan has no anchor to name its discs by: with random training windows, validation reads
    the whole column in training-size windows, as msanet predict does, with the column's disc points."""
    import numpy as np
    import torch

    from msanet import bids
    from msanet.dataset import DiscDataset, items_from_subjects
    from msanet.model.msanet import MSANet
    from msanet.train import validation_heatmaps
    from msanet.windows import windowed_heatmaps

    cfg = tiny_train_config(bids_root, tmp_path / "run", tmp_path / "cache", random_window=random_window, height=16)
    items = items_from_subjects(bids.find_subjects(bids_root, require_labels=True))[:1]
    val_set = DiscDataset(items, cfg.preprocess, num_discs=cfg.model.num_discs, stride=4, sigma_mm=4.0, cache_dir=tmp_path / "cache",
                          random_window=random_window)
    model = MSANet(cfg.model).eval()
    heat, gt = validation_heatmaps(model, val_set, 0, cfg)
    assert heat.shape == (cfg.model.num_discs, rows, 8)
    sample = val_set.sample(0)
    assert gt.keys() == sample.points.keys() and all(np.allclose(gt[v], sample.points[v] * 1.0) for v in gt)
    if random_window:  # exactly what msanet predict's windows give on the 40-row column
        assert np.array_equal(heat, windowed_heatmaps(model, sample.image, (16, 32), 4))
    else:  # the model on the centred window
        with torch.no_grad():
            assert np.allclose(heat, model(val_set[0][0][None]).heatmaps[0].numpy())


def test_extra_repeat_flag_takes_one_count_per_set_and_checks_it(bids_root, tmp_path, capsys):
    """--extra-repeat 1 100: one count per --extra-bids set; a count list of another length is one line, and no run folder."""
    from msanet.cli import main

    flags = ["--bids", str(bids_root), "--cache-dir", str(tmp_path / "cache"), "--epochs", "1", "--size", "32x32", "--pixel-mm", "1",
             "--width", "8", "--depth", "2", "--embed-dim", "8", "--threads", "1", "--quiet", "--extra-bids", str(bids_root)]
    assert main(["train", *flags, "--extra-repeat", "1", "100", "--out", str(tmp_path / "bad")]) != 0
    err = capsys.readouterr().err
    assert "extra_repeat=[1, 100] must give one number per extra_bids set (1)" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "bad").exists()
    assert main(["train", *flags, "--extra-repeat", "2", "--exclude-subjects", "sub-aaa01", "--out", str(tmp_path / "run")]) == 0
    assert TrainConfig.load(tmp_path / "run" / "config.yaml").extra_repeat == 2
