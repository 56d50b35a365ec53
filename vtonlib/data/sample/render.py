"""Draw a person wearing a garment, and read every annotation off the same drawing.

Parts are painted back to front onto one canvas that records, per pixel, the colour, the part that
owns it, its parse label and its DensePose part. Because all annotations come from that one record,
they agree with each other exactly: the hand mask is the hand's pixels, the parse's arm labels contain
them, a hand keypoint is visible exactly when its pixel belongs to its hand, and the worn garment is the
flat garment sampled through the stored flow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import labels as L
from ..pose import Keypoints
from .garment import BODY, SLEEVE_LEFT, SLEEVE_RIGHT, Garment
from .geometry import boundary, capsule, ellipse, polygon, polyline_coords, tps_apply, tps_fit, unit
from .person import Arm, Person

# Owners: which drawn part a pixel belongs to.
(BACKGROUND, HAIR, FACE, TORSO_SKIN, GARMENT, SLEEVE_R, SLEEVE_L, UPPER_ARM_R, UPPER_ARM_L, FOREARM_R,
 FOREARM_L, HAND_R, HAND_L, BOTTOM_R, BOTTOM_L, LEG_R, LEG_L) = range(17)
SKIN_OWNERS = (FACE, TORSO_SKIN, UPPER_ARM_R, UPPER_ARM_L, FOREARM_R, FOREARM_L, HAND_R, HAND_L, LEG_R, LEG_L)
ARM_OWNERS = {"right": (SLEEVE_R, UPPER_ARM_R, FOREARM_R, HAND_R), "left": (SLEEVE_L, UPPER_ARM_L, FOREARM_L, HAND_L)}
HAND_OWNER = {"right": HAND_R, "left": HAND_L}
ARM_LABEL = {"right": L.RIGHT_ARM, "left": L.LEFT_ARM}
# DensePose parts for a front view (see labels.DENSEPOSE_PARTS)
DP_UPPER_ARM = {"right": 16, "left": 15}
DP_LOWER_ARM = {"right": 20, "left": 19}
DP_HAND = {"right": L.RIGHT_HAND_PART, "left": L.LEFT_HAND_PART}
DP_UPPER_LEG = {"right": 9, "left": 10}
DP_LOWER_LEG = {"right": 13, "left": 14}


class Canvas:
    """Layers painted back to front; each pixel keeps its colour, owner, parse label and DensePose part."""

    def __init__(self, size, background):
        h, w = size
        self.image = np.empty((h, w, 3), np.uint8)
        self.image[:] = background
        self.owner = np.zeros((h, w), np.uint8)
        self.parse = np.zeros((h, w), np.uint8)
        self.densepose = np.zeros((h, w), np.uint8)
        self.flow = np.full((h, w, 2), np.nan, np.float32)  # cloth pixel (x, y) under garment pixels

    def paint(self, mask, owner, label, part, colour, flow=None):
        self.image[mask] = colour if np.ndim(colour) == 1 else colour[mask]
        self.owner[mask] = owner
        self.parse[mask] = label
        self.densepose[mask] = part if np.ndim(part) == 0 else part[mask]
        self.flow[mask] = np.nan if flow is None else flow[mask]


def sample_bilinear(image: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Bilinear sample of ``image`` (H, W, C) at pixel coordinates, borders clamped; float32 result.

    This is ``torch.nn.functional.grid_sample(..., align_corners=True, padding_mode="border")``.
    """
    h, w = image.shape[:2]
    xs = np.clip(xs, 0, w - 1)
    ys = np.clip(ys, 0, h - 1)
    x0 = np.minimum(np.floor(xs).astype(np.intp), w - 2)
    y0 = np.minimum(np.floor(ys).astype(np.intp), h - 2)
    fx = (xs - x0)[..., None].astype(np.float32)
    fy = (ys - y0)[..., None].astype(np.float32)
    img = image.astype(np.float32)
    top = img[y0, x0] * (1 - fx) + img[y0, x0 + 1] * fx
    bottom = img[y0 + 1, x0] * (1 - fx) + img[y0 + 1, x0 + 1] * fx
    return top * (1 - fy) + bottom * fy


def _lookup(table: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """``table`` at cloth coordinates (nearest pixel; 0 outside the cloth image)."""
    h, w = table.shape
    c = np.rint(xs).astype(np.intp)
    r = np.rint(ys).astype(np.intp)
    inside = (c >= 0) & (c < w) & (r >= 0) & (r < h)
    out = np.zeros(xs.shape, table.dtype)
    out[inside] = table[r[inside], c[inside]]
    return out


@dataclass
class Rendering:
    image: np.ndarray  # (H, W, 3) uint8
    owner: np.ndarray  # (H, W) uint8, the drawn part of each pixel
    parse: np.ndarray  # (H, W) uint8, VITON-HD parse labels
    densepose: np.ndarray  # (H, W) uint8, DensePose part ids
    flow: np.ndarray  # (H, W, 2) float32, cloth (x, y) under each visible garment pixel, NaN elsewhere
    hands: dict  # side -> dict(points (21, 2), visible (21,) bool, pose, gesture)

    @property
    def hand_mask(self) -> np.ndarray:
        return np.isin(self.owner, (HAND_R, HAND_L))

    @property
    def garment_mask(self) -> np.ndarray:
        return np.isin(self.owner, (GARMENT, SLEEVE_R, SLEEVE_L))

    def warped_cloth(self) -> np.ndarray:
        """The worn garment alone on white, as DCI-VTON's ``cloth-warp`` images."""
        out = np.full_like(self.image, 255)
        m = self.garment_mask
        out[m] = self.image[m]
        return out


def render(person: Person, garment: Garment) -> Rendering:
    """Draw ``person`` wearing ``garment`` and record every annotation."""
    h, w = person.size
    u = person.u
    canvas = Canvas((h, w), person.background)
    head_c, rx, ry = person.head
    hair = np.array(person.hair, np.uint8)
    skin = np.array(person.skin, np.uint8)

    # 1. hair that falls behind the shoulders
    if person.hair_style == "long":
        back = capsule((h, w), head_c, head_c + np.array([0, person.shoulder_y - head_c[1] + 24 * u]), rx * 1.15)
        canvas.paint(back, HAIR, 2, 0, hair)
    # 2. an arm reaching behind the back is drawn before the body hides it
    arms_back = [a for a in person.arms.values() if a.pose == "behind"]
    arms_front = sorted((a for a in person.arms.values() if a.pose != "behind"), key=lambda a: a.pose == "front")
    garment_maps = _wear(person, garment)
    for arm in arms_back:
        _paint_arm(canvas, arm, skin, garment, garment_maps)
    # 3. legs and the lower garment
    _paint_bottom(canvas, person, skin)
    # 4. torso skin and neck, then the garment's body over them
    # (kept inside the garment's outline, so skin shows only where a garment leaves it bare)
    anchors = person.anchors()
    half = [np.array([person.cx - person.shoulder_half_width + 5 * u, person.shoulder_y - 3 * u]),
            anchors["waist_right"] + np.array([1.5 * u, 0]), anchors["hip_right"] + np.array([2 * u, 0])]
    torso = polygon((h, w), half + [np.array([2 * person.cx - x, y]) for x, y in half[::-1]])
    torso |= capsule((h, w), head_c, (person.cx, person.shoulder_y), person.neck_half_width)
    canvas.paint(torso, TORSO_SKIN, L.TORSO_SKIN, 2, skin)
    body_mask, body_colour, body_flow = garment_maps["body"]
    canvas.paint(body_mask, GARMENT, 5, 2, body_colour, body_flow)
    # 5. head: hair cap, face
    dp_head = np.where(np.arange(w)[None, :] < head_c[0], 23, 24).astype(np.uint8) * np.ones((h, 1), np.uint8)
    cap = ellipse((h, w), head_c - np.array([0, 0.12 * ry]), rx * 1.1, ry * 1.0)
    if person.hair_style == "bun":
        cap |= ellipse((h, w), head_c - np.array([0, 1.05 * ry]), rx * 0.5, rx * 0.45)
    canvas.paint(cap, HAIR, 2, dp_head, hair)
    face = ellipse((h, w), head_c + np.array([0, 0.1 * ry]), rx, ry * 0.92)
    canvas.paint(face, FACE, 13, dp_head, skin)
    # 6. arms in front of the body, an arm across the chest last
    for arm in arms_front:
        _paint_arm(canvas, arm, skin, garment, garment_maps)

    _draw_outlines_and_face(canvas, person)
    hands = _hand_annotations(canvas, person)
    return Rendering(canvas.image, canvas.owner, canvas.parse, canvas.densepose, canvas.flow, hands)


def _wear(person: Person, garment: Garment) -> dict:
    """Where each garment part lands on the person: masks, colours and cloth coordinates.

    The garment body follows a thin-plate spline that takes the person's neck, shoulders, armpits,
    waist and hips onto the same anchors of the flat garment (a smooth, non-rigid warp). Each sleeve
    follows its arm: a pixel's arc length along the arm and its distance from it are scaled onto the
    sleeve's axis, which unbends the arm onto the straight flat sleeve.
    """
    h, w = person.size
    person_anchors = person.anchors()
    names = sorted(person_anchors)
    tps = tps_fit([person_anchors[n] for n in names], [garment.anchors[n] for n in names])
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    cx_, cy_ = tps_apply(tps, xs, ys)
    maps = {}
    body = _lookup(garment.parts, cx_, cy_) == BODY
    flow = np.stack([cx_, cy_], -1).astype(np.float32)  # colours come from these stored coordinates
    maps["body"] = (body, _colour(garment, flow), flow)

    span_person = np.hypot(*(person_anchors["shoulder_left"] - person_anchors["shoulder_right"]))
    span_cloth = np.hypot(*(garment.anchors["shoulder_left"] - garment.anchors["shoulder_right"]))
    k = span_person / span_cloth  # person pixels per cloth pixel
    for side, sleeve_part in (("right", SLEEVE_RIGHT), ("left", SLEEVE_LEFT)):
        arm = person.arms[side]
        sleeve = garment.sleeves[side]
        k_across = max(k, (arm.radii[0] + 1.5 * person.u) / sleeve.half_width)
        back = arm.shoulder - unit(arm.elbow - arm.shoulder) * 20 * person.u  # unroll behind the shoulder too
        s, d = polyline_coords([back, arm.shoulder, arm.elbow, arm.wrist], xs, ys)
        s = s - 20 * person.u
        s_cloth, d_cloth = s / k, d / k_across
        # Points of the arm's tube that fall short of the slanted armhole seam are pushed just past
        # it, so the sleeve wraps the whole upper arm from the shoulder instead of leaving skin showing.
        s_cloth = np.maximum(s_cloth, sleeve.seam_slope * d_cloth + 1.5 * person.u)
        sx = sleeve.origin[0] + s_cloth * sleeve.axis[0] + d_cloth * sleeve.normal[0]
        sy = sleeve.origin[1] + s_cloth * sleeve.axis[1] + d_cloth * sleeve.normal[1]
        arm_length = arm.upper_length + float(np.hypot(*(arm.wrist - arm.elbow)))
        # behind the shoulder joint only the arm's own skin is sleeved (no flaps in the air)
        shoulder_cap = (s <= 0) & capsule((h, w), arm.shoulder, arm.elbow, arm.radii[0], arm.radii[1])
        inside = ((_lookup(garment.parts, sx, sy) == sleeve_part) & ((s > 0) | shoulder_cap)
                  & (s < arm_length - person.u))
        segment_part = np.where(s < arm.upper_length, DP_UPPER_ARM[side], DP_LOWER_ARM[side]).astype(np.uint8)
        flow = np.stack([sx, sy], -1).astype(np.float32)
        maps[side] = (inside, _colour(garment, flow), flow, segment_part)
    return maps


def _colour(garment: Garment, flow: np.ndarray) -> np.ndarray:
    return np.rint(sample_bilinear(garment.image, flow[..., 0], flow[..., 1])).astype(np.uint8)


def _paint_arm(canvas: Canvas, arm: Arm, skin, garment: Garment, maps: dict) -> None:
    shape = canvas.owner.shape
    side = arm.side
    r0, r1, r2 = arm.radii
    label = ARM_LABEL[side]
    owners = ARM_OWNERS[side]
    canvas.paint(capsule(shape, arm.shoulder, arm.elbow, r0, r1), owners[1], label, DP_UPPER_ARM[side], skin)
    canvas.paint(capsule(shape, arm.elbow, arm.wrist, r1, r2), owners[2], label, DP_LOWER_ARM[side], skin)
    mask, colour, flow, part = maps[side]
    canvas.paint(mask, owners[0], 5, part, colour, flow)
    canvas.paint(arm.hand.mask(shape), owners[3], label, DP_HAND[side], skin)


def _paint_bottom(canvas: Canvas, person: Person, skin) -> None:
    h, w = person.size
    u, cx = person.u, person.cx
    waist_y = person.hip_y - 12 * u
    hw = person.hip_half_width + 2 * u
    knee_y = person.hip_y + 76 * u
    colour = np.array(person.bottom_colour, np.uint8)
    below_knee = (np.arange(h)[:, None] >= knee_y) & np.ones((1, w), bool)
    for side, sign in (("right", -1.0), ("left", 1.0)):
        owner = BOTTOM_R if side == "right" else BOTTOM_L
        part = np.where(below_knee, DP_LOWER_LEG[side], DP_UPPER_LEG[side]).astype(np.uint8)
        if person.bottom == "pants":
            leg = polygon((h, w), [(cx + sign * hw, waist_y), (cx, waist_y), (cx, person.hip_y + 30 * u),
                                   (cx + sign * 2.5 * u, h + 1), (cx + sign * (hw + 4 * u), h + 1)])
            canvas.paint(leg, owner, 9, part, colour)
        else:
            leg = capsule((h, w), (cx + sign * hw * 0.5, person.hip_y), (cx + sign * hw * 0.45, h + 10 * u),
                          hw * 0.42, hw * 0.3)
            canvas.paint(leg, LEG_R if side == "right" else LEG_L, 17 if side == "right" else 16, part, skin)
    if person.bottom == "skirt":
        hem = person.hip_y + 50 * u
        skirt = polygon((h, w), [(cx - hw, waist_y), (cx + hw, waist_y), (cx + hw + 10 * u, hem),
                                 (cx - hw - 10 * u, hem)])
        part = np.where(np.arange(w)[None, :] < cx, DP_UPPER_LEG["right"], DP_UPPER_LEG["left"]) * np.ones((h, 1))
        canvas.paint(skirt, BOTTOM_R, 12, part.astype(np.uint8), colour)


def _draw_outlines_and_face(canvas: Canvas, person: Person) -> None:
    """Picture-only details: darker outlines on skin, eyes and a mouth. Labels are unaffected."""
    edge = boundary(canvas.owner) & np.isin(canvas.owner, SKIN_OWNERS)
    canvas.image[edge] = (canvas.image[edge].astype(np.float32) * 0.78).astype(np.uint8)
    head_c, rx, ry = person.head
    shape = canvas.owner.shape
    face = canvas.owner == FACE
    dark = np.array([40, 30, 30], np.uint8)
    for sx in (-0.38, 0.38):
        eye = ellipse(shape, head_c + np.array([sx * rx, 0.0]), 1.4 * person.u, 1.2 * person.u) & face
        canvas.image[eye] = dark
    mouth = capsule(shape, head_c + np.array([-0.25 * rx, 0.55 * ry]), head_c + np.array([0.25 * rx, 0.55 * ry]),
                    0.6 * person.u) & face
    canvas.image[mouth] = (150, 60, 60)


def _hand_annotations(canvas: Canvas, person: Person) -> dict:
    h, w = canvas.owner.shape
    out = {}
    for side, arm in person.arms.items():
        pts = arm.hand.points
        c, r = np.rint(pts[:, 0]).astype(int), np.rint(pts[:, 1]).astype(int)
        in_frame = (c >= 0) & (c < w) & (r >= 0) & (r < h)
        visible = np.zeros(21, bool)
        visible[in_frame] = canvas.owner[r[in_frame], c[in_frame]] == HAND_OWNER[side]
        out[side] = dict(points=pts.copy(), visible=visible, in_frame=in_frame, pose=arm.pose, gesture=arm.gesture)
    return out


def keypoints(rendering: Rendering, person: Person, rng: np.random.Generator) -> Keypoints:
    """OpenPose-style keypoints of a rendering, with confidences an OpenPose run would give.

    Hand points: 0 where out of frame or hidden; a hand with any point missing is "partly hidden" and
    its visible points get low confidences (0.2-0.5); fully visible hands get 0.55-0.95.
    """
    h, w = person.size
    u, cx = person.u, person.cx
    head_c, rx, ry = person.head
    body = np.zeros((25, 3), np.float32)
    named = {
        "nose": head_c + np.array([0, 0.25 * ry]),
        "neck": np.array([cx, person.shoulder_y - 2 * u]),
        "mid_hip": np.array([cx, person.hip_y]),
        "right_hip": np.array([cx - 0.78 * person.hip_half_width, person.hip_y]),
        "left_hip": np.array([cx + 0.78 * person.hip_half_width, person.hip_y]),
        "right_knee": np.array([cx - 0.6 * person.hip_half_width, person.hip_y + 76 * u]),
        "left_knee": np.array([cx + 0.6 * person.hip_half_width, person.hip_y + 76 * u]),
        "right_eye": head_c + np.array([-0.38 * rx, 0.0]),
        "left_eye": head_c + np.array([0.38 * rx, 0.0]),
        "right_ear": head_c + np.array([-rx, 0.1 * ry]),
        "left_ear": head_c + np.array([rx, 0.1 * ry]),
    }
    for side, arm in person.arms.items():
        named[f"{side}_shoulder"], named[f"{side}_elbow"], named[f"{side}_wrist"] = arm.shoulder, arm.elbow, arm.wrist
    for name, (x, y) in named.items():
        i = L.BODY[name]
        c, r = int(round(x)), int(round(y))
        if not (0 <= c < w and 0 <= r < h):
            continue  # out of frame: OpenPose writes (0, 0, 0)
        side = name.split("_")[0]
        hidden = side in ARM_OWNERS and name.split("_")[1] in ("elbow", "wrist") and \
            rendering.owner[r, c] not in ARM_OWNERS[side]
        body[i] = (x, y, rng.uniform(0.1, 0.35) if hidden else rng.uniform(0.6, 0.95))

    hands = {}
    for side in ("left", "right"):
        info = rendering.hands[side]
        a = np.zeros((21, 3), np.float32)
        vis = info["visible"]
        partial = not vis.all()
        conf = rng.uniform(0.2, 0.5, 21) if partial else rng.uniform(0.55, 0.95, 21)
        a[vis, :2] = info["points"][vis]
        a[vis, 2] = conf[vis]
        hands[side] = a
    return Keypoints(body=body, hand_left=hands["left"], hand_right=hands["right"])
