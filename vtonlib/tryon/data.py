"""The try-on model's inputs, formed exactly as DCI-VTON forms them, from any VITON-HD root.

For a person and a garment:

* ``inpaint_mask``: 1 where the photo is kept, 0 in the region to repaint (torso, neck and arms, drawn
  from the pose, with the head, the lower body and the hands far from the arm skeleton given back);
* ``inpaint_image``: the person with that region greyed out, and the warped garment (times its soft mask)
  pasted into it;
* ``garment``: the in-shop garment cropped to its mask's box (enlarged 10-20 %, at random in training),
  resized to the CLIP encoder's input and CLIP-normalised;
* ``image``: the photo itself, the target in training (paired only).

Warped garments come from ``cloth-warp/`` (or ``unpaired-cloth-warp/``), which notebook 03 writes; on the
built-in sample, where those folders are absent, the sample's true warps stand in.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from .. import imaging
from ..data.agnostic import agnostic_image, agnostic_mask
from ..data.reader import VitonDataset
from ..fileio import DataError
from .model import CLIP_MEAN, CLIP_STD


def garment_crop(image: np.ndarray, mask: np.ndarray, size: int, enlarge: float = 0.15) -> torch.Tensor:
    """(3, size, size) CLIP-normalised crop of the garment's box, enlarged by ``enlarge`` of its size."""
    ys, xs = np.nonzero(mask)
    if not len(xs):
        raise ValueError("the garment mask is empty")
    h, w = mask.shape
    cy, cx = (ys.min() + ys.max()) / 2, (xs.min() + xs.max()) / 2
    half_h, half_w = (ys.max() - ys.min() + 1) * (1 + enlarge) / 2, (xs.max() - xs.min() + 1) * (1 + enlarge) / 2
    y0, y1 = int(max(cy - half_h, 0)), int(min(cy + half_h + 1, h))
    x0, x1 = int(max(cx - half_w, 0)), int(min(cx + half_w + 1, w))
    crop = imaging.resize_image(np.ascontiguousarray(image[y0:y1, x0:x1]), (size, size))
    t = (imaging.to_tensor(crop) + 1) / 2
    return (t - torch.tensor(CLIP_MEAN).view(3, 1, 1)) / torch.tensor(CLIP_STD).view(3, 1, 1)


def garment_picture(crop: torch.Tensor) -> np.ndarray:
    """A CLIP-normalised garment crop (3, S, S) back as a uint8 picture, to look at."""
    unit = crop * torch.tensor(CLIP_STD).view(3, 1, 1) + torch.tensor(CLIP_MEAN).view(3, 1, 1)
    return imaging.to_image(unit * 2 - 1)


def _warped_garment(ds: VitonDataset, person_id: str, unpaired: bool,
                    size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, str]:
    """(RGB, soft mask in [0, 1], where it came from) of the warped garment for this person, at ``size``
    (the photo's): files of another size, such as DCI-VTON's own 512x384 warps, are resized."""
    key = "unpaired_cloth_warp" if unpaired else "cloth_warp"
    if person_id in ds.files(key) and person_id in ds.files(key + "_mask"):
        image, mask = imaging.read_image(ds.path(key, person_id)), imaging.read_grey(ds.path(key + "_mask", person_id))
        if image.shape[:2] != size:
            image = imaging.resize_image(image, size)
        if mask.shape != size:
            mask = np.clip(imaging.resize_image(mask, size), 0, 1)
        return image, mask, "warp model"
    prefix = "unpaired-" if unpaired else ""
    if ds.has_truth and ds.truth_path(f"{prefix}cloth-warp", person_id).exists():
        return (ds.read_truth(f"{prefix}cloth-warp", person_id),
                ds.read_truth(f"{prefix}cloth-warp-mask", person_id).astype(np.float32), "ground truth")
    folder = ds.dir / ("unpaired-cloth-warp" if unpaired else "cloth-warp")
    raise DataError(folder / f"{person_id}.jpg", "missing: warp the garments first (`vton warp apply`, notebook 03)")


def inpaint_region(ds: VitonDataset, person_id: str, image_size: tuple[int, int]) -> np.ndarray:
    """bool (H, W), True in the region to repaint: the agnostic-mask file, or drawn from parse and pose."""
    if person_id in ds.files("agnostic_mask"):
        region = ds.read_mask("agnostic_mask", person_id)
    else:
        region = agnostic_mask(ds.read_parse(person_id), ds.read_keypoints(person_id).body)
    if region.shape != image_size:
        raise DataError(ds.path("agnostic_mask", person_id),
                        f"size {region.shape} differs from the photo's {image_size}")
    return region


def preserve_hands(region: np.ndarray, hand_mask: np.ndarray, erode: int = 1) -> np.ndarray:
    """The inpaint region without the (eroded) hands: the person's own hands are kept, and only the seam
    at the wrist is generated. Erosion leaves the hand's outline to the model, so the seam blends."""
    hands = hand_mask.astype(bool)
    if erode > 0:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * erode + 1, 2 * erode + 1))
        hands = cv2.erode(hands.astype(np.uint8), kernel) > 0
    return region & ~hands


def tryon_example(ds: VitonDataset, person_id: str, cloth_id: str, size: tuple[int, int], clip_size: int,
                  unpaired: bool = False, hand_mask: np.ndarray | None = None, erode: int = 1) -> dict:
    """Everything the model needs for one pair, at the model's ``size``; full-size arrays for paste-back.

    Tensors: image, inpaint_image, warp_feat (3, H, W) in [-1, 1]; inpaint_mask (1, H, W), 1 = keep. Arrays:
    ``photo`` (the full-size person), ``region`` (full-size bool, True = repainted), ``cloth``/``cloth_mask``
    (for the garment crop, taken per use so training can jitter it). With ``hand_mask`` (bool, photo
    size) the hands are preserved: taken out of the region (:func:`preserve_hands`).
    """
    photo = ds.read_image(person_id)
    region = inpaint_region(ds, person_id, photo.shape[:2])
    if hand_mask is not None:
        if hand_mask.shape != region.shape:
            raise DataError(person_id, f"hand mask {hand_mask.shape} differs from the photo's {region.shape}")
        region = preserve_hands(region, hand_mask, erode)
    warped, warped_mask, source = _warped_garment(ds, person_id, unpaired, photo.shape[:2])
    agnostic = imaging.to_tensor(agnostic_image(photo, region))
    garment = imaging.to_tensor(warped) * torch.from_numpy(warped_mask)[None]
    keep = imaging.mask_to_tensor(~region)
    inpaint = agnostic + garment * (1 - keep)  # DCI-VTON: agnostic + warped garment inside the region
    cloth = ds.cloth(cloth_id)
    h, w = size
    resize = lambda t: torch.nn.functional.interpolate(t[None], size=(h, w), mode="bicubic",  # noqa: E731
                                                       align_corners=False)[0].clamp(-1, 1)
    return {
        "id": person_id, "cloth_id": cloth_id, "warp_source": source,
        "image": resize(imaging.to_tensor(photo)),
        "inpaint_image": resize(inpaint),
        # DCI-VTON's warp_feat: the photo, with the warped garment in the region (its start image)
        "warp_feat": resize(garment * (1 - keep) + imaging.to_tensor(photo) * keep),
        "inpaint_mask": imaging.mask_to_tensor(imaging.resize_labels(~region, size)),
        "photo": photo, "region": region, "cloth": cloth.image, "cloth_mask": cloth.mask,
        "clip_size": clip_size,
    }


def dci_example(ds: VitonDataset, person_id: str, cloth_id: str, version: str, unpaired: bool = False,
                size: int = 512, hand_mask: np.ndarray | None = None) -> dict:
    """The same dict as :func:`tryon_example`, formed exactly as DCI-VTON's dataset of ``version`` ("v1":
    ``viton512.ckpt``, "v2": the 2023 model) forms it (:func:`vtonlib.data.dci.diffusion_item`), plus the
    ``garment`` crop and ``warp_feat`` (the start image). ``hand_mask`` keeps those pixels of the photo."""
    from ..data import dci

    item = dci.diffusion_item(ds, person_id, cloth_id, unpaired, version, size)
    photo = ds.read_image(person_id)
    keep = item["inpaint_mask"]
    if hand_mask is not None:
        hands = imaging.mask_to_tensor(imaging.resize_labels(hand_mask.astype(bool), (size, size)))
        keep = torch.maximum(keep, hands)
    region = imaging.resize_labels(keep[0].numpy() < 0.5, photo.shape[:2])
    return {"id": person_id, "cloth_id": cloth_id, "warp_source": f"warp files, formed as DCI-VTON {version}",
            "image": item["GT"], "inpaint_image": item["inpaint_image"], "inpaint_mask": keep,
            "warp_feat": item["warp_feat"], "garment": item["ref_imgs"], "photo": photo, "region": region}


def model_example(ds: VitonDataset, person_id: str, cloth_id: str, config, unpaired: bool = False,
                  hand_mask: np.ndarray | None = None) -> dict:
    """The inputs of one pair as the model's config says they were formed in training (``config.dataset``:
    the course's way, or DCI-VTON's v1 / v2 for its released weights)."""
    if config.dataset in ("dci-v1", "dci-v2"):
        return dci_example(ds, person_id, cloth_id, config.dataset.removeprefix("dci-"), unpaired,
                           config.model_size[0], hand_mask)
    return tryon_example(ds, person_id, cloth_id, config.model_size, config.clip["image_size"], unpaired, hand_mask)


class TryOnPairs(torch.utils.data.Dataset):
    """Pairs of a split as model inputs, read once and kept in memory. Paired unless ``unpaired``."""

    def __init__(self, root, split: str, size: tuple[int, int], clip_size: int, unpaired: bool = False,
                 jitter: bool = False, seed: int = 0):
        self.ds = VitonDataset(root, split)
        self.size, self.clip_size, self.unpaired, self.jitter = tuple(size), clip_size, unpaired, jitter
        self.pairs = self.ds.pairs(unpaired=unpaired)
        self.rng = np.random.default_rng(seed)
        self._cache: dict[int, dict] = {}

    def __len__(self) -> int:
        return len(self.pairs)

    def example(self, index: int) -> dict:
        if index not in self._cache:
            person_id, cloth_id = self.pairs[index]
            self._cache[index] = tryon_example(self.ds, person_id, cloth_id, self.size, self.clip_size, self.unpaired)
        return self._cache[index]

    def __getitem__(self, index: int) -> dict:
        ex = self.example(index)
        enlarge = float(self.rng.uniform(0.1, 0.2)) if self.jitter else 0.15
        return {"image": ex["image"], "inpaint_image": ex["inpaint_image"], "inpaint_mask": ex["inpaint_mask"],
                "garment": garment_crop(ex["cloth"], ex["cloth_mask"], self.clip_size, enlarge)}
