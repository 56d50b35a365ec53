"""Pictures and tables for the notebooks. Everything returns arrays, figures or Markdown, and shows
nothing by itself, so the same calls work headless under papermill."""

from __future__ import annotations

import os

import numpy as np

from .data import labels as L
from .data.pose import Keypoints, render_keypoints


HEADLESS = "VTON_HEADLESS"  # set by `vton course` and the tests: no frontend will ever draw a widget


def headless() -> bool:
    """True when the notebook runs without a frontend (papermill): show static figures, not widgets."""
    return os.environ.get(HEADLESS) == "1"


def grid(images, titles=None, cols: int = 4, scale: float = 2.2, suptitle: str | None = None):
    """A matplotlib figure of images (uint8 RGB, or 2-D arrays drawn in grey) in rows of ``cols``."""
    import matplotlib.pyplot as plt

    images = list(images)
    rows = max(1, -(-len(images) // cols))
    h, w = np.asarray(images[0]).shape[:2] if images else (4, 3)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * scale, rows * scale * h / w), squeeze=False)
    for k, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if k < len(images):
            img = np.asarray(images[k])
            ax.imshow(img, cmap="gray" if img.ndim == 2 else None, interpolation="nearest")
            if titles is not None:
                ax.set_title(titles[k], fontsize=8)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def overlay(image: np.ndarray, mask: np.ndarray, colour=(255, 0, 0), alpha: float = 0.6) -> np.ndarray:
    """``image`` with ``mask`` painted over it in ``colour``."""
    out = image.astype(np.float32).copy()
    out[mask] = out[mask] * (1 - alpha) + np.array(colour, np.float32) * alpha
    return out.round().astype(np.uint8)


def skeleton(image: np.ndarray, kp: Keypoints) -> np.ndarray:
    """OpenPose keypoints (body and hands) drawn over a photo."""
    return render_keypoints(kp, image.shape[:2], background=image.copy())


def overlay_all(person, hand_mask: np.ndarray | None = None) -> np.ndarray:
    """One picture with every annotation on the photo: the parse blended in, the OpenPose skeleton
    with both hands, and the hand mask (when given) outlined in red."""
    out = person.image.copy()
    if person.parse is not None:
        colours = L.colorize_parse(person.parse).astype(np.float32)
        person_px = person.parse > 0
        out[person_px] = (out[person_px] * 0.55 + colours[person_px] * 0.45).round().astype(np.uint8)
    if person.keypoints is not None:
        out = skeleton(out, person.keypoints)
    if hand_mask is not None:
        from .data.sample.geometry import boundary

        out[boundary(hand_mask.astype(np.uint8)) & hand_mask] = (255, 0, 0)
    return out


def coords_to_colour(coords: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Colour each pixel by the cloth position (x, y) it came from: red grows left to right, green top
    to bottom; pixels without a position (NaN) are white. Shows at a glance how the flat garment bends."""
    h, w = size
    out = np.full(coords.shape[:2] + (3,), 255, np.uint8)
    valid = ~np.isnan(coords[..., 0])
    out[valid, 0] = np.clip(coords[valid, 0] / (w - 1) * 255, 0, 255)
    out[valid, 1] = np.clip(coords[valid, 1] / (h - 1) * 255, 0, 255)
    out[valid, 2] = 128
    return out


def grid_to_displacement(grid) -> np.ndarray:
    """A sampling grid (2, H, W) in [-1, 1] (a model's flow) -> displacements (H, W, 2) in pixels."""
    g = np.asarray(grid.detach().cpu() if hasattr(grid, "detach") else grid, dtype=np.float32)
    _, h, w = g.shape
    xs = (g[0] + 1) / 2 * (w - 1) - np.arange(w)[None, :]
    ys = (g[1] + 1) / 2 * (h - 1) - np.arange(h)[:, None]
    return np.stack([xs, ys], -1)


def coords_to_displacement(coords: np.ndarray) -> np.ndarray:
    """Absolute source positions (H, W, 2), as the sample's true flow, -> displacements (H, W, 2)."""
    h, w = coords.shape[:2]
    return coords - np.stack(np.meshgrid(np.arange(w), np.arange(h)), -1)


def flow_colour(displacement: np.ndarray, mask: np.ndarray | None = None,
                max_magnitude: float | None = None) -> np.ndarray:
    """The colour-wheel picture of a flow: hue = direction, brightness = length; white where masked
    out or undefined (NaN)."""
    import matplotlib.colors as mcolors

    d = np.nan_to_num(displacement)
    valid = ~np.isnan(displacement[..., 0])
    if mask is not None:
        valid &= mask
    magnitude = np.hypot(d[..., 0], d[..., 1])
    top = max_magnitude or (magnitude[valid].max() if valid.any() else 1.0) or 1.0
    hsv = np.stack([(np.arctan2(d[..., 1], d[..., 0]) / (2 * np.pi)) % 1.0, np.ones_like(magnitude),
                    np.clip(magnitude / top, 0, 1)], -1)
    rgb = (mcolors.hsv_to_rgb(hsv) * 255).round().astype(np.uint8)
    rgb[~valid] = 255
    return rgb


def flow_arrows(ax, displacement: np.ndarray, mask: np.ndarray | None = None, step: int = 12, colour="k"):
    """Draw a flow as arrows on a matplotlib axis: from each pixel to where it samples the garment."""
    h, w = displacement.shape[:2]
    ys, xs = np.mgrid[step // 2:h:step, step // 2:w:step]
    d = displacement[ys, xs]
    keep = ~np.isnan(d[..., 0])
    if mask is not None:
        keep &= mask[ys, xs]
    ax.quiver(xs[keep], ys[keep], d[..., 0][keep], d[..., 1][keep], angles="xy", scale_units="xy", scale=1,
              color=colour, width=0.004)


def annotations(person, cloth=None) -> tuple[list[np.ndarray], list[str]]:
    """Every annotation of a :class:`~vtonlib.data.PersonSample` as pictures, with titles."""
    images, titles = [person.image], ["image"]
    if cloth is not None:
        images += [cloth.image, cloth.mask]
        titles += ["cloth", "cloth-mask"]
    if person.parse is not None:
        images.append(L.colorize_parse(person.parse))
        titles.append("parse")
    if person.keypoints is not None:
        images.append(skeleton(person.image, person.keypoints))
        titles.append("OpenPose body + hands")
    if person.densepose is not None:
        images.append(L.render_densepose(person.densepose))
        titles.append("DensePose parts")
    if person.parse_agnostic is not None:
        images.append(L.colorize_parse(person.parse_agnostic))
        titles.append("parse, agnostic")
    if person.agnostic is not None:
        images.append(person.agnostic)
        titles.append("agnostic image")
    if person.agnostic_mask is not None:
        images.append(person.agnostic_mask)
        titles.append("agnostic mask")
    return images, titles


def prepared_views(person) -> tuple[list[np.ndarray], list[str]]:
    """What ``vton prepare`` built for one photo, over the photo: keypoints and hands, the parse, DensePose,
    and the region the try-on will repaint."""
    from .hands.masks import from_keypoints

    hands = from_keypoints(person.keypoints, person.image.shape[:2]).mask if person.keypoints is not None else None
    images = [skeleton(person.image, person.keypoints) if person.keypoints is not None else person.image]
    titles = ["keypoints (body + hands)"]
    if hands is not None:
        images.append(overlay(person.image, hands, (255, 0, 0)))
        titles.append("hand masks")
    if person.parse is not None:
        images.append(L.colorize_parse(person.parse))
        titles.append("parse")
    if person.densepose is not None:
        images.append(L.render_densepose(person.densepose))
        titles.append("DensePose parts")
    if person.agnostic_mask is not None:
        images.append(overlay(person.image, person.agnostic_mask, (128, 128, 128), 0.8))
        titles.append("repainted region")
    return images, titles


def running_mean(values, window: int = 10) -> np.ndarray:
    """Mean over a sliding window (shorter at the start), for readable loss curves; same length as input."""
    values = np.asarray(values, dtype=float)
    cumulative = np.cumsum(np.insert(values, 0, 0.0))
    starts = np.maximum(np.arange(1, len(values) + 1) - window, 0)
    return (cumulative[1:] - cumulative[starts]) / (np.arange(1, len(values) + 1) - starts)


def markdown_table(header, rows) -> str:
    """A Markdown table (display it with ``IPython.display.Markdown``)."""
    def cell(v):
        return f"{v:.3g}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(map(str, header)) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)
