"""The DCI-VTON try-on model, assembled from diffusers and transformers parts.

* ``unet``: a ``UNet2DConditionModel`` whose 9 input channels are the noisy latent (4), the latent of the
  inpaint image (4: the person with the garment region greyed out and the warped garment pasted in) and the
  inpaint mask (1); it predicts the noise (4);
* ``vae``: an ``AutoencoderKL`` (images <-> latents, 8x smaller);
* ``image_encoder``: Paint-by-Example's garment encoder: CLIP vision, a small transformer "mapper", a
  LayerNorm and a projection to the UNet's cross-attention width, plus the learned unconditional vector.

``TryOnConfig.full()`` is the released DCI-VTON (Stable Diffusion 1 sizes, CLIP ViT-L/14);
``TryOnConfig.tiny()`` is the same structure at widths a CPU trains in minutes (notebook 04). A model is
saved as a diffusers-style folder: ``unet/``, ``vae/``, ``image_encoder/`` (``.safetensors`` + config each)
and ``tryon_config.json``.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from diffusers import AutoencoderKL, UNet2DConditionModel
from transformers import CLIPVisionConfig

from ..fileio import DataError, write_json

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # the deprecated-pipeline module warns on import
    from diffusers.pipelines.deprecated.paint_by_example.image_encoder import PaintByExampleImageEncoder

CONFIG_FILE = "tryon_config.json"
LATENT_CHANNELS = 4
# CLIP's input normalisation (the garment crop is normalised like this before the image encoder)
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


@dataclass
class TryOnConfig:
    name: str = "full"
    model_size: tuple[int, int] = (512, 512)  # (H, W) the UNet runs at; DCI-VTON squashes 512x384 to 512x512
    unet: dict = field(default_factory=dict)  # UNet2DConditionModel arguments
    vae: dict = field(default_factory=dict)  # AutoencoderKL arguments
    clip: dict = field(default_factory=dict)  # CLIPVisionConfig arguments
    cross_attention_dim: int = 768  # width of the garment token the UNet attends to
    # the noise schedule: LDM's "linear" schedule is linear in sqrt(beta), diffusers' "scaled_linear"
    scheduler: dict = field(default_factory=lambda: {"num_train_timesteps": 1000, "beta_start": 0.00085,
                                                     "beta_end": 0.012, "beta_schedule": "scaled_linear"})

    @classmethod
    def full(cls) -> "TryOnConfig":
        return cls(
            name="full", model_size=(512, 512), cross_attention_dim=768,
            unet=dict(in_channels=9, out_channels=4, block_out_channels=(320, 640, 1280, 1280), layers_per_block=2,
                      down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
                      up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
                      attention_head_dim=8, norm_num_groups=32),
            vae=dict(block_out_channels=(128, 256, 512, 512), layers_per_block=2, norm_num_groups=32,
                     scaling_factor=0.18215),
            clip=dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16,
                      image_size=224, patch_size=14),
        )

    @classmethod
    def tiny(cls) -> "TryOnConfig":
        return cls(
            name="tiny", model_size=(256, 192), cross_attention_dim=32,
            # cross-attention to the garment at the coarsest level only: attention dominates a CPU step
            unet=dict(in_channels=9, out_channels=4, block_out_channels=(32, 64, 128), layers_per_block=1,
                      down_block_types=("DownBlock2D", "DownBlock2D", "CrossAttnDownBlock2D"),
                      up_block_types=("CrossAttnUpBlock2D", "UpBlock2D", "UpBlock2D"),
                      attention_head_dim=8, norm_num_groups=8),
            # four blocks, as Stable Diffusion's (8x smaller latents), narrow and without the mid-block attention
            vae=dict(block_out_channels=(8, 16, 32, 64), layers_per_block=1, norm_num_groups=4,
                     mid_block_add_attention=False, scaling_factor=1.0),
            clip=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=4, num_attention_heads=2,
                      image_size=64, patch_size=8),
            # The released model predicts the noise (epsilon). A UNet trained for two CPU minutes learns
            # v = sqrt(a) noise - sqrt(1 - a) x0 much faster: at high noise v is nearly the clean latent,
            # which the inpaint latent already holds (notebook 04 compares).
            scheduler={"num_train_timesteps": 1000, "beta_start": 0.00085, "beta_end": 0.012,
                       "beta_schedule": "scaled_linear", "prediction_type": "v_prediction"},
        )

    @classmethod
    def preset(cls, name: str) -> "TryOnConfig":
        if name not in ("tiny", "full"):
            raise ValueError(f"unknown preset {name!r}: 'tiny' or 'full'")
        return getattr(cls, name)()

    def to_dict(self) -> dict:
        return json.loads(json.dumps(asdict(self)))  # tuples -> lists, as in the saved file

    @classmethod
    def from_dict(cls, d: dict) -> "TryOnConfig":
        d = dict(d)
        d["model_size"] = tuple(d["model_size"])
        return cls(**d)


def build_unet(config: TryOnConfig) -> UNet2DConditionModel:
    h, w = config.model_size
    return UNet2DConditionModel(sample_size=(h // 8, w // 8), cross_attention_dim=config.cross_attention_dim,
                                **config.unet)


def build_vae(config: TryOnConfig) -> AutoencoderKL:
    n = len(config.vae["block_out_channels"])
    return AutoencoderKL(in_channels=3, out_channels=3, latent_channels=LATENT_CHANNELS,
                         down_block_types=("DownEncoderBlock2D",) * n, up_block_types=("UpDecoderBlock2D",) * n,
                         sample_size=config.model_size[0], **config.vae)


def clip_config(config: TryOnConfig) -> CLIPVisionConfig:
    return CLIPVisionConfig(projection_dim=config.cross_attention_dim, **config.clip)


def build_image_encoder(config: TryOnConfig) -> PaintByExampleImageEncoder:
    return PaintByExampleImageEncoder(clip_config(config), proj_size=config.cross_attention_dim)


class TryOnModel(torch.nn.Module):
    """The three networks and their config. ``encode``/``decode`` go between images in [-1, 1] and
    scaled latents; ``embed_garment`` turns CLIP-normalised garment crops into the UNet's condition."""

    def __init__(self, config: TryOnConfig, unet=None, vae=None, image_encoder=None):
        super().__init__()
        self.config = config
        self.unet = unet if unet is not None else build_unet(config)
        self.vae = vae if vae is not None else build_vae(config)
        self.image_encoder = image_encoder if image_encoder is not None else build_image_encoder(config)

    @property
    def scaling_factor(self) -> float:
        return float(self.vae.config.scaling_factor)

    def encode(self, images: torch.Tensor, sample: bool = False, generator=None) -> torch.Tensor:
        dist = self.vae.encode(images).latent_dist
        latents = dist.sample(generator) if sample else dist.mode()
        return latents * self.scaling_factor

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        return self.vae.decode(latents / self.scaling_factor).sample

    def embed_garment(self, garment: torch.Tensor) -> torch.Tensor:
        """(B, 3, s, s) CLIP-normalised crops -> (B, 1, cross_attention_dim)."""
        return self.image_encoder(garment)

    def unconditional(self, batch: int) -> torch.Tensor:
        """The learned "no garment" vector, for dropped conditions and classifier-free guidance."""
        return self.image_encoder.uncond_vector.expand(batch, -1, -1)

    def forward(self, noisy_latent, inpaint_latent, mask, timestep, garment, drop=None):
        """One training prediction of the noise. ``drop`` (B,) bool marks samples whose garment condition is
        replaced by the unconditional vector. (Training goes through here, so that under ``accelerate
        launch`` the UNet and the mapper are both inside the distributed wrapper.)"""
        condition = self.embed_garment(garment)
        if drop is not None:
            condition = torch.where(drop.view(-1, 1, 1), self.unconditional(len(garment)).to(condition.dtype),
                                    condition)
        model_input = torch.cat([noisy_latent, inpaint_latent, mask], dim=1)  # 4 + 4 + 1 channels
        return self.unet(model_input, timestep, encoder_hidden_states=condition).sample

    # --- the folder format ---------------------------------------------------------------------
    def save(self, directory: str | os.PathLike) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.unet.save_pretrained(directory / "unet", safe_serialization=True)
        self.vae.save_pretrained(directory / "vae", safe_serialization=True)
        from safetensors.torch import save_file

        (directory / "image_encoder").mkdir(exist_ok=True)
        state = {k: v.detach().contiguous().clone() for k, v in self.image_encoder.state_dict().items()}
        save_file(state, str(directory / "image_encoder" / "model.safetensors"))
        write_json(directory / "image_encoder" / "config.json", clip_config(self.config).to_dict())
        write_json(directory / CONFIG_FILE, self.config.to_dict())

    @classmethod
    def load(cls, directory: str | os.PathLike, device: str = "cpu") -> "TryOnModel":
        directory = Path(directory)
        if not (directory / CONFIG_FILE).exists():
            raise DataError(directory, f"not a try-on model folder (no {CONFIG_FILE}); convert a released checkpoint "
                                       f"with `vton tryon convert` or train one with `vton tryon train`")
        from safetensors.torch import load_file

        from ..fileio import read_json

        config = TryOnConfig.from_dict(read_json(directory / CONFIG_FILE))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            unet = UNet2DConditionModel.from_pretrained(directory / "unet")
            vae = AutoencoderKL.from_pretrained(directory / "vae")
        encoder = build_image_encoder(config)
        missing, unexpected = encoder.load_state_dict(load_file(str(directory / "image_encoder" / "model.safetensors")),
                                                      strict=False)
        if missing or unexpected:
            raise DataError(directory / "image_encoder", f"weights do not match: missing {missing[:3]}, "
                                                         f"unexpected {unexpected[:3]}")
        return cls(config, unet, vae, encoder).to(device).eval()

    def parameter_counts(self) -> dict[str, int]:
        return {name: sum(p.numel() for p in getattr(self, name).parameters())
                for name in ("unet", "vae", "image_encoder")}
