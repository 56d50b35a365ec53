"""Hand metrics: scores of the squares around each true hand (SSIM, PSNR, LPIPS), the hand's *shape* (does
the picture hold a hand with fingers or a blob?), the detector's view of the hands (share found,
confidence, keypoint error against the reference keypoints), and the proof that a correction left every
other pixel alone.

Hand shape: in each hand's square, the pixels of the person's skin colour (any shade of it, from the
outline's 0.7 to 1.05 of its brightness, within a tolerance) are the hand the picture shows; their IoU
with the true hand mask is 0.91 on the sample's own photos and falls for a blob (which fills the gaps
between fingers and spills over the garment) or a hand painted in the wrong colour. True skin that is
not this hand (forearm, other skin parts) is left out of the comparison: a painted forearm is neither
right nor wrong for the hand.
"""

from __future__ import annotations

import numpy as np

from .. import imaging
from ..data.skin import SKIN_LABELS, face_skin
from ..hands.masks import MIN_HAND_CONFIDENCE, dilate, hands_from_mask, square_crop

SKIN_TOLERANCE = 25.0  # RGB distance from the nearest shade of the skin colour


def hand_crops(image: np.ndarray, hand_mask: np.ndarray, padding: float = 0.5) -> list[np.ndarray]:
    """The squares around each hand of ``hand_mask`` (one per blob), cut from ``image``."""
    return [image[y0:y1, x0:x1] for x0, y0, x1, y1 in hand_boxes(hand_mask, padding)]


def hand_boxes(hand_mask: np.ndarray, padding: float = 0.5) -> list[tuple[int, int, int, int]]:
    return [square_crop(hand.box, padding, hand_mask.shape[:2]) for hand in hands_from_mask(hand_mask).hands]


def hand_crop_pairs(result: np.ndarray, truth: np.ndarray, hand_mask: np.ndarray,
                    padding: float = 0.5) -> list[tuple[np.ndarray, np.ndarray]]:
    """(result crop, truth crop) per hand of ``hand_mask``; crops narrower than SSIM's 7-pixel window are
    left out."""
    pairs = [(result[y0:y1, x0:x1], truth[y0:y1, x0:x1]) for x0, y0, x1, y1 in hand_boxes(hand_mask, padding)]
    return [(got, want) for got, want in pairs if min(got.shape[:2]) >= 7]


def hand_lpips(lpips, got: np.ndarray, want: np.ndarray, size: int = 64) -> float:
    """LPIPS of two hand crops, both resized to ``size`` (AlexNet needs about 32 pixels; hands are smaller)."""
    return lpips.distance(imaging.resize_image(np.ascontiguousarray(got), (size, size)),
                          imaging.resize_image(np.ascontiguousarray(want), (size, size)))


def skin_mask(image: np.ndarray, skin, tolerance: float = SKIN_TOLERANCE, darkest: float = 0.7,
              brightest: float = 1.05) -> np.ndarray:
    """bool (H, W): pixels near some shade ``k * skin`` of the skin colour, ``darkest <= k <= brightest``."""
    pixels = image.astype(np.float64)
    s = np.asarray(skin, np.float64)
    k = np.clip(pixels @ s / (s @ s), darkest, brightest)
    return np.linalg.norm(pixels - k[..., None] * s, axis=-1) < tolerance


def person_skin(ds, person_id: str) -> np.ndarray:
    """A person's skin colour: exact in the built-in sample's truth (``gt/meta``), else sampled from the face."""
    if ds.has_truth and ds.truth_path("meta", person_id).exists():
        skin = ds.read_truth("meta", person_id).get("person", {}).get("skin")
        if skin:
            return np.asarray(skin, np.float64)
    return face_skin(ds.read_image(person_id), ds.read_parse(person_id))


def hand_shape_iou(image: np.ndarray, hand_mask: np.ndarray, skin, other_skin: np.ndarray | None = None,
                   padding: float = 0.5) -> list[float]:
    """Per hand of ``hand_mask`` (the truth), the IoU of the skin pixels in its square with the hand, the
    pixels of ``other_skin`` (true skin that is not a hand) left out."""
    ious = []
    found = skin_mask(image, skin)
    for x0, y0, x1, y1 in hand_boxes(hand_mask, padding):
        hand, seen = hand_mask[y0:y1, x0:x1].astype(bool), found[y0:y1, x0:x1]
        judged = np.ones_like(hand) if other_skin is None else ~(other_skin[y0:y1, x0:x1] & ~hand)
        union = ((seen | hand) & judged).sum()
        ious.append(float((seen & hand).sum() / union) if union else 1.0)
    return ious


def other_skin(parse: np.ndarray, hand_mask: np.ndarray) -> np.ndarray:
    """True skin that is not a hand: neck, face, arms and legs of the parse, minus the hand mask."""
    return np.isin(parse, SKIN_LABELS) & ~hand_mask.astype(bool)


def hand_scores(results: dict[str, np.ndarray], truths: dict[str, np.ndarray],
                hand_masks: dict[str, np.ndarray], padding: float = 0.5, lpips=None, skins: dict | None = None,
                others: dict | None = None) -> dict:
    """Mean SSIM and PSNR over every hand crop (crops from the true hand masks, the same for all results);
    with ``lpips``, hand-crop LPIPS; with ``skins`` (skin colour per key), the hand-shape IoU."""
    from .image import psnr, ssim

    ssims, psnrs, lpipses, ious = [], [], [], []
    for key in sorted(results):
        for got, want in hand_crop_pairs(results[key], truths[key], hand_masks[key], padding):
            ssims.append(ssim(got, want))
            psnrs.append(psnr(got, want))
            if lpips is not None:
                lpipses.append(hand_lpips(lpips, got, want))
        if skins is not None:
            ious += hand_shape_iou(results[key], hand_masks[key], skins[key], (others or {}).get(key), padding)
    mean = lambda v: float(np.mean(v)) if v else float("nan")  # noqa: E731
    out = {"ssim": mean(ssims), "psnr": mean(psnrs), "hands": len(ssims)}
    if lpips is not None:
        out["lpips"] = mean(lpipses)
    if skins is not None:
        out["shape_iou"] = mean(ious)
    return out


def outside_change(before: np.ndarray, after: np.ndarray, alpha: np.ndarray) -> float:
    """Mean absolute change of the pixels the correction may not touch (paste weight 0): must be 0."""
    outside = alpha <= 0
    if not outside.any():
        return 0.0
    return float(np.abs(before.astype(np.int16) - after.astype(np.int16))[outside].mean())


def reference_hands(keypoints) -> list[np.ndarray]:
    """The (K, 2) confident points of each hand of an OpenPose annotation (hands with >= 5 such points)."""
    hands = []
    for side in ("left", "right"):
        points = keypoints.hand(side)
        confident = points[points[:, 2] >= MIN_HAND_CONFIDENCE]
        if len(confident) >= 5:
            hands.append(points)
    return hands


def match_detections(reference: list[np.ndarray], detected: list[dict]) -> list[dict]:
    """For each reference hand: the detection nearest its centre (within the hand's size), its confidence
    and the mean distance of the matched keypoints, in pixels and in units of the hand's size."""
    rows = []
    for points in reference:
        ok = points[:, 2] >= MIN_HAND_CONFIDENCE
        xy = points[ok, :2]
        centre, size = xy.mean(0), float(np.linalg.norm(xy.max(0) - xy.min(0))) or 1.0
        best, best_distance = None, size
        for d in detected:
            distance = float(np.linalg.norm(d["points"][:, :2].mean(0) - centre))
            if distance < best_distance:
                best, best_distance = d, distance
        if best is None:
            rows.append({"found": False, "confidence": 0.0})
            continue
        error = float(np.linalg.norm(best["points"][ok, :2] - xy, axis=1).mean())
        rows.append({"found": True, "confidence": float(best["score"]), "error_px": error,
                     "error_norm": error / size})
    return rows


def summarise_matches(rows: list[dict]) -> dict:
    found = [r for r in rows if r["found"]]
    return {"hands": len(rows), "found_share": len(found) / len(rows) if rows else float("nan"),
            "mean_confidence": float(np.mean([r["confidence"] for r in rows])) if rows else float("nan"),
            "keypoint_error_px": float(np.mean([r["error_px"] for r in found])) if found else float("nan"),
            "keypoint_error_norm": float(np.mean([r["error_norm"] for r in found])) if found else float("nan")}


def changes_outside(before: np.ndarray, after: np.ndarray, allowed: np.ndarray) -> dict:
    """Pixels that differ between two images outside ``allowed`` (bool (H, W)): both must be 0."""
    diff = np.abs(before.astype(np.int16) - after.astype(np.int16)).max(axis=2)
    outside = diff[~allowed]
    return {"changed_pixels": int((outside > 0).sum()), "max_difference": int(outside.max()) if outside.size else 0}


def allowed_region(shape, hands: list[dict] | None, hand_mask: np.ndarray | None, margin: int = 8) -> np.ndarray:
    """Where a correction may change pixels: its recorded crop boxes (``correct.json``), else the hand
    mask grown by ``margin`` pixels."""
    allowed = np.zeros(shape, bool)
    if hands:
        for hand in hands:
            x0, y0, x1, y1 = hand["crop_box"]
            allowed[y0:y1, x0:x1] = True
    elif hand_mask is not None and hand_mask.any():
        allowed = dilate(hand_mask, margin)
    return allowed
