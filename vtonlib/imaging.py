"""The one place where images change form: files <-> numpy arrays <-> torch tensors.

Conventions of the whole library (see DESIGN.md):

* at the edges (files, plots) an image is a ``uint8`` array (H, W, 3), RGB;
* a mask is a ``bool`` array (H, W); on disk it is 0/255 (PNG, or JPEG in VITON-HD's cloth masks);
* a label map (parse, DensePose parts) is a ``uint8`` array (H, W) of ids;
* inside models an image is a float tensor in [-1, 1], (N, 3, H, W); a mask is (N, 1, H, W) in {0, 1}.

Nothing else in ``vtonlib`` converts between these forms.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, UnidentifiedImageError

from .fileio import DataError, write_bytes

if TYPE_CHECKING:  # torch is imported lazily: the data tools must not pay its start-up time
    import torch

PathLike = str | os.PathLike


# --- reading ------------------------------------------------------------------------------------
def open_image(path: PathLike) -> Image.Image:
    """Open and fully decode an image file, turning every failure into a :class:`DataError`."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(path)
            im.load()  # decode now: a truncated file fails here, not later inside a model
        return im
    except FileNotFoundError:
        raise DataError(path, "file not found") from None
    except UnidentifiedImageError:
        raise DataError(path, "not an image (unknown format or empty file)") from None
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as e:
        raise DataError(path, f"too many pixels for an image to read ({e})") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise DataError(path, f"unreadable or truncated image ({e})") from None


def read_image(path: PathLike) -> np.ndarray:
    """Read an image file as RGB ``uint8`` (H, W, 3)."""
    im = open_image(path)
    if im.mode != "RGB":
        im = im.convert("RGBA").convert("RGB") if im.mode == "P" else im.convert("RGB")
    return np.asarray(im, dtype=np.uint8).copy()


def read_mask(path: PathLike, threshold: int = 128) -> np.ndarray:
    """Read a mask file (any mode; JPEG masks included) as ``bool`` (H, W): pixel >= ``threshold``."""
    im = open_image(path)
    if im.mode not in ("L", "1"):
        im = im.convert("L")
    return np.asarray(im) >= threshold


def read_grey(path: PathLike) -> np.ndarray:
    """Read a grey image (a soft mask, say) as ``float32`` (H, W) in [0, 1]."""
    im = open_image(path)
    return np.asarray(im if im.mode == "L" else im.convert("L"), dtype=np.float32) / 255.0


def read_labels(path: PathLike, palette: np.ndarray | None = None) -> np.ndarray:
    """Read a label map (palette or grey PNG whose pixel values are ids) as ``uint8`` (H, W).

    A label map saved as an RGB picture is decoded with ``palette`` (colour i -> id i) where given;
    a colour outside the palette is an error, since guessing would corrupt the labels.
    """
    im = open_image(path)
    if im.mode in ("P", "L"):
        return np.asarray(im, dtype=np.uint8).copy()
    if im.mode in ("RGB", "RGBA") and palette is not None:
        rgb = np.asarray(im.convert("RGB"))
        key = _rgb_key(rgb)
        lut = {int(k): i for i, k in enumerate(_rgb_key(palette))}
        uniq, inverse = np.unique(key, return_inverse=True)
        unknown = [int(u) for u in uniq if int(u) not in lut]
        if unknown:
            colours = [((u >> 16) & 255, (u >> 8) & 255, u & 255) for u in unknown[:3]]
            raise DataError(path, f"RGB label map has colours outside the palette, e.g. {colours}")
        return np.array([lut[int(u)] for u in uniq], dtype=np.uint8)[inverse].reshape(key.shape)
    raise DataError(path, f"expected a palette or greyscale label PNG, got mode {im.mode}")


def _rgb_key(rgb: np.ndarray) -> np.ndarray:
    rgb = np.asarray(rgb, dtype=np.int64)
    return (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]


def image_size(path: PathLike) -> tuple[int, int]:
    """(height, width) from the file header, without decoding the pixels."""
    try:
        with Image.open(path) as im:
            w, h = im.size
    except FileNotFoundError:
        raise DataError(path, "file not found") from None
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as e:
        raise DataError(path, f"too many pixels for an image to read ({e})") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise DataError(path, f"not a readable image ({e})") from None
    return h, w


# --- writing (atomic: temporary file, then rename) ----------------------------------------------
def _save(path: PathLike, im: Image.Image, quality: int = 95, subsampling: int = 2) -> None:
    fmt = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG"}.get(Path(path).suffix.lower())
    if fmt is None:
        raise ValueError(f"{path}: choose a .jpg or .png file name")
    buf = io.BytesIO()
    # PNG level 1: three times faster than the default 6 for files about 15 % larger; batch jobs write
    # thousands of results and masks once
    options = {"quality": quality, "subsampling": subsampling} if fmt == "JPEG" else {"compress_level": 1}
    im.save(buf, format=fmt, **options)
    write_bytes(path, buf.getvalue())


def write_image(path: PathLike, image: np.ndarray, quality: int = 95, full_chroma: bool = False) -> None:
    """Write RGB ``uint8`` (H, W, 3) as JPEG or PNG (by suffix). JPEGs halve the colour resolution
    (4:2:0, as VITON-HD's files) unless ``full_chroma`` is set."""
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"{path}: expected uint8 (H, W, 3), got {image.dtype} {image.shape}")
    _save(path, Image.fromarray(image, "RGB"), quality=quality, subsampling=0 if full_chroma else 2)


def write_mask(path: PathLike, mask: np.ndarray) -> None:
    """Write a mask as 0/255 greyscale (PNG is lossless; JPEG only where a format demands it)."""
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"{path}: expected a (H, W) mask, got shape {mask.shape}")
    _save(path, Image.fromarray(np.where(mask.astype(bool), 255, 0).astype(np.uint8), "L"))


def write_grey(path: PathLike, grey: np.ndarray) -> None:
    """Write a ``uint8`` (H, W) grey image, such as a soft mask scaled to 0-255."""
    grey = np.asarray(grey)
    if grey.dtype != np.uint8 or grey.ndim != 2:
        raise ValueError(f"{path}: expected uint8 (H, W), got {grey.dtype} {grey.shape}")
    _save(path, Image.fromarray(grey, "L"))


def write_labels(path: PathLike, labels: np.ndarray, palette: np.ndarray | None = None) -> None:
    """Write a label map as a palette PNG (ids as pixel values, ``palette`` colours for viewers)."""
    labels = np.asarray(labels)
    if labels.dtype != np.uint8 or labels.ndim != 2:
        raise ValueError(f"{path}: expected uint8 (H, W) labels, got {labels.dtype} {labels.shape}")
    im = Image.fromarray(labels, "P")
    if palette is not None:
        flat = np.zeros((256, 3), dtype=np.uint8)
        flat[: len(palette)] = palette
        im.putpalette(flat.reshape(-1).tolist())
    _save(path, im)


# --- resizing -----------------------------------------------------------------------------------
def resize_image(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize RGB ``uint8`` to (height, width) with bicubic filtering (antialiased when shrinking)."""
    h, w = size
    if image.shape[:2] == (h, w):
        return image
    return np.asarray(Image.fromarray(image).resize((w, h), Image.BICUBIC))


def resize_labels(labels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize a label map or mask to (height, width) by nearest neighbour (ids are never blended)."""
    h, w = size
    if labels.shape[:2] == (h, w):
        return labels
    is_mask = labels.dtype == np.bool_
    im = Image.fromarray(labels.astype(np.uint8) if is_mask else labels)
    out = np.asarray(im.resize((w, h), Image.NEAREST))
    return out.astype(bool) if is_mask else out


# --- numpy <-> torch ----------------------------------------------------------------------------
def to_tensor(image: np.ndarray) -> "torch.Tensor":
    """``uint8`` (H, W, 3) or (N, H, W, 3) -> float (3, H, W) or (N, 3, H, W) in [-1, 1]."""
    import torch

    image = np.asarray(image)
    if image.dtype != np.uint8 or image.shape[-1] != 3:
        raise ValueError(f"expected uint8 (..., H, W, 3), got {image.dtype} {image.shape}")
    t = torch.from_numpy(np.array(image)).float().div(127.5).sub(1.0)  # a copy: PIL's arrays are read-only
    return t.movedim(-1, -3)


def to_image(tensor: "torch.Tensor") -> np.ndarray:
    """float (3, H, W) or (N, 3, H, W) in [-1, 1] -> ``uint8`` (H, W, 3) or (N, H, W, 3), rounded."""
    import torch

    t = tensor.detach().float().cpu().clamp(-1, 1).add(1).mul(127.5).round()
    return t.movedim(-3, -1).to(torch.uint8).numpy()


def mask_to_tensor(mask: np.ndarray) -> "torch.Tensor":
    """``bool`` (H, W) or (N, H, W) -> float (1, H, W) or (N, 1, H, W) in {0, 1}."""
    import torch

    return torch.from_numpy(np.array(mask, dtype=bool)).float().unsqueeze(-3)


def tensor_to_mask(tensor: "torch.Tensor", threshold: float = 0.5) -> np.ndarray:
    """float (1, H, W) or (N, 1, H, W) -> ``bool`` (H, W) or (N, H, W)."""
    return (tensor.detach().float().cpu().squeeze(-3) >= threshold).numpy()
