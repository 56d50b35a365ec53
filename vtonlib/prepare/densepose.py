"""A DensePose-style part map (VITON-HD's ``image-densepose`` palette) drawn from the skeleton.

Each pixel of the person goes to the nearest bone: head (face and hair of the parse), torso, upper and
lower arms, hands (the hand masks), upper and lower legs, feet. DensePose's own front/back and inside/outside
splits are not estimated: a photo shows the front, so front parts and "outside" arm parts are used.
"""

from __future__ import annotations

import numpy as np

from ..data import labels as L

# (part id, BODY_25 start, BODY_25 end)
BONES = (
    (17, 5, 6), (21, 6, 7),  # left upper arm, left lower arm (outside)
    (18, 2, 3), (22, 3, 4),  # right
    (10, 12, 13), (14, 13, 14),  # left upper leg, lower leg (front)
    (9, 9, 10), (13, 10, 11),  # right
    (5, 14, 19), (6, 11, 22),  # left foot, right foot
    (2, 1, 8),  # torso (front): neck to mid-hip
    (2, 2, 9), (2, 5, 12),  # and its sides
)
HEAD_RIGHT, HEAD_LEFT = 23, 24


def _segment_distance(xs, ys, a, b) -> np.ndarray:
    ab = b - a
    t = np.clip(((xs - a[0]) * ab[0] + (ys - a[1]) * ab[1]) / max(float(ab @ ab), 1e-6), 0, 1)
    return np.hypot(xs - (a[0] + t * ab[0]), ys - (a[1] + t * ab[1]))


def build_densepose(person: np.ndarray, parse: np.ndarray, body: np.ndarray, hand_masks: dict) -> np.ndarray:
    """Part ids (H, W) uint8: 0 background, DensePose's fine-segmentation ids elsewhere."""
    h, w = person.shape
    ys, xs = np.nonzero(person)
    parts = np.zeros((h, w), np.uint8)
    best = np.full(len(xs), np.inf)
    chosen = np.zeros(len(xs), np.uint8)
    for part, i, j in BONES:
        if body[i, 2] <= 0 or body[j, 2] <= 0:
            continue
        d = _segment_distance(xs.astype(np.float64), ys.astype(np.float64), body[i, :2].astype(np.float64),
                              body[j, :2].astype(np.float64))
        better = d < best
        best[better], chosen[better] = d[better], part
    parts[ys, xs] = chosen
    head = np.isin(parse, (1, 2, 4, 13))
    nose_x = body[0, 0] if body[0, 2] > 0 else w / 2
    cols = np.arange(w)[None, :]
    parts[head & (cols < nose_x)] = HEAD_RIGHT  # the person's right is the image's left
    parts[head & (cols >= nose_x)] = HEAD_LEFT
    for side, part in (("left", L.LEFT_HAND_PART), ("right", L.RIGHT_HAND_PART)):
        if hand_masks.get(side) is not None:
            parts[hand_masks[side] & person] = part
    return parts
