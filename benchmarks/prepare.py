"""Prepare VITON-HD people from their photos alone (`vton prepare`) and score the annotations against the ones
VITON-HD released for them (../shared/data/viton-hd-hr: OpenPose, parse-v3; viton-hd-original: OpenPose and
the first parse).

    python benchmarks/prepare.py [--data ../shared/data]

Targets: body error <= 2 % of the height, hand error <= 1.5 %, upper-clothes IoU >= 0.85, arms IoU >= 0.6,
agnostic-mask IoU >= 0.85, <= 3 s per photo on one CPU core at 1024x768. Last line: one JSON object
{"body_err_pct", "hand_err_pct", "parse_iou": {group: iou}, "agnostic_iou", "s_per_photo", "people"}.
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

from vtonlib.data.reader import VitonDataset
from vtonlib.prepare import prepare_root
from vtonlib.prepare.batch import sample_id
from vtonlib.prepare.score import score_person, summarise

DEFAULT = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=str(DEFAULT))
    a = p.parse_args()
    torch.set_num_threads(1)  # the target is per core
    roots = [VitonDataset(Path(a.data) / name, "test") for name in ("viton-hd-hr", "viton-hd-original")
             if (Path(a.data) / name).is_dir()]
    if not roots:
        print(f"no VITON-HD samples under {a.data}", file=sys.stderr)
        return 2
    photos = [ds.path("image", i) for ds in roots for i in ds.ids]
    garment = roots[0].path("cloth", roots[0].ids[0])
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        report = prepare_root(photos, [garment], tmp, progress=False)
        seconds = (time.perf_counter() - start) / len(photos)
        ours = VitonDataset(tmp, "test")
        rows = {}
        for ds in roots:
            for i in ds.ids:
                pid = sample_id(ds.path("image", i))
                if "error" in report["people"].get(pid, {"error": "missing"}):
                    print(f"{i}: not prepared: {report['people'].get(pid)}")
                    continue
                rows[i] = score_person(ours.read_keypoints(pid), ours.read_parse(pid), ds.read_keypoints(i),
                                       ds.read_parse(i))
    fmt = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
    for i, r in rows.items():
        print(f"{i}: body {fmt(r['body_err_pct'])} %  hands {fmt(r['hand_err_pct'])} %  agnostic IoU "
              f"{fmt(r['agnostic_iou'])}  parse IoU " + ", ".join(f"{g} {fmt(v)}" for g, v in r["parse_iou"].items()))
    result = summarise(list(rows.values())) | {"s_per_photo": round(seconds, 3), "people": len(rows)}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
