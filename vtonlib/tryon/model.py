"""The DCI-VTON try-on model, assembled from diffusers and transformers parts.

* ``unet``: a ``UNet2DConditionModel`` whose 2 C + 1 input channels are the noisy latent (C), the latent of
  the inpaint image (C: the person with the garment region greyed out and the warped garment pasted in) and
  the inpaint mask (1); it predicts the noise (C). C = 4 for Stable Diffusion's autoencoder (9 inputs, as
  released), 32 for TAEF2 (65);
* ``autoencoder``: pretrained and frozen, images <-> latents 8x smaller (:mod:`.autoencoder`): Stable
  Diffusion's ``AutoencoderKL`` at full scale, TAEF2 at the built-in scale;
* ``image_encoder``: Paint-by-Example's garment encoder: CLIP vision, a small transformer "mapper", a
  LayerNorm and a projection to the UNet's cross-attention width, plus the learned unconditional vector.

``TryOnConfig.full()`` is the released DCI-VTON (Stable Diffusion 1 sizes, CLIP ViT-L/14);
``TryOnConfig.tiny()`` is the same structure at widths a CPU trains in minutes, on TAEF2's latents
(notebook 04). A model is saved as a diffusers-style folder: ``unet/``, ``vae/`` (diffusers' format, or
TAEF2's two ``.safetensors``), ``image_encoder/`` and ``tryon_config.json``.
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
from .autoencoder import KLAutoencoder, TinyAutoencoder

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # the deprecated-pipeline module warns on import
    from diffusers.pipelines.deprecated.paint_by_example.image_encoder import PaintByExampleImageEncoder

CONFIG_FILE = "tryon_config.json"
# CLIP's input normalisation (the garment crop is normalised like this before the image encoder)
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
SD_VAE = dict(kind="kl", block_out_channels=(128, 256, 512, 512), layers_per_block=2, norm_num_groups=32,
              latent_channels=4, scaling_factor=0.18215)
# TAEF2's latent statistics on the built-in sample's train photos and garments (mean, 1 / std), the
# default until a training run measures its own data's (train_tryon does)
TAEF2 = dict(kind="taef2", latent_channels=32, shift=-0.011, scale=1.4675)
# How a try-on is sampled (TryOnPipeline). DCI-VTON's test.py, reproduced to float noise for its released
# weights: the last step lands on alphas_cumprod[0] (CompVis' samplers), the mask is resized to the latent
# bilinearly (torchvision's Resize), the inpaint latent is a sample of the autoencoder's posterior, and the
# start is q_sample(latent of warp_feat, t=999). The course's own choices: end on a clean latent, nearest
# mask (a latent pixel is kept or repainted, never half), the posterior's mode (no noise in the condition),
# and the inpaint latent noised to the first sampler timestep.
SAMPLING_DCI = dict(final_alpha="alpha_bar_0", mask_resize="bilinear", inpaint_latent="sample", start="t_max")
SAMPLING_COURSE = dict(final_alpha="one", mask_resize="nearest", inpaint_latent="mode", start="first_step")
SAMPLING_CHOICES = dict(final_alpha=("one", "alpha_bar_0"), mask_resize=("nearest", "bilinear"),
                        inpaint_latent=("mode", "sample"), start=("first_step", "t_max"))
# How the model's inputs are formed from a dataset root (vtonlib.tryon.data): the course's own way, or as
# DCI-VTON's dataset of the checkpoint's release forms them (cp_dataset.py for viton512.ckpt, v2 for 2023)
DATASETS = ("course", "dci-v1", "dci-v2")


@dataclass
class TryOnConfig:
    name: str = "full"
    model_size: tuple[int, int] = (512, 512)  # (H, W) the UNet runs at; DCI-VTON squashes 512x384 to 512x512
    unet: dict = field(default_factory=dict)  # UNet2DConditionModel arguments
    autoencoder: dict = field(default_factory=lambda: dict(SD_VAE))  # kind "kl" (AutoencoderKL args) or "taef2"
    clip: dict = field(default_factory=dict)  # CLIPVisionConfig arguments
    cross_attention_dim: int = 768  # width of the garment token the UNet attends to
    # the noise schedule: LDM's "linear" schedule is linear in sqrt(beta), diffusers' "scaled_linear"
    scheduler: dict = field(default_factory=lambda: {"num_train_timesteps": 1000, "beta_start": 0.00085,
                                                     "beta_end": 0.012, "beta_schedule": "scaled_linear"})
    # blocks of the garment encoder's mapper; None: diffusers' rule, (CLIP layers + 1) // 5 (5 for ViT-L/14)
    mapper_layers: int | None = None
    dataset: str = "course"  # one of DATASETS
    sampling: dict = field(default_factory=lambda: dict(SAMPLING_COURSE))

    def __post_init__(self):
        if self.dataset not in DATASETS:
            raise ValueError(f"unknown dataset convention {self.dataset!r}; one of {', '.join(DATASETS)}")
        self.sampling = {**SAMPLING_COURSE, **self.sampling}
        for key, value in self.sampling.items():
            if key not in SAMPLING_CHOICES or value not in SAMPLING_CHOICES[key]:
                choices = SAMPLING_CHOICES.get(key)
                raise ValueError(f"sampling option {key}={value!r}: " + (f"one of {choices}" if choices else
                                 f"unknown option; known: {', '.join(SAMPLING_CHOICES)}"))

    @property
    def latent_channels(self) -> int:
        return int(self.autoencoder["latent_channels"])

    @classmethod
    def full(cls) -> "TryOnConfig":
        c = SD_VAE["latent_channels"]
        return cls(
            name="full", model_size=(512, 512), cross_attention_dim=768, autoencoder=dict(SD_VAE),
            unet=dict(in_channels=2 * c + 1, out_channels=c, block_out_channels=(320, 640, 1280, 1280),
                      layers_per_block=2, down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
                      up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
                      attention_head_dim=8, norm_num_groups=32),
            clip=dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16,
                      image_size=224, patch_size=14),
            mapper_layers=5, dataset="dci-v1", sampling=dict(SAMPLING_DCI),
        )

    @classmethod
    def tiny(cls) -> "TryOnConfig":
        c = TAEF2["latent_channels"]
        return cls(
            name="tiny", model_size=(256, 192), cross_attention_dim=32, autoencoder=dict(TAEF2),
            # cross-attention to the garment at the coarsest level only: attention dominates a CPU step
            unet=dict(in_channels=2 * c + 1, out_channels=c, block_out_channels=(64, 128, 256), layers_per_block=1,
                      down_block_types=("DownBlock2D", "DownBlock2D", "CrossAttnDownBlock2D"),
                      up_block_types=("CrossAttnUpBlock2D", "UpBlock2D", "UpBlock2D"),
                      attention_head_dim=8, norm_num_groups=16),
            clip=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=4, num_attention_heads=2,
                      image_size=64, patch_size=8),
            # The released model predicts the noise (epsilon). A UNet trained for two CPU minutes learns far
            # more when it predicts the change to the inpaint latent: the warped garment is then its answer
            # before training starts (region PSNR on the sample: v 16.1, x0 16.8, change 17.7 dB; notebook 04).
            scheduler={"num_train_timesteps": 1000, "beta_start": 0.00085, "beta_end": 0.012,
                       "beta_schedule": "scaled_linear", "prediction_type": "inpaint_residual"},
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
        if "vae" in d:  # folders written before the autoencoder had a kind: an AutoencoderKL
            d["autoencoder"] = {"kind": "kl", "latent_channels": 4, **d.pop("vae")}
        return cls(**d)


def build_unet(config: TryOnConfig) -> UNet2DConditionModel:
    c = config.latent_channels
    if (config.unet["in_channels"], config.unet["out_channels"]) != (2 * c + 1, c):
        raise ValueError(f"the UNet takes {config.unet['in_channels']} channels and predicts "
                         f"{config.unet['out_channels']}; with {c} latent channels it must take 2 x {c} + 1 = "
                         f"{2 * c + 1} (noisy latent, inpaint latent, mask) and predict {c}")
    h, w = config.model_size
    return UNet2DConditionModel(sample_size=(h // 8, w // 8), cross_attention_dim=config.cross_attention_dim,
                                **config.unet)


def build_autoencoder(config: TryOnConfig):
    """A :class:`~.autoencoder.KLAutoencoder` or :class:`~.autoencoder.TinyAutoencoder` (random weights:
    load the pretrained ones)."""
    args = dict(config.autoencoder)
    kind = args.pop("kind")
    if kind == "taef2":
        return TinyAutoencoder(args["latent_channels"], args.get("shift", 0.0), args.get("scale", 1.0))
    if kind == "kl":
        n = len(args["block_out_channels"])
        return KLAutoencoder(AutoencoderKL(in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * n,
                                           up_block_types=("UpDecoderBlock2D",) * n,
                                           sample_size=config.model_size[0], **args))
    raise ValueError(f"unknown autoencoder kind {kind!r}: 'kl' (Stable Diffusion's) or 'taef2'")


def pretrained_taef2(config: TryOnConfig) -> TinyAutoencoder:
    """TAEF2 with the released weights of the installed weights folder (``vton weights install``)."""
    from ..weights import weights_file

    autoencoder = build_autoencoder(config)
    if not isinstance(autoencoder, TinyAutoencoder):
        raise ValueError(f"the config's autoencoder is {config.autoencoder['kind']!r}, not 'taef2'")
    return autoencoder.load_released(weights_file("taef2-encoder"), weights_file("taef2-decoder"))


def clip_config(config: TryOnConfig) -> CLIPVisionConfig:
    return CLIPVisionConfig(projection_dim=config.cross_attention_dim, **config.clip)


def build_image_encoder(config: TryOnConfig) -> PaintByExampleImageEncoder:
    encoder = PaintByExampleImageEncoder(clip_config(config), proj_size=config.cross_attention_dim)
    if config.mapper_layers is not None and config.mapper_layers != len(encoder.mapper.blocks):
        # diffusers ties the mapper's depth to the CLIP tower's; Paint-by-Example's is fixed at 5 blocks
        from diffusers.models.attention import BasicTransformerBlock

        width = config.clip["hidden_size"]
        encoder.mapper.blocks = torch.nn.ModuleList(
            BasicTransformerBlock(width, 1, width, activation_fn="gelu", attention_bias=True)
            for _ in range(config.mapper_layers))
    return encoder


class TryOnModel(torch.nn.Module):
    """The three networks and their config. ``encode``/``decode`` go between images in [-1, 1] and
    scaled latents; ``embed_garment`` turns CLIP-normalised garment crops into the UNet's condition."""

    def __init__(self, config: TryOnConfig, unet=None, autoencoder=None, image_encoder=None):
        super().__init__()
        self.config = config
        self.unet = unet if unet is not None else build_unet(config)
        self.autoencoder = autoencoder if autoencoder is not None else build_autoencoder(config)
        self.image_encoder = image_encoder if image_encoder is not None else build_image_encoder(config)

    @property
    def latent_channels(self) -> int:
        return self.autoencoder.latent_channels

    @property
    def downscale(self) -> int:
        return self.autoencoder.downscale

    def encode(self, images: torch.Tensor, sample: bool = False, generator=None, noise=None) -> torch.Tensor:
        return self.autoencoder.encode(images, sample, generator, noise)

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        return self.autoencoder.decode(latents)

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
        model_input = torch.cat([noisy_latent, inpaint_latent, mask], dim=1)  # C + C + 1 channels
        return self.unet(model_input, timestep, encoder_hidden_states=condition).sample

    # --- the folder format ---------------------------------------------------------------------
    def save(self, directory: str | os.PathLike) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.unet.save_pretrained(directory / "unet", safe_serialization=True)
        if isinstance(self.autoencoder, TinyAutoencoder):
            self.autoencoder.save(directory / "vae")
        else:
            self.autoencoder.vae.save_pretrained(directory / "vae", safe_serialization=True)
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
        part = "unet"
        try:  # a truncated or foreign weights file is a message naming the part, not diffusers' traceback
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                unet = UNet2DConditionModel.from_pretrained(directory / "unet")
                part = "vae"
                if config.autoencoder["kind"] == "taef2":
                    autoencoder = build_autoencoder(config).load_saved(directory / "vae")
                else:
                    autoencoder = KLAutoencoder(AutoencoderKL.from_pretrained(directory / "vae"))
            part = "image_encoder"
            encoder = build_image_encoder(config)
            state = load_file(str(directory / "image_encoder" / "model.safetensors"))
        except DataError:
            raise
        except (OSError, ValueError, RuntimeError, EnvironmentError) as e:
            raise DataError(directory / part, f"cannot load the {part} weights: {str(e).splitlines()[0][:300]}") from None
        missing, unexpected = encoder.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise DataError(directory / "image_encoder", f"weights do not match: missing {missing[:3]}, "
                                                         f"unexpected {unexpected[:3]}")
        return cls(config, unet, autoencoder, encoder).to(device).eval()

    def parameter_counts(self) -> dict[str, int]:
        return {name: sum(p.numel() for p in getattr(self, name).parameters())
                for name in ("unet", "autoencoder", "image_encoder")}
