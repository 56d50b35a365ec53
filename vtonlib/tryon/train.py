"""Train the try-on model: the UNet and the garment mapper, with DCI-VTON's losses, on a frozen pretrained
autoencoder (TAEF2 at the built-in scale, as DCI-VTON keeps Stable Diffusion's VAE frozen). Written on
Hugging Face Accelerate, so ``accelerate launch`` runs the same loop on several GPUs (with mixed
precision there); on a CPU it is one plain process.

DCI-VTON's objective: epsilon L2 + 0.1 x L1(decoded x0, photo) + 0.001 x VGG19 perceptual (when its
weights are on disk); the garment condition is replaced by the learned unconditional vector in 20 % of
samples. A model configured for another prediction type regresses that instead of epsilon (the tiny
preset: the change to the inpaint latent). The autoencoder and CLIP are frozen; the UNet, the mapper, its LayerNorm and projection, and the
unconditional vector train (AdamW).
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

from ..checkpoint import load_training_state, save_training_state, training_state_path
from ..fileio import read_json, write_json
from ..warp.losses import make_vgg_loss
from .autoencoder import measure_latent_scaling
from .data import TryOnPairs
from .model import CONFIG_FILE, TryOnConfig, TryOnModel, pretrained_taef2
from .schedulers import make_scheduler, predicted_clean, training_target

HISTORY = "history.json"


@dataclass
class TrainConfig:
    """The course's CPU training of a tiny UNet (notebook 04 measures each choice); ``TrainConfig.dci_vton()``
    is the original's fine-tuning of a released model."""

    steps: int = 700  # about 2 minutes on a 2-core CPU at the tiny width
    batch_size: int = 4
    lr: float = 1e-3  # AdamW; DCI-VTON's 1e-5 fine-tunes a pretrained model, this trains a tiny one
    warmup: int = 25
    x0_weight: float = 0.1  # L1 between the decoded predicted x0 and the photo
    x0_batch: int = 1  # how many of the batch are decoded for it (decoding costs more than the UNet on a CPU)
    x0_window: int | None = 8  # decode only this many latent pixels square around the region (None: all)
    vgg_weight: float = 1e-3  # perceptual term, when the VGG19 weights are on disk
    uncond_prob: float = 0.2  # share of samples trained with the learned "no garment" vector
    outside_weight: float = 0.1  # loss weight of latent pixels the photo keeps (pasted back anyway); DCI-VTON 1
    timestep_shift: float = 3.0  # > 1 draws noisier timesteps more often (SD3's shift); DCI-VTON 1 (uniform)
    skin_variants: int = 2  # recoloured copies of each training person (.augment); DCI-VTON 0
    seed: int = 0
    save_every: int = 250
    seconds: float | None = None  # stop (and save) early when this budget is spent
    mixed_precision: str = "no"  # "fp16"/"bf16" on GPUs, through Accelerate

    @classmethod
    def dci_vton(cls, **overrides) -> "TrainConfig":
        """DCI-VTON's own recipe: AdamW 1e-5, the whole latent in the loss, uniform timesteps, the decoded
        x0 of the whole batch, no augmentation (for fine-tuning a converted release on a GPU)."""
        base = dict(lr=1e-5, warmup=0, x0_batch=4, x0_window=None, outside_weight=1.0, timestep_shift=1.0,
                    skin_variants=0, steps=10_000, save_every=1000)
        return cls(**{**base, **overrides})


def _accelerator(mixed_precision: str = "no"):
    from accelerate import Accelerator

    return Accelerator(mixed_precision=mixed_precision if torch.cuda.is_available() else "no")


def new_model(root, config: TryOnConfig, log=print) -> TryOnModel:
    """A fresh model on the pretrained autoencoder, its latent scaling measured on the train split's photos
    and garments (as Stable Diffusion's 0.18215 was measured on its data)."""
    if config.autoencoder["kind"] != "taef2":
        raise ValueError("no pretrained Stable Diffusion autoencoder is available offline: start from a converted "
                         "model folder (`vton tryon convert`, init=...) or use the tiny preset (TAEF2)")
    from .. import imaging
    from ..data.reader import VitonDataset

    autoencoder = pretrained_taef2(config).eval().requires_grad_(False)
    ds = VitonDataset(root, "train")
    h, w = config.model_size
    images = imaging.to_tensor(np.stack([imaging.resize_image(ds.read_image(i), (h, w)) for i in ds.ids] +
                                        [imaging.resize_image(ds.cloth(i).image, (h, w)) for i in ds.ids]))
    shift, scale = measure_latent_scaling(autoencoder, images)
    autoencoder.shift, autoencoder.scale = shift, scale
    config.autoencoder.update(shift=round(shift, 6), scale=round(scale, 6))
    log(f"TAEF2 latents of {len(images)} train images: mean {shift:.4f}, scale 1/std = {scale:.4f}")
    return TryOnModel(config, autoencoder=autoencoder)


def draw_timesteps(count: int, steps: int, shift: float, generator) -> torch.Tensor:
    """Training timesteps: uniform for ``shift`` 1; for ``shift`` s > 1, u uniform in [0, 1] is moved to
    s u / (1 + (s - 1) u) (Stable Diffusion 3's shift), so noisy steps, where the content is decided, come
    more often than the nearly clean ones, where the answer is almost the input."""
    if shift == 1:
        return torch.randint(0, steps, (count,), generator=generator)
    u = torch.rand(count, generator=generator)
    return (shift * u / (1 + (shift - 1) * u) * steps).long().clamp(max=steps - 1)


def region_weighted_mse(prediction, target, keep, outside_weight: float) -> torch.Tensor:
    """Per sample, the MSE weighted 1 on the region to repaint (``keep`` 0) and ``outside_weight`` on the kept
    latent pixels (their photo pixels are pasted back over the result anyway); then the mean over the batch.
    ``outside_weight`` 1 is the plain MSE."""
    spatial = 1 - (1 - outside_weight) * keep.expand(-1, 1, *prediction.shape[-2:])  # (B, 1, h, w)
    per_sample = ((prediction - target) ** 2 * spatial).sum((1, 2, 3)) / (spatial.sum((1, 2, 3)) * prediction.shape[1])
    return per_sample.mean()


def region_window(latents, photos, mask, window: int | None, downscale: int, generator):
    """A ``window`` x ``window`` square of the latents, centred on a random repainted pixel, and the photo
    pixels under it: the decoded-x0 loss then costs a fraction of a whole decode. (TAEF2's decoder sees a
    bounded neighbourhood, so a decoded window matches the whole decode but near its border.)"""
    if window is None or window >= min(latents.shape[-2:]):
        return latents, photos
    h, w = latents.shape[-2:]
    region = torch.nonzero(mask[0, 0] < 0.5)
    if len(region):
        y, x = region[int(torch.randint(len(region), (1,), generator=generator))].tolist()
    else:
        y, x = h // 2, w // 2
    y0, x0 = min(max(y - window // 2, 0), h - window), min(max(x - window // 2, 0), w - window)
    d = downscale
    return (latents[..., y0:y0 + window, x0:x0 + window],
            photos[..., y0 * d:(y0 + window) * d, x0 * d:(x0 + window) * d])


def training_examples(data: TryOnPairs, skin_variants: int, seed: int) -> tuple[list[dict], list[int]]:
    """Every pair's model inputs, then ``skin_variants`` recoloured copies of each; and for each, the index
    of its pair (whose garment it wears)."""
    from .augment import skin_variants as recoloured

    examples = [data.example(i) for i in range(len(data))]
    source = list(range(len(examples)))
    rng = np.random.default_rng(seed)
    for i, example in enumerate(examples[:len(data)]):
        if skin_variants:
            copies = recoloured(example, data.ds.read_parse(example["id"]), skin_variants, rng)
            examples += copies
            source += [i] * len(copies)
    return examples, source


def trainable_parameters(model: TryOnModel) -> list[torch.nn.Parameter]:
    """UNet, mapper, final LayerNorm, projection and the unconditional vector; CLIP and the autoencoder stay
    frozen."""
    model.autoencoder.requires_grad_(False)
    model.image_encoder.requires_grad_(False)
    enc = model.image_encoder
    for module in (model.unet, enc.mapper, enc.final_layer_norm, enc.proj_out):
        module.requires_grad_(True)
    enc.uncond_vector.requires_grad_(True)
    return [p for p in model.parameters() if p.requires_grad]


def learning_rate(step: int, cfg: TrainConfig) -> float:
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    progress = min(1.0, (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup))
    return cfg.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def train_tryon(root, out, config: TryOnConfig | None = None, train_config: TrainConfig | None = None,
                init: str | None = None, vgg_path=None, progress: bool = True, log=print) -> dict:
    """Train (or resume) a try-on model into the folder ``out``; returns steps, seconds and the loss history.

    ``init``: a model folder to start from (a converted release, say); otherwise a fresh ``config`` model
    on the pretrained autoencoder (:func:`new_model`).
    """
    cfg = train_config or TrainConfig()
    out = Path(out)
    accelerator = _accelerator(cfg.mixed_precision)
    torch.manual_seed(cfg.seed)
    state_file = out / "model"  # its training state: out/model.train.safetensors
    resuming = (out / CONFIG_FILE).exists() and training_state_path(state_file).exists()
    history = read_json(out / HISTORY) if resuming and (out / HISTORY).exists() else {"unet": []}
    if resuming:
        model = TryOnModel.load(out)
        log(f"resuming {out}")
    elif init:
        model = TryOnModel.load(init)
    else:
        model = new_model(root, config or TryOnConfig.tiny(), log)
    model.train()
    model.autoencoder.eval()
    params = trainable_parameters(model)
    optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=1e-2)
    generator = torch.Generator().manual_seed(cfg.seed + accelerator.process_index)  # each process its own batches
    step, seconds = 0, 0.0
    if resuming:
        step, extra = load_training_state(state_file, optimizer, generator)
        seconds = extra["seconds"]
    data = TryOnPairs(root, "train", model.config.model_size, model.config.clip["image_size"], jitter=True,
                      seed=cfg.seed)
    scheduler = make_scheduler("ddim", model.config.scheduler)  # its alphas: the training noise schedule
    alphas = scheduler.alphas_cumprod
    prediction = model.config.scheduler.get("prediction_type", "epsilon")
    vgg = make_vgg_loss(vgg_path, log) if cfg.vgg_weight > 0 else None
    model, optimizer = accelerator.prepare(model, optimizer)
    net = accelerator.unwrap_model(model)
    device = accelerator.device
    if vgg is not None:
        vgg.to(device)
    # the autoencoder is frozen: encode every photo and inpaint image once (and their skin-tone variants)
    with torch.no_grad():
        examples, source = training_examples(data, cfg.skin_variants, cfg.seed)
        cached = {key: torch.stack([e[key] for e in examples]) for key in ("image", "inpaint_image", "inpaint_mask")}
        encode = lambda x: torch.cat([net.encode(x[i:i + 8].to(device)).cpu() for i in range(0, len(x), 8)])  # noqa
        cached["z"], cached["z_inpaint"] = encode(cached["image"]), encode(cached["inpaint_image"])

    start = time.perf_counter() - seconds
    bar = tqdm(total=cfg.steps, initial=step, desc="training the try-on UNet", disable=not progress)
    while step < cfg.steps:
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, cfg)
        idx = torch.randint(len(examples), (cfg.batch_size,), generator=generator)
        z, z_inpaint = cached["z"][idx].to(device), cached["z_inpaint"][idx].to(device)
        mask = F.interpolate(cached["inpaint_mask"][idx].to(device), size=z.shape[-2:], mode="nearest")
        photo = cached["image"][idx].to(device)
        garment = torch.stack([data[source[int(i)]]["garment"] for i in idx])  # a fresh crop jitter each time
        # forward: noise the photo's latent, ask the UNet for the noise
        t = draw_timesteps(cfg.batch_size, len(alphas), cfg.timestep_shift, generator)
        noise = torch.randn(z.shape, generator=generator).to(device)
        a = alphas[t].view(-1, 1, 1, 1).to(device)
        noisy = a.sqrt() * z + (1 - a).sqrt() * noise
        drop = torch.rand(cfg.batch_size, generator=generator) < cfg.uncond_prob
        noise_pred = model(noisy, z_inpaint, mask, t.to(device), garment.to(device), drop.to(device))
        target = training_target(z, noise, a, prediction, z_inpaint)
        loss_eps = region_weighted_mse(noise_pred, target, mask, cfg.outside_weight)
        k = min(cfg.x0_batch, cfg.batch_size)
        x0_latent = predicted_clean(noisy[:k], noise_pred[:k], a[:k], prediction, z_inpaint[:k])
        x0_latent, photo = region_window(x0_latent, photo[:k], mask[:k], cfg.x0_window, net.downscale, generator)
        x0 = net.decode(x0_latent)
        loss_x0 = F.l1_loss(x0, photo)
        loss = loss_eps + cfg.x0_weight * loss_x0
        if vgg is not None:
            loss = loss + cfg.vgg_weight * vgg(x0, photo)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"loss became {loss.item()} at step {step}; lower the learning rate")
        # backward, step
        optimizer.zero_grad(set_to_none=True)
        accelerator.backward(loss)
        accelerator.clip_grad_norm_(params, 1.0)
        optimizer.step()
        step += 1
        history["unet"].append([step, round(loss_eps.item(), 5), round(loss_x0.item(), 5)])
        bar.update(1)
        bar.set_postfix(eps=f"{loss_eps.item():.3f}", x0=f"{loss_x0.item():.3f}")
        out_of_time = cfg.seconds is not None and time.perf_counter() - start >= cfg.seconds
        if step % cfg.save_every == 0 or step == cfg.steps or out_of_time:
            _save(accelerator, net, optimizer, generator, step, time.perf_counter() - start, history, out, cfg)
        if out_of_time:
            log(f"time budget of {cfg.seconds:.0f} s spent at step {step}")
            break
    bar.close()
    return {"out": str(out), "steps": step, "seconds": round(time.perf_counter() - start, 1), "history": history}


def _save(accelerator, net, optimizer, generator, step, seconds, history, out: Path, cfg: TrainConfig) -> None:
    if not accelerator.is_main_process:
        return
    net.save(out)
    save_training_state(out / "model", optimizer, step, generator, seconds=seconds,
                        train=asdict(cfg))
    write_json(out / HISTORY, history)
