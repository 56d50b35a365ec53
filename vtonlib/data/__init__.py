"""VITON-HD data: layout, labels, reading, checking, the built-in sample, the hand-visible subset.

Notebook 01 (``notebooks/01_data.ipynb``) tours all of it.
"""

from .check import Report, check_root
from .layout import FOLDER, FOLDERS, STAGE_NEEDS
from .pose import Keypoints, read_keypoints, write_keypoints
from .reader import Cloth, PersonSample, VitonDataset
from .subset import SubsetRule, make_subset

__all__ = [
    "Cloth", "FOLDER", "FOLDERS", "Keypoints", "PersonSample", "Report", "STAGE_NEEDS", "SubsetRule",
    "VitonDataset", "check_root", "make_subset", "read_keypoints", "write_keypoints",
]
