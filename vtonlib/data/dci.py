"""The tensors DCI-VTON's own dataset classes form from a VITON-HD root, reproduced exactly.

A released checkpoint saw its inputs formed one way; fed differently formed ones it is tested on a
different task. These functions are the original's data pipelines written out (and checked against their
outputs, ``../shared/parity/data``):

* :func:`diffusion_item`: ``ldm/data/cp_dataset.py`` (``v1``, the released ``viton512.ckpt``) and
  ``cp_dataset_v2.py`` (``v2``, the 2023 model): everything squashed to 512x512 with PIL's antialiased
  resizes; v1 repaints the parse's upper clothes and both arms, dilated (10x10 kernel, x3, eroded x1), and
  greys only the arms; v2 repaints the pose-drawn agnostic region;
* :func:`warp_item` and :func:`afwm_inputs`: ``warp/test/data/cp_dataset.py`` at 512x384 and
  ``eval_PBAFN_viton.py``'s steps down to 256x192 (the training dataset at 256x192 too).

Differences from the course's own preparation (:mod:`vtonlib.tryon.data`, :mod:`vtonlib.warp.data`) are
deliberate there: no squashing, one resize, a mask that keeps the hands. Conventions: images in [-1, 1];
``inpaint_mask`` 1 = keep the photo, 0 = repaint.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from . import labels as L
from .agnostic import agnostic_image, agnostic_mask
from .. import imaging
from .reader import VitonDataset

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
VERSIONS = ("v1", "v2")
GROUP_LUT = np.zeros(256, dtype=np.int64)
for _group, (_, _ids) in enumerate(L.PARSE_GROUPS):
    GROUP_LUT[list(_ids)] = _group


# --- the original's building blocks ------------------------------------------------------------------
def _open(path) -> Image.Image:
    return imaging.open_image(path)  # every failure a DataError naming the file


def resize(im: Image.Image, size: tuple[int, int], resample=Image.BILINEAR) -> Image.Image:
    """torchvision's Resize((H, W)) of a PIL image (PIL's own resize: antialiased)."""
    return im.resize((size[1], size[0]), resample)


def short_side(im: Image.Image, short: int) -> tuple[int, int]:
    """(H, W) of torchvision's Resize(short): the shorter side to ``short``, the other in proportion."""
    w, h = im.size
    return (int(short * h / w), short) if w <= h else (short, int(short * w / h))


def to_pm1(im: Image.Image) -> torch.Tensor:
    """ToTensor + Normalize(0.5, 0.5): (3, H, W) in [-1, 1]."""
    return torch.from_numpy(np.array(im.convert("RGB"))).permute(2, 0, 1).float().div(255).sub(0.5).div(0.5)


def to_unit(im: Image.Image) -> torch.Tensor:
    """ToTensor of a one-channel image: (1, H, W) in [0, 1] (a JPEG mask stays soft)."""
    return torch.from_numpy(np.array(im)).float().div(255)[None]


def groups_onehot(parse: np.ndarray) -> torch.Tensor:
    """LIP ids (H, W) -> (13, H, W) one-hot of the 13 network groups."""
    return F.one_hot(torch.from_numpy(GROUP_LUT[parse]), len(L.PARSE_GROUPS)).permute(2, 0, 1).float()


def mask2bbox(mask: np.ndarray, factor: float = 0.15) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of the mask's box enlarged by ``factor`` about its integer centre, exactly
    as cp_dataset.py's mask2bbox (which draws factor uniformly in [0.1, 0.2] on every item)."""
    rows, cols = np.where(mask)
    bottom, top, left, right = rows.max(), rows.min(), cols.min(), cols.max()
    cy, cx = (bottom + top) // 2, (left + right) // 2
    bottom = int(min(bottom * (1 + factor) - cy * factor + 1, mask.shape[0]))
    top = int(max(top * (1 + factor) - cy * factor, 0))
    left = int(max(left * (1 + factor) - cx * factor, 0))
    right = int(min(right * (1 + factor) - cx * factor + 1, mask.shape[1]))
    return top, bottom, left, right


def garment_reference(cloth: torch.Tensor, cloth_mask: np.ndarray, factor: float = 0.15,
                      antialias: bool = False, size: int = 224) -> torch.Tensor:
    """The CLIP input: the garment (in [-1, 1]) cropped to mask2bbox, resized as a tensor (bilinear; no
    antialiasing, as DCI-VTON's torchvision 0.12 did) and CLIP-normalised."""
    top, bottom, left, right = mask2bbox(cloth_mask, factor)
    crop = (cloth[:, top:bottom, left:right] + 1) / 2
    crop = F.interpolate(crop[None], size=(size, size), mode="bilinear", align_corners=False, antialias=antialias)[0]
    return (crop - torch.tensor(CLIP_MEAN).view(3, 1, 1)) / torch.tensor(CLIP_STD).view(3, 1, 1)


def agnostic_picture(photo: Image.Image, region: np.ndarray) -> Image.Image:
    """The photo with the agnostic region painted grey (get_agnostic's picture: PIL's 'gray', 128)."""
    return Image.fromarray(agnostic_image(np.asarray(photo.convert("RGB")), region))


def _parse(ds: VitonDataset, person_id: str) -> Image.Image:
    return _open(ds.path("parse", person_id))


def _keypoints(ds: VitonDataset, person_id: str) -> np.ndarray:
    """BODY_25 (25, 3), with the original's rule for absent points (x = y = 0) standing in for confidence."""
    body = ds.read_keypoints(person_id).body.astype(np.float64).copy()
    body[:, 2] = ~((body[:, 0] == 0) & (body[:, 1] == 0))
    return body


def _warped(ds: VitonDataset, person_id: str, unpaired: bool, size, mask_resample=Image.NEAREST):
    """The warped garment (times its soft mask) as the diffusion datasets read it: any size, resized."""
    key = "unpaired_cloth_warp" if unpaired else "cloth_warp"
    cloth = to_pm1(resize(_open(ds.path(key, person_id)).convert("RGB"), size))
    mask = to_unit(resize(_open(ds.path(key + "_mask", person_id)).convert("L"), size, mask_resample))
    return cloth * mask


# --- the diffusion datasets ----------------------------------------------------------------------------
def diffusion_item(ds: VitonDataset, person_id: str, cloth_id: str, unpaired: bool = False, version: str = "v1",
                   size: int = 512, factor: float = 0.15, antialias_ref: bool = False) -> dict[str, torch.Tensor]:
    """GT, inpaint_image, inpaint_mask, ref_imgs, warp_feat, as ``CPDataset(root, size)[i]`` of the release.

    ``factor``: the garment crop's enlargement (the original draws it in [0.1, 0.2] per item; 0.15 here);
    ``antialias_ref``: the CLIP crop's tensor resize antialiased (the code run on torchvision >= 0.17)."""
    if version not in VERSIONS:
        raise ValueError(f"DCI-VTON dataset version {version!r}: one of {VERSIONS}")
    crop = (size, size)  # fine_width = int(size / 256 * 256): the photo is squashed to a square
    cloth = to_pm1(resize(_open(ds.path("cloth", cloth_id)).convert("RGB"), crop))
    cloth_mask = np.asarray(resize(_open(ds.path("cloth_mask", cloth_id)), crop, Image.NEAREST)) >= 128
    if cloth_mask.ndim == 3:
        cloth_mask = cloth_mask[..., 0]
    photo_big = _open(ds.path("image", person_id)).convert("RGB")
    gt = to_pm1(resize(photo_big, crop))
    parse_big = _parse(ds, person_id)
    parse_ids = np.asarray(parse_big)
    warped = _warped(ds, person_id, unpaired, crop)
    # get_agnostic at the photo's own size: the pose-drawn region, arms far from the skeleton, head and
    # lower body given back
    region = agnostic_mask(parse_ids, _keypoints(ds, person_id))
    agnostic = to_pm1(resize(agnostic_picture(photo_big, region), crop))
    if version == "v1":
        groups = GROUP_LUT[np.asarray(resize(parse_big, crop, Image.NEAREST))]
        repaint = np.isin(groups, (3, 5, 6)).astype(np.uint8)  # upper clothes, left arm, right arm
        import cv2

        k = int(5 * (size / 256))
        repaint = cv2.erode(cv2.dilate(repaint, np.ones((k, k)), iterations=3), np.ones((k, k)), iterations=1)
        inpaint_mask = 1 - torch.from_numpy(repaint.astype(np.float32))[None]
        feat = warped * (1 - inpaint_mask) + gt * inpaint_mask
        # the arms of the agnostic parse are shown grey (the agnostic picture), the rest is warp_feat
        arms = groups_onehot(np.asarray(resize(_open(ds.path("parse_agnostic", person_id)), crop, Image.NEAREST)))
        hands = arms[5:7].sum(0, keepdim=True).clamp(0, 1)
        inpaint = feat * (1 - hands) + agnostic * hands
    else:
        keep = np.asarray(resize(Image.fromarray(np.uint8(region) * 255), crop, Image.NEAREST)) < 128
        inpaint_mask = torch.from_numpy(keep.astype(np.float32))[None]
        inpaint = agnostic + warped * (1 - inpaint_mask)
        feat = inpaint
    return {"GT": gt, "inpaint_image": inpaint, "inpaint_mask": inpaint_mask, "warp_feat": feat,
            "ref_imgs": garment_reference(cloth, cloth_mask, factor, antialias_ref)}


# --- the warping datasets -----------------------------------------------------------------------------
def warp_item(ds: VitonDataset, person_id: str, cloth_id: str, short: int = 384, warped: bool = False,
              model_inputs_only: bool = False) -> dict[str, torch.Tensor]:
    """The keys of ``warp/test/data/cp_dataset.py`` (``short`` 384: 512x384) or of the training dataset
    (192: 256x192, with ``warped`` its pre-warped garment), every image resized once by PIL from its file.
    ``model_inputs_only``: just what the AFWM reads (cloth, cloth_mask, parse_agnostic, densepose)."""
    photo = _open(ds.path("image", person_id)).convert("RGB")
    size = short_side(photo, short)
    cloth_mask = np.asarray(resize(_open(ds.path("cloth_mask", cloth_id)), size, Image.NEAREST)) >= 128
    item = {
        "cloth": to_pm1(resize(_open(ds.path("cloth", cloth_id)).convert("RGB"), size)),
        "cloth_mask": torch.from_numpy(cloth_mask.astype(np.float32))[None],
        "parse_agnostic": groups_onehot(np.asarray(resize(_open(ds.path("parse_agnostic", person_id)), size,
                                                          Image.NEAREST))),
        "densepose": to_pm1(resize(_open(ds.path("densepose", person_id)).convert("RGB"), size)),
    }
    if model_inputs_only:
        return item
    image = to_pm1(resize(photo, size))
    parse_ids = np.asarray(resize(_parse(ds, person_id), size, Image.NEAREST))
    parse = groups_onehot(parse_ids)
    pcm = parse[3:4]
    region = agnostic_mask(np.asarray(_parse(ds, person_id)), _keypoints(ds, person_id))
    item |= {
        "pose": to_pm1(resize(_open(ds.path("openpose_img", person_id)).convert("RGB"), size)),
        "agnostic": to_pm1(resize(agnostic_picture(photo, region), size)),
        "parse_onehot": torch.from_numpy(GROUP_LUT[parse_ids].astype(np.float32))[None],
        "parse": parse, "pcm": pcm, "parse_cloth": image * pcm + (1 - pcm), "image": image,
    }
    if warped:
        item["warped_cloth"] = to_pm1(resize(_open(ds.path("cloth_warp", person_id)).convert("RGB"), size))
        item["warped_cloth_mask"] = to_unit(resize(_open(ds.path("cloth_warp_mask", person_id)).convert("L"), size,
                                                   Image.NEAREST))
    return item


def afwm_inputs(item: dict[str, torch.Tensor], size: tuple[int, int] = (256, 192)) -> dict[str, torch.Tensor]:
    """eval_PBAFN_viton.py's steps from a 512x384 item to the AFWM's 256x192 inputs (``input2`` is the
    16-channel person, ``clothes_down`` the garment, ``pre_clothes_mask_down`` its mask)."""
    mask = (item["cloth_mask"] > 0.5).float()[None]
    down = {
        "cm_paired": mask[0],
        "pre_clothes_mask_down": F.interpolate(mask, size=size, mode="nearest")[0],
        "input_parse_agnostic_down": F.interpolate(item["parse_agnostic"][None], size=size, mode="nearest")[0],
        "clothes_down": F.interpolate(item["cloth"][None], size=size, mode="bilinear", align_corners=False)[0],
        "densepose_down": F.interpolate(item["densepose"][None], size=size, mode="bilinear", align_corners=False)[0],
    }
    down["input1"] = torch.cat([down["clothes_down"], down["pre_clothes_mask_down"]])
    down["input2"] = torch.cat([down["input_parse_agnostic_down"], down["densepose_down"]])
    return down
