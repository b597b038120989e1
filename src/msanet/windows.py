"""Heatmaps of an image of any size from windows of the training size.

The network is fully convolutional, but M-GCA pools global context (the mean over the whole input) and the
model only ever saw ``height x width`` training windows: run on a larger, zero-padded whole-scan image its
peaks drop (e.g. 0.5 -> 0.35 on synthetic cervical scans padded from 128 to 192 rows). So the whole-extent
image is covered by training-size windows placed every quarter window height (superior-inferior) and
every half window width (anterior-posterior), each run on its own, and every output pixel keeps the
highest value of the windows that cover it. A quarter along the spine: the model's confidence depends on
where the discs sit in its window (training centres the scan, give or take the augmentation's shifts),
so some window must fall near that placement (with half-window steps the peaks stayed ~20 % low). An image smaller than a window is
zero-padded to it (centred, by whole output pixels), as the field-of-view crops of training are.

``[H, W]`` image, window ``(h, w)`` and every start are multiples of the output stride, so each window's
heatmap lands on the whole image's output grid exactly.
"""

from __future__ import annotations

import numpy as np
import torch


def window_starts(length: int, window: int, step: int) -> list[int]:
    """Starts of windows of ``window`` pixels every ``step`` pixels covering ``0..length``; the last one ends at ``length``.

    ``length <= window`` -> ``[0]`` (one window, padded). Raises ValueError for non-positive sizes.
    """
    if length < 1 or window < 1 or step < 1:
        raise ValueError(f"length={length}, window={window} and step={step} must be >= 1")
    if length <= window:
        return [0]
    starts = list(range(0, length - window + 1, step))
    if starts[-1] != length - window:
        starts.append(length - window)
    return starts


@torch.no_grad()
def windowed_heatmaps(model: torch.nn.Module, image: np.ndarray, window: tuple[int, int], stride: int, batch_size: int = 16) -> np.ndarray:
    """Heatmaps ``[V, H/stride, W/stride]`` of ``image`` [H, W] from ``window``-sized model runs (max where they overlap).

    ``model(x [1, 1, h, w]).heatmaps`` -> ``[1, V, h/stride, w/stride]``. H, W and the window sizes must be
    multiples of ``stride``; a window size must also suit the model (multiple of its ``size_unit``). Windows
    run ``batch_size`` at a time; the model must be in eval mode (BatchNorm running statistics), so that
    a window's heatmap does not depend on the others of its batch.
    """
    height, width = image.shape
    win_h, win_w = window
    for name, size in (("image height", height), ("image width", width), ("window height", win_h), ("window width", win_w)):
        if size % stride:
            raise ValueError(f"{name} {size} must be a multiple of the stride {stride}")
    pad_r = max(0, win_h - height) // 2 // stride * stride  # centred padding, whole output pixels
    pad_c = max(0, win_w - width) // 2 // stride * stride
    canvas = np.zeros((max(height, win_h), max(width, win_w)), dtype=np.float32)
    canvas[pad_r : pad_r + height, pad_c : pad_c + width] = image
    device = next(model.parameters()).device
    starts = [(r, c) for r in window_starts(canvas.shape[0], win_h, win_h // 4 // stride * stride or stride)
              for c in window_starts(canvas.shape[1], win_w, win_w // 2 // stride * stride or stride)]
    out = None  # [V, canvas_h/stride, canvas_w/stride]
    for first in range(0, len(starts), batch_size):
        chunk = starts[first : first + batch_size]
        x = torch.from_numpy(np.stack([canvas[r : r + win_h, c : c + win_w] for r, c in chunk]))[:, None].to(device)  # [n, 1, h, w]
        heats = model(x).heatmaps.float().cpu().numpy()  # [n, V, h/stride, w/stride] (eval mode: windows are independent)
        if out is None:
            out = np.full((heats.shape[1], canvas.shape[0] // stride, canvas.shape[1] // stride), -np.inf, dtype=np.float32)
        for (r, c), heat in zip(chunk, heats):
            view = out[:, r // stride : (r + win_h) // stride, c // stride : (c + win_w) // stride]
            np.maximum(view, heat, out=view)
    return out[:, pad_r // stride : (pad_r + height) // stride, pad_c // stride : (pad_c + width) // stride]
