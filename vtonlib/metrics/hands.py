"""Hand metrics: the detector's view of the hands (share found, confidence, keypoint error against the
reference keypoints) and the proof that a correction left every other pixel alone."""

from __future__ import annotations

import numpy as np

from ..hands.masks import MIN_HAND_CONFIDENCE
from ..lora.data import dilate


def reference_hands(keypoints) -> list[np.ndarray]:
    """The (K, 2) confident points of each hand of an OpenPose annotation (hands with >= 5 such points)."""
    hands = []
    for side in ("left", "right"):
        points = keypoints.hand(side)
        confident = points[points[:, 2] >= MIN_HAND_CONFIDENCE]
        if len(confident) >= 5:
            hands.append(points)
    return hands


def match_detections(reference: list[np.ndarray], detected: list[dict]) -> list[dict]:
    """For each reference hand: the detection nearest its centre (within the hand's size), its confidence
    and the mean distance of the matched keypoints, in pixels and in units of the hand's size."""
    rows = []
    for points in reference:
        ok = points[:, 2] >= MIN_HAND_CONFIDENCE
        xy = points[ok, :2]
        centre, size = xy.mean(0), float(np.linalg.norm(xy.max(0) - xy.min(0))) or 1.0
        best, best_distance = None, size
        for d in detected:
            distance = float(np.linalg.norm(d["points"][:, :2].mean(0) - centre))
            if distance < best_distance:
                best, best_distance = d, distance
        if best is None:
            rows.append({"found": False, "confidence": 0.0})
            continue
        error = float(np.linalg.norm(best["points"][ok, :2] - xy, axis=1).mean())
        rows.append({"found": True, "confidence": float(best["score"]), "error_px": error,
                     "error_norm": error / size})
    return rows


def summarise_matches(rows: list[dict]) -> dict:
    found = [r for r in rows if r["found"]]
    return {"hands": len(rows), "found_share": len(found) / len(rows) if rows else float("nan"),
            "mean_confidence": float(np.mean([r["confidence"] for r in rows])) if rows else float("nan"),
            "keypoint_error_px": float(np.mean([r["error_px"] for r in found])) if found else float("nan"),
            "keypoint_error_norm": float(np.mean([r["error_norm"] for r in found])) if found else float("nan")}


def changes_outside(before: np.ndarray, after: np.ndarray, allowed: np.ndarray) -> dict:
    """Pixels that differ between two images outside ``allowed`` (bool (H, W)): both must be 0."""
    diff = np.abs(before.astype(np.int16) - after.astype(np.int16)).max(axis=2)
    outside = diff[~allowed]
    return {"changed_pixels": int((outside > 0).sum()), "max_difference": int(outside.max()) if outside.size else 0}


def allowed_region(shape, hands: list[dict] | None, hand_mask: np.ndarray | None, margin: int = 8) -> np.ndarray:
    """Where a correction may change pixels: its recorded crop boxes (``correct.json``), else the hand
    mask grown by ``margin`` pixels."""
    allowed = np.zeros(shape, bool)
    if hands:
        for hand in hands:
            x0, y0, x1, y1 = hand["crop_box"]
            allowed[y0:y1, x0:x1] = True
    elif hand_mask is not None and hand_mask.any():
        allowed = dilate(hand_mask, margin)
    return allowed
