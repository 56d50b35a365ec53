"""``vton check ROOT``: is this VITON-HD root usable, and if not, exactly what is wrong.

Every problem names the file (or folder) and says what to fix. Errors make the root unusable for the
stage asked for; warnings are worth knowing (an optional folder with holes, mixed image sizes); info
lines say what is absent but optional. Nothing is modified.
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .. import imaging
from ..fileio import DataError
from . import labels as L
from .layout import FOLDERS, STAGE_NEEDS, find_folder, list_ids, parse_pairs, splits_of
from .pose import read_keypoints

SHOWN_PER_GROUP = 10  # in the text report; the JSON report lists everything


@dataclass
class Problem:
    severity: str  # "error", "warning" or "info"
    path: str
    message: str
    group: str = ""  # problems of one kind in one folder, shown together

    def __str__(self) -> str:
        return f"{self.severity.upper():7s} {self.path}: {self.message}"


@dataclass
class Report:
    root: str
    stage: str
    problems: list[Problem] = field(default_factory=list)
    splits: dict[str, dict] = field(default_factory=dict)

    def add(self, severity: str, path, message: str, group: str = "") -> None:
        self.problems.append(Problem(severity, str(path), message, group))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict:
        return {"root": self.root, "stage": self.stage, "usable": self.ok, "splits": self.splits,
                "problems": [asdict(p) for p in self.problems]}

    def format(self) -> str:
        lines = [f"Checked {self.root} for stage '{self.stage}'"]
        for split, s in self.splits.items():
            lines.append(f"  {split}: {s['people']} people, {s['garments']} garments, {s['pairs']} pairs; "
                         f"layout: {s['layout']}; image size {s['size']}"
                         + ("; with ground truth (gt/)" if s["ground_truth"] else ""))
        shown: dict[str, int] = defaultdict(int)
        hidden: dict[str, int] = defaultdict(int)
        for severity in ("error", "warning", "info"):
            for p in (p for p in self.problems if p.severity == severity):
                if p.group and shown[p.group] >= SHOWN_PER_GROUP:
                    hidden[p.group] += 1
                    continue
                shown[p.group] += 1
                lines.append(f"  {p}")
        for group, n in hidden.items():
            lines.append(f"  ... and {n} more like '{group}' (vton check --json lists all)")
        verdict = "usable" if self.ok else "NOT usable"
        lines.append(f"{len(self.errors)} errors, {len(self.warnings)} warnings: {verdict}")
        return "\n".join(lines)


def check_root(root: str | os.PathLike, splits: list[str] | None = None, stage: str = "data",
               require: tuple[str, ...] = (), quick: bool = False, progress: bool = False) -> Report:
    """Validate a VITON-HD root; see the module docstring. ``quick`` reads file headers only."""
    root = Path(root)
    report = Report(str(root), stage)
    if stage not in STAGE_NEEDS:
        raise ValueError(f"unknown stage {stage!r}; choose from {sorted(STAGE_NEEDS)}")
    if not root.exists():
        report.add("error", root, "does not exist")
        return report
    if not root.is_dir():
        report.add("error", root, "is not a folder")
        return report
    if (root / "image").is_dir():
        report.add("error", root, "this is a split folder (it holds image/): point at the folder above it, "
                                  "which holds train/ and/or test/ and the *_pairs.txt files")
        return report
    found = splits_of(root)
    if not found:
        report.add("error", root, "no split folder: expected train/ and/or test/, each holding image/, cloth/, ...")
        return report
    for split in splits or found:
        if split not in found:
            report.add("error", root / split, f"split not found (found: {', '.join(found)})")
            continue
        _check_split(report, root, split, set(STAGE_NEEDS[stage]) | set(require), quick, progress)
    return report


def _check_split(report: Report, root: Path, split: str, needs: set[str], quick: bool, progress: bool) -> None:
    split_dir = root / split
    dirs = {f.key: find_folder(split_dir, f) for f in FOLDERS}
    listings = {k: list_ids(d, next(f for f in FOLDERS if f.key == k)) for k, d in dirs.items() if d is not None}

    absent = []
    for f in FOLDERS:
        if dirs[f.key] is None:
            if f.key in needs:
                report.add("error", split_dir / f.names[0],
                           f"missing folder ({' or '.join(f.names)}: {f.description}); this stage needs it")
            else:
                absent.append(f.names[0])
    if absent:
        report.add("info", split_dir, f"optional folders absent: {', '.join(absent)}")

    people = set(listings.get("image", {}))
    pairs_file = root / f"{split}_pairs.txt"
    pairs: list[tuple[str, str, int]] = []
    if pairs_file.exists():
        try:
            pairs, bad_lines = parse_pairs(pairs_file)
        except UnicodeDecodeError as e:
            bad_lines = [f"not a text file ({e})"]
        for problem in bad_lines:
            report.add("error", pairs_file, problem, group="malformed pair line")
    else:
        report.add("warning", pairs_file, "absent: pairs default to each person with their own garment")
        pairs = [(i, i, 0) for i in sorted(people)]
    garments = {c for _, c, _ in pairs}
    if split == "train":  # training is paired: every person's own garment is needed
        garments |= people
    for person, garment, number in pairs:
        if person not in people:
            report.add("error", pairs_file, f"line {number} names person {person}.jpg, absent from {split}/image",
                       group="pair names an absent person")
        if "cloth" in listings and garment not in listings["cloth"]:
            report.add("error", pairs_file, f"line {number} names garment {garment}.jpg, absent from {split}/cloth",
                       group="pair names an absent garment")
    if split != "train" and "cloth" in listings:
        without = sorted(p for p in people if p not in listings["cloth"])
        if without:
            report.add("warning", split_dir / "cloth", f"{len(without)} of {len(people)} people have no garment of "
                       f"their own (e.g. {without[0]}): paired try-on and evaluation skip them")

    layout = "original VITON-HD (image-parse, openpose-json)" if dirs["parse"] is not None and \
        dirs["parse"].name == "image-parse" else "HR-VITON / DCI-VTON (image-parse-v3, openpose_json)"
    for f in FOLDERS:
        if f.key not in listings:
            continue
        expected = people if f.owner == "person" else garments
        missing = sorted(expected - set(listings[f.key]))
        severity = "error" if f.key in needs else "warning"
        for m in missing:
            report.add(severity, dirs[f.key] / f.filename(m), "missing", group=f"missing in {split}/{dirs[f.key].name}")

    sizes: dict[str, tuple[int, int]] = {}
    jobs = [(f, i) for f in FOLDERS if f.key in listings for i in sorted(listings[f.key])
            if i in (people if f.owner == "person" else garments)]
    # the image and the garment go first: other files are compared with their sizes
    jobs.sort(key=lambda job: job[0].key not in ("image", "cloth"))
    for f, sample_id in tqdm(jobs, desc=f"checking {split}", disable=not progress, leave=False):
        path = dirs[f.key] / listings[f.key][sample_id]
        reference = sizes.get(f"{f.owner}:{sample_id}")
        group = f"unreadable in {split}/{dirs[f.key].name}"
        try:
            if f.kind == "json":
                _check_keypoints(report, path, reference)
                continue
            size = _image_size(path, f.kind, quick)
        except DataError as e:
            report.add("error", path, e.problem, group=group)
            continue
        except Exception as e:  # a checker reports, it never crashes on a strange file
            report.add("error", path, f"unexpected {type(e).__name__}: {e}", group=group)
            continue
        if f.key in ("image", "cloth"):
            sizes[f"{f.owner}:{sample_id}"] = size
        elif reference is not None and size != reference:
            what = "person image" if f.owner == "person" else "garment image"
            report.add("error", path, f"size {size[0]}x{size[1]} (HxW) differs from its {what} "
                       f"({reference[0]}x{reference[1]})", group=f"size mismatch in {split}/{dirs[f.key].name}")

    person_sizes = {v for k, v in sizes.items() if k.startswith("person:")}
    if len(person_sizes) > 1:
        report.add("warning", split_dir / "image", f"photos come in {len(person_sizes)} sizes "
                   f"({', '.join(f'{h}x{w}' for h, w in sorted(person_sizes))}, HxW); stages resize them to one size")
    size = next(iter(person_sizes)) if len(person_sizes) == 1 else None
    report.splits[split] = {"people": len(people), "garments": len(listings.get("cloth", {})), "pairs": len(pairs),
                            "layout": layout, "size": f"{size[0]}x{size[1]} (HxW)" if size else "mixed or unknown",
                            "ground_truth": (split_dir / "gt").is_dir(),
                            "folders": {k: d.name for k, d in dirs.items() if d is not None}}


def _image_size(path: Path, kind: str, quick: bool) -> tuple[int, int]:
    """(H, W) of a picture, decoded in full (unless ``quick``) so that truncated files are caught."""
    if quick:
        return imaging.image_size(path)
    if kind == "labels":
        labels = imaging.read_labels(path, palette=L.LIP_PALETTE)
        if labels.max(initial=0) >= L.NUM_LIP_LABELS:
            raise DataError(path, f"label {int(labels.max())} found; parse labels go from 0 to {L.NUM_LIP_LABELS - 1}")
        return labels.shape
    image = imaging.open_image(path)
    return image.size[1], image.size[0]


def _check_keypoints(report: Report, path: Path, size: tuple[int, int] | None) -> None:
    """Read an OpenPose file (raising DataError on a defect) and check its points fit the photo."""
    kp = read_keypoints(path)
    if size is None:
        return
    h, w = size
    points = np.concatenate([kp.body, kp.hand_left, kp.hand_right])
    present = points[points[:, 2] > 0]
    if len(present) and (present[:, 0].max() > w * 1.05 or present[:, 1].max() > h * 1.05):
        report.add("error", path, f"keypoints reach ({present[:, 0].max():.0f}, {present[:, 1].max():.0f}) in a "
                   f"{h}x{w} (HxW) photo: were they detected on another resolution?", group="keypoints out of range")
