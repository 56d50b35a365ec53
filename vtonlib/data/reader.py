"""Read a VITON-HD root (the real dataset, a subset of it, or the built-in sample) into typed samples.

    >>> ds = VitonDataset("data/sample", split="test")
    >>> person = ds.person(ds.ids[0])        # image, parse, keypoints, DensePose parts, ...
    >>> cloth = ds.cloth(ds.pairs(unpaired=True)[0][1])

Folders that are absent give ``None`` fields, never an error: many copies of VITON-HD lack
``agnostic-mask`` or ``image-densepose``. ``vton check`` says what a stage needs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import imaging
from ..fileio import DataError, read_json
from . import labels as L
from .layout import FOLDER, TRUTH, find_folder, list_ids, read_pairs, splits_of
from .pose import Keypoints, read_keypoints


@dataclass
class PersonSample:
    """One person photo with its annotations; absent annotations are ``None``."""

    id: str
    image: np.ndarray  # (H, W, 3) uint8
    parse: np.ndarray | None = None  # (H, W) uint8 parse label ids
    keypoints: Keypoints | None = None
    densepose: np.ndarray | None = None  # (H, W) uint8 DensePose part ids (decoded from the rendering)
    parse_agnostic: np.ndarray | None = None
    agnostic: np.ndarray | None = None  # (H, W, 3) uint8
    agnostic_mask: np.ndarray | None = None  # (H, W) bool

    @property
    def size(self) -> tuple[int, int]:
        return self.image.shape[:2]


@dataclass
class Cloth:
    id: str
    image: np.ndarray  # (H, W, 3) uint8
    mask: np.ndarray  # (H, W) bool


class VitonDataset:
    """One split of a VITON-HD-format root."""

    def __init__(self, root: str | os.PathLike, split: str | None = None):
        self.root = Path(root)
        available = splits_of(self.root)
        if split is None:
            if len(available) != 1:
                raise DataError(self.root, f"choose a split: found {available or 'no split folders with image/'}")
            split = available[0]
        self.split = split
        self.dir = self.root / split
        if not (self.dir / "image").is_dir():
            hint = " (it looks like a split folder itself: pass its parent)" if (self.root / "image").is_dir() else ""
            raise DataError(self.dir, f"no image/ folder for split '{split}'; splits found: {available}{hint}")
        self.pairs_file = self.root / f"{split}_pairs.txt"
        self._listings: dict[str, dict[str, str]] = {}

    def __repr__(self) -> str:
        return f"VitonDataset({str(self.root)!r}, split={self.split!r}, {len(self.ids)} people)"

    # --- what is there -------------------------------------------------------------------------
    def folder(self, key: str) -> Path | None:
        """The directory of a folder kind (``"parse"``, ``"openpose_json"``, ...), or None if absent."""
        return find_folder(self.dir, FOLDER[key])

    def has(self, key: str) -> bool:
        return self.folder(key) is not None

    def files(self, key: str) -> dict[str, str]:
        """Sample id -> file name in a folder (empty when the folder is absent)."""
        if key not in self._listings:
            d = self.folder(key)
            self._listings[key] = list_ids(d, FOLDER[key]) if d is not None else {}
        return self._listings[key]

    @property
    def ids(self) -> list[str]:
        """Person ids: every photo in ``image/``."""
        return sorted(self.files("image"))

    def pairs(self, unpaired: bool = False) -> list[tuple[str, str]]:
        """(person id, cloth id) pairs. Paired: each person with its own garment. Unpaired: the lines
        of ``<split>_pairs.txt`` (VITON-HD's test pairs name another person's garment)."""
        if self.pairs_file.exists():
            listed = read_pairs(self.pairs_file)
        else:  # no pairs file: every person with its own garment
            listed = [(i, i) for i in self.ids]
        return listed if unpaired else [(p, p) for p, _ in listed]

    def path(self, key: str, sample_id: str) -> Path:
        """Path of a sample's file in a folder (the usual name when the file does not exist)."""
        from ..validate import safe_name

        safe_name(sample_id, self.pairs_file if self.pairs_file.exists() else self.dir)  # ids never leave a folder
        folder = FOLDER[key]
        d = self.folder(key) or self.dir / folder.names[0]
        name = self.files(key).get(sample_id, folder.filename(sample_id))
        return d / name

    def truth_path(self, name: str, sample_id: str) -> Path:
        """Path of a ground-truth file of the built-in sample (``hand-mask``, ``cloth-flow``, ...)."""
        if name not in TRUTH:
            raise KeyError(f"unknown ground truth {name!r}; the sample has {sorted(TRUTH)}")
        return self.dir / "gt" / name / TRUTH[name].format(id=sample_id)

    @property
    def has_truth(self) -> bool:
        return (self.dir / "gt").is_dir()

    # --- reading -------------------------------------------------------------------------------
    def read_image(self, sample_id: str) -> np.ndarray:
        return imaging.read_image(self.path("image", sample_id))

    def read_parse(self, sample_id: str) -> np.ndarray:
        parse = imaging.read_labels(self.path("parse", sample_id), palette=L.LIP_PALETTE)
        if parse.max(initial=0) >= L.NUM_LIP_LABELS:
            raise DataError(self.path("parse", sample_id),
                            f"label {int(parse.max())} found; parse labels go from 0 to {L.NUM_LIP_LABELS - 1}")
        return parse

    def read_keypoints(self, sample_id: str) -> Keypoints:
        return read_keypoints(self.path("openpose_json", sample_id))

    def read_densepose(self, sample_id: str) -> np.ndarray:
        """DensePose part ids (H, W), decoded from VITON-HD's colour rendering."""
        return L.decode_densepose(imaging.read_image(self.path("densepose", sample_id)))

    def read_mask(self, key: str, sample_id: str) -> np.ndarray:
        return imaging.read_mask(self.path(key, sample_id))

    def read_truth(self, name: str, sample_id: str):
        """A ground-truth file of the built-in sample: masks as bool, images as RGB, flows as arrays."""
        path = self.truth_path(name, sample_id)
        if name.endswith("mask"):
            return imaging.read_mask(path)
        if name.endswith("flow"):
            try:
                with np.load(path) as data:
                    return data["flow"]
            except (OSError, KeyError, ValueError) as e:
                raise DataError(path, f"unreadable flow file ({e})") from None
        if name == "meta":
            return read_json(path)
        return imaging.read_image(path)

    def person(self, sample_id: str) -> PersonSample:
        """Everything there is about one person; folders that are absent give None."""
        opt = lambda key, read: read(sample_id) if sample_id in self.files(key) else None  # noqa: E731
        return PersonSample(
            id=sample_id,
            image=self.read_image(sample_id),
            parse=opt("parse", self.read_parse),
            keypoints=opt("openpose_json", self.read_keypoints),
            densepose=opt("densepose", self.read_densepose),
            parse_agnostic=opt("parse_agnostic", lambda i: imaging.read_labels(self.path("parse_agnostic", i))),
            agnostic=opt("agnostic", lambda i: imaging.read_image(self.path("agnostic", i))),
            agnostic_mask=opt("agnostic_mask", lambda i: self.read_mask("agnostic_mask", i)),
        )

    def cloth(self, cloth_id: str) -> Cloth:
        return Cloth(cloth_id, imaging.read_image(self.path("cloth", cloth_id)),
                     imaging.read_mask(self.path("cloth_mask", cloth_id)))

    def __len__(self) -> int:
        return len(self.ids)
