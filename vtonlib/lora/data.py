"""Hand crops for the hand LoRA: the model learns to redraw a hand from its surroundings.

For each hand box (from ``hands.json``, written by ``vton hands``; or the mask's connected components), a
square crop with context around the hand, resized to the training size. Its inpaint mask is the dilated
hand mask (0 = repaint), its inpaint image the crop with that region greyed out, and its condition the
person's own garment, as in try-on. The same crop-and-mask geometry is what the correction of notebook 06
feeds the model, at a larger scale than the try-on saw the hand.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from .. import imaging
from ..data.agnostic import GREY
from ..data.reader import VitonDataset
from ..data.skin import face_skin
from ..fileio import DataError, read_json
from ..hands.masks import dilate, square_crop
from ..tryon.data import garment_crop


@dataclass
class HandBoxRef:
    id: str
    side: str
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 of the hand, pixels of the photo


def hand_boxes(masks_dir: Path, person_id: str, min_pixels: int = 12) -> list[HandBoxRef]:
    """Hand boxes of one person: ``hands.json`` when present, else the mask's connected components."""
    report = masks_dir / "hands.json"
    if report.exists():
        entry = read_json(report).get("images", {}).get(person_id)
        if entry and "hands" in entry:
            return [HandBoxRef(person_id, h["side"], tuple(h["box"])) for h in entry["hands"]]
    path = masks_dir / f"{person_id}.png"
    if not path.exists():
        return []
    mask = imaging.read_mask(path).astype(np.uint8)
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    return [HandBoxRef(person_id, "unknown", (int(s[0]), int(s[1]), int(s[0] + s[2]), int(s[1] + s[3])))
            for s in stats[1:] if s[cv2.CC_STAT_AREA] >= min_pixels]


def first_guess(crop: np.ndarray, region: np.ndarray, hand: np.ndarray, skin) -> np.ndarray:
    """The hand's rough answer, as the warped garment is the try-on's: the region filled from its
    surroundings (OpenCV's Telea inpainting), then the hand's mask painted flat in the skin colour."""
    guess = cv2.inpaint(np.ascontiguousarray(crop), region.astype(np.uint8), 3, cv2.INPAINT_TELEA)
    guess[hand & region] = np.clip(np.rint(np.asarray(skin, np.float64)), 0, 255).astype(np.uint8)
    return guess


def hand_crop(photo: np.ndarray, hand_mask: np.ndarray, crop_box, size: int, dilation: int,
              context: np.ndarray | None = None, hint: np.ndarray | None = None, skin=None) -> dict:
    """Tensors of one crop: image, inpaint_image, inpaint_mask (1 = keep), hand_weight (1 on the hand).
    ``context``: the picture the inpaint image is cut from, when not the photo (a try-on result).
    Without ``hint`` the region is grey (DCI-VTON's convention); with ``hint`` (bool (H, W), the hand's
    mask drawn from its keypoints) and ``skin`` (the person's skin colour) the region holds
    :func:`first_guess`: the shape and the colour a hand's surroundings cannot tell."""
    x0, y0, x1, y1 = crop_box
    region = dilate(hand_mask, dilation)[y0:y1, x0:x1]
    image = imaging.resize_image(np.ascontiguousarray(photo[y0:y1, x0:x1]), (size, size))
    region = imaging.resize_labels(region, (size, size))
    inpaint = image if context is None else imaging.resize_image(np.ascontiguousarray(context[y0:y1, x0:x1]),
                                                                 (size, size))
    inpaint = inpaint.copy()
    if hint is not None and skin is not None:
        inpaint = first_guess(inpaint, region, imaging.resize_labels(hint[y0:y1, x0:x1], (size, size)), skin)
    else:
        inpaint[region] = GREY
    return {"image": imaging.to_tensor(image), "inpaint_image": imaging.to_tensor(inpaint),
            "inpaint_mask": imaging.mask_to_tensor(~region), "hand_weight": imaging.mask_to_tensor(region)}


class HandCrops(torch.utils.data.Dataset):
    """Every hand of a split as a training crop, held in memory. ``people`` restricts to some ids.

    ``context``: a folder of the try-on model's own results for this split (``vton tryon sample --split
    train``, paired). The inpaint image is then cut from the result and the target from the photo: the
    adapter learns what correction asks of it, to redraw a hand among the try-on model's own arms and
    garment, not among the photo's.
    """

    def __init__(self, root, masks_dir, split: str = "train", size: int = 128, padding: float = 0.75,
                 dilation: int = 2, clip_size: int = 64, people: list[str] | None = None, context=None,
                 hint: bool = False):
        self.ds = VitonDataset(root, split)
        masks_dir = Path(masks_dir)
        if not masks_dir.is_dir():
            raise DataError(masks_dir, "hand-mask folder not found: write it with `vton hands` (notebook 02)")
        self.context = str(context) if context is not None else None
        self.items: list[dict] = []
        self.refs: list[HandBoxRef] = []
        for person_id in people if people is not None else self.ds.ids:
            boxes = hand_boxes(masks_dir, person_id)
            if not boxes:
                continue
            photo = self.ds.read_image(person_id)
            around = _context_image(Path(context), person_id, photo.shape) if context is not None else None
            hands = imaging.read_mask(masks_dir / f"{person_id}.png")
            skin = face_skin(photo, self.ds.read_parse(person_id)) if hint else None
            cloth = self.ds.cloth(person_id) if person_id in self.ds.files("cloth") else None
            garment = garment_crop(cloth.image, cloth.mask, clip_size) if cloth is not None else None
            for ref in boxes:
                box = square_crop(ref.box, padding, photo.shape[:2])
                item = hand_crop(photo, hands, box, size, dilation, around, hint=hands if hint else None, skin=skin)
                item["garment"] = garment if garment is not None else torch.zeros(3, clip_size, clip_size)
                item["crop_box"] = box
                self.items.append(item)
                self.refs.append(ref)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict:
        return self.items[index]

    def fingerprint(self) -> str:
        """A hash of which hands (and boxes) the data holds: recorded in the adapter's metadata."""
        listing = json.dumps([(r.id, r.side, list(r.box)) for r in self.refs] + [self.context])
        return hashlib.sha256(listing.encode()).hexdigest()[:16]


def stack_crops(items: list[dict], keys=("image", "inpaint_image", "inpaint_mask", "hand_weight", "garment")):
    """A batch of :func:`hand_crop` items: each key's tensors stacked."""
    return {k: torch.stack([it[k] for it in items]) for k in keys}


def _context_image(folder: Path, person_id: str, shape) -> np.ndarray:
    found = sorted(folder.glob(f"{person_id}__*.png"))
    if not found:
        raise DataError(folder / f"{person_id}__<garment>.png", "no try-on result for this person in the context "
                                                                "folder (`vton tryon sample --split train`)")
    image = imaging.read_image(found[0])
    if image.shape != shape:
        raise DataError(found[0], f"size {image.shape[:2]} differs from the photo's {shape[:2]}")
    return image


def split_people(ds: VitonDataset, masks_dir, share: float, seed: int = 0) -> tuple[list[str], list[str]]:
    """(training, validation) people: whole people are held out, so a validation hand is never trained on."""
    people = [i for i in ds.ids if hand_boxes(Path(masks_dir), i)]
    rng = np.random.default_rng(seed)
    order = list(rng.permutation(people))
    n_val = max(1, int(round(len(people) * share))) if len(people) > 1 and share > 0 else 0
    return sorted(order[n_val:]), sorted(order[:n_val])
