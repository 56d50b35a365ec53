"""Hand correction on the sample's test split (paired: the photo is the ground truth): for the base try-on,
the base re-denoised without the LoRA (scale0: plain re-denoising, grey hand region), the hand's first
guess pasted with no model (guess: its mask in the skin colour read off the face), with the LoRA at 0.4,
0.8 and 1.0, with hand preservation, and with preservation plus LoRA correction: the hand-shape IoU (skin
pixels in each true hand's square against the true hand, other true skin left out), hand-crop LPIPS, SSIM
and PSNR; the mean change outside the pasted hand regions (must be 0); correction time as a fraction of
the base try-on time per image.

    python benchmarks/correct.py                                   # trains everything first (~6 min)
    python benchmarks/correct.py --root R --model M --lora L      # an existing run's (e.g. the course's)

Hands are located with the hand masks `vton hands` writes (never the ground truth); the crops scored are
the squares around the *true* hands, the same for every variant.

Time per image is what a long run pays per image: both commands get their model already loaded (and the
correction its LoRA fused in), so one-off costs that a split of thousands of pairs spreads to nothing do
not count against 12 images; each is the best of three runs (the machine is shared). The fraction with
loading included, over these 12 images, is printed too. Last line: one JSON object.
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from vtonlib import imaging
from vtonlib.correct import correct_results
from vtonlib.correct.loop import CorrectionConfig
from vtonlib.correct.refiner import FirstGuessOnly
from vtonlib.metrics.hands import hand_scores, outside_change
from vtonlib.data.reader import VitonDataset
from vtonlib.data.sample import make_sample
from vtonlib.hands import write_hand_masks
from vtonlib.lora import LoraSpec, LoraTrainConfig, fuse_lora, train_lora
from vtonlib.metrics.hands import other_skin, person_skin
from vtonlib.metrics.perceptual import Lpips
from vtonlib.tryon import TrainConfig, TryOnConfig, TryOnPipeline, sample_split, train_tryon


def prepare(tmp: Path) -> tuple[Path, Path, Path]:
    root = make_sample(tmp / "sample", n=48, progress=False)
    train_tryon(root, tmp / "tryon", TryOnConfig.tiny(), TrainConfig(), progress=False)
    write_hand_masks(root, split="train", progress=False)
    train_lora(root, tmp / "tryon", root / "train" / "hand-mask", tmp / "hands.safetensors",
               LoraSpec(rank=8, alpha=4.0, targets="all"), LoraTrainConfig(), progress=False, log=lambda *_: None)
    return root, tmp / "tryon", tmp / "hands.safetensors"


def read_folder(folder: Path, names) -> dict:
    return {n: imaging.read_image(folder / n) for n in names}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--root")
    parser.add_argument("--model")
    parser.add_argument("--lora")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        root, model, lora = ((Path(args.root), Path(args.model), Path(args.lora)) if args.root else prepare(tmp))
        masks = tmp / "hand-mask-test"
        write_hand_masks(root, masks, split="test", method="auto", progress=False)
        config = CorrectionConfig(lora_scale=0.8)

        def fused_pipeline(scale: float, use_lora: bool = True) -> TryOnPipeline:
            pipe = TryOnPipeline.from_pretrained(model)
            if use_lora:
                fuse_lora(pipe.model.unet, lora, scale)
            return pipe

        runs = iter(range(1000))

        def best_seconds(run, repeats: int = 3) -> float:
            """The fastest of ``repeats`` runs, each into a fresh folder (nothing to resume)."""
            times = []
            for _ in range(repeats):
                out = tmp / "time" / str(next(runs))
                start = time.perf_counter()
                run(out)
                times.append(time.perf_counter() - start)
            return min(times)

        tryon = lambda out, **kw: sample_split(root, model, out, progress=False, **kw)  # noqa: E731
        correct = lambda out, **kw: correct_results(tmp / "base", root, model, out, lora=lora,  # noqa: E731
                                                    hand_mask_dir=masks, config=config, progress=False, **kw)
        base = tryon(tmp / "base")
        names = sorted(n for n, v in base["images"].items() if "error" not in v)
        loaded = {"base": best_seconds(tryon, 1), "correction": best_seconds(correct, 1)}  # the commands as typed
        pipe = TryOnPipeline.from_pretrained(model)
        base_s = best_seconds(lambda out: tryon(out, pipeline=pipe)) / len(names)
        pipe = fused_pipeline(config.lora_scale)
        correction_s = best_seconds(lambda out: correct(out, pipeline=pipe)) / len(names)

        sample_split(root, model, tmp / "preserve", preserve_hands=masks, progress=False)
        ds = VitonDataset(root, "test")
        person = {n: base["images"][n]["person"] for n in names}
        truths = {n: ds.read_image(person[n]) for n in names}
        true_masks = {n: ds.read_truth("hand-mask", person[n]) for n in names}
        skins = {n: person_skin(ds, person[n]) for n in names}
        others = {n: other_skin(ds.read_parse(person[n]), true_masks[n]) for n in names}
        variants = {"base": tmp / "base", "preserve": tmp / "preserve"}
        changes = []
        for key, source, scale, use_lora in (("scale0", "base", 0.0, False), ("guess", "base", 0.0, False),
                                            ("scale0.4", "base", 0.4, True), ("scale0.8", "base", 0.8, True),
                                            ("scale1.0", "base", 1.0, True), ("preserve+lora", "preserve", 0.8, True)):
            out = tmp / key
            guess = key == "guess"
            correct_results(tmp / source, root, model, out, lora=lora if use_lora else None, hand_mask_dir=masks,
                            config=CorrectionConfig(lora_scale=scale, hand_hint=True if guess else None),
                            save_masks=True, progress=False, refiner=FirstGuessOnly() if guess else None,
                            pipeline=None if guess else fused_pipeline(scale, use_lora))
            variants[key] = out
            for n in names:
                alpha = imaging.read_grey(out / "masks" / n).astype(np.float32) / 255
                changes.append(outside_change(imaging.read_image(tmp / source / n), imaging.read_image(out / n), alpha))
        lpips = Lpips()
        scores = {k: hand_scores(read_folder(folder, names), truths, true_masks, lpips=lpips if lpips.available else None,
                                 skins=skins, others=others) for k, folder in variants.items()}
    order = ["base", "scale0", "guess", "scale0.4", "scale0.8", "scale1.0", "preserve", "preserve+lora"]
    for k in order:
        s = scores[k]
        print(f"{k:14s} hand-shape IoU {s['shape_iou']:.4f}  LPIPS {s.get('lpips', float('nan')):.4f}  "
              f"SSIM {s['ssim']:.4f}  PSNR {s['psnr']:.2f} dB  ({s['hands']} hands)")
    fraction, typed = correction_s / base_s, loaded["correction"] / loaded["base"]
    print(f"{len(names)} test images; per image, model loaded: base try-on {base_s:.3f} s, correction (lora 0.8) "
          f"{correction_s:.3f} s, {100 * fraction:.0f} %; the commands as typed, loading included: "
          f"{loaded['base']:.2f} s and {loaded['correction']:.2f} s, {100 * typed:.0f} %")
    print(json.dumps({"hand_iou": {k: round(scores[k]["shape_iou"], 4) for k in order},
                      "hand_lpips": {k: round(scores[k].get("lpips", float("nan")), 4) for k in order},
                      "hand_ssim": {k: round(scores[k]["ssim"], 4) for k in order},
                      "hand_psnr": {k: round(scores[k]["psnr"], 3) for k in order},
                      "outside_change": float(max(changes)), "time_fraction": round(fraction, 3)}))


if __name__ == "__main__":
    main()
