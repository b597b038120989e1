"""Model checkpoints: weights in safetensors + a small JSON of config and metadata beside them.

``NAME.safetensors`` holds the tensors (read without executing any pickled code);
``NAME.json`` holds ``format_version``, the model and preprocessing configs, ``config_hash``
(SHA-256 of the model config, checked on load), the disc values of the channels, the calibrated
confidence threshold and training metadata. Optimizer state lives separately (train.py).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from msanet import __version__
from msanet.errors import ModelError
from msanet.fileio import atomic_path, write_text
from msanet.model.msanet import MSANet, MSANetConfig
from msanet.preprocess import PreprocessConfig

FORMAT_VERSION = 1
DEFAULT_MODEL_NAME = "msanet-default"


def config_hash(model_config: dict) -> str:
    """SHA-256 (first 16 hex digits) of the model config as canonical JSON."""
    return hashlib.sha256(json.dumps(model_config, sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class Checkpoint:
    """A loaded checkpoint: the model (eval mode) and its metadata."""

    model: MSANet
    model_config: MSANetConfig
    preprocess: PreprocessConfig
    threshold: float
    stride: int
    sigma_mm: float
    meta: dict = field(default_factory=dict)
    path: Path | None = None


def save_checkpoint(
    path: str | Path,
    model: torch.nn.Module,
    model_config: MSANetConfig,
    preprocess: PreprocessConfig,
    *,
    threshold: float = 0.3,
    stride: int = 4,
    sigma_mm: float = 5.0,
    extra: dict | None = None,
) -> Path:
    """Write ``path`` (.safetensors) and its ``.json`` sidecar atomically; returns the weights path."""
    path = Path(path).with_suffix(".safetensors")
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    cfg = model_config.to_dict()
    meta = {
        "format_version": FORMAT_VERSION,
        "msanet_version": __version__,
        "architecture": "MSANet",
        "model_config": cfg,
        "config_hash": config_hash(cfg),
        "preprocess": preprocess.to_dict(),
        "threshold": float(threshold),
        "stride": int(stride),
        "sigma_mm": float(sigma_mm),
        **(extra or {}),
    }
    with atomic_path(path) as tmp:
        save_file(state, str(tmp), metadata={"format_version": str(FORMAT_VERSION), "config_hash": meta["config_hash"]})
    write_text(path.with_suffix(".json"), json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return path


def default_model_path() -> Path:
    """The bundled default model's weights file (inside the installed package)."""
    return Path(str(resources.files("msanet") / "weights" / f"{DEFAULT_MODEL_NAME}.safetensors"))


def resolve_model_path(path: str | Path | None) -> Path:
    """``None`` -> bundled model; a run folder -> its ``best.safetensors``; else the file itself."""
    if path is None:
        weights = default_model_path()
        if not weights.exists():
            raise ModelError(
                "no bundled default model in this installation; train one with "
                "'msanet train --bids DATA --out runs/x' and pass '--model runs/x/best.safetensors'"
            )
        return weights
    path = Path(path)
    if path.is_dir():
        path = path / "best.safetensors"
    if path.suffix == ".json":
        path = path.with_suffix(".safetensors")
    if not path.exists():
        raise ModelError(f"{path}: model file not found")
    return path


def load_checkpoint(path: str | Path | None = None) -> Checkpoint:
    """Load weights + metadata, checking format version, architecture and config hash.

    Raises ModelError for a missing or corrupt file, an unknown format version, a config whose
    hash does not match, or weights from another architecture.
    """
    weights = resolve_model_path(path)
    meta_path = weights.with_suffix(".json")
    try:
        meta = json.loads(meta_path.read_text())
    except FileNotFoundError:
        raise ModelError(f"{meta_path}: checkpoint metadata file missing (expected beside {weights.name})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(f"{meta_path}: corrupt checkpoint metadata ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format_version") != FORMAT_VERSION:
        found = meta.get("format_version") if isinstance(meta, dict) else None
        raise ModelError(f"{meta_path}: unsupported checkpoint format version {found!r} (this msanet reads {FORMAT_VERSION})")
    if meta.get("architecture") != "MSANet":
        raise ModelError(f"{meta_path}: not an MSA-Net checkpoint (architecture {meta.get('architecture')!r})")
    cfg_dict = meta.get("model_config")
    if not isinstance(cfg_dict, dict) or config_hash(cfg_dict) != meta.get("config_hash"):
        raise ModelError(f"{meta_path}: model config does not match its config_hash (file edited or corrupt)")
    try:
        model_config = MSANetConfig.from_dict(cfg_dict)
        preprocess = PreprocessConfig.from_dict(meta["preprocess"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"{meta_path}: invalid config in checkpoint ({exc})") from None
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise ModelError(f"{weights}: corrupt or unreadable weights file ({str(exc)[:120]})") from None
    model = MSANet(model_config)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError:
        raise ModelError(f"{weights}: weights do not fit the MSA-Net architecture in {meta_path.name} (another architecture or version)") from None
    model.eval()
    return Checkpoint(
        model=model, model_config=model_config, preprocess=preprocess,
        threshold=float(meta.get("threshold", 0.3)), stride=int(meta.get("stride", 4)),
        sigma_mm=float(meta.get("sigma_mm", 5.0)), meta=meta, path=weights,
    )
