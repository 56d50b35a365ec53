"""The simplest warp worth beating: the flat garment scaled into the torso box.

The box spans the shoulders horizontally and runs from the shoulders down to the hips (OpenPose points
2, 5, 9, 12); the garment's bounding box is stretched onto it. No learning, no bending.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from ..data.pose import Keypoints


def box_warp(cloth: np.ndarray, cloth_mask: np.ndarray, keypoints: Keypoints,
             size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(warped RGB uint8, warped bool mask) at ``size`` (H, W) of the person's photo."""
    h, w = size
    body = keypoints.body
    points = body[[2, 5, 9, 12]]
    if (points[:, 2] <= 0).any():
        raise ValueError("the box baseline needs both shoulders and both hips")
    x0, x1 = points[:2, 0].min(), points[:2, 0].max()
    y0, y1 = points[:2, 1].min(), points[2:, 1].max()
    ys, xs = np.nonzero(cloth_mask)
    crop = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
    left, top = int(round(x0)), int(round(y0))
    box = (left, top, max(int(round(x1)), left + 1), max(int(round(y1)), top + 1))
    bw, bh = box[2] - box[0], box[3] - box[1]
    garment = Image.fromarray(cloth).crop(crop).resize((bw, bh), Image.BILINEAR)
    mask = Image.fromarray(cloth_mask.astype(np.uint8) * 255).crop(crop).resize((bw, bh), Image.NEAREST)
    out = Image.new("RGB", (w, h), (255, 255, 255))
    out_mask = Image.new("L", (w, h), 0)
    out.paste(garment, box[:2], mask)
    out_mask.paste(mask, box[:2])
    return np.asarray(out).copy(), np.asarray(out_mask) > 127
