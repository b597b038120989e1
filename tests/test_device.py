import pytest
import torch

from msanet.cli import main
from msanet.device import resolve_device
from msanet.errors import ConfigError


@pytest.mark.parametrize("name, gpu, expected", [
    ("auto", False, "cpu"),
    ("auto", True, "cuda"),
    ("cpu", True, "cpu"),
    ("cpu", False, "cpu"),
    ("cuda", True, "cuda"),
])
def test_resolve_device(monkeypatch, name, gpu, expected):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: gpu)
    assert resolve_device(name) == torch.device(expected)


@pytest.mark.parametrize("name, message", [("cuda", "no CUDA GPU is available"), ("gpu", "unknown device 'gpu'")])
def test_resolve_device_errors(monkeypatch, name, message):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match=message):
        resolve_device(name)


@pytest.mark.parametrize("command", ["predict", "train"])
def test_cuda_without_a_gpu_is_one_clear_line(monkeypatch, tiny_bids, tmp_path, capsys, command):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    argv = {"predict": ["predict", str(tiny_bids), "-o", str(tmp_path / "out"), "--quiet", "--device", "cuda"],
            "train": ["train", "--bids", str(tiny_bids), "--out", str(tmp_path / "out"), "--quiet", "--device", "cuda",
                      "--cache-dir", str(tmp_path / "cache"), "--size", "32x32", "--width", "8", "--depth", "2"]}[command]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "msanet: error: --device cuda: no CUDA GPU is available" in err
    assert not list((tmp_path / "out").rglob("*.nii.gz")) and not list((tmp_path / "out").rglob("*.safetensors"))
