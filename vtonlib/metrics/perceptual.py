"""LPIPS (the ``lpips`` package, AlexNet trunk, as HR-VITON's evaluation), without downloads.

The package ships its learned linear layers; the AlexNet trunk is torchvision's ImageNet weights, which
it would download. Here they are read from a local file: the course's installed
``lpips/alexnet_features.safetensors`` (``vton weights install``), or torchvision's own
``alexnet-owt-7be5be79.pth`` in the torch hub cache (``~/.cache/torch/hub/checkpoints/``), or a path
given. Both hold the trunk as ``features.<index>.<weight|bias>``. Without either the metric says so.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from ..fileio import DataError, weights_path

ALEXNET_FILE = "alexnet-owt-7be5be79.pth"


def alexnet_trunk_file(given: str | os.PathLike | None = None) -> Path:
    """The trunk weights to use: ``given``, else the installed course file, else torchvision's in the hub
    cache (which may not exist: the caller reports that)."""
    if given:
        return Path(given)
    from ..weights import find_weights

    return find_weights("lpips-alexnet") or weights_path(None, ALEXNET_FILE)


def read_trunk(path: Path) -> dict[str, torch.Tensor]:
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except Exception as e:
            raise DataError(path, f"not a readable .safetensors file ({e})") from None
    from ..checkpoint import read_legacy

    return read_legacy(path)


class Lpips:
    """``Lpips(path).distance(a, b)`` for uint8 RGB images; ``available`` False (with ``reason``) without
    the trunk weights."""

    def __init__(self, weights: str | os.PathLike | None = None):
        path = alexnet_trunk_file(weights)
        self.model, self.reason, self.path = None, "", path
        if not path.exists():
            self.reason = (f"not computed: AlexNet weights not found at {path}; run `vton weights install` (the "
                           f"course's lpips/alexnet_features.safetensors) or place torchvision's {ALEXNET_FILE} there")
            return
        import lpips

        model = lpips.LPIPS(net="alex", pnet_rand=True, verbose=False)  # trunk left random: filled below
        trunk = read_trunk(path)
        state = model.net.state_dict()
        for key in state:  # net.slice<k>.<index>.<param> <- torchvision features.<index>.<param>
            _, index, param = key.split(".")
            name = f"features.{index}.{param}"
            if name not in trunk:
                raise DataError(path, f"not an AlexNet trunk: no {name}")
            state[key] = trunk[name].float()
        model.net.load_state_dict(state)
        self.model = model.eval()

    @property
    def available(self) -> bool:
        return self.model is not None

    @torch.no_grad()
    def distance(self, a: np.ndarray, b: np.ndarray) -> float:
        if self.model is None:
            raise RuntimeError(self.reason)
        if a.shape != b.shape:
            raise ValueError(f"images differ in size: {a.shape} and {b.shape}")
        to = lambda x: torch.from_numpy(np.ascontiguousarray(x)).permute(2, 0, 1)[None].float() / 127.5 - 1  # noqa: E731
        return float(self.model(to(a), to(b)).item())
