"""Hand correction: the paste-back guarantee, no-hand images, lora_scale 0, border hands, selection,
hand preservation, the batch command and the original project's flags."""

import subprocess
import sys

import numpy as np
import pytest
import torch

from vtonlib import imaging
from vtonlib.cli import build_parser
from vtonlib.correct import (CorrectionConfig, HandSelection, correct_hands, correct_results, correction_crop,
                             feather, hands_from_mask, select_hands)
from vtonlib.metrics.hands import hand_scores, outside_change
from vtonlib.data.reader import VitonDataset
from vtonlib.hands.masks import HandBox, HandMasks
from vtonlib.lora import LoraSpec, add_lora, save_lora
from vtonlib.tryon import TryOnPairs, TryOnPipeline, sample_split
from vtonlib.tryon.data import garment_crop, preserve_hands, tryon_example


@pytest.fixture(scope="module")
def pipe_and_lora(trained, tmp_path_factory):
    """The trained tiny try-on model, and a LoRA for it with random (non-zero) weights."""
    model_dir = trained[0]
    pipe = TryOnPipeline.from_pretrained(model_dir)
    helper = TryOnPipeline.from_pretrained(model_dir).model
    spec = LoraSpec(rank=4, alpha=4.0, targets="all")
    add_lora(helper.unet, spec)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, p in helper.unet.named_parameters():
            if "lora_" in name:
                p.copy_(torch.randn(p.shape, generator=g) * 0.2)
    path = tmp_path_factory.mktemp("lora") / "hands.safetensors"
    save_lora(path, helper.unet, spec)
    return pipe, path


@pytest.fixture(scope="module")
def example(sample_root, pipe_and_lora):
    pipe, _ = pipe_and_lora
    pairs = TryOnPairs(sample_root, "test", pipe.model.config.model_size, pipe.model.config.clip["image_size"])
    ex = next(pairs.example(i) for i in range(len(pairs))
              if pairs.ds.read_truth("hand-mask", pairs.example(i)["id"]).any())
    ex["hand_mask"] = pairs.ds.read_truth("hand-mask", ex["id"])
    ex["garment"] = garment_crop(ex["cloth"], ex["cloth_mask"], pipe.model.config.clip["image_size"])
    return ex


def fast(**kw):
    return CorrectionConfig(**{"steps": 4, "crop": 64, **kw})


def test_only_pixels_inside_the_feathered_mask_change(pipe_and_lora, example):
    pipe, lora = pipe_and_lora
    image = example["photo"]
    result = correct_hands(image, example["hand_mask"], pipe, example["garment"], lora=lora, config=fast(),
                           editable=example["region"], keep_steps=True)
    assert result.hands and result.image.shape == image.shape and result.image.dtype == np.uint8
    outside = result.alpha <= 0
    assert np.array_equal(result.image[outside], image[outside])  # byte-identical
    assert outside_change(image, result.image, result.alpha) == 0.0
    assert not np.array_equal(result.image, image)  # the hands did change
    assert not (result.alpha[~example["region"]] > 0).any()  # never the photo's own pixels
    hands = hands_from_mask(example["hand_mask"])
    reach = np.zeros_like(example["hand_mask"])
    for box in hands.hands:  # every change lies within dilation + feather of a hand
        x0, y0, x1, y1 = box.box
        reach[max(0, y0 - 5):y1 + 5, max(0, x0 - 5):x1 + 5] = True
    assert not (result.alpha[~reach] > 0).any()
    assert set(result.steps) >= {"mask", "dilated", "feathered", "crop", "upscaled", "refined", "downscaled", "pasted"}
    assert result.steps["upscaled"].shape == (64, 64, 3)


def test_no_hand_means_unchanged_and_reported(pipe_and_lora, example):
    pipe, lora = pipe_and_lora
    image = example["photo"]
    result = correct_hands(image, np.zeros(image.shape[:2], bool), pipe, example["garment"], lora=lora, config=fast())
    assert result.image is image and not result.hands and "no hand" in result.note
    assert not result.alpha.any()


def test_lora_scale_zero_is_base_re_denoising(trained, pipe_and_lora, example):
    pipe, lora = pipe_and_lora
    plain = TryOnPipeline.from_pretrained(trained[0])  # no adapter at all
    args = (example["photo"], example["hand_mask"])
    base = correct_hands(*args, plain, example["garment"], config=fast(seed=3)).image
    zero = correct_hands(*args, pipe, example["garment"], lora=lora, config=fast(seed=3, lora_scale=0.0)).image
    full = correct_hands(*args, pipe, example["garment"], lora=lora, config=fast(seed=3, lora_scale=1.0)).image
    assert np.array_equal(zero, base)
    assert not np.array_equal(full, base)


def test_hand_at_the_border_is_clipped_and_pasted_right(pipe_and_lora, example):
    pipe, lora = pipe_and_lora
    image = example["photo"]
    h, w = image.shape[:2]
    mask = np.zeros((h, w), bool)
    mask[h - 9:h, w - 7:w] = True  # a hand in the bottom-right corner, cut by the frame
    box = correction_crop((w - 7, h - 9, w, h), (h, w), fast(dilate=2, blur=2))
    assert 0 <= box[0] < box[2] == w and 0 <= box[1] < box[3] == h and box[2] - box[0] == box[3] - box[1]
    result = correct_hands(image, mask, pipe, example["garment"], lora=lora, config=fast())
    outside = result.alpha <= 0
    assert np.array_equal(result.image[outside], image[outside])
    assert result.alpha[h - 5:, w - 4:].min() > 0.5 and not np.array_equal(result.image[h - 9:, w - 7:],
                                                                            image[h - 9:, w - 7:])
    big = correction_crop((0, 0, w, h), (h, w), fast())  # larger than the image: clipped, still square
    assert big[2] - big[0] == big[3] - big[1] == min(h, w)


def test_feather_is_exactly_zero_beyond_its_width():
    region = np.zeros((40, 40), bool)
    region[18:22, 18:22] = True
    alpha = feather(region, 3)
    assert alpha[18:22, 18:22].min() > 0.2 and alpha.max() <= 1
    assert not alpha[:15].any() and not alpha[25:].any() and not alpha[:, :15].any()


def test_selection_controls():
    size = (100, 100)
    hands = HandMasks.empty(size, "detector")
    for box, confidence in (((10, 10, 20, 20), 0.9), ((50, 50, 53, 53), 0.9), ((30, 60, 45, 80), 0.2),
                            ((0, 0, 60, 60), 0.9)):
        mask = np.zeros(size, bool)
        mask[box[1]:box[3], box[0]:box[2]] = True
        hands.add(mask, HandBox("left", box, confidence, "detector"))
    chosen, skipped = select_hands(hands, HandSelection(min_confidence=0.3, min_area=16, max_area=0.2))
    assert [h.box for h in chosen.hands] == [(10, 10, 20, 20)]
    reasons = " | ".join(s["reason"] for s in skipped)
    assert "min_area" in reasons and "max_area" in reasons and "confidence 0.20" in reasons
    chosen, skipped = select_hands(hands, HandSelection(min_area=1, max_area=1.0, top_k=2))
    assert [h.box for h in chosen.hands] == [(0, 0, 60, 60), (30, 60, 45, 80)]
    assert sum("largest" in s["reason"] for s in skipped) == 2
    with pytest.raises(ValueError, match="detector"):
        select_hands(hands, HandSelection(fix_below=0.5))


def test_preservation_keeps_the_persons_hands(sample_root, trained):
    ds = VitonDataset(sample_root, "test")
    person = next(i for i in ds.ids if ds.read_truth("hand-mask", i).any())
    hands = ds.read_truth("hand-mask", person)
    plain = tryon_example(ds, person, person, (256, 192), 64)
    kept = tryon_example(ds, person, person, (256, 192), 64, hand_mask=hands, erode=1)
    assert kept["region"].sum() < plain["region"].sum()
    inner = preserve_hands(np.ones_like(hands), hands, 1) == 0  # the eroded hands
    assert inner.any() and not kept["region"][inner].any()
    assert np.array_equal(kept["region"] | inner, plain["region"] | inner)  # nothing else moved


def test_batch_resumes_reports_and_honours_the_original_flags(sample_root, trained, pipe_and_lora, tmp_path):
    _, lora = pipe_and_lora
    results = tmp_path / "results"
    sample_split(sample_root, trained[0], results, num_inference_steps=3, progress=False)
    names = sorted(p.name for p in results.glob("*.png"))
    masks = tmp_path / "masks"
    ds = VitonDataset(sample_root, "test")
    for name in names[1:]:  # the first result's mask is missing: reported, not fatal
        person = name.split("__")[0]
        imaging.write_mask(masks / f"{person}.png", ds.read_truth("hand-mask", person))
    before = {n: (results / n).read_bytes() for n in names}
    out = tmp_path / "corrected"
    cfg = fast()
    report = correct_results(results, sample_root, trained[0], out, lora=lora, hand_mask_dir=masks, config=cfg,
                             save_masks=True, save_grids=True, progress=False)
    error = report["images"][names[0]]["error"]
    assert "hand mask missing" in error and str(masks) in error
    assert report["written_this_run"] == len(names) - 1 and (out / "grids" / names[1]).exists()
    assert {n: (results / n).read_bytes() for n in names} == before  # inputs untouched
    for name in names[1:]:
        alpha = imaging.read_grey(out / "masks" / name).astype(np.float32) / 255
        assert outside_change(imaging.read_image(results / name), imaging.read_image(out / name), alpha) == 0.0
    again = correct_results(results, sample_root, trained[0], out, lora=lora, hand_mask_dir=masks, config=cfg,
                            progress=False)
    assert again["written_this_run"] == 0  # resumed: nothing redone (the failed one fails again)

    args = build_parser().parse_args(["correct", str(results), "--data", str(sample_root), "--model", "m",
                                      "--lora", "l.safetensors", "--out", "o", "--lora_scale", "0.6",
                                      "--hand_correction", "True", "--hand_mask_dir", str(masks)])
    assert args.lora_scale == 0.6 and args.hand_correction is True and args.hand_mask_dir == str(masks)
    off = subprocess.run([sys.executable, "-m", "vtonlib.cli", "correct", str(results), "--data", str(sample_root),
                          "--model", str(trained[0]), "--out", str(tmp_path / "off"), "--hand_correction", "False",
                          "--quiet"], capture_output=True, text=True, timeout=300)
    assert off.returncode == 0, off.stderr[-1500:]
    assert all(np.array_equal(imaging.read_image(results / n), imaging.read_image(tmp_path / "off" / n))
               for n in names)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["correct", "r", "--data", "d", "--model", "m", "--out", "o",
                                   "--hand_correction", "maybe"])


def test_hand_scores_against_truth():
    truth = np.zeros((64, 48, 3), np.uint8)
    truth[20:40, 10:30] = 200
    mask = np.zeros((64, 48), bool)
    mask[25:35, 15:25] = True
    same = hand_scores({"a": truth}, {"a": truth}, {"a": mask})
    assert same["ssim"] == pytest.approx(1.0) and same["psnr"] == 100.0 and same["hands"] == 1
    noisy = truth.copy()
    noisy[25:35, 15:25] = 100
    worse = hand_scores({"a": noisy}, {"a": truth}, {"a": mask})
    assert worse["ssim"] < 0.9 and worse["psnr"] < 20


@pytest.fixture(scope="module")
def tiny_sd_inpaint(tmp_path_factory):
    """A Stable Diffusion inpainting folder of tiny random components, and a kohya LoRA for its UNet."""
    import json

    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionInpaintPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    from vtonlib.lora.kohya import export_kohya

    folder = tmp_path_factory.mktemp("sd")
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for ch in "abcdefghijklmnopqrstuvwxyz":
        vocab[ch], vocab[ch + "</w>"] = len(vocab), len(vocab) + 1
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    torch.manual_seed(0)
    unet = UNet2DConditionModel(sample_size=16, in_channels=9, out_channels=4, block_out_channels=(16, 32),
                                layers_per_block=1, down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
                                up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=16,
                                attention_head_dim=4, norm_num_groups=8)
    vae = AutoencoderKL(down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
                        block_out_channels=(8, 16), latent_channels=4, norm_num_groups=4, layers_per_block=1)
    text = CLIPTextModel(CLIPTextConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                        num_attention_heads=2, vocab_size=len(vocab), max_position_embeddings=16,
                                        bos_token_id=0,
                                        eos_token_id=1, pad_token_id=1))
    tokenizer = CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), model_max_length=16)
    StableDiffusionInpaintPipeline(vae=vae, text_encoder=text, tokenizer=tokenizer, unet=unet,
                                   scheduler=DDIMScheduler(steps_offset=1), safety_checker=None, feature_extractor=None,
                                   requires_safety_checker=False).save_pretrained(folder / "sd-inpaint")
    spec = LoraSpec(rank=4, alpha=4.0, targets="attention")
    add_lora(unet, spec)
    with torch.no_grad():
        for name, p in unet.named_parameters():
            if "lora_" in name:
                p.normal_(0, 0.3)
    save_lora(folder / "course.safetensors", unet, spec)
    export_kohya(folder / "course.safetensors", folder / "kohya.safetensors")
    return folder / "sd-inpaint", folder / "kohya.safetensors"


def test_sd_inpaint_refiner_runs_the_same_loop(tiny_sd_inpaint, example, sample_root, trained, tmp_path):
    from vtonlib.correct.refiner import SDInpaintRefiner

    model_dir, kohya = tiny_sd_inpaint
    image, hands = example["photo"], example["hand_mask"]
    plain = SDInpaintRefiner(model_dir)
    with_lora = SDInpaintRefiner(model_dir, kohya)
    cfg = fast(seed=1, crop=32)
    base = correct_hands(image, hands, plain, None, config=cfg, editable=example["region"])
    assert np.array_equal(base.image[base.alpha <= 0], image[base.alpha <= 0])
    zero = correct_hands(image, hands, with_lora, None, config=fast(seed=1, crop=32, lora_scale=0.0),
                         editable=example["region"])
    full = correct_hands(image, hands, with_lora, None, config=fast(seed=1, crop=32, lora_scale=1.0),
                         editable=example["region"])
    assert np.array_equal(zero.image, base.image) and not np.array_equal(full.image, base.image)

    results = tmp_path / "results"
    sample_split(sample_root, trained[0], results, num_inference_steps=2, progress=False)
    done = subprocess.run([sys.executable, "-m", "vtonlib.cli", "correct", str(results), "--data", str(sample_root),
                           "--model", str(trained[0]), "--out", str(tmp_path / "sd"), "--refiner", "sd-inpaint",
                           "--refiner-model", str(model_dir), "--lora", str(kohya), "--crop", "32", "--steps", "4",
                           "--hand-mask-dir", str(sample_root / "test" / "gt" / "hand-mask"), "--quiet"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-1500:]
    assert "0 failed" in done.stdout and len(list((tmp_path / "sd").glob("*.png"))) == len(list(results.glob("*.png")))
    missing = subprocess.run([sys.executable, "-m", "vtonlib.cli", "correct", str(results), "--data", str(sample_root),
                              "--model", str(trained[0]), "--out", str(tmp_path / "x"), "--refiner", "sd-inpaint",
                              "--refiner-model", str(tmp_path / "nowhere"), "--no-lora"],
                             capture_output=True, text=True, timeout=300)
    assert missing.returncode == 2 and "Stable Diffusion inpainting folder" in missing.stderr


def test_fix_below_leaves_hands_the_detector_trusts(shared_data):
    from vtonlib.hands.detector import HandDetector
    from vtonlib.hands.masks import from_detector

    photo = imaging.read_image(shared_data / "viton-hd-original/test/image/03615_00.jpg")
    with HandDetector(min_confidence=0.3) as detector:
        hands = from_detector(photo, detector)
        assert len(hands.hands) == 2
        trusted, skipped = select_hands(hands, HandSelection(fix_below=0.05, max_area=1.0), photo, detector)
        assert not trusted.hands and all("looks right" in s["reason"] for s in skipped)
        doubted, skipped = select_hands(hands, HandSelection(fix_below=1.01, max_area=1.0), photo, detector)
        assert len(doubted.hands) == 2 and not skipped


def test_a_batch_of_images_gives_each_the_result_it_gets_alone(pipe_and_lora, example, sample_root):
    from vtonlib.correct import correct_many

    pipe, lora = pipe_and_lora
    ds = VitonDataset(sample_root, "test")
    other = next(i for i in ds.ids if i != example["id"] and ds.read_truth("hand-mask", i).any())
    items = [(example["photo"], example["hand_mask"], example["garment"], example["region"]),
             (ds.read_image(other), np.zeros(example["hand_mask"].shape, bool), example["garment"], None),
             (ds.read_image(other), ds.read_truth("hand-mask", other), example["garment"], None)]
    together = correct_many(items, pipe, lora=lora, config=fast(seed=5))
    for item, batched in zip(items, together):
        alone = correct_hands(item[0], item[1], pipe, item[2], lora=lora, config=fast(seed=5), editable=item[3])
        # the same noise and inputs; float kernels may differ with the batch size, by a rounding step at most
        diff = np.abs(alone.image.astype(int) - batched.image.astype(int))
        assert diff.max() <= 1 and alone.note == batched.note
    assert together[1].image is items[1][0] and "no hand" in together[1].note


def test_the_batch_fuses_the_lora_and_gets_the_adapters_result(sample_root, trained, pipe_and_lora, tmp_path):
    from vtonlib.correct.batch import tryon_region

    pipe, lora = pipe_and_lora
    results, masks = tmp_path / "results", tmp_path / "masks"
    sample_split(sample_root, trained[0], results, num_inference_steps=3, progress=False)
    ds = VitonDataset(sample_root, "test")
    names = sorted(p.name for p in results.glob("*.png"))
    for name in names:
        imaging.write_mask(masks / f"{name.split('__')[0]}.png", ds.read_truth("hand-mask", name.split("__")[0]))
    cfg = fast(lora_scale=0.7)
    fused = TryOnPipeline.from_pretrained(trained[0])
    correct_results(results, sample_root, trained[0], tmp_path / "given", lora=lora, hand_mask_dir=masks, config=cfg,
                    pipeline=fused, progress=False)
    assert fused.model.unet._fused_lora == (str(lora), 0.7)
    assert not any("lora_" in n for n, _ in fused.model.unet.named_parameters())  # no adapter layers left
    correct_results(results, sample_root, trained[0], tmp_path / "own", lora=lora, hand_mask_dir=masks, config=cfg,
                    progress=False)
    for name in names:  # a pipeline handed in does what the command's own does
        given, own = (imaging.read_image(tmp_path / run / name) for run in ("given", "own"))
        assert np.array_equal(given, own)

    name = next(n for n in names if ds.read_truth("hand-mask", n.split("__")[0]).any())
    person, cloth_id = name.removesuffix(".png").split("__")
    image, cloth = imaging.read_image(results / name), ds.cloth(cloth_id)
    garment = garment_crop(cloth.image, cloth.mask, pipe.model.config.clip["image_size"])
    hands, _ = select_hands(hands_from_mask(ds.read_truth("hand-mask", person)), HandSelection(), image)  # its order
    with_adapter = correct_hands(image, hands, pipe, garment, lora=lora, config=cfg,
                                 editable=tryon_region(ds, person, image.shape[:2], None))
    assert with_adapter.hands  # fused weights and the peft adapter: the same hands, up to float rounding
    assert np.abs(with_adapter.image.astype(int) - imaging.read_image(tmp_path / "given" / name).astype(int)).max() <= 1

    with pytest.raises(ValueError, match="fused in at lora_scale 0.7"):  # fusing is for good: no other scale
        correct_results(results, sample_root, trained[0], tmp_path / "other", lora=lora, hand_mask_dir=masks,
                        config=fast(lora_scale=0.5), pipeline=fused, progress=False)
    with pytest.raises(ValueError, match="fused in at lora_scale 0.7"):
        correct_hands(image, ds.read_truth("hand-mask", person), fused, garment, config=fast(lora_scale=0.5))
