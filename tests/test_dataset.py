import dataclasses
import json

import numpy as np
import torch
import pytest
from conftest import make_bids

from msanet import bids
from msanet.augment import AugmentConfig
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


def test_ignored_values_train_as_background(items, tmp_path):
    kwargs = dict(num_discs=11, stride=4, sigma_mm=4.0, cache_dir=tmp_path, any_disc=True, any_sigma_mm=3.0)
    full, ignoring = DiscDataset(items, CFG, **kwargs), DiscDataset(items, CFG, ignore_values=[3], **kwargs)
    _, target_full, _, _ = full[0]
    _, target, weight, known = ignoring[0]
    assert sorted(ignoring.sample(0).points) == [4, 5, 6]  # the phantom labels 3, 4, 5, 6
    channel = channel_values(11).index(3)
    assert float(target_full[channel].max()) > 0.5 and float(target[channel].max()) == 0.0  # C2-C3 is background now ...
    assert bool((weight == 1).all()) and bool((known == 1).all())  # ... and weighs everywhere, like any other background
    others = [k for k in range(11) if k != channel]
    assert torch.equal(target[others], target_full[others])
    assert float(target[-1].max()) > 0.5 and not torch.equal(target[-1], target_full[-1])  # the any-disc map lost one peak


@pytest.mark.parametrize("bad", [[0], [26], [2.5]])
def test_ignored_values_must_be_sct_values(items, bad):
    with pytest.raises(ValueError, match="ignore_values"):
        DiscDataset(items, CFG, ignore_values=bad)


def test_labels_of_a_synthetic_set_are_complete_and_of_other_sets_not(tmp_path):
    root = make_bids(tmp_path / "real", subjects=("sub-s01",))
    assert not bids.labels_complete(root)
    (root / "dataset_description.json").write_text(json.dumps({"Name": "x", "GeneratedBy": [{"Name": "msanet synth"}]}))
    assert bids.labels_complete(root)
    (root / "dataset_description.json").write_text("{not json")
    assert not bids.labels_complete(root)


SHORT = PreprocessConfig(pixel_mm=1.0, height=16, width=32, slab_mm=1.0)  # a window shorter than the phantom's 40 mm column


def _window_sets(items, tmp_path, augment_cfg):
    kwargs = dict(num_discs=11, stride=4, sigma_mm=4.0, cache_dir=tmp_path, augment_cfg=augment_cfg)
    return DiscDataset(items, SHORT, random_window=True, **kwargs), DiscDataset(items, SHORT, **kwargs)


def test_without_augmentation_the_random_window_is_the_centred_window(items, tmp_path):
    column, centred = _window_sets(items, tmp_path, None)
    assert column.sample(0).image.shape == (40, 32)  # the whole column: 16 + 2 * 12 rows
    for got, want in zip(column[0], centred[0]):
        assert torch.equal(got, want)


def test_random_windows_move_along_the_column_with_their_discs(items, tmp_path):
    column, _ = _window_sets(items, tmp_path, AugmentConfig.none())  # augmenting, but every step off: only the window moves
    tall = column.sample(0)
    tops = set()
    for epoch in range(12):
        column.set_epoch(epoch)
        image, target, _, _ = column[0]
        matches = [t for t in range(tall.image.shape[0] - 15) if np.array_equal(image[0].numpy(), tall.image[t : t + 16])]
        consistent = []  # offsets whose image and discs both match the window
        for top in matches:
            inside = {v: p - np.array([top, 0.0]) for v, p in tall.points.items() if 0 <= p[0] - top <= 15}  # augment keeps these
            if np.array_equal(target.numpy(), make_heatmaps(inside, channel_values(11), (16, 32), 4, 4.0, 1.0)):
                consistent.append(top)
        assert consistent
        tops.add(consistent[0])
    assert len(tops) >= 3  # the window goes to different places in different epochs
