"""PF-AFN's appearance-flow warping module (AFWM), as DCI-VTON uses it, in one file.

Two feature pyramids, one for the garment and one for the person (agnostic parse + DensePose), meet
coarse to fine: at each level a correlation cost volume proposes a flow residual, the garment features are
warped by it, and a refinement network corrects it from the concatenated features. Flows are sampling
grids in [-1, 1] (``grid_sample`` coordinates), composed level by level. Module and parameter names
follow the original, so its released ``warp_viton.pth`` loads with ``strict=True`` at the full widths;
``WarpConfig.tiny()`` is the same structure narrow enough to train on a CPU in a minute (notebook 03).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from functools import partial

import torch
import torch.nn as nn
import torch.nn.functional as F

from .correlation import correlation


@dataclass
class WarpConfig:
    in_channels: int = 16  # person representation: 13 agnostic-parse groups + 3 DensePose colours
    channels: tuple[int, ...] = (64, 128, 256, 256, 256)  # encoder width per level (each halves the size)
    fpn_dim: int = 256  # width of both feature pyramids, and of what the correlation compares
    head: tuple[int, int, int] = (128, 64, 32)  # widths of the flow and refinement convolution stacks
    max_displacement: int = 3  # correlation window radius: (2 * 3 + 1)^2 = 49 channels
    size: tuple[int, int] = (256, 192)  # (H, W) at which flows are estimated
    # grid_sample's convention. PF-AFN was written on PyTorch 1.1, whose grid_sample behaved as
    # align_corners=True; DCI-VTON trained its warp_viton.pth on PyTorch 1.11, where the default is False.
    # A model must be run as it was trained: the two differ by a quarter of a grid cell at 256x192.
    align_corners: bool = True
    # How the inputs are brought to ``size``: the course's one resize from the files ("course"), or as
    # DCI-VTON's eval_PBAFN_viton.py does for its released warp_viton.pth ("dci-vton": PIL to 512x384, then
    # interpolate to 256x192; vtonlib.data.dci)
    inputs: str = "course"

    @classmethod
    def full(cls) -> "WarpConfig":
        """The released DCI-VTON / PF-AFN sizes."""
        return cls()

    @classmethod
    def tiny(cls, size: tuple[int, int] = (128, 96)) -> "WarpConfig":
        """Same structure, a CPU-trainable width (the course default on the built-in sample)."""
        return cls(channels=(16, 32, 32, 32, 32), fpn_dim=32, head=(32, 16, 16), size=size)

    def __post_init__(self):
        if self.inputs not in ("course", "dci-vton"):
            raise ValueError(f"warp inputs {self.inputs!r}: 'course' or 'dci-vton'")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "WarpConfig":
        d = dict(d)
        for key in ("channels", "head", "size"):
            d[key] = tuple(d[key])
        return cls(**d)


class ResBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.block = nn.Sequential(
            nn.BatchNorm2d(channels), nn.ReLU(inplace=True), nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(channels), nn.ReLU(inplace=True), nn.Conv2d(channels, channels, 3, padding=1, bias=False),
        )

    def forward(self, x):
        return self.block(x) + x


class DownSample(nn.Module):
    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.block = nn.Sequential(nn.BatchNorm2d(in_channels), nn.ReLU(inplace=True),
                                   nn.Conv2d(in_channels, out_channels, 3, stride=2, padding=1, bias=False))

    def forward(self, x):
        return self.block(x)


class FeatureEncoder(nn.Module):
    """Five levels, each a stride-2 convolution and two residual blocks: features at 1/2 ... 1/32."""

    def __init__(self, in_channels: int, channels):
        super().__init__()
        widths = [in_channels] + list(channels)
        self.encoders = nn.ModuleList(
            nn.Sequential(DownSample(widths[i], widths[i + 1]), ResBlock(widths[i + 1]), ResBlock(widths[i + 1]))
            for i in range(len(channels)))

    def forward(self, x):
        features = []
        for encoder in self.encoders:
            x = encoder(x)
            features.append(x)
        return features


class RefinePyramid(nn.Module):
    """A feature pyramid network: 1x1 projections to ``fpn_dim``, top-down sums, 3x3 smoothing."""

    def __init__(self, channels, fpn_dim: int):
        super().__init__()
        self.adaptive = nn.ModuleList(nn.Conv2d(c, fpn_dim, 1) for c in reversed(channels))
        self.smooth = nn.ModuleList(nn.Conv2d(fpn_dim, fpn_dim, 3, padding=1) for _ in channels)

    def forward(self, features):
        out, last = [], None
        for i, feature in enumerate(reversed(features)):  # coarsest first
            feature = self.adaptive[i](feature)
            if last is not None:
                feature = feature + F.interpolate(last, scale_factor=2, mode="nearest")
            last = self.smooth[i](feature)
            out.append(last)
        return tuple(reversed(out))  # finest first, as the encoder


def _flow_head(in_channels: int, head) -> nn.Sequential:
    a, b, c = head
    return nn.Sequential(
        nn.Conv2d(in_channels, a, 3, padding=1), nn.LeakyReLU(0.1),
        nn.Conv2d(a, b, 3, padding=1), nn.LeakyReLU(0.1),
        nn.Conv2d(b, c, 3, padding=1), nn.LeakyReLU(0.1),
        nn.Conv2d(c, 2, 3, padding=1),
    )


def offset_to_grid(offset: torch.Tensor) -> torch.Tensor:
    """Pixel offsets (B, 2, H, W) -> sampling grid (B, H, W, 2) in [-1, 1], align_corners=True."""
    b, _, h, w = offset.shape
    ys, xs = torch.meshgrid(torch.arange(h, device=offset.device, dtype=offset.dtype),
                            torch.arange(w, device=offset.device, dtype=offset.dtype), indexing="ij")
    gx = (xs + offset[:, 0]) / ((w - 1.0) / 2.0) - 1.0
    gy = (ys + offset[:, 1]) / ((h - 1.0) / 2.0) - 1.0
    return torch.stack([gx, gy], dim=-1)


def sample(x: torch.Tensor, grid: torch.Tensor, padding_mode: str = "border",
           align_corners: bool = True) -> torch.Tensor:
    """Sample ``x`` (B, C, H, W) at a grid (B, H', W', 2) in [-1, 1] (``WarpConfig.align_corners``)."""
    return F.grid_sample(x, grid, mode="bilinear", padding_mode=padding_mode, align_corners=align_corners)


def warp(x: torch.Tensor, flow: torch.Tensor, padding_mode: str = "border", align_corners: bool = True) -> torch.Tensor:
    """Sample ``x`` (B, C, H, W) through a flow (B, 2, H', W') of grid coordinates."""
    return sample(x, flow.permute(0, 2, 3, 1), padding_mode, align_corners)


# Second derivatives along x, y and both diagonals: the original's smoothness filters.
_SECOND_ORDER = torch.tensor([
    [[0, 0, 0], [1, -2, 1], [0, 0, 0]],
    [[0, 1, 0], [0, -2, 0], [0, 1, 0]],
    [[1, 0, 0], [0, -2, 0], [0, 0, 1]],
    [[0, 0, 1], [0, -2, 0], [1, 0, 0]],
], dtype=torch.float32).unsqueeze(1)


@dataclass
class WarpOutput:
    warped_cloth: torch.Tensor  # (B, 3, H, W) the garment sampled through the final flow
    flow: torch.Tensor  # (B, 2, H, W) final sampling grid
    warped_mask: torch.Tensor | None = None  # (B, 1, H, W) the garment mask through the final flow
    levels_cloth: list = field(default_factory=list)  # warped garment at each level's resolution
    levels_mask: list = field(default_factory=list)
    levels_flow: list = field(default_factory=list)  # the flow after each level, upsampled x2 (coarse to fine)
    residuals: list = field(default_factory=list)  # per-level flow residuals (pixels), for the TV loss
    second_order: list = field(default_factory=list)  # (dx, dy) second derivatives of each level's flow


class AFlowNet(nn.Module):
    def __init__(self, levels: int, fpn_dim: int, head, max_displacement: int = 3, align_corners: bool = True):
        super().__init__()
        window = (2 * max_displacement + 1) ** 2
        self.max_displacement, self.align_corners = max_displacement, align_corners
        self.netMain = nn.ModuleList(_flow_head(window, head) for _ in range(levels))
        self.netRefine = nn.ModuleList(_flow_head(2 * fpn_dim, head) for _ in range(levels))
        # A fixed filter bank, stored as the original stores it (its state dicts carry this key).
        self.register_buffer("weight", _SECOND_ORDER.clone())

    def forward(self, cloth, cloth_mask, cloth_pyramid, person_pyramid) -> WarpOutput:
        warp_, sample_ = partial(warp, align_corners=self.align_corners), partial(sample, align_corners=self.align_corners)
        out = WarpOutput(warped_cloth=cloth, flow=None)
        levels = len(cloth_pyramid)
        last_flow = None
        for i in range(levels):  # coarse to fine
            x_warp = cloth_pyramid[levels - 1 - i]
            x_cond = person_pyramid[levels - 1 - i]
            # 1. correlate the garment features, warped by the flow so far, with the person's
            warped = warp_(x_warp, last_flow.detach()) if last_flow is not None else x_warp
            cost = F.leaky_relu(correlation(warped, x_cond, self.max_displacement), 0.1)
            residual = self.netMain[i](cost)
            out.residuals.append(residual)
            grid = offset_to_grid(residual)  # compose: first move by the residual, then by the old flow
            flow = sample_(last_flow, grid) if last_flow is not None else grid.permute(0, 3, 1, 2)
            last_flow = flow
            # 2. refine from the garment features warped by it, side by side with the person's
            x_warp = warp_(x_warp, flow)
            residual = self.netRefine[i](torch.cat([x_warp, x_cond], 1))
            out.residuals.append(residual)
            flow = sample_(last_flow, offset_to_grid(residual))
            # 3. up to the next level's resolution; warp the garment there, for the per-level losses
            last_flow = F.interpolate(flow, scale_factor=2, mode="bilinear", align_corners=False)
            out.levels_flow.append(last_flow)
            scale = 0.5 ** (levels - 1 - i)
            cur = F.interpolate(cloth, scale_factor=scale, mode="bilinear", align_corners=False) if scale < 1 else cloth
            out.levels_cloth.append(warp_(cur, last_flow))
            if cloth_mask is not None:
                cur_mask = F.interpolate(cloth_mask, scale_factor=scale, mode="bilinear",
                                         align_corners=False) if scale < 1 else cloth_mask
                out.levels_mask.append(warp_(cur_mask, last_flow, padding_mode="zeros"))
            fx, fy = torch.split(last_flow, 1, dim=1)
            out.second_order.append((F.conv2d(fx, self.weight), F.conv2d(fy, self.weight)))
        out.flow = last_flow
        out.warped_cloth = warp_(cloth, last_flow)
        if cloth_mask is not None:
            out.warped_mask = out.levels_mask[-1]
        return out


class AFWM(nn.Module):
    """Appearance-flow warping module: ``model(person, cloth, cloth_mask) -> WarpOutput``.

    ``person`` is (B, 16, H, W): the agnostic parse as 13 one-hot groups and DensePose as RGB in
    [-1, 1]; ``cloth`` (B, 3, H, W) in [-1, 1]; ``cloth_mask`` (B, 1, H, W) in {0, 1}, optional.
    """

    def __init__(self, config: WarpConfig | None = None):
        super().__init__()
        self.config = config or WarpConfig()
        c = self.config
        self.image_features = FeatureEncoder(3, c.channels)
        self.cond_features = FeatureEncoder(c.in_channels, c.channels)
        self.image_FPN = RefinePyramid(c.channels, c.fpn_dim)
        self.cond_FPN = RefinePyramid(c.channels, c.fpn_dim)
        self.aflow_net = AFlowNet(len(c.channels), c.fpn_dim, c.head, c.max_displacement, c.align_corners)

    def forward(self, person: torch.Tensor, cloth: torch.Tensor, cloth_mask: torch.Tensor | None = None) -> WarpOutput:
        expected = self.config.in_channels
        if person.shape[1] != expected or cloth.shape[1] != 3:
            raise ValueError(f"AFWM expects a person representation of {expected} channels and an RGB garment; "
                             f"got {person.shape[1]} and {cloth.shape[1]}")
        multiple = 2 ** len(self.config.channels)
        if person.shape[-2] % multiple or person.shape[-1] % multiple:
            raise ValueError(f"height and width must be multiples of {multiple}; got {tuple(person.shape[-2:])}")
        person_pyramid = self.cond_FPN(self.cond_features(person))
        cloth_pyramid = self.image_FPN(self.image_features(cloth))
        return self.aflow_net(cloth, cloth_mask, cloth_pyramid, person_pyramid)
