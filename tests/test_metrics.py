"""Metrics on known inputs, FID/KID maths with known answers, graceful absence of weights, the report."""

import numpy as np
import pytest
import torch

from vtonlib import imaging
from vtonlib.metrics import Inception, Lpips, fid_from_features, kid_from_features, psnr, ssim
from vtonlib.metrics.hands import changes_outside, match_detections, summarise_matches
from vtonlib.metrics.perceptual import ALEXNET_FILE


def picture(seed=0, shape=(64, 48)):
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, (shape[0] // 8, shape[1] // 8, 3), dtype=np.uint8)
    return np.kron(base, np.ones((8, 8, 1), np.uint8))  # blocks: structure for SSIM to see


def test_ssim_and_psnr_on_known_inputs():
    a = picture()
    assert ssim(a, a) == pytest.approx(1.0) and psnr(a, a) == 100.0
    shifted = np.roll(a, 3, axis=1)
    assert ssim(a, shifted) < 0.9
    noisy = np.clip(a.astype(int) + 10, 0, 255).astype(np.uint8)  # a constant offset of 10 (no clipping below)
    expected = 10 * np.log10(255 ** 2 / np.mean((noisy.astype(float) - a) ** 2))
    assert psnr(noisy, a) == pytest.approx(expected, abs=1e-3)
    assert ssim(a[:5, :5], a[:5, :5]) == pytest.approx(1.0, abs=1e-3)  # smaller than the window: still defined
    with pytest.raises(ValueError, match="differ in size"):
        ssim(a, a[:32])


def test_fid_matches_the_closed_form_and_is_zero_for_identical_sets():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4000, 3))
    assert fid_from_features(a, a) == pytest.approx(0.0, abs=1e-6)
    # Gaussians N(0, I) and N(m, diag(4)): FID = |m|^2 + sum (1 + 4 - 2 * 2) = |m|^2 + 3
    m = np.array([1.0, -2.0, 0.5])
    b = rng.normal(size=(4000, 3)) * 2 + m
    assert fid_from_features(a, b) == pytest.approx((m ** 2).sum() + 3, rel=0.08)


def test_kid_is_unbiased_mmd():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(300, 4)), rng.normal(size=(300, 4))
    same, _ = kid_from_features(a, b, subsets=20, subset_size=200)
    assert abs(same) < 0.01
    far, _ = kid_from_features(a, b + 2, subsets=20, subset_size=200)
    assert far > 0.5
    x, y = a[:5], b[:5]  # the formula, once more by hand on a tiny set
    k = lambda u, v: (u @ v / 4 + 1) ** 3  # noqa: E731
    expected = (sum(k(x[i], x[j]) for i in range(5) for j in range(5) if i != j) / 20
                + sum(k(y[i], y[j]) for i in range(5) for j in range(5) if i != j) / 20
                - 2 * sum(k(x[i], y[j]) for i in range(5) for j in range(5)) / 25)
    assert kid_from_features(x, y, subsets=1, subset_size=5)[0] == pytest.approx(expected)


def test_missing_weights_are_reported_not_fatal(tmp_path):
    lp = Lpips(tmp_path / "none.pth")
    assert not lp.available and "not computed" in lp.reason and "none.pth" in lp.reason
    inc = Inception(tmp_path / "none.pth")
    assert not inc.available and "weights-inception" in inc.reason
    with pytest.raises(RuntimeError, match="not computed"):
        lp.distance(picture(), picture())


def test_lpips_from_a_local_trunk_file(tmp_path):
    torchvision = pytest.importorskip("torchvision")
    torch.manual_seed(0)
    path = tmp_path / ALEXNET_FILE  # a randomly initialised AlexNet stands in for the ImageNet weights
    torch.save(torchvision.models.alexnet().state_dict(), path)
    lp = Lpips(path)
    a = picture(shape=(64, 64))
    assert lp.available and lp.distance(a, a) == pytest.approx(0.0, abs=1e-6)
    assert lp.distance(a, np.roll(a, 8, axis=0)) > lp.distance(a, np.roll(a, 1, axis=0)) > 0


def test_hand_detector_matching_and_outside_changes():
    ref = np.zeros((21, 3), np.float32)
    ref[:, 0], ref[:, 1], ref[:, 2] = np.linspace(10, 30, 21), np.linspace(50, 70, 21), 0.9
    detection = {"points": ref.copy(), "score": 0.8}
    detection["points"][:, 0] += 2  # two pixels off
    rows = match_detections([ref], [detection, {"points": ref + 200, "score": 0.99}])
    assert rows[0]["found"] and rows[0]["confidence"] == 0.8 and rows[0]["error_px"] == pytest.approx(2.0)
    summary = summarise_matches(rows + match_detections([ref], []))
    assert summary["found_share"] == 0.5 and summary["mean_confidence"] == pytest.approx(0.4)
    before = picture()
    after = before.copy()
    after[10:12, 10:12] = 0
    allowed = np.zeros(before.shape[:2], bool)
    assert changes_outside(before, after, allowed)["changed_pixels"] == int((after != before).any(2).sum())
    allowed[8:14, 8:14] = True
    assert changes_outside(before, after, allowed) == {"changed_pixels": 0, "max_difference": 0}


def test_evaluate_writes_every_table_and_grid(sample_root, tmp_path):
    from vtonlib.data.reader import VitonDataset
    from vtonlib.evaluate import evaluate

    ds = VitonDataset(sample_root, "test")
    base, corrected = tmp_path / "base", tmp_path / "corrected"
    ids = [i for i in ds.ids if ds.read_truth("hand-mask", i).any()][:3]
    for i in ids:  # the "base" loses the hands; the "correction" puts the photo's hands back
        photo = ds.read_image(i)
        hands = ds.read_truth("hand-mask", i)
        blurred = photo.copy()
        blurred[hands] = 128  # the hand drawn as a grey blob
        imaging.write_image(base / f"{i}__{i}.png", blurred)
        imaging.write_image(corrected / f"{i}__{i}.png", photo)
    report = evaluate(corrected, sample_root, tmp_path / "report", baseline=base, detect=False,
                      lpips_weights=tmp_path / "absent.pth", inception_weights=tmp_path / "absent.pth", progress=False)
    scores = report["scores"]
    assert scores["results"]["mean"]["hand_ssim"] == pytest.approx(1.0, abs=1e-3)
    assert scores["baseline"]["mean"]["hand_ssim"] < 0.97 and scores["baseline"]["mean"]["hand_psnr"] < 30
    assert report["outside_hands"]["changed_pixels"] == 0
    assert set(report["not_computed"]) == {"lpips", "inception"}
    page = (tmp_path / "report" / "report.html").read_text()
    assert "<table>" in page and page.count("data:image/png;base64,") >= 3 * 6
    assert "not computed" in page and "helped most" in page and "hurt most" in page
    assert (tmp_path / "report" / "report.json").exists()


def test_region_scores_look_only_inside_the_region():
    from vtonlib.metrics.region import garment_delta_e, region_psnr, region_ssim

    truth = picture(shape=(64, 64))
    result = truth.copy()
    region = np.zeros((64, 64), bool)
    region[16:48, 16:48] = True
    far = np.ones((64, 64), bool)
    far[10:54, 10:54] = False  # beyond the reach of SSIM's 11-pixel window from the region
    result[far] = 0  # wrong everywhere out there: the region scores do not see it
    assert region_psnr(result, truth, region) == 100.0 and region_ssim(result, truth, region) == pytest.approx(1.0)
    result = truth.copy()
    result[region] = np.clip(truth[region].astype(int) + 16, 0, 255)
    inside = region_psnr(result, truth, region)
    assert inside < psnr(result, truth)  # the whole image dilutes the error with untouched pixels
    assert np.isnan(region_psnr(result, truth, np.zeros_like(region)))
    red, dark_red = np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8, 3), np.uint8)
    red[..., 0], dark_red[..., 0] = 200, 190
    everywhere = np.ones((8, 8), bool)
    assert garment_delta_e(red, red, everywhere) == pytest.approx(0.0, abs=1e-6)
    assert 0 < garment_delta_e(dark_red, red, everywhere) < 5 < garment_delta_e(np.roll(red, 1, axis=2), red, everywhere)


def test_hand_shape_tells_a_hand_from_a_blob(sample_root):
    from vtonlib.data.reader import VitonDataset
    from vtonlib.hands.masks import hands_from_mask
    from vtonlib.metrics.hands import hand_shape_iou, other_skin, person_skin

    ds = VitonDataset(sample_root, "test")
    truth_ious, blob_ious, grey_ious = [], [], []
    for i in ds.ids:
        mask = ds.read_truth("hand-mask", i)
        if not mask.any():
            continue
        photo, skin = ds.read_image(i), person_skin(ds, i)
        others = other_skin(ds.read_parse(i), mask)
        blob, grey = photo.copy(), photo.copy()
        for hand in hands_from_mask(mask).hands:  # the hand's box filled with skin: a blob without fingers
            x0, y0, x1, y1 = hand.box
            blob[y0:y1, x0:x1] = skin.astype(np.uint8)
        grey[mask] = 128
        truth_ious += hand_shape_iou(photo, mask, skin, others)
        blob_ious += hand_shape_iou(blob, mask, skin, others)
        grey_ious += hand_shape_iou(grey, mask, skin, others)
    assert np.mean(truth_ious) > 0.8 and np.mean(blob_ious) < np.mean(truth_ious) - 0.15
    assert np.mean(grey_ious) < 0.1


def test_lpips_from_the_courses_installed_trunk():
    from vtonlib.weights import find_weights

    path = find_weights("lpips-alexnet")
    if path is None:
        pytest.skip("the LPIPS AlexNet trunk is not installed (`vton weights install`)")
    lp = Lpips()
    a = picture(shape=(64, 64))
    assert lp.available and lp.path == path and lp.distance(a, a) == pytest.approx(0.0, abs=1e-6)
    assert 0 < lp.distance(a, np.roll(a, 4, axis=0)) < lp.distance(a, 255 - a)
