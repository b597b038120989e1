"""Numeric precision of the forward pass: float32, or bfloat16 autocast where the hardware has it natively.

``precision`` is one of ``"fp32"``, ``"bf16"`` or ``"auto"``:
- ``fp32``: plain float32 everywhere;
- ``bf16``: the forward pass runs under ``torch.autocast(dtype=torch.bfloat16)`` (the operations on
  torch's autocast list, convolutions and matrix products among them, in bfloat16); the loss is
  always computed in float32 from the outputs cast back (``MSANetOutput.float()``);
- ``auto``: ``bf16`` where the device computes bfloat16 natively (a CPU with the ``avx512_bf16``
  or ``amx_bf16`` instructions, a CUDA GPU that reports bf16 support), else ``fp32``. Emulated
  bfloat16 (plain AVX-512 or AVX2) is slower than float32, so ``auto`` never picks it.

``benchmarks/bench_complexity.py`` (``results/complexity_*.md``) times both settings side by side and
checks the numerics against float32; ``tests/test_precision.py`` checks them on a tiny model.
"""

from __future__ import annotations

import contextlib
from functools import cache

import torch

PRECISIONS = ("auto", "fp32", "bf16")


@cache
def cpu_has_native_bf16() -> bool:
    """True when /proc/cpuinfo lists ``avx512_bf16`` or ``amx_bf16`` (Linux; False elsewhere)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"avx512_bf16", "amx_bf16"})
    except OSError:
        pass
    return False


def resolve_precision(precision: str, device: torch.device) -> str:
    """``"auto"`` -> ``"bf16"`` or ``"fp32"`` for ``device``; other values are checked and returned."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision={precision!r} must be one of {', '.join(PRECISIONS)}")
    if precision != "auto":
        return precision
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return "bf16" if device.type == "cpu" and cpu_has_native_bf16() else "fp32"


def autocast(precision: str, device: torch.device) -> contextlib.AbstractContextManager:
    """Context manager for the forward pass: bfloat16 autocast for ``"bf16"``, nothing for ``"fp32"``."""
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    if precision == "fp32":
        return contextlib.nullcontext()
    raise ValueError(f"precision={precision!r} must be resolved to 'fp32' or 'bf16' first")
