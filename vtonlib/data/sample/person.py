"""Synthetic people: body proportions, colours and arm poses, as a skeleton of keypoints.

All lengths are drawn in canonical units (an image 256 high, 192 wide) and scaled to pixels, so one
seed gives the same person at every image size.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .geometry import rot, two_link_ik, unit
from .hand import Hand, make_hand

SKIN_TONES = (
    (255, 224, 196), (241, 194, 160), (224, 172, 130), (198, 140, 100), (170, 112, 76),
    (141, 85, 54), (110, 66, 42), (84, 52, 34),
)
HAIR_COLOURS = ((24, 20, 18), (70, 44, 28), (120, 80, 44), (196, 160, 100), (150, 60, 30), (150, 150, 150))
# (no white: it would vanish into the light backgrounds)
BOTTOM_COLOURS = ((52, 78, 128), (30, 32, 40), (200, 186, 150), (110, 112, 118), (78, 96, 60), (120, 40, 40),
                  (60, 60, 90))
BACKGROUNDS = ((236, 236, 236), (226, 226, 230), (240, 236, 228), (228, 234, 236), (242, 242, 242))

# Arm poses. "behind" and "out_of_frame" are the hard cases: a hand hidden by the body, or cut by the
# image border. Two pairs have no clear hand at all, so the hand-visible subset has people to drop.
# At most one arm goes across the front.
POSES = ("side", "hip", "raised", "front", "behind", "out_of_frame")
POSE_PAIRS = (
    ("side", "side"), ("side", "hip"), ("hip", "hip"), ("raised", "side"), ("front", "side"),
    ("hip", "front"), ("behind", "side"), ("side", "out_of_frame"), ("raised", "hip"),
    ("front", "raised"), ("side", "behind"), ("out_of_frame", "hip"), ("behind", "behind"),
    ("out_of_frame", "behind"),
)
GESTURE_BY_POSE = {
    "side": ("relaxed", "relaxed", "open"),
    "hip": ("relaxed", "fist"),
    "raised": ("open", "peace", "point", "fist"),
    "front": ("relaxed", "fist", "point"),
    "behind": ("relaxed", "fist"),
    "out_of_frame": ("open", "relaxed"),
}


@dataclass
class Arm:
    side: str  # "right" (image left) or "left"
    pose: str
    shoulder: np.ndarray
    elbow: np.ndarray
    wrist: np.ndarray
    radii: tuple[float, float, float]  # at shoulder, elbow, wrist
    hand: Hand
    gesture: str

    @property
    def upper_length(self) -> float:
        return float(np.hypot(*(self.elbow - self.shoulder)))


@dataclass
class Person:
    """Everything needed to draw one person, in pixels."""

    size: tuple[int, int]
    u: float  # pixels per canonical unit
    cx: float
    skin: tuple[int, int, int]
    hair: tuple[int, int, int]
    hair_style: str  # "short", "long", "bun"
    bottom: str  # "pants" or "skirt"
    bottom_colour: tuple[int, int, int]
    background: tuple[int, int, int]
    head: tuple[np.ndarray, float, float]  # centre, rx, ry
    neck_half_width: float
    shoulder_y: float
    shoulder_half_width: float
    waist_half_width: float
    hip_y: float
    hip_half_width: float
    arms: dict[str, Arm] = field(default_factory=dict)

    def anchors(self) -> dict[str, np.ndarray]:
        """Where a garment's anchors go on this body (see :mod:`.garment`)."""
        u, cx, sy = self.u, self.cx, self.shoulder_y
        out = {"collar": np.array([cx, sy - 6 * u])}
        for side, sign in (("right", -1.0), ("left", 1.0)):
            out[f"collar_{side}"] = np.array([cx + sign * (self.neck_half_width + 2 * u), sy - 7 * u])
            out[f"shoulder_{side}"] = np.array([cx + sign * (self.shoulder_half_width + 6 * u), sy - 4 * u])
            out[f"armpit_{side}"] = np.array([cx + sign * (self.shoulder_half_width - 1 * u), sy + 22 * u])
            out[f"waist_{side}"] = np.array([cx + sign * self.waist_half_width, (sy + self.hip_y) / 2 + 6 * u])
            out[f"hip_{side}"] = np.array([cx + sign * self.hip_half_width, self.hip_y])
        return out


def random_person(rng: np.random.Generator, size: tuple[int, int], poses: tuple[str, str]) -> Person:
    """Draw a person with the given (right arm, left arm) poses."""
    h, w = size
    u = h / 256.0
    cx = (96.0 + rng.uniform(-4, 4)) * u + (w - 192 * u) / 2
    head_c = np.array([cx + rng.uniform(-1, 1) * u, rng.uniform(34, 39) * u])
    p = Person(
        size=size, u=u, cx=cx,
        skin=SKIN_TONES[rng.integers(len(SKIN_TONES))],
        hair=HAIR_COLOURS[rng.integers(len(HAIR_COLOURS))],
        hair_style=str(rng.choice(["short", "long", "bun"])),
        bottom=str(rng.choice(["pants", "skirt"], p=[0.7, 0.3])),
        bottom_colour=BOTTOM_COLOURS[rng.integers(len(BOTTOM_COLOURS))],
        background=BACKGROUNDS[rng.integers(len(BACKGROUNDS))],
        head=(head_c, rng.uniform(12.5, 15) * u, rng.uniform(16, 18.5) * u),
        neck_half_width=rng.uniform(5.5, 7) * u,
        shoulder_y=rng.uniform(68, 74) * u,
        shoulder_half_width=rng.uniform(30, 36) * u,
        waist_half_width=rng.uniform(23, 30) * u,
        hip_y=rng.uniform(150, 160) * u,
        hip_half_width=rng.uniform(24, 30) * u,
    )
    upper, fore = rng.uniform(43, 49) * u, rng.uniform(38, 43) * u
    radii = (rng.uniform(7, 8) * u, rng.uniform(5.3, 6) * u, rng.uniform(4, 4.6) * u)
    hand_length = rng.uniform(20, 25) * u
    for side, pose in zip(("right", "left"), poses):
        p.arms[side] = _pose_arm(rng, p, side, pose, upper, fore, radii, hand_length)
    return p


def _pose_arm(rng, p: Person, side: str, pose: str, upper: float, fore: float, radii, hand_length) -> Arm:
    u, cx = p.u, p.cx
    out = -1.0 if side == "right" else 1.0  # outward along x
    shoulder = np.array([cx + out * p.shoulder_half_width, p.shoulder_y + 2 * u])
    reach = upper + fore
    jit = lambda a, b: rng.uniform(a, b)  # noqa: E731
    if pose == "side":
        target = shoulder + np.array([out * jit(6, 16) * u, reach * jit(0.93, 0.99)])
    elif pose == "hip":
        target = np.array([cx + out * (p.hip_half_width + jit(0, 3) * u), p.hip_y - jit(6, 16) * u])
    elif pose == "raised":
        top = max(hand_length + 6 * u, shoulder[1] - jit(56, 70) * u)  # the raised hand stays in frame
        target = np.array([shoulder[0] + out * jit(10, 30) * u, top])
    elif pose == "front":
        target = np.array([cx - out * jit(0, 12) * u, p.shoulder_y + jit(48, 70) * u])
    elif pose == "behind":
        target = np.array([cx + out * jit(0, 10) * u, p.hip_y - jit(4, 18) * u])
    elif pose == "out_of_frame":
        edge = 0.0 if side == "right" else p.size[1] - 1.0
        target = np.array([edge - out * jit(0, 8) * u, shoulder[1] + jit(8, 34) * u])
    else:
        raise ValueError(f"unknown pose {pose!r}; choose from {POSES}")
    elbow, wrist = two_link_ik(shoulder, target, upper, fore, outward=out)
    forearm = unit(wrist - elbow)
    if pose == "hip":  # fingers point down and forward over the hip, not along the forearm
        direction = unit(forearm + np.array([0.0, 1.2]))
    elif pose == "behind":
        direction = unit(forearm + np.array([0.0, 0.5]))
    else:
        direction = rot(forearm, rng.uniform(-0.25, 0.25))
    gesture = str(rng.choice(GESTURE_BY_POSE[pose]))
    # Palm towards the camera puts a right hand's thumb on the (dx, dy) -> (-dy, dx) side.
    palm_front = rng.random() < 0.5
    thumb_sign = (1.0 if side == "right" else -1.0) * (1.0 if palm_front else -1.0)
    hand = make_hand(wrist, direction, hand_length, thumb_sign, gesture, rng)
    return Arm(side=side, pose=pose, shoulder=shoulder, elbow=elbow, wrist=wrist, radii=tuple(radii),
               hand=hand, gesture=gesture)
