"""Warping inputs and targets, formed as PF-AFN / DCI-VTON form them, from any VITON-HD root.

* person: the agnostic parse as 13 one-hot groups + the DensePose rendering as RGB in [-1, 1] (16 ch);
* cloth: the in-shop garment in [-1, 1] and its mask;
* targets: the garment as worn (the photo inside the parse's upper-clothes region, white elsewhere) and
  that region's mask.

Where a root lacks ``image-parse-agnostic-v3.2`` (the original VITON-HD layout), the agnostic parse is
derived from the parse and the pose, with the same rule the released files were made with.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .. import imaging
from ..data import labels as L
from ..data.agnostic import parse_agnostic
from ..data.reader import VitonDataset
from ..fileio import DataError

PERSON_CHANNELS = len(L.PARSE_GROUPS) + 3


def person_representation(ds: VitonDataset, sample_id: str, size: tuple[int, int]) -> torch.Tensor:
    """(16, H, W): agnostic-parse groups one-hot, then DensePose RGB in [-1, 1]."""
    if sample_id in ds.files("parse_agnostic"):
        agnostic = imaging.read_labels(ds.path("parse_agnostic", sample_id), palette=L.LIP_PALETTE)
    else:
        agnostic = parse_agnostic(ds.read_parse(sample_id), ds.read_keypoints(sample_id).body)
    groups = torch.from_numpy(L.group_parse(imaging.resize_labels(agnostic, size)).astype(np.int64))
    one_hot = F.one_hot(groups, len(L.PARSE_GROUPS)).permute(2, 0, 1).float()
    if sample_id not in ds.files("densepose"):
        raise DataError(ds.path("densepose", sample_id), "missing: the warping model needs DensePose")
    densepose = imaging.resize_image(imaging.read_image(ds.path("densepose", sample_id)), size)
    return torch.cat([one_hot, imaging.to_tensor(densepose)], 0)


def cloth_tensors(ds: VitonDataset, cloth_id: str, size: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    cloth = ds.cloth(cloth_id)
    return (imaging.to_tensor(imaging.resize_image(cloth.image, size)),
            imaging.mask_to_tensor(imaging.resize_labels(cloth.mask, size)))


def worn_targets(ds: VitonDataset, sample_id: str, size: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    """The garment as worn (white outside it), and its mask: what the warp must produce."""
    image = imaging.to_tensor(imaging.resize_image(ds.read_image(sample_id), size))
    region = np.isin(imaging.resize_labels(ds.read_parse(sample_id), size), L.UPPER_CLOTHES)
    mask = imaging.mask_to_tensor(region)
    return image * mask + (1 - mask), mask


class WarpPairs(torch.utils.data.Dataset):
    """(person, garment) pairs of a split at the warping model's size, held in memory once read.

    Paired (each person with their own garment, as in training) unless ``unpaired``, which takes the
    pairs file's garments; targets exist only for paired samples.
    """

    def __init__(self, root, split: str = "train", size: tuple[int, int] = (128, 96), unpaired: bool = False):
        self.ds = VitonDataset(root, split)
        self.size = tuple(size)
        self.unpaired = unpaired
        self.pairs = [(p, c) for p, c in self.ds.pairs(unpaired=unpaired)
                      if c in self.ds.files("cloth") and p in self.ds.files("image")]
        self._cache: dict[int, dict] = {}

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> dict:
        if index not in self._cache:
            person_id, cloth_id = self.pairs[index]
            cloth, cloth_mask = cloth_tensors(self.ds, cloth_id, self.size)
            item = {"id": person_id, "cloth_id": cloth_id, "cloth": cloth, "cloth_mask": cloth_mask,
                    "person": person_representation(self.ds, person_id, self.size)}
            if not self.unpaired:
                item["target"], item["target_mask"] = worn_targets(self.ds, person_id, self.size)
            self._cache[index] = item
        return self._cache[index]
