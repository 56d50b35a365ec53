"""The hand LoRA: adapter maths, files, kohya interop, hand crops and the training loop."""

import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

import vtonlib.lora.train as lora_train
from vtonlib import imaging
from vtonlib.fileio import DataError
from vtonlib.lora import (HandCrops, LoraSpec, LoraTrainConfig, add_lora, count_lora_parameters, export_kohya,
                          fuse_lora, hand_weighted_mse, import_kohya, load_kohya, load_lora, lora_parameters,
                          merge_lora, read_lora, save_lora, set_lora_scale, square_crop, train_lora, unmerge_lora)
from vtonlib.lora.kohya import kohya_name, read_kohya
from vtonlib.tryon import TryOnConfig, TryOnModel

TINY = LoraSpec(rank=4, alpha=2.0, targets="all")


def tiny_model(seed=0) -> TryOnModel:
    torch.manual_seed(seed)
    return TryOnModel(TryOnConfig.tiny()).eval()


def unet_inputs(model, seed=1):
    g = torch.Generator().manual_seed(seed)
    h, w = (s // 8 for s in model.config.model_size)
    x = torch.randn(2, model.unet.config.in_channels, h, w, generator=g)
    t = torch.tensor([10, 700])
    cond = torch.randn(2, 1, model.config.cross_attention_dim, generator=g)
    return x, t, cond


def randomise_lora(unet, seed=2):
    """A trained-looking adapter: B is zero when fresh, which would hide every bug below."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in lora_parameters(unet):
            p.copy_(torch.randn(p.shape, generator=g) * 0.1)


def adapted_model():
    """A tiny model with a randomised adapter, fixed inputs and its output for them."""
    model = tiny_model()
    add_lora(model.unet, TINY)
    randomise_lora(model.unet)
    x, t, cond = unet_inputs(model)
    with torch.no_grad():
        adapted = model.unet(x, t, encoder_hidden_states=cond).sample
    return model, (x, t, cond), adapted


def adapted_linear(unet):
    name = next(n for n, m in unet.named_modules() if n.endswith("attn1.to_q"))
    return name, dict(unet.named_modules())[name]


def test_fresh_adapter_changes_nothing_and_scale_zero_is_the_base_exactly():
    model = tiny_model()
    x, t, cond = unet_inputs(model)
    with torch.no_grad():
        base = model.unet(x, t, encoder_hidden_states=cond).sample
        add_lora(model.unet, TINY)
        assert torch.equal(model.unet(x, t, encoder_hidden_states=cond).sample, base)  # B = 0
        randomise_lora(model.unet)
        changed = model.unet(x, t, encoder_hidden_states=cond).sample
        set_lora_scale(model.unet, 0.0)
        off = model.unet(x, t, encoder_hidden_states=cond).sample
    assert not torch.allclose(changed, base)
    assert torch.equal(off, base)


def test_only_lora_parameters_receive_gradients():
    model = tiny_model()
    add_lora(model.unet, TINY)
    randomise_lora(model.unet)
    x, t, cond = unet_inputs(model)
    model.unet(x, t, encoder_hidden_states=cond).sample.square().mean().backward()
    with_grad = {n for n, p in model.named_parameters() if p.grad is not None}
    assert with_grad and all("lora_" in n for n in with_grad)
    assert len(with_grad) == len(lora_parameters(model.unet))
    assert count_lora_parameters(model.unet) == sum(p.numel() for p in lora_parameters(model.unet))


def test_save_load_and_merge_agree_with_the_formula(tmp_path):
    model, (x, t, cond), adapted = adapted_model()
    save_lora(tmp_path / "hands.safetensors", model.unet, TINY, {"note": "test"})

    tensors, spec, provenance = read_lora(tmp_path / "hands.safetensors")
    assert spec == TINY and provenance == {"note": "test"}
    assert all(k.startswith("unet.") and (".lora_A." in k or ".lora_B." in k) for k in tensors)

    fresh = tiny_model()  # same seed: same base weights
    load_lora(fresh.unet, tmp_path / "hands.safetensors", scale=0.5)
    name, layer = adapted_linear(fresh.unet)
    w = layer.base_layer.weight.detach().clone()
    down, up = tensors[f"unet.{name}.lora_A.weight"], tensors[f"unet.{name}.lora_B.weight"]
    expected = w + 0.5 * (TINY.alpha / TINY.rank) * up @ down  # W + lora_scale * (alpha / r) * B @ A, by hand
    merge_lora(fresh.unet)
    torch.testing.assert_close(layer.base_layer.weight, expected)
    unmerge_lora(fresh.unet)  # a merged weight is not rescaled: unmerge, then rescale
    torch.testing.assert_close(layer.base_layer.weight, w)
    set_lora_scale(fresh.unet, 1.0)
    with torch.no_grad():
        torch.testing.assert_close(fresh.unet(x, t, encoder_hidden_states=cond).sample, adapted)


def test_fuse_adds_the_update_into_the_weights_with_per_module_alphas(tmp_path):
    spec = LoraSpec(rank=4, alpha=2.0, targets="all", alpha_pattern={"attn1.to_q": 8.0})
    model = tiny_model()
    add_lora(model.unet, spec)
    randomise_lora(model.unet)
    save_lora(tmp_path / "hands.safetensors", model.unet, spec)
    tensors, _, _ = read_lora(tmp_path / "hands.safetensors")
    x, t, cond = unet_inputs(model)
    set_lora_scale(model.unet, 0.5)
    with torch.no_grad():
        adapted = model.unet(x, t, encoder_hidden_states=cond).sample

    fused = tiny_model()
    conv = next(n for n, m in fused.unet.named_modules() if n.endswith("resnets.0.conv1"))
    q = adapted_linear(fused.unet)[0]
    before = {n: dict(fused.unet.named_modules())[n].weight.detach().clone() for n in (conv, q)}
    assert fuse_lora(fused.unet, tmp_path / "hands.safetensors", scale=0.5) == len(tensors) // 2
    layers = dict(fused.unet.named_modules())
    assert not any("lora_" in n for n, _ in fused.unet.named_parameters())  # a plain UNet again
    down, up = tensors[f"unet.{conv}.lora_A.weight"], tensors[f"unet.{conv}.lora_B.weight"]  # (4,i,3,3), (o,4,1,1)
    by_hand = (up[:, :, 0, 0, None, None, None] * down[None]).sum(1)  # sum over the rank, per kernel tap
    torch.testing.assert_close(layers[conv].weight, before[conv] + 0.5 * (2.0 / 4) * by_hand)
    down, up = tensors[f"unet.{q}.lora_A.weight"], tensors[f"unet.{q}.lora_B.weight"]
    torch.testing.assert_close(layers[q].weight, before[q] + 0.5 * (8.0 / 4) * up @ down)  # its own alpha
    with torch.no_grad():
        torch.testing.assert_close(fused.unet(x, t, encoder_hidden_states=cond).sample, adapted)

    with safe_open(str(tmp_path / "hands.safetensors"), framework="pt") as f:
        meta = f.metadata()
    tensors[f"unet.{q}.lora_B.weight"] = torch.zeros(up.shape[0] + 1, 4)  # a file made for another UNet
    save_file(tensors, str(tmp_path / "other.safetensors"), metadata=meta)
    with pytest.raises(DataError, match=r"other\.safetensors.*does not fit.*to_q"):
        fuse_lora(tiny_model().unet, tmp_path / "other.safetensors")


def test_kohya_round_trip_and_report(tmp_path):
    model, (x, t, cond), adapted = adapted_model()
    save_lora(tmp_path / "hands.safetensors", model.unet, TINY)
    modules = export_kohya(tmp_path / "hands.safetensors", tmp_path / "kohya.safetensors")
    kohya = read_kohya(tmp_path / "kohya.safetensors")
    name, _ = adapted_linear(model.unet)
    assert f"{kohya_name(name)}.lora_down.weight" in kohya and float(kohya[f"{kohya_name(name)}.alpha"]) == 2.0
    assert modules == sum(k.endswith(".alpha") for k in kohya)

    # a kohya file from elsewhere: one unknown module, one of the wrong width, text-encoder keys
    kohya["lora_unet_no_such_block_to_q.lora_down.weight"] = torch.zeros(4, 8)
    kohya["lora_unet_no_such_block_to_q.lora_up.weight"] = torch.zeros(8, 4)
    kohya[f"{kohya_name(name)}.lora_down.weight"] = torch.zeros(4, 3)
    kohya["lora_te_text_model_encoder_layers_0_mlp_fc1.lora_down.weight"] = torch.zeros(4, 8)
    save_file(kohya, str(tmp_path / "foreign.safetensors"))
    fresh = tiny_model()
    report = load_kohya(fresh.unet, tmp_path / "foreign.safetensors")
    assert report["unknown"] == ["lora_unet_no_such_block_to_q.lora_down.weight",
                                 "lora_unet_no_such_block_to_q.lora_up.weight"]
    assert len(report["mismatched"]) == 1 and kohya_name(name) in report["mismatched"][0]
    assert len(report["text_encoder"]) == 1 and len(report["loaded"]) == modules - 1

    # the clean file loads whole and gives the same outputs as the adapter it came from
    fresh = tiny_model()
    report = load_kohya(fresh.unet, tmp_path / "kohya.safetensors")
    assert len(report["loaded"]) == modules and not report["unknown"] and not report["mismatched"]
    with torch.no_grad():
        torch.testing.assert_close(fresh.unet(x, t, encoder_hidden_states=cond).sample, adapted)


def test_import_kohya_writes_a_course_adapter(tmp_path):
    model = tiny_model()
    model.save(tmp_path / "model")
    add_lora(model.unet, TINY)
    randomise_lora(model.unet)
    save_lora(tmp_path / "a.safetensors", model.unet, TINY)
    export_kohya(tmp_path / "a.safetensors", tmp_path / "kohya.safetensors")
    import_kohya(tmp_path / "kohya.safetensors", tmp_path / "model", tmp_path / "b.safetensors")
    a, b = load_file(str(tmp_path / "a.safetensors")), load_file(str(tmp_path / "b.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(DataError, match="kohya"):
        read_lora(tmp_path / "kohya.safetensors")  # a kohya file is named for what it is


def test_square_crop_stays_inside_and_keeps_the_hand():
    for box in [(0, 0, 10, 12), (180, 240, 192, 256), (90, 100, 110, 130)]:
        x0, y0, x1, y1 = square_crop(box, 0.75, (256, 192))
        assert 0 <= x0 < x1 <= 192 and 0 <= y0 < y1 <= 256 and x1 - x0 == y1 - y0
        assert x0 <= box[0] and y0 <= box[1] and x1 >= box[2] and y1 >= box[3]


def test_hand_crops_mask_the_hand(sample_root, train_hand_masks):
    crops = HandCrops(sample_root, train_hand_masks, split="train", size=64, clip_size=32)
    assert len(crops) >= 10
    item = crops[0]
    assert item["image"].shape == (3, 64, 64) and item["inpaint_mask"].shape == (1, 64, 64)
    region = item["hand_weight"][0] > 0.5
    assert region.any() and torch.equal(region, item["inpaint_mask"][0] < 0.5)  # repaint exactly the hand
    assert torch.equal(item["inpaint_image"][:, ~region], item["image"][:, ~region])  # context kept
    with pytest.raises(DataError, match="hand-mask folder not found"):
        HandCrops(sample_root, sample_root / "nowhere", split="train")


def test_hand_weighted_mse_weights_the_hand():
    pred, target = torch.zeros(1, 4, 8, 8), torch.zeros(1, 4, 8, 8)
    hand = torch.zeros(1, 1, 64, 64)
    hand[..., :32, :] = 1
    target[..., 4:, :] = 1.0  # errors only outside the hand
    assert hand_weighted_mse(pred, target, hand, 0.1).item() == pytest.approx(0.1 * 32 / (32 + 0.1 * 32))
    assert hand_weighted_mse(pred, target, hand, 0.0).item() == 0.0


def small_config(**kw):
    base = dict(steps=6, batch_size=2, crop=64, warmup=2, validate_every=3, sample_every=6, sample_steps=2,
                save_every=3, lr=5e-3)
    return LoraTrainConfig(**{**base, **kw})


def test_training_reduces_the_hand_loss_and_records_how(sample_root, trained, train_hand_masks, tmp_path):
    out = tmp_path / "hands.safetensors"
    result = train_lora(sample_root, trained[0], train_hand_masks, out, TINY,
                        small_config(steps=30, validate_every=10, sample_every=30, save_every=30, lr=3e-3,
                                     validation_share=0.3, validation_draws=8),
                        progress=False, log=lambda *_: None)
    validation = [v for _, v in result["history"]["validation"]]
    assert len(validation) == 4 and validation[-1] < validation[0]  # step 0 (the base model), 10, 20, 30
    assert (tmp_path / "hands_samples" / "step_00030.png").exists()
    _, spec, provenance = read_lora(out)
    assert spec == TINY and provenance["steps"] == 30 and len(provenance["base_unet_sha256"]) == 16
    assert provenance["dataset"]["hands"] == result["hands"] and provenance["dataset"]["fingerprint"]


def test_resumed_run_equals_an_uninterrupted_one(sample_root, trained, train_hand_masks, tmp_path, monkeypatch):
    whole = tmp_path / "whole.safetensors"
    train_lora(sample_root, trained[0], train_hand_masks, whole, TINY, small_config(), progress=False)

    original = lora_train.save_training_state

    def save_then_die(*args, **kw):
        original(*args, **kw)
        raise KeyboardInterrupt  # as if the machine went away right after the step-3 checkpoint

    monkeypatch.setattr(lora_train, "save_training_state", save_then_die)
    interrupted = tmp_path / "interrupted.safetensors"
    with pytest.raises(KeyboardInterrupt):
        train_lora(sample_root, trained[0], train_hand_masks, interrupted, TINY, small_config(), progress=False)
    assert read_lora(interrupted)[2]["steps"] == 3
    monkeypatch.setattr(lora_train, "save_training_state", original)
    messages = []
    train_lora(sample_root, trained[0], train_hand_masks, interrupted, TINY, small_config(), progress=False,
               log=messages.append)
    assert any("resuming" in m and "step 3" in m for m in messages)
    a, b = read_lora(whole)[0], read_lora(interrupted)[0]
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=1e-6)


def test_nan_guard_stops_before_writing(sample_root, trained, train_hand_masks, tmp_path, monkeypatch):
    monkeypatch.setattr(lora_train, "hand_weighted_mse", lambda *a, **k: torch.tensor(float("nan")))
    out = tmp_path / "broken.safetensors"
    with pytest.raises(FloatingPointError, match="step 1.*Lower the learning rate"):
        train_lora(sample_root, trained[0], train_hand_masks, out, TINY, small_config(), progress=False)
    assert not out.exists()


def test_cli_trains_under_accelerate_launch(sample_root, trained, train_hand_masks, tmp_path):
    out = tmp_path / "cli.safetensors"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "ACCELERATE_USE_CPU": "1"}
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--cpu", "--num_processes", "1",
           "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
           "-m", "vtonlib.cli", "lora", "train", str(sample_root), "--model", str(trained[0]),
           "--hand-masks", str(train_hand_masks), "--out", str(out), "--rank", "4", "--alpha", "2",
           "--steps", "2", "--batch-size", "2", "--crop", "64", "--sample-every", "2", "--quiet"]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "trained 2 steps" in done.stdout
    _, spec, provenance = read_lora(out)
    assert spec.rank == 4 and provenance["steps"] == 2

    bad = subprocess.run([sys.executable, "-m", "vtonlib.cli", "lora", "train", str(sample_root), "--model",
                          str(trained[0]), "--hand-masks", str(tmp_path / "none"), "--out", str(tmp_path / "x")],
                         capture_output=True, text=True, env=env, timeout=300)
    assert bad.returncode == 2 and "hand-mask folder not found" in bad.stderr


def test_first_guess_fills_the_region_and_paints_the_hand_in_skin():
    from vtonlib.lora.data import first_guess, hand_crop

    crop = np.zeros((32, 32, 3), np.uint8)
    crop[...] = (20, 120, 200)  # a blue surrounding
    region = np.zeros((32, 32), bool)
    region[8:24, 8:24] = True
    hand = np.zeros((32, 32), bool)
    hand[12:20, 10:14] = True
    crop[region] = (255, 255, 255)  # what the region held before: gone from the guess
    guess = first_guess(crop, region, hand, (200, 150, 120))
    assert (guess[hand] == (200, 150, 120)).all()
    rim = region & ~hand
    assert np.abs(guess[rim].astype(int) - (20, 120, 200)).max() < 30  # filled from the blue around it
    assert (guess[~region] == crop[~region]).all()
    item = hand_crop(crop, region, (0, 0, 32, 32), 32, dilation=0)  # no hint: DCI-VTON's grey
    grey = imaging.to_image(item["inpaint_image"])
    assert (grey[region] == 128).all()
