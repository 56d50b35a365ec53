"""How close ``vton prepare``'s annotations come to the ones VITON-HD's own tools made (OpenPose, the human
parser), for people whose photo comes with them.

* body keypoint error: mean distance over the joints the try-on uses (nose, neck, shoulders, elbows, wrists,
  mid-hip, hips) that both have (OpenPose confidence at least ``MIN_CONFIDENCE``), in % of the image height;
* hand keypoint error: the same over the 21 points of each hand both have;
* parse IoU per label group (upper clothes, arms, face, hair, lower clothes, background);
* the IoU of the agnostic mask (the region the try-on repaints) built from each side's parse and pose: the
  figure that matters most, since it decides what is generated.
"""

from __future__ import annotations

import numpy as np

from ..data.agnostic import agnostic_mask
from ..data.pose import Keypoints

BODY_JOINTS = (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 12)
MIN_CONFIDENCE = 0.3
GROUPS = {"upper clothes": (5, 6, 7), "arms": (14, 15), "face": (13,), "hair": (1, 2), "lower clothes": (9, 12),
          "background": (0,)}


def keypoint_error(ours: np.ndarray, theirs: np.ndarray, height: int, joints=None) -> float | None:
    """Mean distance (% of the height) over the points both have; None when they share none."""
    joints = range(len(theirs)) if joints is None else joints
    both = [j for j in joints if ours[j, 2] > 0 and theirs[j, 2] >= MIN_CONFIDENCE]
    if not both:
        return None
    return float(np.mean([np.linalg.norm(ours[j, :2] - theirs[j, :2]) for j in both]) / height * 100)


def iou(a: np.ndarray, b: np.ndarray) -> float | None:
    union = (a | b).sum()
    return float((a & b).sum() / union) if union else None


def score_person(ours_kp: Keypoints, ours_parse: np.ndarray, theirs_kp: Keypoints,
                 theirs_parse: np.ndarray) -> dict:
    """Every figure above for one person (both annotations at the photo's size)."""
    h = theirs_parse.shape[0]
    hands = [keypoint_error(ours_kp.hand(s), theirs_kp.hand(s), h) for s in ("left", "right")]
    hands = [e for e in hands if e is not None]
    row = {"body_err_pct": keypoint_error(ours_kp.body, theirs_kp.body, h, BODY_JOINTS),
           "hand_err_pct": float(np.mean(hands)) if hands else None,
           "parse_iou": {g: iou(np.isin(ours_parse, ids), np.isin(theirs_parse, ids)) for g, ids in GROUPS.items()}}
    try:
        row["agnostic_iou"] = iou(agnostic_mask(ours_parse, ours_kp.body), agnostic_mask(theirs_parse, theirs_kp.body))
    except ValueError:  # a side lacks a shoulder or a hip
        row["agnostic_iou"] = None
    return row


def summarise(rows: list[dict]) -> dict:
    """Means over people (each figure over the people that have it)."""
    mean = lambda values: float(np.mean(values)) if values else None  # noqa: E731
    pick = lambda key: [r[key] for r in rows if r.get(key) is not None]  # noqa: E731
    return {"body_err_pct": mean(pick("body_err_pct")), "hand_err_pct": mean(pick("hand_err_pct")),
            "parse_iou": {g: mean([r["parse_iou"][g] for r in rows if r["parse_iou"][g] is not None]) for g in GROUPS},
            "agnostic_iou": mean(pick("agnostic_iou"))}
