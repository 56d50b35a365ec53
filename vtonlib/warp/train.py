"""Train the warping model: one readable loop, used by notebook 03 and by ``vton warp train``.

Checkpoints are ``.safetensors`` (weights + config + loss history); a training-state file beside them
holds the optimizer and random generators, so an interrupted run resumes exactly where it stopped.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from ..checkpoint import load_model, load_training_state, save_model, save_training_state, training_state_path
from .data import WarpPairs
from .losses import make_vgg_loss, warp_loss
from .model import AFWM, WarpConfig


@dataclass
class TrainConfig:
    steps: int = 250  # optimizer steps (the notebook's default fits its two-minute budget on 2 cores)
    batch_size: int = 4
    lr: float = 1e-3  # Adam; the original's 5e-5 is for full width and days of GPU time
    shift: float = 0.0625  # augmentation: move each person (not the garment) by up to this share of the height
    warmup: int = 20  # linear warm-up steps, then cosine decay to 5 % of lr
    seed: int = 0
    save_every: int = 100
    perceptual: bool = True  # use the VGG19 perceptual term when its weights are on disk
    time_budget: float | None = None  # seconds: stop (and save) early when spent


def learning_rate(step: int, cfg: TrainConfig) -> float:
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    progress = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return cfg.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0))))


def _batch(data: WarpPairs, indices) -> dict:
    items = [data[int(i)] for i in indices]
    return {k: torch.stack([it[k] for it in items]) for k in ("person", "cloth", "cloth_mask", "target", "target_mask")}


def shift_people(batch: dict, max_shift: int, generator: torch.Generator) -> dict:
    """Move each person (representation and targets, not the garment) by a random whole-pixel offset.

    With a few dozen training people the model otherwise learns where each one stands instead of how
    to follow a body; a shifted person is just as valid a person. Edges are extended, not wrapped.
    """
    if max_shift <= 0:
        return batch
    h, w = batch["person"].shape[-2:]
    out = {**batch, **{key: torch.empty_like(batch[key]) for key in ("person", "target", "target_mask")}}
    for k, (dx, dy) in enumerate(torch.randint(-max_shift, max_shift + 1, (len(batch["person"]), 2),
                                               generator=generator).tolist()):
        for key in ("person", "target", "target_mask"):
            padded = F.pad(batch[key][k:k + 1], [max_shift] * 4, mode="replicate")
            out[key][k] = padded[0, :, max_shift - dy:max_shift - dy + h, max_shift - dx:max_shift - dx + w]
    return out


def train_warp(root, out, model_config: WarpConfig | None = None, train_config: TrainConfig | None = None,
               split: str = "train", vgg_path=None, progress: bool = True, log=print) -> dict:
    """Train (or resume training) a warping model on ``root/split``; return steps, seconds and history."""
    model_config = model_config or WarpConfig.tiny()
    cfg = train_config or TrainConfig()
    out = Path(out)
    torch.manual_seed(cfg.seed)
    data = WarpPairs(root, split, size=model_config.size)
    if not len(data):
        raise ValueError(f"{root}/{split}: no person with a garment to train on")
    model = AFWM(model_config)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, betas=(0.5, 0.999))
    generator = torch.Generator().manual_seed(cfg.seed)
    step, history, seconds = 0, [], 0.0
    if out.exists() and training_state_path(out).exists():
        state, meta = load_model(out)
        if WarpConfig.from_dict(meta["config"]) != model_config:
            raise ValueError(f"{out} holds a model of another configuration: {meta['config']}")
        model.load_state_dict(state)
        step, extra = load_training_state(out, optimizer, generator)
        history, seconds = extra["history"], extra["seconds"]
        log(f"resuming {out} at step {step}")
    vgg = make_vgg_loss(vgg_path, log) if cfg.perceptual else None

    model.train()
    start = time.perf_counter() - seconds
    bar = tqdm(total=cfg.steps, initial=step, desc="training the warp", disable=not progress)
    while step < cfg.steps:
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, cfg)
        batch = _batch(data, torch.randint(len(data), (cfg.batch_size,), generator=generator))
        batch = shift_people(batch, int(round(cfg.shift * model_config.size[0])), generator)
        result = model(batch["person"], batch["cloth"], batch["cloth_mask"])  # forward
        loss, parts = warp_loss(result, batch["target"], batch["target_mask"], vgg)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"loss became {float(loss)} at step {step}; lower the learning rate")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()  # backward
        optimizer.step()
        step += 1
        history.append([step, round(parts["total"], 5), round(parts["mask"], 5)])
        bar.update(1)
        bar.set_postfix(loss=f"{parts['total']:.3f}")
        out_of_time = cfg.time_budget is not None and time.perf_counter() - start >= cfg.time_budget
        if step % cfg.save_every == 0 or step == cfg.steps or out_of_time:
            _save(out, model, optimizer, generator, step, history, time.perf_counter() - start, cfg)
        if out_of_time:
            log(f"time budget of {cfg.time_budget:.0f} s spent at step {step}")
            break
    bar.close()
    return {"out": str(out), "steps": step, "seconds": round(time.perf_counter() - start, 1), "history": history}


def _save(out: Path, model, optimizer, generator, step, history, seconds, cfg) -> None:
    save_model(out, model.state_dict(), model.config.to_dict(), step=step, history=history, train=asdict(cfg))
    save_training_state(out, optimizer, step, generator, history=history, seconds=seconds)
