"""Checkpoints: ``.safetensors`` for everything this project writes; legacy ``.pth``/``.ckpt`` read safely.

A model file holds its weights and, in the metadata, the config that rebuilds it. A training-state file
beside it (``<name>.train.safetensors``) holds what resumes training exactly: optimizer moments, the step,
and the random generators' states.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from .fileio import DataError, atomic_path


def save_model(path: str | os.PathLike, state_dict: dict[str, torch.Tensor], config: dict,
               **metadata) -> None:
    """Write weights (contiguous CPU copies) with ``config`` and ``metadata`` as JSON strings."""
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in state_dict.items()}
    meta = {"config": json.dumps(config), **{k: json.dumps(v) for k, v in metadata.items()}}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=meta)


def load_model(path: str | os.PathLike, device: str = "cpu") -> tuple[dict[str, torch.Tensor], dict]:
    """(state dict, metadata with JSON values decoded) of a file written by :func:`save_model`."""
    path = Path(path)
    if not path.exists():
        raise DataError(path, "checkpoint not found")
    try:
        with safe_open(str(path), framework="pt", device=device) as f:
            tensors = {k: f.get_tensor(k) for k in f.keys()}
            raw = f.metadata() or {}
    except Exception as e:  # safetensors raises several kinds on a damaged file
        raise DataError(path, f"not a readable .safetensors file ({e})") from None
    meta = {}
    for key, value in raw.items():
        try:
            meta[key] = json.loads(value)
        except json.JSONDecodeError:  # a .safetensors written elsewhere (a LoRA, say), not by this course
            raise DataError(path, f"not a model file written by this course: its metadata {key!r} is not JSON "
                                  f"(a LoRA adapter or another program's file?)") from None
    return tensors, meta


def training_state_path(model_path: str | os.PathLike) -> Path:
    p = Path(model_path)
    return p.with_name(p.stem + ".train.safetensors")


def save_training_state(model_path: str | os.PathLike, optimizer: torch.optim.Optimizer, step: int,
                        generator: torch.Generator | None = None, **extra) -> None:
    """Optimizer moments, step and RNG states, beside the model file."""
    state = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict] = {}
    for index, entry in state["state"].items():
        for name, value in entry.items():
            if torch.is_tensor(value):
                tensors[f"optimizer.{index}.{name}"] = value.detach().cpu().contiguous().clone()
            else:
                scalars.setdefault(str(index), {})[name] = value
    tensors["rng.torch"] = torch.get_rng_state()
    if generator is not None:
        tensors["rng.generator"] = generator.get_state()
    meta = {"step": json.dumps(step), "param_groups": json.dumps(state["param_groups"]),
            "scalars": json.dumps(scalars), "extra": json.dumps(extra)}
    with atomic_path(training_state_path(model_path)) as tmp:
        save_file(tensors, str(tmp), metadata=meta)


def load_training_state(model_path: str | os.PathLike, optimizer: torch.optim.Optimizer,
                        generator: torch.Generator | None = None) -> tuple[int, dict]:
    """Restore what :func:`save_training_state` wrote; return (step, extra)."""
    path = training_state_path(model_path)
    with safe_open(str(path), framework="pt", device="cpu") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys()}
        meta = f.metadata()
    state: dict[int, dict] = {}
    for key, value in tensors.items():
        if key.startswith("optimizer."):
            _, index, name = key.split(".", 2)
            state.setdefault(int(index), {})[name] = value
    for index, entries in json.loads(meta["scalars"]).items():
        state.setdefault(int(index), {}).update(entries)
    optimizer.load_state_dict({"state": state, "param_groups": json.loads(meta["param_groups"])})
    torch.set_rng_state(tensors["rng.torch"])
    if generator is not None and "rng.generator" in tensors:
        generator.set_state(tensors["rng.generator"])
    return json.loads(meta["step"]), json.loads(meta["extra"])


def read_legacy(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """A released ``.pth``/``.ckpt`` state dict, read with ``weights_only=True`` (no code runs).

    Lightning checkpoints keep the weights under ``state_dict``; that level is unwrapped.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(path, "checkpoint not found")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        first_line = str(e).splitlines()[0] if str(e) else ""
        raise DataError(path, "could not be read with torch.load(weights_only=True): it may hold pickled code, "
                              f"which this course refuses to run ({type(e).__name__}: {first_line})") from None
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(torch.is_tensor(v) for v in obj.values()):
        raise DataError(path, "expected a state dict (names -> tensors)")
    return obj
