"""Hand masks that are really hands: from OpenPose keypoints, DensePose, or a detector; the arm-label
baseline they replace; boxes for cropping; and ``vton hands`` to write them. Notebook 02 measures them.
"""

from .batch import write_hand_masks
from .detector import HandDetector
from .masks import (METHODS, HandBox, HandMasks, for_person, from_arms, from_densepose, from_detector,
                    from_keypoints, mask_iou)
from .shapes import draw_hand

__all__ = ["METHODS", "HandBox", "HandDetector", "HandMasks", "draw_hand", "for_person", "from_arms",
           "from_densepose", "from_detector", "from_keypoints", "mask_iou", "write_hand_masks"]
