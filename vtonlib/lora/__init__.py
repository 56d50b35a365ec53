"""The hand LoRA: adapters on the try-on UNet (peft), hand-crop data, training, kohya interop."""

from .adapter import (LoraSpec, add_lora, count_lora_parameters, fuse_lora, load_lora, lora_parameters, merge_lora,
                      read_lora, save_lora, set_lora_scale, unmerge_lora)
from .data import HandCrops, hand_crop, square_crop
from .kohya import export_kohya, import_kohya, load_kohya
from .train import LoraTrainConfig, hand_weighted_mse, render_samples, train_lora

__all__ = ["HandCrops", "LoraSpec", "LoraTrainConfig", "add_lora", "count_lora_parameters", "export_kohya",
           "fuse_lora", "hand_crop", "hand_weighted_mse", "import_kohya", "load_kohya", "load_lora", "lora_parameters",
           "merge_lora", "read_lora", "render_samples", "save_lora", "set_lora_scale", "square_crop", "train_lora",
           "unmerge_lora"]
