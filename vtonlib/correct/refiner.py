"""A second refiner for users who have one: a local Stable Diffusion inpainting model with a kohya LoRA,
the original project's setup, driven by the same crop-refine-paste loop (so, unlike the original, it only
repaints hands and pastes them back).

It takes the try-on pipeline's call signature, so :func:`~vtonlib.correct.correct_hands` drives either.
The garment condition does not apply (Stable Diffusion is conditioned on a text prompt instead).
"""

from __future__ import annotations

import os

import numpy as np
import torch
from PIL import Image

from .. import imaging

PROMPT = "realistic hands, detailed knuckles, no deformation"  # the original project's prompt


class SDInpaintRefiner:
    """``SDInpaintRefiner(model_dir, lora=kohya_file)``: ``model_dir`` is a diffusers Stable Diffusion
    inpainting folder on local disk; ``lora`` a kohya (or diffusers) LoRA file, applied at ``lora_scale``."""

    def __init__(self, model_dir: str | os.PathLike, lora: str | os.PathLike | None = None, prompt: str = PROMPT,
                 negative_prompt: str | None = None, guidance_scale: float = 7.5, device: str = "cpu"):
        from diffusers import StableDiffusionInpaintPipeline

        try:
            self.pipe = StableDiffusionInpaintPipeline.from_pretrained(
                model_dir, local_files_only=True, safety_checker=None, requires_safety_checker=False).to(device)
        except (OSError, ValueError) as e:
            from ..fileio import DataError

            raise DataError(model_dir, f"not a Stable Diffusion inpainting folder on local disk ({e})") from None
        self.pipe.set_progress_bar_config(disable=True)
        self.has_lora = lora is not None
        if self.has_lora:
            self.pipe.load_lora_weights(str(lora), adapter_name="hands")
        self.prompt, self.negative_prompt, self.guidance_scale = prompt, negative_prompt, guidance_scale

    def set_lora_scale(self, scale: float) -> None:
        if self.has_lora:
            self.pipe.set_adapters(["hands"], adapter_weights=[float(scale)])

    @torch.no_grad()
    def __call__(self, inpaint_image, inpaint_mask, garment=None, source_image=None, init_image=None,
                 num_inference_steps: int = 25, strength: float = 1.0, generator=None, **_) -> np.ndarray:
        """Same tensors as :class:`~vtonlib.tryon.TryOnPipeline`; returns uint8 (B, H, W, 3), with the
        pixels outside the repaint region taken from ``source_image``."""
        start = init_image if init_image is not None else source_image if source_image is not None else inpaint_image
        source = source_image if source_image is not None else start
        b, _, h, w = start.shape
        images = [Image.fromarray(imaging.to_image(start[i])) for i in range(b)]
        masks = [Image.fromarray(((inpaint_mask[i, 0] < 0.5).numpy() * 255).astype(np.uint8)) for i in range(b)]
        out = self.pipe(prompt=[self.prompt] * b, negative_prompt=[self.negative_prompt] * b if self.negative_prompt
                        else None, image=images, mask_image=masks, height=h, width=w, strength=strength,
                        num_inference_steps=num_inference_steps, guidance_scale=self.guidance_scale,
                        generator=generator, output_type="np").images
        refined = (np.clip(out, 0, 1) * 255).round().astype(np.uint8)
        keep = (inpaint_mask[:, 0] >= 0.5).numpy()[..., None]
        return np.where(keep, imaging.to_image(source), refined)


class FirstGuessOnly:
    """No model at all: the hand's first guess (its mask in the skin colour, the rest of the region filled
    from its surroundings: :func:`~vtonlib.lora.data.first_guess`) pasted back as it is. The baseline a hand
    LoRA must beat; run it with ``CorrectionConfig(hand_hint=True)``."""

    def set_lora_scale(self, scale: float) -> None:  # nothing to scale
        pass

    def __call__(self, inpaint_image, inpaint_mask, garment=None, source_image=None, **_) -> np.ndarray:
        return imaging.to_image(inpaint_image)
