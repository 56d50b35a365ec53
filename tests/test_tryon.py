"""The diffusion try-on: model shapes, checkpoint conversion, training, the pipeline, batch sampling."""

import shutil

import numpy as np
import pytest
import torch

from ldm_keys import ldm_state_dict, tiny_kl_config
from vtonlib.fileio import DataError
from vtonlib.tryon import (TrainConfig, TryOnConfig, TryOnModel, TryOnPairs, TryOnPipeline, sample_split, train_tryon,
                           tryon_example)
from vtonlib.tryon.convert import convert_checkpoint, convert_state_dict
from vtonlib.tryon.sample import try_on


def test_tiny_model_shapes():
    model = TryOnModel(TryOnConfig.tiny())  # TAEF2's architecture (random weights: shapes only)
    h, w = model.config.model_size
    images = torch.rand(2, 3, h, w) * 2 - 1
    latents = model.encode(images)
    assert latents.shape == (2, 32, h // 8, w // 8)
    assert model.decode(latents).shape == (2, 3, h, w)
    garment = torch.randn(2, 3, 64, 64)
    assert model.embed_garment(garment).shape == (2, 1, model.config.cross_attention_dim)
    noise = model(latents, latents, torch.ones(2, 1, h // 8, w // 8), torch.tensor([10, 500]), garment)
    assert noise.shape == latents.shape
    assert model.unet.config.in_channels == 65  # 32 + 32 + 1


def test_unet_channels_follow_the_autoencoder():
    cfg = TryOnConfig.tiny()
    cfg.unet["in_channels"] = 9
    with pytest.raises(ValueError, match="2 x 32 \\+ 1 = 65"):
        TryOnModel(cfg)


def test_full_model_is_dci_vton_sized():
    with torch.device("meta"):
        model = TryOnModel(TryOnConfig.full())
    counts = model.parameter_counts()
    assert 855e6 < counts["unet"] < 870e6  # Stable Diffusion 1's UNet with a 9-channel input
    assert 80e6 < counts["autoencoder"] < 90e6
    assert 300e6 < counts["image_encoder"] < 400e6  # CLIP ViT-L/14 + 5-layer mapper + projection
    assert model.unet.config.cross_attention_dim == 768 and model.unet.conv_in.weight.shape == (320, 9, 3, 3)


def test_converter_accounts_for_every_tensor(tmp_path):
    cfg = tiny_kl_config()
    state = ldm_state_dict(cfg)
    converted, report = convert_state_dict(state, cfg)
    assert report["used"] + sum(v["count"] for v in report["unused"].values()) == len(state)
    assert {"betas", "logvar", "model_ema.num_updates"} <= {k for v in report["unused"].values() for k in v["examples"]}
    torch.save({"state_dict": state, "epoch": 3}, tmp_path / "viton512.ckpt")
    convert_checkpoint(tmp_path / "viton512.ckpt", tmp_path / "model", cfg)
    model = TryOnModel.load(tmp_path / "model")
    torch.testing.assert_close(model.unet.conv_in.weight, state["model.diffusion_model.input_blocks.0.0.weight"])
    torch.testing.assert_close(model.image_encoder.uncond_vector, state["learnable_vector"])
    qkv = state["cond_stage_model.mapper.resblocks.0.attn.c_qkv.weight"]
    torch.testing.assert_close(model.image_encoder.mapper.blocks[0].attn1.to_k.weight, qkv[32:64])


def test_converter_checks_a_full_width_checkpoint():
    state = ldm_state_dict(TryOnConfig.full(), fill="empty")  # shapes only: no 4 GB of random numbers
    _, report = convert_state_dict(state, TryOnConfig.full())
    assert report["filled"]["unet"] == 686 and report["used"] > 1300


def test_bad_checkpoints_are_named(tmp_path):
    cfg = tiny_kl_config()
    state = ldm_state_dict(cfg)
    missing = dict(state)
    del missing["model.diffusion_model.out.2.weight"]
    with pytest.raises(DataError, match="unet: 1 parameters not filled"):
        convert_state_dict(missing, cfg)
    wrong = dict(state)
    wrong["first_stage_model.decoder.conv_out.weight"] = torch.zeros(3, 5, 3, 3)
    with pytest.raises(DataError, match="vae: 1 shape mismatches"):
        convert_state_dict(wrong, cfg)
    with pytest.raises(DataError, match="not an LDM try-on checkpoint"):
        convert_state_dict({"weight": torch.zeros(2)}, cfg)
    (tmp_path / "notes.ckpt").write_text("not a checkpoint")
    with pytest.raises(DataError, match="notes.ckpt"):
        convert_checkpoint(tmp_path / "notes.ckpt", None, cfg)
    with pytest.raises(DataError, match="not a try-on model folder"):
        TryOnModel.load(tmp_path)


def test_inputs_are_formed_as_dci_vton(sample_root):
    data = TryOnPairs(sample_root, "test", (256, 192), 64)
    ex = data.example(0)
    keep = ex["inpaint_mask"][0].bool()
    # outside the region the inpaint image is the photo; inside, grey or the warped garment
    torch.testing.assert_close(ex["inpaint_image"][:, keep], ex["image"][:, keep], atol=0.05, rtol=0)
    assert (~keep).float().mean() > 0.1
    item = data[0]
    assert item["garment"].shape == (3, 64, 64) and ex["warp_source"] in ("warp model", "ground truth")


def test_training_reduces_the_loss_and_resumes(sample_root, trained, tmp_path):
    out, result = trained
    history = np.array(result["history"]["unet"])
    assert history[-6:, 1].mean() < history[:6, 1].mean()  # epsilon MSE goes down
    assert (out / "unet" / "diffusion_pytorch_model.safetensors").exists()
    assert (out / "vae" / "encoder.safetensors").exists() and (out / "vae" / "decoder.safetensors").exists()
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    resumed = train_tryon(sample_root, copy, train_config=TrainConfig(steps=28, save_every=12), progress=False,
                          log=lambda *_: None)
    assert resumed["steps"] == 28 and len(resumed["history"]["unet"]) == 28


def test_pipeline_is_deterministic_and_pastes_back(sample_root, trained):
    pipe = TryOnPipeline.from_pretrained(trained[0], scheduler="dpm")
    data = TryOnPairs(sample_root, "test", pipe.model.config.model_size, 64)
    keys = ("image", "inpaint_image", "inpaint_mask", "garment")
    batch = {k: torch.stack([data[i][k] for i in range(2)]) for k in keys}
    run = lambda seed: pipe(batch["inpaint_image"], batch["inpaint_mask"], batch["garment"],  # noqa: E731
                            source_image=batch["image"], num_inference_steps=4,
                            generator=torch.Generator().manual_seed(seed))
    a, b, c = run(0), run(0), run(1)
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()
    keep = batch["inpaint_mask"][:, 0].bool().numpy()
    from vtonlib import imaging
    np.testing.assert_array_equal(a[keep], imaging.to_image(batch["image"])[keep])
    for name in ("plms", "ddim"):  # every sampler runs the same loop
        pipe.set_scheduler(name)
        assert run(0).shape == a.shape
    with pytest.raises(ValueError, match="multiples of 32"):
        pipe(batch["inpaint_image"][:, :, :60], batch["inpaint_mask"][:, :, :60], batch["garment"])


def test_results_at_photo_size_keep_every_pixel_outside_the_region(sample_root, trained):
    pipe = TryOnPipeline.from_pretrained(trained[0])
    ds_pairs = TryOnPairs(sample_root, "test", pipe.model.config.model_size, 64)
    ex = tryon_example(ds_pairs.ds, *ds_pairs.pairs[0], pipe.model.config.model_size, 64)
    result = try_on(pipe, [ex], num_inference_steps=3)[0]
    assert result.shape == ex["photo"].shape
    np.testing.assert_array_equal(result[~ex["region"]], ex["photo"][~ex["region"]])


def test_sample_split_writes_resumes_and_reports_failures(sample_copy, trained, tmp_path):
    broken = "00011_00"
    (sample_copy / "test" / "agnostic-mask" / f"{broken}_mask.png").unlink()
    (sample_copy / "test" / "image-parse-v3" / f"{broken}.png").unlink()
    out = tmp_path / "results"
    report = sample_split(sample_copy, trained[0], out, num_inference_steps=2, progress=False)
    assert report["written_this_run"] == 3
    assert any(broken in name and "error" in entry for name, entry in report["images"].items())
    assert sorted(p.name for p in out.glob("*.png")) == [f"{i}__{i}.png" for i in ("00010_00", "00012_00", "00013_00")]
    again = sample_split(sample_copy, trained[0], out, num_inference_steps=2, progress=False)
    assert again["written_this_run"] == 0  # done pairs are skipped; the broken one is tried and reported again


@pytest.mark.parametrize("kind", ["epsilon", "v_prediction", "sample", "inpaint_residual"])
def test_every_prediction_type_implies_the_same_clean_latent_and_noise(kind):
    from vtonlib.tryon.schedulers import predicted_clean, predicted_noise, training_target

    g = torch.Generator().manual_seed(0)
    clean, noise, inpaint = (torch.randn(2, 3, 4, 4, generator=g) for _ in range(3))
    a = torch.tensor([0.3, 0.9]).view(2, 1, 1, 1)
    noisy = a.sqrt() * clean + (1 - a).sqrt() * noise
    target = training_target(clean, noise, a, kind, inpaint)  # a perfect prediction
    torch.testing.assert_close(predicted_clean(noisy, target, a, kind, inpaint), clean)
    torch.testing.assert_close(predicted_noise(noisy, target, a, kind, inpaint), noise)


def test_skin_variants_recolour_the_skin_and_leave_the_region_grey(sample_root):
    from vtonlib.tryon.augment import skin_variants

    data = TryOnPairs(sample_root, "train", (256, 192), 64)
    ex = data.example(0)
    parse = data.ds.read_parse(ex["id"])
    copies = skin_variants(ex, parse, 2, np.random.default_rng(0))
    assert len(copies) == 2
    face = torch.from_numpy(parse == 13)
    keep = ex["inpaint_mask"][0].bool()
    clothes = torch.from_numpy(np.isin(parse, (5, 6, 7))) & keep
    for copy in copies:
        assert (copy["image"][:, face] - ex["image"][:, face]).abs().mean() > 0.05  # another skin tone
        torch.testing.assert_close(copy["image"][:, clothes], ex["image"][:, clothes])  # garment untouched
        torch.testing.assert_close(copy["inpaint_image"][:, ~keep], ex["inpaint_image"][:, ~keep])  # grey stays
