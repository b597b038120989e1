"""``--device auto|cpu|cuda``: the torch device a command runs its model on.

torch is imported only when a device is resolved, so the command line parser stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from msanet.errors import ConfigError

if TYPE_CHECKING:
    import torch

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(name: str) -> torch.device:
    """'auto': the first CUDA GPU when torch sees one, else the CPU; 'cpu'; 'cuda': the first CUDA GPU.

    Raises ConfigError for an unknown name, or for 'cuda' when no CUDA GPU is available.
    """
    import torch

    if name not in DEVICES:
        raise ConfigError(f"unknown device {name!r} (expected {', '.join(DEVICES)})")
    if name == "cpu" or (name == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        build = f"torch {torch.__version__}" + ("" if torch.version.cuda else ", a CPU-only build")
        raise ConfigError(f"--device cuda: no CUDA GPU is available ({build}); use --device cpu or auto")
    return torch.device("cuda")
