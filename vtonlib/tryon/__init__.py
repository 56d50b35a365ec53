"""DCI-VTON's diffusion try-on on diffusers parts: the model, its inputs, training, the pipeline with
pluggable samplers, batch sampling, conversion of the released checkpoints. Notebook 04 explains it."""

from .data import TryOnPairs, garment_crop, tryon_example
from .model import TryOnConfig, TryOnModel
from .pipeline import TryOnPipeline
from .sample import sample_split, try_on
from .schedulers import SCHEDULERS, make_scheduler
from .train import TrainConfig, new_model, train_tryon

__all__ = ["SCHEDULERS", "TrainConfig", "TryOnConfig", "TryOnModel", "TryOnPairs", "TryOnPipeline", "garment_crop",
           "make_scheduler", "new_model", "sample_split", "train_tryon", "try_on", "tryon_example"]
