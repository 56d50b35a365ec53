"""Try on your own photo: every annotation VITON-HD ships, built from a plain photo with MediaPipe (offline, on
a CPU). ``prepare_root`` writes a root that every stage reads like any other; ``score`` checks the result
against VITON-HD's real annotations."""

from .batch import prepare_garment, prepare_person, prepare_root
from .photo import Frame, fit, paste_back, read_photo, unfit

__all__ = ["Frame", "fit", "paste_back", "prepare_garment", "prepare_person", "prepare_root", "read_photo", "unfit"]
