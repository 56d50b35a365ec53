"""PF-AFN appearance-flow warping in plain PyTorch: model, correlation, losses, training, application,
a box baseline and scores against the truth. Notebook 03 (``notebooks/03_warping.ipynb``) explains it."""

from .apply import apply_warp, load_warp_model, warp_full_resolution
from .baseline import box_warp
from .correlation import correlation
from .data import WarpPairs, person_representation
from .model import AFWM, WarpConfig, WarpOutput
from .quality import baseline_predictor, masked_ssim, model_predictor, score_warps
from .train import TrainConfig, train_warp

__all__ = ["AFWM", "TrainConfig", "WarpConfig", "WarpOutput", "WarpPairs", "apply_warp", "baseline_predictor",
           "box_warp", "correlation", "load_warp_model", "masked_ssim", "model_predictor", "person_representation",
           "score_warps", "train_warp", "warp_full_resolution"]
