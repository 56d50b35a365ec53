"""Hand masks per method: IoU against the sample's true hand masks, and speed computed in memory.

    python benchmarks/hand_masks.py [--root DIR] [--n 48] [--real ../shared/data]

Targets: IoU keypoints >= 0.80 and DensePose >= 0.80 (far above the arm baseline); keypoint masks
>= 500 masks/s at 1024x768 on one core; detector >= 10 images/s at 512x384. Real VITON-HD samples, where
present, have no true masks: for them the share of keypoint-mask pixels inside the parse's arm labels is
printed, and how well the detector agrees with the keypoint masks. Last line: one JSON object.
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from vtonlib import imaging
from vtonlib.data import VitonDataset, labels as L
from vtonlib.data.sample import make_sample
from vtonlib.hands import HandDetector, for_person, from_keypoints, mask_iou

REPO = Path(__file__).resolve().parent.parent


def mean_iou(root: Path, detector) -> dict:
    scores = {m: [] for m in ("keypoints", "densepose", "detector", "arms")}
    for split in ("train", "test"):
        ds = VitonDataset(root, split)
        for i in ds.ids:
            truth = ds.read_truth("hand-mask", i)
            if not truth.any():
                continue  # no visible hand: IoU says nothing about a method
            person = ds.person(i)
            for method in scores:
                if method == "detector" and detector is None:
                    continue
                scores[method].append(mask_iou(for_person(person, method, detector).mask, truth))
    return {m: (round(float(np.mean(v)), 4) if v else None) for m, v in scores.items()}, len(scores["arms"])


def keypoint_speed(root: Path, seconds: float = 2.0) -> float:
    """Masks (both hands of one image) per second at 1024x768, one core."""
    cv2.setNumThreads(1)
    ds = VitonDataset(root, "test")
    people = [ds.read_keypoints(i).scaled(4, 4) for i in ds.ids]  # VITON-HD's full size
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for kp in people:
            from_keypoints(kp, (1024, 768))
            done += 1
    return done / (time.perf_counter() - start)


def detector_speed(root: Path, detector, real: Path | None) -> float:
    """Images per second at 512x384 (the sample's photos and any real ones, resized)."""
    ds = VitonDataset(root, "test")
    images = [imaging.resize_image(ds.read_image(i), (512, 384)) for i in ds.ids]
    if real is not None:
        images += [imaging.resize_image(imaging.read_image(p), (512, 384))
                   for p in sorted(real.glob("viton-hd-*/test/image/*.jpg"))]
    detector.detect(images[0])  # warm-up: the first call loads the models
    start = time.perf_counter()
    for img in images:
        detector.detect(img)
    return len(images) / (time.perf_counter() - start)


def real_figures(real: Path, detector) -> list[str]:
    lines = []
    for root in sorted(real.glob("viton-hd-*")):
        ds = VitonDataset(root, "test")
        for i in ds.ids:
            p = ds.person(i)
            kp = from_keypoints(p.keypoints, p.size).mask
            inside = float(np.isin(p.parse[kp], L.ARMS).mean()) if kp.any() else float("nan")
            line = f"  {root.name}/{i}: keypoint mask {int(kp.sum())} px, {inside:.1%} inside the arm labels"
            if detector is not None:
                line += f"; detector vs keypoints IoU {mask_iou(for_person(p, 'detector', detector).mask, kp):.2f}"
            lines.append(line)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", help="an existing sample (default: draw one in a temporary folder)")
    parser.add_argument("--n", type=int, default=48)
    parser.add_argument("--real", default=str(REPO.parent / "shared" / "data"))
    args = parser.parse_args()
    real = Path(args.real) if Path(args.real).is_dir() else None
    try:
        detector = HandDetector()
    except ImportError as e:
        print(f"detector unavailable: {e}")
        detector = None
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.root) if args.root else make_sample(Path(tmp) / "sample", n=args.n, progress=False)
        iou, people = mean_iou(root, detector)
        kp_speed = keypoint_speed(root)
        det_speed = detector_speed(root, detector, real) if detector is not None else None
    print(f"mean IoU against the true hand masks over {people} people with a visible hand: {iou}")
    print(f"keypoint masks: {kp_speed:.0f} per second at 1024x768 (one core); "
          f"detector: {det_speed:.1f} images per second at 512x384" if det_speed else "detector: not run")
    if real is not None:
        print(f"real VITON-HD samples in {real} (no true masks):")
        print("\n".join(real_figures(real, detector)))
    print(json.dumps({"iou": iou, "masks_per_s": {"keypoints": round(kp_speed, 1),
                                                   "detector": round(det_speed, 1) if det_speed else None}}))


if __name__ == "__main__":
    main()
