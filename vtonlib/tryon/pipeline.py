"""``TryOnPipeline``: DCI-VTON's sampling, in the diffusers style (notebook 04 walks through it).

    >>> pipe = TryOnPipeline.from_pretrained("runs/tryon", scheduler="dpm")
    >>> images = pipe(inpaint_image, inpaint_mask, garment, source_image=person,
    ...               num_inference_steps=25, generator=torch.Generator().manual_seed(0))
"""

from __future__ import annotations

import dataclasses
import os

import torch
import torch.nn.functional as F

from .. import imaging
from .model import TryOnModel
from .schedulers import make_scheduler, predicted_clean, predicted_noise


class TryOnPipeline:
    def __init__(self, model: TryOnModel, scheduler):
        self.model = model
        self.scheduler = scheduler

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike, scheduler: str = "dpm", device: str = "cpu"):
        model = TryOnModel.load(directory, device)
        return cls(model, make_scheduler(scheduler, model.config.scheduler, model.config.sampling["final_alpha"]))

    def set_scheduler(self, name: str) -> None:
        """Swap the sampler (``plms``, ``ddim``, ``dpm``); the model is untouched."""
        self.scheduler = make_scheduler(name, self.model.config.scheduler, self.sampling["final_alpha"])

    def with_sampling(self, sampling: dict, scheduler: str = "plms") -> "TryOnPipeline":
        """The same networks, sampled another way (``TryOnConfig.sampling``: ``SAMPLING_DCI``, the original's
        test.py, or ``SAMPLING_COURSE``), with a fresh ``scheduler``."""
        config = dataclasses.replace(self.model.config, sampling=dict(sampling))
        model = TryOnModel(config, self.model.unet, self.model.autoencoder, self.model.image_encoder)
        return TryOnPipeline(model, make_scheduler(scheduler, config.scheduler, config.sampling["final_alpha"]))

    @property
    def sampling(self) -> dict:
        """How this model is sampled (``TryOnConfig.sampling``: DCI-VTON's way or the course's)."""
        return self.model.config.sampling

    @property
    def device(self) -> torch.device:
        return next(self.model.unet.parameters()).device

    # --- the steps of __call__ --------------------------------------------------------------------
    def check_inputs(self, inpaint_image, inpaint_mask, garment, source_image, strength, init_image=None):
        b, c, h, w = inpaint_image.shape
        if c != 3 or inpaint_mask.shape != (b, 1, h, w):
            raise ValueError(f"inpaint_image must be (B, 3, H, W) and inpaint_mask (B, 1, H, W); got "
                             f"{tuple(inpaint_image.shape)} and {tuple(inpaint_mask.shape)}")
        multiple = self.model.downscale * 2 ** (len(self.model.unet.config.block_out_channels) - 1)
        if h % multiple or w % multiple:
            raise ValueError(f"inputs are {h}x{w}; this model needs multiples of {multiple} (it was trained at "
                             f"{self.model.config.model_size}: resize to that)")
        if garment.shape[0] != b:
            raise ValueError(f"{garment.shape[0]} garments for {b} people")
        if init_image is not None and init_image.shape != inpaint_image.shape:
            raise ValueError(f"init_image {tuple(init_image.shape)} must match inpaint_image {(b, c, h, w)}")
        if source_image is not None and source_image.shape != inpaint_image.shape:
            raise ValueError(f"source_image {tuple(source_image.shape)} must match inpaint_image {(b, c, h, w)}")
        if not 0 < strength <= 1:
            raise ValueError(f"strength must be in (0, 1], got {strength}")
        in_channels, c = self.model.unet.config.in_channels, self.model.latent_channels
        if in_channels != 2 * c + 1:
            raise ValueError(f"the UNet takes {in_channels} channels; try-on needs {c} (noisy latent) + {c} "
                             f"(inpaint latent) + 1 (mask) = {2 * c + 1}")

    def encode_garment(self, garment, guidance_scale):
        cond = self.model.embed_garment(garment)
        if guidance_scale > 1:
            return torch.cat([self.model.unconditional(len(garment)).to(cond.dtype), cond])
        return cond

    def encode_image(self, images, generator=None, noise=None):
        """Latents of images: the posterior's mode, or (``sampling["inpaint_latent"] == "sample"``, as
        DCI-VTON) a sample of it, drawn from ``generator`` or given as ``noise`` (standard normal)."""
        # (TAEF2 is deterministic: there is no posterior to sample)
        return self.model.encode(images, self.sampling["inpaint_latent"] == "sample", generator, noise)

    def resize_mask(self, inpaint_mask, size):
        """The pixel mask at latent size: nearest (each latent pixel kept or repainted) or bilinear, as
        DCI-VTON's test.py (torchvision's Resize on a tensor: bilinear, no antialiasing)."""
        if self.sampling["mask_resize"] == "bilinear":
            return F.interpolate(inpaint_mask, size=size, mode="bilinear", align_corners=False, antialias=False)
        return F.interpolate(inpaint_mask, size=size, mode="nearest")

    def prepare_mask_latents(self, inpaint_image, inpaint_mask, generator=None, noise=None):
        latent = self.encode_image(inpaint_image, generator, noise)
        return latent, self.resize_mask(inpaint_mask, latent.shape[-2:])

    def get_timesteps(self, num_inference_steps, strength):
        self.scheduler.set_timesteps(num_inference_steps, device=self.device)
        start = num_inference_steps - min(int(num_inference_steps * strength), num_inference_steps)
        if hasattr(self.scheduler, "set_begin_index"):
            self.scheduler.set_begin_index(start * self.scheduler.order)
        return self.scheduler.timesteps[start * self.scheduler.order:]

    def start_timestep(self, timesteps, strength):
        """The timestep the start latent is noised to: the first sampler step, or (DCI-VTON, full strength)
        the last training timestep, 999, a few steps above the first sampler step."""
        if self.sampling["start"] == "t_max" and strength == 1:
            return torch.tensor(self.scheduler.config.num_train_timesteps - 1, device=timesteps.device)
        return timesteps[0]

    def prepare_latents(self, start_latent, timestep, generator, latents, noise=None):
        """DCI-VTON does not start from pure noise: it noises the latent of an image with the warped garment
        in place (``warp_feat``) to a high timestep, so the garment's layout survives into the result."""
        if latents is not None:
            return latents.to(self.device)
        if noise is None:
            noise = torch.randn(start_latent.shape, generator=generator, device=start_latent.device,
                                dtype=start_latent.dtype)
        elif noise.shape != start_latent.shape:
            raise ValueError(f"noise {tuple(noise.shape)} must match the latents {tuple(start_latent.shape)}")
        noise = noise.to(start_latent.device, start_latent.dtype)
        return self.scheduler.add_noise(start_latent, noise, timestep.repeat(len(start_latent)))

    @property
    def prediction_type(self) -> str:
        return self.model.config.scheduler.get("prediction_type", "epsilon")

    def predicted_original(self, latents, model_output, t, inpaint_latent=None):
        alpha = self.scheduler.alphas_cumprod.to(latents.device)[t]
        return predicted_clean(latents, model_output, alpha, self.prediction_type, inpaint_latent)

    def sampler_output(self, latents, model_output, t, inpaint_latent=None):
        """The UNet's output in the terms the sampler steps with (the same, the clean latent, or the noise)."""
        own, wanted = self.prediction_type, self.scheduler.config.prediction_type
        if own == wanted:
            return model_output
        if wanted == "sample":
            return self.predicted_original(latents, model_output, t, inpaint_latent)
        alpha = self.scheduler.alphas_cumprod.to(latents.device)[t]
        return predicted_noise(latents, model_output, alpha, own, inpaint_latent)

    def decode_latents(self, latents):
        return self.model.decode(latents).clamp(-1, 1)

    @staticmethod
    def paste_back(images, inpaint_mask, source_image):
        """The source's pixels where the mask keeps them (1), the generated ones elsewhere (test.py's x_result)."""
        return images * (1 - inpaint_mask) + source_image * inpaint_mask

    @torch.no_grad()
    def __call__(self, inpaint_image: torch.Tensor, inpaint_mask: torch.Tensor, garment: torch.Tensor,
                 source_image: torch.Tensor | None = None, num_inference_steps: int = 25, guidance_scale: float = 1.0,
                 strength: float = 1.0, generator: torch.Generator | None = None, latents: torch.Tensor | None = None,
                 output_type: str = "np", trajectory_every: int = 0, init_image: torch.Tensor | None = None,
                 noise: torch.Tensor | None = None, inpaint_noise: torch.Tensor | None = None,
                 init_noise: torch.Tensor | None = None):
        """Try a garment on.

        Args:
            inpaint_image (`torch.Tensor`): (B, 3, H, W) in [-1, 1], the person with the region greyed out
                and the warped garment pasted in (:func:`vtonlib.tryon.data.tryon_example`).
            inpaint_mask (`torch.Tensor`): (B, 1, H, W), 1 where the photo is kept, 0 where it is repainted.
            garment (`torch.Tensor`): (B, 3, S, S) CLIP-normalised garment crops.
            source_image (`torch.Tensor`, *optional*): (B, 3, H, W) photo whose kept pixels are pasted back;
                defaults to ``inpaint_image``.
            num_inference_steps (`int`, *optional*, defaults to 25): sampler steps.
            guidance_scale (`float`, *optional*, defaults to 1.0): classifier-free guidance against the learned
                unconditional vector; DCI-VTON uses 1 (no guidance).
            strength (`float`, *optional*, defaults to 1.0): how much of the schedule to run; below 1 the start
                is less noisy and more of the inpaint image survives.
            generator (`torch.Generator`, *optional*): makes the result reproducible.
            latents (`torch.Tensor`, *optional*): start latents, instead of the noised inpaint latent.
            output_type (`str`, *optional*, defaults to "np"): "np" for uint8 (B, H, W, 3), "pt" for tensors,
                "latent" for the final latents (not decoded, nothing pasted back).
            trajectory_every (`int`, *optional*): also return (timestep, x_t, predicted x0) latents every N steps.
            init_image (`torch.Tensor`, *optional*): (B, 3, H, W) image whose latent is noised to start from,
                instead of the inpaint image's: DCI-VTON's ``warp_feat`` (the photo with the warped garment
                pasted into the region), or the try-on result for the hand correction (strength < 1).
            noise (`torch.Tensor`, *optional*): the start noise, (B, C, H/8, W/8), instead of drawing it from
                ``generator``: results then do not depend on what else shares the batch.
            inpaint_noise, init_noise (`torch.Tensor`, *optional*): the standard-normal noise of the posterior
                samples of the inpaint image's and the init image's latents, where the model samples them
                (``sampling["inpaint_latent"] == "sample"``), instead of drawing it from ``generator``.

        Returns:
            The images; with ``trajectory_every``, a tuple (images, trajectory).
        """
        # 1. Check inputs
        strength = float(strength)
        self.check_inputs(inpaint_image, inpaint_mask, garment, source_image, strength, init_image)
        device = self.device
        inpaint_image, inpaint_mask, garment = inpaint_image.to(device), inpaint_mask.to(device), garment.to(device)
        source_image = inpaint_image if source_image is None else source_image.to(device)
        # 2. Encode the garment
        condition = self.encode_garment(garment, guidance_scale)
        # 3. Encode the inpaint image; the mask at latent size
        inpaint_latent, mask = self.prepare_mask_latents(inpaint_image, inpaint_mask, generator, inpaint_noise)
        # 4. Timesteps
        timesteps = self.get_timesteps(num_inference_steps, strength)
        # 5. Start latents: the inpaint latent (or the init image's), noised (in the order DCI-VTON draws)
        start_latent = inpaint_latent if init_image is None else self.encode_image(init_image.to(device), generator,
                                                                                   init_noise)
        latents = self.prepare_latents(start_latent, self.start_timestep(timesteps, strength), generator, latents,
                                       noise)
        trajectory = []
        # 6. Denoising loop
        for i, t in enumerate(timesteps):
            # the UNet sees the noisy latent, the inpaint latent and the mask, stacked: C + C + 1 channels
            model_input = torch.cat([self.scheduler.scale_model_input(latents, t), inpaint_latent, mask], dim=1)
            if guidance_scale > 1:
                model_input = torch.cat([model_input] * 2)
            # predict the noise residual
            noise_pred = self.model.unet(model_input, t, encoder_hidden_states=condition).sample
            if guidance_scale > 1:
                uncond, cond = noise_pred.chunk(2)
                noise_pred = uncond + guidance_scale * (cond - uncond)
            if trajectory_every and (i % trajectory_every == 0 or i == len(timesteps) - 1):
                trajectory.append((int(t), latents.clone(),
                                   self.predicted_original(latents, noise_pred, t, inpaint_latent)))
            # x_t -> x_t-1 (in the sampler's own terms: the same, the clean latent, or the noise it implies)
            output = self.sampler_output(latents, noise_pred, t, inpaint_latent)
            latents = self.scheduler.step(output, t, latents).prev_sample
        if output_type == "latent":  # the sampler's own result, before decoding
            return (latents, trajectory) if trajectory_every else latents
        # 7. Decode
        images = self.decode_latents(latents)
        # 8. Paste back the pixels outside the region: only the repainted region may change
        images = self.paste_back(images, inpaint_mask, source_image)
        # 9. Output
        if output_type == "np":
            images = imaging.to_image(images)
        return (images, trajectory) if trajectory_every else images
