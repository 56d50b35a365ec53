"""Which hands to correct: from given masks, annotations or the detector, then filtered.

Hand-fix users ask for the same controls (ADetailer's, HandRefiner's): a detector confidence threshold,
minimum and maximum hand size, the k largest hands, and "only fix hands that look wrong", since
re-drawing a good hand can make it worse. Here a hand "looks wrong" when the detector, run on the try-on
result, finds it with less than a given confidence (or not at all).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..hands.masks import HandMasks, from_detector


@dataclass
class HandSelection:
    min_confidence: float = 0.0  # hands with a lower (detector) confidence are not corrected
    min_area: int = 16  # pixels: smaller blobs are noise, not hands
    max_area: float = 0.15  # share of the image: larger "hands" are detector mistakes
    top_k: int | None = None  # keep the k largest
    fix_below: float | None = None  # only hands the detector finds with less confidence than this on the result


def _box_iou(a, b) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union else 0.0


def detector_confidence(box, detected: HandMasks) -> float:
    """The detector's confidence for the hand in ``box``: that of the best-overlapping detection, else 0."""
    overlaps = [(_box_iou(box, d.box), d.confidence) for d in detected.hands]
    best = max(overlaps, default=(0.0, 0.0))
    return float(best[1]) if best[0] > 0.1 else 0.0


def select_hands(hands: HandMasks, selection: HandSelection, image: np.ndarray | None = None,
                 detector=None) -> tuple[HandMasks, list[dict]]:
    """(the hands to correct, the others with the reason each was left alone)."""
    h, w = hands.mask.shape
    detected = from_detector(image, detector) if selection.fix_below is not None and detector is not None else None
    if selection.fix_below is not None and detected is None:
        raise ValueError("fix_below needs the detector and the image (it judges hands on the result)")
    kept, skipped = [], []
    for box, mask in zip(hands.hands, hands.hand_masks):
        area = int(mask.sum())
        reason = None
        if box.confidence < selection.min_confidence:
            reason = f"confidence {box.confidence:.2f} < {selection.min_confidence}"
        elif area < selection.min_area:
            reason = f"{area} pixels < min_area {selection.min_area}"
        elif area > selection.max_area * h * w:
            reason = f"{area} pixels > max_area {selection.max_area:.0%} of the image"
        elif detected is not None:
            confidence = detector_confidence(box.box, detected)
            if confidence >= selection.fix_below:
                reason = f"looks right: detector confidence {confidence:.2f} >= {selection.fix_below}"
        if reason:
            skipped.append({"box": list(box.box), "side": box.side, "reason": reason})
        else:
            kept.append((area, box, mask))
    kept.sort(key=lambda item: -item[0])
    if selection.top_k is not None:
        for area, box, _ in kept[selection.top_k:]:
            skipped.append({"box": list(box.box), "side": box.side,
                            "reason": f"not among the {selection.top_k} largest"})
        kept = kept[:selection.top_k]
    out = HandMasks.empty((h, w), hands.source, hands.note)
    for _, box, mask in kept:
        out.add(mask.copy(), box)
    return out, skipped
