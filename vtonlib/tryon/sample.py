"""``vton tryon sample``: try garments on for every pair of a split, one PNG per pair.

Pairs already written are skipped (an interrupted run resumes); a pair that fails is reported in
``tryon.json`` and the rest go on. Under ``accelerate launch`` each process takes every n-th pair, so
thousands of pairs spread over several GPUs with no coordination.
"""

from __future__ import annotations


from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from .. import imaging
from ..hands.batch import read_hand_mask
from ..fileio import DataError, read_json, write_json
from .data import garment_crop, model_example
from .pipeline import TryOnPipeline

REPORT = "tryon.json"


def result_name(person_id: str, cloth_id: str) -> str:
    return f"{person_id}__{cloth_id}.png"


def to_photo_size(image: np.ndarray, example: dict) -> np.ndarray:
    """The model-size result at the photo's size, with every pixel outside the region from the photo."""
    h, w = example["photo"].shape[:2]
    full = imaging.resize_image(image, (h, w))
    return np.where(example["region"][..., None], full, example["photo"])


def try_on(pipe: TryOnPipeline, examples: list[dict], num_inference_steps: int = 25, seed: int = 0,
           strength: float = 1.0, guidance_scale: float = 1.0) -> list[np.ndarray]:
    """Results at the photos' size for a batch of :func:`~vtonlib.tryon.data.tryon_example` dicts."""
    clip_size = pipe.model.config.clip["image_size"]
    stack = lambda key: torch.stack([e[key] for e in examples])  # noqa: E731
    garments = torch.stack([e["garment"] if "garment" in e else garment_crop(e["cloth"], e["cloth_mask"], clip_size)
                            for e in examples])
    generator = torch.Generator().manual_seed(seed)
    # DCI-VTON noises the latent of warp_feat (the photo with the warped garment in the region) to t = 999
    start_from_feat = pipe.sampling["start"] == "t_max" and strength == 1
    init = stack("warp_feat") if start_from_feat and all("warp_feat" in e for e in examples) else None
    images = pipe(stack("inpaint_image"), stack("inpaint_mask"), garments, source_image=stack("image"),
                  num_inference_steps=num_inference_steps, strength=strength, guidance_scale=guidance_scale,
                  generator=generator, init_image=init)
    return [to_photo_size(img, e) for img, e in zip(images, examples)]


def sample_split(root, model_dir, out, split: str = "test", unpaired: bool = False, scheduler: str = "dpm",
                 num_inference_steps: int = 25, seed: int = 0, batch_size: int = 8, strength: float = 1.0,
                 progress: bool = True, preserve_hands: str | Path | None = None,
                 pipeline: TryOnPipeline | None = None) -> dict:
    """Write ``OUT/<person>__<garment>.png`` for every pair; return the report. ``preserve_hands``: a
    hand-mask folder (``vton hands``); each person's hands are then kept, not repainted. ``pipeline``: the
    model of ``model_dir`` already loaded (its sampler is set to ``scheduler``)."""
    from accelerate import PartialState

    from ..data.reader import VitonDataset
    from ..validate import Progress, output_dir

    state = PartialState()
    # everything a run could trip on before the model loads: the output folder, the dataset, its pairs file
    out = output_dir(out)
    ds = VitonDataset(root, split)
    pairs = ds.pairs(unpaired=unpaired)[state.process_index::state.num_processes]
    if pipeline is None:
        pipe = TryOnPipeline.from_pretrained(model_dir, scheduler=scheduler, device=str(state.device))
    else:
        pipe = pipeline
        pipe.set_scheduler(scheduler)
    report_path = out / (REPORT if state.num_processes == 1 else f"tryon.{state.process_index}.json")
    report = read_json(report_path) if report_path.exists() else {"images": {}}
    report.update({"root": str(root), "split": split, "unpaired": unpaired, "model": str(model_dir),
                   "scheduler": scheduler, "steps": num_inference_steps, "seed": seed, "strength": strength,
                   "preserve_hands": str(preserve_hands) if preserve_hands else None})
    # a pairs file may list a person twice (paired mode then asks for one result twice): once is enough
    todo = list(dict.fromkeys((p, c) for p, c in pairs if not (out / result_name(p, c)).exists()))
    written = 0
    Progress.start(len(todo))
    for start in tqdm(range(0, len(todo), batch_size), desc="trying on", disable=not progress):
        examples = []
        for person_id, cloth_id in todo[start:start + batch_size]:
            try:
                hand_mask = read_hand_mask(preserve_hands, person_id) if preserve_hands else None
                examples.append(model_example(ds, person_id, cloth_id, pipe.model.config, unpaired, hand_mask))
            except (DataError, ValueError) as e:  # this pair is reported; the others go on
                report["images"][result_name(person_id, cloth_id)] = {"error": str(e)}
        if not examples:
            continue
        for example, image in zip(examples, try_on(pipe, examples, num_inference_steps, seed, strength)):
            name = result_name(example["id"], example["cloth_id"])
            imaging.write_image(out / name, image)
            report["images"][name] = {"person": example["id"], "cloth": example["cloth_id"],
                                      "warp": example["warp_source"]}
            written += 1
        Progress.step(len(todo[start:start + batch_size]))
    # The report describes the whole folder: results an earlier (interrupted) run wrote are listed too
    for person_id, cloth_id in pairs:
        name = result_name(person_id, cloth_id)
        if (out / name).exists() and "error" in report["images"].get(name, {"error": "not listed"}):
            report["images"][name] = {"person": person_id, "cloth": cloth_id, "note": "written by an earlier run"}
    report["written_this_run"] = written
    write_json(report_path, report)
    return report



