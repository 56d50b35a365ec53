"""Clothing-agnostic person representations, the way VITON-HD, HR-VITON and DCI-VTON build them.

* :func:`parse_agnostic` removes the upper clothes, the neck and the arms near the pose skeleton from
  the parse (``image-parse-agnostic-v3.2``), so a warping model cannot see the old garment's shape.
* :func:`agnostic_mask` paints the torso, neck and arms from the pose keypoints, then gives back the
  head, the lower body and the arm pixels far from the skeleton (mostly the hands): the region a
  try-on model must repaint (``agnostic-mask``). :func:`agnostic_image` greys it out (``agnostic-v3.2``).

Both scale their brush sizes with the image, so they work at 256x192 as at VITON-HD's 1024x768.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from . import labels as L

GREY = (128, 128, 128)


def _present(body: np.ndarray, i: int) -> bool:
    return bool(body[i, 2] > 0 and not (body[i, 0] == 0 and body[i, 1] == 0))


def _disc(draw: ImageDraw.ImageDraw, p, rx: float, ry: float | None = None) -> None:
    ry = rx if ry is None else ry
    draw.ellipse((p[0] - rx, p[1] - ry, p[0] + rx, p[1] + ry), fill=255)


def _line(draw: ImageDraw.ImageDraw, a, b, width: float) -> None:
    draw.line([tuple(a), tuple(b)], fill=255, width=max(1, int(round(width))))


def parse_agnostic(parse: np.ndarray, body: np.ndarray) -> np.ndarray:
    """Parse (H, W) LIP ids + BODY_25 keypoints (25, 3) -> the agnostic parse (H, W)."""
    h, w = parse.shape
    r = 10 * h / 1024  # VITON-HD's brush radius unit at 1024 px height
    out = parse.copy()
    # Each arm label is cut where a thick brush along the shoulder line and the arm chain passes;
    # pixels of the arm far from the skeleton (the hand, mostly) survive, as in the released files.
    for arm_label, chain in ((L.LEFT_ARM, (2, 5, 6, 7)), (L.RIGHT_ARM, (5, 2, 3, 4))):
        brush = Image.new("L", (w, h), 0)
        draw = ImageDraw.Draw(brush)
        for a, b in zip(chain[:-1], chain[1:]):
            if not (_present(body, a) and _present(body, b)):
                continue
            _line(draw, body[a, :2], body[b, :2], r * 10)
            _disc(draw, body[b, :2], r * 4 if b == chain[-1] else r * 15)
        cut = (np.asarray(brush) > 0) & (parse == arm_label)
        out[cut] = 0
    out[np.isin(parse, L.UPPER_CLOTHES + (L.TORSO_SKIN,))] = 0
    return out


def agnostic_mask(parse: np.ndarray, body: np.ndarray) -> np.ndarray:
    """Parse (H, W) + BODY_25 keypoints (25, 3) -> bool (H, W), True where the try-on repaints."""
    h, w = parse.shape
    for i in (2, 5, 9, 12):
        if not _present(body, i):
            raise ValueError(f"the agnostic mask needs both shoulders and both hips; "
                             f"keypoint {i} ({L.BODY_25[i]}) is missing")
    pts = body[:, :2].astype(np.float64).copy()
    shoulder = np.linalg.norm(pts[5] - pts[2])
    # Hips are spread to shoulder width so the mask covers loose garments as well as tight ones.
    mid = (pts[9] + pts[12]) / 2
    hip = max(np.linalg.norm(pts[12] - pts[9]), 1e-6)
    pts[9] = mid + (pts[9] - mid) / hip * shoulder
    pts[12] = mid + (pts[12] - mid) / hip * shoulder
    r = int(shoulder / 16) + 1

    canvas = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(canvas)
    # torso
    for i in (9, 12):
        _disc(draw, pts[i], r * 3, r * 6)
    _line(draw, pts[2], pts[9], r * 6)
    _line(draw, pts[5], pts[12], r * 6)
    _line(draw, pts[9], pts[12], r * 12)
    draw.polygon([tuple(pts[i]) for i in (2, 5, 12, 9)], fill=255)
    # neck
    x, y = pts[1]
    draw.rectangle((x - r * 5, y - r * 9, x + r * 5, y), fill=255)
    # arms
    _line(draw, pts[2], pts[5], r * 12)
    for i in (2, 5):
        _disc(draw, pts[i], r * 5, r * 6)
    for i in (3, 4, 6, 7):
        if _present(body, i - 1) and _present(body, i):
            _line(draw, pts[i - 1], pts[i], r * 10)
            _disc(draw, pts[i], r * 5)
    mask = np.asarray(canvas) > 0

    # Give back arm pixels outside a slimmer arm brush (hands, mostly), the head and the lower body.
    for arm_label, chain in ((L.LEFT_ARM, (5, 6, 7)), (L.RIGHT_ARM, (2, 3, 4))):
        brush = Image.new("L", (w, h), 0)
        draw = ImageDraw.Draw(brush)
        _disc(draw, pts[chain[0]], r * 5, r * 6)
        last = pts[chain[0]]
        for a, b in zip(chain[:-1], chain[1:]):
            if not (_present(body, a) and _present(body, b)):
                continue
            _line(draw, pts[a], pts[b], r * 10)
            if b != chain[-1]:
                _disc(draw, pts[b], r * 5)
            last = pts[b]
        _disc(draw, last, r * 4)
        mask[(np.asarray(brush) == 0) & (parse == arm_label)] = False
    mask[np.isin(parse, (4, 13, 9, 12, 16, 17, 18, 19))] = False
    return mask


def agnostic_image(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The person with the repaint region greyed out, as in ``agnostic-v3.2``."""
    out = image.copy()
    out[mask] = GREY
    return out
