"""FID and KID (torch-fidelity's InceptionV3 features, as DCI-VTON reports them), and their maths on
features, testable without any download.

FID = |mu_a - mu_b|^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)), the Frechet distance of two Gaussians fitted to
the features. KID is the unbiased squared MMD with the cubic polynomial kernel k(x, y) = (x.y / d + 1)^3,
averaged over random subsets; unlike FID it is unbiased for small sets (the sample's test split has a dozen
images, so KID is the figure to read there, and FID only at full scale).
"""

from __future__ import annotations

import os

import numpy as np
import torch
from scipy import linalg

from ..fileio import weights_path

INCEPTION_FILE = "weights-inception-2015-12-05-6726825d.pth"


def fid_from_features(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = linalg.sqrtm(cov_a @ cov_b)
    if np.iscomplexobj(root):
        root = root.real  # numerical noise from a nearly singular product
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * root))


def kid_from_features(a: np.ndarray, b: np.ndarray, subsets: int = 100, subset_size: int = 1000,
                      seed: int = 0) -> tuple[float, float]:
    """(mean, standard deviation) of the unbiased MMD^2 over ``subsets`` random subsets."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    m = min(len(a), len(b), subset_size)
    if m < 2:
        raise ValueError("KID needs at least 2 samples in each set")
    d = a.shape[1]
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(subsets):
        x = a[rng.choice(len(a), m, replace=False)]
        y = b[rng.choice(len(b), m, replace=False)]
        kxx, kyy, kxy = (x @ x.T / d + 1) ** 3, (y @ y.T / d + 1) ** 3, (x @ y.T / d + 1) ** 3
        off = ~np.eye(m, dtype=bool)
        values.append(kxx[off].mean() + kyy[off].mean() - 2 * kxy.mean())
    return float(np.mean(values)), float(np.std(values))


class Inception:
    """2048-d pool features of torch-fidelity's InceptionV3, from a local weights file only."""

    def __init__(self, weights: str | os.PathLike | None = None):
        path = weights_path(weights, INCEPTION_FILE)
        self.model, self.reason = None, ""
        if not path.exists():
            self.reason = f"not computed: weights file {INCEPTION_FILE} not found, place it at {path}"
            return
        from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

        self.model = FeatureExtractorInceptionV3("inception-v3-compat", ["2048"],
                                                 feature_extractor_weights_path=str(path)).eval()

    @property
    def available(self) -> bool:
        return self.model is not None

    @torch.no_grad()
    def features(self, images: list[np.ndarray], batch_size: int = 16) -> np.ndarray:
        if self.model is None:
            raise RuntimeError(self.reason)
        out = []
        for i in range(0, len(images), batch_size):
            batch = torch.stack([torch.from_numpy(np.ascontiguousarray(im)).permute(2, 0, 1)
                                 for im in images[i:i + batch_size]])  # uint8, as torch-fidelity expects
            out.append(self.model(batch)[0].double().numpy())
        return np.concatenate(out)
