"""The built-in sample: layout, determinism, and annotations that agree with each other and the truth."""

import hashlib
import json

import numpy as np
import pytest

from vtonlib import imaging
from vtonlib.data import VitonDataset, labels as L
from vtonlib.data.pose import read_keypoints
from vtonlib.data.sample import make_garment, make_person, make_sample, parse_size, plan
from vtonlib.data.sample.person import POSES
from vtonlib.data.sample.render import render, sample_bilinear

FOLDERS = ["image", "cloth", "cloth-mask", "image-parse-v3", "image-parse-agnostic-v3.2", "openpose_json",
           "openpose_img", "image-densepose", "agnostic-v3.2", "agnostic-mask", "gt"]


def _digest(root):
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(root)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def test_layout_is_viton_hd(sample_root):
    for split in ("train", "test"):
        assert sorted(p.name for p in (sample_root / split).iterdir()) == sorted(FOLDERS)
    train, test = VitonDataset(sample_root, "train"), VitonDataset(sample_root, "test")
    assert len(train) + len(test) == 14 and len(test) == 4
    i = test.ids[0]
    for rel in (f"image/{i}.jpg", f"cloth-mask/{i}.jpg", f"openpose_json/{i}_keypoints.json",
                f"openpose_img/{i}_rendered.png", f"agnostic-mask/{i}_mask.png", f"image-parse-v3/{i}.png"):
        assert (sample_root / "test" / rel).is_file(), rel
    assert all(p == c for p, c in train.pairs(unpaired=True))  # training pairs are paired
    assert all(p != c for p, c in test.pairs(unpaired=True))  # test pairs are unpaired, as VITON-HD's
    assert imaging.read_image(sample_root / "test" / f"image/{i}.jpg").shape == (256, 192, 3)
    assert json.loads((sample_root / "test" / f"openpose_json/{i}_keypoints.json").read_text())["version"] == 1.3


def test_deterministic_for_a_seed(tmp_path):
    a = make_sample(tmp_path / "a", n=4, seed=3, progress=False)
    b = make_sample(tmp_path / "b", n=4, seed=3, progress=False)
    c = make_sample(tmp_path / "c", n=4, seed=4, progress=False)
    assert _digest(a) == _digest(b)
    assert _digest(a) != _digest(c)


def test_resumes_and_refuses_other_parameters(tmp_path):
    root = make_sample(tmp_path / "s", n=4, seed=0, progress=False)
    victim = root / "train" / "image-parse-v3" / "00001_00.png"
    other = root / "train" / "image" / "00000_00.jpg"
    before, mtime = victim.read_bytes(), other.stat().st_mtime_ns
    victim.unlink()
    manifest = json.loads((root / "sample.json").read_text())
    manifest["complete"] = False  # as if interrupted
    (root / "sample.json").write_text(json.dumps(manifest))
    make_sample(root, n=4, seed=0, progress=False)
    assert victim.read_bytes() == before  # redrawn identically
    assert other.stat().st_mtime_ns == mtime  # finished samples untouched
    with pytest.raises(ValueError, match="made with"):
        make_sample(root, n=5, seed=0, progress=False)


def test_sizes():
    assert parse_size("512x384") == (512, 384)
    for bad in ("256x190", "250x192", "256", "192x256"):
        with pytest.raises(ValueError):
            parse_size(bad)


def test_same_person_at_twice_the_size_has_scaled_keypoints(tmp_path):
    small = make_sample(tmp_path / "s", n=2, size=(256, 192), progress=False)
    large = make_sample(tmp_path / "l", n=2, size=(512, 384), progress=False)
    a = read_keypoints(small / "train/openpose_json/00000_00_keypoints.json")
    b = read_keypoints(large / "train/openpose_json/00000_00_keypoints.json")
    present = (a.body[:, 2] > 0) & (b.body[:, 2] > 0)
    np.testing.assert_allclose(b.body[present, :2], a.body[present, :2] * 2, atol=1.0)


def test_arm_poses_cover_every_case(sample_root):
    poses = set()
    for split in ("train", "test"):
        ds = VitonDataset(sample_root, split)
        for i in ds.ids:
            poses |= set(ds.read_truth("meta", i)["poses"].values())
    assert poses == set(POSES)


@pytest.mark.parametrize("split", ["train", "test"])
def test_annotations_agree_on_the_written_files(sample_root, split):
    ds = VitonDataset(sample_root, split)
    for i in ds.ids:
        person = ds.person(i)
        hands = ds.read_truth("hand-mask", i)
        meta = ds.read_truth("meta", i)
        # hand pixels carry the arm labels of VITON-HD (there is no hand label)
        assert np.isin(person.parse[hands], L.ARMS).all(), i
        # the garment mask is exactly the parse's upper-clothes label
        np.testing.assert_array_equal(ds.read_truth("cloth-warp-mask", i), person.parse == 5)
        # DensePose hand parts are the hand pixels, up to JPEG blur at part borders
        assert (np.isin(person.densepose, L.HAND_PARTS) == hands).mean() > 0.99, i
        for side in ("left", "right"):
            points = person.keypoints.hand(side)
            true = meta["hands"][side]
            visible = np.array(true["visible"])
            found = points[:, 2] > 0
            np.testing.assert_array_equal(found, visible)  # hidden and out-of-frame points: confidence 0
            assert (points[~found] == 0).all()  # ... written (0, 0, 0) as OpenPose does
            cols, rows = np.rint(points[found, :2]).T.astype(int)
            assert hands[rows, cols].all(), i  # every visible point lies on the hand
            np.testing.assert_allclose(points[found, :2], np.array(true["points"])[found], atol=1e-2)
            if found.any() and not found.all():  # a partly hidden hand gets lower confidences
                assert points[found, 2].max() <= 0.5


def test_hands_are_big_enough_to_matter(sample_root):
    spans = []
    for split in ("train", "test"):
        ds = VitonDataset(sample_root, split)
        for i in ds.ids:
            for h in ds.read_truth("meta", i)["hands"].values():
                p = np.array(h["points"])
                spans.append(np.hypot(*(p.max(0) - p.min(0))))
    assert 15 <= np.median(spans) <= 30 and min(spans) >= 8 and max(spans) <= 36


def test_worn_garment_is_the_flat_garment_sampled_through_the_true_flow():
    specs = plan(14, 0, 0.25)
    for spec in specs[:6]:
        person, garment = make_person(0, spec, (256, 192)), make_garment(0, spec, (256, 192))
        r = render(person, garment)
        m = r.garment_mask
        assert m.sum() > 1000
        flow = r.flow[m]
        assert not np.isnan(flow).any() and np.isnan(r.flow[~m]).all()
        expected = np.rint(sample_bilinear(garment.image, flow[:, 0], flow[:, 1])).astype(np.uint8)
        np.testing.assert_array_equal(r.image[m], expected)  # exact, before JPEG
        # and the garment is non-rigid: the flow is not one affine map
        ys, xs = np.nonzero(m)
        design = np.stack([xs, ys, np.ones_like(xs)], 1).astype(float)
        coef, *_ = np.linalg.lstsq(design, flow, rcond=None)
        assert np.abs(design @ coef - flow).max() > 3


def test_files_match_the_truth_within_jpeg_noise(sample_root):
    ds = VitonDataset(sample_root, "test")
    for i in ds.ids:
        flow = ds.read_truth("cloth-flow", i)
        valid = ~np.isnan(flow[..., 0])
        warped = sample_bilinear(ds.cloth(i).image, flow[valid, 0], flow[valid, 1])
        assert np.abs(warped - ds.read_image(i)[valid]).mean() < 8
        # the unpaired truth wears the partner's garment
        partner = ds.read_truth("meta", i)["unpaired_cloth"]
        uflow = ds.read_truth("unpaired-cloth-flow", i)
        uvalid = ~np.isnan(uflow[..., 0])
        uwarped = sample_bilinear(ds.cloth(partner).image, uflow[uvalid, 0], uflow[uvalid, 1])
        assert np.abs(uwarped - ds.read_truth("unpaired-image", i)[uvalid]).mean() < 8
        assert (ds.pairs(unpaired=True)[ds.ids.index(i)]) == (i, partner)


def test_agnostic_representations(sample_root):
    ds = VitonDataset(sample_root, "test")
    for i in ds.ids:
        p = ds.person(i)
        assert not np.isin(p.parse_agnostic, (5, 10)).any()  # no garment, no torso skin left
        garment = p.parse == 5
        assert p.agnostic_mask[garment].mean() > 0.9  # the repaint region covers the garment
        assert not p.agnostic_mask[np.isin(p.parse, (13, 9, 12))].any()  # face and lower body kept
        grey = (p.agnostic.astype(int) - 128).__abs__().max(-1) <= 8
        assert grey[p.agnostic_mask].mean() > 0.95


def test_a_sample_from_an_older_generator_is_redrawn(tmp_path):
    root = make_sample(tmp_path / "s", n=2, seed=0, progress=False)
    manifest = json.loads((root / "sample.json").read_text())
    manifest["params"]["generator_version"] = 0
    (root / "sample.json").write_text(json.dumps(manifest))
    (root / "train" / "stale.txt").write_text("left by the old version")
    make_sample(root, n=2, seed=0, progress=False)
    assert not (root / "train" / "stale.txt").exists()
    assert json.loads((root / "sample.json").read_text())["complete"]
