"""Scores of try-on results, measured where the model works: inside the inpaint region (PSNR, SSIM, LPIPS
against the truth: the photo when paired, the sample's true try-on when unpaired) and on the garment's
colour (CIEDE2000 of the mean colours over the true garment's pixels); the whole-image SSIM and PSNR beside
them. The baselines they are read against: the naive composite (the warped garment pasted into the agnostic
image, nothing generated) and the ceiling (the photo through the autoencoder and back: what no model on
these latents can beat)."""

from __future__ import annotations

import numpy as np
import torch

from .. import imaging
from ..data import labels as L
from ..data.reader import VitonDataset
from ..metrics.image import psnr, ssim  # one SSIM for the whole course: the Gaussian-window one papers report
from ..metrics.region import garment_delta_e, region_lpips, region_psnr, region_ssim


def naive_composite(example: dict) -> np.ndarray:
    """The inpaint image itself at the photo's size: grey where nothing was pasted. The baseline."""
    h, w = example["photo"].shape[:2]
    inpaint = imaging.to_image(example["inpaint_image"])
    inpaint = imaging.resize_image(inpaint, (h, w))
    return np.where(example["region"][..., None], inpaint, example["photo"])


@torch.no_grad()
def autoencoder_ceiling(model, examples: list[dict]) -> list[np.ndarray]:
    """Each photo through the model's autoencoder and back, pasted like a result: the best any result on
    these latents can be."""
    from .sample import to_photo_size

    out = []
    for e in examples:
        round_trip = model.decode(model.encode(e["image"][None].to(next(model.parameters()).device))).clamp(-1, 1)
        out.append(to_photo_size(imaging.to_image(round_trip)[0], e))
    return out


def true_garment(ds: VitonDataset, person_id: str, unpaired: bool) -> np.ndarray | None:
    """Where the garment tried on lies in the truth: the parse's upper clothes (paired), the sample's true
    unpaired warp mask (unpaired); None where unknown (real unpaired pairs have no truth)."""
    if not unpaired:
        return np.isin(ds.read_parse(person_id), L.UPPER_CLOTHES)
    if ds.has_truth and ds.truth_path("unpaired-cloth-warp-mask", person_id).exists():
        return ds.read_truth("unpaired-cloth-warp-mask", person_id) > 0.5
    return None


def score(results: dict[str, np.ndarray], truths: dict[str, np.ndarray]) -> dict:
    """Mean whole-image SSIM and PSNR of results against truths (same keys, uint8 RGB of equal size)."""
    keys = sorted(results)
    return {"ssim": float(np.mean([ssim(truths[k], results[k]) for k in keys])),
            "psnr": float(np.mean([psnr(truths[k], results[k]) for k in keys])), "images": len(keys)}


def region_scores(results: list[np.ndarray], examples: list[dict], truths: list[np.ndarray], lpips=None,
                  garments: list[np.ndarray | None] | None = None) -> dict:
    """Means over images: PSNR, SSIM (and LPIPS with ``lpips``) inside each example's inpaint region, the
    garment colour difference (CIEDE2000) over ``garments`` (true garment masks) inside the region, and the
    whole-image SSIM and PSNR."""
    rows = {"psnr": [], "ssim": [], "lpips": [], "delta_e": [], "image_ssim": [], "image_psnr": []}
    for i, (result, e, truth) in enumerate(zip(results, examples, truths)):
        region = e["region"]
        rows["psnr"].append(region_psnr(result, truth, region))
        rows["ssim"].append(region_ssim(result, truth, region))
        if lpips is not None and lpips.available:
            rows["lpips"].append(region_lpips(lpips, result, truth, region))
        if garments is not None and garments[i] is not None:
            rows["delta_e"].append(garment_delta_e(result, truth, garments[i] & region))
        rows["image_ssim"].append(ssim(truth, result))
        rows["image_psnr"].append(psnr(truth, result))
    out = {k: float(np.nanmean(v)) for k, v in rows.items() if v}
    out["images"] = len(results)
    return out
