import numpy as np
import pytest
from conftest import make_bids

from msanet import bids
from msanet.dataset import DiscDataset, items_from_subjects
from msanet.discs import channel_values
from msanet.heatmaps import make_any_heatmap, make_heatmaps
from msanet.preprocess import PreprocessConfig

CFG = PreprocessConfig(pixel_mm=1.0, height=48, width=32, slab_mm=1.0)


@pytest.fixture(scope="module")
def items(tmp_path_factory):
    root = make_bids(tmp_path_factory.mktemp("data") / "bids", subjects=("sub-s01",))
    return items_from_subjects(bids.find_subjects(root, require_labels=True))


@pytest.mark.parametrize("num_discs, any_disc, channels", [(11, False, 11), (11, True, 12), (24, True, 25)])
def test_targets_have_a_trailing_any_disc_channel_when_asked(items, tmp_path, num_discs, any_disc, channels):
    ds = DiscDataset(items, CFG, num_discs=num_discs, stride=4, sigma_mm=4.0, cache_dir=tmp_path, any_disc=any_disc, any_sigma_mm=3.0)
    image, target = ds[0]
    assert tuple(image.shape) == (1, 48, 32) and tuple(target.shape) == (channels, 12, 8)
    points = ds.sample(0).points
    assert len(points) == 4  # the phantom's four labelled discs
    named = make_heatmaps(points, channel_values(num_discs), (48, 32), 4, 4.0, 1.0)
    assert np.array_equal(target[:num_discs].numpy(), named)
    if any_disc:
        assert np.array_equal(target[-1].numpy(), make_any_heatmap(points, (48, 32), 4, 3.0, 1.0))


def test_any_sigma_must_be_positive(items):
    with pytest.raises(ValueError, match="any_sigma_mm=0"):
        DiscDataset(items, CFG, any_disc=True, any_sigma_mm=0)
