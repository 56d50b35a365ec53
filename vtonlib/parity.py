"""Golden tests against the ORIGINAL DCI-VTON and PF-AFN code (``../shared/parity``).

A golden set holds the inputs and outputs of the original code run with seeded random weights, and a
manifest from which ``tools/make_checkpoint.py`` (beside the sets) rebuilds the original-format checkpoint.
:func:`run_golden_set` converts that checkpoint with this course's own converter, loads it with the course's
own classes, feeds the stored inputs and returns each stored output's error:

* float outputs: max |ours - original| divided by the original output's std (scale-free);
* int outputs (timesteps): the number of entries that differ (or the length difference).

An output passes within :func:`tolerance` of its kind: one network call 1e-4 of its std, a whole sampler
run 1e-3, timesteps and label maps exact.
"""

from __future__ import annotations

import importlib.util
import json
import os
import tempfile
from pathlib import Path

import torch

NETWORK, SAMPLER, EXACT = 1e-4, 1e-3, 0.0
SAMPLER_OUTPUTS = ("plms_latent", "ddim_latent", "plms_cfg_latent", "plms_result")


# the data set's masks and label maps (compared exactly) and its CLIP crops (float16-stored, values to 2.1)
DATA_EXACT = ("inpaint_mask", "cloth_mask", "parse_agnostic", "parse_onehot", "parse", "pcm", "eval.cm_paired",
              "eval.pre_clothes_mask_down", "eval.input_parse_agnostic_down", "warped_cloth_mask")
DATA_ABS, DATA_REF = 1e-3, 2e-3


def tolerance(name: str) -> float:
    """The allowed error of an output, by what produced it."""
    if name.count("/") == 2:  # the data set's "set/mode/key": max abs error on [-1, 1]
        key = name.rsplit("/", 1)[1]
        return EXACT if key in DATA_EXACT else DATA_REF if key.startswith("ref_imgs") else DATA_ABS
    if name.endswith("_timesteps"):
        return EXACT
    if name in SAMPLER_OUTPUTS:
        return SAMPLER
    return NETWORK


def error(ours: torch.Tensor, golden: torch.Tensor) -> float:
    if tuple(ours.shape) != tuple(golden.shape):
        return float("inf")
    if not golden.is_floating_point():
        return float((ours.to(golden.dtype) != golden).sum())
    scale = float(golden.double().std()) if golden.numel() > 1 else 1.0
    return float((ours.detach().double() - golden.double()).abs().max()) / (scale or 1.0)


def golden_sets(root: str | os.PathLike) -> list[Path]:
    """The set folders under ``root`` (each with a manifest.json)."""
    return sorted(p.parent for p in Path(root).glob("*/manifest.json"))


def _tool(golden_dir: Path, name: str):
    """A module of the sets' own ``tools/`` folder (no code of the original runs there: ``make_checkpoint``
    draws seeded tensors, ``golden_data`` decodes stored ones)."""
    path = Path(golden_dir).resolve().parent / "tools" / f"{name}.py"
    if not path.exists():
        raise FileNotFoundError(f"{path}: the golden sets' tool is missing")
    spec = importlib.util.spec_from_file_location(f"parity_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _tools(golden_dir: Path):
    """The set's ``tools/make_checkpoint.py``."""
    return _tool(golden_dir, "make_checkpoint")


def _read(golden_dir: Path, name: str) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return {k: (v.float() if v.dtype == torch.float16 else v) for k, v in load_file(str(golden_dir / name)).items()}


def run_golden_set(golden_dir: str | os.PathLike, work: str | os.PathLike | None = None) -> dict[str, float]:
    """{output name: error} for one set (see the module's docstring)."""
    golden_dir = Path(golden_dir)
    manifest = json.loads((golden_dir / "manifest.json").read_text())
    if manifest.get("model") == "dci-vton":
        run = _run_dci
    elif manifest.get("model") == "pf-afn":
        run = _run_afwm
    elif (golden_dir / "float16.safetensors").exists() and "sets" in manifest:
        run = _run_data
    else:
        raise ValueError(f"{golden_dir}: unknown golden set (manifest model {manifest.get('model')!r})")
    if work is not None:
        return run(golden_dir, manifest, Path(work))
    with tempfile.TemporaryDirectory(prefix="parity-") as tmp:
        return run(golden_dir, manifest, Path(tmp))


def passed(errors: dict[str, float]) -> bool:
    return all(e <= tolerance(name) for name, e in errors.items())


# --- DCI-VTON: converter, networks, samplers -------------------------------------------------------------
def _run_dci(golden_dir: Path, manifest: dict, work: Path) -> dict[str, float]:
    from .tryon.convert import convert_checkpoint
    from .tryon.ldm_config import config_from_ldm
    from .tryon.model import TryOnModel
    from .tryon.pipeline import TryOnPipeline
    from .tryon.schedulers import make_scheduler

    _tools(golden_dir).make_checkpoint(golden_dir, work / "model.ckpt")
    model_config = manifest["model_config"]
    config = config_from_ldm({"model": model_config, "clip_vision_config": model_config.get("clip_vision_config")},
                             name=f"parity-{golden_dir.name}")
    convert_checkpoint(work / "model.ckpt", work / "model", config)
    (work / "model.ckpt").unlink()
    model = TryOnModel.load(work / "model")
    x, gold = _read(golden_dir, "inputs.safetensors"), _read(golden_dir, "outputs.safetensors")
    pipe = TryOnPipeline(model, make_scheduler("plms", model.config.scheduler, model.config.sampling["final_alpha"]))
    ours: dict[str, torch.Tensor] = {}
    with torch.no_grad():
        encoder = model.image_encoder
        ours["clip_pooled"] = encoder.model(pixel_values=x["ref"]).pooler_output
        ours["mapper_out"] = encoder.final_layer_norm(encoder.mapper(ours["clip_pooled"][:, None]))
        ours["c"] = model.embed_garment(x["ref"])
        ours["uc"] = model.unconditional(len(x["ref"]))
        vae = model.autoencoder.vae
        for key, image in (("inpaint", x["inpaint_image"]), ("feat", x["warp_feat"])):
            posterior = vae.encode(image).latent_dist
            ours[f"{key}_mean"], ours[f"{key}_logvar"] = posterior.mean, posterior.logvar
        ours["z_inpaint"] = pipe.encode_image(x["inpaint_image"], noise=x["vae_noise_inpaint"])
        ours["z_feat"] = pipe.encode_image(x["warp_feat"], noise=x["vae_noise_feat"])
        ours["decoded"] = model.decode(ours["z_inpaint"])
        ours["mask_latent"] = pipe.resize_mask(x["inpaint_mask"], ours["z_inpaint"].shape[-2:])
        t_max = torch.full((len(x["ref"]),), model.config.scheduler["num_train_timesteps"] - 1)
        ours["x_T"] = pipe.scheduler.add_noise(ours["z_feat"], x["start_noise"], t_max)
        ours["eps_xt"] = pipe.scheduler.add_noise(ours["z_feat"], x["eps_noise"], x["eps_t"])
        for key, condition in (("eps", ours["c"]), ("eps_uncond", ours["uc"])):
            model_input = torch.cat([ours["eps_xt"], ours["z_inpaint"], ours["mask_latent"]], 1)
            ours[key] = model.unet(model_input, x["eps_t"], encoder_hidden_states=condition).sample
    steps = len(gold["ddim_timesteps"])  # DDIM calls the UNet once per step
    inputs = dict(inpaint_image=x["inpaint_image"], inpaint_mask=x["inpaint_mask"], garment=x["ref"],
                  source_image=x.get("gt_image"), num_inference_steps=steps, init_image=x["warp_feat"],
                  noise=x["start_noise"], inpaint_noise=x["vae_noise_inpaint"], init_noise=x["vae_noise_feat"])
    for name, sampler, scale in (("plms", "plms", 1.0), ("ddim", "ddim", 1.0), ("plms_cfg", "plms", 2.0)):
        pipe.set_scheduler(sampler)
        with _recorded_timesteps(model.unet) as timesteps:
            ours[f"{name}_latent"] = pipe(**inputs, guidance_scale=scale, output_type="latent")
        ours[f"{name}_timesteps"] = torch.tensor(timesteps)
        if name == "plms" and "gt_image" in x:  # test.py's x_result, in [0, 1]
            decoded = pipe.decode_latents(ours["plms_latent"])
            ours["plms_result"] = (pipe.paste_back(decoded, x["inpaint_mask"], x["gt_image"]) + 1) / 2
    return {name: error(ours[name], gold[name]) for name in gold if name in ours} | {
        name: float("nan") for name in gold if name not in ours and name != "mask_latent_antialias"}


class _recorded_timesteps:
    """Records the timestep of every UNet call (as the golden sets record apply_model's)."""

    def __init__(self, unet):
        self.unet, self.timesteps = unet, []

    def __enter__(self):
        def hook(module, args, kwargs):
            t = args[1] if len(args) > 1 else kwargs["timestep"]
            self.timesteps.append(int(t.flatten()[0]) if torch.is_tensor(t) else int(t))

        self.handle = self.unet.register_forward_pre_hook(hook, with_kwargs=True)
        return self.timesteps

    def __exit__(self, *exc):
        self.handle.remove()


# --- PF-AFN: the warping module, both grid_sample conventions --------------------------------------------
def _run_afwm(golden_dir: Path, manifest: dict, work: Path) -> dict[str, float]:
    from .warp.apply import load_warp_model

    ckpt = work / "warp_viton.pth"
    _tools(golden_dir).make_checkpoint(golden_dir, ckpt)
    x, gold = _read(golden_dir, "inputs.safetensors"), _read(golden_dir, "outputs.safetensors")
    errors = {}
    for align_corners, suffix in ((True, ""), (False, "_ac_false")):
        model = load_warp_model(ckpt, align_corners=align_corners)
        with torch.no_grad():
            out = model(x["person"], x["cloth"], x["cloth_mask"])
        ours = {"warped_cloth": out.warped_cloth, "flow": out.flow, "warped_mask": out.warped_mask}
        for i in range(len(out.levels_flow)):
            ours |= {f"level_flow.{i}": out.levels_flow[i], f"level_cloth.{i}": out.levels_cloth[i],
                     f"level_mask.{i}": out.levels_mask[i]}
        ours |= {f"residual.{i}": r for i, r in enumerate(out.residuals)}
        for name, value in ours.items():
            if name + suffix in gold:
                errors[name + suffix] = error(value, gold[name + suffix])
    return errors


# --- DCI-VTON's datasets: the inputs formed from one real VITON-HD sample --------------------------------
def _run_data(golden_dir: Path, manifest: dict, work: Path) -> dict[str, float]:
    """Errors are max abs differences here (the tensors are images in [-1, 1], masks and label maps)."""
    import shutil

    from .data import dci
    from .data.reader import VitonDataset

    gold = _tool(golden_dir, "golden_data").load(golden_dir)
    sample = golden_dir.resolve().parent.parent / manifest["sample"].removeprefix("shared/")
    if not sample.is_dir():
        raise FileNotFoundError(f"{sample}: the data set's VITON-HD sample is missing")
    root = work / "root"
    shutil.copytree(sample, root)
    shutil.copytree(golden_dir / "standin", root, dirs_exist_ok=True)
    ds = VitonDataset(root, "test")
    ours: dict[str, torch.Tensor] = {}
    for set_name, entry in manifest["sets"].items():
        for mode, m in entry["modes"].items():
            person, garment, unpaired = m["pair"]["person"], m["pair"]["garment"], mode == "unpaired"
            name = f"{set_name}/{mode}/"
            if set_name.startswith("dci_"):
                version = set_name.removeprefix("dci_")
                factor = m.get("random", {}).get("main", {}).get("factor", 0.15)
                item = dci.diffusion_item(ds, person, garment, unpaired, version, factor=factor)
                item["ref_imgs.tv029"] = dci.diffusion_item(ds, person, garment, unpaired, version, factor=factor,
                                                            antialias_ref=True)["ref_imgs"]
                seed23 = m.get("random", {}).get("seed23", {}).get("factor")
                if seed23 is not None:
                    item["ref_imgs.seed23"] = dci.diffusion_item(ds, person, garment, unpaired, version,
                                                                 factor=seed23)["ref_imgs"]
            elif set_name == "warp_test":
                item = dci.warp_item(ds, person, garment, short=384)
                item |= {f"eval.{k}": v for k, v in dci.afwm_inputs(item).items()}
            elif set_name.startswith("warp_train"):
                image_size = int(set_name.removeprefix("warp_train"))  # the warp datasets' fine_width rule
                item = dci.warp_item(ds, person, garment, short=int(image_size / 256 * 192), warped=True)
            else:
                continue
            ours |= {name + k: v for k, v in item.items()}
    errors = {}
    for name, golden in gold.items():
        mine = ours.get(name)
        if mine is None:
            errors[name] = float("nan")
        elif tuple(mine.shape) != tuple(golden.shape):
            errors[name] = float("inf")
        else:
            errors[name] = float((mine.float() - golden.float()).abs().max())
    return errors
