"""Samplers for the try-on pipeline, all on the model's training noise schedule.

``plms`` is what DCI-VTON samples with (PNDM without its Runge-Kutta warm-up is exactly PLMS), ``ddim``
the classic deterministic sampler, ``dpm`` DPM-Solver++ (2M): about as good in a quarter of the steps.
"""

from __future__ import annotations

from diffusers import DDIMScheduler, DPMSolverMultistepScheduler, PNDMScheduler

SCHEDULERS = ("plms", "ddim", "dpm")


def make_scheduler(name: str, schedule: dict, final_alpha: str = "one"):
    """A fresh scheduler by name, on ``schedule`` (num_train_timesteps, beta_start, beta_end, beta_schedule).

    ``final_alpha``: where PLMS and DDIM's last step lands: "one" (a clean latent) or "alpha_bar_0" (the
    first training timestep's alphas_cumprod, as CompVis' samplers, hence DCI-VTON, do)."""
    if final_alpha not in ("one", "alpha_bar_0"):
        raise ValueError(f"final_alpha must be 'one' or 'alpha_bar_0', got {final_alpha!r}")
    to_one = final_alpha == "one"
    common = dict(schedule, steps_offset=1)  # Stable Diffusion's timestep convention (..., 21, 11, 1)
    own = common["prediction_type"] = common.get("prediction_type", "epsilon")
    if own not in PREDICTION_TYPES:
        raise ValueError(f"unknown prediction type {own!r}; one of {', '.join(PREDICTION_TYPES)}")
    if own == "inpaint_residual":  # the samplers step with the clean latent it implies
        common["prediction_type"] = "sample"
    if name == "plms" and common["prediction_type"] == "sample":  # PNDM knows epsilon and v only: the
        common["prediction_type"] = "epsilon"  # pipeline hands it the noise the prediction implies
    # The course ends all three on a clean latent, as DPM-Solver++ does (its last sigma is zero). CompVis'
    # PLMS stops at alpha_bar_0 instead, leaving a 3 % noise residual; ending clean makes the comparison fair.
    if name == "plms":
        return PNDMScheduler(skip_prk_steps=True, set_alpha_to_one=to_one, **common)
    if name == "ddim":
        return DDIMScheduler(clip_sample=False, set_alpha_to_one=to_one, **common)
    if name == "dpm":
        return DPMSolverMultistepScheduler(algorithm_type="dpmsolver++", solver_order=2, **common)
    raise ValueError(f"unknown scheduler {name!r}; choose from {', '.join(SCHEDULERS)}")


# What the UNet's output means. DCI-VTON's is "epsilon" (the noise); "v_prediction" and "sample" (the clean
# latent) are the usual alternatives; "inpaint_residual" is the clean latent *minus the inpaint latent*: the
# warped garment is then the answer before training starts, and the UNet learns only what to change (arms,
# neck, background, seams). Samplers see "sample" or the noise the prediction implies.
PREDICTION_TYPES = ("epsilon", "v_prediction", "sample", "inpaint_residual")


def training_target(clean, noise, alpha_bar, prediction_type: str, inpaint_latent=None):
    """What the UNet learns to predict from ``x_t = sqrt(a) x0 + sqrt(1 - a) noise``: the noise (epsilon,
    DCI-VTON's), ``v = sqrt(a) noise - sqrt(1 - a) x0``, the clean latent ("sample"), or the clean latent
    minus the inpaint latent ("inpaint_residual")."""
    if prediction_type == "v_prediction":
        return alpha_bar.sqrt() * noise - (1 - alpha_bar).sqrt() * clean
    if prediction_type == "sample":
        return clean
    if prediction_type == "inpaint_residual":
        return clean - inpaint_latent
    return noise


def predicted_clean(noisy, model_output, alpha_bar, prediction_type: str, inpaint_latent=None):
    """The clean latent x0 that the UNet's output at ``x_t`` implies."""
    if prediction_type == "v_prediction":
        return alpha_bar.sqrt() * noisy - (1 - alpha_bar).sqrt() * model_output
    if prediction_type == "sample":
        return model_output
    if prediction_type == "inpaint_residual":
        return inpaint_latent + model_output
    return (noisy - (1 - alpha_bar).sqrt() * model_output) / alpha_bar.sqrt()


def predicted_noise(noisy, model_output, alpha_bar, prediction_type: str, inpaint_latent=None):
    """The noise (epsilon) that the UNet's output at ``x_t`` implies: what PLMS steps with."""
    if prediction_type == "epsilon":
        return model_output
    clean = predicted_clean(noisy, model_output, alpha_bar, prediction_type, inpaint_latent)
    return (noisy - alpha_bar.sqrt() * clean) / (1 - alpha_bar).sqrt()
