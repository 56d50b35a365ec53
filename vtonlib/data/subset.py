"""``vton little``: the hand-visible subset that the hand LoRA trains on.

The seed project kept a sample when either hand's mean keypoint confidence (over non-zero points)
exceeded 0.3, and wrote only ids. That rule keeps hands that are mostly hidden (a few confident points
average high) or cut by the image border. Here a hand must also have enough confident points, lie
inside the frame, and be big enough to learn from; ``seed_rule_only`` reproduces the original rule.
The kept samples are copied, every folder, into a root of the same layout, and ``subset.json`` records
each sample's decision and its reason.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .. import imaging
from ..fileio import DataError, copy_file, write_json, write_text
from .layout import FOLDERS, TRUTH
from .pose import Keypoints
from .reader import VitonDataset


@dataclass
class SubsetRule:
    min_confidence: float = 0.3  # the seed's rule: mean of the non-zero confidences above this
    min_points: int = 10  # points at or above min_confidence
    min_size: float = 0.04  # extent of the confident points (box diagonal), as a share of image height
    margin: float = 0.0  # confident points keep this share of the height inside the border
    seed_rule_only: bool = False  # judge by the seed project's rule alone


def judge_hand(points: np.ndarray, size: tuple[int, int], rule: SubsetRule) -> dict:
    """Decide whether one hand (21, 3) is clearly visible in an image of ``size`` (H, W)."""
    h, w = size
    found = points[points[:, 2] > 0]
    mean = float(found[:, 2].mean()) if len(found) else 0.0
    verdict = {"mean_confidence": round(mean, 3), "points": int(len(found))}
    if not len(found):
        return {**verdict, "passes": False, "reason": "no keypoints"}
    if mean <= rule.min_confidence:
        return {**verdict, "passes": False, "reason": f"mean confidence {mean:.2f} <= {rule.min_confidence}"}
    if rule.seed_rule_only:
        return {**verdict, "passes": True, "reason": f"mean confidence {mean:.2f}"}
    confident = points[points[:, 2] >= rule.min_confidence]
    verdict["confident_points"] = int(len(confident))
    if len(confident) < rule.min_points:
        return {**verdict, "passes": False,
                "reason": f"{len(confident)} confident points < {rule.min_points} (partly hidden?)"}
    extent = float(np.hypot(*(confident[:, :2].max(0) - confident[:, :2].min(0)))) / h
    verdict["size"] = round(extent, 3)
    if extent < rule.min_size:
        return {**verdict, "passes": False, "reason": f"too small ({extent:.3f} of the height < {rule.min_size})"}
    m = rule.margin * h
    xs, ys = confident[:, 0], confident[:, 1]
    if xs.min() < m or ys.min() < m or xs.max() > w - 1 - m or ys.max() > h - 1 - m:
        return {**verdict, "passes": False, "reason": "touches the image border (cut by the frame?)"}
    return {**verdict, "passes": True,
            "reason": f"mean {mean:.2f}, {len(confident)} confident points, size {extent:.2f}"}


def judge_sample(kp: Keypoints, size: tuple[int, int], rule: SubsetRule) -> tuple[bool, str, dict]:
    """Keep a sample when either hand passes; the reason names each hand's verdict."""
    hands = {side: judge_hand(kp.hand(side), size, rule) for side in ("left", "right")}
    passing = [s for s, v in hands.items() if v["passes"]]
    if passing:
        return True, "; ".join(f"{s} hand: {hands[s]['reason']}" for s in passing), hands
    return False, "; ".join(f"{s} hand: {v['reason']}" for s, v in hands.items()), hands


def judge_split(ds: VitonDataset, rule: SubsetRule, progress: bool = False) -> list[dict]:
    """Decision and reason for every person of a split; a bad or missing keypoint file is a reported
    skip, never a crash."""
    records = []
    for sample_id in tqdm(ds.ids, desc=f"judging hands in {ds.split}", disable=not progress):
        record = {"id": sample_id}
        try:
            if sample_id not in ds.files("openpose_json"):
                raise DataError(ds.path("openpose_json", sample_id), "no keypoints file")
            size = imaging.image_size(ds.path("image", sample_id))
            keep, reason, hands = judge_sample(ds.read_keypoints(sample_id), size, rule)
            record.update(kept=keep, reason=reason, hands=hands)
        except DataError as e:
            record.update(kept=False, reason=f"skipped: {e}")
        records.append(record)
    return records


def make_subset(root: str | os.PathLike, out: str | os.PathLike, split: str = "train",
                rule: SubsetRule | None = None, link: bool = False, progress: bool = True) -> dict:
    """Copy (or hard-link) the hand-visible samples of ``root/split`` into ``out``; return the summary.

    ``out`` gets the same layout (so every stage reads it like any root) and ``subset.json``.
    The source is only read. Files already copied are not copied again.
    """
    rule = rule or SubsetRule()
    root, out = Path(root), Path(out)
    source, target = (root / split).resolve(), out.resolve()
    if target in (root.resolve(), source) or source in target.parents:
        raise ValueError(f"{out}: write the subset outside the source split (the source is never modified)")
    ds = VitonDataset(root, split)
    records = judge_split(ds, rule, progress)
    kept = [r["id"] for r in records if r["kept"]]
    kept_set = set(kept)
    pairs = [(p, c) for p, c in ds.pairs(unpaired=True) if p in kept_set]
    garments = sorted({c for _, c in pairs} | set(kept))
    copied = copy_samples(ds, out, kept, garments, link, progress)
    write_text(out / f"{split}_pairs.txt", "".join(f"{p}.jpg {c}.jpg\n" for p, c in pairs))
    summary = {"source": str(root), "split": split, "rule": asdict(rule), "kept": len(kept), "total": len(records),
               "files_copied": copied, "linked": link, "samples": records}
    write_json(out / "subset.json", summary)
    return summary


def copy_samples(ds: VitonDataset, out: Path, people: list[str], garments: list[str], link: bool,
                 progress: bool) -> int:
    """Copy every file of ``people`` and ``garments`` (ground truth included) into ``out``, same layout;
    files already there are skipped. Returns the number copied."""
    jobs = []
    for f in FOLDERS:
        src_dir = ds.folder(f.key)
        if src_dir is None:
            continue
        wanted = people if f.owner == "person" else garments
        files = ds.files(f.key)
        jobs += [(src_dir / files[i], out / ds.split / src_dir.name / files[i]) for i in wanted if i in files]
    gt = ds.dir / "gt"
    for name, pattern in TRUTH.items():
        for i in people:
            src = gt / name / pattern.format(id=i)
            if src.exists():
                jobs.append((src, out / ds.split / "gt" / name / src.name))
    copied = 0
    for src, dst in tqdm(jobs, desc="copying the subset", disable=not progress):
        if dst.exists() and dst.stat().st_size == src.stat().st_size:
            continue  # resumed run: already there
        copy_file(src, dst, link=link)
        copied += 1
    return copied

