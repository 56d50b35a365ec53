"""``vton evaluate``: score a folder of try-on results (and optionally a baseline folder) against the
ground truth; write ``report.json`` (every figure) and ``report.html`` (self-contained: images embedded).

Paired results (each person in their own garment) are compared with the person's photo; unpaired ones with
the sample's true try-on (``gt/unpaired-image``) where it exists. Besides whole-image scores, each result
is scored where it was generated: inside the try-on's inpaint region (PSNR, SSIM, LPIPS), on the garment's
colour (CIEDE2000), and on the hands: the squares around the true hand masks (the sample's ``gt``; on real
data, the masks of ``vton hands``) by SSIM, PSNR, LPIPS and the hand-shape IoU (paired results only: the
photo's skin and parse are the reference). FID and KID compare the set of results with the set of photos.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .. import imaging
from ..correct.batch import result_pairs
from ..metrics.hands import hand_crop_pairs
from ..data.reader import VitonDataset
from ..fileio import DataError, read_json, write_json, write_text
from ..validate import is_plain_name
from ..metrics.distribution import Inception, fid_from_features, kid_from_features
from ..metrics.hands import (allowed_region, changes_outside, hand_lpips, hand_shape_iou, match_detections,
                             other_skin, person_skin, reference_hands, summarise_matches)
from ..metrics.image import psnr, ssim
from ..metrics.perceptual import Lpips
from ..metrics.region import garment_delta_e, region_lpips, region_psnr, region_ssim
from ..tryon.data import inpaint_region
from ..tryon.quality import true_garment

MEANS = ("ssim", "psnr", "lpips", "region_psnr", "region_ssim", "region_lpips", "garment_delta_e", "hand_ssim",
         "hand_psnr", "hand_lpips", "hand_shape_iou")


def _mean(values) -> float:
    values = [v for v in values if v is not None and np.isfinite(v)]
    return float(np.mean(values)) if values else float("nan")


def _truth(ds: VitonDataset, person: str, cloth: str) -> np.ndarray | None:
    if person == cloth:
        return ds.read_image(person)
    if ds.has_truth and ds.truth_path("unpaired-image", person).exists():
        return ds.read_truth("unpaired-image", person)
    return None


def _hand_mask(ds: VitonDataset, person: str, hand_mask_dir) -> np.ndarray | None:
    if ds.has_truth and ds.truth_path("hand-mask", person).exists():
        return ds.read_truth("hand-mask", person)
    path = Path(hand_mask_dir) / f"{person}.png" if hand_mask_dir else ds.dir / "hand-mask" / f"{person}.png"
    return imaging.read_mask(path) if path.exists() else None


def _check_size(image: np.ndarray, truth: np.ndarray, path: Path, what: str) -> None:
    if image.shape != truth.shape:
        raise DataError(path, f"size {image.shape[:2]} differs from the {what}'s {truth.shape[:2]}")


def score_image(image: np.ndarray, truth: np.ndarray, context: dict, lpips: Lpips) -> dict:
    """Every score of one result against its truth; ``context``: region, garment, hand mask, skin, other
    skin (each may be None)."""
    row = {"ssim": ssim(image, truth), "psnr": psnr(image, truth)}
    if lpips.available:
        row["lpips"] = lpips.distance(image, truth)
    region = context.get("region")
    if region is not None and region.any():
        row.update(region_psnr=region_psnr(image, truth, region), region_ssim=region_ssim(image, truth, region))
        if lpips.available:
            row["region_lpips"] = region_lpips(lpips, image, truth, region)
        if context.get("garment") is not None and (context["garment"] & region).any():
            row["garment_delta_e"] = garment_delta_e(image, truth, context["garment"] & region)
    mask = context.get("hand_mask")
    if mask is not None and mask.any():
        pairs = hand_crop_pairs(image, truth, mask)
        row["hand_ssim"] = _mean([ssim(a, b) for a, b in pairs])
        row["hand_psnr"] = _mean([psnr(a, b) for a, b in pairs])
        row["hand_crops"] = len(pairs)
        if lpips.available and pairs:
            row["hand_lpips"] = _mean([hand_lpips(lpips, a, b) for a, b in pairs])
        if context.get("skin") is not None:
            row["hand_shape_iou"] = _mean(hand_shape_iou(image, mask, context["skin"], context.get("other_skin")))
    return row


def image_context(ds: VitonDataset, person: str, cloth: str, shape, hand_mask) -> dict:
    """What a result of (person, cloth) is scored on: its inpaint region, the true garment, the hand mask,
    and for paired results the skin colour and the other true skin."""
    paired = person == cloth
    context = {"hand_mask": hand_mask, "garment": true_garment(ds, person, unpaired=not paired)}
    try:
        context["region"] = inpaint_region(ds, person, shape)
    except (DataError, ValueError):  # no agnostic mask and no parse/pose to draw one: whole-image scores only
        context["region"] = None
    if paired and hand_mask is not None:
        context["skin"] = person_skin(ds, person)
        context["other_skin"] = other_skin(ds.read_parse(person), hand_mask)
    return context


def score_folder(folder: Path, names: list[str], truths: dict, contexts: dict, references: dict, lpips: Lpips,
                 detector=None, progress: bool = True) -> dict:
    """Per-image and mean scores of one folder of results."""
    per_image = {}
    for name in tqdm(names, desc=f"scoring {folder.name}", disable=not progress):
        image = imaging.read_image(folder / name)
        truth, row = truths.get(name), {}
        if truth is not None:
            _check_size(image, truth, folder / name, "truth")
            row = score_image(image, truth, contexts.get(name, {}), lpips)
        if detector is not None and references.get(name):
            row["detector"] = match_detections(references[name], detector.detect(image))
        per_image[name] = row
    means = {k: _mean([r.get(k) for r in per_image.values()]) for k in MEANS if lpips.available or "lpips" not in k}
    means["hand_crops"] = int(sum(r.get("hand_crops", 0) for r in per_image.values()))
    if detector is not None:
        means["detector"] = summarise_matches([m for r in per_image.values() for m in r.get("detector", [])])
    return {"mean": means, "images": per_image}


def evaluate(results, root, out, baseline=None, split: str = "test", hand_mask_dir=None,
             lpips_weights: str | os.PathLike | None = None, inception_weights: str | os.PathLike | None = None,
             detect: bool = True, progress: bool = True) -> dict:
    from .report import write_html

    results, out = Path(results), Path(out)
    folders = {"results": results} | ({"baseline": Path(baseline)} if baseline else {})
    for folder in folders.values():
        if not folder.is_dir():
            raise DataError(folder, "results folder not found")
    ds = VitonDataset(root, split)
    pairs = result_pairs(results)
    names = sorted(n for n in pairs if all((f / n).exists() for f in folders.values()))
    # a result is scored only against a person and a garment of this split (names from a report or a file
    # name are never followed outside the dataset)
    people, garments = ds.files("image"), ds.files("cloth")
    skipped = {n: f"names no person and garment of {ds.dir} ({pairs[n][0]!r}, {pairs[n][1]!r}): not scored"
               for n in names if not (is_plain_name(pairs[n][0]) and is_plain_name(pairs[n][1])
                                      and pairs[n][0] in people and pairs[n][1] in garments)}
    names = [n for n in names if n not in skipped]
    if not names:
        raise DataError(results, "no result image found (expected <person>__<garment>.png files)" +
                        (f"; {len(skipped)} name no person of the dataset" if skipped else ""))
    truths = {n: _truth(ds, *pairs[n]) for n in names}
    masks = {n: _hand_mask(ds, pairs[n][0], hand_mask_dir) for n in names}
    contexts = {n: image_context(ds, *pairs[n], truths[n].shape[:2], masks[n]) for n in names if truths[n] is not None}
    references = {}
    for n in names:
        keypoints = ds.read_keypoints(pairs[n][0]) if pairs[n][0] in ds.files("openpose_json") else None
        references[n] = reference_hands(keypoints) if keypoints is not None else []
    lpips, inception = Lpips(lpips_weights), Inception(inception_weights)
    detector = None
    if detect:
        from ..hands.detector import HandDetector

        detector = HandDetector(min_confidence=0.3)
    report = {"root": str(root), "split": split, "images": len(names), "skipped": skipped,
              "folders": {k: str(v) for k, v in folders.items()},
              "not_computed": {m.__class__.__name__.lower(): m.reason for m in (lpips, inception) if not m.available},
              "scores": {}}
    real_features = inception.features([ds.read_image(i) for i in ds.ids]) if inception.available else None
    for key, folder in folders.items():
        scores = score_folder(folder, names, truths, contexts, references, lpips, detector, progress)
        if real_features is not None:
            fake = inception.features([imaging.read_image(folder / n) for n in names])
            scores["mean"]["fid"] = fid_from_features(fake, real_features) if len(names) > 1 else float("nan")
            scores["mean"]["kid"] = kid_from_features(fake, real_features, subsets=50, subset_size=100)[0]
        report["scores"][key] = scores
    if detector is not None:
        detector.close()
    if baseline:
        record = results / "correct.json"
        corrections = read_json(record).get("images", {}) if record.exists() else {}
        outside = {}
        for n in names:
            before, after = imaging.read_image(Path(baseline) / n), imaging.read_image(results / n)
            if before.shape != after.shape:
                raise DataError(results / n, f"size {after.shape[:2]} differs from the baseline "
                                             f"{Path(baseline) / n}'s {before.shape[:2]}")
            allowed = allowed_region(before.shape[:2], corrections.get(n, {}).get("hands"), masks[n])
            outside[n] = changes_outside(before, after, allowed)
        report["outside_hands"] = {"changed_pixels": sum(v["changed_pixels"] for v in outside.values()),
                                   "max_difference": max(v["max_difference"] for v in outside.values()),
                                   "allowed": "correct.json crop boxes" if corrections else "hand masks + 8 px"}
    write_json(out / "report.json", report)
    write_text(out / "report.html", write_html(report, folders, names, truths, masks))
    return report
