"""Crop, refine, paste: hand correction the way careful practitioners do it (notebook 06 draws each step).

Per hand: dilate its mask, feather it, cut a square around it with context, upscale the square to the
working size (where the hand covers many latent pixels), grey the hand out, re-denoise from a partial noise
level starting from the try-on result itself with the hand LoRA active, conditioned on the same garment,
downscale, and paste back through the feathered mask. Pixels where the feathered mask is 0 are copied
from the input: byte-identical, by construction and by test.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch

from .. import imaging
from ..hands.masks import HandMasks
from ..lora.adapter import ADAPTER, is_merged, load_lora, set_lora_scale
from ..hands.masks import dilate as dilate_mask, hands_from_mask, place_square
from ..lora.data import hand_crop


@dataclass
class CorrectionConfig:
    lora_scale: float = 0.8  # the original project's LoRA weight
    strength: float = 0.5  # share of the noise schedule re-run: 0 changes nothing, 1 redraws from noise
    steps: int = 12  # sampler schedule length; strength 0.5 runs its last 6. Starting half-way from the result
    # itself, 25 repaint a hand no better (hand-crop SSIM 0.5085 vs 0.5093 at 12, sample) for twice the time
    padding: int | None = None  # context around the hand, pixels; None: the LoRA's training geometry
    padding_share: float = 0.75  # ... which is this share of the hand's longer side, on each side
    crop: int = 96  # working size the square is resized to: the LoRA's training crop (256 at full scale)
    dilate: int | None = None  # pixels added around the hand mask; None: 4 per 512 pixels of image height
    blur: int | None = None  # feather width, pixels; None: 4 per 512 pixels of height (ADetailer's 4 at 512)
    hand_hint: bool | None = None  # the region holds the hand's first guess, not grey; None: as the LoRA was trained
    seed: int = 0


@dataclass
class Correction:
    image: np.ndarray  # the corrected image (the input itself when nothing was corrected)
    alpha: np.ndarray  # (H, W) float paste weight: 0 = the input's pixel, untouched
    hands: list[dict] = field(default_factory=list)  # per corrected hand: box, crop box, side, source
    skipped: list[dict] = field(default_factory=list)  # hands left alone, with the reason
    note: str = ""
    seconds: float = 0.0
    steps: dict | None = None  # the loop's pictures for the first hand (``keep_steps=True``)


def scaled_pixels(value: int | None, height: int) -> int:
    """ADetailer's pixel settings are for 512-pixel images; ``None`` scales its 4 pixels to this height."""
    return int(value) if value is not None else max(1, round(4 * height / 512))


def feather(region: np.ndarray, blur: int) -> np.ndarray:
    """Paste weight: the region blurred over ``blur`` pixels; exactly 0 further than ``blur`` from it. The
    frame is not an edge of the hand: a hand cut by it keeps full weight up to the border."""
    if blur <= 0:
        return region.astype(np.float32)
    size = 2 * blur + 1
    return cv2.GaussianBlur(region.astype(np.float32), (size, size), sigmaX=blur / 2, sigmaY=blur / 2,
                            borderType=cv2.BORDER_REPLICATE)


def correction_crop(hand_box, image_size: tuple[int, int], cfg: CorrectionConfig) -> tuple[int, int, int, int]:
    """A square around the hand holding its feathered region and the context; moved (not shrunk) to stay
    inside the image where it fits, clipped by the image where it does not."""
    h, w = image_size
    x0, y0, x1, y1 = hand_box
    reach = scaled_pixels(cfg.dilate, h) + scaled_pixels(cfg.blur, h) + 1  # the feathered region lies inside
    core = max(x1 - x0, y1 - y0) + 2 * reach
    longer = max(x1 - x0, y1 - y0, 8)
    side = core + 2 * cfg.padding if cfg.padding is not None else max(core, round(longer * (1 + 2 * cfg.padding_share)))
    return place_square(hand_box, side, image_size)


def _set_tryon_lora(unet, lora, scale: float) -> None:
    fused = getattr(unet, "_fused_lora", None)
    if fused is not None:  # fuse_lora: the weights hold one adapter at one scale for good
        if (lora is not None and str(lora) != fused[0]) or abs(fused[1] - scale) > 1e-9:
            raise ValueError(f"this UNet has {fused[0]} fused in at lora_scale {fused[1]}; load the model again "
                             f"for lora_scale {scale}" + (f" or {lora}" if lora is not None else ""))
        return
    if lora is not None and getattr(unet, "_hand_lora_path", None) != str(lora):
        load_lora(unet, lora)  # it records the file on the UNet
    if ADAPTER in getattr(unet, "peft_config", {}):
        if is_merged(unet):
            if abs(unet._merged_scale - scale) > 1e-9:
                raise ValueError(f"the LoRA is merged at scale {unet._merged_scale}; unmerge it to use {scale}")
        else:
            set_lora_scale(unet, scale)


def _as_hands(hands, size) -> HandMasks:
    if isinstance(hands, HandMasks):
        return hands
    mask = np.asarray(hands).astype(bool)
    if mask.shape != size:
        raise ValueError(f"hand mask is {mask.shape[:2]}, the image {size}")
    return hands_from_mask(mask)


@dataclass
class _Prepared:
    """One image's hands, cut out and ready for the refiner, and what pasting them back needs."""

    image: np.ndarray
    hands: HandMasks
    cfg: CorrectionConfig
    boxes: list = field(default_factory=list)
    regions: list = field(default_factory=list)
    alphas: list = field(default_factory=list)
    inputs: dict = field(default_factory=dict)  # image, inpaint_image, inpaint_mask: (n, ...) tensors


def _prepare(image: np.ndarray, hands, cfg: CorrectionConfig, editable: np.ndarray | None, skin=None) -> _Prepared:
    size = image.shape[:2]
    cfg = CorrectionConfig(**asdict(cfg))
    cfg.dilate, cfg.blur = scaled_pixels(cfg.dilate, size[0]), scaled_pixels(cfg.blur, size[0])
    hands = _as_hands(hands, size)
    if editable is not None and editable.shape != size:
        raise ValueError(f"editable mask is {editable.shape}, the image {size}")
    if cfg.hand_hint and skin is None:
        raise ValueError("this LoRA was trained with a first guess of the hand (its mask in the skin colour): give "
                         "the person's skin colour (skin=, e.g. vtonlib.data.skin.face_skin(photo, parse))")
    prepared = _Prepared(image, hands, cfg)
    inputs = {"image": [], "inpaint_image": [], "inpaint_mask": []}
    for box, mask in zip(hands.hands, hands.hand_masks):
        region = dilate_mask(mask, cfg.dilate)
        if editable is not None:
            region &= editable
        crop_box = correction_crop(box.box, size, cfg)
        x0, y0, x1, y1 = crop_box
        inside = np.zeros(size, bool)
        inside[y0:y1, x0:x1] = True
        alpha = feather(region, cfg.blur) * inside
        if editable is not None:  # feathering may not spill onto the photo's own pixels either
            alpha *= editable
        hint = mask & editable if editable is not None else mask
        crop = hand_crop(image, region, crop_box, cfg.crop, dilation=0,  # the LoRA's training inputs, exactly
                         hint=hint if cfg.hand_hint else None, skin=skin)
        for key in inputs:
            inputs[key].append(crop[key])
        prepared.boxes.append(crop_box)
        prepared.regions.append(region)
        prepared.alphas.append(alpha)
    prepared.inputs = {k: torch.stack(v) for k, v in inputs.items()} if hands.hands else {}
    return prepared


def _paste(prepared: _Prepared, refined: np.ndarray, seconds: float, keep_steps: bool) -> Correction:
    image, size = prepared.image, prepared.image.shape[:2]
    out = image.astype(np.float32)
    total_alpha = np.zeros(size, np.float32)
    records = []
    for k, ((x0, y0, x1, y1), alpha) in enumerate(zip(prepared.boxes, prepared.alphas)):
        back = imaging.resize_image(refined[k], (y1 - y0, x1 - x0))
        a = alpha[y0:y1, x0:x1, None]
        out[y0:y1, x0:x1] = a * back + (1 - a) * out[y0:y1, x0:x1]
        total_alpha = np.maximum(total_alpha, alpha)
        hand = prepared.hands.hands[k]
        records.append({"box": list(hand.box), "crop_box": [x0, y0, x1, y1], "side": hand.side,
                        "source": hand.source, "scale": round(prepared.cfg.crop / max(1, x1 - x0), 3)})
    result = np.where(total_alpha[..., None] > 0, np.clip(np.rint(out), 0, 255).astype(np.uint8), image)
    steps = None
    if keep_steps:
        x0, y0, x1, y1 = prepared.boxes[0]
        steps = {"mask": prepared.hands.hand_masks[0], "dilated": prepared.regions[0],
                 "feathered": prepared.alphas[0], "crop_box": prepared.boxes[0], "crop": image[y0:y1, x0:x1].copy(),
                 "upscaled": imaging.to_image(prepared.inputs["image"][0]),
                 "inpaint_input": imaging.to_image(prepared.inputs["inpaint_image"][0]), "refined": refined[0],
                 "downscaled": imaging.resize_image(refined[0], (y1 - y0, x1 - x0)), "pasted": result}
    return Correction(result, total_alpha, records, seconds=seconds, steps=steps)


def _start_noise(pipeline, count: int, cfg: CorrectionConfig) -> torch.Tensor | None:
    """Each image's start noise, drawn from its own seed: a hand's result does not depend on the batch."""
    model = getattr(pipeline, "model", None)
    if model is None:  # a refiner that draws its own noise
        return None
    side = cfg.crop // model.downscale
    shape = (count, model.latent_channels, side, side)
    return torch.randn(shape, generator=torch.Generator().manual_seed(cfg.seed))


def _refine(pipeline, prepared: list[_Prepared], garments: list, cfg: CorrectionConfig) -> list[np.ndarray]:
    """All hands of several images through the refiner in one batch; per image, its refined crops."""
    jobs = [p for p in prepared if p.hands.hands]
    if not jobs:
        return []
    stack = {k: torch.cat([p.inputs[k] for p in jobs]) for k in ("image", "inpaint_image", "inpaint_mask")}
    conditions = None
    if garments[0] is not None:
        conditions = torch.cat([g[None].expand(len(p.hands.hands), *g.shape) for p, g in zip(prepared, garments)
                                if p.hands.hands])
    noises = [_start_noise(pipeline, len(p.hands.hands), cfg) for p in jobs]
    kwargs = {"noise": torch.cat(noises)} if noises[0] is not None else {
        "generator": torch.Generator().manual_seed(cfg.seed)}
    # Re-denoise from the try-on result itself; with a first guess in the region, from the guess: it holds the
    # result outside the region already, and the sampler then needs one encoding of the crops, not two.
    init = None if cfg.hand_hint else stack["image"]
    refined = pipeline(stack["inpaint_image"], stack["inpaint_mask"], conditions, source_image=stack["image"],
                       init_image=init, num_inference_steps=cfg.steps, strength=cfg.strength, **kwargs)
    out, start = [], 0
    for p in jobs:
        out.append(refined[start:start + len(p.hands.hands)])
        start += len(p.hands.hands)
    return out


def lora_draws_hint(pipeline, lora=None) -> bool:
    """Whether the hand LoRA in use was trained on a first guess of the hand (its metadata, read alone)."""
    unet = getattr(getattr(pipeline, "model", None), "unet", None)
    path = lora or (getattr(unet, "_fused_lora", None) or (None,))[0] or getattr(unet, "_hand_lora_path", None)
    if path is None:
        return False
    from ..fileio import DataError
    from ..lora.adapter import read_lora

    try:
        return bool(read_lora(path, tensors=False)[2].get("train", {}).get("hand_hint", False))
    except DataError:  # a kohya file, say: no such convention
        return False


def _use_lora(pipeline, lora, scale: float) -> None:
    if hasattr(pipeline, "set_lora_scale"):  # a second refiner (SDInpaintRefiner) manages its own LoRA
        pipeline.set_lora_scale(scale)
    else:
        _set_tryon_lora(pipeline.model.unet, lora, scale)


@torch.no_grad()
def correct_hands(image: np.ndarray, hands, pipeline, garment: torch.Tensor | None, lora: str | Path | None = None,
                  config: CorrectionConfig | None = None, editable: np.ndarray | None = None, keep_steps: bool = False,
                  skin=None, **overrides) -> Correction:
    """Correct the hands of one try-on result.

    Args:
        image: (H, W, 3) uint8, the try-on result.
        hands: a :class:`~vtonlib.hands.masks.HandMasks` (from annotations, the detector, or
            :func:`~vtonlib.correct.select_hands`), or a bool (H, W) hand mask (one hand per blob).
        pipeline: a :class:`~vtonlib.tryon.TryOnPipeline`; its UNet carries the hand LoRA, or gets it from
            ``lora``. Without a LoRA this is plain re-denoising (the ``lora_scale`` 0 baseline). Or a
            :class:`~vtonlib.correct.refiner.SDInpaintRefiner` (its own LoRA and prompt).
        garment: (3, S, S) CLIP-normalised crop of the garment tried on (the result's condition); None for
            a refiner that does not use it.
        config / overrides: :class:`CorrectionConfig` fields (``lora_scale=0.8, strength=0.5, ...``).
        editable: bool (H, W), the pixels the try-on generated (its inpaint region). Pixels it kept from the
            person's photo are the person's own: they are context for the model and never change.
        skin: the person's skin colour (RGB), for a LoRA trained on a first guess of the hand
            (:func:`~vtonlib.lora.data.first_guess`); read off the face with :func:`~vtonlib.data.skin.face_skin`.
    """
    return correct_many([(image, hands, garment, editable, skin)], pipeline, lora, config, keep_steps, **overrides)[0]


@torch.no_grad()
def correct_many(items: list[tuple], pipeline, lora: str | Path | None = None, config: CorrectionConfig | None = None,
                 keep_steps: bool = False, **overrides) -> list[Correction]:
    """:func:`correct_hands` for several images, ``(image, hands, garment, editable[, skin])`` each, their hands
    refined in one batch (the sampler's fixed cost is paid once). Each image's result is the same as alone."""
    cfg = CorrectionConfig(**{**asdict(config or CorrectionConfig()), **overrides})
    start = time.perf_counter()
    _use_lora(pipeline, lora, cfg.lora_scale)
    if cfg.hand_hint is None:
        cfg.hand_hint = lora_draws_hint(pipeline, lora)
    prepared = [_prepare(item[0], item[1], cfg, item[3], item[4] if len(item) > 4 else None) for item in items]
    refined = iter(_refine(pipeline, prepared, [item[2] for item in items], cfg))
    seconds = (time.perf_counter() - start) / max(1, len(items))
    out = []
    for p in prepared:
        if not p.hands.hands:
            out.append(Correction(p.image, np.zeros(p.image.shape[:2], np.float32), seconds=seconds,
                                  note="no hand to correct: the image is unchanged"))
        else:
            out.append(_paste(p, next(refined), seconds, keep_steps))
    return out
