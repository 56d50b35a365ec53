"""Hands drawn from their 21 OpenPose keypoints: a palm polygon plus five tapered fingers.

A hand is built in its own frame (``v`` along the hand from the wrist to the middle fingertip, ``w``
across it, towards the thumb), then placed at the wrist. Curling a finger towards the palm shortens it
on screen (it points at the camera), so a fist is a palm with short stubs, as in a photo.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .geometry import capsule, polygon, unit

# Gestures: curl (radians per joint, index..little), spread factor, thumb angle from the hand axis.
GESTURES = {
    "open": dict(curl=(0.05, 0.05, 0.05, 0.08), spread=2.2, thumb=0.95),
    "relaxed": dict(curl=(0.35, 0.4, 0.45, 0.5), spread=1.0, thumb=0.55),
    "fist": dict(curl=(1.55, 1.6, 1.6, 1.6), spread=0.6, thumb=0.15),
    "point": dict(curl=(0.0, 1.6, 1.6, 1.6), spread=0.8, thumb=0.25),
    "peace": dict(curl=(0.0, 0.0, 1.6, 1.6), spread=2.6, thumb=0.25),
}

# Per finger (index, middle, ring, little): MCP position across the palm (in palm half-widths), along
# it (in palm lengths), length relative to the middle finger, and base angle (radians, + = thumb side).
_MCP_W = (0.78, 0.26, -0.26, -0.74)
_MCP_V = (0.97, 1.0, 0.96, 0.87)
_FINGER_LEN = (0.93, 1.0, 0.94, 0.74)
_FINGER_ANGLE = (0.12, 0.0, -0.1, -0.2)
_PHALANX = (0.45, 0.3, 0.25)


@dataclass
class Hand:
    """A hand ready to draw: 21 keypoints (x, y) and the radii that give it thickness."""

    points: np.ndarray  # (21, 2) in pixels, OpenPose order
    finger_radius: float
    palm_outline: np.ndarray  # (k, 2) polygon

    def mask(self, shape) -> np.ndarray:
        p, r = self.points, self.finger_radius
        m = polygon(shape, self.palm_outline)
        m |= capsule(shape, p[0], p[1], r * 1.6, r * 1.4)  # wrist to the base of the thumb
        for finger in range(5):  # thumb, index, middle, ring, little: four points each
            chain = range(1 + 4 * finger, 5 + 4 * finger)
            radius = r * (1.3 if finger == 0 else 1.0)
            for a, b in zip(chain[:-1], chain[1:]):
                m |= capsule(shape, p[a], p[b], radius, radius * 0.85)
        return m


def make_hand(wrist, direction, length: float, thumb_sign: float, gesture: str,
              rng: np.random.Generator) -> Hand:
    """Place a hand of ``length`` (wrist to middle fingertip, straight) at ``wrist``, pointing along
    ``direction``; ``thumb_sign`` +1 puts the thumb on the (dx, dy) -> (-dy, dx) side."""
    g = GESTURES[gesture]
    v_axis = unit(direction)
    w_axis = np.array([-v_axis[1], v_axis[0]]) * thumb_sign
    wrist = np.asarray(wrist, float)

    def place(w, v):
        return wrist + v * v_axis + w * w_axis

    palm_len = 0.46 * length
    half_w = 0.21 * length
    middle_len = length - palm_len
    pts = np.zeros((21, 2))
    pts[0] = wrist
    jitter = lambda s: rng.normal(0, s)  # noqa: E731 - small natural variation per joint
    # thumb: CMC near the wrist on the thumb side, then three segments splayed out from the hand axis
    pts[1] = place(0.55 * half_w, 0.2 * palm_len)
    angle = g["thumb"] + jitter(0.08)
    thumb_dir = np.cos(angle) * v_axis + np.sin(angle) * w_axis
    thumb_curl = 0.3 if gesture in ("fist", "point", "peace") else 0.1
    for j, seg in enumerate((0.2, 0.16, 0.13)):
        bend = thumb_curl * (j + 1)
        d = np.cos(angle - bend) * v_axis + np.sin(angle - bend) * w_axis
        pts[2 + j] = pts[1 + j] + seg * length * (d if j else thumb_dir)
    # fingers: straight in the image plane, foreshortened by their curl towards the palm
    for f in range(4):
        base = 5 + 4 * f
        mcp = place(_MCP_W[f] * half_w, _MCP_V[f] * palm_len)
        pts[base] = mcp
        a = _FINGER_ANGLE[f] * g["spread"] + jitter(0.04)
        d = np.cos(a) * v_axis + np.sin(a) * w_axis
        curl = max(g["curl"][f] + jitter(0.08), 0.0)
        cumulative = 0.0
        for j, share in enumerate(_PHALANX):
            cumulative += curl * (1.0 + 0.3 * j)
            seg = share * _FINGER_LEN[f] * middle_len * np.cos(min(cumulative, 2.6))
            pts[base + 1 + j] = pts[base + j] + seg * d
    radius = 0.065 * length
    outline = np.array([
        place(-0.85 * half_w, 0.0), place(0.75 * half_w, 0.0), place(1.05 * half_w, 0.3 * palm_len),
        place(_MCP_W[0] * half_w + radius, _MCP_V[0] * palm_len),
        place(_MCP_W[1] * half_w, _MCP_V[1] * palm_len + radius * 0.5),
        place(_MCP_W[2] * half_w, _MCP_V[2] * palm_len + radius * 0.5),
        place(_MCP_W[3] * half_w - radius, _MCP_V[3] * palm_len),
        place(-1.0 * half_w, 0.35 * palm_len),
    ])
    return Hand(points=pts, finger_radius=max(radius, 0.6), palm_outline=outline)
