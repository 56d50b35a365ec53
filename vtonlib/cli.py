"""The ``vton`` command: every stage of the course from a shell, doing exactly what its notebook does.

    vton sample OUT [--n 48] [--size 256x192] [--seed 0]
    vton check ROOT [--split test] [--stage data] [--quick] [--json FILE]
    vton little ROOT OUT [--split train] [--min-confidence 0.3]
    vton hands ROOT [--split test] [--method auto|keypoints|densepose|detector|arms] [--out DIR]
    vton warp train ROOT --out CKPT [--size 128x96] [--steps N];  vton warp apply ROOT --ckpt CKPT [--unpaired]
    vton tryon convert viton512.ckpt OUT_DIR;  vton tryon train ROOT --out DIR [--preset tiny|full] [--steps N]
    vton tryon sample ROOT --model DIR --out RESULTS [--split test] [--unpaired] [--scheduler dpm] [--steps 25]
    vton lora train ROOT --model DIR --hand-masks DIR --out hands.safetensors [--rank 64] [--alpha 32] [--steps N]
    vton lora export-kohya hands.safetensors OUT;  vton lora import-kohya KOHYA --model DIR --out hands.safetensors
    vton correct RESULTS --data ROOT --model DIR --lora hands.safetensors --out OUT [--lora-scale 0.8]
                 [--hand-mask-dir DIR | --detect] [--strength 0.5] [--steps 12]
    vton evaluate --results DIR [--baseline DIR] --data ROOT [--split test] --out REPORT_DIR
    vton course [--run-dir DIR] [--only 01] [--data-root ROOT] [--preset full] [--param NAME=VALUE ...]
    vton weights list|install|check [--dir DIR] [--source DIR] [--no-download]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from pathlib import Path

from .fileio import DataError
from .validate import (Progress, finite_float, fraction, non_negative_int, output_dir, output_file, positive_float,
                       positive_int, unit_float)

TARGET_CHOICES = ("attention", "attention+ff", "all")  # vtonlib.lora.adapter.TARGETS, without importing peft


def _print_errors(report: dict) -> dict:
    """The per-item failures of a batch report (``{"images": {name: {"error": ...}}}``), printed."""
    errors = {k: v["error"] for k, v in report["images"].items() if "error" in v}
    for name, error in errors.items():
        print(f"  {name}: {error}")
    return errors


def _batch_exit(report: dict, what: str) -> int:
    """0 when anything succeeded (failures are in the report), 1 when every item failed."""
    images = report["images"]
    if images and all("error" in v for v in images.values()):
        print(f"every {what} failed ({len(images)}): see the errors above", file=sys.stderr)
        return 1
    return 0


def _sample(args) -> int:
    from .data.sample import make_sample, parse_size

    start = time.perf_counter()
    output_dir(args.out, "OUT")
    out = make_sample(args.out, n=args.n, size=parse_size(args.size), seed=args.seed,
                      test_fraction=args.test_fraction, progress=not args.quiet)
    print(f"sample of {args.n} people at {args.size} written to {out} in {time.perf_counter() - start:.1f} s")
    return 0


def _check(args) -> int:
    from .data.check import check_root

    if args.json and args.json != "-":
        output_file(args.json, args.root, option="--json")
    try:
        report = check_root(args.root, splits=args.split, stage=args.stage, require=tuple(args.require),
                            quick=args.quick, progress=not args.quiet)
    except Exception as e:  # the checker reports; it never ends in a traceback
        print(f"vton check: could not check {args.root}: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    print(report.format())
    if args.json:
        text = json.dumps(report.to_dict(), indent=2)
        if args.json == "-":
            print(text)
        else:
            from .fileio import write_text

            write_text(args.json, text + "\n")
    return 0 if report.ok else 1


def _separate_output(out, *inputs) -> None:
    """An output folder must not be one of the command's input folders: files there would be replaced."""
    from .validate import inside

    for given in inputs:
        if given is not None and Path(given).exists() and inside(out, given) and inside(given, out):
            raise DataError(out, f"the output folder is also an input of this command ({given}); choose another")
    output_dir(out)


def _little(args) -> int:
    from .data.subset import SubsetRule, make_subset

    rule = SubsetRule(min_confidence=args.min_confidence, min_points=args.min_points, min_size=args.min_size,
                      margin=args.margin, seed_rule_only=args.seed_rule)
    summary = make_subset(args.root, args.out, split=args.split, rule=rule, link=args.link, progress=not args.quiet)
    print(f"kept {summary['kept']} of {summary['total']} samples of {args.split}; "
          f"{summary['files_copied']} files {'linked' if args.link else 'copied'} to {args.out}; "
          f"decisions in {args.out}/subset.json")
    return 0


def _hands(args) -> int:
    from .hands import write_hand_masks

    report = write_hand_masks(args.root, args.out, split=args.split, method=args.method, width=args.width,
                              detector_confidence=args.detector_confidence, progress=not args.quiet)
    c = report["counts"]
    out = args.out or f"{args.root}/{args.split}/hand-mask"
    print(f"{c['images']} masks in {out}: {c['with_hands']} with hands, {c['without_hands']} without, "
          f"{c['errors']} errors; sources {report['sources']}; report in {out}/hands.json")
    for sample_id, entry in report["images"].items():
        if "error" in entry:
            print(f"  {sample_id}: {entry['error']}")
    return _batch_exit(report, "image")


def _warp_train(args) -> int:
    from .data.sample import parse_size
    from .warp import TrainConfig, WarpConfig, train_warp

    size = parse_size(args.size) if args.preset == "tiny" else tuple(int(v) for v in args.size.split("x"))
    config = WarpConfig.tiny(size) if args.preset == "tiny" else WarpConfig(size=size)
    result = train_warp(args.root, args.out, config, TrainConfig(steps=args.steps, batch_size=args.batch_size,
                                                                   lr=args.lr, seed=args.seed),
                        split=args.split, vgg_path=args.vgg, progress=not args.quiet)
    print(f"trained {result['steps']} steps in {result['seconds']:.0f} s; last loss {result['history'][-1][1]:.3f}; "
          f"model in {result['out']}")
    return 0


def _warp_apply(args) -> int:
    from .warp import apply_warp

    report = apply_warp(args.root, args.ckpt, split=args.split, unpaired=args.unpaired, progress=not args.quiet,
                        align_corners=args.align_corners)
    failed = sum("error" in v for v in report["images"].values())
    prefix = "unpaired-" if args.unpaired else ""
    print(f"{report['written_this_run']} warped garments written to {args.root}/{args.split}/{prefix}cloth-warp "
          f"(and -mask); {len(report['images'])} in all; {failed} errors")
    _print_errors(report)
    return _batch_exit(report, "pair")


def _tryon_convert(args) -> int:
    from .tryon import TryOnConfig
    from .tryon.convert import convert_checkpoint
    from .tryon.ldm_config import config_from_ldm, read_ldm_config
    from .tryon.model import SAMPLING_COURSE, SAMPLING_DCI

    if not args.check_only and not args.out:
        raise ValueError("give an output folder, or --check-only")
    if not args.check_only:
        output_file(Path(args.out) / "tryon_config.json", args.checkpoint, option="OUT")
    config = config_from_ldm(read_ldm_config(args.config)) if args.config else TryOnConfig.full()
    if args.dataset:
        config.dataset = args.dataset
    if args.sampling:
        config.sampling = dict(SAMPLING_DCI if args.sampling == "dci-vton" else SAMPLING_COURSE)
    report = convert_checkpoint(args.checkpoint, None if args.check_only else args.out, config)
    print(f"{report['used']} of {report['source_tensors']} tensors used; filled "
          + ", ".join(f"{k} {v}" for k, v in report["filled"].items()))
    print(f"inputs formed as {config.dataset}; sampling: " + ", ".join(f"{k} {v}" for k, v in config.sampling.items()))
    for reason, entry in report["unused"].items():
        print(f"  unused ({reason}): {entry['count']}, e.g. {', '.join(entry['examples'])}")
    print(f"model folder written to {args.out}" if not args.check_only else "checked only; nothing written")
    return 0


def _tryon_train(args) -> int:
    from .tryon import TrainConfig, TryOnConfig, train_tryon

    recipe = TrainConfig.dci_vton if args.preset == "full" else TrainConfig
    given = {k: v for k, v in (("steps", args.steps), ("batch_size", args.batch_size), ("lr", args.lr)) if v is not None}
    result = train_tryon(args.root, args.out, TryOnConfig.preset(args.preset),
                         recipe(seed=args.seed, mixed_precision=args.mixed_precision, **given),
                         init=args.init, vgg_path=args.vgg, progress=not args.quiet)
    last = result["history"]["unet"][-1] if result["history"]["unet"] else None
    print(f"trained {result['steps']} steps in {result['seconds']:.0f} s; last (eps, x0) losses "
          f"{last[1:] if last else '-'}; model folder {result['out']}")
    return 0


def _tryon_sample(args) -> int:
    from .tryon import sample_split

    report = sample_split(args.root, args.model, args.out, split=args.split, unpaired=args.unpaired,
                          scheduler=args.scheduler, num_inference_steps=args.steps, seed=args.seed,
                          batch_size=args.batch_size, strength=args.strength, progress=not args.quiet,
                          preserve_hands=args.preserve_hands)
    failed = sum("error" in v for v in report["images"].values())
    print(f"{report['written_this_run']} results written to {args.out} ({len(report['images'])} in all, "
          f"{failed} failed)")
    _print_errors(report)
    return _batch_exit(report, "pair")


def _lora_train(args) -> int:
    from .lora import LoraSpec, LoraTrainConfig, train_lora

    spec = LoraSpec(rank=args.rank, alpha=args.alpha, targets=args.targets)
    cfg = LoraTrainConfig(steps=args.steps, batch_size=args.batch_size, lr=args.lr, crop=args.crop, seed=args.seed,
                          outside_weight=args.outside_weight, sample_every=args.sample_every,
                          save_every=args.save_every, mixed_precision=args.mixed_precision,
                          gradient_checkpointing=args.gradient_checkpointing)
    result = train_lora(args.root, args.model, args.hand_masks, args.out, spec, cfg, split=args.split,
                        progress=not args.quiet)
    val = result["history"]["validation"]
    print(f"trained {result['steps']} steps on {result['hands']} hands in {result['seconds']:.0f} s; "
          f"validation loss {val[0][1] if val else '-'} -> {val[-1][1] if val else '-'}; adapter {result['out']}")
    return 0


def _lora_export(args) -> int:
    from .lora.kohya import export_kohya

    output_file(args.out, args.lora)
    modules = export_kohya(args.lora, args.out)
    print(f"{modules} modules written to {args.out} in the kohya format")
    return 0


def _lora_import(args) -> int:
    from .lora.kohya import import_kohya

    output_file(args.out, args.kohya, option="--out")
    report = import_kohya(args.kohya, args.model, args.out)
    print(f"{len(report['loaded'])} modules loaded into {args.out}")
    for kind in ("unknown", "mismatched", "text_encoder"):
        if report[kind]:
            print(f"  {kind} ({len(report[kind])}): {', '.join(report[kind][:5])}"
                  + (" ..." if len(report[kind]) > 5 else ""))
    return 0


def _bool(text: str) -> bool:
    """The original project's ``--hand_correction True`` spelling."""
    value = str(text).strip().lower()
    if value in ("true", "1", "yes", "on"):
        return True
    if value in ("false", "0", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected True or False, got {text!r}")


def _correct(args) -> int:
    from .correct import CorrectionConfig, HandSelection, correct_results

    _separate_output(args.out, args.results, args.data)
    if args.hand_correction and not args.lora and not args.no_lora:
        raise ValueError("give --lora hands.safetensors (or --no-lora for plain re-denoising, the baseline)")
    refiner = None
    if args.refiner == "sd-inpaint" and args.hand_correction:
        from .correct.refiner import SDInpaintRefiner

        if not args.refiner_model:
            raise ValueError("--refiner sd-inpaint needs --refiner-model DIR (a local Stable Diffusion inpainting "
                             "folder)")
        refiner = SDInpaintRefiner(args.refiner_model, None if args.no_lora else args.lora, prompt=args.prompt,
                                   negative_prompt=args.negative_prompt, guidance_scale=args.guidance_scale)
    steps = args.steps or (28 if refiner is not None else CorrectionConfig.steps)  # SD's samplers need more
    config = CorrectionConfig(lora_scale=args.lora_scale, strength=args.strength, steps=steps,
                              padding=args.padding, crop=args.crop, dilate=args.dilate, blur=args.blur, seed=args.seed)
    selection = HandSelection(min_confidence=args.min_confidence, min_area=args.min_area, max_area=args.max_area,
                              top_k=args.top_k, fix_below=args.fix_below)
    report = correct_results(args.results, args.data, args.model, args.out, lora=None if args.no_lora else args.lora,
                             split=args.split, hand_mask_dir=args.hand_mask_dir, detect=args.detect, config=config,
                             selection=selection, save_masks=args.save_masks, save_grids=args.save_grids,
                             enabled=args.hand_correction, progress=not args.quiet, refiner=refiner)
    images = report["images"]
    failed = sum("error" in v for v in images.values())
    hands = sum(len(v.get("hands", [])) for v in images.values())
    print(f"{report['written_this_run']} results written to {args.out} ({len(images)} in all, {hands} hands "
          f"corrected, {failed} failed)")
    _print_errors(report)
    return _batch_exit(report, "result")


def _evaluate(args) -> int:
    from .evaluate import evaluate
    from .evaluate.report import COLUMNS

    _separate_output(args.out, args.results, args.data, args.baseline)
    report = evaluate(args.results, args.data, args.out, baseline=args.baseline, split=args.split,
                      hand_mask_dir=args.hand_mask_dir, lpips_weights=args.lpips_weights,
                      inception_weights=args.inception_weights, detect=not args.no_detector, progress=not args.quiet)
    print(f"{report['images']} images scored; report: {args.out}/report.html and report.json")
    for name, why in report.get("skipped", {}).items():
        print(f"  {name}: {why}")
    for key, scores in report["scores"].items():
        mean = scores["mean"]
        print(f"  {key:9s} " + "  ".join(f"{c} {mean[c]:.4f}" for c in COLUMNS if c in mean))
    for metric, reason in report["not_computed"].items():
        print(f"  {metric}: {reason}")
    if "outside_hands" in report:
        print(f"  pixels changed outside the hands: {report['outside_hands']['changed_pixels']}")
    return 0


def _prepare(args) -> int:
    from .data.sample import parse_size
    from .prepare import prepare_root

    size = parse_size(args.size)
    output_dir(args.out)
    report = prepare_root(args.people, args.garment, args.out, size, progress=not args.quiet)
    ok_people = [k for k, v in report["people"].items() if "error" not in v]
    ok_garments = [k for k, v in report["garments"].items() if "error" not in v]
    print(f"{len(ok_people)} of {len(report['people'])} people and {len(ok_garments)} of {len(report['garments'])} "
          f"garments prepared into {args.out} (test/, test_pairs.txt); report in {args.out}/prepare.json")
    for kind in ("people", "garments"):
        for key, entry in report[kind].items():
            if "error" in entry:
                print(f"  {key}: {entry['error']}")
            elif entry.get("notes"):
                print(f"  {key}: {'; '.join(entry['notes'])}")
    return 0 if ok_people and ok_garments else 1


def _try(args) -> int:
    from .data.sample import parse_size
    from .prepare.whole import try_photo

    size = parse_size(args.size)
    record = try_photo(args.person, args.garment, args.out, model=args.model, warp=args.warp, lora=args.lora,
                       lora_scale=args.lora_scale, size=size, steps=args.steps, seed=args.seed,
                       progress=not args.quiet)
    print(f"try-on written to {record['outputs']['tryon']}, hands corrected in {record['outputs']['corrected']}, "
          f"side by side in {record['outputs']['side_by_side']}")
    print("  seconds: " + ", ".join(f"{k} {v}" for k, v in record["seconds"].items()))
    if record.get("note"):
        print(f"  {record['note']}")
    return 0


def _demo(args) -> int:
    import os

    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import importlib.util

    if importlib.util.find_spec("gradio") is None:
        raise ValueError("the demo needs Gradio: install it with `make demo` (see README, 'The demo')")
    from .demo import serve

    print(f"serving on http://{args.host}:{args.port} (Ctrl-C to stop)")
    serve(args.host, args.port, args.model, args.warp, args.lora)
    return 0


def _weights(args) -> int:
    from . import weights

    directory = args.dir or weights.weights_dir()
    if args.action == "list":
        for key, entry in weights.REGISTRY.items():
            print(f"{key:14s} {entry.name}  {entry.size:,} bytes  sha256 {entry.sha256[:16]}...  {entry.licence}\n"
                  f"{'':14s} from {entry.source}" + (f" ({entry.url})" if entry.url else "") +
                  f"\n{'':14s} used by {entry.used_by}")
        return 0
    if args.action == "install":
        print(f"installing pretrained weights into {directory}")
        status = weights.install(directory=directory, source=args.source, download=not args.no_download)
        failed = [k for k, v in status.items() if v.startswith("failed")]
        if failed:
            print(f"{len(failed)} of {len(status)} not installed: {', '.join(failed)}; the stages that need them say "
                  f"so when they run")
        return 1 if failed else 0
    status = weights.check(directory)
    for key, state in status.items():
        print(f"  {key:14s} {state}: {Path(directory) / weights.REGISTRY[key].name}")
    return 0 if all(v == "ok" for v in status.values()) else 1


def _course(args) -> int:
    from . import course

    params = {k: v for k, v in (("DATA_ROOT", args.data_root), ("PRESET", args.preset)) if v}
    for item in args.param:
        name, _, value = item.partition("=")
        try:
            params[name] = json.loads(value)
        except json.JSONDecodeError:
            params[name] = value
    # the floors are the built-in sample's at the course defaults: other data or scales are not held to them
    floors = None if args.no_check or args.data_root or args.preset == "full" else course.FLOORS
    summary = course.run_course(args.run_dir, params, only=args.only, floors=floors)
    print()
    print(course.format_summary(summary))
    if floors is None and not args.no_check:
        print("\n  (quality floors not checked: they hold for the built-in sample at the course's scale)")
    return 0 if course.passed(summary) else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vton", description="Diffusion virtual try-on with hand correction: "
                                     "the course's stages from the shell.")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an unexpected error")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("sample", help="generate the built-in sample dataset (VITON-HD layout, exact ground truth)")
    p.add_argument("out", help="folder to write (created; a finished sample with the same parameters is reused)")
    p.add_argument("--n", type=positive_int, default=48, help="number of people (default 48)")
    p.add_argument("--size", default="256x192", help="HEIGHTxWIDTH, a multiple of 64x48 (default 256x192)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--test-fraction", type=fraction, default=0.25, help="share of people in test/ (default 0.25)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_sample)

    p = sub.add_parser("check", help="validate a VITON-HD root; exit 0 when usable, 1 otherwise")
    p.add_argument("root")
    p.add_argument("--split", action="append", help="split to check (repeatable; default: every split found)")
    p.add_argument("--stage", default="data", choices=["data", "hands", "warp", "tryon", "lora"],
                   help="the stage whose required folders are errors when absent (default: data)")
    p.add_argument("--require", action="append", default=[], help="another folder key to require (repeatable)")
    p.add_argument("--quick", action="store_true", help="read image headers only (faster; misses truncation)")
    p.add_argument("--json", help="also write the full report as JSON to this file ('-' for stdout)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_check)

    p = sub.add_parser("little", help="copy the hand-visible subset of a split into a new root")
    p.add_argument("root")
    p.add_argument("out")
    p.add_argument("--split", default="train")
    p.add_argument("--min-confidence", type=fraction, default=0.3, help="the seed rule's threshold (default 0.3)")
    p.add_argument("--min-points", type=non_negative_int, default=10, help="confident points a hand needs (default 10)")
    p.add_argument("--min-size", type=fraction, default=0.04, help="hand extent as a share of the height (default 0.04)")
    p.add_argument("--margin", type=fraction, default=0.0, help="distance from the border, share of the height")
    p.add_argument("--seed-rule", action="store_true", help="apply the seed project's rule alone")
    p.add_argument("--link", action="store_true", help="hard-link files instead of copying them")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_little)

    p = sub.add_parser("hands", help="write hand masks (PNG) and hands.json for a VITON-HD split or a photo folder")
    p.add_argument("root", help="a VITON-HD root, or a folder of photos (then use --method detector and --out)")
    p.add_argument("--split", default="test")
    p.add_argument("--method", default="auto", choices=["auto", "keypoints", "densepose", "detector", "arms"])
    p.add_argument("--out", help="output folder (default ROOT/SPLIT/hand-mask)")
    p.add_argument("--width", type=positive_float, default=1.0, help="stroke width factor of keypoint masks (default 1.0)")
    p.add_argument("--detector-confidence", type=fraction, default=0.3, help="MediaPipe palm threshold (default 0.3)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_hands)

    warp = sub.add_parser("warp", help="the appearance-flow warping stage (PF-AFN)")
    warp_sub = warp.add_subparsers(dest="warp_command", required=True)
    p = warp_sub.add_parser("train", help="train the warping model on a split (resumable)")
    p.add_argument("root")
    p.add_argument("--out", required=True, help="model file (.safetensors); training state goes beside it")
    p.add_argument("--preset", choices=["tiny", "full"], default="tiny", help="model width (default tiny)")
    p.add_argument("--size", default="128x96", help="HxW at which flows are estimated (full scale: 256x192)")
    p.add_argument("--steps", type=positive_int, default=250)
    p.add_argument("--batch-size", type=positive_int, default=4)
    p.add_argument("--lr", type=positive_float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--split", default="train")
    p.add_argument("--vgg", help="VGG19 weights for the perceptual loss (default: the torch hub cache)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_warp_train)
    p = warp_sub.add_parser("apply", help="write cloth-warp/ and cloth-warp-mask/ (or unpaired-...) for a split")
    p.add_argument("root")
    p.add_argument("--ckpt", required=True, help="a trained .safetensors, or the released warp_viton.pth")
    p.add_argument("--split", default="test")
    p.add_argument("--unpaired", action="store_true", help="warp the pairs file's garments")
    p.add_argument("--align-corners", action=argparse.BooleanOptionalAction, default=None,
                   help="grid_sample's convention (default: what the model recorded; a released .pth: False, as "
                        "DCI-VTON's warp_viton.pth was trained; PF-AFN's own release: --align-corners)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_warp_apply)

    tryon = sub.add_parser("tryon", help="the diffusion try-on stage (DCI-VTON)")
    tryon_sub = tryon.add_subparsers(dest="tryon_command", required=True)
    p = tryon_sub.add_parser("convert", help="convert a released LDM checkpoint (viton512.ckpt, model.ckpt)")
    p.add_argument("checkpoint")
    p.add_argument("out", nargs="?", help="model folder to write")
    p.add_argument("--check-only", action="store_true", help="verify every tensor and shape; write nothing")
    p.add_argument("--config", metavar="LDM_YAML",
                   help="the checkpoint's original config (configs/viton512.yaml, ..._v2.yaml, Paint-by-Example's "
                        "v1.yaml): its sizes, schedule and dataset; default: the released viton512.ckpt's")
    p.add_argument("--dataset", choices=["dci-v1", "dci-v2", "course"],
                   help="how the inputs are formed (default: from the config's dataset class; v1 without one)")
    p.add_argument("--sampling", choices=["dci-vton", "course"],
                   help="sample exactly as DCI-VTON's test.py (default) or the course's way")
    p.set_defaults(func=_tryon_convert)
    p = tryon_sub.add_parser("train", help="train the try-on model on the frozen pretrained autoencoder; resumable")
    p.add_argument("root")
    p.add_argument("--out", required=True, help="model folder")
    p.add_argument("--preset", choices=["tiny", "full"], default="tiny",
                   help="tiny: the course's CPU recipe (TAEF2); full: DCI-VTON's recipe, from --init")
    p.add_argument("--init", help="a model folder to start from (e.g. a converted release)")
    p.add_argument("--steps", type=positive_int, help="training steps (default: the preset's, 700 for tiny)")
    p.add_argument("--batch-size", type=positive_int, help="default 4")
    p.add_argument("--lr", type=positive_float, help="default: 1e-3 tiny, 1e-5 full")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--mixed-precision", choices=["no", "fp16", "bf16"], default="no", help="GPUs only")
    p.add_argument("--vgg", help="VGG19 weights for the perceptual term (default: the torch hub cache)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_tryon_train)
    p = tryon_sub.add_parser("sample", help="try on every pair of a split: one PNG per pair (resumable)")
    p.add_argument("root")
    p.add_argument("--model", required=True, help="model folder")
    p.add_argument("--out", required=True, help="results folder")
    p.add_argument("--split", default="test")
    p.add_argument("--unpaired", action="store_true", help="the pairs file's garments (default: their own)")
    p.add_argument("--scheduler", choices=["plms", "ddim", "dpm"], default="dpm")
    p.add_argument("--steps", type=positive_int, default=25)
    p.add_argument("--strength", type=unit_float, default=1.0, help="share of the schedule run (1: from t=999)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=positive_int, default=8)
    p.add_argument("--preserve-hands", metavar="HAND_MASK_DIR",
                   help="keep each person's own hands (masks from vton hands): only the wrist seam is generated")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_tryon_sample)

    lora = sub.add_parser("lora", help="the hand LoRA on the try-on UNet")
    lora_sub = lora.add_subparsers(dest="lora_command", required=True)
    p = lora_sub.add_parser("train", help="train a hand LoRA on hand crops (resumable; runs under accelerate launch)")
    p.add_argument("root")
    p.add_argument("--model", required=True, help="try-on model folder (vton tryon train / convert)")
    p.add_argument("--hand-masks", required=True, help="hand-mask folder with hands.json (vton hands)")
    p.add_argument("--out", required=True, help="adapter file (.safetensors); training state goes beside it")
    p.add_argument("--split", default="train")
    p.add_argument("--rank", type=positive_int, default=64)
    p.add_argument("--alpha", type=positive_float, default=32.0)
    p.add_argument("--targets", choices=sorted(TARGET_CHOICES), default="attention",
                   help="layers that get adapters (default: attention projections, as the original)")
    p.add_argument("--steps", type=positive_int, default=600)
    p.add_argument("--batch-size", type=positive_int, default=4)
    p.add_argument("--lr", type=positive_float, default=1e-3)
    p.add_argument("--crop", type=positive_int, default=96, help="square crop size (default 96; 256 at full scale)")
    p.add_argument("--outside-weight", type=fraction, default=0.1, help="loss weight outside the hand (default 0.1)")
    p.add_argument("--sample-every", type=positive_int, default=200, help="render sample crops every N steps")
    p.add_argument("--save-every", type=positive_int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--mixed-precision", choices=["no", "fp16", "bf16"], default="no", help="GPUs only")
    p.add_argument("--gradient-checkpointing", action="store_true", help="GPUs only: less activation memory")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_lora_train)
    p = lora_sub.add_parser("export-kohya", help="write an adapter as a kohya sd-scripts LoRA file")
    p.add_argument("lora")
    p.add_argument("out")
    p.set_defaults(func=_lora_export)
    p = lora_sub.add_parser("import-kohya", help="fit a kohya LoRA file to a try-on model; reports what did not fit")
    p.add_argument("kohya")
    p.add_argument("--model", required=True, help="try-on model folder")
    p.add_argument("--out", required=True, help="adapter file to write (.safetensors)")
    p.set_defaults(func=_lora_import)

    p = sub.add_parser("correct", help="correct the hands of try-on results: crop, refine with the LoRA, paste back")
    p.add_argument("results", help="a folder of try-on results (vton tryon sample)")
    p.add_argument("--data", required=True, help="the VITON-HD root the results come from (for the garments)")
    p.add_argument("--model", required=True, help="try-on model folder")
    p.add_argument("--lora", help="hand LoRA (.safetensors, vton lora train)")
    p.add_argument("--no-lora", action="store_true", help="re-denoise the hands without a LoRA (the baseline)")
    p.add_argument("--out", required=True, help="folder for the corrected results and correct.json")
    p.add_argument("--split", default="test")
    p.add_argument("--lora-scale", "--lora_scale", dest="lora_scale", type=finite_float, default=0.8)
    p.add_argument("--hand-correction", "--hand_correction", dest="hand_correction", type=_bool, default=True,
                   metavar="True|False", help="False copies the results unchanged (the original's flag)")
    hands = p.add_mutually_exclusive_group()
    hands.add_argument("--hand-mask-dir", "--hand_mask_dir", dest="hand_mask_dir",
                       help="hand masks per person (default: DATA/SPLIT/hand-mask when present, else --detect)")
    hands.add_argument("--detect", action="store_true", help="find the hands with the detector on each result")
    p.add_argument("--strength", type=unit_float, default=0.5, help="share of the schedule re-run (default 0.5)")
    p.add_argument("--steps", type=positive_int, help="sampler schedule; strength 0.5 runs half of it (default 12; "
                                            "28 with sd-inpaint, ADetailer's)")
    p.add_argument("--padding", type=non_negative_int, help="context around each hand, pixels (default: the LoRA's geometry)")
    p.add_argument("--crop", type=positive_int, default=96, help="hand crop working size: the LoRA's (96; 256 full)")
    p.add_argument("--dilate", type=non_negative_int, default=4)
    p.add_argument("--blur", type=non_negative_int, default=4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--min-confidence", type=fraction, default=0.0, help="ignore hands found with less confidence")
    p.add_argument("--min-area", type=non_negative_int, default=16, help="ignore hands of fewer pixels")
    p.add_argument("--max-area", type=fraction, default=0.15, help="ignore 'hands' larger than this share of the image")
    p.add_argument("--top-k", type=positive_int, help="correct only the k largest hands")
    p.add_argument("--fix-below", type=fraction, help="only hands the detector finds with less confidence than this")
    p.add_argument("--refiner", choices=["tryon", "sd-inpaint"], default="tryon",
                   help="what redraws the hands: the try-on model (default) or a local SD inpainting model")
    p.add_argument("--refiner-model", help="Stable Diffusion inpainting folder (diffusers layout) for sd-inpaint")
    p.add_argument("--prompt", default="realistic hands, detailed knuckles, no deformation", help="sd-inpaint only")
    p.add_argument("--negative-prompt", help="sd-inpaint only")
    p.add_argument("--guidance-scale", type=finite_float, default=7.5, help="sd-inpaint only (default 7.5)")
    p.add_argument("--save-masks", action="store_true", help="also write the paste weights (OUT/masks)")
    p.add_argument("--save-grids", action="store_true", help="also write before | after | change (OUT/grids)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_correct)

    p = sub.add_parser("evaluate", help="score results against the ground truth: report.json and report.html")
    p.add_argument("--results", required=True, help="folder of results (e.g. corrected ones)")
    p.add_argument("--baseline", help="folder of results to compare with (e.g. the base try-on)")
    p.add_argument("--data", required=True, help="the VITON-HD root the results come from")
    p.add_argument("--split", default="test")
    p.add_argument("--out", required=True, help="report folder")
    p.add_argument("--hand-mask-dir", help="hand masks for the hand crops where the data has no ground truth")
    p.add_argument("--lpips-weights", help="AlexNet ImageNet weights (default: the torch hub cache)")
    p.add_argument("--inception-weights", help="torch-fidelity InceptionV3 weights (default: the torch hub cache)")
    p.add_argument("--no-detector", action="store_true", help="skip the MediaPipe hand metrics")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_evaluate)

    p = sub.add_parser("prepare", help="plain photos of people and garments -> a VITON-HD root (MediaPipe, CPU)")
    p.add_argument("people", nargs="+", metavar="PERSON", help="person photos (JPEG, PNG; any size)")
    p.add_argument("--garment", nargs="+", required=True, help="garment product photos")
    p.add_argument("--out", required=True, help="the root to write (test/, test_pairs.txt, prepare.json)")
    p.add_argument("--size", default="1024x768", help="HEIGHTxWIDTH of the root's images (default VITON-HD's)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_prepare)
    p = sub.add_parser("try", help="the whole job on one photo: prepare, warp, try on, correct the hands")
    p.add_argument("person")
    p.add_argument("garment")
    p.add_argument("--out", required=True, help="folder for tryon.png, corrected.png, side_by_side.png, try.json")
    p.add_argument("--model", help="try-on model folder (default: the latest course run's, runs/)")
    p.add_argument("--warp", help="warping model (default: the latest course run's)")
    p.add_argument("--lora", help="hand LoRA (default: the latest course run's)")
    p.add_argument("--lora-scale", "--lora_scale", dest="lora_scale", type=finite_float, default=0.8)
    p.add_argument("--size", default="1024x768", help="HEIGHTxWIDTH the photo is fitted to (default 1024x768)")
    p.add_argument("--steps", type=positive_int, default=25, help="try-on sampler steps (DPM-Solver++)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_try)

    p = sub.add_parser("demo", help="a local web page (Gradio) that runs the course's code on your photos")
    p.add_argument("--model", help="try-on model folder (default: the latest course run's, runs/)")
    p.add_argument("--warp", help="warping model (default: the latest course run's)")
    p.add_argument("--lora", help="hand LoRA (default: the latest course run's)")
    p.add_argument("--host", default="127.0.0.1", help="address to serve on (default: this machine only)")
    p.add_argument("--port", type=positive_int, default=7860)
    p.set_defaults(func=_demo)

    p = sub.add_parser("weights", help="the pretrained files the course uses: list, install (set-up), check")
    p.add_argument("action", choices=["list", "install", "check"])
    p.add_argument("--dir", help="the installed weights folder (default weights/ in the repository, or $VTON_WEIGHTS)")
    p.add_argument("--source", help="a local folder to copy them from (default ../shared/weights beside the repository)")
    p.add_argument("--no-download", action="store_true", help="copy from the local folder only; never download")
    p.set_defaults(func=_weights)

    p = sub.add_parser("course", help="run every notebook headless into one run folder and print a summary")
    p.add_argument("--run-dir", help="run folder (default runs/<timestamp>)")
    p.add_argument("--only", action="append", help="run only notebooks starting with this (repeatable)")
    p.add_argument("--param", action="append", default=[], help="NAME=VALUE passed to every notebook")
    p.add_argument("--data-root", help="a VITON-HD root instead of the built-in sample (the DATA_ROOT parameter)")
    p.add_argument("--preset", choices=["tiny", "full"], help="model sizes (the PRESET parameter; full: a GPU)")
    p.add_argument("--no-check", action="store_true", help="do not compare the figures with notebooks/floors.json")
    p.set_defaults(func=_course)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    Progress.done = Progress.total = None
    try:
        code = args.func(args)
    except KeyboardInterrupt:
        print(f"vton {args.command}: interrupted: {Progress.describe()}finished work is kept; run the same command "
              f"again to resume", file=sys.stderr)
        return 130
    except (DataError, ValueError, FileNotFoundError, NotADirectoryError, FloatingPointError) as e:
        if args.debug:
            traceback.print_exc()
        print(f"vton {args.command}: error: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # anything else is still one line: the traceback only under --debug
        if args.debug:
            traceback.print_exc()
        print(f"vton {args.command}: error: {type(e).__name__}: {e} (run with --debug for the traceback)",
              file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
