"""Scores of try-on results against the person photo (paired: the photo is the answer), and the naive
composite they must beat: the warped garment pasted into the agnostic image, nothing generated."""

from __future__ import annotations

import numpy as np

from .. import imaging
from ..metrics.image import psnr, ssim  # one SSIM for the whole course: the Gaussian-window one papers report


def naive_composite(example: dict) -> np.ndarray:
    """The inpaint image itself at the photo's size: grey where nothing was pasted. The baseline."""
    h, w = example["photo"].shape[:2]
    inpaint = imaging.to_image(example["inpaint_image"])
    inpaint = imaging.resize_image(inpaint, (h, w))
    return np.where(example["region"][..., None], inpaint, example["photo"])


def score(results: dict[str, np.ndarray], truths: dict[str, np.ndarray]) -> dict:
    """Mean SSIM and PSNR of results against truths (same keys, uint8 RGB of equal size)."""
    keys = sorted(results)
    return {"ssim": float(np.mean([ssim(truths[k], results[k]) for k in keys])),
            "psnr": float(np.mean([psnr(truths[k], results[k]) for k in keys])), "images": len(keys)}
