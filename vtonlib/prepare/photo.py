"""A plain photo read as a camera took it, and brought to the root's 3:4 frame without losing any of it.

Reading honours the EXIF orientation (phones store portraits sideways and say so in a tag), flattens
transparency onto white and brings 16-bit and grey images to 8-bit RGB. Fitting scales the photo to fit
inside the frame and pads the rest by repeating the photo's edge: nothing is cropped, nothing squashed. The
:class:`Frame` records the transform so a result is mapped back onto the original photo at its own size.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass

import cv2
import numpy as np
from PIL import Image, ImageOps

from .. import imaging


def read_photo(path: str | os.PathLike) -> np.ndarray:
    """RGB uint8 (H, W, 3), upright (EXIF orientation applied), any transparency on white."""
    im = imaging.open_image(path)
    im = ImageOps.exif_transpose(im)
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):  # 16-bit grey: scale, do not clip
        a = np.asarray(im, np.float64)
        return np.repeat(np.clip(a / max(a.max(), 1) * 255, 0, 255).astype(np.uint8)[..., None], 3, -1)
    if im.mode in ("RGBA", "LA", "P", "PA"):
        im = im.convert("RGBA")
        white = Image.new("RGBA", im.size, (255, 255, 255, 255))
        im = Image.alpha_composite(white, im)
    a = np.asarray(im.convert("RGB"))
    return a.astype(np.uint8) if a.dtype != np.uint8 else a


@dataclass
class Frame:
    """How a photo of ``source`` (H, W) sits in a frame of ``size``: scaled by ``scale``, its top-left corner
    at (``left``, ``top``)."""

    source: tuple[int, int]
    size: tuple[int, int]
    scale: float
    top: int
    left: int

    @property
    def inner(self) -> tuple[int, int, int, int]:
        """(top, left, bottom, right) of the photo inside the frame."""
        h, w = (int(round(s * self.scale)) for s in self.source)
        return self.top, self.left, self.top + h, self.left + w

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Frame":
        return cls(tuple(d["source"]), tuple(d["size"]), float(d["scale"]), int(d["top"]), int(d["left"]))


def fit(photo: np.ndarray, size: tuple[int, int] = (1024, 768)) -> tuple[np.ndarray, Frame]:
    """The photo inside a frame of ``size``: scaled to fit, centred, the margins the photo's own edge."""
    h, w = photo.shape[:2]
    fh, fw = size
    scale = min(fh / h, fw / w)
    nh, nw = max(1, int(round(h * scale))), max(1, int(round(w * scale)))
    resized = cv2.resize(photo, (nw, nh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    top, left = (fh - nh) // 2, (fw - nw) // 2
    framed = cv2.copyMakeBorder(resized, top, fh - nh - top, left, fw - nw - left, cv2.BORDER_REPLICATE)
    return framed, Frame((h, w), (fh, fw), scale, top, left)


def unfit(image: np.ndarray, frame: Frame) -> np.ndarray:
    """A frame-sized image (a try-on result) back at the original photo's size and aspect."""
    top, left, bottom, right = frame.inner
    inner = image[top:bottom, left:right]
    h, w = frame.source
    return cv2.resize(inner, (w, h), interpolation=cv2.INTER_CUBIC if frame.scale < 1 else cv2.INTER_AREA)


def paste_back(original: np.ndarray, result: np.ndarray, region: np.ndarray, frame: Frame) -> np.ndarray:
    """The original photo with only the result's ``region`` (frame-sized bool) taken from the result."""
    back = unfit(result, frame)
    mask = unfit(region.astype(np.uint8) * 255, frame) > 127
    return np.where(mask[..., None], back, original)
