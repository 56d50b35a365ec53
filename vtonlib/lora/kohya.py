"""kohya sd-scripts LoRA files <-> this course's adapters.

kohya names a module by its diffusers path with dots turned to underscores (for SD 1.x it trains on the
diffusers UNet): ``lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q``, with
``.lora_down.weight`` (peft's lora_A), ``.lora_up.weight`` (lora_B) and ``.alpha`` (a per-module scalar).
Underscores are ambiguous, so imports resolve names against the target UNet's own modules; anything that
does not resolve, or whose shape does not fit, is reported by name. The try-on UNet (full preset) has
Stable Diffusion 1.5's attention layers, so the original project's kohya LoRA loads into it.
"""

from __future__ import annotations

import os
from dataclasses import asdict

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from ..fileio import DataError, atomic_path
from .adapter import ADAPTER, TARGETS, LoraSpec, attach, read_lora, save_lora, set_lora_scale


def kohya_name(module: str) -> str:
    return "lora_unet_" + module.replace(".", "_")


def to_kohya(tensors: dict[str, torch.Tensor], spec: LoraSpec) -> dict[str, torch.Tensor]:
    """Course-format adapter tensors (``unet.<module>.lora_A.weight``) -> kohya keys."""
    out = {}
    for key, value in tensors.items():
        module, kind = key.removeprefix("unet.").rsplit(".lora_", 1)
        name = kohya_name(module)
        out[f"{name}.{'lora_down' if kind.startswith('A') else 'lora_up'}.weight"] = value
        out[f"{name}.alpha"] = torch.tensor(float(spec.alpha_pattern.get(module, spec.alpha)))
    return out


def export_kohya(lora_path: str | os.PathLike, out: str | os.PathLike) -> int:
    """Write a course ``.safetensors`` adapter as a kohya file; returns the number of modules."""
    tensors, spec, provenance = read_lora(lora_path)
    kohya = to_kohya(tensors, spec)
    with atomic_path(out) as tmp:
        save_file(kohya, str(tmp), metadata={"ss_network_dim": str(spec.rank), "ss_network_alpha": str(spec.alpha),
                                             "ss_network_module": "networks.lora",
                                             "vtonlib_provenance": str(provenance)})
    return sum(k.endswith(".alpha") for k in kohya)


def read_kohya(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    try:
        with safe_open(str(path), framework="pt") as f:
            return {k: f.get_tensor(k) for k in f.keys()}
    except FileNotFoundError:
        raise DataError(path, "file not found") from None
    except Exception as e:
        raise DataError(path, f"not a readable .safetensors file ({e})") from None


def from_kohya(kohya: dict[str, torch.Tensor], unet, source="kohya file") -> tuple[dict, LoraSpec, dict]:
    """kohya tensors -> (peft state for ``unet``, spec, report). Unknown or mismatched keys are listed in
    the report by name and left out; text-encoder keys (``lora_te_*``) have no place in a try-on model."""
    modules = dict(unet.named_modules())
    by_kohya = {kohya_name(name): name for name in modules}
    grouped: dict[str, dict[str, torch.Tensor]] = {}
    report = {"loaded": [], "unknown": [], "mismatched": [], "text_encoder": []}
    for key, value in kohya.items():
        stem, _, kind = key.partition(".")
        if stem.startswith("lora_te"):
            report["text_encoder"].append(key)
            continue
        if stem not in by_kohya:
            report["unknown"].append(key)
            continue
        grouped.setdefault(stem, {})[kind] = value
    state, ranks, alphas = {}, {}, {}
    for stem, parts in grouped.items():
        module_name = by_kohya[stem]
        module = modules[module_name]
        down, up = parts.get("lora_down.weight"), parts.get("lora_up.weight")
        if down is None or up is None:
            report["mismatched"].append(f"{stem}: lora_down or lora_up missing")
            continue
        weight = getattr(module, "weight", None)
        if weight is None:
            report["mismatched"].append(f"{stem}: {module_name} has no weight to adapt")
            continue
        expected_in, expected_out = weight.shape[1], weight.shape[0]
        if down.shape[1] != expected_in or up.shape[0] != expected_out or down.shape[0] != up.shape[1]:
            report["mismatched"].append(f"{stem}: lora shapes {tuple(down.shape)}/{tuple(up.shape)} do not fit "
                                        f"{module_name} ({expected_out} x {expected_in})")
            continue
        state[f"{module_name}.lora_A.weight"] = down
        state[f"{module_name}.lora_B.weight"] = up
        ranks[module_name] = int(down.shape[0])
        alphas[module_name] = float(parts["alpha"]) if "alpha" in parts else float(down.shape[0])
        report["loaded"].append(module_name)
    if not state:
        raise DataError(source, f"no LoRA module of this file fits the UNet (unknown: {report['unknown'][:3]}, "
                                f"mismatched: {report['mismatched'][:3]})")
    rank = max(set(ranks.values()), key=list(ranks.values()).count)
    alpha = max(set(alphas.values()), key=list(alphas.values()).count)
    leaf = sorted({name.split(".")[-1] if not name.endswith("to_out.0") else "to_out.0" for name in ranks})
    targets = next((t for t, mods in TARGETS.items() if set(leaf) <= set(mods)), "all")
    spec = LoraSpec(rank=rank, alpha=alpha, targets=targets, modules=sorted(ranks),
                    rank_pattern={k: v for k, v in ranks.items() if v != rank},
                    alpha_pattern={k: v for k, v in alphas.items() if v != alpha})
    return state, spec, report


def load_kohya(unet, path: str | os.PathLike, scale: float = 1.0, adapter_name: str = ADAPTER) -> dict:
    """Attach a kohya LoRA file to ``unet``; returns the report (loaded, unknown, mismatched modules)."""
    state, spec, report = from_kohya(read_kohya(path), unet, str(path))
    attach(unet, state, spec, path, adapter_name)
    set_lora_scale(unet, scale, adapter_name)
    report["spec"] = asdict(spec)
    return report


def import_kohya(kohya_path: str | os.PathLike, model_dir: str | os.PathLike, out: str | os.PathLike) -> dict:
    """Convert a kohya file into this course's adapter format for the try-on model in ``model_dir``."""
    from ..tryon.model import TryOnModel

    model = TryOnModel.load(model_dir)
    report = load_kohya(model.unet, kohya_path)
    save_lora(out, model.unet, LoraSpec(**report["spec"]),
              {"imported_from": str(kohya_path), "base_model": str(model_dir),
               "unknown": report["unknown"], "mismatched": report["mismatched"]})
    return report


__all__ = ["export_kohya", "from_kohya", "import_kohya", "kohya_name", "load_kohya", "read_kohya", "to_kohya"]
