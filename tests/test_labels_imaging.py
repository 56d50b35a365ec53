"""Label tables against the real files, and the one conversion module."""

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from vtonlib import imaging
from vtonlib.data import labels as L
from vtonlib.fileio import DataError


def test_densepose_palette_is_opencv_parula():
    values = (np.arange(25) * 255.0 / 24).astype(np.uint8)
    parula = cv2.applyColorMap(values[None, :], cv2.COLORMAP_PARULA)[0][:, ::-1]
    np.testing.assert_array_equal(L.DENSEPOSE_PALETTE[1:], parula[1:])
    assert (L.DENSEPOSE_PALETTE[0] == 0).all()


def test_densepose_decoding_round_trip_exact_and_through_jpeg(tmp_path):
    parts = np.repeat(np.repeat(np.arange(25, dtype=np.uint8).reshape(5, 5), 16, 0), 16, 1)
    rgb = L.render_densepose(parts)
    np.testing.assert_array_equal(L.decode_densepose(rgb), parts)
    imaging.write_image(tmp_path / "dp.jpg", rgb)
    decoded = L.decode_densepose(imaging.read_image(tmp_path / "dp.jpg"))
    interior = np.zeros(parts.shape, bool)
    for i in range(5):
        for j in range(5):
            interior[i * 16 + 3: i * 16 + 13, j * 16 + 3: j * 16 + 13] = True
    assert (decoded == parts)[interior].all()  # JPEG blurs colours only near part borders
    assert (decoded == parts).mean() > 0.85


def test_real_densepose_decodes_to_hands_on_the_right_sides(shared_data):
    dp = L.decode_densepose(imaging.read_image(shared_data / "viton-hd-hr/test/image-densepose/00006_00.jpg"))
    right, left = np.nonzero(dp == L.RIGHT_HAND_PART)[1], np.nonzero(dp == L.LEFT_HAND_PART)[1]
    assert len(right) > 1000
    assert right.mean() < dp.shape[1] / 2  # the person's right hand is on the image's left
    assert len(left) == 0 or left.mean() > dp.shape[1] / 2


def test_parse_palette_and_arm_sides_match_real_files(shared_data):
    im = Image.open(shared_data / "viton-hd-hr/test/image-parse-v3/00006_00.png")
    np.testing.assert_array_equal(np.array(im.getpalette()[:60]).reshape(20, 3), L.LIP_PALETTE)
    parse = np.asarray(im)
    assert np.nonzero(parse == L.RIGHT_ARM)[1].mean() < parse.shape[1] / 2
    assert np.nonzero(parse == L.LEFT_ARM)[1].mean() > parse.shape[1] / 2


def test_group_parse_folds_torso_skin_into_background():
    parse = np.array([[0, 10, 2, 13, 5, 14, 15, 9]], np.uint8)
    np.testing.assert_array_equal(L.group_parse(parse), [[0, 0, 1, 2, 3, 5, 6, 4]])


def test_tensor_round_trip():
    img = np.random.default_rng(0).integers(0, 256, (2, 8, 6, 3), dtype=np.uint8)
    t = imaging.to_tensor(img)
    assert t.shape == (2, 3, 8, 6) and t.dtype == torch.float32
    assert t.min() >= -1 and t.max() <= 1
    np.testing.assert_array_equal(imaging.to_image(t), img)
    mask = np.zeros((8, 6), bool)
    mask[2:4] = True
    m = imaging.mask_to_tensor(mask)
    assert m.shape == (1, 8, 6) and m.sum() == mask.sum()
    np.testing.assert_array_equal(imaging.tensor_to_mask(m), mask)
    with pytest.raises(ValueError, match="uint8"):
        imaging.to_tensor(img.astype(np.float32))


def test_read_errors_name_the_file(tmp_path):
    with pytest.raises(DataError, match="missing.jpg: file not found"):
        imaging.read_image(tmp_path / "missing.jpg")
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not an image")
    with pytest.raises(DataError, match="bad.jpg: not an image"):
        imaging.read_image(bad)
    img = np.random.default_rng(0).integers(0, 256, (64, 48, 3), dtype=np.uint8)
    imaging.write_image(tmp_path / "ok.jpg", img)
    data = (tmp_path / "ok.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="cut.jpg: unreadable or truncated"):
        imaging.read_image(tmp_path / "cut.jpg")


def test_writes_are_atomic_and_lossless_where_it_matters(tmp_path):
    labels = np.random.default_rng(1).integers(0, 20, (32, 24), dtype=np.uint8)
    imaging.write_labels(tmp_path / "p.png", labels, L.LIP_PALETTE)
    np.testing.assert_array_equal(imaging.read_labels(tmp_path / "p.png"), labels)
    # a label map saved as a colour picture is decoded through the palette
    Image.fromarray(L.colorize_parse(labels)).save(tmp_path / "rgb.png")
    np.testing.assert_array_equal(imaging.read_labels(tmp_path / "rgb.png", palette=L.LIP_PALETTE), labels)
    mask = labels > 10
    imaging.write_mask(tmp_path / "m.png", mask)
    np.testing.assert_array_equal(imaging.read_mask(tmp_path / "m.png"), mask)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.png", "p.png", "rgb.png"]  # no temporaries left
    with pytest.raises(ValueError, match=".bmp"):
        imaging.write_mask(tmp_path / "m.bmp", mask)
