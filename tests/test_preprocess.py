import numpy as np
import pytest
from conftest import REAL_T1W, canonical_affine, canonical_phantom, label_array, save_canonical

from msanet import io
from msanet.dataset import Item, load_sample
from msanet.preprocess import PreprocessConfig, find_midsagittal_x, labels_to_pixels, normalise_intensity, preprocess_volume

CFG = PreprocessConfig(pixel_mm=0.5, height=64, width=64, slab_mm=1.0)


@pytest.mark.parametrize("axcodes", ["RPI", "LAS", "PSR", "ASR", "SLA"])
@pytest.mark.parametrize("spacing", [(1.0, 1.0, 1.0), (1.0, 0.8, 1.2)])
def test_label_voxel_to_pixel_and_back_is_exact(tmp_path, axcodes, spacing):
    data, labels = canonical_phantom(shape=(9, 40, 30))
    aff = canonical_affine(spacing)
    save_canonical(data, aff, tmp_path / "img.nii.gz", axcodes)
    save_canonical(label_array(data.shape, labels), aff, tmp_path / "lab.nii.gz", axcodes, dtype=np.float32)
    vol = io.load_image(tmp_path / "img.nii.gz")
    sag = preprocess_volume(vol, CFG)
    assert sag.centre_x == 4  # symmetric phantom: centre slice found from the image
    canon = io.read_disc_labels(tmp_path / "lab.nii.gz", vol)
    for value, rc in labels_to_pixels(sag, canon).items():
        back = sag.pixel_to_voxel(rc)
        assert np.allclose(back, canon[value], atol=1e-9)
        original = np.rint(vol.to_original_voxel(back)).astype(int)
        file_labels = np.asarray(__import__("nibabel").load(tmp_path / "lab.nii.gz").dataobj)
        assert int(round(float(file_labels[tuple(original)]))) == value


def test_resampled_point_lands_on_expected_pixel(tmp_path):
    data = np.zeros((3, 20, 16), np.float32)
    data[:, 5, 7] = 100.0
    data[:, 0, 0] = 1.0  # keep the image non-constant around the spot
    save_canonical(data, canonical_affine((1.0, 2.0, 2.0)), tmp_path / "img.nii.gz", "RPI")
    vol = io.load_image(tmp_path / "img.nii.gz")
    sag = preprocess_volume(vol, PreprocessConfig(pixel_mm=1.0, height=48, width=40, slab_mm=3.0))
    expected = sag.voxel_to_pixel(np.array([1.0, 5.0, 7.0]))
    peak = np.unravel_index(np.argmax(sag.image), sag.image.shape)
    assert np.allclose(peak, expected, atol=1.0)
    assert sag.image.shape == (48, 40) and 0 <= sag.image.min() and sag.image.max() <= 1


@pytest.mark.parametrize("offset", [-2, 0, 3])
def test_midsagittal_found_from_image_not_assumed(tmp_path, offset):
    data, _ = canonical_phantom(shape=(21, 30, 24))
    data = np.roll(data, offset, axis=0)
    save_canonical(data, canonical_affine(), tmp_path / "img.nii.gz", "LPI")
    assert find_midsagittal_x(io.load_image(tmp_path / "img.nii.gz")) == 10 + offset


def test_constant_slab_is_an_error():
    from msanet.errors import ImageError
    with pytest.raises(ImageError, match="constant"):
        normalise_intensity(np.full((5, 5), 7.0), 0.5, 99.5)


def test_config_validation():
    with pytest.raises(ValueError, match="pixel_mm"):
        PreprocessConfig(pixel_mm=0)
    with pytest.raises(ValueError, match="unknown preprocessing keys"):
        PreprocessConfig.from_dict({"pixel_mm": 1.0, "bogus": 1})


def test_cache_means_no_nifti_work_the_second_time(tmp_path, monkeypatch):
    data, labels = canonical_phantom()
    save_canonical(data, canonical_affine(), tmp_path / "img.nii.gz", "RPI")
    save_canonical(label_array(data.shape, labels), canonical_affine(), tmp_path / "lab.nii.gz", "RPI", dtype=np.float32)
    item = Item("sub-x", "T2w", tmp_path / "img.nii.gz", tmp_path / "lab.nii.gz")
    first = load_sample(item, CFG, cache_dir=tmp_path / "cache")
    import msanet.dataset as ds

    def no_nifti(*a, **k):
        raise AssertionError("NIfTI read on a cache hit")

    monkeypatch.setattr(ds, "load_image", no_nifti)
    second = load_sample(item, CFG, cache_dir=tmp_path / "cache")
    assert np.array_equal(first.image, second.image)
    assert first.points.keys() == second.points.keys()
    for v in first.points:
        assert np.array_equal(first.points[v], second.points[v])


@pytest.mark.skipif(not REAL_T1W.exists(), reason="needs ../shared/data/real")
def test_real_scan_preprocesses_with_centre_near_middle():
    vol = io.load_image(REAL_T1W)
    sag = preprocess_volume(vol, PreprocessConfig())
    assert abs(sag.centre_x - (vol.shape[0] - 1) / 2) <= 4
    assert sag.image.shape == (256, 192) and np.isfinite(sag.image).all()
