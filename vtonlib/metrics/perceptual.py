"""LPIPS (the ``lpips`` package, AlexNet trunk, as HR-VITON's evaluation), without downloads.

The package ships its learned linear layers; the AlexNet trunk is torchvision's ImageNet weights, which
it would download. Here they are read from a local file: ``alexnet-owt-7be5be79.pth`` in the torch hub
cache (``~/.cache/torch/hub/checkpoints/``) or a path given. Without it the metric says so.
"""

from __future__ import annotations

import os

import numpy as np
import torch

from ..fileio import weights_path

ALEXNET_FILE = "alexnet-owt-7be5be79.pth"


class Lpips:
    """``Lpips(path).distance(a, b)`` for uint8 RGB images; ``available`` False (with ``reason``) without
    the trunk weights."""

    def __init__(self, weights: str | os.PathLike | None = None):
        path = weights_path(weights, ALEXNET_FILE)
        self.model, self.reason = None, ""
        if not path.exists():
            self.reason = f"not computed: weights file {ALEXNET_FILE} not found, place it at {path}"
            return
        import lpips

        model = lpips.LPIPS(net="alex", pnet_rand=True, verbose=False)  # trunk left random: filled below
        trunk = torch.load(path, map_location="cpu", weights_only=True)
        state = model.net.state_dict()
        for key in state:  # net.slice<k>.<index>.<param> <- torchvision features.<index>.<param>
            _, index, param = key.split(".")
            state[key] = trunk[f"features.{index}.{param}"]
        model.net.load_state_dict(state)
        self.model = model.eval()

    @property
    def available(self) -> bool:
        return self.model is not None

    @torch.no_grad()
    def distance(self, a: np.ndarray, b: np.ndarray) -> float:
        if self.model is None:
            raise RuntimeError(self.reason)
        to = lambda x: torch.from_numpy(np.ascontiguousarray(x)).permute(2, 0, 1)[None].float() / 127.5 - 1  # noqa: E731
        return float(self.model(to(a), to(b)).item())
