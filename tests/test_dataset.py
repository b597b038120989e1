import dataclasses
import json

import numpy as np
import pytest
from conftest import make_bids

from msanet import bids
from msanet.dataset import DiscDataset, items_from_subjects
from msanet.discs import channel_values
from msanet.heatmaps import labelled_region, make_any_heatmap, make_heatmaps
from msanet.preprocess import PreprocessConfig

CFG = PreprocessConfig(pixel_mm=1.0, height=48, width=32, slab_mm=1.0)


@pytest.fixture(scope="module")
def items(tmp_path_factory):
    root = make_bids(tmp_path_factory.mktemp("data") / "bids", subjects=("sub-s01",))
    return items_from_subjects(bids.find_subjects(root, require_labels=True))


@pytest.mark.parametrize("num_discs, any_disc, channels", [(11, False, 11), (11, True, 12), (24, True, 25)])
def test_targets_have_a_trailing_any_disc_channel_when_asked(items, tmp_path, num_discs, any_disc, channels):
    ds = DiscDataset(items, CFG, num_discs=num_discs, stride=4, sigma_mm=4.0, cache_dir=tmp_path, any_disc=any_disc, any_sigma_mm=3.0)
    image, target, weight, known = ds[0]
    assert tuple(image.shape) == (1, 48, 32) and tuple(target.shape) == (channels, 12, 8)
    assert tuple(weight.shape) == (channels, 12, 8) and tuple(known.shape) == (12, 8)
    assert bool((weight == 1).all()) and bool((known == 1).all())  # completely labelled items weigh every pixel
    points = ds.sample(0).points
    assert len(points) == 4  # the phantom's four labelled discs
    named = make_heatmaps(points, channel_values(num_discs), (48, 32), 4, 4.0, 1.0)
    assert np.array_equal(target[:num_discs].numpy(), named)
    if any_disc:
        assert np.array_equal(target[-1].numpy(), make_any_heatmap(points, (48, 32), 4, 3.0, 1.0))


def test_any_sigma_must_be_positive(items):
    with pytest.raises(ValueError, match="any_sigma_mm=0"):
        DiscDataset(items, CFG, any_disc=True, any_sigma_mm=0)


@pytest.mark.parametrize("any_disc", [False, True])
def test_a_partly_labelled_item_leaves_unlabelled_discs_out_of_the_loss(items, tmp_path, any_disc):
    partial = [dataclasses.replace(items[0], partial=True)]
    ds = DiscDataset(partial, CFG, num_discs=11, stride=4, sigma_mm=4.0, cache_dir=tmp_path, any_disc=any_disc, any_sigma_mm=3.0)
    _, target, weight, known = ds[0]
    labelled = sorted(ds.sample(0).points)  # the phantom labels values 3, 4, 5, 6 at rows 8, 16, 24, 32
    values = channel_values(11)
    for channel, value in enumerate(values):  # a labelled value's channel weighs everywhere, another nowhere
        assert bool((weight[channel] == float(value in labelled)).all())
    region = labelled_region(ds.sample(0).points, (48, 32), 4, 1.0)
    assert np.array_equal(known.numpy(), region)
    if any_disc:
        assert np.array_equal(weight[-1].numpy(), region)
    assert 0 < region.sum() < region.size  # the stretch beyond the top and bottom labels is unknown


def test_labels_of_a_synthetic_set_are_complete_and_of_other_sets_not(tmp_path):
    root = make_bids(tmp_path / "real", subjects=("sub-s01",))
    assert not bids.labels_complete(root)
    (root / "dataset_description.json").write_text(json.dumps({"Name": "x", "GeneratedBy": [{"Name": "msanet synth"}]}))
    assert bids.labels_complete(root)
    (root / "dataset_description.json").write_text("{not json")
    assert not bids.labels_complete(root)
