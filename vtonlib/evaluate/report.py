"""The evaluation as one self-contained HTML page: tables, then grids (base | corrected | truth, hands
zoomed), then the cases the correction helped and hurt most. Images are embedded as PNG data."""

from __future__ import annotations

import base64
import html
import io

import numpy as np
from PIL import Image

from .. import imaging
from ..metrics.hands import hand_crops

STYLE = ("body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse;"
         "margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}th{background:#f3f3f3}"
         "figure{display:inline-block;margin:4px;text-align:center}figcaption{font-size:12px}")
COLUMNS = ("region_psnr", "region_ssim", "region_lpips", "garment_delta_e", "hand_shape_iou", "hand_lpips", "hand_ssim",
           "hand_psnr", "ssim", "psnr", "lpips", "fid", "kid")


def png(image: np.ndarray, height: int = 160) -> str:
    image = np.asarray(image)
    if image.dtype == bool:
        image = np.where(image, 255, 0).astype(np.uint8)
    scale = height / image.shape[0]
    pil = Image.fromarray(image).resize((max(1, round(image.shape[1] * scale)), height), Image.NEAREST)
    buffer = io.BytesIO()
    pil.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _figure(image, caption, height=160) -> str:
    return f'<figure><img src="{png(image, height)}"><figcaption>{html.escape(caption)}</figcaption></figure>'


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if np.isfinite(value) else "n/a"  # NaN: nothing to average (e.g. no hand found)
    return html.escape(str(value))


def metrics_table(report: dict) -> str:
    rows = []
    for key, scores in report["scores"].items():
        mean = scores["mean"]
        detector = mean.get("detector", {})
        rows.append([key] + [mean.get(c, "n/a") for c in COLUMNS]
                    + [detector.get("found_share", "n/a"), detector.get("mean_confidence", "n/a"),
                       detector.get("keypoint_error_norm", "n/a")])
    header = ["set", *COLUMNS, "hands found", "detector confidence", "keypoint error (hand sizes)"]
    body = "".join("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>" for row in rows)
    return "<table><tr>" + "".join(f"<th>{h}</th>" for h in header) + "</tr>" + body + "</table>"


def write_html(report: dict, folders: dict, names: list[str], truths: dict, masks: dict, grid_rows: int = 6) -> str:
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>Try-on evaluation</title><style>{STYLE}"
             "</style></head><body><h1>Try-on evaluation</h1>",
             f"<p>{report['images']} images of {html.escape(report['root'])} ({report['split']}).</p>",
             "<h2>Metrics</h2>", metrics_table(report)]
    for metric, reason in report.get("not_computed", {}).items():
        parts.append(f"<p><b>{metric}</b>: {html.escape(reason)}</p>")
    if "outside_hands" in report:
        o = report["outside_hands"]
        parts.append(f"<p>Pixels changed outside the hands ({html.escape(o['allowed'])}): <b>{o['changed_pixels']}</b> "
                     f"(largest difference {o['max_difference']}).</p>")
    order = list(folders)[::-1]  # baseline first when there is one

    def row(name: str) -> str:
        images = [imaging.read_image(folders[k] / name) for k in order]
        cells = [_figure(im, f"{k}: {name}") for k, im in zip(order, images)]
        if truths.get(name) is not None:
            cells.append(_figure(truths[name], "ground truth"))
            mask = masks.get(name)
            if mask is not None and mask.any():
                zoom = [hand_crops(im, mask)[0] for im in images + [truths[name]]]
                cells += [_figure(z, f"hand: {k}", 96) for z, k in zip(zoom, order + ["truth"])]
        return "<div>" + "".join(cells) + "</div>"

    parts.append("<h2>Side by side</h2>")
    parts += [row(n) for n in names[:grid_rows]]
    if "baseline" in report["scores"]:
        images = report["scores"]["results"]["images"]
        # rank by the hand's shape where it was measured (paired results), else by hand-crop SSIM
        key, label = next(((k, t) for k, t in (("hand_shape_iou", "hand-shape IoU"), ("hand_ssim", "hand SSIM"))
                           if any(k in images[n] for n in names)), ("hand_ssim", "hand SSIM"))
        delta = {n: images[n].get(key, np.nan) - report["scores"]["baseline"]["images"][n].get(key, np.nan)
                 for n in names}
        ranked = sorted((n for n in names if np.isfinite(delta[n])), key=lambda n: delta[n])
        if ranked:
            parts.append("<h2>Where the correction hurt most</h2>")
            parts += [f"<p>{html.escape(n)}: {label} {delta[n]:+.4f}</p>" + row(n) for n in ranked[:2]]
            parts.append("<h2>Where it helped most</h2>")
            parts += [f"<p>{html.escape(n)}: {label} {delta[n]:+.4f}</p>" + row(n) for n in ranked[::-1][:2]]
    parts.append("</body></html>")
    return "\n".join(parts)


__all__ = ["metrics_table", "png", "write_html"]
