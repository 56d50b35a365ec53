"""Skin-tone augmentation for try-on training: the same person, recoloured to other skin tones.

A small training set lets a UNet remember each person's skin instead of reading it from the picture: on
the built-in sample's 36 training people a tiny UNet paints their arms in the right tone, and a new
person's arms in the average tone. Recolouring the skin (face, neck, arms, hands, legs: the parse's skin
labels) of photo and inpaint image together, to tones drawn from a palette of human skin tones, removes
the shortcut: the only way to know the arms' colour is to look at the face, the hands and the legs the
inpaint image keeps. The recolouring is a per-channel gain (target / source tone), so shading and
outlines keep their contrast.
"""

from __future__ import annotations

import numpy as np
import torch

from .. import imaging
from ..data.skin import SKIN_LABELS, median_colour

# Human skin tones from light to deep (sRGB), spread over the range photos show
SKIN_PALETTE = ((255, 224, 196), (246, 208, 176), (236, 188, 150), (224, 172, 130), (198, 140, 100),
                (176, 120, 82), (150, 96, 62), (126, 78, 50), (100, 62, 40), (76, 48, 32))


def recolour(image: torch.Tensor, skin: torch.Tensor, gain: torch.Tensor) -> torch.Tensor:
    """(3, H, W) in [-1, 1], with the pixels of ``skin`` (H, W) multiplied by ``gain`` (3,) in [0, 1] terms."""
    unit = (image + 1) / 2
    recoloured = (unit * gain.view(3, 1, 1)).clamp(0, 1)
    return torch.where(skin[None], recoloured, unit) * 2 - 1


def skin_variants(example: dict, parse: np.ndarray, count: int, rng: np.random.Generator) -> list[dict]:
    """``count`` copies of a :func:`~vtonlib.tryon.data.tryon_example` dict (its model-size ``image`` and
    ``inpaint_image``) with the skin recoloured to tones of :data:`SKIN_PALETTE` other than its own."""
    size = tuple(example["image"].shape[-2:])
    skin_full = np.isin(parse, SKIN_LABELS)
    if count <= 0 or not skin_full.any():
        return []
    source = median_colour(example["photo"], skin_full)
    skin = torch.from_numpy(imaging.resize_labels(skin_full, size))
    kept_skin = skin & example["inpaint_mask"][0].bool()  # the region of the inpaint image is grey, not skin
    palette = np.array(SKIN_PALETTE, np.float64)
    others = palette[np.argsort(np.linalg.norm(palette - source, axis=1))[1:]]  # every tone but the nearest
    out = []
    for target in others[rng.choice(len(others), size=min(count, len(others)), replace=False)]:
        gain = torch.tensor(target / np.maximum(source, 1.0), dtype=torch.float32)
        out.append({**example, "image": recolour(example["image"], skin, gain),
                    "inpaint_image": recolour(example["inpaint_image"], kept_skin, gain)})
    return out
