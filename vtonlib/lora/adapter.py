"""LoRA adapters on the try-on UNet, with peft (notebook 05 explains the three facts that matter).

A LoRA adds to a frozen weight W a low-rank update: ``W' = W + (alpha / r) * B @ A``, A (r x in) and
B (out x r). B starts at zero, so a fresh adapter changes nothing; ``alpha / r`` is computed once, so the
rank can change without retuning the learning rate; merging adds the product into W, unmerging subtracts it.

Files are ``.safetensors`` in the diffusers/peft LoRA layout (``unet.<module>.lora_A.weight`` /
``lora_B.weight``) with the adapter config and the run's provenance in the metadata.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from peft import LoraConfig
from peft.utils import get_peft_model_state_dict, set_peft_model_state_dict
from safetensors import safe_open
from safetensors.torch import save_file

from ..fileio import DataError, atomic_path

ADAPTER = "hands"
TARGETS = {
    "attention": ("to_q", "to_k", "to_v", "to_out.0"),  # the original project's choice (kohya's default)
    "attention+ff": ("to_q", "to_k", "to_v", "to_out.0", "ff.net.0.proj", "ff.net.2"),
    "all": ("to_q", "to_k", "to_v", "to_out.0", "ff.net.0.proj", "ff.net.2", "conv1", "conv2"),
}


@dataclass
class LoraSpec:
    rank: int = 64  # the original project's network_dim
    alpha: float = 32.0  # its network_alpha: the update is scaled by alpha / rank = 0.5
    targets: str = "attention"  # which layers get adapters: a key of TARGETS
    rank_pattern: dict = field(default_factory=dict)  # per-module ranks (kohya files may vary)
    alpha_pattern: dict = field(default_factory=dict)
    modules: list = field(default_factory=list)  # exact module names, overriding targets (imported kohya files)

    def peft_config(self) -> LoraConfig:
        if self.targets not in TARGETS:
            raise ValueError(f"unknown targets {self.targets!r}; choose from {', '.join(TARGETS)}")
        modules = list(self.modules) or list(TARGETS[self.targets])
        return LoraConfig(r=self.rank, lora_alpha=self.alpha, target_modules=modules,
                          init_lora_weights=True, rank_pattern=dict(self.rank_pattern),
                          alpha_pattern=dict(self.alpha_pattern))


def add_lora(unet, spec: LoraSpec, adapter_name: str = ADAPTER):
    """Freeze the UNet and give it a fresh adapter (B = 0: the model's output is unchanged)."""
    unet.requires_grad_(False)
    unet.add_adapter(spec.peft_config(), adapter_name=adapter_name)
    return unet


def lora_parameters(unet) -> list[torch.nn.Parameter]:
    return [p for n, p in unet.named_parameters() if "lora_" in n and p.requires_grad]


def lora_state_dict(unet, adapter_name: str = ADAPTER) -> dict[str, torch.Tensor]:
    """Adapter tensors in the diffusers/peft layout: ``unet.<module>.lora_A.weight``, ``...lora_B.weight``."""
    state = get_peft_model_state_dict(unet, adapter_name=adapter_name)
    return {f"unet.{k}": v.detach().cpu().contiguous().clone() for k, v in state.items()}


def save_lora(path: str | os.PathLike, unet, spec: LoraSpec, provenance: dict | None = None,
              adapter_name: str = ADAPTER) -> None:
    """Write the adapter with its config and where it came from (model hash, data, parameters)."""
    meta = {"format": "peft-lora", "lora_spec": json.dumps(asdict(spec)),
            "target_modules": json.dumps(list(TARGETS[spec.targets])),
            "provenance": json.dumps(provenance or {})}
    with atomic_path(path) as tmp:
        save_file(lora_state_dict(unet, adapter_name), str(tmp), metadata=meta)


def read_lora(path: str | os.PathLike, tensors: bool = True) -> tuple[dict[str, torch.Tensor], LoraSpec, dict]:
    """(tensors, spec, provenance) of a file written by :func:`save_lora`; ``tensors=False`` reads the
    metadata only (the tensors dict is then empty)."""
    path = Path(path)
    if not path.exists():
        raise DataError(path, "LoRA file not found")
    try:
        with safe_open(str(path), framework="pt") as f:
            weights = {k: f.get_tensor(k) for k in f.keys()} if tensors else {}
            meta = f.metadata() or {}
    except Exception as e:
        raise DataError(path, f"not a readable .safetensors file ({e})") from None
    if "lora_spec" not in meta:
        raise DataError(path, "no LoRA config in its metadata: a kohya file? import it with "
                              "`vtonlib.lora.kohya.from_kohya` (or `--kohya`)")
    return weights, LoraSpec(**json.loads(meta["lora_spec"])), json.loads(meta.get("provenance", "{}"))


def load_lora(unet, path: str | os.PathLike, scale: float = 1.0, adapter_name: str = ADAPTER) -> dict:
    """Attach a saved adapter to ``unet`` at ``scale``; returns its provenance."""
    tensors, spec, provenance = read_lora(path)
    attach(unet, {k.removeprefix("unet."): v for k, v in tensors.items()}, spec, path, adapter_name)
    set_lora_scale(unet, scale, adapter_name)
    unet._hand_lora_path = str(path)  # what it carries: the correction reads the adapter's conventions from it
    return provenance


def attach(unet, state: dict, spec: LoraSpec, source="adapter", adapter_name: str = ADAPTER) -> None:
    if adapter_name in getattr(unet, "peft_config", {}):
        unet.delete_adapters(adapter_name)
    add_lora(unet, spec, adapter_name)
    result = set_peft_model_state_dict(unet, state, adapter_name=adapter_name)
    unexpected = getattr(result, "unexpected_keys", []) or []
    missing = [k for k in (getattr(result, "missing_keys", []) or []) if "lora_" in k and adapter_name in k]
    if unexpected or missing:
        raise DataError(source, f"adapter does not fit this UNet: unexpected {unexpected[:3]}, missing {missing[:3]}")


def set_lora_scale(unet, scale: float, adapter_name: str = ADAPTER) -> None:
    """``lora_scale``: 0 turns the adapter off exactly, 1 applies it as trained."""
    unet.set_adapters([adapter_name], weights=[float(scale)])


def count_lora_parameters(unet) -> int:
    return sum(p.numel() for n, p in unet.named_parameters() if "lora_" in n)


def merge_lora(unet, scale: float | None = None) -> int:
    """Add ``scale * (alpha / r) * B @ A`` into every adapted weight: the same outputs without the adapter's
    extra matmuls (a batch at one ``lora_scale``); undo with :func:`unmerge_lora`."""
    from peft.tuners.tuners_utils import BaseTunerLayer

    if scale is not None:
        set_lora_scale(unet, scale)
    layers = [m for m in unet.modules() if isinstance(m, BaseTunerLayer) and not m.merged]
    for layer in layers:
        layer.merge()
    unet._merged_scale = scale if scale is not None else getattr(unet, "_merged_scale", 1.0)
    return len(layers)


def is_merged(unet) -> bool:
    from peft.tuners.tuners_utils import BaseTunerLayer

    return any(isinstance(m, BaseTunerLayer) and m.merged for m in unet.modules())


def unmerge_lora(unet) -> int:
    from peft.tuners.tuners_utils import BaseTunerLayer

    layers = [m for m in unet.modules() if isinstance(m, BaseTunerLayer) and m.merged]
    for layer in layers:
        layer.unmerge()
    return len(layers)


def pattern_value(pattern: dict, module: str, default):
    """A per-module rank or alpha as peft reads its patterns: the key matches the module name's end."""
    for key, value in pattern.items():
        if re.match(rf"(.*\.)?({key})$", module):
            return value
    return default


@torch.no_grad()
def fuse_lora(unet, path: str | os.PathLike, scale: float = 1.0) -> int:
    """Add a saved adapter's update, ``scale * (alpha / r) * B @ A``, straight into the UNet's weights.

    Unlike :func:`load_lora` + :func:`merge_lora` no adapter layers are built (peft's injection costs more
    than the whole update on a small model) and nothing of the adapter runs per step: the UNet is plain
    again, at one ``lora_scale``. It cannot be undone: load the model again for another scale. Returns the
    number of weights changed.
    """
    tensors, spec, _ = read_lora(path)
    modules = dict(unet.named_modules())
    fused = 0
    for key, down in tensors.items():
        if not key.endswith(".lora_A.weight"):
            continue
        name = key.removeprefix("unet.").removesuffix(".lora_A.weight")
        up, layer = tensors.get(f"unet.{name}.lora_B.weight"), modules.get(name)
        if up is None or layer is None or not hasattr(layer, "weight"):
            raise DataError(path, f"adapter does not fit this UNet: {name} "
                                  f"{'has no lora_B' if up is None else 'is not a weighted layer of it'}")
        # B (out, r[, 1, 1]) @ A (r, in[, kh, kw]): the same product for linear and convolution weights
        delta = torch.einsum("or,r...->o...", up.flatten(1).float(), down.float())
        if delta.shape != layer.weight.shape:
            raise DataError(path, f"adapter does not fit this UNet: {name} update {tuple(delta.shape)}, "
                                  f"weight {tuple(layer.weight.shape)}")
        alpha = pattern_value(spec.alpha_pattern, name, spec.alpha)
        layer.weight += (scale * alpha / down.shape[0] * delta).to(layer.weight)
        fused += 1
    unet._fused_lora = (str(path), float(scale))
    return fused
