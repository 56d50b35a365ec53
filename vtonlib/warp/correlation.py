"""The local correlation cost volume of PF-AFN, in plain PyTorch (the original is a CUDA-only CuPy kernel).

For every position (y, x) and every displacement (dy, dx) in [-d, d]^2, the mean over channels of
``first[:, :, y, x] * second[:, :, y + dy, x + dx]`` (zero outside the image): (2d + 1)^2 channels,
ordered with dx fastest, ``channel = (dy + d) * (2d + 1) + (dx + d)``, as the original kernel orders them.

Two equivalent implementations:

* ``"shift"``: one whole-tensor multiply-and-mean per displacement (49 of them). Each is vectorised over
  batch, channels and pixels, nothing large is materialised, and on a CPU it is the fastest (see
  ``benchmarks/warping.py``, which times both);
* ``"unfold"``: every neighbourhood gathered at once with ``unfold``, then one contraction: no Python
  loop at all, at the price of a (B, C, 49, H, W) temporary; the better choice on a GPU.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def correlation(first: torch.Tensor, second: torch.Tensor, max_displacement: int = 3,
                method: str = "auto") -> torch.Tensor:
    """(B, C, H, W) x (B, C, H, W) -> (B, (2d+1)^2, H, W) cost volume."""
    if first.shape != second.shape:
        raise ValueError(f"correlation needs equal shapes, got {tuple(first.shape)} and {tuple(second.shape)}")
    if method == "auto":
        method = "unfold" if first.is_cuda else "shift"
    d = max_displacement
    padded = F.pad(second, [d] * 4)
    b, c, h, w = first.shape
    k = 2 * d + 1
    if method == "shift":
        return torch.stack([(first * padded[:, :, dy:dy + h, dx:dx + w]).mean(1)
                            for dy in range(k) for dx in range(k)], dim=1)
    if method == "unfold":
        neighbours = F.unfold(padded, kernel_size=k).view(b, c, k * k, h, w)  # row-major over (dy, dx)
        return torch.einsum("bchw,bckhw->bkhw", first, neighbours) / c
    raise ValueError(f"unknown correlation method {method!r}: 'shift', 'unfold' or 'auto'")
