"""Flat in-shop garments: a body with a neckline, two sleeves, and a printed texture.

The garment is designed in a canonical frame 256 units high (the sample's default 256x192 image) and
drawn at any size. Besides the picture and its mask it keeps a *part map* (body, right sleeve, left
sleeve) and the anchor points that say where the neck, shoulders, armpits, waist and hips of its wearer
go: :mod:`.render` maps a person's body onto these anchors to wear it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .geometry import ellipse, polygon

# Part ids in a garment's part map. "Right" is the wearer's right: the image's left in a front view.
BODY, SLEEVE_RIGHT, SLEEVE_LEFT = 1, 2, 3

GARMENT_COLOURS = (
    (28, 42, 84), (24, 24, 28), (238, 238, 232), (178, 34, 44), (46, 112, 72), (214, 170, 48),
    (222, 120, 150), (104, 160, 214), (128, 130, 136), (112, 116, 60), (112, 28, 48), (30, 128, 130),
    (232, 112, 40), (160, 140, 200), (60, 90, 160), (200, 80, 60),
)
TEXTURES = ("solid", "stripes", "vstripes", "checks", "dots", "logo", "text")
WORDS = ("VTON", "HELLO", "HANDS", "2026", "LoRA", "PLAY", "DCI", "CODE")
CENTRE_X = 96.0  # canonical frame: 256 x 192


@dataclass
class Sleeve:
    """A sleeve in cloth pixels: its axis starts at ``origin`` (the middle of the armhole seam)."""

    origin: np.ndarray
    axis: np.ndarray  # unit vector from the shoulder towards the cuff
    normal: np.ndarray  # axis turned (dx, dy) -> (-dy, dx), the convention of polyline_coords
    half_width: float
    length: float
    seam_slope: float  # the armhole seam in sleeve coordinates: s = seam_slope * d


@dataclass
class Garment:
    """A flat garment drawn at one image size, with everything needed to put it on a person."""

    image: np.ndarray  # (H, W, 3) uint8, white background
    parts: np.ndarray  # (H, W) uint8: 0 outside, BODY, SLEEVE_RIGHT, SLEEVE_LEFT
    anchors: dict[str, np.ndarray]  # name -> (x, y) in pixels
    sleeves: dict[str, Sleeve]  # "right" / "left"
    description: dict = field(default_factory=dict)

    @property
    def mask(self) -> np.ndarray:
        return self.parts > 0


def random_design(rng: np.random.Generator) -> dict:
    """Draw a garment's design: cut, fit, length, neckline, texture and colours (canonical units)."""
    sleeve = str(rng.choice(["short", "long"], p=[0.6, 0.4]))
    colours = rng.choice(len(GARMENT_COLOURS), size=2, replace=False)
    return dict(
        sleeve=sleeve,
        neckline=str(rng.choice(["round", "crew", "v"])),
        texture=str(rng.choice(TEXTURES)),
        colour=GARMENT_COLOURS[colours[0]],
        colour2=GARMENT_COLOURS[colours[1]],
        period=float(rng.uniform(7, 14)),
        word=str(rng.choice(WORDS)),
        logo=str(rng.choice(["circle", "star", "triangle"])),
        collar_y=float(rng.uniform(40, 46)),
        neck_half_width=float(rng.uniform(12, 16)),
        neck_depth=float(rng.uniform(6, 22)),
        shoulder_half_width=float(rng.uniform(47, 53)),
        armhole_depth=float(rng.uniform(30, 36)),
        armpit_inset=float(rng.uniform(3, 7)),
        waist_half_width=float(rng.uniform(38, 46)),
        hip_half_width=float(rng.uniform(40, 50)),
        length=float(rng.uniform(-14, 30)),  # hem below (+) or above (-) the wearer's hip line
        flare=float(rng.uniform(0, 6)),
        sleeve_angle=float(np.deg2rad(rng.uniform(48, 60) if sleeve == "short" else rng.uniform(18, 26))),
        sleeve_length=float(rng.uniform(26, 42) if sleeve == "short" else rng.uniform(118, 130)),
        cuff_taper=float(rng.uniform(0.75, 0.95)),
    )


# Where the wearer's hips and waist sit on every garment (canonical units below the collar line).
WAIST_DROP, HIP_DROP = 70.0, 118.0


def draw_garment(design: dict, size: tuple[int, int]) -> Garment:
    """Render a design at (height, width) pixels."""
    h, w = size
    u = h / 256.0
    cx = CENTRE_X * u + (w - 192 * u) / 2
    d = design
    yc = d["collar_y"] * u
    anchors: dict[str, np.ndarray] = {"collar": np.array([cx, yc])}
    sleeves: dict[str, Sleeve] = {}
    outline_half: list[np.ndarray] = []  # right half (image left), from the collar down to the hem
    for side, sign in (("right", -1.0), ("left", 1.0)):
        collar = np.array([cx + sign * d["neck_half_width"] * u, yc - 1 * u])
        top = np.array([cx + sign * d["shoulder_half_width"] * u, yc + 8 * u])
        armpit = np.array([cx + sign * (d["shoulder_half_width"] - d["armpit_inset"]) * u,
                           yc + (8 + d["armhole_depth"]) * u])
        waist = np.array([cx + sign * d["waist_half_width"] * u, yc + WAIST_DROP * u])
        hip = np.array([cx + sign * d["hip_half_width"] * u, yc + HIP_DROP * u])
        anchors.update({f"collar_{side}": collar, f"shoulder_{side}": top, f"armpit_{side}": armpit,
                        f"waist_{side}": waist, f"hip_{side}": hip})
        # sleeve: a tapered strip leaving the armhole seam (top -> armpit) at the sleeve angle
        axis = np.array([sign * np.sin(d["sleeve_angle"]), np.cos(d["sleeve_angle"])])
        normal = np.array([-axis[1], axis[0]])
        half = abs(float((top - armpit) @ normal)) / 2
        origin = (top + armpit) / 2
        rel = top - origin
        slope = float((rel @ axis) / (rel @ normal))
        sleeves[side] = Sleeve(origin, axis, normal, half, d["sleeve_length"] * u, slope)
        if side == "right":
            outline_half = [collar, top, armpit]

    hem_y = yc + (HIP_DROP + d["length"]) * u

    def side_x(y: float) -> float:  # distance of the side seam from the centre line at height y
        ys = np.array([anchors["armpit_right"][1], anchors["waist_right"][1], anchors["hip_right"][1]])
        xs = np.array([d["shoulder_half_width"] - d["armpit_inset"], d["waist_half_width"],
                       d["hip_half_width"]]) * u
        if y <= ys[-1]:
            return float(np.interp(y, ys, xs))
        return float(xs[-1] + d["flare"] * u * (y - ys[-1]) / (30 * u))

    levels = [y for y in (anchors["waist_right"][1], anchors["hip_right"][1]) if y < hem_y] + [hem_y]
    right = outline_half + [np.array([cx - side_x(y), y]) for y in levels]
    left = [np.array([2 * cx - p[0], p[1]]) for p in right]
    body = polygon((h, w), np.array(right + left[::-1]))
    # neckline
    nw, depth = d["neck_half_width"] * u, d["neck_depth"] * u
    if d["neckline"] == "v":
        cut = polygon((h, w), [(cx - nw, yc - 3 * u), (cx + nw, yc - 3 * u), (cx, yc + (depth + 8 * u))])
    else:
        cut = ellipse((h, w), (cx, yc - 2 * u), nw, depth * (0.5 if d["neckline"] == "crew" else 1.0) + 2 * u)
    body &= ~cut

    parts = np.zeros((h, w), np.uint8)
    for side, part in (("right", SLEEVE_RIGHT), ("left", SLEEVE_LEFT)):
        s = sleeves[side]
        top, armpit = anchors[f"shoulder_{side}"], anchors[f"armpit_{side}"]
        outer = s.normal * np.sign((top - s.origin) @ s.normal)  # the normal pointing to the top edge
        cuff = s.origin + s.length * s.axis
        quad = [top, cuff + outer * s.half_width * d["cuff_taper"],
                cuff - outer * s.half_width * d["cuff_taper"], armpit]
        parts[polygon((h, w), quad) & ~body] = part
    parts[body] = BODY
    image = _texture(d, (h, w), u, cx, yc)
    image[parts == 0] = 255
    return Garment(image=image, parts=parts, anchors=anchors, sleeves=sleeves, description=dict(d))


def _texture(d: dict, size, u: float, cx: float, yc: float) -> np.ndarray:
    h, w = size
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    c1, c2 = np.array(d["colour"], np.uint8), np.array(d["colour2"], np.uint8)
    p = d["period"] * u
    kind = d["texture"]
    if kind == "stripes":
        second = ((ys - yc) // p) % 2 == 1
    elif kind == "vstripes":
        second = ((xs - cx) // p) % 2 == 1
    elif kind == "checks":
        second = (((xs - cx) // p) + ((ys - yc) // p)) % 2 == 1
    elif kind == "dots":
        gx = (xs - cx) - np.round((xs - cx) / p) * p
        gy = (ys - yc) - np.round((ys - yc) / p) * p
        second = np.hypot(gx, gy) < 0.28 * p
    else:
        second = np.zeros((h, w), bool)
    image = np.where(second[..., None], c2, c1).astype(np.uint8)
    centre = (cx + 14 * u, yc + 36 * u)  # left chest, where brands print
    if kind == "logo":
        r = 11 * u
        if d["logo"] == "circle":
            shape = ellipse((h, w), centre, r, r)
        elif d["logo"] == "triangle":
            shape = polygon((h, w), [(centre[0], centre[1] - r), (centre[0] + r, centre[1] + r * 0.8),
                                     (centre[0] - r, centre[1] + r * 0.8)])
        else:
            angles = -np.pi / 2 + np.arange(10) * np.pi / 5
            radii = np.where(np.arange(10) % 2 == 0, r * 1.2, r * 0.5)
            shape = polygon((h, w), np.stack([centre[0] + radii * np.cos(angles),
                                              centre[1] + radii * np.sin(angles)], -1))
        image[shape] = c2
    elif kind == "text":
        font = ImageFont.load_default(size=max(6, int(round(15 * u))))
        canvas = Image.new("L", (w, h), 0)
        ImageDraw.Draw(canvas).text((cx, yc + 40 * u), d["word"], fill=255, font=font, anchor="mm")
        image[np.asarray(canvas) > 127] = c2
    return image

