"""Scores measured where a stage works: inside the region it generated, and on the garment's colour.

A try-on copies most of the photo back unchanged (background, head, legs), so whole-image SSIM or PSNR is
dominated by pixels nobody generated. These measure only the inpaint region (PSNR over its pixels, the
SSIM map averaged over them, LPIPS on its bounding box with everything outside it taken from the truth),
and the garment's colour as CIEDE2000 between the mean Lab colours of result and truth over the true
garment's pixels: a small misalignment of the warp does not swamp a colour that is simply wrong.
"""

from __future__ import annotations

import numpy as np
import torch
from skimage.color import deltaE_ciede2000, rgb2lab
from torchmetrics.functional.image import structural_similarity_index_measure


def _check(result: np.ndarray, truth: np.ndarray, region: np.ndarray) -> np.ndarray:
    if result.shape != truth.shape:
        raise ValueError(f"images differ in size: {result.shape} and {truth.shape}")
    region = np.asarray(region).astype(bool)
    if region.shape != result.shape[:2]:
        raise ValueError(f"region {region.shape} differs from the images' {result.shape[:2]}")
    return region


def region_psnr(result: np.ndarray, truth: np.ndarray, region: np.ndarray, cap: float = 100.0) -> float:
    """PSNR (dB) over the pixels of ``region`` only; NaN for an empty region."""
    region = _check(result, truth, region)
    if not region.any():
        return float("nan")
    mse = float(np.mean((result[region].astype(np.float64) - truth[region].astype(np.float64)) ** 2))
    return cap if mse == 0 else min(cap, 10 * np.log10(255.0 ** 2 / mse))


def region_ssim(result: np.ndarray, truth: np.ndarray, region: np.ndarray) -> float:
    """The SSIM map (Gaussian 11-pixel window, as :func:`~.image.ssim`) averaged over ``region``."""
    region = _check(result, truth, region)
    if not region.any():
        return float("nan")
    to = lambda x: torch.from_numpy(np.ascontiguousarray(x)).permute(2, 0, 1)[None].float() / 255.0  # noqa: E731
    _, full = structural_similarity_index_measure(to(result), to(truth), data_range=1.0, return_full_image=True)
    ssim_map = full[0].mean(0).numpy()  # (H, W): the mean over colour channels
    return float(ssim_map[region].mean())


def region_box(region: np.ndarray, margin: int = 4) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1): the region's bounding box grown by ``margin`` pixels, inside the image."""
    ys, xs = np.nonzero(region)
    h, w = region.shape
    return (max(int(xs.min()) - margin, 0), max(int(ys.min()) - margin, 0),
            min(int(xs.max()) + 1 + margin, w), min(int(ys.max()) + 1 + margin, h))


def region_lpips(lpips, result: np.ndarray, truth: np.ndarray, region: np.ndarray) -> float:
    """LPIPS of the region's bounding box, with every pixel outside the region taken from the truth (so
    only what was generated can differ). ``lpips``: a :class:`~.perceptual.Lpips`."""
    region = _check(result, truth, region)
    if not region.any():
        return float("nan")
    x0, y0, x1, y1 = region_box(region)
    inside = np.where(region[..., None], result, truth)
    return lpips.distance(inside[y0:y1, x0:x1], truth[y0:y1, x0:x1])


def mean_lab(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The mean CIE Lab colour of ``image``'s pixels under ``mask`` (a colour, not a texture)."""
    pixels = image[np.asarray(mask).astype(bool)]
    return rgb2lab(pixels.reshape(-1, 1, 3).astype(np.float64) / 255.0).reshape(-1, 3).mean(0)


def garment_delta_e(result: np.ndarray, truth: np.ndarray, garment_mask: np.ndarray) -> float:
    """CIEDE2000 between the mean Lab colours of result and truth over the true garment's pixels: about 1
    is the smallest difference a person sees, above 10 a different colour. NaN for an empty mask."""
    garment_mask = _check(result, truth, garment_mask)
    if not garment_mask.any():
        return float("nan")
    return float(deltaE_ciede2000(mean_lab(result, garment_mask), mean_lab(truth, garment_mask)))
