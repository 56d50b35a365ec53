"""Hand-crop scores: SSIM and PSNR of the square around each true hand, result against ground truth."""

from __future__ import annotations

import numpy as np

from ..lora.data import square_crop
from .hands import hands_from_mask


def hand_crops(image: np.ndarray, hand_mask: np.ndarray, padding: float = 0.5) -> list[np.ndarray]:
    """The squares around each hand of ``hand_mask`` (one per blob), cut from ``image``."""
    crops = []
    for hand in hands_from_mask(hand_mask).hands:
        x0, y0, x1, y1 = square_crop(hand.box, padding, image.shape[:2])
        crops.append(image[y0:y1, x0:x1])
    return crops


def hand_crop_pairs(result: np.ndarray, truth: np.ndarray, hand_mask: np.ndarray,
                    padding: float = 0.5) -> list[tuple[np.ndarray, np.ndarray]]:
    """(result crop, truth crop) per hand of ``hand_mask``; crops narrower than SSIM's 7-pixel window are
    left out."""
    pairs = zip(hand_crops(result, hand_mask, padding), hand_crops(truth, hand_mask, padding))
    return [(got, want) for got, want in pairs if min(got.shape[:2]) >= 7]


def hand_scores(results: dict[str, np.ndarray], truths: dict[str, np.ndarray],
                hand_masks: dict[str, np.ndarray], padding: float = 0.5) -> dict:
    """Mean SSIM and PSNR over every hand crop (crops from the true hand masks, the same for all results)."""
    from ..metrics.image import psnr, ssim

    ssims, psnrs = [], []
    for key in sorted(results):
        for got, want in hand_crop_pairs(results[key], truths[key], hand_masks[key], padding):
            ssims.append(ssim(got, want))
            psnrs.append(psnr(got, want))
    return {"ssim": float(np.mean(ssims)) if ssims else float("nan"),
            "psnr": float(np.mean(psnrs)) if psnrs else float("nan"), "hands": len(ssims)}


def outside_change(before: np.ndarray, after: np.ndarray, alpha: np.ndarray) -> float:
    """Mean absolute change of the pixels the correction may not touch (paste weight 0): must be 0."""
    outside = alpha <= 0
    if not outside.any():
        return 0.0
    return float(np.abs(before.astype(np.int16) - after.astype(np.int16))[outside].mean())
