"""The try-on model that notebook 04 trains at its defaults, scored on the sample's test split (paired):
SSIM and PSNR against the person photo, for the model and for the naive composite (the warped garment
pasted into the agnostic image); then the same model and seeds under PLMS 100 steps (DCI-VTON's sampler)
and DPM-Solver++ at 25 and 15 steps: SSIM and seconds per image.

    python benchmarks/tryon.py                      # draws a sample, trains the warp and the try-on model
    python benchmarks/tryon.py --root R --model M   # scores an existing model (e.g. a course run's)

Last line: one JSON object.
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

from vtonlib.data.sample import make_sample
from vtonlib.tryon import TrainConfig, TryOnConfig, TryOnPairs, TryOnPipeline, VaeTrainConfig, train_tryon
from vtonlib.tryon.quality import naive_composite, score
from vtonlib.tryon.sample import try_on
from vtonlib.warp import TrainConfig as WarpTrainConfig, WarpConfig, apply_warp, train_warp


def prepare(tmp: Path) -> tuple[Path, Path, float]:
    root = make_sample(tmp / "sample", n=48, progress=False)
    train_warp(root, tmp / "warp.safetensors", WarpConfig.tiny(), WarpTrainConfig(), progress=False)
    for split, unpaired in (("train", False), ("test", False)):
        apply_warp(root, tmp / "warp.safetensors", split=split, unpaired=unpaired, progress=False)
    result = train_tryon(root, tmp / "tryon", TryOnConfig.tiny(), TrainConfig(), VaeTrainConfig(), progress=False)
    return root, tmp / "tryon", result["seconds"] + result["history"]["vae"]["seconds"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--root")
    parser.add_argument("--model")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.root and args.model:
            root, model, train_s = Path(args.root), Path(args.model), float("nan")
        else:
            root, model, train_s = prepare(Path(tmp))
        pipe = TryOnPipeline.from_pretrained(model)
        data = TryOnPairs(root, "test", pipe.model.config.model_size, pipe.model.config.clip["image_size"])
        examples = [data.example(i) for i in range(len(data))]
        truths = {e["id"]: e["photo"] for e in examples}
        composite = score({e["id"]: naive_composite(e) for e in examples}, truths)
        by_sampler, seconds = {}, {}
        for name, scheduler, steps in (("plms100", "plms", 100), ("dpm25", "dpm", 25), ("dpm15", "dpm", 15)):
            pipe.set_scheduler(scheduler)
            start = time.perf_counter()
            results = try_on(pipe, examples, num_inference_steps=steps, seed=0)
            seconds[name] = (time.perf_counter() - start) / len(examples)
            by_sampler[name] = score({e["id"]: r for e, r in zip(examples, results)}, truths)
    model_scores = by_sampler["dpm25"]
    print(f"test split, paired, {len(examples)} people: model (DPM-Solver++ 25 steps) SSIM "
          f"{model_scores['ssim']:.4f}, PSNR {model_scores['psnr']:.2f}; naive composite SSIM {composite['ssim']:.4f}, "
          f"PSNR {composite['psnr']:.2f}")
    for name in by_sampler:
        print(f"  {name}: SSIM {by_sampler[name]['ssim']:.4f}, {seconds[name]:.3f} s per image")
    print(f"  DPM-Solver++ 25 vs PLMS 100: SSIM differs by "
          f"{abs(by_sampler['dpm25']['ssim'] - by_sampler['plms100']['ssim']) / by_sampler['plms100']['ssim']:.2%}, "
          f"{seconds['plms100'] / seconds['dpm25']:.1f}x faster")
    print(json.dumps({
        "ssim": {"model": round(model_scores["ssim"], 4), "composite": round(composite["ssim"], 4)},
        "psnr": {"model": round(model_scores["psnr"], 3), "composite": round(composite["psnr"], 3)},
        "ssim_by_sampler": {k: round(v["ssim"], 4) for k, v in by_sampler.items()},
        "s_per_image": {k: round(v, 4) for k, v in seconds.items()},
        "train_s": round(train_s, 1)}))


if __name__ == "__main__":
    main()
