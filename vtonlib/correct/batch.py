"""``vton correct``: correct the hands of a folder of try-on results (``vton tryon sample``'s output).

Each result is read, its hands found (a hand-mask folder, or the detector), corrected and written under
the same name. Results already written are skipped (an interrupted run resumes); a result that fails (a
missing mask, an unreadable file) is reported in ``correct.json`` and the others go on. Inputs are never
modified.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .. import imaging
from ..data.reader import VitonDataset
from ..data.skin import face_skin
from ..fileio import DataError, read_json, write_json
from ..hands.batch import read_hand_mask
from ..hands.masks import from_detector
from ..lora.adapter import fuse_lora
from ..tryon.data import garment_crop, inpaint_region, preserve_hands
from ..tryon.pipeline import TryOnPipeline
from ..validate import Progress, is_plain_name
from ..hands.masks import hands_from_mask
from .hands import HandSelection, select_hands
from .loop import CorrectionConfig, correct_many, lora_draws_hint

REPORT = "correct.json"


def before_after(before: np.ndarray, after: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """One picture: before | after | where it changed (paste weight in red)."""
    changed = (before.astype(np.float32) * 0.5 + np.array([255, 0, 0]) * alpha[..., None] * 0.5).astype(np.uint8)
    return np.concatenate([before, after, changed], axis=1)


def tryon_region(ds: VitonDataset, person_id: str, size, preserved: Path | None) -> np.ndarray:
    """The pixels the try-on generated (its inpaint region, less the hands it preserved): the only ones a
    correction may change. The others were copied from the person's photo."""
    region = inpaint_region(ds, person_id, size)
    if preserved is not None:
        region = preserve_hands(region, imaging.read_mask(preserved / f"{person_id}.png"))
    return region


def result_pairs(results: Path) -> dict[str, tuple[str, str]]:
    """result file name -> (person id, garment id), from ``tryon.json`` or the ``person__garment`` name."""
    report = results / "tryon.json"
    known = {}
    if report.exists():
        for name, entry in read_json(report).get("images", {}).items():
            if "person" in entry:
                known[name] = (entry["person"], entry["cloth"])
    for path in sorted(results.glob("*.png")):
        if path.name not in known and "__" in path.stem:
            known[path.name] = tuple(path.stem.split("__", 1))
    # names are files of this folder and ids of the dataset: nothing a report says may lead elsewhere
    return {name: ids for name, ids in known.items()
            if is_plain_name(name) and len(ids) == 2 and all(is_plain_name(i) for i in ids)}


def guess_skin(ds: VitonDataset, person_id: str, needed: bool):
    """The person's skin colour, read off the face of their photo, when the LoRA's first guess needs it."""
    if not needed:
        return None
    if person_id not in ds.files("parse"):
        raise DataError(ds.path("parse", person_id), "missing: the hand LoRA's first guess reads the skin colour "
                                                      "off the face of the parse")
    return face_skin(ds.read_image(person_id), ds.read_parse(person_id))


def correct_results(results, root, model_dir, out, lora=None, split: str = "test", hand_mask_dir=None,
                    detect: bool = False, config: CorrectionConfig | None = None,
                    selection: HandSelection | None = None, save_masks: bool = False, save_grids: bool = False,
                    enabled: bool = True, progress: bool = True, refiner=None, batch_size: int = 16,
                    pipeline: TryOnPipeline | None = None) -> dict:
    """Correct every result in ``results``; write ``OUT/<name>.png`` and ``OUT/correct.json``. ``refiner``:
    an :class:`~vtonlib.correct.refiner.SDInpaintRefiner` to use instead of the try-on model (it carries
    its own LoRA). ``pipeline``: the model of ``model_dir`` already loaded; ``lora`` is fused into its
    weights at the config's ``lora_scale`` unless it already is (it then keeps it: use it for this only)."""
    results, out = Path(results), Path(out)
    if not results.is_dir():
        raise DataError(results, "results folder not found")
    if out.resolve() == results.resolve():
        raise ValueError("--out must differ from the results folder: inputs are never modified")
    if hand_mask_dir is None and not detect:
        default = Path(root) / split / "hand-mask"
        hand_mask_dir = default if default.is_dir() else None
        detect = hand_mask_dir is None
    cfg, selection = config or CorrectionConfig(), selection or HandSelection()
    ds = VitonDataset(root, split)
    pipe = (pipeline or TryOnPipeline.from_pretrained(model_dir)) if enabled and refiner is None else None
    fused = getattr(pipe.model.unet, "_fused_lora", None) if pipe is not None else None
    if fused is not None and fused != (str(lora), float(cfg.lora_scale)):
        raise ValueError(f"the pipeline has {fused[0]} fused in at lora_scale {fused[1]}; this run needs "
                         f"{lora} at {cfg.lora_scale}: load the model again")
    if pipe is not None and lora is not None and fused is None:  # one lora_scale for the run: into the weights
        fuse_lora(pipe.model.unet, lora, cfg.lora_scale)
    if enabled and cfg.hand_hint is None:  # settled once for the run, from the LoRA's metadata
        cfg = replace(cfg, hand_hint=refiner is None and lora_draws_hint(pipe, lora))
    needs_skin = enabled and bool(cfg.hand_hint)
    detector = None
    if enabled and (detect or selection.fix_below is not None):
        from ..hands.detector import HandDetector

        detector = HandDetector(min_confidence=0.3)
    report_path = out / REPORT
    report = read_json(report_path) if report_path.exists() else {"images": {}}
    report.update({"results": str(results), "root": str(root), "split": split, "model": str(model_dir),
                   "lora": str(lora) if lora else None, "hand_correction": enabled,
                   "refiner": type(refiner).__name__ if refiner is not None else "try-on model",
                   "hands_from": str(hand_mask_dir) if hand_mask_dir else "detector",
                   "config": asdict(cfg), "selection": asdict(selection)})
    pairs = result_pairs(results)
    tryon_report = read_json(results / "tryon.json") if (results / "tryon.json").exists() else {}
    preserved = Path(tryon_report["preserve_hands"]) if tryon_report.get("preserve_hands") else None
    todo = [name for name in sorted(pairs) if not (out / name).exists()]
    for name in sorted(pairs):  # written by an earlier run that stopped before it could report them
        if (out / name).exists() and "error" in report["images"].get(name, {"error": "not listed"}):
            report["images"][name] = {"person": pairs[name][0], "cloth": pairs[name][1],
                                      "note": "written by an earlier run"}
    Progress.start(len(todo))
    written = 0
    clip_size = pipe.model.config.clip["image_size"] if pipe else 0
    pending: list[dict] = []  # read and prepared, waiting for the batch's refiner call

    def flush() -> int:
        """Refine the pending images' hands in one batch, write them; the number written."""
        if not pending:
            return 0
        items = [(job["image"], job["hands"], job["garment"], job["editable"], job["skin"]) for job in pending]
        try:
            corrections = correct_many(items, refiner or pipe, config=cfg)
        except (ValueError, RuntimeError) as e:  # the batch's images are reported; the next batches go on
            for job in pending:
                report["images"][job["name"]] = {"error": f"correction failed: {e}"}
            pending.clear()
            return 0
        for job, result in zip(pending, corrections):
            name = job["name"]
            imaging.write_image(out / name, result.image)
            if save_masks:
                imaging.write_grey(out / "masks" / name, (result.alpha * 255).round().astype(np.uint8))
            if save_grids:
                imaging.write_image(out / "grids" / name, before_after(job["image"], result.image, result.alpha))
            report["images"][name] = {"person": job["person"], "cloth": job["cloth"], "hands": result.hands,
                                      "skipped": job["skipped"] + result.skipped, "note": result.note,
                                      "seconds": round(result.seconds, 3)}
        count = len(pending)
        Progress.step(count)
        pending.clear()
        write_json(report_path, report)  # after every batch: an interruption loses at most one batch
        return count

    for name in tqdm(todo, desc="correcting hands", disable=not progress):
        person_id, cloth_id = pairs[name]
        try:
            image = imaging.read_image(results / name)
            if not enabled:  # --hand_correction False: the results pass through unchanged
                imaging.write_image(out / name, image)
                report["images"][name] = {"hands": [], "note": "hand correction disabled"}
                written += 1
                continue
            if hand_mask_dir is not None:
                mask = read_hand_mask(hand_mask_dir, person_id, "write the folder with `vton hands`, or use --detect")
                hands = hands_from_mask(mask, "mask file")
            else:
                hands = from_detector(image, detector)
            hands, skipped = select_hands(hands, selection, image, detector)
            garment = None  # a second refiner has a prompt instead
            if pipe is not None:
                cloth = ds.cloth(cloth_id)
                garment = garment_crop(cloth.image, cloth.mask, clip_size)
            pending.append({"name": name, "person": person_id, "cloth": cloth_id, "image": image, "hands": hands,
                            "skipped": skipped, "garment": garment, "skin": guess_skin(ds, person_id, needs_skin),
                            "editable": tryon_region(ds, person_id, image.shape[:2], preserved)})
        except (DataError, ValueError, OSError) as e:  # reported; the other results go on
            report["images"][name] = {"error": str(e)}
            write_json(report_path, report)
            Progress.step()
        if len(pending) >= (1 if refiner is not None else batch_size):  # SD draws one noise per batch
            written += flush()
    written += flush()
    if detector is not None:
        detector.close()
    report["written_this_run"] = written
    write_json(report_path, report)
    return report
