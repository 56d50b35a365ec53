"""Label sets of VITON-HD's annotations: LIP parse labels, DensePose parts, OpenPose keypoints.

Everything here is a fact about the released data (checked against real VITON-HD files), so the
reader, the sample generator and the notebooks share one source. Notebook 01 shows each table.
"""

from __future__ import annotations

import numpy as np

# --- Human parsing (image-parse-v3, image-parse) ------------------------------------------------
# VITON-HD stores the parse as a palette PNG whose pixel values are these ids. Papers call them "LIP
# labels", but VITON-HD's parser (CIHP-PGN) uses CIHP's set, where 10 is torso skin (in practice the
# neck) instead of LIP's "jumpsuits". 14/15 are the whole arms *including the hands*: there is no hand
# label. "left" is the person's left, which is the image's right in a frontal photo.
LIP_LABELS = {
    0: "background",
    1: "hat",
    2: "hair",
    3: "glove",
    4: "sunglasses",
    5: "upper-clothes",
    6: "dress",
    7: "coat",
    8: "socks",
    9: "pants",
    10: "torso-skin",  # the neck, in VITON-HD; "jumpsuits" in LIP
    11: "scarf",
    12: "skirt",
    13: "face",
    14: "left-arm",
    15: "right-arm",
    16: "left-leg",
    17: "right-leg",
    18: "left-shoe",
    19: "right-shoe",
}
NUM_LIP_LABELS = len(LIP_LABELS)
UPPER_CLOTHES = (5, 6, 7)
ARMS = (14, 15)
LEFT_ARM, RIGHT_ARM = 14, 15
TORSO_SKIN = 10  # the neck, mostly

# The palette VITON-HD's parse PNGs carry (read from the released files), as RGB per label id.
LIP_PALETTE = np.array(
    [
        (0, 0, 0), (128, 0, 0), (254, 0, 0), (0, 85, 0), (169, 0, 51),
        (254, 85, 0), (0, 0, 85), (0, 119, 220), (85, 85, 0), (0, 85, 85),
        (85, 51, 0), (52, 86, 128), (0, 128, 0), (0, 0, 254), (51, 169, 220),
        (0, 254, 254), (85, 254, 169), (169, 254, 85), (254, 254, 0), (254, 169, 0),
    ],
    dtype=np.uint8,
)

# The 13 groups that VITON-HD, HR-VITON, PF-AFN and DCI-VTON feed their networks (one channel each).
# Torso skin (10) is folded into the background.
PARSE_GROUPS = (
    ("background", (0, 10)),
    ("hair", (1, 2)),
    ("face", (4, 13)),
    ("upper", (5, 6, 7)),
    ("bottom", (9, 12)),
    ("left_arm", (14,)),
    ("right_arm", (15,)),
    ("left_leg", (16,)),
    ("right_leg", (17,)),
    ("left_shoe", (18,)),
    ("right_shoe", (19,)),
    ("socks", (8,)),
    ("noise", (3, 11)),
)


def group_parse(parse: np.ndarray) -> np.ndarray:
    """Map LIP ids (H, W) to the 13 group ids used as network input (H, W), uint8."""
    lut = np.zeros(256, dtype=np.uint8)
    for group, (_, ids) in enumerate(PARSE_GROUPS):
        lut[list(ids)] = group
    return lut[parse]


def colorize_parse(parse: np.ndarray) -> np.ndarray:
    """LIP ids (H, W) to an RGB picture with VITON-HD's palette (unknown ids drawn white)."""
    lut = np.full((256, 3), 255, dtype=np.uint8)
    lut[:NUM_LIP_LABELS] = LIP_PALETTE
    return lut[parse]


# --- DensePose (image-densepose) ----------------------------------------------------------------
# Part index I of DensePose's fine segmentation. 3 and 4 are the hands.
DENSEPOSE_PARTS = {
    0: "background",
    1: "torso back",
    2: "torso front",
    3: "right hand",
    4: "left hand",
    5: "left foot",
    6: "right foot",
    7: "upper leg right back",
    8: "upper leg left back",
    9: "upper leg right front",
    10: "upper leg left front",
    11: "lower leg right back",
    12: "lower leg left back",
    13: "lower leg right front",
    14: "lower leg left front",
    15: "upper arm left inside",
    16: "upper arm right inside",
    17: "upper arm left outside",
    18: "upper arm right outside",
    19: "lower arm left inside",
    20: "lower arm right inside",
    21: "lower arm left outside",
    22: "lower arm right outside",
    23: "head right",
    24: "head left",
}
RIGHT_HAND_PART, LEFT_HAND_PART = 3, 4
HAND_PARTS = (RIGHT_HAND_PART, LEFT_HAND_PART)

# VITON-HD's image-densepose files are DensePose's fine-segmentation rendering: part I is drawn in
# colour PARULA(I * 255 / 24) on black. This table is OpenCV's COLORMAP_PARULA at those 25 values, as
# RGB; decoding the released images with it leaves a median colour error of 1 (JPEG noise).
DENSEPOSE_PALETTE = np.array(
    [
        (0, 0, 0),  # background is left black, not PARULA(0)
        (37, 60, 163), (20, 80, 194), (4, 97, 223), (8, 110, 221), (14, 122, 216),
        (20, 132, 212), (15, 144, 208), (11, 156, 203), (6, 166, 198), (22, 173, 185),
        (38, 179, 172), (55, 185, 159), (86, 187, 144), (114, 189, 130), (145, 191, 116),
        (170, 189, 105), (192, 188, 96), (216, 186, 86), (228, 192, 74), (240, 199, 60),
        (252, 206, 46), (251, 220, 36), (250, 235, 25), (249, 251, 14),
    ],
    dtype=np.uint8,
)


def render_densepose(parts: np.ndarray) -> np.ndarray:
    """DensePose part ids (H, W) to the RGB rendering VITON-HD ships."""
    if parts.max(initial=0) >= len(DENSEPOSE_PALETTE):
        raise ValueError(f"DensePose part ids go up to 24; got {int(parts.max())}")
    return DENSEPOSE_PALETTE[parts]


def decode_densepose(rgb: np.ndarray) -> np.ndarray:
    """Recover part ids (H, W) from a rendered DensePose image (H, W, 3) by nearest palette colour.

    Every colour of the rendering came from the palette, so the nearest entry is right up to JPEG
    noise; near-black pixels decode to the background (0).
    """
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an RGB image (H, W, 3), got shape {rgb.shape}")
    # Exact nearest colour, computed once per distinct colour (a JPEG has far fewer than pixels).
    key = (rgb[..., 0].astype(np.int32) << 16) | (rgb[..., 1].astype(np.int32) << 8) | rgb[..., 2]
    colours, inverse = np.unique(key.ravel(), return_inverse=True)
    unique_rgb = np.stack([(colours >> 16) & 255, (colours >> 8) & 255, colours & 255], -1).astype(np.float32)
    distance = ((unique_rgb[:, None, :] - DENSEPOSE_PALETTE[None].astype(np.float32)) ** 2).sum(-1)
    return distance.argmin(1).astype(np.uint8)[inverse].reshape(key.shape)


# --- OpenPose (openpose_json, openpose_img) -----------------------------------------------------
BODY_25 = (
    "nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow",
    "left_wrist", "mid_hip", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee",
    "left_ankle", "right_eye", "left_eye", "right_ear", "left_ear", "left_big_toe", "left_small_toe",
    "left_heel", "right_big_toe", "right_small_toe", "right_heel",
)
BODY = {name: i for i, name in enumerate(BODY_25)}

# 21 points per hand: the wrist, then four points per finger from its base to its tip.
HAND_21 = ("wrist",) + tuple(
    f"{finger}_{joint}"
    for finger, joints in (
        ("thumb", ("cmc", "mcp", "ip", "tip")),
        ("index", ("mcp", "pip", "dip", "tip")),
        ("middle", ("mcp", "pip", "dip", "tip")),
        ("ring", ("mcp", "pip", "dip", "tip")),
        ("little", ("mcp", "pip", "dip", "tip")),
    )
    for joint in joints
)
FINGERS = {name: tuple(range(1 + 4 * k, 5 + 4 * k)) for k, name in
           enumerate(("thumb", "index", "middle", "ring", "little"))}

# Limbs OpenPose draws for BODY_25, and its colours (RGB), used for openpose_img renderings.
BODY_25_LIMBS = (
    (1, 8), (1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (8, 9), (9, 10), (10, 11), (8, 12),
    (12, 13), (13, 14), (1, 0), (0, 15), (15, 17), (0, 16), (16, 18), (14, 19), (19, 20), (14, 21),
    (11, 22), (22, 23), (11, 24),
)
BODY_25_COLORS = (
    (255, 0, 85), (255, 0, 0), (255, 85, 0), (255, 170, 0), (255, 255, 0), (170, 255, 0),
    (85, 255, 0), (0, 255, 0), (255, 0, 0), (0, 255, 85), (0, 255, 170), (0, 255, 255),
    (0, 170, 255), (0, 85, 255), (0, 0, 255), (255, 0, 170), (170, 0, 255), (255, 0, 255),
    (85, 0, 255), (0, 0, 255), (0, 0, 255), (0, 0, 255), (0, 255, 255), (0, 255, 255),
    (0, 255, 255),
)
HAND_LIMBS = tuple((0 if j == 0 else 1 + 4 * f + j - 1, 1 + 4 * f + j) for f in range(5) for j in range(4))
HAND_FINGER_COLORS = ((255, 0, 0), (255, 153, 0), (102, 255, 0), (0, 204, 255), (204, 0, 255))
