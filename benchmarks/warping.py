"""Train the warping model on the built-in sample at notebook 03's defaults, then score it on the test
split against the true worn garments, next to the box baseline.

    python benchmarks/warping.py [--root DIR] [--steps N]

CPU budget: notebook 03's defaults (tiny width, flows at 128x96, 250 steps of batch 4), about a minute
on the 2-core reference machine. Also times the two correlation implementations. Last line: one JSON object.
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from vtonlib.data import VitonDataset
from vtonlib.data.sample import make_sample
from vtonlib.warp import (TrainConfig, WarpConfig, baseline_predictor, correlation, load_warp_model,
                          model_predictor, score_warps, train_warp)


def time_correlation() -> list[str]:
    lines = []
    for c, h, w in ((32, 64, 48), (256, 128, 96)):
        a = torch.randn(4, c, h, w, requires_grad=True)
        b = torch.randn(4, c, h, w, requires_grad=True)
        times = {}
        for method in ("shift", "unfold"):
            correlation(a, b, method=method).sum().backward()  # warm-up
            start = time.perf_counter()
            for _ in range(2):
                correlation(a, b, method=method).sum().backward()
            times[method] = (time.perf_counter() - start) / 2 * 1000
        lines.append(f"  correlation forward+backward, batch 4, {c} channels at {h}x{w}: "
                     f"shift {times['shift']:.0f} ms, unfold {times['unfold']:.0f} ms")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", help="an existing sample (default: draw one, 48 people, in a temporary folder)")
    parser.add_argument("--steps", type=int, default=TrainConfig().steps)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.root) if args.root else make_sample(Path(tmp) / "sample", n=48, progress=False)
        ckpt = Path(tmp) / "warp.safetensors"
        result = train_warp(root, ckpt, WarpConfig.tiny(), TrainConfig(steps=args.steps), progress=False)
        model = load_warp_model(ckpt)
        test = VitonDataset(root, "test")
        ours = score_warps(test, model_predictor(test, model))
        box = score_warps(test, baseline_predictor(test))
    print(f"trained {result['steps']} steps (tiny width, flows at 128x96, batch 4) in {result['seconds']:.1f} s")
    print(f"test split, paired, against the true worn garments: model IoU {ours['iou']:.3f}, SSIM {ours['ssim']:.3f}; "
          f"box baseline IoU {box['iou']:.3f}, SSIM {box['ssim']:.3f}")
    print("\n".join(time_correlation()))
    print(json.dumps({"iou": {"model": round(ours["iou"], 4), "baseline": round(box["iou"], 4)},
                      "ssim": {"model": round(ours["ssim"], 4), "baseline": round(box["ssim"], 4)},
                      "train_s": result["seconds"]}))


if __name__ == "__main__":
    main()
