"""``vton hands``: write a hand mask (lossless PNG, 0/255) per image and a ``hands.json`` report.

Works on a VITON-HD root (any method) and on a plain folder of photos (the detector). An image with no
hand gets an empty mask and a line in the report; an unreadable file gets a line, not a crash. A run
that is interrupted resumes: images already written and reported are not computed again.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from functools import cached_property
from pathlib import Path

from tqdm.auto import tqdm

from .. import imaging
from ..data.layout import FOLDER, IMAGE_EXTENSIONS, splits_of
from ..data.reader import VitonDataset
from ..fileio import DataError, read_json, write_json
from ..validate import Progress
from .masks import METHODS, for_person

REPORT = "hands.json"


class _Lazy:
    """A person whose files are read only when a method asks for them (keypoint masks never decode
    the photo, for instance)."""

    def __init__(self, sample_id: str, ds: VitonDataset | None = None, photo: Path | None = None):
        self.id, self._ds, self._photo = sample_id, ds, photo

    @cached_property
    def size(self) -> tuple[int, int]:
        return imaging.image_size(self._photo if self._photo else self._ds.path("image", self.id))

    @cached_property
    def image(self):
        return imaging.read_image(self._photo if self._photo else self._ds.path("image", self.id))

    def _optional(self, key: str, read):
        if self._ds is None or self.id not in self._ds.files(key):
            return None
        return read(self.id)

    @cached_property
    def keypoints(self):
        return self._optional("openpose_json", self._ds.read_keypoints if self._ds else None)

    @cached_property
    def densepose(self):
        return self._optional("densepose", self._ds.read_densepose if self._ds else None)

    @cached_property
    def parse(self):
        return self._optional("parse", self._ds.read_parse if self._ds else None)


class _LazyDetector:
    """Starts MediaPipe on first use, so runs that never need it never pay for it."""

    def __init__(self, **kwargs):
        self._kwargs, self._detector = kwargs, None

    def detect(self, image):
        if self._detector is None:
            from .detector import HandDetector

            self._detector = HandDetector(**self._kwargs)
        return self._detector.detect(image)


def photos_in(folder: Path) -> tuple[dict[str, Path], dict[str, str]]:
    """Image files of a plain folder by file stem, and the files skipped because another photo has the same
    stem (``a.jpg`` and ``a.png`` would write one mask, ``a.png``): {file name: why}."""
    photos, clashes = {}, {}
    for p in sorted(folder.iterdir()):
        if not (p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith(".")):
            continue
        if p.stem in photos:
            clashes[p.name] = (f"{p}: skipped: {photos[p.stem].name} has the same name, and both would write "
                               f"{p.stem}.png; rename one")
        else:
            photos[p.stem] = p
    return photos, clashes


def read_hand_mask(folder: str | os.PathLike, person_id: str, hint: str = "write it with `vton hands`"):
    """The mask ``vton hands`` wrote for ``person_id`` into ``folder``; a missing file is an error naming it."""
    path = Path(folder) / f"{person_id}.png"
    if not path.exists():
        raise DataError(path, f"hand mask missing ({hint})")
    return imaging.read_mask(path)


def write_hand_masks(root: str | os.PathLike, out: str | os.PathLike | None = None, split: str = "test",
                     method: str = "auto", width: float = 1.0, detector_confidence: float = 0.3,
                     progress: bool = True) -> dict:
    """Write ``OUT/<id>.png`` for every image and ``OUT/hands.json``; return the report.

    ``root`` is a VITON-HD root (then ``out`` defaults to ``root/split/hand-mask``) or a folder of photos
    (then only the detector can see hands, and ``out`` is required).
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")
    root = Path(root)
    if not root.is_dir():
        raise DataError(root, "not a folder")
    if splits_of(root):
        ds = VitonDataset(root, split)
        need = {"keypoints": "openpose_json", "densepose": "densepose", "arms": "parse"}.get(method)
        if need and not ds.has(need):
            raise ValueError(f"method '{method}' needs the {' or '.join(FOLDER[need].names)} folder, "
                             f"absent from {ds.dir}; try --method auto")
        items, clashes = {i: _Lazy(i, ds=ds) for i in ds.ids}, {}
        out = Path(out) if out else ds.dir / "hand-mask"
        where = {"root": str(root), "split": split}
    else:
        photos, clashes = photos_in(root)
        if not photos:
            raise DataError(root, "neither a VITON-HD root (train/ or test/ with image/) nor a folder of photos")
        if method not in ("detector", "auto"):
            raise ValueError(f"{root} is a folder of photos without annotations: only --method detector "
                             f"(or auto) can find hands there, not '{method}'")
        if out is None:
            raise ValueError("a folder of photos needs --out DIR (the photos' folder is never written to)")
        items = {i: _Lazy(i, photo=p) for i, p in photos.items()}
        out = Path(out)
        where = {"root": str(root), "split": None}
    if out.resolve() == root.resolve():
        raise ValueError(f"{out}: write the masks to their own folder, not into the input folder")

    report_path = out / REPORT
    previous = read_json(report_path) if report_path.exists() else {}
    images = {k: v for k, v in previous.get("images", {}).items()
              if previous.get("method") == method and (out / f"{k}.png").exists() and "error" not in v}
    detector = _LazyDetector(min_confidence=detector_confidence) if method in ("detector", "auto") else None
    todo = [i for i in items if i not in images]
    Progress.start(len(todo))
    saved = time.monotonic()
    try:
        for sample_id in tqdm(todo, desc=f"hand masks ({method})", disable=not progress):
            try:
                result = for_person(items[sample_id], method, detector=detector, width=width)
                imaging.write_mask(out / f"{sample_id}.png", result.mask)
                entry = result.report()
                if not result.hands:
                    entry["note"] = entry.get("note") or "no hand found"
            except (DataError, ValueError) as e:  # one bad file is a line in the report, never a crash
                entry = {"error": str(e)}
            images[sample_id] = entry
            Progress.step()
            if time.monotonic() - saved > 1.0:  # keep the report current: a killed run redoes at most a second
                _write_report(report_path, where, method, images, items, clashes)
                saved = time.monotonic()
    except KeyboardInterrupt:  # what is finished is recorded, so the same command resumes after it
        _write_report(report_path, where, method, images, items, clashes)
        raise
    return _write_report(report_path, where, method, images, items, clashes)


def _write_report(path: Path, where: dict, method: str, images: dict, items: dict, skipped: dict) -> dict:
    ordered = {k: images[k] for k in items if k in images} | {name: {"error": why} for name, why in skipped.items()}
    sources = Counter(v.get("source", "error") for v in ordered.values())
    report = {**where, "method": method, "masks": "PNG, 0 = background, 255 = hand", "counts": {
        "images": len(ordered), "with_hands": sum(bool(v.get("hands")) for v in ordered.values()),
        "without_hands": sum("error" not in v and not v.get("hands") for v in ordered.values()),
        "errors": sum("error" in v for v in ordered.values())}, "sources": dict(sources), "images": ordered}
    write_json(path, report)
    return report



