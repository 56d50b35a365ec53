"""Hand correction at inference: find the hands, crop, refine with the hand LoRA, paste back only them."""

from .batch import before_after, correct_results
from ..hands.masks import hands_from_mask
from .hands import HandSelection, detector_confidence, select_hands
from .loop import Correction, CorrectionConfig, correct_hands, correct_many, correction_crop, feather

__all__ = ["Correction", "CorrectionConfig", "HandSelection", "before_after", "correct_hands", "correct_many",
           "correct_results", "correction_crop", "detector_confidence", "feather", "hands_from_mask", "select_hands"]
