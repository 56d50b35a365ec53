"""The reader opens the sample and both real layouts into typed samples."""

import numpy as np
import pytest

from vtonlib.data import VitonDataset
from vtonlib.fileio import DataError


def test_reads_a_sample_person_with_every_annotation(sample_root):
    ds = VitonDataset(sample_root, "test")
    p = ds.person(ds.ids[0])
    h, w = p.size
    assert p.image.dtype == np.uint8 and p.image.shape == (h, w, 3)
    for arr in (p.parse, p.densepose, p.parse_agnostic):
        assert arr.shape == (h, w) and arr.dtype == np.uint8
    assert p.agnostic.shape == (h, w, 3) and p.agnostic_mask.dtype == bool
    assert p.keypoints.body.shape == (25, 3) and p.keypoints.hand_left.shape == (21, 3)
    cloth = ds.cloth(ds.pairs(unpaired=True)[0][1])
    assert cloth.image.shape == (h, w, 3) and cloth.mask.dtype == bool and 0.1 < cloth.mask.mean() < 0.9
    assert ds.has_truth and ds.read_truth("hand-mask", p.id).dtype == bool


def test_reads_the_hr_viton_layout(shared_data):
    ds = VitonDataset(shared_data / "viton-hd-hr", "test")
    assert ds.ids == ["00006_00"]
    assert ds.pairs(unpaired=True) == [("00006_00", "00006_00"), ("00006_00", "06396_00")]
    p = ds.person("00006_00")
    assert p.size == (1024, 768)
    assert p.agnostic_mask is None  # absent folder: None, not an error
    assert set(np.unique(p.parse)) >= {0, 5, 14, 15}
    assert p.keypoints.hand_right[:, 2].mean() > 0.5  # the visible right hand
    assert (p.densepose == 3).sum() > 1000


def test_reads_the_original_viton_hd_layout(shared_data):
    ds = VitonDataset(shared_data / "viton-hd-original")  # one split only: found by itself
    assert ds.split == "test" and len(ds) == 3
    assert ds.folder("parse").name == "image-parse" and ds.folder("openpose_json").name == "openpose-json"
    p = ds.person("00891_00")
    assert p.parse is not None and p.keypoints is not None and p.densepose is None
    assert (p.keypoints.hand_right == 0).all()  # the hand out of frame: all zeros
    cloth_id = dict(ds.pairs(unpaired=True))["00891_00"]
    assert ds.cloth(cloth_id).mask.any()


def test_clear_errors_for_wrong_roots(sample_root, tmp_path):
    with pytest.raises(DataError, match="split folder itself"):
        VitonDataset(sample_root / "test", "test")
    with pytest.raises(DataError, match="choose a split"):
        VitonDataset(sample_root)
    with pytest.raises(DataError, match="no image/ folder"):
        VitonDataset(tmp_path, "test")
