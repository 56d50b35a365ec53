"""Warp garments with a trained (or released) model, and write them where DCI-VTON reads them.

As the original: flows are estimated at the model's size (256x192 at full scale), upsampled, and the
garment is sampled at the photo's full resolution. Outputs per person id, beside the dataset's folders:
``cloth-warp/ID.jpg`` and ``cloth-warp-mask/ID.jpg`` (paired), or ``unpaired-cloth-warp*/`` for the
pairs file's garments.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from .. import imaging
from ..checkpoint import load_model, read_legacy
from ..data.reader import VitonDataset
from ..fileio import DataError, write_json
from .data import cloth_tensors, person_representation
from .model import AFWM, WarpConfig, warp

REPORT = "warp.json"


# A released state dict records nothing about grid_sample: DCI-VTON's warp_viton.pth (the course's
# full-scale recipe) was trained where its default is align_corners=False; PF-AFN's own release needs True.
RELEASED_ALIGN_CORNERS = False


def load_warp_model(path: str | os.PathLike, device: str = "cpu", align_corners: bool | None = None) -> AFWM:
    """A model from this course's ``.safetensors``, or PF-AFN/DCI-VTON's released ``warp_viton.pth``.

    ``align_corners`` overrides the grid_sample convention: a course model records its own; a released file
    defaults to DCI-VTON's (False); PF-AFN's original release needs True."""
    path = Path(path)
    if path.suffix == ".safetensors":
        state, meta = load_model(path, device)
        if not isinstance(meta.get("config"), dict) or "channels" not in meta["config"]:
            raise DataError(path, "not a warping model: no warp config in its metadata (a try-on or LoRA file?)")
        config = WarpConfig.from_dict(meta["config"])
    else:
        state = {k.removeprefix("module."): v for k, v in read_legacy(path).items()}  # DDP-saved files
        config = WarpConfig(align_corners=RELEASED_ALIGN_CORNERS, inputs="dci-vton")
    if align_corners is not None:
        config.align_corners = bool(align_corners)
    model = AFWM(config)
    if path.suffix != ".safetensors":
        state.setdefault("aflow_net.weight", model.aflow_net.weight)  # saved before a forward: absent
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise DataError(path, f"does not match the warping model: missing {missing[:5]}, unexpected {unexpected[:5]}")
    return model.to(device).eval()


def model_inputs(config: WarpConfig, ds: VitonDataset, person_id: str, cloth_id: str):
    """(person representation, garment) at the model's size, formed as its config says it was trained."""
    if config.inputs == "dci-vton":
        from ..data import dci

        h, w = config.size  # eval_PBAFN_viton.py: the dataset at twice the flow size, then interpolated down
        item = dci.warp_item(ds, person_id, cloth_id, short=2 * min(h, w), model_inputs_only=True)
        down = dci.afwm_inputs(item, (h, w))
        return down["input2"], down["clothes_down"]
    return person_representation(ds, person_id, config.size), cloth_tensors(ds, cloth_id, config.size)[0]


@torch.no_grad()
def warp_full_resolution(model: AFWM, person: torch.Tensor, cloth_small: torch.Tensor, cloth: np.ndarray,
                         cloth_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, torch.Tensor]:
    """Flow at the model's size, garment sampled at full size: (warped RGB uint8, soft mask in [0, 1], flow)."""
    flow = model(person[None], cloth_small[None]).flow
    h, w = cloth.shape[:2]
    flow_full = F.interpolate(flow, size=(h, w), mode="bilinear", align_corners=False)
    ac = model.config.align_corners
    warped = warp(imaging.to_tensor(cloth)[None], flow_full, align_corners=ac)
    mask = warp(imaging.mask_to_tensor(cloth_mask)[None], flow_full, padding_mode="zeros", align_corners=ac)
    return imaging.to_image(warped[0]), mask[0, 0].clamp(0, 1).numpy(), flow[0]


def apply_warp(root, checkpoint, split: str = "test", unpaired: bool = False, progress: bool = True,
               align_corners: bool | None = None) -> dict:
    """Write the warped garment and mask for every pair of ``root/split``; resumable; returns the report."""
    from ..validate import Progress

    ds = VitonDataset(root, split)
    pairs = ds.pairs(unpaired=unpaired)  # a bad pairs file is refused before the model loads
    model = load_warp_model(checkpoint, align_corners=align_corners)
    prefix = "unpaired-" if unpaired else ""
    cloth_dir, mask_dir = ds.dir / f"{prefix}cloth-warp", ds.dir / f"{prefix}cloth-warp-mask"
    report_path = cloth_dir / REPORT
    report = json.loads(report_path.read_text()) if report_path.exists() else {"images": {}}
    report.update({"root": str(root), "split": split, "unpaired": unpaired, "checkpoint": str(checkpoint),
                   "align_corners": model.config.align_corners, "inputs": model.config.inputs})
    done = 0
    Progress.start(len(pairs))
    for person_id, cloth_id in tqdm(pairs, desc=f"warping ({prefix or 'paired'})", disable=not progress):
        target, target_mask = cloth_dir / f"{person_id}.jpg", mask_dir / f"{person_id}.jpg"
        if target.exists() and target_mask.exists() and "error" not in report["images"].get(person_id, {}):
            # done in an earlier run (listed, even if that run was killed before it wrote its report)
            report["images"].setdefault(person_id, {"cloth": cloth_id, "note": "written by an earlier run"})
            Progress.step()
            continue
        try:
            cloth = ds.cloth(cloth_id)
            person, small = model_inputs(model.config, ds, person_id, cloth_id)
            image, mask, _ = warp_full_resolution(model, person, small, cloth.image, cloth.mask)
            imaging.write_image(target, image)
            imaging.write_grey(target_mask, np.rint(mask * 255).astype(np.uint8))  # soft, as the original
            report["images"][person_id] = {"cloth": cloth_id}
            done += 1
        except DataError as e:  # one bad sample is a line in the report, not the end of the run
            report["images"][person_id] = {"cloth": cloth_id, "error": str(e)}
        Progress.step()
    report["written_this_run"] = done
    write_json(report_path, report)
    return report

