import json

import pytest
import torch

from msanet.checkpoint import FORMAT_VERSION, load_checkpoint, save_checkpoint
from msanet.errors import ModelError
from msanet.model.msanet import MSANet, MSANetConfig
from msanet.preprocess import PreprocessConfig

CFG = MSANetConfig(width=8, depth=2, embed_dim=8)
PRE = PreprocessConfig(pixel_mm=1.0, height=32, width=32)


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    model = MSANet(CFG)
    path = save_checkpoint(tmp_path / "m.safetensors", model, CFG, PRE, threshold=0.42)
    return model, path


def test_round_trip_same_outputs_and_metadata(saved):
    model, path = saved
    ckpt = load_checkpoint(path)
    assert ckpt.model_config == CFG and ckpt.preprocess == PRE and ckpt.threshold == pytest.approx(0.42)
    x = torch.rand(1, 1, 32, 32)
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(x).heatmaps, ckpt.model(x).heatmaps)
    meta = json.loads(path.with_suffix(".json").read_text())
    assert meta["format_version"] == FORMAT_VERSION and len(meta["config_hash"]) == 16


def test_run_folder_resolves_to_best(saved, tmp_path):
    _, path = saved
    path.rename(tmp_path / "best.safetensors")
    path.with_suffix(".json").rename(tmp_path / "best.json")
    assert load_checkpoint(tmp_path).path.name == "best.safetensors"


def _edit_meta(path, **changes):
    meta_path = path.with_suffix(".json")
    meta = json.loads(meta_path.read_text())
    meta.update(changes)
    meta_path.write_text(json.dumps(meta))


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda p: p.unlink(), "model file not found"),
        (lambda p: p.with_suffix(".json").unlink(), "metadata file missing"),
        (lambda p: p.with_suffix(".json").write_text("{not json"), "corrupt checkpoint metadata"),
        (lambda p: _edit_meta(p, format_version=99), "unsupported checkpoint format version 99"),
        (lambda p: _edit_meta(p, architecture="UNet"), "not an MSA-Net checkpoint"),
        (lambda p: _edit_meta(p, model_config={**json.loads(p.with_suffix(".json").read_text())["model_config"], "width": 16}), "does not match its config_hash"),
        (lambda p: p.write_bytes(b"\x00" * 64), "corrupt or unreadable weights"),
    ],
)
def test_damaged_checkpoints_raise_model_error(saved, damage, message):
    _, path = saved
    damage(path)
    with pytest.raises(ModelError, match=message):
        load_checkpoint(path)


def test_weights_of_another_architecture(saved, tmp_path):
    _, path = saved
    other = MSANetConfig(width=16, depth=2, embed_dim=8)
    save_checkpoint(tmp_path / "other.safetensors", MSANet(other), other, PRE)
    (tmp_path / "other.safetensors").replace(path)  # weights of width 16 under metadata of width 8
    with pytest.raises(ModelError, match="do not fit the MSA-Net architecture"):
        load_checkpoint(path)
