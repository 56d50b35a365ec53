"""Samplers for the try-on pipeline, all on the model's training noise schedule.

``plms`` is what DCI-VTON samples with (PNDM without its Runge-Kutta warm-up is exactly PLMS), ``ddim``
the classic deterministic sampler, ``dpm`` DPM-Solver++ (2M): about as good in a quarter of the steps.
"""

from __future__ import annotations

from diffusers import DDIMScheduler, DPMSolverMultistepScheduler, PNDMScheduler

SCHEDULERS = ("plms", "ddim", "dpm")


def make_scheduler(name: str, schedule: dict):
    """A fresh scheduler by name, on ``schedule`` (num_train_timesteps, beta_start, beta_end, beta_schedule)."""
    common = dict(schedule, steps_offset=1)  # Stable Diffusion's timestep convention (..., 21, 11, 1)
    # All three end on a clean latent, as DPM-Solver++ does (its last sigma is zero). CompVis' PLMS stops
    # at alpha_bar_0 instead, leaving a 3 % noise residual; ending clean makes the comparison fair.
    if name == "plms":
        return PNDMScheduler(skip_prk_steps=True, set_alpha_to_one=True, **common)
    if name == "ddim":
        return DDIMScheduler(clip_sample=False, set_alpha_to_one=True, **common)
    if name == "dpm":
        return DPMSolverMultistepScheduler(algorithm_type="dpmsolver++", solver_order=2, **common)
    raise ValueError(f"unknown scheduler {name!r}; choose from {', '.join(SCHEDULERS)}")


def training_target(clean, noise, alpha_bar, prediction_type: str):
    """What the UNet learns to predict from ``x_t = sqrt(a) x0 + sqrt(1 - a) noise``: the noise (epsilon,
    DCI-VTON's) or ``v = sqrt(a) noise - sqrt(1 - a) x0``."""
    if prediction_type == "v_prediction":
        return alpha_bar.sqrt() * noise - (1 - alpha_bar).sqrt() * clean
    return noise


def predicted_clean(noisy, model_output, alpha_bar, prediction_type: str):
    """The clean latent x0 that the UNet's output at ``x_t`` implies."""
    if prediction_type == "v_prediction":
        return alpha_bar.sqrt() * noisy - (1 - alpha_bar).sqrt() * model_output
    return (noisy - (1 - alpha_bar).sqrt() * model_output) / alpha_bar.sqrt()
