"""PF-AFN's training losses, as DCI-VTON trains its warp with them.

Per level n = 0..4 (coarse to fine), weighted n + 1: L1 between the warped garment and the worn garment,
0.2 x VGG perceptual (levels >= 2), 2 x L1 between the warped mask and the worn garment's mask, and
6 x second-order smoothness of the flow (Charbonnier, exponent 0.45, eps 1e-3); plus 0.01 x the total
variation of every flow residual.
"""

from __future__ import annotations

import os

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..fileio import weights_path
from .model import WarpOutput

VGG19_FILE = "vgg19-dcbb9e9d.pth"  # torchvision's ImageNet VGG19, as the torch hub cache names it


class VGGLoss(nn.Module):
    """pix2pixHD's perceptual loss: weighted L1 between VGG19 features at five depths.

    The ImageNet weights are read from a local file (nothing is downloaded); without them the loss is
    unavailable, and :func:`make_vgg_loss` says so and returns None.
    """

    weights = (1.0 / 32, 1.0 / 16, 1.0 / 8, 1.0 / 4, 1.0)
    cuts = (2, 7, 12, 21, 30)  # relu1_1, relu2_1, relu3_1, relu4_1, relu5_1

    def __init__(self, state_dict: dict):
        super().__init__()
        from torchvision.models import vgg19

        vgg = vgg19()
        vgg.load_state_dict(state_dict)
        layers = list(vgg.features.children())
        bounds = (0,) + self.cuts
        self.slices = nn.ModuleList(nn.Sequential(*layers[a:b]) for a, b in zip(bounds[:-1], bounds[1:]))
        self.requires_grad_(False).eval()
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))

    def forward(self, x, y):
        x = ((x + 1) / 2 - self.mean) / self.std
        y = ((y + 1) / 2 - self.mean) / self.std
        loss = 0.0
        for w, block in zip(self.weights, self.slices):
            x, y = block(x), block(y)
            loss = loss + w * F.l1_loss(x, y.detach())
        return loss


def make_vgg_loss(path: str | os.PathLike | None = None, log=print) -> VGGLoss | None:
    path = weights_path(path, VGG19_FILE)
    if not path.exists():
        log(f"perceptual loss off: VGG19 weights not found at {path} (place torchvision's {VGG19_FILE} there "
            f"or pass its path); training uses the other losses")
        return None
    from ..checkpoint import read_legacy

    return VGGLoss(read_legacy(path))


def charbonnier(x: torch.Tensor, eps: float = 1e-3, exponent: float = 0.45) -> torch.Tensor:
    return (x.pow(2) + eps * eps).pow(exponent).mean()


def total_variation(x: torch.Tensor) -> torch.Tensor:
    return (x[:, :, 1:] - x[:, :, :-1]).abs().mean() + (x[:, :, :, 1:] - x[:, :, :, :-1]).abs().mean()


def warp_loss(out: WarpOutput, target: torch.Tensor, target_mask: torch.Tensor,
              vgg: VGGLoss | None = None) -> tuple[torch.Tensor, dict]:
    """The total loss and its parts (floats), for logging."""
    levels = len(out.levels_cloth)
    parts = {"l1": 0.0, "vgg": 0.0, "mask": 0.0, "smooth": 0.0}
    total = 0.0
    for n in range(levels):
        size = out.levels_cloth[n].shape[-2:]
        cur = F.interpolate(target, size=size, mode="bilinear", align_corners=False)
        cur_mask = F.interpolate(target_mask, size=size, mode="bilinear", align_corners=False)
        l1 = F.l1_loss(out.levels_cloth[n], cur)
        mask = F.l1_loss(out.levels_mask[n], cur_mask)
        dx, dy = out.second_order[n]
        smooth = charbonnier(dx) + charbonnier(dy)
        term = l1 + 2 * mask + 6 * smooth
        parts["l1"] += l1.item()
        parts["mask"] += mask.item()
        parts["smooth"] += smooth.item()
        if vgg is not None and n >= 2:
            perceptual = vgg(out.levels_cloth[n], cur)
            term = term + 0.2 * perceptual
            parts["vgg"] += perceptual.item()
        total = total + (n + 1) * term
    tv = sum(total_variation(r) for r in out.residuals)
    parts["tv"] = tv.item()
    total = total + 0.01 * tv
    parts["total"] = total.item()
    return total, parts
