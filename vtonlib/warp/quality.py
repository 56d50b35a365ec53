"""How good is a warp? Against the sample's true worn garment: IoU of the warped mask, and SSIM of the
warped garment inside the true mask (the structure a try-on model will be asked to keep)."""

from __future__ import annotations

import numpy as np
from skimage.metrics import structural_similarity

from ..data.reader import VitonDataset
from ..hands.masks import mask_iou


def masked_ssim(predicted: np.ndarray, truth: np.ndarray, mask: np.ndarray) -> float:
    """Mean SSIM (7x7 windows, RGB) over the pixels of ``mask``."""
    if not mask.any():
        return float("nan")
    _, ssim_map = structural_similarity(truth, predicted, channel_axis=2, data_range=255, full=True)
    return float(ssim_map[mask].mean())


def score_warps(ds: VitonDataset, predict, unpaired: bool = False) -> dict:
    """Mean IoU and masked SSIM of ``predict(person_id, cloth_id) -> (rgb, bool mask)`` over a split
    with ground truth (the built-in sample); per-sample figures under "samples"."""
    if not ds.has_truth:
        raise ValueError(f"{ds.dir} has no ground truth (gt/): scoring warps needs the built-in sample")
    prefix = "unpaired-" if unpaired else ""
    samples = {}
    for person_id, cloth_id in ds.pairs(unpaired=unpaired):
        truth_mask = ds.read_truth(f"{prefix}cloth-warp-mask", person_id)
        truth = ds.read_truth(f"{prefix}cloth-warp", person_id)
        rgb, mask = predict(person_id, cloth_id)
        samples[person_id] = {"iou": mask_iou(mask, truth_mask), "ssim": masked_ssim(rgb, truth, truth_mask)}
    return {"iou": float(np.mean([s["iou"] for s in samples.values()])),
            "ssim": float(np.nanmean([s["ssim"] for s in samples.values()])), "samples": samples}


def model_predictor(ds: VitonDataset, model):
    """``predict(person_id, cloth_id)`` for :func:`score_warps`: the model's full-resolution warp."""
    from .apply import warp_full_resolution
    from .data import cloth_tensors, person_representation

    def predict(person_id: str, cloth_id: str):
        cloth = ds.cloth(cloth_id)
        small, _ = cloth_tensors(ds, cloth_id, model.config.size)
        rgb, soft, _ = warp_full_resolution(model, person_representation(ds, person_id, model.config.size),
                                            small, cloth.image, cloth.mask)
        mask = soft > 0.5
        return np.where(mask[..., None], rgb, 255).astype(np.uint8), mask  # the garment on white, as DCI-VTON uses it

    return predict


def baseline_predictor(ds: VitonDataset):
    """``predict(person_id, cloth_id)`` for :func:`score_warps`: the box baseline."""
    from .baseline import box_warp

    def predict(person_id: str, cloth_id: str):
        cloth = ds.cloth(cloth_id)
        return box_warp(cloth.image, cloth.mask, ds.read_keypoints(person_id), cloth.image.shape[:2])

    return predict
