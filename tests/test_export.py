import builtins
import json

import numpy as np
import onnxruntime
import pytest
import torch

from msanet.checkpoint import load_checkpoint
from msanet.cli import main
from msanet.export import export_onnx
from msanet.model.msanet import HeatmapOnly


def test_onnx_heatmaps_match_pytorch_for_any_batch(trained_tiny, tmp_path):
    out = tmp_path / "tiny.onnx"
    report = export_onnx(out, model_path=trained_tiny["run"], repeats=2)
    ckpt = load_checkpoint(trained_tiny["run"])
    assert report["max_abs_diff"] < 1e-4
    session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    x = torch.rand(2, 1, ckpt.preprocess.height, ckpt.preprocess.width)  # [2, 1, H, W]: another batch size than exported
    with torch.no_grad():
        ref = HeatmapOnly(ckpt.model)(x).numpy()
    got = session.run(["heatmaps"], {"image": x.numpy()})[0]
    assert got.shape == (2, ckpt.model_config.num_discs, ckpt.preprocess.height // 4, ckpt.preprocess.width // 4)
    np.testing.assert_allclose(got, ref, atol=1e-4)
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["config_hash"] == ckpt.meta["config_hash"] and meta["threshold"] == ckpt.threshold and meta["onnx"]["file"] == "tiny.onnx"


@pytest.mark.parametrize("name, setup, code, message", [
    ("exists.onnx", lambda p: p.write_bytes(b"old"), 8, "already exists (use --overwrite"),
    ("model.pt", lambda p: None, 2, "must end with .onnx"),
])
def test_export_errors_leave_nothing_behind(trained_tiny, tmp_path, capsys, name, setup, code, message):
    target = tmp_path / name
    setup(target)
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main(["export", "--onnx", str(target), "--model", str(trained_tiny["run"])]) == code
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_missing_extra_is_one_clear_line(trained_tiny, tmp_path, capsys, monkeypatch):
    real_import = builtins.__import__

    def no_onnxruntime(name, *args, **kwargs):
        if name == "onnxruntime":
            raise ImportError("No module named 'onnxruntime'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_onnxruntime)
    assert main(["export", "--onnx", str(tmp_path / "m.onnx"), "--model", str(trained_tiny["run"])]) == 2
    assert "pip install 'msanet[onnx]'" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_onnx_export_of_a_model_with_the_any_disc_channel_and_a_finer_head(tmp_path):
    """The extra channel and the upsampling head (bilinear interpolation) export and match PyTorch."""
    from msanet.checkpoint import save_checkpoint
    from msanet.model.msanet import MSANet, MSANetConfig
    from msanet.preprocess import PreprocessConfig

    torch.manual_seed(0)
    cfg = MSANetConfig(width=8, depth=2, embed_dim=8, any_disc=True, out_stride=1)
    model = MSANet(cfg).eval()
    torch.nn.init.normal_(model.up.out.weight, std=0.1)  # zero at init: make the head's own path count
    path = save_checkpoint(tmp_path / "m.safetensors", model, cfg, PreprocessConfig(pixel_mm=2.0, height=32, width=32), threshold=0.3, stride=1)
    report = export_onnx(tmp_path / "m.onnx", model_path=path, repeats=1)
    assert report["max_abs_diff"] < 1e-4
    got = onnxruntime.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"]).run(None, {"image": np.zeros((1, 1, 32, 32), np.float32)})[0]
    assert got.shape == (1, 12, 32, 32)
