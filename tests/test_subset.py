"""The hand-visible subset: the rule, against the sample's ground truth, and the copy it makes."""

import hashlib
import json

import numpy as np
import pytest

from vtonlib.cli import main
from vtonlib.data import SubsetRule, VitonDataset, make_subset
from vtonlib.data.subset import judge_hand


def _hand(n_found=21, conf=0.8, centre=(100, 100), span=30):
    rng = np.random.default_rng(0)
    pts = np.zeros((21, 3), np.float32)
    pts[:n_found, :2] = np.array(centre) + rng.uniform(-span / 2, span / 2, (n_found, 2))
    pts[:n_found, 2] = conf
    return pts


def test_rule_cases():
    size, ours, seed = (256, 192), SubsetRule(), SubsetRule(seed_rule_only=True)
    assert judge_hand(_hand(), size, ours)["passes"]
    assert not judge_hand(_hand(n_found=0), size, ours)["passes"]
    assert not judge_hand(_hand(conf=0.25), size, seed)["passes"]  # the seed rule: mean must exceed 0.3
    few = _hand(n_found=4, conf=0.45)  # a mostly hidden hand: the seed rule keeps it, ours does not
    assert judge_hand(few, size, seed)["passes"]
    assert "confident points" in judge_hand(few, size, ours)["reason"]
    at_border = _hand(centre=(5, 100))
    assert judge_hand(at_border, size, seed)["passes"]
    assert "border" in judge_hand(at_border, size, ours)["reason"]
    tiny = _hand(span=4)
    assert "too small" in judge_hand(tiny, size, ours)["reason"]


def _tree_digest(path):
    h = hashlib.sha256()
    for p in sorted(path.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(path)).encode() + p.read_bytes())
    return h.hexdigest()


def test_subset_keeps_exactly_the_samples_with_a_clear_hand(sample_root, tmp_path):
    before = _tree_digest(sample_root)
    summary = make_subset(sample_root, tmp_path / "little", split="train", progress=False)
    assert _tree_digest(sample_root) == before  # the source is never modified
    ds = VitonDataset(sample_root, "train")
    for record in summary["samples"]:
        hands = ds.read_truth("meta", record["id"])["hands"]
        clear = any(all(h["visible"]) for h in hands.values())
        assert record["kept"] == clear, record
    assert 0 < summary["kept"] < summary["total"]
    # the subset is a root of the same layout, with its decisions recorded
    little = VitonDataset(tmp_path / "little", "train")
    kept = sorted(r["id"] for r in summary["samples"] if r["kept"])
    assert little.ids == kept
    assert little.person(kept[0]).keypoints is not None and little.read_truth("hand-mask", kept[0]).any()
    assert [p for p, _ in little.pairs()] == kept
    saved = json.loads((tmp_path / "little" / "subset.json").read_text())
    assert saved["kept"] == summary["kept"] and all("reason" in r for r in saved["samples"])
    # resumed: nothing copied twice
    assert make_subset(sample_root, tmp_path / "little", split="train", progress=False)["files_copied"] == 0


def test_seed_rule_keeps_more(sample_root, tmp_path):
    seed = make_subset(sample_root, tmp_path / "seed", rule=SubsetRule(seed_rule_only=True), progress=False)
    ours = make_subset(sample_root, tmp_path / "ours", progress=False)
    assert seed["kept"] > ours["kept"]


def test_bad_keypoint_file_is_skipped_not_fatal(sample_copy, tmp_path):
    (sample_copy / "train" / "openpose_json" / "00003_00_keypoints.json").write_text("{broken")
    summary = make_subset(sample_copy, tmp_path / "little", progress=False)
    record = next(r for r in summary["samples"] if r["id"] == "00003_00")
    assert not record["kept"] and "malformed JSON" in record["reason"]


def test_refuses_to_write_into_the_source(sample_copy):
    with pytest.raises(ValueError, match="never modified"):
        make_subset(sample_copy, sample_copy / "train" / "little", progress=False)


def test_cli_little_with_links(sample_root, tmp_path, capsys):
    assert main(["little", str(sample_root), str(tmp_path / "l"), "--link", "--quiet"]) == 0
    assert "kept" in capsys.readouterr().out
    image = next((tmp_path / "l" / "train" / "image").iterdir())
    assert image.stat().st_nlink >= 2  # hard-linked, not copied
