"""Small exact geometry for the sample generator: shapes as boolean masks, warps, inverse kinematics.

Pixel (row r, column c) has its centre at (x=c, y=r), the convention OpenPose keypoints use, so a
keypoint inside a drawn shape is inside the same shape's mask.
"""

from __future__ import annotations

import numpy as np
from skimage.draw import polygon as _polygon_pixels


def _window(shape, x0, y0, x1, y1):
    """Integer bounds of a box clipped to the image, or None when it misses the image."""
    h, w = shape
    c0, r0 = max(int(np.floor(x0)), 0), max(int(np.floor(y0)), 0)
    c1, r1 = min(int(np.ceil(x1)) + 1, w), min(int(np.ceil(y1)) + 1, h)
    if c0 >= c1 or r0 >= r1:
        return None
    return r0, r1, c0, c1


def capsule(shape, p0, p1, r0: float, r1: float | None = None) -> np.ndarray:
    """Pixels within a radius of segment p0-p1; the radius goes linearly from r0 to r1 (a taper)."""
    r1 = r0 if r1 is None else r1
    p0, p1 = np.asarray(p0, float), np.asarray(p1, float)
    out = np.zeros(shape, bool)
    rmax = max(r0, r1)
    win = _window(shape, min(p0[0], p1[0]) - rmax, min(p0[1], p1[1]) - rmax,
                  max(p0[0], p1[0]) + rmax, max(p0[1], p1[1]) + rmax)
    if win is None:
        return out
    ra, rb, ca, cb = win
    ys, xs = np.mgrid[ra:rb, ca:cb]
    d = p1 - p0
    length2 = float(d @ d)
    t = np.zeros(xs.shape) if length2 == 0 else np.clip(((xs - p0[0]) * d[0] + (ys - p0[1]) * d[1]) / length2, 0, 1)
    dist = np.hypot(xs - (p0[0] + t * d[0]), ys - (p0[1] + t * d[1]))
    out[ra:rb, ca:cb] = dist <= r0 + t * (r1 - r0)
    return out


def ellipse(shape, centre, rx: float, ry: float, angle: float = 0.0) -> np.ndarray:
    """Pixels inside an ellipse with radii (rx, ry), rotated by ``angle`` radians."""
    cx, cy = centre
    out = np.zeros(shape, bool)
    r = max(rx, ry)
    win = _window(shape, cx - r, cy - r, cx + r, cy + r)
    if win is None:
        return out
    ra, rb, ca, cb = win
    ys, xs = np.mgrid[ra:rb, ca:cb]
    c, s = np.cos(angle), np.sin(angle)
    u = (xs - cx) * c + (ys - cy) * s
    v = -(xs - cx) * s + (ys - cy) * c
    out[ra:rb, ca:cb] = (u / rx) ** 2 + (v / ry) ** 2 <= 1.0
    return out


def polygon(shape, points) -> np.ndarray:
    """Pixels whose centres lie inside the polygon (points as (x, y))."""
    pts = np.asarray(points, float)
    out = np.zeros(shape, bool)
    rr, cc = _polygon_pixels(pts[:, 1], pts[:, 0], shape)
    out[rr, cc] = True
    return out


def boundary(labels: np.ndarray) -> np.ndarray:
    """Pixels with a 4-neighbour of another label (the outline of every region)."""
    edge = np.zeros(labels.shape, bool)
    diff_v = labels[1:, :] != labels[:-1, :]
    diff_h = labels[:, 1:] != labels[:, :-1]
    edge[1:, :] |= diff_v
    edge[:-1, :] |= diff_v
    edge[:, 1:] |= diff_h
    edge[:, :-1] |= diff_h
    return edge


def rot(v, angle: float) -> np.ndarray:
    """Rotate a 2-D vector by ``angle`` radians (counter-clockwise on screen is negative here)."""
    c, s = np.cos(angle), np.sin(angle)
    return np.array([c * v[0] - s * v[1], s * v[0] + c * v[1]])


def unit(v) -> np.ndarray:
    v = np.asarray(v, float)
    n = np.hypot(v[0], v[1])
    return v / n if n > 0 else np.array([0.0, 1.0])


def two_link_ik(shoulder, target, l1: float, l2: float, outward: float):
    """Elbow and wrist of an arm of segment lengths l1, l2 reaching for ``target``.

    Of the two elbow solutions the one on the ``outward`` side (sign of x offset) is taken, so elbows
    point away from the body. An unreachable target is approached as far as the arm allows.
    """
    s, t = np.asarray(shoulder, float), np.asarray(target, float)
    d = np.clip(np.hypot(*(t - s)), abs(l1 - l2) + 1e-3, l1 + l2 - 1e-3)
    direction = unit(t - s)
    a = np.arccos(np.clip((l1 ** 2 + d ** 2 - l2 ** 2) / (2 * l1 * d), -1, 1))
    candidates = [s + l1 * rot(direction, sign * a) for sign in (1, -1)]
    elbow = max(candidates, key=lambda e: (e[0] - s[0]) * outward)
    wrist = s + d * direction
    return elbow, wrist


# --- thin-plate spline: a smooth map through control points --------------------------------------
def _tps_kernel(r2: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        k = r2 * np.log(r2)
    return np.nan_to_num(k)


def tps_fit(src, dst) -> tuple[np.ndarray, np.ndarray]:
    """Thin-plate spline taking points ``src`` (n, 2) exactly onto ``dst`` (n, 2)."""
    src, dst = np.asarray(src, float), np.asarray(dst, float)
    n = len(src)
    k = _tps_kernel(((src[:, None] - src[None]) ** 2).sum(-1))
    p = np.hstack([np.ones((n, 1)), src])
    a = np.zeros((n + 3, n + 3))
    a[:n, :n], a[:n, n:], a[n:, :n] = k, p, p.T
    b = np.zeros((n + 3, 2))
    b[:n] = dst
    coef = np.linalg.solve(a, b)
    return src, coef


def tps_apply(tps, xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Evaluate a spline from :func:`tps_fit` at points (xs, ys) of any shape."""
    src, coef = tps
    n = len(src)
    pts = np.stack([xs.ravel(), ys.ravel()], -1).astype(float)
    k = _tps_kernel(((pts[:, None] - src[None]) ** 2).sum(-1))
    out = k @ coef[:n] + coef[n] + pts @ coef[n + 1:]
    return out[:, 0].reshape(xs.shape), out[:, 1].reshape(xs.shape)


def polyline_coords(points, xs: np.ndarray, ys: np.ndarray):
    """Arc length ``s`` along a polyline of its nearest point, and signed distance ``d`` from it.

    ``d`` is positive on the side a quarter-turn clockwise on screen from the direction of travel:
    (dx, dy) turned to (-dy, dx). With this pair of coordinates a bent arm unrolls into a straight strip.
    """
    pts = np.asarray(points, float)
    best = np.full(xs.shape, np.inf)
    s_out = np.zeros(xs.shape)
    d_out = np.zeros(xs.shape)
    start = 0.0
    for a, b in zip(pts[:-1], pts[1:]):
        seg = b - a
        length = float(np.hypot(*seg))
        direction = seg / length
        t = np.clip((xs - a[0]) * direction[0] + (ys - a[1]) * direction[1], 0, length)
        px, py = a[0] + t * direction[0], a[1] + t * direction[1]
        dist = np.hypot(xs - px, ys - py)
        side = (xs - a[0]) * -direction[1] + (ys - a[1]) * direction[0]
        closer = dist < best
        best = np.where(closer, dist, best)
        s_out = np.where(closer, start + t, s_out)
        d_out = np.where(closer, np.where(side >= 0, dist, -dist), d_out)
        start += length
    return s_out, d_out
