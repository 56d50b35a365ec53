"""A human parse in VITON-HD's label set (image-parse-v3's LIP ids), built from what MediaPipe sees.

No parsing network runs here; the parse is assembled from geometry and colour:

1. the **person** is Pose's segmentation mask;
2. the **face** (13) is the face mesh's oval; the **skin colour** is the median of its inner part;
3. the **hair** (2) is the rest of the person in a box around the head, from the top of the person down to
   the chin (long hair below the chin is left to the upper clothes: its colour alone cannot tell it from a
   dark garment);
4. the **arms** (14 left, 15 right, hands included, as VITON-HD) are the skin-coloured pixels of the person
   inside capsules along shoulder-elbow-wrist, plus the hands drawn from their 21 points;
5. the **neck** (10) is skin between the chin and the shoulder line; other skin of the torso too;
6. **upper clothes** (5) are the rest of the person above the hips and beside the torso; below the hips the
   person is **lower clothes** (9), or **legs** (16 / 17) where skin-coloured; between mid-torso and the
   thighs the two garments' colours decide where the top ends.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..data.skin import median_colour
from ..hands.shapes import draw_hand
from ..metrics.hands import skin_mask
from .landmarks import FACE_OVAL, Landmarks

BACKGROUND, HAIR, UPPER, PANTS, NECK, FACE, LEFT_ARM, RIGHT_ARM, LEFT_LEG, RIGHT_LEG = 0, 2, 5, 9, 10, 13, 14, 15, 16, 17
SKIN_TOLERANCE = 35.0  # RGB distance to a shade of the face's colour (photos vary more than the sample)


def _odd(x: float) -> int:
    return max(3, int(x) | 1)


def _capsule(canvas: np.ndarray, points, radius: float) -> None:
    pts = [p for p in points if p is not None]
    for a, b in zip(pts[:-1], pts[1:]):
        cv2.line(canvas, tuple(int(v) for v in a), tuple(int(v) for v in b), 1, max(1, int(2 * radius)))
    for p in pts:
        cv2.circle(canvas, tuple(int(v) for v in p), max(1, int(radius)), 1, -1)


def _point(body: np.ndarray, i: int):
    return body[i, :2] if body[i, 2] > 0 else None


def face_mask(face: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    mask = np.zeros(size, np.uint8)
    cv2.fillPoly(mask, [np.round(face[list(FACE_OVAL)]).astype(np.int32)], 1)
    return mask.astype(bool)


def _split_by_colour(image, parse, cloth, rows, shoulder_y: float, hip_y: float, min_pixels: int = 200,
                     min_contrast: float = 30.0) -> None:
    """Where the top ends is a matter of colour, not of the hip joints: a top tucked in ends above them, a
    long one below. Between mid-torso and the thighs, each garment pixel takes the label of the nearer of the
    two garments' colours (sampled on the chest and on the thighs), when they differ enough to tell."""
    torso = max(hip_y - shoulder_y, 1.0)
    chest = cloth & (parse == UPPER) & (rows > shoulder_y + 0.25 * torso) & (rows < shoulder_y + 0.55 * torso)
    thighs = cloth & (parse == PANTS) & (rows > hip_y + 0.15 * torso) & (rows < hip_y + 0.6 * torso)
    if chest.sum() < min_pixels or thighs.sum() < min_pixels:
        return
    top, bottom = median_colour(image, chest), median_colour(image, thighs)
    if np.linalg.norm(top - bottom) < min_contrast:
        return
    band = cloth & np.isin(parse, (UPPER, PANTS)) & (rows > shoulder_y + 0.5 * torso) & (rows < hip_y + 0.45 * torso)
    pixels = image.astype(np.float64)
    nearer_top = (np.linalg.norm(pixels - top, axis=-1) < np.linalg.norm(pixels - bottom, axis=-1)).astype(np.uint8)
    nearer_top = cv2.medianBlur(nearer_top * 255, _odd(0.02 * image.shape[0])) > 127  # the majority around
    parse[band] = np.where(nearer_top[band], UPPER, PANTS)


def build_parse(image: np.ndarray, found: Landmarks) -> tuple[np.ndarray, np.ndarray]:
    """(parse (H, W) uint8 LIP ids, skin colour RGB) of one photo."""
    h, w = image.shape[:2]
    kp = found.keypoints
    body = kp.body
    person = found.person_mask > 0.5
    parse = np.zeros((h, w), np.uint8)
    shoulders = [p for p in (_point(body, 2), _point(body, 5)) if p is not None]
    shoulder_width = float(np.linalg.norm(shoulders[0] - shoulders[1])) if len(shoulders) == 2 else 0.25 * w
    shoulder_y = float(np.mean([p[1] for p in shoulders])) if shoulders else 0.3 * h

    # face and skin colour
    face = face_mask(found.face, (h, w)) & person if found.face is not None else np.zeros((h, w), bool)
    inner = cv2.erode(face.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    skin_colour = median_colour(image, inner) if inner.sum() > 50 else np.array([200, 160, 130], np.float64)
    skin = skin_mask(image, skin_colour, tolerance=SKIN_TOLERANCE, darkest=0.55, brightest=1.15) & person
    k = _odd(0.006 * h)  # a skin-coloured speck in a print or a fold is not skin
    skin = cv2.morphologyEx(skin.astype(np.uint8), cv2.MORPH_OPEN, np.ones((k, k), np.uint8)) > 0

    # head box: hair is the person around the face, down to the chin (to the shoulders beside the neck)
    if face.any():
        ys, xs = np.nonzero(face)
        chin = int(ys.max())
        fw = xs.max() - xs.min()
        x0, x1 = int(max(xs.min() - 0.45 * fw, 0)), int(min(xs.max() + 0.45 * fw, w))
        head = np.zeros((h, w), bool)
        head[: chin + 1, x0:x1] = True
        parse[person & head & ~face] = HAIR
        parse[face] = FACE
    else:
        chin = int(shoulder_y - 0.15 * shoulder_width)

    # arms: skin in capsules along each arm chain, and the hands
    radius = 0.16 * shoulder_width
    arms, sleeves = {}, np.zeros((h, w), bool)
    for label, chain, side in ((LEFT_ARM, (5, 6, 7), "left"), (RIGHT_ARM, (2, 3, 4), "right")):
        capsule = np.zeros((h, w), np.uint8)
        _capsule(capsule, [_point(body, i) for i in chain], radius)
        arm = (capsule > 0) & skin & person
        sleeves |= (capsule > 0) & person & ~skin
        hand = draw_hand(kp.hand(side), (h, w), width=1.3)
        if hand is not None:
            arm |= hand[0] & person
        arms[label] = arm

    # the torso: above the hips, upper clothes unless skin (the neck, an open collar)
    hips = [p for p in (_point(body, 9), _point(body, 12)) if p is not None]
    hip_y = float(np.mean([p[1] for p in hips])) if hips else shoulder_y + 1.6 * shoulder_width
    rows = np.arange(h)[:, None] * np.ones((1, w))
    upper_zone = person & (rows > chin) & (rows <= hip_y) & (parse == BACKGROUND)
    parse[upper_zone] = UPPER
    parse[upper_zone & skin & (rows < shoulder_y + 0.6 * shoulder_width)] = NECK
    lower_zone = person & (rows > hip_y) & (parse == BACKGROUND)
    parse[lower_zone] = PANTS
    mid_x = float(body[8, 0]) if body[8, 2] > 0 else w / 2
    cols = np.arange(w)[None, :] * np.ones((h, 1))
    legs = lower_zone & skin
    parse[legs & (cols >= mid_x)] = LEFT_LEG  # the person's left is the image's right
    parse[legs & (cols < mid_x)] = RIGHT_LEG
    _split_by_colour(image, parse, person & ~skin, rows, shoulder_y, hip_y)
    parse[sleeves & (rows > chin) & np.isin(parse, (UPPER, PANTS, NECK))] = UPPER  # a sleeve below the hips
    for label, arm in arms.items():
        parse[arm & (parse != FACE)] = label
    # what is left of the person above the chin (a hat, a raised hand's sleeve) stays as found: hair or upper
    parse[person & (parse == BACKGROUND) & (rows <= chin)] = HAIR
    return parse, skin_colour
