"""Train the hand LoRA on the try-on UNet: the loop notebook 05 and ``vton lora train`` share.

What users of LoRA trainers expect and often find broken, done here: sample crops rendered at fixed seeds
every N steps; a validation loss on held-out hands with fixed noise and timesteps (comparable across
steps); a resume that restores adapter, optimizer, step and random state, so that an interrupted run ends
where an uninterrupted one does; a guard that stops on NaN/inf before anything is written; warm-up then
cosine decay. Everything runs on Hugging Face Accelerate (``accelerate launch`` for several GPUs, mixed
precision and gradient checkpointing where a GPU is present).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from .. import imaging
from ..checkpoint import load_training_state, save_training_state, training_state_path
from ..tryon.model import TryOnModel
from ..tryon.pipeline import TryOnPipeline
from ..tryon.schedulers import make_scheduler, training_target
from ..fileio import file_sha256
from .adapter import (LoraSpec, add_lora, attach, lora_parameters, read_lora,
                      save_lora)
from .data import HandCrops, split_people, stack_crops


@dataclass
class LoraTrainConfig:
    steps: int = 600
    batch_size: int = 4
    lr: float = 1e-3  # LoRA on a tiny UNet; kohya's SD-1.5 runs use 1e-4
    warmup: int = 30
    crop: int = 96  # training size of the square hand crops (256 at full scale; 96 beat 128 on the sample)
    padding: float = 0.75  # context around the hand, on each side, as a share of its longer side
    dilation: int = 2  # pixels (photo scale) added around the hand mask for the repaint region
    outside_weight: float = 0.1  # loss weight outside the hand region, inside it is 1
    hand_hint: bool = True  # the region holds the hand's first guess (lora.data.first_guess), not grey; the
    # correction reads this from the file and builds the same
    validation_share: float = 0.15  # people held out for the validation loss
    validation_draws: int = 4  # fixed (noise, timestep) draws per held-out hand: one draw is too noisy to compare
    validate_every: int = 50
    sample_every: int = 200  # a row of sample crops, rendered at fixed seeds
    sample_steps: int = 10
    sample_strength: float = 0.7
    save_every: int = 200
    seed: int = 0
    mixed_precision: str = "no"  # "bf16"/"fp16" on GPUs
    gradient_checkpointing: bool = False  # saves activation memory on GPUs


def learning_rate(step: int, cfg: LoraTrainConfig) -> float:
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    progress = min(1.0, (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup))
    return cfg.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


class _Targets:
    """The regression target of the model's prediction type, and the loss weighted by the hand."""

    def __init__(self, model: TryOnModel):
        scheduler = make_scheduler("ddim", model.config.scheduler)
        self.alphas = scheduler.alphas_cumprod
        self.prediction = model.config.scheduler.get("prediction_type", "epsilon")

    def noisy(self, z, noise, t):
        a = self.alphas[t].view(-1, 1, 1, 1).to(z.device)
        return a.sqrt() * z + (1 - a).sqrt() * noise, a

    def target(self, z, noise, a, z_inpaint):
        return training_target(z, noise, a, self.prediction, z_inpaint)


def hand_weighted_mse(prediction, target, hand_weight, outside_weight: float) -> torch.Tensor:
    """MSE weighted 1 on the hand (area-downsampled to the latent grid) and ``outside_weight`` elsewhere."""
    w = F.interpolate(hand_weight, size=prediction.shape[-2:], mode="area")
    w = outside_weight + (1 - outside_weight) * w
    return ((prediction - target) ** 2 * w).sum() / (w.sum() * prediction.shape[1])


def train_lora(root, model_dir, hand_masks, out, spec: LoraSpec | None = None,
               train_config: LoraTrainConfig | None = None, split: str = "train", progress: bool = True,
               log=print, context=None) -> dict:
    """Train (or resume) a hand LoRA for the try-on model in ``model_dir``; the adapter goes to ``out``.
    ``context``: the model's own try-on results for the split, to cut the inpaint images from
    (:class:`~vtonlib.lora.data.HandCrops`)."""
    from accelerate import Accelerator

    cfg = train_config or LoraTrainConfig()
    spec = spec or LoraSpec()
    out = Path(out)
    use_gpu = torch.cuda.is_available()
    accelerator = Accelerator(mixed_precision=cfg.mixed_precision if use_gpu else "no")
    torch.manual_seed(cfg.seed)
    model = TryOnModel.load(model_dir)
    model.requires_grad_(False)
    state_path = training_state_path(out)
    resuming = out.exists() and state_path.exists()
    if resuming:  # the saved adapter, in place of a fresh one
        tensors, saved_spec, _ = read_lora(out)
        if saved_spec.rank != spec.rank or saved_spec.targets != spec.targets:
            raise ValueError(f"{out} holds a LoRA of another configuration ({saved_spec}); choose another file")
        attach(model.unet, {k.removeprefix("unet."): v for k, v in tensors.items()}, spec, out)
    else:
        add_lora(model.unet, spec)
    if cfg.gradient_checkpointing and use_gpu:
        model.unet.enable_gradient_checkpointing()
    clip_size = model.config.clip["image_size"]

    from ..data.reader import VitonDataset

    train_people, val_people = split_people(VitonDataset(root, split), hand_masks, cfg.validation_share, cfg.seed)
    common = dict(split=split, size=cfg.crop, padding=cfg.padding, dilation=cfg.dilation, clip_size=clip_size,
                  context=context, hint=cfg.hand_hint)
    data = HandCrops(root, hand_masks, people=train_people, **common)
    validation = HandCrops(root, hand_masks, people=val_people, **common)
    if not len(data):
        raise ValueError(f"no hand to train on in {root}/{split} with masks {hand_masks}")

    params = lora_parameters(model.unet)
    optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=1e-2)
    generator = torch.Generator().manual_seed(cfg.seed + accelerator.process_index)
    step, history = 0, {"train": [], "validation": [], "samples": []}
    if resuming:
        step, extra = load_training_state(out, optimizer, generator)
        history = extra["history"]
        log(f"resuming {out} at step {step}")

    targets = _Targets(model)
    model.unet, optimizer = accelerator.prepare(model.unet, optimizer)
    device = accelerator.device
    model.autoencoder.to(device)
    model.image_encoder.to(device)
    unet = accelerator.unwrap_model(model.unet)
    # the VAE and the garment encoder are frozen: encode every crop once, before the loop
    cache = {"train": _encode_crops(model, data, device), "validation": _encode_crops(model, validation, device)}
    fixed = torch.Generator().manual_seed(12345)  # the validation draws: the same noise and timesteps every time
    val_index = torch.arange(len(validation)).repeat(cfg.validation_draws)
    val_noise = torch.randn((len(val_index), *cache["validation"]["z"].shape[1:]), generator=fixed)
    val_t = torch.randint(0, len(targets.alphas), (len(val_index),), generator=fixed)

    def run_unet(z, z_inpaint, keep, condition, t, noise):
        noisy, a = targets.noisy(z, noise, t)
        mask = F.interpolate(keep, size=z.shape[-2:], mode="nearest")
        pred = model.unet(torch.cat([noisy, z_inpaint, mask], 1), t.to(z.device),
                          encoder_hidden_states=condition).sample
        return pred, targets.target(z, noise, a, z_inpaint)

    def validation_loss() -> float | None:
        if not len(validation):
            return None
        batch, c = stack_crops(validation.items), cache["validation"]
        total = 0.0
        with torch.no_grad():
            for start in range(0, len(val_index), 16):
                draw = slice(start, start + 16)
                rows = val_index[draw]  # which hand each draw belongs to
                pred, target = run_unet(c["z"][rows].to(device), c["z_inpaint"][rows].to(device),
                                        batch["inpaint_mask"][rows].to(device), c["condition"][rows].to(device),
                                        val_t[draw].to(device), val_noise[draw].to(device))
                total += len(rows) * hand_weighted_mse(pred, target, batch["hand_weight"][rows].to(device),
                                                       cfg.outside_weight).item()
        return total / len(val_index)

    provenance = {"base_model": str(model_dir), "base_unet_sha256": _unet_hash(model_dir),
                  "dataset": {"root": str(root), "split": split, "hand_masks": str(hand_masks),
                              "context": str(context) if context is not None else "photos",
                              "hands": len(data), "validation_hands": len(validation),
                              "fingerprint": data.fingerprint()},
                  "train": asdict(cfg), "rank": spec.rank, "alpha": spec.alpha, "targets": spec.targets}
    if step == 0 and len(validation):  # the base model's hand loss: where the curve starts
        history["validation"].append([0, round(validation_loss(), 6)])
    start = time.perf_counter()
    bar = tqdm(total=cfg.steps, initial=step, desc="training the hand LoRA", disable=not progress)
    while step < cfg.steps:
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, cfg)
        idx = torch.randint(len(data), (cfg.batch_size,), generator=generator)
        batch = stack_crops([data[int(i)] for i in idx])
        c = cache["train"]
        t = torch.randint(0, len(targets.alphas), (cfg.batch_size,), generator=generator)
        noise = torch.randn(c["z"][idx].shape, generator=generator)
        pred, target = run_unet(c["z"][idx].to(device), c["z_inpaint"][idx].to(device),
                                batch["inpaint_mask"].to(device), c["condition"][idx].to(device), t, noise.to(device))
        loss = hand_weighted_mse(pred.float(), target.float(), batch["hand_weight"].to(device), cfg.outside_weight)
        if not torch.isfinite(loss):  # stop before a broken adapter can be written
            raise FloatingPointError(f"the hand loss became {loss.item()} at step {step + 1}; nothing was saved "
                                     f"from this step on. Lower the learning rate (now {cfg.lr}) and resume.")
        optimizer.zero_grad(set_to_none=True)
        accelerator.backward(loss)
        accelerator.clip_grad_norm_(params, 1.0)
        optimizer.step()
        step += 1
        history["train"].append([step, round(loss.item(), 6)])
        bar.update(1)
        bar.set_postfix(loss=f"{loss.item():.4f}")
        if step % cfg.validate_every == 0 or step == cfg.steps:
            value = validation_loss()
            if value is not None:
                history["validation"].append([step, round(value, 6)])
        if accelerator.is_main_process and (step % cfg.sample_every == 0 or step == cfg.steps) and len(validation):
            picture = out.with_name(out.stem + "_samples") / f"step_{step:05d}.png"
            render_samples(model, unet, validation, cfg, picture)
            history["samples"].append(str(picture))
        if accelerator.is_main_process and (step % cfg.save_every == 0 or step == cfg.steps):
            save_lora(out, unet, spec, {**provenance, "steps": step})
            save_training_state(out, optimizer, step, generator, history=history)
    bar.close()
    return {"out": str(out), "steps": step, "seconds": round(time.perf_counter() - start, 1), "history": history,
            "hands": len(data), "validation_hands": len(validation)}


@torch.no_grad()
def _encode_crops(model: TryOnModel, crops: HandCrops, device, chunk: int = 16) -> dict[str, torch.Tensor]:
    """Latents of the crops and their inpaint images, and the garment embeddings (on the CPU)."""
    out = {"z": [], "z_inpaint": [], "condition": []}
    for i in range(0, len(crops), chunk):
        batch = stack_crops(crops.items[i:i + chunk])
        out["z"].append(model.encode(batch["image"].to(device)).cpu())
        out["z_inpaint"].append(model.encode(batch["inpaint_image"].to(device)).cpu())
        out["condition"].append(model.embed_garment(batch["garment"].to(device)).cpu())
    return {k: torch.cat(v) if v else torch.empty(0) for k, v in out.items()}


def _unet_hash(model_dir) -> str:
    path = Path(model_dir) / "unet" / "diffusion_pytorch_model.safetensors"
    return file_sha256(path)[:16] if path.exists() else "unknown"


@torch.no_grad()
def render_samples(model: TryOnModel, unet, crops: HandCrops, cfg: LoraTrainConfig, path: Path,
                   count: int = 4) -> np.ndarray:
    """A row per crop: inpaint input | sampled with the adapter | the photo; fixed seeds, so rows of
    different steps compare."""
    was_training = unet.training
    unet.eval()
    pipe = TryOnPipeline(TryOnModel(model.config, unet, model.autoencoder, model.image_encoder),
                         make_scheduler("dpm", model.config.scheduler))
    batch = stack_crops(crops.items[:count])
    images = pipe(batch["inpaint_image"], batch["inpaint_mask"], batch["garment"], source_image=batch["image"],
                  num_inference_steps=cfg.sample_steps, strength=cfg.sample_strength,
                  generator=torch.Generator().manual_seed(0))
    rows = [np.concatenate([imaging.to_image(batch["inpaint_image"][i]), images[i],
                            imaging.to_image(batch["image"][i])], 1) for i in range(len(images))]
    picture = np.concatenate(rows, 0)
    imaging.write_image(path, picture)
    unet.train(was_training)
    return picture
