"""Hand masks and hand boxes from every signal a user may have. Notebook 02 compares them.

========== ==================================================== ===============================
method     source                                               confidence of a box
========== ==================================================== ===============================
keypoints  OpenPose's 21 points per hand (palm + finger strokes) mean confidence of its points
densepose  DensePose parts 3 (right hand) and 4 (left hand)     1.0 (DensePose gives none)
detector   MediaPipe Hands on the photo, drawn like keypoints   MediaPipe's handedness score
arms       parse labels 14 + 15 (the original project's mask)   1.0
auto       the first of keypoints, densepose, detector that finds a hand in this image
========== ==================================================== ===============================
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import cv2
import numpy as np

from ..data import labels as L
from .shapes import draw_hand

METHODS = ("auto", "keypoints", "densepose", "detector", "arms")
AUTO_ORDER = ("keypoints", "densepose", "detector")
MIN_HAND_CONFIDENCE = 0.25  # OpenPose also "finds" hands that are not there, with mean confidence ~0.05


@dataclass
class HandBox:
    """Where one hand is: a box (x0, y0, x1, y1), pixel ends exclusive, for cropping."""

    side: str  # "left" / "right" (the person's), or "both" for a baseline that cannot tell
    box: tuple[int, int, int, int]
    confidence: float
    source: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class HandMasks:
    """The hands of one image: their union mask, one mask and box per hand, and where they came from."""

    mask: np.ndarray  # (H, W) bool
    hands: list[HandBox] = field(default_factory=list)
    hand_masks: list[np.ndarray] = field(default_factory=list)  # (H, W) bool each, aligned with hands
    source: str = "none"
    note: str = ""

    @classmethod
    def empty(cls, size: tuple[int, int], source: str = "none", note: str = "") -> "HandMasks":
        return cls(np.zeros(size, bool), source=source, note=note)

    def add(self, mask: np.ndarray, box: HandBox) -> None:
        self.mask |= mask
        self.hands.append(box)
        self.hand_masks.append(mask)

    def report(self) -> dict:
        return {"source": self.source, "pixels": int(self.mask.sum()),
                "hands": [b.to_dict() for b in self.hands], **({"note": self.note} if self.note else {})}


def box_of(mask: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def hands_from_mask(mask: np.ndarray, source: str = "mask", min_pixels: int = 4) -> HandMasks:
    """One hand per connected component of a hand mask (a PNG written by ``vton hands``, or the truth)."""
    mask = np.asarray(mask).astype(bool)
    out = HandMasks.empty(mask.shape, source)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    for index in range(1, n):
        if stats[index, cv2.CC_STAT_AREA] >= min_pixels:
            component = labels == index
            out.add(component, HandBox("unknown", box_of(component), 1.0, source))
    return out


def dilate(mask: np.ndarray, pixels: int) -> np.ndarray:
    """The mask grown by ``pixels`` (a disc), as ``bool``."""
    if pixels <= 0:
        return mask.astype(bool)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * pixels + 1, 2 * pixels + 1))
    return cv2.dilate(mask.astype(np.uint8), kernel) > 0


def square_crop(box, padding: float, size: tuple[int, int], minimum: int = 16) -> tuple[int, int, int, int]:
    """A square around ``box`` with ``padding`` x its longer side of context on each side, moved (not
    shrunk) to stay inside an image of ``size`` (H, W) where it fits."""
    x0, y0, x1, y1 = box
    return place_square(box, round(max(x1 - x0, y1 - y0, minimum) * (1 + 2 * padding)), size)


def place_square(box, side: int, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """A square of ``side`` centred on ``box``, moved (not shrunk) to stay inside an image of ``size``
    (H, W), and clipped to the image's shorter side where it does not fit."""
    h, w = size
    side = int(min(side, h, w))
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    left = int(round(min(max(cx - side / 2, 0), w - side)))
    top = int(round(min(max(cy - side / 2, 0), h - side)))
    return left, top, left + side, top + side


def from_keypoints(keypoints, size: tuple[int, int], width: float = 1.0,
                   min_hand_confidence: float = MIN_HAND_CONFIDENCE) -> HandMasks:
    """Masks from OpenPose hand keypoints (a :class:`~vtonlib.data.Keypoints`); points with zero
    confidence are ignored, and a hand whose points average below ``min_hand_confidence`` is skipped."""
    out = HandMasks.empty(size, "keypoints")
    skipped = []
    for side in ("left", "right"):
        points = keypoints.hand(side)
        found = points[points[:, 2] > 0]
        if not len(found):
            continue
        confidence = float(found[:, 2].mean())
        if confidence < min_hand_confidence:
            skipped.append(f"{side} hand skipped (mean confidence {confidence:.2f})")
            continue
        drawn = draw_hand(points, size, width=width)
        if drawn is not None:
            out.add(drawn[0], HandBox(side, drawn[1], round(confidence, 4), "keypoints"))
    out.note = "; ".join(skipped)
    return out


def from_densepose(densepose: np.ndarray, min_area: float = 1e-4) -> HandMasks:
    """Masks from DensePose: part ids (H, W), or VITON-HD's colour rendering (H, W, 3), decoded.

    Specks smaller than ``min_area`` of the image (colours mis-decoded by JPEG at part borders) are
    dropped.
    """
    parts = L.decode_densepose(densepose) if densepose.ndim == 3 else densepose
    size = parts.shape
    out = HandMasks.empty(size, "densepose")
    smallest = max(2, int(min_area * size[0] * size[1]))
    for side, part in (("right", L.RIGHT_HAND_PART), ("left", L.LEFT_HAND_PART)):
        raw = (parts == part).astype(np.uint8)
        if not raw.any():
            continue
        n, labels, stats, _ = cv2.connectedComponentsWithStats(raw, connectivity=8)
        keep = [k for k in range(1, n) if stats[k, cv2.CC_STAT_AREA] >= smallest]
        mask = np.isin(labels, keep)
        if mask.any():
            out.add(mask, HandBox(side, box_of(mask), 1.0, "densepose"))
    return out


def from_detector(image: np.ndarray, detector, width: float = 1.0) -> HandMasks:
    """Masks from a :class:`~vtonlib.hands.detector.HandDetector` run on the photo."""
    size = image.shape[:2]
    out = HandMasks.empty(size, "detector")
    for hand in detector.detect(image):
        drawn = draw_hand(hand["points"], size, width=width)
        if drawn is not None:
            out.add(drawn[0], HandBox(hand["side"], drawn[1], round(hand["score"], 4), "detector"))
    return out


def from_arms(parse: np.ndarray) -> HandMasks:
    """The original project's "hand mask": both whole arms of the parse. A baseline, not a hand mask."""
    out = HandMasks.empty(parse.shape, "arms")
    for side, label in (("left", L.LEFT_ARM), ("right", L.RIGHT_ARM)):
        mask = parse == label
        if mask.any():
            out.add(mask, HandBox(side, box_of(mask), 1.0, "arms"))
    return out


def for_person(person, method: str = "auto", detector=None, width: float = 1.0) -> HandMasks:
    """Hand masks of a :class:`~vtonlib.data.PersonSample` by ``method`` (see the module table).

    ``auto`` tries keypoints, DensePose, then the detector (when one is given) and keeps the first that
    finds a hand; the result's ``source`` says which. A method whose input is absent raises ValueError.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")
    size = person.size
    if method == "auto":
        tried = []
        for candidate in AUTO_ORDER:
            if not _available(person, candidate, detector):
                continue
            result = for_person(person, candidate, detector, width)
            if result.hands:
                if tried:
                    result.note = "; ".join(filter(None, [result.note, f"no hand from {', '.join(tried)}"]))
                return result
            tried.append(candidate)
        note = f"no hand found by {', '.join(tried)}" if tried else "no source available"
        return HandMasks.empty(size, "none", note)
    if not _available(person, method, detector):
        need = {"keypoints": "openpose_json", "densepose": "image-densepose", "arms": "image-parse-v3",
                "detector": "a HandDetector"}[method]
        raise ValueError(f"{person.id}: method '{method}' needs {need}, which this sample lacks")
    if method == "keypoints":
        return from_keypoints(person.keypoints, size, width)
    if method == "densepose":
        return from_densepose(person.densepose)
    if method == "arms":
        return from_arms(person.parse)
    return from_detector(person.image, detector, width)


def _available(person, method: str, detector) -> bool:
    return {"keypoints": person.keypoints is not None, "densepose": person.densepose is not None,
            "arms": person.parse is not None, "detector": detector is not None}[method]


def mask_iou(predicted: np.ndarray, truth: np.ndarray) -> float:
    """Intersection over union of two masks; two empty masks agree perfectly (1.0)."""
    union = np.logical_or(predicted, truth).sum()
    return 1.0 if union == 0 else float(np.logical_and(predicted, truth).sum() / union)
