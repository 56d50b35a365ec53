"""Check, on files as written, that the sample's annotations agree with each other and the truth.

Notebook 01 prints these figures for every sample; they are what makes the sample a yardstick.
"""

from __future__ import annotations

import numpy as np

from .. import labels as L
from ..reader import VitonDataset
from .render import sample_bilinear


def consistency(ds: VitonDataset, sample_id: str) -> dict:
    """Agreement figures for one sample of the built-in dataset (1.0 = perfect; errors in grey levels)."""
    person = ds.person(sample_id)
    hands = ds.read_truth("hand-mask", sample_id)
    garment = ds.read_truth("cloth-warp-mask", sample_id)
    flow = ds.read_truth("cloth-flow", sample_id)
    cloth = ds.cloth(sample_id)
    points = np.concatenate([person.keypoints.hand_left, person.keypoints.hand_right])
    visible = points[points[:, 2] > 0]
    cols, rows = np.rint(visible[:, 0]).astype(int), np.rint(visible[:, 1]).astype(int)
    valid = ~np.isnan(flow[..., 0])
    warped = sample_bilinear(cloth.image, flow[..., 0][valid], flow[..., 1][valid])
    return {
        "hand_pixels": int(hands.sum()),
        "hand_pixels_in_arm_labels": float(np.isin(person.parse[hands], L.ARMS).mean()) if hands.any() else 1.0,
        "hand_share_of_arm_labels": float(hands.sum() / max(np.isin(person.parse, L.ARMS).sum(), 1)),
        "visible_hand_keypoints": int(len(visible)),
        "keypoints_in_hand_mask": float(hands[rows, cols].mean()) if len(visible) else 1.0,
        "garment_mask_equals_parse": float((garment == (person.parse == 5)).mean()),
        "densepose_hands_agree": float((np.isin(person.densepose, L.HAND_PARTS) == hands).mean()),
        # the JPEG-compressed photo against the flat garment sampled through the true flow
        "worn_garment_error": float(np.abs(warped - person.image[valid].astype(np.float32)).mean()),
    }
