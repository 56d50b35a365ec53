"""OpenPose keypoints: read and write VITON-HD's ``*_keypoints.json``, draw ``*_rendered.png``.

A point is (x, y, confidence) in pixels of the image it was detected on; OpenPose writes (0, 0, 0) for
a point it did not find, so confidence 0 means "absent", never "at the origin".
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from ..fileio import DataError, read_json, write_json
from . import labels as L


@dataclass
class Keypoints:
    """One person's OpenPose keypoints; arrays are float32 (K, 3) of x, y, confidence."""

    body: np.ndarray  # (25, 3) BODY_25
    hand_left: np.ndarray  # (21, 3), the person's left hand
    hand_right: np.ndarray  # (21, 3)
    people: int = 1  # people in the file; the most confident one is these points

    def hand(self, side: str) -> np.ndarray:
        if side not in ("left", "right"):
            raise ValueError(f"side must be 'left' or 'right', got {side!r}")
        return self.hand_left if side == "left" else self.hand_right

    def scaled(self, sx: float, sy: float) -> "Keypoints":
        """The same points in an image resized by (sx, sy); absent points stay (0, 0, 0)."""

        def scale(a):
            out = a.copy()
            out[:, 0] *= sx
            out[:, 1] *= sy
            return out

        return Keypoints(scale(self.body), scale(self.hand_left), scale(self.hand_right))


def _points(values, count: int, what: str, path) -> np.ndarray:
    a = np.asarray(values if values is not None else [], dtype=np.float32)
    if a.size == 0:  # OpenPose run without --hand writes empty lists: treat as "not found"
        return np.zeros((count, 3), np.float32)
    if a.ndim != 1 or a.size != count * 3:
        raise DataError(path, f"{what} has {a.size} numbers, expected {count * 3} ({count} points x 3)")
    if not np.isfinite(a).all():
        raise DataError(path, f"{what} contains NaN or infinite values")
    return a.reshape(count, 3)


def _confidence(person) -> float:
    try:
        return float(np.asarray(person["pose_keypoints_2d"], np.float64).reshape(-1, 3)[:, 2].sum())
    except (KeyError, TypeError, ValueError):
        return -1.0


def read_keypoints(path: str | os.PathLike) -> Keypoints:
    """Read the person of an OpenPose JSON file (the most confident, if it lists several: ``people`` says how
    many); raise :class:`DataError` on any defect."""
    data = read_json(path)
    if not isinstance(data, dict) or "people" not in data:
        raise DataError(path, "not an OpenPose file: no 'people' list")
    people = data["people"]
    if not isinstance(people, list) or not people:
        raise DataError(path, "OpenPose found no person in this image ('people' is empty)")
    # VITON-HD's files hold one person; where OpenPose found more (a reflection, a passer-by), the person
    # it saw best is the one photographed
    person = max(people, key=lambda p: _confidence(p)) if len(people) > 1 else people[0]
    if not isinstance(person, dict) or "pose_keypoints_2d" not in person:
        raise DataError(path, "the person has no 'pose_keypoints_2d'")
    try:
        return Keypoints(
            body=_points(person["pose_keypoints_2d"], 25, "pose_keypoints_2d", path),
            hand_left=_points(person.get("hand_left_keypoints_2d"), 21, "hand_left_keypoints_2d", path),
            hand_right=_points(person.get("hand_right_keypoints_2d"), 21, "hand_right_keypoints_2d", path),
            people=len(people),
        )
    except (TypeError, ValueError) as e:
        raise DataError(path, f"keypoints are not numbers ({e})") from None


def write_keypoints(path: str | os.PathLike, kp: Keypoints) -> None:
    """Write OpenPose 1.3 JSON, as VITON-HD ships it (one person, 2-D points, empty 3-D lists)."""

    def flat(a):
        return [round(float(v), 3) for v in np.asarray(a, np.float64).reshape(-1)]

    person = {
        "person_id": [-1],
        "pose_keypoints_2d": flat(kp.body),
        "face_keypoints_2d": [],
        "hand_left_keypoints_2d": flat(kp.hand_left),
        "hand_right_keypoints_2d": flat(kp.hand_right),
        "pose_keypoints_3d": [],
        "face_keypoints_3d": [],
        "hand_left_keypoints_3d": [],
        "hand_right_keypoints_3d": [],
    }
    write_json(path, {"version": 1.3, "people": [person]}, indent=None)


def render_keypoints(kp: Keypoints, size: tuple[int, int], background: np.ndarray | None = None,
                     min_confidence: float = 0.05) -> np.ndarray:
    """Draw the skeleton like OpenPose's ``--disable_blending`` output: RGB (H, W, 3), black behind.

    Pass ``background`` (an RGB image) to draw over a photo instead.
    """
    h, w = size
    canvas = Image.fromarray(background) if background is not None else Image.new("RGB", (w, h))
    draw = ImageDraw.Draw(canvas)
    scale = h / 1024.0  # OpenPose's line widths at VITON-HD's 1024 px height
    limb_w = max(1, round(8 * scale))
    joint_r = max(1, round(8 * scale))
    for (a, b) in L.BODY_25_LIMBS:
        if kp.body[a, 2] > min_confidence and kp.body[b, 2] > min_confidence:
            draw.line([tuple(kp.body[a, :2]), tuple(kp.body[b, :2])], fill=L.BODY_25_COLORS[b], width=limb_w)
    for i, (x, y, c) in enumerate(kp.body):
        if c > min_confidence:
            draw.ellipse((x - joint_r, y - joint_r, x + joint_r, y + joint_r), fill=L.BODY_25_COLORS[i])
    hand_w = max(1, round(4 * scale))
    for hand in (kp.hand_left, kp.hand_right):
        for k, (a, b) in enumerate(L.HAND_LIMBS):
            if hand[a, 2] > min_confidence and hand[b, 2] > min_confidence:
                draw.line([tuple(hand[a, :2]), tuple(hand[b, :2])], fill=L.HAND_FINGER_COLORS[k // 4],
                          width=hand_w)
        for x, y, c in hand:
            if c > min_confidence:
                draw.ellipse((x - hand_w, y - hand_w, x + hand_w, y + hand_w), fill=(0, 0, 255))
    return np.array(canvas)
