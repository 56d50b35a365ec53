"""Train the try-on model: first the tiny VAE (there is no pretrained one offline), then the UNet and the
garment mapper, with DCI-VTON's losses. Written on Hugging Face Accelerate, so ``accelerate launch`` runs
the same loop on several GPUs (with mixed precision there); on a CPU it is one plain process.

DCI-VTON's objective: epsilon L2 + 0.1 x L1(decoded x0, photo) + 0.001 x VGG19 perceptual (when its
weights are on disk); the garment condition is replaced by the learned unconditional vector in 20 % of
samples. A model configured for v-prediction (the tiny preset) regresses v instead of epsilon. VAE and
CLIP are frozen; the UNet, the mapper, its LayerNorm and projection, and the unconditional vector train
(AdamW).
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
from .data import TryOnPairs
from .model import CONFIG_FILE, TryOnConfig, TryOnModel
from .schedulers import make_scheduler, predicted_clean, training_target

HISTORY = "history.json"


@dataclass
class VaeTrainConfig:
    steps: int = 700  # about 90 s on a 2-core CPU; steps, not seconds, so that a seed gives one result
    seconds: float | None = None  # optional wall-clock cap
    batch_size: int = 4
    crop: tuple[int, int] = (128, 96)  # trains on random crops: the autoencoder is fully convolutional
    lr: float = 1e-3
    kl_weight: float = 1e-6
    anchor_share: float = 0.5  # share of the steps spent on the anchored start (see fit_vae)
    anchor_weight: float = 0.5  # pull towards the anchor afterwards
    seed: int = 0


def latent_anchor(images: torch.Tensor) -> torch.Tensor:
    """A 4-channel picture 8x smaller: each 8x8 block's mean colour, and its luminance contrast.

    Stable Diffusion's latents are, roughly, such a small colour picture. A tiny VAE trained from
    scratch learns shapes quickly but colours slowly (its normalisation layers blur absolute colour);
    teaching its latents this picture first, with the decoder learning to invert it, gives colours in
    seconds."""
    mean = F.avg_pool2d(images, 8)
    luminance = images.mean(1, keepdim=True)
    contrast = (F.avg_pool2d(luminance ** 2, 8) - F.avg_pool2d(luminance, 8) ** 2).clamp(min=0).sqrt()
    return torch.cat([mean, contrast * 4 - 1], dim=1)


@dataclass
class TrainConfig:
    steps: int = 700  # about 2.5 minutes on a 2-core CPU at the tiny width
    batch_size: int = 4
    lr: float = 1e-3  # AdamW; DCI-VTON's 1e-5 fine-tunes a pretrained model, this trains a tiny one
    warmup: int = 25
    x0_weight: float = 0.1  # L1 between the decoded predicted x0 and the photo
    x0_batch: int = 1  # how many of the batch are decoded for it (decoding costs more than the UNet on a CPU)
    vgg_weight: float = 1e-3  # perceptual term, when the VGG19 weights are on disk
    uncond_prob: float = 0.2  # share of samples trained with the learned "no garment" vector
    seed: int = 0
    save_every: int = 250
    seconds: float | None = None  # stop (and save) early when this budget is spent
    mixed_precision: str = "no"  # "fp16"/"bf16" on GPUs, through Accelerate


def _accelerator(mixed_precision: str = "no"):
    from accelerate import Accelerator

    return Accelerator(mixed_precision=mixed_precision if torch.cuda.is_available() else "no")


def fit_vae(model: TryOnModel, root, cfg: VaeTrainConfig | None = None, progress: bool = True) -> dict:
    """Fit the autoencoder to the train split's photos and garments, then set its scaling factor so
    latents have unit variance, as Stable Diffusion's 0.18215 does for its VAE.

    Two phases within the time budget: first the encoder learns to output :func:`latent_anchor` while the
    decoder learns to invert it; then both train together on reconstruction (L1 + a whisper of KL), still
    pulled gently towards the anchor."""
    cfg = cfg or VaeTrainConfig()
    from ..data.reader import VitonDataset
    from .. import imaging

    ds = VitonDataset(root, "train")
    h, w = model.config.model_size
    images = imaging.to_tensor(np.stack([imaging.resize_image(ds.read_image(i), (h, w)) for i in ds.ids] +
                                        [imaging.resize_image(ds.cloth(i).image, (h, w)) for i in ds.ids]))
    vae = model.vae.train()
    optimizer = torch.optim.AdamW(vae.parameters(), lr=cfg.lr)
    g = torch.Generator().manual_seed(cfg.seed)
    ch, cw = min(cfg.crop[0], h), min(cfg.crop[1], w)
    history, start, step = [], time.perf_counter(), 0
    bar = tqdm(desc="fitting the VAE", total=None, disable=not progress)
    while step < cfg.steps and (cfg.seconds is None or time.perf_counter() - start < cfg.seconds):
        idx = torch.randint(len(images), (cfg.batch_size,), generator=g)
        y = int(torch.randint(0, (h - ch) // 8 + 1, (1,), generator=g)) * 8
        x = int(torch.randint(0, (w - cw) // 8 + 1, (1,), generator=g)) * 8
        batch = images[idx][:, :, y:y + ch, x:x + cw]
        anchor = latent_anchor(batch)
        posterior = vae.encode(batch).latent_dist
        pull = F.l1_loss(posterior.mode(), anchor)
        if step < cfg.anchor_share * cfg.steps:  # phase 1: learn the anchor both ways
            loss = F.l1_loss(vae.decode(anchor).sample, batch) + pull
        else:  # phase 2: reconstruction
            reconstruction = vae.decode(posterior.mode()).sample
            loss = F.l1_loss(reconstruction, batch) + cfg.anchor_weight * pull + cfg.kl_weight * posterior.kl().mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        step += 1
        history.append([step, round(loss.item(), 5)])
        bar.update(1)
        bar.set_postfix(loss=f"{loss.item():.3f}")
    bar.close()
    vae.eval().requires_grad_(False)
    with torch.no_grad():
        latents = torch.cat([vae.encode(images[i:i + 8]).latent_dist.mode() for i in range(0, len(images), 8)])
        reconstruction = torch.cat([vae.decode(latents[i:i + 8]).sample for i in range(0, len(latents), 8)])
        mse = F.mse_loss(reconstruction.clamp(-1, 1), images).item() / 4  # images in [0, 1] terms
    vae.register_to_config(scaling_factor=float(1.0 / latents.std()))
    return {"steps": step, "seconds": round(time.perf_counter() - start, 1), "history": history,
            "psnr": round(10 * math.log10(1 / mse), 2), "scaling_factor": float(vae.config.scaling_factor)}


def trainable_parameters(model: TryOnModel) -> list[torch.nn.Parameter]:
    """UNet, mapper, final LayerNorm, projection and the unconditional vector; CLIP and the VAE stay frozen."""
    model.vae.requires_grad_(False)
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
                vae_config: VaeTrainConfig | None = None, init: str | None = None, vgg_path=None,
                progress: bool = True, log=print) -> dict:
    """Train (or resume) a try-on model into the folder ``out``; returns steps, seconds and histories.

    ``init``: a model folder to start from (a converted release, say); otherwise a fresh ``config`` model
    whose tiny VAE is fitted first.
    """
    cfg = train_config or TrainConfig()
    out = Path(out)
    accelerator = _accelerator(cfg.mixed_precision)
    torch.manual_seed(cfg.seed)
    state_file = out / "model"  # its training state: out/model.train.safetensors
    resuming = (out / CONFIG_FILE).exists() and training_state_path(state_file).exists()
    history = read_json(out / HISTORY) if resuming and (out / HISTORY).exists() else {"unet": [], "vae": {}}
    if resuming:
        model = TryOnModel.load(out)
        log(f"resuming {out}")
    elif init:
        model = TryOnModel.load(init)
    else:
        model = TryOnModel(config or TryOnConfig.tiny())
        history["vae"] = fit_vae(model, root, vae_config, progress)
        log(f"VAE fitted in {history['vae']['seconds']} s: reconstruction PSNR {history['vae']['psnr']} dB")
    model.train()
    model.vae.eval()
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
    # the VAE is frozen: encode every photo and inpaint image once
    with torch.no_grad():
        examples = [data[i] for i in range(len(data))]
        cached = {key: torch.stack([e[key] for e in examples]) for key in ("image", "inpaint_image", "inpaint_mask")}
        encode = lambda x: torch.cat([net.encode(x[i:i + 8].to(device)).cpu() for i in range(0, len(x), 8)])  # noqa
        cached["z"], cached["z_inpaint"] = encode(cached["image"]), encode(cached["inpaint_image"])

    start = time.perf_counter() - seconds
    bar = tqdm(total=cfg.steps, initial=step, desc="training the try-on UNet", disable=not progress)
    while step < cfg.steps:
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, cfg)
        idx = torch.randint(len(data), (cfg.batch_size,), generator=generator)
        z, z_inpaint = cached["z"][idx].to(device), cached["z_inpaint"][idx].to(device)
        mask = F.interpolate(cached["inpaint_mask"][idx].to(device), size=z.shape[-2:], mode="nearest")
        photo = cached["image"][idx].to(device)
        garment = torch.stack([data[int(i)]["garment"] for i in idx])  # a fresh crop jitter each time
        # forward: noise the photo's latent, ask the UNet for the noise
        t = torch.randint(0, len(alphas), (cfg.batch_size,), generator=generator)
        noise = torch.randn(z.shape, generator=generator).to(device)
        a = alphas[t].view(-1, 1, 1, 1).to(device)
        noisy = a.sqrt() * z + (1 - a).sqrt() * noise
        drop = torch.rand(cfg.batch_size, generator=generator) < cfg.uncond_prob
        noise_pred = model(noisy, z_inpaint, mask, t.to(device), garment.to(device), drop.to(device))
        loss_eps = F.mse_loss(noise_pred, training_target(z, noise, a, prediction))
        k = min(cfg.x0_batch, cfg.batch_size)
        x0 = net.decode(predicted_clean(noisy[:k], noise_pred[:k], a[:k], prediction))
        photo = photo[:k]
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
