"""The built-in sample dataset: synthetic people in VITON-HD's exact layout, with exact ground truth.

``make_sample(out)`` (CLI: ``vton sample OUT``) writes ``train/`` and ``test/`` splits with every folder
VITON-HD has, drawn so that all annotations are exact, plus what real data lacks under
``<split>/gt/``: true hand masks and hand keypoints, the true worn garment and the flow that produced
it, and, for the unpaired test pairs, the true try-on result. Notebook 01 tours it.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ... import imaging
from ...fileio import read_json, write_arrays, write_json, write_text
from .. import labels as L
from ..agnostic import agnostic_image, agnostic_mask, parse_agnostic
from ..pose import render_keypoints, write_keypoints
from .garment import draw_garment, random_design
from .person import POSE_PAIRS, random_person
from .render import Rendering, keypoints, render

GENERATOR_VERSION = 2
MANIFEST = "sample.json"


def parse_size(text: str) -> tuple[int, int]:
    """'256x192' -> (256, 192), checked to be a multiple of 64x48 (VITON-HD's 4:3 at any scale)."""
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"size must look like HEIGHTxWIDTH, e.g. 256x192; got {text!r}") from None
    check_size((h, w))
    return h, w


def check_size(size: tuple[int, int]) -> None:
    h, w = size
    if h <= 0 or h % 64 or w * 64 != h * 48:
        raise ValueError(f"size must be k*64 x k*48 (256x192, 512x384, 1024x768, ...); got {h}x{w}")


@dataclass
class SampleSpec:
    """One sample's ingredients; each drawn from its own random stream so samples never shift."""

    index: int
    id: str
    split: str
    poses: tuple[str, str]


def plan(n: int, seed: int, test_fraction: float) -> list[SampleSpec]:
    """Ids, splits and arm poses of ``n`` samples. Poses cycle through every pair, so any dozen
    consecutive samples (the test split at the default n=48) holds each hard case at least once."""
    if n < 2:
        raise ValueError(f"n must be at least 2 (one train and one test sample), got {n}")
    n_test = min(max(1, int(round(n * test_fraction))), n - 1)
    rng = np.random.default_rng([seed, 7])
    order = rng.permutation(len(POSE_PAIRS))
    specs = []
    for i in range(n):
        pair = POSE_PAIRS[order[i % len(POSE_PAIRS)]]
        if np.random.default_rng([seed, i, 9]).random() < 0.5:
            pair = pair[::-1]
        specs.append(SampleSpec(i, f"{i:05d}_00", "test" if i >= n - n_test else "train", pair))
    return specs


def make_person(seed: int, spec: SampleSpec, size):
    return random_person(np.random.default_rng([seed, spec.index, 0]), size, spec.poses)


def make_garment(seed: int, spec: SampleSpec, size):
    return draw_garment(random_design(np.random.default_rng([seed, spec.index, 1])), size)


def make_sample(out: str | os.PathLike, n: int = 48, size: tuple[int, int] = (256, 192), seed: int = 0,
                test_fraction: float = 0.25, progress: bool = True) -> Path:
    """Write the sample dataset to ``out`` and return its path.

    Deterministic for a seed. Resumable: finished samples are kept, a sample whose files are incomplete
    is drawn again. A folder made with other parameters is refused rather than mixed.

    Example::

        >>> from vtonlib.data.sample import make_sample
        >>> root = make_sample("data/sample", n=48, size=(256, 192), seed=0)
    """
    check_size(size)
    if int(n) < 1 or not 0 <= test_fraction < 1:  # checked before anything is written
        raise ValueError(f"a sample needs n >= 1 people and a test fraction in [0, 1); got n={n}, "
                         f"test_fraction={test_fraction}")
    out = Path(out)
    params = {"generator_version": GENERATOR_VERSION, "n": n, "size": list(size), "seed": seed,
              "test_fraction": test_fraction}
    manifest_path = out / MANIFEST
    if manifest_path.exists():
        old = read_json(manifest_path)
        same_but_version = {**old.get("params", {}), "generator_version": GENERATOR_VERSION} == params
        if old.get("params") != params and same_but_version:
            # drawn by an older version of this generator: it is ours to redraw
            shutil.rmtree(out)
            out.mkdir(parents=True)
            old = {}
        if old and old.get("params") != params:
            raise ValueError(f"{out} holds a sample made with {old.get('params')}; asked for {params}. "
                             f"Choose another folder or delete this one.")
        if old.get("complete"):
            return out
    elif out.exists() and any(out.iterdir()):
        raise ValueError(f"{out} exists and is not a sample folder (no {MANIFEST}); choose an empty folder")
    write_json(manifest_path, {"params": params, "complete": False})

    specs = plan(n, seed, test_fraction)
    test = [s for s in specs if s.split == "test"]
    for split in ("train", "test"):
        lines = []
        members = [s for s in specs if s.split == split]
        for k, s in enumerate(members):
            # VITON-HD's test pairs are unpaired: each person with another person's garment
            partner = members[(k + 1) % len(members)] if split == "test" and len(members) > 1 else s
            lines.append(f"{s.id}.jpg {partner.id}.jpg\n")
        write_text(out / f"{split}_pairs.txt", "".join(lines))

    unpaired = {s.id: test[(k + 1) % len(test)] for k, s in enumerate(test)} if len(test) > 1 else {}
    for spec in tqdm(specs, desc="drawing sample", disable=not progress):
        if not _complete(out, spec):
            _write_one(out, seed, spec, size, unpaired.get(spec.id))
    write_json(manifest_path, {"params": params, "complete": True,
                               "splits": {sp: sum(s.split == sp for s in specs) for sp in ("train", "test")}})
    return out


def _files(spec: SampleSpec, unpaired: bool) -> list[str]:
    i = spec.id
    files = [f"image/{i}.jpg", f"cloth/{i}.jpg", f"cloth-mask/{i}.jpg", f"image-parse-v3/{i}.png",
             f"image-parse-agnostic-v3.2/{i}.png", f"openpose_json/{i}_keypoints.json",
             f"openpose_img/{i}_rendered.png", f"image-densepose/{i}.jpg", f"agnostic-v3.2/{i}.jpg",
             f"agnostic-mask/{i}_mask.png", f"gt/hand-mask/{i}.png", f"gt/cloth-warp/{i}.png",
             f"gt/cloth-warp-mask/{i}.png", f"gt/cloth-flow/{i}.npz", f"gt/meta/{i}.json"]
    if unpaired:
        files += [f"gt/unpaired-image/{i}.png", f"gt/unpaired-cloth-warp/{i}.png",
                  f"gt/unpaired-cloth-warp-mask/{i}.png", f"gt/unpaired-cloth-flow/{i}.npz",
                  f"gt/unpaired-hand-mask/{i}.png"]
    return files


def _complete(out: Path, spec: SampleSpec) -> bool:
    split = out / spec.split
    return all((split / f).exists() for f in _files(spec, spec.split == "test"))


def _write_one(out: Path, seed: int, spec: SampleSpec, size, partner: SampleSpec | None) -> None:
    d = out / spec.split
    i = spec.id
    person = make_person(seed, spec, size)
    garment = make_garment(seed, spec, size)
    r = render(person, garment)
    kp = keypoints(r, person, np.random.default_rng([seed, spec.index, 2]))

    imaging.write_image(d / f"image/{i}.jpg", r.image)
    imaging.write_image(d / f"cloth/{i}.jpg", garment.image)
    imaging.write_mask(d / f"cloth-mask/{i}.jpg", garment.mask)
    imaging.write_labels(d / f"image-parse-v3/{i}.png", r.parse, L.LIP_PALETTE)
    imaging.write_labels(d / f"image-parse-agnostic-v3.2/{i}.png", parse_agnostic(r.parse, kp.body), L.LIP_PALETTE)
    write_keypoints(d / f"openpose_json/{i}_keypoints.json", kp)
    imaging.write_image(d / f"openpose_img/{i}_rendered.png", render_keypoints(kp, size))
    # VITON-HD stores DensePose as 4:2:0 JPEG; at a quarter of its size that would smear the colour of a
    # 20-pixel hand into its neighbours, so the sample keeps full colour resolution (still a JPEG).
    imaging.write_image(d / f"image-densepose/{i}.jpg", L.render_densepose(r.densepose), full_chroma=True)
    mask = agnostic_mask(r.parse, kp.body)
    imaging.write_image(d / f"agnostic-v3.2/{i}.jpg", agnostic_image(r.image, mask))
    imaging.write_mask(d / f"agnostic-mask/{i}_mask.png", mask)
    _write_truth(d, i, r, prefix="")
    meta = {
        "id": i, "split": spec.split, "poses": {"right": spec.poses[0], "left": spec.poses[1]},
        "garment": {k: v for k, v in garment.description.items() if isinstance(v, (str, int, float))},
        "person": {"hair": person.hair_style, "bottom": person.bottom, "skin": list(person.skin)},
        "hands": {side: {"points": np.round(h["points"], 3).tolist(), "visible": h["visible"].tolist(),
                         "pose": h["pose"], "gesture": h["gesture"]} for side, h in r.hands.items()},
    }
    if partner is not None:
        worn = render(person, make_garment(seed, partner, size))
        imaging.write_image(d / f"gt/unpaired-image/{i}.png", worn.image)
        _write_truth(d, i, worn, prefix="unpaired-")
        meta["unpaired_cloth"] = partner.id
    write_json(d / f"gt/meta/{i}.json", meta)


def _write_truth(d: Path, i: str, r: Rendering, prefix: str) -> None:
    imaging.write_image(d / f"gt/{prefix}cloth-warp/{i}.png", r.warped_cloth())
    imaging.write_mask(d / f"gt/{prefix}cloth-warp-mask/{i}.png", r.garment_mask)
    write_arrays(d / f"gt/{prefix}cloth-flow/{i}.npz", flow=r.flow)
    imaging.write_mask(d / f"gt/{prefix}hand-mask/{i}.png", r.hand_mask)
