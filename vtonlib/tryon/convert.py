"""``vton tryon convert``: a released CompVis/LDM checkpoint (DCI-VTON's ``viton512.ckpt``, or
Paint-by-Example's ``model.ckpt``) -> this course's model folder.

Every source tensor is accounted for: used by the UNet, the VAE or the garment encoder, or listed as
unused with the reason (EMA copies, the noise schedule's buffers, ...). Every target parameter must be
filled with a tensor of its exact shape, or the conversion stops and names the offenders. The legacy file
is read with ``torch.load(weights_only=True)``: no code inside it runs.

The UNet and VAE key maps are diffusers' own (``diffusers.loaders.single_file_utils``); the garment
encoder's map (CLIP vision, the 5-layer GLIDE-style "mapper", final LayerNorm, projection, learned
unconditional vector) is written out here.
"""

from __future__ import annotations

import os
import warnings
from collections import defaultdict
from pathlib import Path

import torch

from ..checkpoint import read_legacy
from ..fileio import DataError
from .model import TryOnConfig, TryOnModel, build_autoencoder, build_image_encoder, build_unet

UNET, VAE, ENCODER = "model.diffusion_model.", "first_stage_model.", "cond_stage_model."
# Source keys that are not weights of the three networks, and why they are left out.
SCHEDULE = "noise schedule buffer (rebuilt from the config)"
NOT_WEIGHTS = {
    "model_ema.": "exponential moving average copies of the UNet (the trained weights are used)",
    "betas": SCHEDULE,
    "alphas_cumprod": SCHEDULE, "alphas_cumprod_prev": SCHEDULE,
    "sqrt_alphas_cumprod": SCHEDULE, "sqrt_one_minus_alphas_cumprod": SCHEDULE,
    "log_one_minus_alphas_cumprod": SCHEDULE, "sqrt_recip_alphas_cumprod": SCHEDULE,
    "sqrt_recipm1_alphas_cumprod": SCHEDULE, "posterior_variance": SCHEDULE,
    "posterior_log_variance_clipped": SCHEDULE, "posterior_mean_coef1": SCHEDULE,
    "posterior_mean_coef2": SCHEDULE, "logvar": "per-timestep loss weights (training only)",
    "first_stage_model.loss.": "the autoencoder's training loss (discriminator, LPIPS)",
    "cond_stage_model.transformer.vision_model.embeddings.position_ids": "a constant index buffer",
    "cond_stage_model.transformer.embeddings.position_ids": "a constant index buffer",
    # LatentTryOnDiffusion holds the VGG19 of its perceptual training loss as a submodule, so a Lightning
    # checkpoint of it carries these; sampling never runs them
    "vgg.": "VGG19 of DCI-VTON's perceptual training loss (training only)",
}
MAPPER = {  # GLIDE-style block (Paint-by-Example's xf.py) -> diffusers BasicTransformerBlock
    "attn.c_qkv": ("attn1.to_q", "attn1.to_k", "attn1.to_v"),  # one head: q, k, v are contiguous thirds
    "attn.c_proj": ("attn1.to_out.0",), "ln_1": ("norm1",), "ln_2": ("norm3",),
    "mlp.c_fc": ("ff.net.0.proj",), "mlp.c_proj": ("ff.net.2",),
}


def _storage(t: torch.Tensor) -> int:
    return t.untyped_storage().data_ptr()


def convert_image_encoder(state: dict, target_keys) -> dict:
    """LDM cond_stage_model.* (+ proj_out, learnable_vector) -> PaintByExampleImageEncoder keys."""
    out = {}
    clip_prefix = ENCODER + "transformer."
    nested = any(k.startswith("model.vision_model.") for k in target_keys)
    for key, value in state.items():
        if key.startswith(clip_prefix):
            rest = key[len(clip_prefix):]
            if not nested:
                rest = rest.removeprefix("vision_model.")  # transformers 5 dropped this level
            if "model." + rest in target_keys:  # position_ids, a constant buffer, is no parameter now
                out["model." + rest] = value
        elif key.startswith(ENCODER + "mapper.resblocks."):
            rest = key[len(ENCODER + "mapper.resblocks."):]
            index, name = rest.split(".", 1)
            module, kind = name.rsplit(".", 1)
            targets = MAPPER.get(module)
            if targets is None:
                continue
            size = value.shape[0] // len(targets)
            for i, target in enumerate(targets):
                out[f"mapper.blocks.{index}.{target}.{kind}"] = value[i * size:(i + 1) * size]
        elif key.startswith(ENCODER + "final_ln."):
            out["final_layer_norm." + key.rsplit(".", 1)[1]] = value
        elif key.startswith("proj_out."):
            out["proj_out." + key.rsplit(".", 1)[1]] = value
        elif key == "learnable_vector":
            out["uncond_vector"] = value
    return out


def _check(name: str, converted: dict, target: dict, problems: list) -> None:
    missing = sorted(set(target) - set(converted))
    extra = sorted(set(converted) - set(target))
    wrong = [(k, tuple(converted[k].shape), tuple(target[k].shape)) for k in sorted(set(converted) & set(target))
             if tuple(converted[k].shape) != tuple(target[k].shape)]
    if missing:
        problems.append(f"{name}: {len(missing)} parameters not filled, e.g. {missing[:4]}")
    if extra:
        problems.append(f"{name}: {len(extra)} converted tensors have no place, e.g. {extra[:4]}")
    if wrong:
        problems.append(f"{name}: {len(wrong)} shape mismatches (key, source, target), e.g. {wrong[:3]}")


def mapper_depth(state: dict) -> int:
    """How many blocks the checkpoint's garment mapper has (Paint-by-Example: 5, whatever the CLIP tower)."""
    prefix = ENCODER + "mapper.resblocks."
    return len({k[len(prefix):].split(".", 1)[0] for k in state if k.startswith(prefix)})


def convert_state_dict(state: dict, config: TryOnConfig | None = None, source_name: str = "checkpoint"):
    """(converted state dicts per network, report). Raises DataError naming what does not fit. The config's
    ``mapper_layers`` is set from the checkpoint."""
    from diffusers.loaders.single_file_utils import convert_ldm_unet_checkpoint, convert_ldm_vae_checkpoint

    config = config or TryOnConfig.full()
    config.mapper_layers = mapper_depth(state)
    if config.autoencoder["kind"] != "kl":
        raise ValueError(f"LDM checkpoints carry Stable Diffusion's AutoencoderKL; the config {config.name!r} has "
                         f"a {config.autoencoder['kind']!r} autoencoder")
    if not any(k.startswith(UNET) for k in state):
        raise DataError(source_name, f"not an LDM try-on checkpoint: no '{UNET}*' keys "
                                     f"(found e.g. {list(state)[:3]})")
    with torch.device("meta"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        unet, vae, encoder = build_unet(config), build_autoencoder(config).vae, build_image_encoder(config)
    targets = {"unet": unet.state_dict(), "vae": vae.state_dict(), "image_encoder": encoder.state_dict()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        converted = {
            "unet": convert_ldm_unet_checkpoint(state, dict(unet.config)),
            "vae": convert_ldm_vae_checkpoint(state, dict(vae.config)),
            "image_encoder": convert_image_encoder(state, targets["image_encoder"]),
        }
    problems: list[str] = []
    for name in converted:
        _check(name, converted[name], targets[name], problems)
    used = {_storage(t) for part in converted.values() for t in part.values()}
    unused: dict[str, list[str]] = defaultdict(list)
    for key, value in state.items():
        if _storage(value) in used:
            continue
        reason = next((why for prefix, why in NOT_WEIGHTS.items() if key == prefix or key.startswith(prefix)), None)
        unused[reason or "not recognised"].append(key)
    if unused.get("not recognised"):
        problems.append(f"{len(unused['not recognised'])} source tensors were not recognised, e.g. "
                        f"{unused['not recognised'][:4]}")
    if problems:
        raise DataError(source_name, "does not fit the try-on model:\n  " + "\n  ".join(problems))
    report = {"source_tensors": len(state), "used": len(state) - sum(len(v) for v in unused.values()),
              "filled": {name: len(part) for name, part in converted.items()},
              "unused": {reason: {"count": len(keys), "examples": keys[:3]} for reason, keys in unused.items()}}
    return converted, report


def convert_checkpoint(source: str | os.PathLike, out_dir: str | os.PathLike | None,
                       config: TryOnConfig | None = None) -> dict:
    """Convert a released ``.ckpt`` into a model folder (``out_dir=None``: check only); return the report.
    ``config``: the model's (:func:`.ldm_config.config_from_ldm` of its yaml); default the released
    DCI-VTON's, ``TryOnConfig.full()``."""
    state = read_legacy(source)
    config = config or TryOnConfig.full()
    converted, report = convert_state_dict(state, config, str(source))
    report["config"] = {"name": config.name, "dataset": config.dataset, "sampling": config.sampling,
                        "mapper_layers": config.mapper_layers}
    if out_dir is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = TryOnModel(config)
        networks = {"unet": model.unet, "vae": model.autoencoder.vae, "image_encoder": model.image_encoder}
        for name, part in converted.items():
            networks[name].load_state_dict(part, strict=True)
        model.autoencoder.vae.register_to_config(scaling_factor=config.autoencoder.get("scaling_factor", 0.18215))
        model.save(Path(out_dir))
        report["out"] = str(out_dir)
    return report
