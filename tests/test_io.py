import nibabel as nib
import numpy as np
import pytest
from conftest import canonical_affine, canonical_phantom, label_array, save_canonical

from msanet import io
from msanet.errors import ImageError, InputNotFoundError, LabelError, ResourceError

ORIENTATIONS = ["RPI", "RAS", "LPI", "PSR", "ASR", "LAS", "SLA", "IRP"]  # nibabel 'points to' codes
SPACINGS = [(1.0, 1.0, 1.0), (0.8, 0.8, 0.8), (3.0, 0.5, 0.5), (1.0, 1.0, 1.5)]


@pytest.mark.parametrize("axcodes", ORIENTATIONS)
@pytest.mark.parametrize("spacing", SPACINGS)
def test_canonical_view_and_exact_maps(tmp_path, axcodes, spacing):
    data, _ = canonical_phantom(shape=(5, 7, 6))
    aff = canonical_affine(spacing, origin=(-3.0, 12.0, 40.0))
    img = save_canonical(data, aff, tmp_path / "img.nii.gz", axcodes)
    vol = io.load_image(tmp_path / "img.nii.gz")
    assert vol.original_axcodes == tuple(axcodes)
    assert vol.shape == (5, 7, 6)
    assert np.allclose(vol.spacing_mm, spacing)
    assert np.allclose(vol.affine, aff)  # canonical affine is the one we built with
    assert np.array_equal(vol.data, data.astype(np.int16).astype(np.float32))
    ijk = np.argwhere(np.ones(vol.shape)).astype(float)
    orig = vol.to_original_voxel(ijk)
    assert np.array_equal(vol.from_original_voxel(orig), ijk)
    world_from_file = orig @ img.affine[:3, :3].T + img.affine[:3, 3]
    assert np.allclose(vol.to_world_mm(ijk), world_from_file)
    assert np.allclose(vol.from_world_mm(vol.to_world_mm(ijk)), ijk)
    assert np.array_equal(vol.read(slice(1, 4), slice(0, 7, 3), slice(2, None)), vol.data[1:4, 0:7:3, 2:])


@pytest.mark.parametrize("axcodes", ORIENTATIONS[:5])
def test_label_round_trip_keeps_grid_and_header(tmp_path, axcodes):
    data, labels = canonical_phantom()
    aff = canonical_affine((1.0, 0.8, 0.8))
    save_canonical(data, aff, tmp_path / "img.nii.gz", axcodes)
    save_canonical(label_array(data.shape, labels), aff, tmp_path / "lab.nii.gz", axcodes, dtype=np.float32)
    vol = io.load_image(tmp_path / "img.nii.gz")
    read = io.read_disc_labels(tmp_path / "lab.nii.gz", vol)
    assert list(read) == sorted(labels)
    for value in labels:
        assert np.array_equal(read[value], labels[value])
    io.write_disc_labels(tmp_path / "out.nii.gz", vol, read)
    written = nib.load(tmp_path / "out.nii.gz")
    source = nib.load(tmp_path / "img.nii.gz")
    assert written.shape == source.shape and np.allclose(written.affine, source.affine)
    assert int(written.header["qform_code"]) == int(source.header["qform_code"]) and int(written.header["sform_code"]) == int(source.header["sform_code"])
    assert np.allclose(written.header.get_zooms(), source.header.get_zooms())
    assert np.array_equal(np.asarray(written.dataobj), np.asarray(nib.load(tmp_path / "lab.nii.gz").dataobj).astype(np.uint8))
    assert io.read_disc_labels(tmp_path / "out.nii.gz", vol).keys() == read.keys()


def test_float_noise_label_values_are_rounded(tmp_path):
    data, labels = canonical_phantom()
    aff = canonical_affine()
    save_canonical(data, aff, tmp_path / "img.nii.gz", "RPI")
    noisy = label_array(data.shape, labels)
    noisy[noisy == 3] = 3.0000457
    noisy[noisy == 6] = 5.9999999
    save_canonical(noisy, aff, tmp_path / "lab.nii.gz", "RPI", dtype=np.float32)
    assert sorted(io.read_disc_labels(tmp_path / "lab.nii.gz", io.load_image(tmp_path / "img.nii.gz"))) == [3, 4, 5, 6]


def _write(path, array, aff=None):
    if isinstance(aff, str) and aff == "zero-pixdim":  # a header with pixdim 0 and no q/sform
        img = nib.Nifti1Image(array, None)
        img.header["pixdim"][1] = 0.0
        img.header["qform_code"] = img.header["sform_code"] = 0
    else:
        img = nib.Nifti1Image(array, np.eye(4) if aff is None else aff)
    nib.save(img, str(path))
    return path


@pytest.mark.parametrize(
    "array, aff, error, message",
    [
        (np.ones((4, 5), np.float32), None, ImageError, "expected a 3D image, found 2D"),
        (np.random.rand(4, 5, 6, 2).astype(np.float32), None, ImageError, "found 4D"),
        (np.ones((4, 0, 6), np.float32), None, ImageError, "zero-size"),
        (np.ones((4, 5, 6), np.float32), "zero-pixdim", ImageError, "singular|absurd"),
        (np.ones((4, 5, 6), np.float32), np.diag([1e6, 1, 1, 1]), ImageError, "absurd voxel spacing"),
    ],
)
def test_bad_images_raise_clear_errors(tmp_path, array, aff, error, message):
    path = _write(tmp_path / "bad.nii.gz", array, aff)
    with pytest.raises(error, match=message) as info:
        io.load_image(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_4d_with_one_volume_is_accepted(tmp_path):
    path = _write(tmp_path / "a.nii.gz", np.random.rand(4, 5, 6, 1).astype(np.float32))
    assert io.load_image(path).shape == (4, 6, 5)  # RAS file -> (R, I, P)


def test_nan_voxels_raise_on_read(tmp_path):
    array = np.random.rand(4, 5, 6).astype(np.float32)
    array[1, 2, 3] = np.nan
    vol = io.load_image(_write(tmp_path / "nan.nii.gz", array))
    with pytest.raises(ImageError, match="NaN"):
        vol.read()


def test_missing_and_non_nifti(tmp_path):
    with pytest.raises(InputNotFoundError, match="no such file"):
        io.load_image(tmp_path / "nope.nii.gz")
    (tmp_path / "x.nii.gz").write_text("not an image")
    with pytest.raises(ImageError, match="not a readable NIfTI"):
        io.load_image(tmp_path / "x.nii.gz")


def test_truncated_gzip_raises_on_read(tmp_path):
    path = _write(tmp_path / "t.nii.gz", np.random.rand(20, 20, 20).astype(np.float32))
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ImageError, match="truncated|corrupt|not a readable"):
        io.load_image(path).read()


def test_voxel_limit(tmp_path):
    path = _write(tmp_path / "big.nii.gz", np.zeros((10, 10, 10), np.float32))
    with pytest.raises(ResourceError, match="1000 voxels exceeds the limit of 999"):
        io.load_image(path, max_voxels=999)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda lab: lab * 0, "no disc labels"),
        (lambda lab: np.where(lab == 3, 30, lab), "30 .* outside the SCT vocabulary"),
        (lambda lab: np.where(np.roll(lab == 4, 1, axis=1), 4, lab), "value 4 .* more than one voxel"),
    ],
)
def test_bad_label_files(tmp_path, edit, message):
    data, labels = canonical_phantom()
    aff = canonical_affine()
    save_canonical(data, aff, tmp_path / "img.nii.gz", "RPI")
    save_canonical(edit(label_array(data.shape, labels)), aff, tmp_path / "lab.nii.gz", "RPI", dtype=np.float32)
    with pytest.raises(LabelError, match=message):
        io.read_disc_labels(tmp_path / "lab.nii.gz", io.load_image(tmp_path / "img.nii.gz"))


def test_label_grid_must_match_image(tmp_path):
    data, labels = canonical_phantom()
    save_canonical(data, canonical_affine(), tmp_path / "img.nii.gz", "RPI")
    save_canonical(label_array(data.shape, labels), canonical_affine((1, 1, 2.0)), tmp_path / "lab.nii.gz", "RPI", dtype=np.float32)
    with pytest.raises(LabelError, match="differs from its image"):
        io.read_disc_labels(tmp_path / "lab.nii.gz", io.load_image(tmp_path / "img.nii.gz"))


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

AXCODES = ["".join(p) for p in [("R", "A", "S"), ("L", "P", "I"), ("P", "S", "R"), ("A", "S", "R"), ("S", "L", "A"), ("I", "R", "P"), ("L", "A", "S"), ("R", "P", "I")]]


@settings(max_examples=30, deadline=None)
@given(
    axcodes=st.sampled_from(AXCODES),
    spacing=st.tuples(*[st.floats(0.3, 4.0)] * 3),
    shape=st.tuples(*[st.integers(2, 9)] * 3),
    picks=st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1), st.floats(0, 1)), min_size=1, max_size=6),
    origin=st.tuples(*[st.floats(-200, 200)] * 3),
)
def test_property_label_round_trip_any_orientation_and_spacing(tmp_path_factory, axcodes, spacing, shape, picks, origin):
    """Random grids: canonical <-> original <-> world maps are inverse, and labels survive write -> read exactly."""
    d = tmp_path_factory.mktemp("prop")
    data = np.random.default_rng(0).random(shape).astype(np.float32) + 1
    aff = canonical_affine(spacing, origin)
    save_canonical(data, aff, d / "img.nii.gz", axcodes, dtype=np.float32)
    vol = io.load_image(d / "img.nii.gz")
    ijk = np.array([[round(p[i] * (shape[i] - 1)) for i in range(3)] for p in picks], dtype=float)
    assert np.allclose(vol.from_original_voxel(vol.to_original_voxel(ijk)), ijk)
    assert np.allclose(vol.from_world_mm(vol.to_world_mm(ijk)), ijk, atol=1e-6)
    labels = {}
    for value, point in zip(range(2, 2 + len(ijk)), ijk):
        if not any(np.array_equal(point, q) for q in labels.values()):
            labels[value] = point
    io.write_disc_labels(d / "lab.nii.gz", vol, labels)
    back = io.read_disc_labels(d / "lab.nii.gz", vol)
    assert back.keys() == labels.keys()
    for value in labels:
        assert np.array_equal(back[value], labels[value])
