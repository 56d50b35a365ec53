"""A damaged copy of a dataset, to see (and test) that ``vton check`` names every defect.

Notebook 01 breaks a copy of the sample this way and reads the checker's report against this list.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from PIL import Image

from .layout import FOLDER
from .reader import VitonDataset
from .subset import copy_samples


def make_damaged_copy(root: str | Path, out: str | Path, split: str = "train",
                      people: int = 8) -> list[tuple[str, str]]:
    """Copy ``people`` persons of ``root/split`` (all their files) to ``out`` and break the copy in
    seven ways; return [(defect, path relative to out)]. Each defect hits a different person.
    (A root without ``openpose_img`` gets six: there is no folder to remove.)"""
    root, out = Path(root), Path(out)
    if people < 6:
        raise ValueError(f"damaging a copy needs at least 6 people, got people={people}")
    if out.exists():
        shutil.rmtree(out)
    ds = VitonDataset(root, split)
    ids = ds.ids[:people]
    if len(ids) < 6:
        raise ValueError(f"{root}/{split} has {len(ids)} people; damaging a copy needs at least 6")
    pairs = [(p, c) for p, c in ds.pairs(unpaired=True) if p in set(ids)]
    copy_samples(ds, out, ids, sorted({c for _, c in pairs} | set(ids)), link=False, progress=False)
    (out / f"{split}_pairs.txt").write_text("".join(f"{p}.jpg {c}.jpg\n" for p, c in pairs))
    d = out / split
    name = {key: (ds.folder(key) or Path(FOLDER[key].names[0])).name for key in FOLDER}  # either spelling
    defects = []

    def note(defect: str, path: Path) -> None:
        defects.append((defect, str(path.relative_to(out))))

    # 1. an optional folder removed entirely
    if (d / name["openpose_img"]).is_dir():
        shutil.rmtree(d / name["openpose_img"])
        note("missing folder", d / name["openpose_img"])
    # 2. one id missing from a required folder
    p = d / name["parse"] / f"{ids[0]}.png"
    p.unlink()
    note("missing file", p)
    # 3. an image that is not an image
    p = d / name["cloth"] / f"{ids[1]}.jpg"
    p.write_bytes(b"this is not a JPEG")
    note("unreadable image", p)
    # 4. a truncated image (a download cut short)
    p = d / name["image"] / f"{ids[2]}.jpg"
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    note("truncated image", p)
    # 5. a parse of the wrong size
    p = d / name["parse"] / f"{ids[3]}.png"
    im = Image.open(p)
    small = im.resize((im.size[0] // 2, im.size[1] // 2), Image.NEAREST)
    small.save(p)
    note("size mismatch", p)
    # 6. malformed OpenPose JSON
    p = d / name["openpose_json"] / f"{ids[4]}_keypoints.json"
    p.write_text('{"version": 1.3, "people": [{"pose_keypoints_2d": [1, 2, 3')
    note("malformed JSON", p)
    # 7. a pairs line naming a garment that does not exist
    pairs = out / f"{split}_pairs.txt"
    with open(pairs, "a", encoding="utf-8") as f:
        f.write(f"{ids[5]}.jpg 99999_00.jpg\n")
    note("pair names an absent file", pairs)
    return defects

