"""`vton prepare` / `vton try`: annotations from plain photos (MediaPipe), checked on real VITON-HD people."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vtonlib import imaging
from vtonlib.prepare import fit, paste_back, prepare_root, read_photo, unfit
from vtonlib.prepare.garment import garment_mask
from vtonlib.prepare.landmarks import MP_TO_BODY25, assign_hands, body25_from_pose

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


@pytest.fixture(scope="module")
def real_person() -> Path:
    path = SHARED / "viton-hd-hr" / "test" / "image" / "00006_00.jpg"
    if not path.exists():
        pytest.skip(f"the real VITON-HD sample is not at {path}")
    return path


@pytest.fixture(scope="module")
def real_garment() -> Path:
    path = SHARED / "photos" / "garment_09163_00.jpg"
    if not path.exists():
        pytest.skip(f"the garment photo is not at {path}")
    return path


def test_body25_from_mediapipe_landmarks():
    h, w = 100, 80
    mp = np.zeros((33, 3), np.float32)
    mp[:, 0], mp[:, 1], mp[:, 2] = np.arange(33), np.arange(33) + 10, 0.9
    mp[11, :2], mp[12, :2] = (50, 30), (30, 30)  # left / right shoulder
    mp[23, :2], mp[24, :2] = (46, 60), (34, 62)  # hips
    mp[27, 2] = 0.1  # the left ankle unseen
    mp[28, 0] = 500  # the right ankle outside the photo
    body = body25_from_pose(mp, (h, w))
    for b, m in MP_TO_BODY25.items():
        if m not in (27, 28):
            np.testing.assert_allclose(body[b], mp[m])
    np.testing.assert_allclose(body[1], [40, 30, 0.9])  # neck = mid-shoulders
    np.testing.assert_allclose(body[8], [40, 61, 0.9])  # mid-hip = mid-hips
    assert (body[14] == 0).all() and (body[11] == 0).all()  # unseen and outside: (0, 0, 0), as OpenPose
    assert (body[20] == 0).all() and (body[23] == 0).all()  # the small toes are not estimated
    assert body[5, 0] > body[2, 0]  # the person's left shoulder on the image's right


def test_hands_go_to_the_wrist_they_are_nearest():
    body = np.zeros((25, 3), np.float32)
    body[4] = (20, 50, 0.9)  # right wrist, image left
    body[7] = (60, 50, 0.9)  # left wrist
    near_left = np.zeros((21, 3), np.float32) + (61, 52, 0.8)
    near_right = np.zeros((21, 3), np.float32) + (19, 49, 0.7)
    # the detector's own labels are crossed (as happens when arms cross or the photo is mirrored)
    hands = assign_hands(body, [{"side": "right", "points": near_left}, {"side": "left", "points": near_right}])
    assert hands["left"][0, 0] == 61 and hands["right"][0, 0] == 19
    one = assign_hands(body, [{"side": "right", "points": near_left}])
    assert one["left"][0, 0] == 61 and not one["right"].any()


def test_fitting_pads_never_crops_and_maps_back(real_person):
    photo = read_photo(real_person)[100:700]  # a landscape crop: 600 x 768
    framed, frame = fit(photo, (1024, 768))
    assert framed.shape == (1024, 768, 3) and frame.scale == 1.0 and frame.top == 212
    back = unfit(framed, frame)
    assert back.shape == photo.shape and np.abs(back.astype(int) - photo).max() <= 1
    region = np.zeros((1024, 768), bool)
    region[400:600, 200:500] = True
    edited = framed.copy()
    edited[region] = 0
    result = paste_back(photo, edited, region, frame)
    outside = unfit(region.astype(np.uint8) * 255, frame) <= 127
    assert (result[outside] == photo[outside]).all() and (result[~outside] < 10).all()


def test_photos_are_read_upright_and_8_bit(real_person, tmp_path):
    photo = read_photo(real_person)
    # EXIF orientation 6: the pixels stored rotated, the tag says to turn them back
    Image.fromarray(np.rot90(photo, 1)).save(tmp_path / "rotated.jpg", exif=_orientation(6), quality=95)
    upright = read_photo(tmp_path / "rotated.jpg")
    assert upright.shape == photo.shape and np.abs(upright.astype(int) - photo).mean() < 3
    grey16 = (photo.mean(-1) * 257).astype(np.uint16)
    Image.fromarray(grey16).save(tmp_path / "grey16.png")
    g = read_photo(tmp_path / "grey16.png")
    assert g.dtype == np.uint8 and g.shape == photo.shape and abs(float(g.mean()) - float(photo.mean())) < 3
    rgba = np.dstack([photo, np.zeros(photo.shape[:2], np.uint8)])  # fully transparent
    Image.fromarray(rgba, "RGBA").save(tmp_path / "clear.png")
    assert (read_photo(tmp_path / "clear.png") == 255).all()  # on white


def _orientation(value: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = value
    return exif.tobytes()


def test_a_garment_on_a_busy_background(real_garment):
    photo = read_photo(real_garment)
    plain, how = garment_mask(photo)
    assert how == "plain background" and 0.2 < plain.mean() < 0.8
    rng = np.random.default_rng(0)
    busy = rng.integers(0, 256, photo.shape, dtype=np.uint8)
    busy[plain] = photo[plain]
    found, how = garment_mask(busy)
    assert how == "grabcut"
    assert (found & plain).sum() / (found | plain).sum() > 0.8


def test_prepare_writes_a_root_every_stage_reads(real_person, real_garment, tmp_path):
    from vtonlib.data.check import check_root

    other = SHARED / "photos" / "person_men_model_5.png"
    empty = tmp_path / "empty.jpg"
    imaging.write_image(empty, np.full((400, 300, 3), 200, np.uint8))
    two = tmp_path / "two.jpg"
    person = read_photo(real_person)
    imaging.write_image(two, np.concatenate([person, person], 1))
    cut = tmp_path / "cut.jpg"
    imaging.write_image(cut, person[:420])  # head and shoulders only: no hips in the frame
    people = [real_person, empty, two, cut] + ([other] if other.exists() else [])
    before = {p: p.read_bytes() for p in people}
    report = prepare_root(people, [real_garment], tmp_path / "root", progress=False)
    assert "no person found" in report["people"]["empty"]["error"]
    assert "people" in report["people"]["two"]["error"]
    assert "cut by the frame" in report["people"]["cut"]["error"]
    ok = [k for k, v in report["people"].items() if "error" not in v]
    assert "00006_00" in ok and all(p.read_bytes() == b for p, b in before.items())
    test = tmp_path / "root" / "test"
    for folder in ("image", "openpose_json", "openpose_img", "image-parse-v3", "image-parse-agnostic-v3.2",
                   "agnostic-mask", "agnostic-v3.2", "image-densepose", "cloth", "cloth-mask"):
        assert len(list((test / folder).iterdir())) >= (1 if folder.startswith("cloth") else len(ok)), folder
    pairs = (tmp_path / "root" / "test_pairs.txt").read_text().split()
    assert pairs[:2] == ["00006_00.jpg", "garment_09163_00.jpg"]
    check = check_root(tmp_path / "root", stage="warp", progress=False)
    assert check.ok, check.format()
    saved = json.loads((tmp_path / "root" / "prepare.json").read_text())
    assert saved["people"]["00006_00"]["frame"]["size"] == [1024, 768]


def test_prepared_annotations_are_close_to_viton_hds(real_person, real_garment, tmp_path):
    from vtonlib.data.reader import VitonDataset
    from vtonlib.prepare.score import score_person

    prepare_root([real_person], [real_garment], tmp_path / "root", progress=False)
    ours, real = VitonDataset(tmp_path / "root", "test"), VitonDataset(SHARED / "viton-hd-hr", "test")
    row = score_person(ours.read_keypoints("00006_00"), ours.read_parse("00006_00"), real.read_keypoints("00006_00"),
                       real.read_parse("00006_00"))
    assert row["body_err_pct"] < 3.5 and row["hand_err_pct"] < 1.5
    assert row["parse_iou"]["upper clothes"] > 0.8 and row["agnostic_iou"] > 0.78


def test_vton_try_runs_the_whole_job_at_the_photos_size(real_person, real_garment, trained, tmp_path, capsys):
    from vtonlib import cli
    from vtonlib.checkpoint import save_model
    from vtonlib.warp.model import AFWM, WarpConfig

    config = WarpConfig.tiny()
    save_model(tmp_path / "warp.safetensors", AFWM(config).state_dict(), config.to_dict())
    photo = read_photo(real_person)[:900]  # not 3:4: the result must come back at this size
    imaging.write_image(tmp_path / "me.jpg", photo)
    code = cli.main(["try", str(tmp_path / "me.jpg"), str(real_garment), "--out", str(tmp_path / "out"), "--model",
                     str(trained[0]), "--warp", str(tmp_path / "warp.safetensors"), "--steps", "2", "--quiet"])
    assert code == 0, capsys.readouterr()
    out = tmp_path / "out"
    result = imaging.read_image(out / "tryon.png")
    assert result.shape == photo.shape and imaging.read_image(out / "corrected.png").shape == photo.shape
    assert (out / "side_by_side.png").exists()
    record = json.loads((out / "try.json").read_text())
    assert set(record["seconds"]) >= {"prepare", "warp", "try-on"} and "no hand LoRA" in record["note"]
    assert np.abs(result.astype(int) - imaging.read_image(tmp_path / "me.jpg")).max(-1).mean() > 1  # something changed
