"""``vton try PERSON GARMENT``: the whole course on one photo: prepare, warp, try on, correct the hands, and
the result back at the photo's own size and aspect.

Models default to those of the latest course run (``runs/<time>/``: ``tryon/``, ``warp.safetensors``,
``hands.safetensors``); at full scale pass the converted release and the released warp file.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from .. import imaging
from ..fileio import DataError, write_json
from .batch import SPLIT, prepare_root, sample_id
from .photo import Frame, paste_back, read_photo

RUNS = Path(__file__).resolve().parents[2] / "runs"


def latest_run_models(runs: str | os.PathLike = RUNS) -> dict:
    """{"model", "warp", "lora"} of the newest course run that has them all, else a DataError saying what to
    run first."""
    runs = Path(runs)
    candidates = sorted((p for p in runs.glob("*") if (p / "tryon" / "tryon_config.json").exists()
                         and (p / "warp.safetensors").exists()), key=lambda p: p.stat().st_mtime, reverse=True)
    if not candidates:
        raise DataError(runs, "no course run with trained models: run `make run` (the course, about 8 minutes) "
                              "first, or pass --model, --warp and --lora (at full scale: `vton tryon convert "
                              "viton512.ckpt`, warp_viton.pth)")
    run = candidates[0]
    lora = run / "hands.safetensors"
    return {"model": run / "tryon", "warp": run / "warp.safetensors", "lora": lora if lora.exists() else None}


def side_by_side(panels: list[np.ndarray], height: int = 512) -> np.ndarray:
    """Images side by side at one height (white gaps)."""
    resized = [imaging.resize_image(p, (height, max(1, int(round(p.shape[1] * height / p.shape[0])))))
               for p in panels]
    gap = np.full((height, 8, 3), 255, np.uint8)
    return np.concatenate([x for p in resized for x in (p, gap)][:-1], 1)


def hand_zoom(images: list[np.ndarray], boxes: list[tuple[int, int, int, int]], size: int = 160) -> np.ndarray | None:
    """Each hand box of each image, zoomed to ``size``, in a row (None without hands)."""
    crops = [imaging.resize_image(np.ascontiguousarray(img[y0:y1, x0:x1]), (size, size))
             for (x0, y0, x1, y1) in boxes for img in images if x1 > x0 and y1 > y0]
    return side_by_side(crops, size) if crops else None


HAND_SOURCES = ("keypoints", "detector", "none")


def try_photo(person, garment, out, model=None, warp=None, lora=None, lora_scale: float = 0.8,
              size: tuple[int, int] = (1024, 768), steps: int = 25, seed: int = 0, progress: bool = False,
              strength: float = 0.5, hand_source: str = "keypoints", on_step=None) -> dict:
    """Run everything for one person and one garment photo; write into ``out``: ``tryon.png`` and
    ``corrected.png`` (the photo's own size), ``side_by_side.png``, ``try.json`` (what ran, how long).

    ``hand_source``: where the hands to correct come from: the prepared keypoints (MediaPipe Hands on the
    photo), the detector run on the try-on result, or "none" (no correction). ``on_step(name, done, total)``
    is called before each step (a progress bar)."""
    if hand_source not in HAND_SOURCES:
        raise ValueError(f"hand source {hand_source!r}: one of {', '.join(HAND_SOURCES)}")
    from ..correct import CorrectionConfig, correct_results
    from ..hands import write_hand_masks
    from ..tryon import sample_split
    from ..validate import output_dir
    from ..warp import apply_warp

    out = output_dir(out)
    if model is None or warp is None:
        found = latest_run_models()
        model, warp = model or found["model"], warp or found["warp"]
        lora = lora if lora is not None else found["lora"]
    times, record = {}, {"person": str(person), "garment": str(garment), "model": str(model), "warp": str(warp),
                         "lora": str(lora) if lora else None, "lora_scale": lora_scale, "strength": strength,
                         "hand_source": hand_source}

    names = ["prepare", "warp", "try-on", "hand masks", "hand correction"]

    def step(name, run):
        if on_step is not None:
            on_step(name, names.index(name), len(names))
        start = time.perf_counter()
        result = run()
        times[name] = round(time.perf_counter() - start, 2)
        return result

    root = out / "root"
    report = step("prepare", lambda: prepare_root([person], [garment], root, size, progress=progress))
    pid, gid = sample_id(person), sample_id(garment)
    for kind, key in (("people", pid), ("garments", gid)):
        if "error" in report[kind].get(key, {"error": "not prepared"}):
            source = person if kind == "people" else garment
            raise DataError(source, report[kind][key]["error"].removeprefix(f"{source}: "))
    step("warp", lambda: apply_warp(root, warp, unpaired=True, progress=progress))
    results = out / "results"
    tried = step("try-on", lambda: sample_split(root, model, results, unpaired=True, num_inference_steps=steps,
                                                seed=seed, progress=progress))
    name = f"{pid}__{gid}.png"
    if "error" in tried["images"].get(name, {"error": "no result"}):
        raise DataError(person, f"the try-on failed: {tried['images'].get(name)}")
    hands = step("hand masks", lambda: write_hand_masks(root, split=SPLIT, method="keypoints", progress=progress))
    corrected_dir = out / "corrected"
    if lora and hand_source != "none":
        detect = hand_source == "detector"
        step("hand correction", lambda: correct_results(
            results, root, model, corrected_dir, lora=lora, detect=detect,
            hand_mask_dir=None if detect else root / SPLIT / "hand-mask",
            config=CorrectionConfig(lora_scale=lora_scale, strength=strength, seed=seed), progress=progress))
    else:
        record["note"] = ("no hand LoRA" if not lora else "hand source 'none'") + ": the corrected image is the try-on"
    frame = Frame.from_dict(report["people"][pid]["frame"])
    original = read_photo(person)
    region = imaging.read_mask(root / SPLIT / "agnostic-mask" / f"{pid}_mask.png")
    base = imaging.read_image(results / name)
    fixed = imaging.read_image(corrected_dir / name) if (corrected_dir / name).exists() else base
    # the corrected hands may lie outside the try-on region (it keeps the hands): paste what changed as well
    base_photo = paste_back(original, base, region, frame)
    fixed_photo = paste_back(original, fixed, region | (fixed != base).any(-1), frame)
    imaging.write_image(out / "tryon.png", base_photo)
    imaging.write_image(out / "corrected.png", fixed_photo)
    panels = side_by_side([original, imaging.read_image(root / SPLIT / "cloth" / f"{gid}.jpg"), base_photo,
                           fixed_photo])
    from ..hands.masks import square_crop

    boxes = [square_crop(tuple(int(v) for v in hand["box"]), 0.5, base.shape[:2])
             for hand in hands["images"].get(pid, {}).get("hands", [])]
    zoom = hand_zoom([base, fixed], boxes)
    if zoom is not None:
        pad = np.full((zoom.shape[0], max(panels.shape[1] - zoom.shape[1], 0), 3), 255, np.uint8)
        panels = np.concatenate([panels, np.full((8, panels.shape[1], 3), 255, np.uint8),
                                 np.concatenate([zoom, pad], 1)[:, :panels.shape[1]]], 0)
    imaging.write_image(out / "side_by_side.png", panels)
    record.update({"seconds": times, "size": list(original.shape[:2]), "frame": frame.to_dict(),
                   "prepared": report["people"][pid], "garment_mask": report["garments"][gid].get("mask"),
                   "outputs": {k: str(out / f) for k, f in (("tryon", "tryon.png"), ("corrected", "corrected.png"),
                                                            ("side_by_side", "side_by_side.png"))}})
    write_json(out / "try.json", record)
    return record
