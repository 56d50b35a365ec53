"""The try-on model's autoencoder: images <-> latents 8x smaller, pretrained and frozen, as DCI-VTON's.

Two kinds, behind one small interface (``encode``, ``decode``, ``latent_channels``, ``downscale``):

* ``kl``: Stable Diffusion's ``AutoencoderKL`` (4 latent channels), what a converted DCI-VTON checkpoint
  carries (full scale);
* ``taef2``: TAEF2, Ollin Boer Bohan's tiny distilled autoencoder of FLUX.2's latent space (MIT, 32 latent
  channels, 1.3 M parameters each way), the built-in scale's: real pretrained weights that run on a CPU.

TAEF2 is TAESD's network (3x3 convolutions and residual blocks, three stride-2 steps down and three 2x
upsamplings back) plus, in the three blocks next to the latent, a "pool" branch: a 1x1 widening to 4x
the channels, a GroupNorm over 4 groups, ReLU and a 1x1 narrowing, added to the block's input. The
GroupNorm sees the whole feature map, so this branch carries image-wide statistics (colour, brightness)
that the convolutions' bounded receptive field cannot. Module indices follow the released files'
``nn.Sequential`` numbering, so their state dicts load unchanged. Images enter in [0, 1].

Latents are scaled for the UNet as Stable Diffusion scales its own (``z * 0.18215``): ``(z - shift) *
scale`` with the mean and inverse standard deviation measured on the course's images
(:func:`measure_latent_scaling`), recorded in the model config.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from ..checkpoint import read_legacy
from ..fileio import DataError

SAVED_FILES = ("encoder.safetensors", "decoder.safetensors")  # how a model folder keeps them


def _conv(n_in: int, n_out: int, stride: int = 1, bias: bool = True) -> nn.Conv2d:
    return nn.Conv2d(n_in, n_out, 3, stride=stride, padding=1, bias=bias)


class ResBlock(nn.Module):
    """Three 3x3 convolutions with ReLUs between, added to the input, then ReLU; with ``pool``, an
    image-wide statistics branch is added to the input first."""

    def __init__(self, channels: int = 64, pool: bool = False):
        super().__init__()
        self.conv = nn.Sequential(_conv(channels, channels), nn.ReLU(), _conv(channels, channels), nn.ReLU(),
                                  _conv(channels, channels))
        wide = 4 * channels
        self.pool = nn.Sequential(nn.Conv2d(channels, wide, 1, bias=False), nn.GroupNorm(4, wide), nn.ReLU(),
                                  nn.Conv2d(wide, channels, 1, bias=False)) if pool else None
        self.fuse = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pool is not None:
            x = x + self.pool(x)
        return self.fuse(self.conv(x) + x)


class SoftClamp(nn.Module):
    """3 tanh(x / 3): latents pass unchanged near zero and are bounded by +-3, as the decoder was trained."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 3 * torch.tanh(x / 3)


def taef2_encoder(latent_channels: int = 32, width: int = 64) -> nn.Sequential:
    down = lambda: _conv(width, width, stride=2, bias=False)  # noqa: E731
    blocks = lambda pool=False: [ResBlock(width, pool) for _ in range(3)]  # noqa: E731
    return nn.Sequential(_conv(3, width), ResBlock(width),            # 0, 1: full resolution
                         down(), *blocks(),                           # 2, 3-5: 1/2
                         down(), *blocks(),                           # 6, 7-9: 1/4
                         down(), *blocks(pool=True),                  # 10, 11-13: 1/8, with image-wide stats
                         _conv(width, latent_channels))               # 14: the latent


def taef2_decoder(latent_channels: int = 32, width: int = 64) -> nn.Sequential:
    up = lambda: [nn.Upsample(scale_factor=2), _conv(width, width, bias=False)]  # noqa: E731
    blocks = lambda pool=False: [ResBlock(width, pool) for _ in range(3)]  # noqa: E731
    return nn.Sequential(SoftClamp(), _conv(latent_channels, width), nn.ReLU(),   # 0-2
                         *blocks(pool=True), *up(),                              # 3-5, 6-7: to 1/4
                         *blocks(), *up(),                                       # 8-10, 11-12: to 1/2
                         *blocks(), *up(),                                       # 13-15, 16-17: to full
                         ResBlock(width), _conv(width, 3))                       # 18, 19: RGB


class TinyAutoencoder(nn.Module):
    """TAEF2 with the try-on model's interface: images in [-1, 1], scaled latents."""

    kind = "taef2"
    downscale = 8

    def __init__(self, latent_channels: int = 32, shift: float = 0.0, scale: float = 1.0):
        super().__init__()
        self.encoder, self.decoder = taef2_encoder(latent_channels), taef2_decoder(latent_channels)
        self.latent_channels = latent_channels
        self.shift, self.scale = float(shift), float(scale)

    def raw_latents(self, images: torch.Tensor) -> torch.Tensor:
        return self.encoder((images + 1) / 2)

    def encode(self, images: torch.Tensor, sample: bool = False, generator=None, noise=None) -> torch.Tensor:
        """(B, 3, H, W) in [-1, 1] -> (B, C, H/8, W/8) scaled latents (deterministic: ``sample`` is moot)."""
        return (self.raw_latents(images) - self.shift) * self.scale

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        return self.decoder(latents / self.scale + self.shift) * 2 - 1

    def load_released(self, encoder_file, decoder_file) -> "TinyAutoencoder":
        """Load the released ``taef2_encoder.pth`` / ``taef2_decoder.pth`` (plain state dicts, no code run)."""
        for part, path in ((self.encoder, encoder_file), (self.decoder, decoder_file)):
            _load_exact(part, {k: v.float() for k, v in read_legacy(path).items()}, path)
        return self

    def save(self, directory: str | os.PathLike) -> None:
        from safetensors.torch import save_file

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        for part, name in ((self.encoder, SAVED_FILES[0]), (self.decoder, SAVED_FILES[1])):
            save_file({k: v.detach().contiguous() for k, v in part.state_dict().items()}, str(directory / name))

    def load_saved(self, directory: str | os.PathLike) -> "TinyAutoencoder":
        from safetensors.torch import load_file

        for part, name in ((self.encoder, SAVED_FILES[0]), (self.decoder, SAVED_FILES[1])):
            path = Path(directory) / name
            if not path.exists():
                raise DataError(path, "missing: the model folder's TAEF2 weights")
            _load_exact(part, load_file(str(path)), path)
        return self


def _load_exact(module: nn.Module, state: dict, path) -> None:
    missing, unexpected = module.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise DataError(path, f"not TAEF2 weights: {len(missing)} parameters missing (e.g. {missing[:2]}), "
                              f"{len(unexpected)} unexpected (e.g. {unexpected[:2]})")


class KLAutoencoder(nn.Module):
    """Stable Diffusion's ``AutoencoderKL`` with the same interface; scaling from its config (0.18215)."""

    kind = "kl"

    def __init__(self, vae):
        super().__init__()
        self.vae = vae

    @property
    def latent_channels(self) -> int:
        return int(self.vae.config.latent_channels)

    @property
    def downscale(self) -> int:
        return 2 ** (len(self.vae.config.block_out_channels) - 1)

    def encode(self, images: torch.Tensor, sample: bool = False, generator=None, noise=None) -> torch.Tensor:
        """Scaled latents: the posterior's mode, or with ``sample`` a draw from it (its standard-normal
        ``noise`` given, or drawn from ``generator``)."""
        dist = self.vae.encode(images).latent_dist
        if not sample:
            latents = dist.mode()
        elif noise is None:
            latents = dist.sample(generator)
        else:
            latents = dist.mean + dist.std * noise.to(dist.mean)
        return latents * float(self.vae.config.scaling_factor)

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        return self.vae.decode(latents / float(self.vae.config.scaling_factor)).sample


@torch.no_grad()
def measure_latent_scaling(autoencoder: TinyAutoencoder, images: torch.Tensor, chunk: int = 8) -> tuple[float, float]:
    """(shift, scale) that give ``images``' latents zero mean and unit variance (Stable Diffusion's 0.18215
    was measured the same way)."""
    raw = torch.cat([autoencoder.raw_latents(images[i:i + chunk]) for i in range(0, len(images), chunk)])
    return float(raw.mean()), float(1.0 / raw.std())
