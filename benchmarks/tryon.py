"""The try-on model that notebook 04 trains at its defaults, scored on the sample's test split where it
generates: inside the inpaint region (PSNR, SSIM, LPIPS against the photo, paired), the garment's colour
(CIEDE2000 of the mean colours over the true garment), and region PSNR of unpaired results against the
sample's true try-on; the same for the naive composite (the warped garment pasted into the agnostic image)
and the ceiling (the photo through the autoencoder and back). Then the same model and seeds under PLMS
100 steps (DCI-VTON's sampler) and DPM-Solver++ at 25 and 15 steps: region SSIM and seconds per image.

    python benchmarks/tryon.py                      # draws a sample, trains the warp and the try-on model
    python benchmarks/tryon.py --root R --model M   # scores an existing model (e.g. a course run's)

Needs the TAEF2 and LPIPS weights installed (`vton weights install`). Last line: one JSON object.
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

from vtonlib.data.sample import make_sample
from vtonlib.metrics.perceptual import Lpips
from vtonlib.tryon import TrainConfig, TryOnConfig, TryOnPairs, TryOnPipeline, train_tryon
from vtonlib.tryon.quality import autoencoder_ceiling, naive_composite, region_scores, true_garment
from vtonlib.tryon.sample import try_on
from vtonlib.warp import TrainConfig as WarpTrainConfig, WarpConfig, apply_warp, train_warp


def prepare(tmp: Path) -> tuple[Path, Path, float]:
    root = make_sample(tmp / "sample", n=48, progress=False)
    train_warp(root, tmp / "warp.safetensors", WarpConfig.tiny(), WarpTrainConfig(), progress=False)
    for split, unpaired in (("train", False), ("test", False), ("test", True)):
        apply_warp(root, tmp / "warp.safetensors", split=split, unpaired=unpaired, progress=False)
    result = train_tryon(root, tmp / "tryon", TryOnConfig.tiny(), TrainConfig(), progress=False)
    return root, tmp / "tryon", result["seconds"]


def examples_of(root, pipe, unpaired: bool):
    data = TryOnPairs(root, "test", pipe.model.config.model_size, pipe.model.config.clip["image_size"],
                      unpaired=unpaired)
    examples = [data.example(i) for i in range(len(data))]
    if unpaired:
        truths = [data.ds.read_truth("unpaired-image", e["id"]) for e in examples]
    else:
        truths = [e["photo"] for e in examples]
    garments = [true_garment(data.ds, e["id"], unpaired) for e in examples]
    return examples, truths, garments


def autoencoder_seconds(pipe, examples) -> float:
    """Per image, what every sampler pays whatever its steps: one encoding (the inpaint image) and one decoding."""
    import torch

    batch = torch.stack([e["inpaint_image"] for e in examples])
    start = time.perf_counter()
    with torch.no_grad():
        pipe.model.decode(pipe.model.encode(batch))
    return (time.perf_counter() - start) / len(examples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--root")
    parser.add_argument("--model")
    args = parser.parse_args()
    lpips = Lpips()
    if not lpips.available:
        print(lpips.reason)
    with tempfile.TemporaryDirectory() as tmp:
        if args.root and args.model:
            root, model, train_s = Path(args.root), Path(args.model), float("nan")
        else:
            root, model, train_s = prepare(Path(tmp))
        pipe = TryOnPipeline.from_pretrained(model)
        examples, truths, garments = examples_of(root, pipe, unpaired=False)
        composite = region_scores([naive_composite(e) for e in examples], examples, truths, lpips, garments)
        ceiling = region_scores(autoencoder_ceiling(pipe.model, examples), examples, truths, lpips, garments)
        by_sampler, seconds = {}, {}
        for name, scheduler, steps in (("plms100", "plms", 100), ("dpm25", "dpm", 25), ("dpm15", "dpm", 15)):
            pipe.set_scheduler(scheduler)
            start = time.perf_counter()
            results = try_on(pipe, examples, num_inference_steps=steps, seed=0)
            seconds[name] = (time.perf_counter() - start) / len(examples)
            by_sampler[name] = region_scores(results, examples, truths, lpips if name == "dpm25" else None, garments)
        autoencoder_s = autoencoder_seconds(pipe, examples)
        pipe.set_scheduler("dpm")
        u_examples, u_truths, u_garments = examples_of(root, pipe, unpaired=True)
        unpaired = region_scores(try_on(pipe, u_examples, num_inference_steps=25, seed=0), u_examples, u_truths,
                                 None, u_garments)
    model_scores = by_sampler["dpm25"]
    rows = {"model": model_scores, "composite": composite, "ceiling": ceiling}
    print(f"test split, paired, {len(examples)} people, inside the inpaint region (model: DPM-Solver++ 25 steps):")
    for name, s in rows.items():
        print(f"  {name:9s} PSNR {s['psnr']:6.2f} dB  SSIM {s['ssim']:.4f}  LPIPS {s.get('lpips', float('nan')):.4f}  "
              f"garment CIEDE2000 {s['delta_e']:5.2f}   (whole image: SSIM {s['image_ssim']:.4f}, "
              f"PSNR {s['image_psnr']:.2f})")
    print(f"  unpaired, against the true try-on: region PSNR {unpaired['psnr']:.2f} dB, "
          f"garment CIEDE2000 {unpaired['delta_e']:.2f}")
    for name in by_sampler:
        print(f"  {name}: region SSIM {by_sampler[name]['ssim']:.4f}, {seconds[name]:.3f} s per image")
    gap = abs(by_sampler["dpm25"]["ssim"] - by_sampler["plms100"]["ssim"]) / by_sampler["plms100"]["ssim"]
    sampling = {k: v - autoencoder_s for k, v in seconds.items()}
    print(f"  DPM-Solver++ 25 vs PLMS 100: region SSIM differs by {gap:.2%}, "
          f"{seconds['plms100'] / seconds['dpm25']:.1f}x faster per image; the autoencoder's encoding and decoding "
          f"({autoencoder_s:.3f} s per image) are the same for both: the sampling loops alone, "
          f"{sampling['plms100'] / sampling['dpm25']:.1f}x")
    pick = lambda key: {k: round(v[key], 4) for k, v in rows.items() if key in v}  # noqa: E731
    print(json.dumps({
        "region": {"psnr": pick("psnr"), "lpips": pick("lpips"), "ssim": pick("ssim")},
        "garment_delta_e": {k: round(rows[k]["delta_e"], 3) for k in ("model", "composite")},
        "unpaired_region_psnr": round(unpaired["psnr"], 3),
        "image": {"ssim": round(model_scores["image_ssim"], 4), "psnr": round(model_scores["image_psnr"], 3)},
        "region_ssim_by_sampler": {k: round(v["ssim"], 4) for k, v in by_sampler.items()},
        "s_per_image": {k: round(v, 4) for k, v in seconds.items()},
        "autoencoder_s_per_image": round(autoencoder_s, 4),
        "speedup": {"per_image": round(seconds["plms100"] / seconds["dpm25"], 2),
                    "sampling_loop": round(sampling["plms100"] / sampling["dpm25"], 2)},
        "train_s": round(train_s, 1) if train_s == train_s else None}))


if __name__ == "__main__":
    main()
