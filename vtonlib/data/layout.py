"""VITON-HD's folder layout, in both spellings users have on disk.

HR-VITON, StableVITON and DCI-VTON use ``image-parse-v3``, ``openpose_json``, ``openpose_img``; the
original VITON-HD demo zip uses ``image-parse``, ``openpose-json``, ``openpose-img``. A :class:`Folder`
lists every accepted name, and how a sample id becomes a file name in it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..validate import is_plain_name

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")


@dataclass(frozen=True)
class Folder:
    key: str  # the library's name for it
    names: tuple[str, ...]  # accepted folder names, the usual first
    pattern: str  # file name of sample "{id}"
    owner: str  # "person" (one file per person id) or "cloth" (one per garment id)
    kind: str  # "image", "mask", "labels", "json" or "arrays"
    description: str

    @property
    def prefix_suffix(self) -> tuple[str, str]:
        before, after = self.pattern.split("{id}")
        extension = os.path.splitext(self.pattern)[1]
        return before, after[: len(after) - len(extension)]

    @property
    def extensions(self) -> tuple[str, ...]:
        usual = os.path.splitext(self.pattern)[1]
        if self.kind in ("image", "mask", "labels"):
            return (usual,) + tuple(e for e in IMAGE_EXTENSIONS if e != usual)
        return (usual,)

    def id_of(self, filename: str) -> str | None:
        """The sample id a file name in this folder belongs to, or None for a stray file."""
        stem, ext = os.path.splitext(filename)
        if ext.lower() not in self.extensions:
            return None
        before, after = self.prefix_suffix
        if not (stem.startswith(before) and stem.endswith(after)) or len(stem) <= len(before) + len(after):
            return None
        return stem[len(before): len(stem) - len(after)]

    def filename(self, sample_id: str, extension: str | None = None) -> str:
        name = self.pattern.format(id=sample_id)
        return name if extension is None else os.path.splitext(name)[0] + extension


FOLDERS = (
    Folder("image", ("image",), "{id}.jpg", "person", "image", "the person photo"),
    Folder("cloth", ("cloth",), "{id}.jpg", "cloth", "image", "the in-shop garment"),
    Folder("cloth_mask", ("cloth-mask",), "{id}.jpg", "cloth", "mask", "the garment's mask"),
    Folder("parse", ("image-parse-v3", "image-parse"), "{id}.png", "person", "labels",
           "human parsing (palette PNG of label ids)"),
    Folder("openpose_json", ("openpose_json", "openpose-json"), "{id}_keypoints.json", "person", "json",
           "OpenPose BODY_25 and hand keypoints"),
    Folder("openpose_img", ("openpose_img", "openpose-img"), "{id}_rendered.png", "person", "image",
           "OpenPose skeleton rendering"),
    Folder("densepose", ("image-densepose",), "{id}.jpg", "person", "image", "DensePose parts, rendered in colour"),
    Folder("parse_agnostic", ("image-parse-agnostic-v3.2",), "{id}.png", "person", "labels",
           "parse without the upper clothes and arms"),
    Folder("agnostic", ("agnostic-v3.2",), "{id}.jpg", "person", "image", "person with the garment region greyed out"),
    Folder("agnostic_mask", ("agnostic-mask",), "{id}_mask.png", "person", "mask", "the region try-on repaints"),
    Folder("cloth_warp", ("cloth-warp",), "{id}.jpg", "person", "image",
           "warped garment (paired), from the warping stage"),
    Folder("cloth_warp_mask", ("cloth-warp-mask",), "{id}.jpg", "person", "mask", "warped garment mask (paired)"),
    Folder("unpaired_cloth_warp", ("unpaired-cloth-warp",), "{id}.jpg", "person", "image",
           "warped garment of the unpaired pair"),
    Folder("unpaired_cloth_warp_mask", ("unpaired-cloth-warp-mask",), "{id}.jpg", "person", "mask",
           "warped garment mask of the unpaired pair"),
    Folder("hand_mask", ("hand-mask",), "{id}.png", "person", "mask", "hand masks, from the hand-mask stage"),
)
FOLDER = {f.key: f for f in FOLDERS}

# What each stage of the course reads. `vton check --stage NAME` makes these errors when absent.
STAGE_NEEDS = {
    "data": ("image", "cloth", "cloth_mask", "parse", "openpose_json"),
    "hands": ("image",),
    "warp": ("image", "cloth", "cloth_mask", "parse", "parse_agnostic", "densepose"),
    "tryon": ("image", "cloth", "cloth_mask", "parse", "openpose_json"),
    "lora": ("image", "cloth", "cloth_mask", "parse", "openpose_json"),
}

# Ground truth the built-in sample adds (real data has none), under <split>/gt/.
TRUTH = {
    "hand-mask": "{id}.png",
    "cloth-warp": "{id}.png",
    "cloth-warp-mask": "{id}.png",
    "cloth-flow": "{id}.npz",
    "meta": "{id}.json",
    "unpaired-image": "{id}.png",
    "unpaired-cloth-warp": "{id}.png",
    "unpaired-cloth-warp-mask": "{id}.png",
    "unpaired-cloth-flow": "{id}.npz",
    "unpaired-hand-mask": "{id}.png",
}


def find_folder(split_dir: Path, folder: Folder) -> Path | None:
    """The folder's directory in a split, under whichever accepted name exists."""
    for name in folder.names:
        p = split_dir / name
        if p.is_dir():
            return p
    return None


def list_ids(directory: Path, folder: Folder) -> dict[str, str]:
    """Sample id -> file name for every file in ``directory`` that fits the folder's naming.

    Where one id has several files (``x.jpg`` and ``x.png``), the usual extension wins.
    """
    found: dict[str, str] = {}
    rank = {e: i for i, e in enumerate(folder.extensions)}
    with os.scandir(directory) as it:
        for entry in it:
            if not entry.is_file() or entry.name.startswith("."):
                continue
            sample_id = folder.id_of(entry.name)
            if sample_id is None:
                continue
            old = found.get(sample_id)
            if old is None or rank[os.path.splitext(entry.name)[1].lower()] < rank[os.path.splitext(old)[1].lower()]:
                found[sample_id] = entry.name
    return found


def splits_of(root: Path) -> list[str]:
    """Split folders of a dataset root (``train``, ``test``, or any folder holding ``image/``)."""
    if not root.is_dir():
        return []
    names = [p.name for p in sorted(root.iterdir()) if p.is_dir() and (p / "image").is_dir()]
    order = {"train": 0, "test": 1}
    return sorted(names, key=lambda n: (order.get(n, 2), n))


def parse_pairs(path: Path) -> tuple[list[tuple[str, str, int]], list[str]]:
    """``person.jpg cloth.jpg`` lines -> ([(person id, cloth id, line number)], [problem per bad line])."""
    pairs, problems = [], []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            parts = line.split()
            if len(parts) != 2:
                problems.append(f"line {number}: expected 'person.jpg cloth.jpg', got {line.strip()!r}")
                continue
            bad = [name for name in parts if not is_plain_name(name)]
            if bad:  # a name reaching outside its folder (../x.jpg, /etc/x) is refused, never followed
                problems.append(f"line {number}: {bad[0]!r} is not a plain file name (names may not contain "
                                f"folders, '..' or absolute paths)")
                continue
            pairs.append((os.path.splitext(parts[0])[0], os.path.splitext(parts[1])[0], number))
    return pairs, problems


def read_pairs(path: Path) -> list[tuple[str, str]]:
    """[(person id, cloth id)] of a pairs file; a malformed line raises ValueError naming it."""
    pairs, problems = parse_pairs(path)
    if problems:
        raise ValueError(f"{path}, {problems[0]}")
    return [(p, c) for p, c, _ in pairs]
