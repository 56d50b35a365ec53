"""Hand masks from 21 hand keypoints (OpenPose's or a detector's): palm plus fingers, drawn with OpenCV.

The width of every stroke scales with the hand's own size (its palm length, measured from the points),
so the same rule draws a 20-pixel hand in a 256x192 sample and a 150-pixel hand in a 1024x768 photo.
Points with zero confidence are absent: strokes that need them are skipped, the rest is drawn.
"""

from __future__ import annotations

import cv2
import numpy as np

WRIST = 0
PALM = (0, 1, 2, 5, 9, 13, 17)  # wrist, thumb base, and the four finger bases
FINGERS = tuple(tuple(range(1 + 4 * f, 5 + 4 * f)) for f in range(5))  # thumb, index, middle, ring, little
# Distance from the wrist to each finger base, relative to the palm length (wrist to middle base).
MCP_RATIO = {5: 0.97, 9: 1.0, 13: 0.96, 17: 0.87}
FINGER_RADIUS = 0.12  # stroke half-width, as a share of the palm length
PALM_MARGIN = 0.12  # the palm polygon is widened by this share of the palm length


def palm_length(points: np.ndarray, present: np.ndarray) -> float | None:
    """Palm length in pixels (wrist to the middle finger's base), estimated from whatever is present."""
    if present[WRIST]:
        estimates = [np.hypot(*(points[k] - points[WRIST])) / r for k, r in MCP_RATIO.items() if present[k]]
        if estimates:
            return float(np.median(estimates))
    xy = points[present]
    if len(xy) < 2:
        return None
    # no wrist-to-base distance: the extent of what is visible, about twice a palm for an open hand
    return float(np.hypot(*(xy.max(0) - xy.min(0)))) / 2.0


def draw_hand(points: np.ndarray, size: tuple[int, int], width: float = 1.0,
              min_confidence: float = 0.0) -> tuple[np.ndarray, tuple[int, int, int, int]] | None:
    """Mask (H, W) bool and box (x0, y0, x1, y1) of one hand (21, 3); None when under two points."""
    h, w = size
    present = points[:, 2] > min_confidence
    if present.sum() < 2:
        return None
    xy = points[:, :2].astype(np.float64)
    palm = palm_length(xy, present)
    if palm is None or palm <= 0:
        return None
    radius = FINGER_RADIUS * palm * width
    margin = PALM_MARGIN * palm * width
    pad = int(np.ceil(max(radius, margin))) + 1
    # draw in a window around the hand: cheap at any image size
    x0 = max(int(np.floor(xy[present, 0].min())) - pad, 0)
    y0 = max(int(np.floor(xy[present, 1].min())) - pad, 0)
    x1 = min(int(np.ceil(xy[present, 0].max())) + pad + 1, w)
    y1 = min(int(np.ceil(xy[present, 1].max())) + pad + 1, h)
    if x0 >= x1 or y0 >= y1:
        return None  # entirely outside the image
    # Small hands are drawn at a finer scale and averaged down: OpenCV strokes have whole-pixel widths,
    # which would make a 3-pixel finger 5 pixels wide.
    scale = int(np.clip(np.ceil(6.0 / max(radius, 1e-6)), 1, 8))
    canvas = np.zeros(((y1 - y0) * scale, (x1 - x0) * scale), np.uint8)
    # pixel centres at integer coordinates: pixel i covers [i - 0.5, i + 0.5) at scale 1
    local = np.rint((xy - (x0, y0) + 0.5) * scale - 0.5).astype(np.int32)
    r_px = max(1, int(round(radius * scale)))
    m_px = max(1, int(round(margin * scale)))
    palm_points = [k for k in PALM if present[k]]
    if len(palm_points) >= 3:
        hull = cv2.convexHull(local[palm_points])
        cv2.fillConvexPoly(canvas, hull, 1)
        cv2.polylines(canvas, [hull], True, 1, thickness=2 * m_px + 1)
    for chain in FINGERS:
        for a, b in zip(chain[:-1], chain[1:]):
            if present[a] and present[b]:
                cv2.line(canvas, tuple(local[a]), tuple(local[b]), 1, thickness=2 * r_px + 1)
    if present[WRIST] and present[1]:
        cv2.line(canvas, tuple(local[WRIST]), tuple(local[1]), 1, thickness=2 * r_px + 1)
    for k in np.nonzero(present)[0]:
        cv2.circle(canvas, tuple(local[k]), r_px, 1, thickness=-1)
    if scale > 1:
        canvas = cv2.resize(canvas.astype(np.float32), (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA) >= 0.5
    mask = np.zeros((h, w), bool)
    mask[y0:y1, x0:x1] = canvas.astype(bool)
    ys, xs = np.nonzero(canvas)
    if not len(xs):
        return None
    box = (x0 + int(xs.min()), y0 + int(ys.min()), x0 + int(xs.max()) + 1, y0 + int(ys.max()) + 1)
    return mask, box
