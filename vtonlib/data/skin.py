"""A person's skin colour, read off the photo: the median colour of the face (parse label 13).

The try-on repaints the arms and the hands; the face is always kept. Skin-tone augmentation, the hand
correction's first guess and the hand-shape metric all need the person's skin colour, and the face is
where any photo shows it.
"""

from __future__ import annotations

import numpy as np

from . import labels as L

SKIN_LABELS = (L.TORSO_SKIN, 13, L.LEFT_ARM, L.RIGHT_ARM, 16, 17)  # neck, face, arms (hands included), legs
FACE = 13


def median_colour(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(3,) float RGB: the median colour of the pixels of ``mask`` (uint8 RGB image, bool mask)."""
    return np.median(image[mask].reshape(-1, 3), axis=0).astype(np.float64)


def face_skin(photo: np.ndarray, parse: np.ndarray) -> np.ndarray:
    """(3,) float RGB: the median colour of the face's pixels (ValueError when the parse has no face)."""
    face = parse == FACE
    if not face.any():
        raise ValueError("no face in the parse to read the skin colour from")
    return median_colour(photo, face)
