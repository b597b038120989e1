import numpy as np
import pytest
import torch

from msanet.model.msanet import MSANet, MSANetConfig
from msanet.windows import window_starts, windowed_heatmaps


@pytest.mark.parametrize("length, window, step, expected", [
    (128, 128, 64, [0]),
    (64, 128, 64, [0]),  # smaller than a window: one padded window
    (192, 128, 64, [0, 64]),
    (256, 128, 64, [0, 64, 128]),
    (320, 128, 96, [0, 96, 192]),  # the last window ends at the image's end
])
def test_window_starts(length, window, step, expected):
    assert window_starts(length, window, step) == expected


def test_window_starts_rejects_empty_sizes():
    with pytest.raises(ValueError, match="length=0"):
        window_starts(0, 128, 64)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return MSANet(MSANetConfig(width=8, depth=2, embed_dim=8, num_discs=3)).eval()


def test_one_window_is_the_plain_forward_pass(model):
    image = np.random.default_rng(0).random((32, 48)).astype(np.float32)
    with torch.no_grad():
        direct = model(torch.from_numpy(image)[None, None]).heatmaps[0].numpy()
    assert np.allclose(windowed_heatmaps(model, image, (32, 48), 4), direct, atol=1e-6)


def test_overlapping_windows_keep_the_maximum_on_the_whole_grid(model):
    image = np.random.default_rng(1).random((64, 16)).astype(np.float32)
    heat = windowed_heatmaps(model, image, (32, 16), 4)  # windows every quarter window height: rows 0, 8, 16, 24, 32
    assert heat.shape == (3, 16, 4)
    expected = np.full_like(heat, -np.inf)
    with torch.no_grad():
        for r in window_starts(64, 32, 8):
            run = model(torch.from_numpy(image[r : r + 32])[None, None]).heatmaps[0].numpy()
            expected[:, r // 4 : r // 4 + 8] = np.maximum(expected[:, r // 4 : r // 4 + 8], run)
            if r == 0:
                first = run
    assert np.allclose(heat, expected)
    assert np.allclose(heat[:, :2], first[:, :2])  # rows 0-7: the first window alone


def test_small_image_is_padded_to_a_window_and_cropped_back(model):
    image = np.random.default_rng(2).random((16, 16)).astype(np.float32)
    canvas = np.zeros((32, 16), dtype=np.float32)
    canvas[8:24] = image  # centred, whole output pixels
    with torch.no_grad():
        padded = model(torch.from_numpy(canvas)[None, None]).heatmaps[0].numpy()
    assert np.allclose(windowed_heatmaps(model, image, (32, 16), 4), padded[:, 2:6], atol=1e-6)


def test_sizes_off_the_stride_are_refused(model):
    with pytest.raises(ValueError, match="image height 30"):
        windowed_heatmaps(model, np.zeros((30, 16), np.float32), (32, 16), 4)
