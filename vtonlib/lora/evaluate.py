"""Does the adapter draw better hands? Repaint held-out hand crops from their surroundings at several
``lora_scale`` values and score the hand pixels against the photo (the crops' ground truth)."""

from __future__ import annotations

import numpy as np
import torch

from .. import imaging
from ..tryon.pipeline import TryOnPipeline
from .adapter import set_lora_scale
from .data import HandCrops, stack_crops


def masked_psnr(result: np.ndarray, truth: np.ndarray, region: np.ndarray) -> float:
    """PSNR over the pixels of ``region`` only (uint8 RGB images, boolean region)."""
    diff = result[region].astype(np.float64) - truth[region].astype(np.float64)
    mse = float(np.mean(diff ** 2)) if diff.size else 0.0
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


@torch.no_grad()
def repaint_crops(pipe: TryOnPipeline, crops: HandCrops, lora_scale: float | None, steps: int = 10,
                  strength: float = 1.0, seed: int = 0, batch_size: int = 8) -> list[np.ndarray]:
    """Redraw the hand of every crop; ``lora_scale`` None when the UNet carries no adapter."""
    if lora_scale is not None:
        set_lora_scale(pipe.model.unet, lora_scale)
    images = []
    for start in range(0, len(crops), batch_size):
        items = crops.items[start:start + batch_size]
        stack = stack_crops(items, ("image", "inpaint_image", "inpaint_mask", "garment"))
        generator = torch.Generator().manual_seed(seed + start)  # the same noise at every scale
        images.extend(pipe(stack["inpaint_image"], stack["inpaint_mask"], stack["garment"], source_image=stack["image"],
                           num_inference_steps=steps, strength=strength, generator=generator))
    return images


def score_repaints(images: list[np.ndarray], crops: HandCrops) -> dict:
    """Mean hand-pixel PSNR and whole-crop SSIM against the photo crops."""
    from ..metrics.image import ssim

    truths = [imaging.to_image(it["image"]) for it in crops.items]
    regions = [it["hand_weight"][0].numpy() > 0.5 for it in crops.items]
    return {"hand_psnr": float(np.mean([masked_psnr(r, t, m) for r, t, m in zip(images, truths, regions)])),
            "crop_ssim": float(np.mean([ssim(t, r) for r, t in zip(images, truths)])), "crops": len(images)}
