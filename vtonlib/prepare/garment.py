"""A garment product photo -> ``cloth/`` and ``cloth-mask/`` as VITON-HD's: the garment centred, scaled so
its box spans at most 80 % of the width and 88 % of the height (the released garments span 70-81 % and 70-89 %),
on white.

The mask: on a plain background (the border's colours agree), every pixel far from the background colour,
closed, holes filled, the largest piece kept; on a busy one, OpenCV's GrabCut from a box inside the border.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..fileio import DataError

WIDTH_SHARE, HEIGHT_SHARE = 0.80, 0.88
PLAIN_SPREAD = 18.0  # RGB spread of the border under which a background is plain


def _largest(mask: np.ndarray) -> np.ndarray:
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if n <= 1:
        return np.zeros_like(mask, bool)
    keep = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    return labels == keep


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    h, w = mask.shape
    flood = np.zeros((h + 2, w + 2), np.uint8)
    inverse = (~mask).astype(np.uint8)
    cv2.floodFill(inverse, flood, (0, 0), 0)
    return mask | (inverse > 0)


def garment_mask(image: np.ndarray) -> tuple[np.ndarray, str]:
    """(bool mask, how it was found: "plain background" or "grabcut")."""
    h, w = image.shape[:2]
    border = np.concatenate([image[:4].reshape(-1, 3), image[-4:].reshape(-1, 3), image[:, :4].reshape(-1, 3),
                             image[:, -4:].reshape(-1, 3)]).astype(np.float64)
    background = np.median(border, 0)
    spread = float(np.median(np.linalg.norm(border - background, axis=1)))
    if spread < PLAIN_SPREAD:
        far = np.linalg.norm(image.astype(np.float64) - background, axis=-1) > max(24.0, 3 * spread)
        k = max(3, int(0.01 * max(h, w)) | 1)
        mask = cv2.morphologyEx(far.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((k, k), np.uint8)) > 0
        mask = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)) > 0
        how = "plain background"
    else:
        state = np.zeros((h, w), np.uint8)
        rect = (int(0.03 * w), int(0.03 * h), int(0.94 * w), int(0.94 * h))
        bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
        cv2.grabCut(cv2.cvtColor(image, cv2.COLOR_RGB2BGR), state, rect, bgd, fgd, 5, cv2.GC_INIT_WITH_RECT)
        mask = np.isin(state, (cv2.GC_FGD, cv2.GC_PR_FGD))
        how = "grabcut"
    mask = _fill_holes(_largest(mask))
    return mask, how


def place_garment(image: np.ndarray, mask: np.ndarray, size: tuple[int, int] = (1024, 768),
                  source: str = "garment") -> tuple[np.ndarray, np.ndarray]:
    """(garment on white at ``size``, its mask), centred and scaled as VITON-HD's garments are."""
    ys, xs = np.nonzero(mask)
    if len(xs) < 0.01 * mask.size:
        raise DataError(source, f"no garment found: {len(xs)} pixels stand out from the background")
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    crop, crop_mask = image[y0:y1, x0:x1], mask[y0:y1, x0:x1]
    fh, fw = size
    scale = min(WIDTH_SHARE * fw / (x1 - x0), HEIGHT_SHARE * fh / (y1 - y0))
    nh, nw = max(1, int(round((y1 - y0) * scale))), max(1, int(round((x1 - x0) * scale)))
    crop = cv2.resize(crop, (nw, nh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    crop_mask = cv2.resize(crop_mask.astype(np.uint8), (nw, nh), interpolation=cv2.INTER_NEAREST) > 0
    out = np.full((fh, fw, 3), 255, np.uint8)
    out_mask = np.zeros((fh, fw), bool)
    top, left = (fh - nh) // 2, (fw - nw) // 2
    region = (slice(top, top + nh), slice(left, left + nw))
    out[region] = np.where(crop_mask[..., None], crop, 255)
    out_mask[region] = crop_mask
    return out, out_mask
