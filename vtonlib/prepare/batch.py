"""``vton prepare``: plain photos of people and garments -> a VITON-HD-layout root every stage reads.

For each person photo: ``image/`` (fitted to the frame, :mod:`.photo`), ``openpose_json/`` and
``openpose_img/`` (:mod:`.landmarks`), ``image-parse-v3/`` (:mod:`.parse`), ``image-parse-agnostic-v3.2/``,
``agnostic-mask/`` and ``agnostic-v3.2/`` (the course's own functions, as for any root),
``image-densepose/`` (:mod:`.densepose`). For each garment: ``cloth/`` and ``cloth-mask/``
(:mod:`.garment`). ``test_pairs.txt`` gives each person a garment (in turn); ``prepare.json`` says per
photo what was found, what was estimated, and what failed and why. A photo that cannot be prepared is
reported and skipped; inputs are never modified; a rerun skips photos already prepared.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .. import imaging
from ..data import labels as L
from ..data.agnostic import agnostic_image, agnostic_mask, parse_agnostic
from ..data.pose import render_keypoints, write_keypoints
from ..fileio import DataError, read_json, write_json, write_text
from ..hands.shapes import draw_hand
from ..validate import Progress
from .densepose import build_densepose
from .garment import garment_mask, place_garment
from .landmarks import Estimator
from .parse import build_parse
from .photo import fit, read_photo

REPORT = "prepare.json"
SPLIT = "test"


def sample_id(path: str | os.PathLike) -> str:
    """A dataset id from a file name: its stem, with anything but letters, digits, '-' and '_' replaced."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", Path(path).stem) or "photo"


def prepare_person(path, estimator: Estimator, size: tuple[int, int] = (1024, 768)) -> dict:
    """Every annotation of one person photo, in memory: {"image", "keypoints", "parse", "densepose", "frame",
    "report"}; a photo that cannot be prepared raises :class:`DataError` saying why."""
    start = time.perf_counter()
    framed, frame = fit(read_photo(path), size)
    found = estimator(framed)
    if found.keypoints is None:
        raise DataError(path, "no person found (MediaPipe Pose saw no body)")
    if found.people > 1:
        raise DataError(path, f"{found.people} people found: a try-on photo shows one person (crop it to one)")
    body = found.keypoints.body
    missing = [L.BODY_25[i] for i in (2, 5, 9, 12) if body[i, 2] <= 0]
    if missing:
        raise DataError(path, f"the person is cut by the frame or hidden: {', '.join(missing)} not seen (the "
                              f"try-on region is drawn from both shoulders and both hips)")
    parse, skin = build_parse(framed, found)
    hands = {}
    for side in ("left", "right"):
        drawn = draw_hand(found.keypoints.hand(side), size)
        hands[side] = drawn[0] if drawn is not None else None
    densepose = build_densepose(found.person_mask > 0.5, parse, body, hands)
    notes = []
    if found.face is None:
        notes.append("no face found: no face or hair labels, skin colour assumed")
    not_found = [side for side in ("left", "right") if hands[side] is None]
    if not_found:
        notes.append(f"{' and '.join(not_found)} hand not found")
    report = {"source": str(path), "frame": frame.to_dict(), "people": 1, "hands_found": found.hands_found,
              "body_confidence": round(float(body[body[:, 2] > 0, 2].mean()), 3),
              "joints_seen": int((body[:, 2] > 0).sum()), "skin_colour": [round(float(v), 1) for v in skin],
              "estimated": ["keypoints (MediaPipe Pose + Hands)", "parse (segmentation, face mesh, skin colour, "
                            "pose geometry)", "densepose (nearest bone)"],
              "notes": notes, "seconds": round(time.perf_counter() - start, 2)}
    return {"image": framed, "keypoints": found.keypoints, "parse": parse, "densepose": densepose,
            "frame": frame, "report": report}


def write_person(root: Path, person_id: str, prepared: dict) -> None:
    d = root / SPLIT
    kp, parse, image = prepared["keypoints"], prepared["parse"], prepared["image"]
    size = image.shape[:2]
    imaging.write_image(d / f"image/{person_id}.jpg", image)
    write_keypoints(d / f"openpose_json/{person_id}_keypoints.json", kp)
    imaging.write_image(d / f"openpose_img/{person_id}_rendered.png", render_keypoints(kp, size))
    imaging.write_labels(d / f"image-parse-v3/{person_id}.png", parse, L.LIP_PALETTE)
    imaging.write_labels(d / f"image-parse-agnostic-v3.2/{person_id}.png", parse_agnostic(parse, kp.body),
                         L.LIP_PALETTE)
    region = agnostic_mask(parse, kp.body)
    imaging.write_mask(d / f"agnostic-mask/{person_id}_mask.png", region)
    imaging.write_image(d / f"agnostic-v3.2/{person_id}.jpg", agnostic_image(image, region))
    imaging.write_image(d / f"image-densepose/{person_id}.jpg", L.render_densepose(prepared["densepose"]),
                        full_chroma=True)


def prepare_garment(path, size: tuple[int, int] = (1024, 768)) -> dict:
    """{"image", "mask", "report"} of one garment photo, placed as VITON-HD's garments."""
    photo = read_photo(path)
    mask, how = garment_mask(photo)
    image, placed = place_garment(photo, mask, size, str(path))
    return {"image": image, "mask": placed, "report": {"source": str(path), "mask": how,
                                                        "coverage": round(float(placed.mean()), 3)}}


def _done(entry: dict | None, output: Path) -> bool:
    """Prepared by an earlier run: reported without an error, and its output on disk."""
    return bool(entry) and "error" not in entry and output.exists()


def prepare_root(people, garments, out, size: tuple[int, int] = (1024, 768), progress: bool = True) -> dict:
    """Write the root ``out`` (``test/`` split, ``test_pairs.txt``, ``prepare.json``); return the report."""
    out = Path(out)
    people, garments = [Path(p) for p in people], [Path(g) for g in garments]
    for given in people + garments:
        if not given.is_file():
            raise DataError(given, "not found")
        if out.resolve() in given.resolve().parents:
            raise DataError(given, f"an input inside the output root {out}: write the root elsewhere")
    report_path = out / REPORT
    report = read_json(report_path) if report_path.exists() else {"people": {}, "garments": {}}
    report.update({"size": list(size), "split": SPLIT})
    Progress.start(len(people) + len(garments))
    for path in garments:
        gid = sample_id(path)
        if _done(report["garments"].get(gid), out / SPLIT / "cloth" / f"{gid}.jpg"):
            Progress.step()
            continue
        try:
            g = prepare_garment(path, size)
            imaging.write_image(out / SPLIT / "cloth" / f"{gid}.jpg", g["image"])
            imaging.write_mask(out / SPLIT / "cloth-mask" / f"{gid}.jpg", g["mask"])
            report["garments"][gid] = g["report"]
        except DataError as e:
            report["garments"][gid] = {"source": str(path), "error": str(e)}
        Progress.step()
    estimator = None
    try:
        for path in tqdm(people, desc="preparing photos", disable=not progress):
            pid = sample_id(path)
            if _done(report["people"].get(pid), out / SPLIT / "image" / f"{pid}.jpg"):
                Progress.step()
                continue
            estimator = estimator or Estimator()
            try:
                prepared = prepare_person(path, estimator, size)
                write_person(out, pid, prepared)
                report["people"][pid] = prepared["report"]
            except DataError as e:  # this photo is reported; the others go on
                report["people"][pid] = {"source": str(path), "error": str(e)}
            Progress.step()
            write_json(report_path, report)
    finally:
        if estimator is not None:
            estimator.close()
    ready_people = [p for p, r in report["people"].items() if "error" not in r]
    ready_garments = [g for g, r in report["garments"].items() if "error" not in r]
    if ready_people and ready_garments:
        lines = [f"{p}.jpg {ready_garments[i % len(ready_garments)]}.jpg" for i, p in enumerate(ready_people)]
        write_text(out / f"{SPLIT}_pairs.txt", "\n".join(lines) + "\n")
    write_json(report_path, report)
    return report


def mean_seconds(report: dict) -> float:
    times = [r["seconds"] for r in report["people"].values() if "seconds" in r]
    return float(np.mean(times)) if times else float("nan")
