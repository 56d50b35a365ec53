"""`vton check` names every defect of a damaged copy and exits 1; usable roots exit 0."""

import json
import shutil

from PIL import Image

from vtonlib.cli import main
from vtonlib.data import check_root
from vtonlib.data.damage import make_damaged_copy


def _messages(report, severity="error"):
    return [str(p) for p in report.problems if p.severity == severity]


def test_the_sample_is_usable(sample_root):
    report = check_root(sample_root)
    assert report.ok and not report.warnings
    assert report.splits["test"]["people"] == 4 and report.splits["test"]["ground_truth"]


def test_real_samples_are_usable(shared_data):
    for name in ("viton-hd-hr", "viton-hd-original"):
        report = check_root(shared_data / name)
        assert report.ok, report.format()
    original = check_root(shared_data / "viton-hd-original")
    assert "original VITON-HD" in original.splits["test"]["layout"]
    assert any("no garment of their own" in m for m in _messages(original, "warning"))
    # DensePose is absent there, so the warping stage cannot use it
    warp = check_root(shared_data / "viton-hd-original", stage="warp")
    assert any("image-densepose" in m and "missing folder" in m for m in _messages(warp))


def test_missing_required_folder(sample_copy):
    shutil.rmtree(sample_copy / "test" / "image-parse-v3")
    msgs = _messages(check_root(sample_copy))
    assert any("test/image-parse-v3" in m and "missing folder" in m for m in msgs)


def test_missing_optional_folder_is_reported_not_an_error(sample_copy):
    shutil.rmtree(sample_copy / "test" / "agnostic-mask")
    report = check_root(sample_copy)
    assert report.ok
    assert any("agnostic-mask" in m for m in _messages(report, "info"))
    assert not check_root(sample_copy, require=("agnostic_mask",)).ok


def test_id_missing_from_a_folder(sample_copy):
    (sample_copy / "test" / "openpose_json" / "00011_00_keypoints.json").unlink()
    msgs = _messages(check_root(sample_copy))
    assert any("openpose_json/00011_00_keypoints.json: missing" in m for m in msgs)


def test_unreadable_and_truncated_images(sample_copy):
    (sample_copy / "test" / "cloth" / "00010_00.jpg").write_bytes(b"")
    image = sample_copy / "test" / "image" / "00012_00.jpg"
    image.write_bytes(image.read_bytes()[:1500])
    msgs = _messages(check_root(sample_copy))
    assert any("cloth/00010_00.jpg: not an image" in m for m in msgs)
    assert any("image/00012_00.jpg: unreadable or truncated" in m for m in msgs)
    # --quick reads headers only: it misses the truncation, but still sees the empty file
    quick = _messages(check_root(sample_copy, quick=True))
    assert any("cloth/00010_00.jpg" in m for m in quick)


def test_size_mismatch(sample_copy):
    path = sample_copy / "test" / "image-densepose" / "00013_00.jpg"
    Image.open(path).resize((96, 128)).save(path)
    msgs = _messages(check_root(sample_copy))
    assert any("image-densepose/00013_00.jpg: size 128x96 (HxW) differs" in m for m in msgs)


def test_malformed_and_empty_json(sample_copy):
    (sample_copy / "test" / "openpose_json" / "00010_00_keypoints.json").write_text("{not json")
    (sample_copy / "test" / "openpose_json" / "00011_00_keypoints.json").write_text('{"version": 1.3, "people": []}')
    short = sample_copy / "test" / "openpose_json" / "00012_00_keypoints.json"
    data = json.loads(short.read_text())
    data["people"][0]["pose_keypoints_2d"] = data["people"][0]["pose_keypoints_2d"][:-3]
    short.write_text(json.dumps(data))
    msgs = _messages(check_root(sample_copy))
    assert any("00010_00_keypoints.json: malformed JSON" in m for m in msgs)
    assert any("00011_00_keypoints.json: OpenPose found no person" in m for m in msgs)
    assert any("00012_00_keypoints.json: pose_keypoints_2d has 72 numbers, expected 75" in m for m in msgs)


def test_keypoints_from_another_resolution(sample_copy):
    path = sample_copy / "test" / "openpose_json" / "00010_00_keypoints.json"
    data = json.loads(path.read_text())
    data["people"][0]["pose_keypoints_2d"] = [v * 4 for v in data["people"][0]["pose_keypoints_2d"]]
    path.write_text(json.dumps(data))
    assert any("another resolution" in m for m in _messages(check_root(sample_copy)))


def test_pairs_naming_absent_files(sample_copy):
    with open(sample_copy / "test_pairs.txt", "a") as f:
        f.write("77777_00.jpg 00010_00.jpg\n00010_00.jpg 88888_00.jpg\nonly-one-name.jpg\n")
    msgs = _messages(check_root(sample_copy))
    assert any("line 5 names person 77777_00.jpg" in m for m in msgs)
    assert any("line 6 names garment 88888_00.jpg" in m for m in msgs)
    assert any("line 7: expected 'person.jpg cloth.jpg'" in m for m in msgs)


def test_every_defect_of_the_damaged_copy_is_named(sample_root, tmp_path):
    defects = make_damaged_copy(sample_root, tmp_path / "damaged", split="train")
    assert len(defects) == 7
    report = check_root(tmp_path / "damaged")
    assert not report.ok
    for defect, rel in defects:
        named = any(rel in p.path or rel.split("/")[-1] in p.message for p in report.problems)
        assert named, f"{defect} ({rel}) not in:\n{report.format()}"


def test_cli_exit_codes_and_no_traceback(sample_root, sample_copy, tmp_path, capsys):
    assert main(["check", str(sample_root), "--quiet"]) == 0
    (sample_copy / "train" / "cloth-mask" / "00000_00.jpg").unlink()
    assert main(["check", str(sample_copy), "--quiet", "--json", str(tmp_path / "r.json")]) == 1
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["usable"] is False and report["problems"]
    assert main(["check", str(tmp_path / "nowhere")]) == 1
    (tmp_path / "file").write_text("x")
    assert main(["check", str(tmp_path / "file")]) == 1
    assert main(["check", str(sample_root / "train")]) == 1
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    assert "split folder" in out.out
