"""Paired metrics on uint8 RGB images, computed with torchmetrics (Gaussian-window SSIM, as reported)."""

from __future__ import annotations

import numpy as np
import torch
from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure


def _tensor(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None].float() / 255.0


def ssim(result: np.ndarray, truth: np.ndarray) -> float:
    """SSIM of two (H, W, 3) uint8 images, 1 for identical ones. Images smaller than the 11-pixel window
    are compared with a window of their size."""
    if result.shape != truth.shape:
        raise ValueError(f"images differ in size: {result.shape} and {truth.shape}")
    kernel = min(11, min(result.shape[:2]) // 2 * 2 - 1)
    return float(structural_similarity_index_measure(_tensor(result), _tensor(truth), data_range=1.0,
                                                     kernel_size=max(kernel, 3), sigma=1.5 * max(kernel, 3) / 11))


def psnr(result: np.ndarray, truth: np.ndarray, cap: float = 100.0) -> float:
    """PSNR in dB; identical images give ``cap`` instead of infinity (so means stay finite)."""
    if result.shape != truth.shape:
        raise ValueError(f"images differ in size: {result.shape} and {truth.shape}")
    if np.array_equal(result, truth):
        return cap
    return min(cap, float(peak_signal_noise_ratio(_tensor(result), _tensor(truth), data_range=1.0)))
