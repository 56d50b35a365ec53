"""A damaged copy of a dataset, to see (and test) that ``vton check`` names every defect.

Notebook 01 breaks a copy of the sample this way and reads the checker's report against this list.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from PIL import Image

from .layout import splits_of


def make_damaged_copy(root: str | Path, out: str | Path, split: str = "test") -> list[tuple[str, str]]:
    """Copy ``root`` to ``out`` and break it in seven ways; return [(defect, path relative to out)].

    Each defect hits a different sample of ``split`` (which needs at least six people).
    """
    root, out = Path(root), Path(out)
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(root, out)
    if split not in splits_of(out):
        raise ValueError(f"{root} has no split {split!r}")
    d = out / split
    ids = sorted(p.stem for p in (d / "image").iterdir())
    if len(ids) < 6:
        raise ValueError(f"{root}/{split} has {len(ids)} people; damaging it needs at least 6")
    defects = []

    def note(defect: str, path: Path) -> None:
        defects.append((defect, str(path.relative_to(out))))

    # 1. an optional folder removed entirely
    shutil.rmtree(d / "openpose_img")
    note("missing folder", d / "openpose_img")
    # 2. one id missing from a required folder
    p = d / "image-parse-v3" / f"{ids[0]}.png"
    p.unlink()
    note("missing file", p)
    # 3. an image that is not an image
    p = d / "cloth" / f"{ids[1]}.jpg"
    p.write_bytes(b"this is not a JPEG")
    note("unreadable image", p)
    # 4. a truncated image (a download cut short)
    p = d / "image" / f"{ids[2]}.jpg"
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    note("truncated image", p)
    # 5. a parse of the wrong size
    p = d / "image-parse-v3" / f"{ids[3]}.png"
    im = Image.open(p)
    small = im.resize((im.size[0] // 2, im.size[1] // 2), Image.NEAREST)
    small.save(p)
    note("size mismatch", p)
    # 6. malformed OpenPose JSON
    p = d / "openpose_json" / f"{ids[4]}_keypoints.json"
    p.write_text('{"version": 1.3, "people": [{"pose_keypoints_2d": [1, 2, 3')
    note("malformed JSON", p)
    # 7. a pairs line naming a garment that does not exist
    pairs = out / f"{split}_pairs.txt"
    with open(pairs, "a", encoding="utf-8") as f:
        f.write(f"{ids[5]}.jpg 99999_00.jpg\n")
    note("pair names an absent file", pairs)
    return defects

