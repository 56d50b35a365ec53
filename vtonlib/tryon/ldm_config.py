"""An original LDM config (DCI-VTON's ``configs/viton512.yaml``, Paint-by-Example's ``v1.yaml``) -> a
:class:`~.model.TryOnConfig`, so that a checkpoint of any width converts with the config it was trained with.

The yaml's ``model.params`` names the networks' sizes (``unet_config``, ``first_stage_config``), the noise
schedule (``linear_start``, ``linear_end``, ``timesteps``) and the latent scale (``scale_factor``); its
``data`` section names the dataset class, which says how the checkpoint's inputs were formed (``cp_dataset``
for ``viton512.ckpt``, ``cp_dataset_v2`` for the 2023 model). The garment encoder's CLIP tower is not in the
yaml (the original downloads ``openai/clip-vit-large-patch14``): its config is ViT-L/14's unless the file
carries a ``clip_vision_config`` beside ``model``; the mapper's depth is read from the checkpoint.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..fileio import DataError
from .model import SAMPLING_DCI, TryOnConfig

VIT_L14 = dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16,
               image_size=224, patch_size=14)


def read_ldm_config(path: str | os.PathLike) -> dict:
    """The yaml (or JSON) file as a dict with a ``model`` key, whichever level the file starts at."""
    import yaml

    path = Path(path)
    try:
        config = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise DataError(path, f"cannot read the LDM config: {e}") from None
    if not isinstance(config, dict):
        raise DataError(path, "not an LDM config: expected a mapping with model.params")
    if "model" not in config and "params" in config:  # the model section alone
        config = {"model": config}
    if not isinstance(config.get("model"), dict) or "unet_config" not in config["model"].get("params", {}):
        raise DataError(path, "not an LDM config: no model.params.unet_config")
    return config


def dataset_convention(config: dict) -> str:
    """'dci-v1' or 'dci-v2' from the yaml's dataset class (default: v1, viton512.yaml's)."""
    data = config.get("data", {}).get("params", {})
    targets = [str(part.get("target", "")) for part in data.values() if isinstance(part, dict)]
    return "dci-v2" if any("cp_dataset_v2" in t for t in targets) else "dci-v1"


def config_from_ldm(config: dict, name: str = "converted") -> TryOnConfig:
    """The TryOnConfig of an LDM try-on model (the dict of :func:`read_ldm_config`)."""
    params = config["model"]["params"]
    unet, vae = params["unet_config"]["params"], params["first_stage_config"]["params"]["ddconfig"]
    widths = [unet["model_channels"] * m for m in unet["channel_mult"]]
    # a level has cross-attention when its downsampling factor is in attention_resolutions
    attention = [2 ** level in unet["attention_resolutions"] for level in range(len(widths))]
    if unet.get("num_head_channels", -1) not in (-1, None):
        raise ValueError("num_head_channels (SD 2 style heads) is not supported; DCI-VTON uses num_heads")
    z = int(vae["z_channels"])
    size = int(params.get("image_size", 64)) * 2 ** (len(vae["ch_mult"]) - 1)
    return TryOnConfig(
        name=name, model_size=(size, size), cross_attention_dim=int(unet["context_dim"]),
        autoencoder=dict(kind="kl", block_out_channels=tuple(vae["ch"] * m for m in vae["ch_mult"]),
                         layers_per_block=int(vae["num_res_blocks"]), norm_num_groups=32, latent_channels=z,
                         scaling_factor=float(params.get("scale_factor", 0.18215))),
        unet=dict(in_channels=int(unet["in_channels"]), out_channels=int(unet["out_channels"]),
                  block_out_channels=tuple(widths), layers_per_block=int(unet["num_res_blocks"]),
                  down_block_types=tuple("CrossAttnDownBlock2D" if a else "DownBlock2D" for a in attention),
                  up_block_types=tuple("CrossAttnUpBlock2D" if a else "UpBlock2D" for a in reversed(attention)),
                  attention_head_dim=int(unet["num_heads"]), norm_num_groups=32),
        clip={k: v for k, v in (config.get("clip_vision_config") or VIT_L14).items() if k != "projection_dim"},
        # LDM's "linear" schedule is linear in sqrt(beta): diffusers' "scaled_linear"
        scheduler={"num_train_timesteps": int(params.get("timesteps", 1000)),
                   "beta_start": float(params.get("linear_start", 0.00085)),
                   "beta_end": float(params.get("linear_end", 0.012)), "beta_schedule": "scaled_linear"},
        dataset=dataset_convention(config), sampling=dict(SAMPLING_DCI),
    )
