"""Golden tests: the course's converter, networks, samplers and warping against the outputs of the ORIGINAL
DCI-VTON and PF-AFN code (../shared/parity, seeded random weights; see vtonlib.parity)."""

from pathlib import Path

import numpy as np
import pytest
import torch

from vtonlib.parity import error, passed, run_golden_set, tolerance

PARITY = Path(__file__).resolve().parent.parent.parent / "shared" / "parity"


def golden(name: str) -> Path:
    path = PARITY / name
    if not (path / "manifest.json").exists():
        pytest.skip(f"golden set {name!r} not found at {path} (the ../shared folder beside the repo)")
    return path


def assert_all_within(errors: dict, expected: set):
    assert expected <= set(errors), f"outputs not compared: {sorted(expected - set(errors))}"
    worst = {k: v for k, v in errors.items() if not v <= tolerance(k)}
    assert not worst, f"outside tolerance: {worst}"
    assert passed(errors)


def test_tiny_set_converts_samples_and_matches_dci_vton(tmp_path):
    errors = run_golden_set(golden("tiny"), tmp_path)
    assert_all_within(errors, {"c", "clip_pooled", "mapper_out", "uc", "inpaint_mean", "inpaint_logvar", "z_inpaint",
                               "z_feat", "x_T", "eps", "eps_uncond", "decoded", "mask_latent", "plms_latent",
                               "ddim_latent", "plms_cfg_latent", "plms_result", "plms_timesteps", "ddim_timesteps"})
    assert errors["plms_timesteps"] == 0 and errors["ddim_timesteps"] == 0


def test_afwm_set_matches_pf_afn_in_both_grid_conventions(tmp_path):
    errors = run_golden_set(golden("afwm"), tmp_path)
    assert_all_within(errors, {"warped_cloth", "flow", "warped_mask", "flow_ac_false", "warped_cloth_ac_false",
                               "level_flow.0", "level_cloth.4", "residual.9"})


def test_the_wrong_grid_convention_is_caught(tmp_path):
    """The golden comparison can fail: DCI-VTON's convention on PF-AFN's outputs is far outside tolerance."""
    from safetensors.torch import load_file

    from vtonlib.parity import _tools
    from vtonlib.warp.apply import load_warp_model

    set_dir = golden("afwm")
    _tools(set_dir).make_checkpoint(set_dir, tmp_path / "w.pth")
    x = {k: v.float() for k, v in load_file(str(set_dir / "inputs.safetensors")).items()}
    gold = load_file(str(set_dir / "outputs.safetensors"))
    with torch.no_grad():
        flow = load_warp_model(tmp_path / "w.pth", align_corners=False)(x["person"], x["cloth"]).flow
    assert error(flow, gold["flow"]) > 100 * tolerance("flow")
    assert error(flow, gold["flow_ac_false"]) <= tolerance("flow")


def test_data_set_inputs_are_formed_as_dci_vton_datasets(tmp_path):
    errors = run_golden_set(golden("data"), tmp_path)
    assert_all_within(errors, {"dci_v1/paired/inpaint_mask", "dci_v1/unpaired/warp_feat", "dci_v2/paired/inpaint_image",
                               "dci_v1/paired/ref_imgs", "dci_v1/paired/ref_imgs.seed23", "warp_test/paired/eval.input2",
                               "warp_test/unpaired/eval.clothes_down", "warp_train256/paired/warped_cloth_mask"})
    exact = [k for k in errors if tolerance(k) == 0]
    assert len(exact) > 20 and all(errors[k] == 0 for k in exact)


def _tiny_checkpoint_and_yaml(tmp_path, dataset_class="ldm.data.cp_dataset_v2.CPDataset"):
    """The tiny set's checkpoint as DCI-VTON saves it, and a yaml of its config in the original's layout."""
    import json

    import yaml

    from vtonlib.parity import _tools

    set_dir = golden("tiny")
    _tools(set_dir).make_checkpoint(set_dir, tmp_path / "tiny.ckpt")
    model_config = json.loads((set_dir / "manifest.json").read_text())["model_config"]
    config = {"model": {k: model_config[k] for k in ("target", "params")},
              "clip_vision_config": model_config["clip_vision_config"],
              "data": {"target": "main.DataModuleFromConfig",
                       "params": {"test": {"target": dataset_class, "params": {"image_size": 128}}}}}
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(config))
    return tmp_path / "tiny.ckpt", tmp_path / "tiny.yaml"


def test_cli_converts_a_checkpoint_as_saved_with_its_yaml(tmp_path, capsys):
    from vtonlib.cli import main
    from vtonlib.fileio import read_json

    ckpt, config = _tiny_checkpoint_and_yaml(tmp_path)
    assert main(["tryon", "convert", str(ckpt), str(tmp_path / "model"), "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "VGG19 of DCI-VTON's perceptual training loss" in out and "unused (not recognised)" not in out
    saved = read_json(tmp_path / "model" / "tryon_config.json")
    assert saved["dataset"] == "dci-v2" and saved["mapper_layers"] == 5  # read from the checkpoint, not CLIP's depth
    assert saved["sampling"] == {"final_alpha": "alpha_bar_0", "mask_resize": "bilinear", "inpaint_latent": "sample",
                                 "start": "t_max"}
    assert main(["tryon", "convert", str(ckpt), "--check-only", "--config", str(config), "--sampling", "course"]) == 0
    assert "final_alpha one" in capsys.readouterr().out
    # without its yaml the tiny checkpoint does not fit the released config, and the message says why
    assert main(["tryon", "convert", str(ckpt), "--check-only"]) == 2
    assert "does not fit the try-on model" in capsys.readouterr().err


def test_a_released_warp_file_loads_with_dci_vton_conventions(tmp_path):
    from vtonlib.parity import _tools
    from vtonlib.warp.apply import load_warp_model

    set_dir = golden("afwm")
    _tools(set_dir).make_checkpoint(set_dir, tmp_path / "warp_viton.pth")
    model = load_warp_model(tmp_path / "warp_viton.pth")
    assert model.config.align_corners is False and model.config.inputs == "dci-vton"
    assert load_warp_model(tmp_path / "warp_viton.pth", align_corners=True).config.align_corners is True


def test_faithful_sampling_of_a_converted_checkpoint_on_a_real_root(tmp_path):
    """End to end on the real VITON-HD sample: DCI-VTON's v1 inputs (with DCI-VTON's own 512x384-style warp
    files, here the stand-ins), its sampling, results at the photo's size; the photo kept outside the region."""
    import shutil

    from vtonlib import imaging
    from vtonlib.tryon import sample_split

    data = golden("data")
    root = tmp_path / "root"
    shutil.copytree(data.parent.parent / "data" / "viton-hd-hr", root)
    shutil.copytree(data / "standin", root, dirs_exist_ok=True)
    ckpt, config = _tiny_checkpoint_and_yaml(tmp_path, "ldm.data.cp_dataset.CPDataset")
    from vtonlib.cli import main

    assert main(["tryon", "convert", str(ckpt), str(tmp_path / "model"), "--config", str(config)]) == 0
    report = sample_split(root, tmp_path / "model", tmp_path / "out", scheduler="plms", num_inference_steps=3,
                          batch_size=1, progress=False)
    assert report["written_this_run"] == 1, report
    name, = [k for k, v in report["images"].items() if "error" not in v]
    assert "DCI-VTON v1" in report["images"][name]["warp"]
    result = imaging.read_image(tmp_path / "out" / name)
    photo = imaging.read_image(root / "test" / "image" / "00006_00.jpg")
    assert result.shape == photo.shape
    changed = np.abs(result.astype(int) - photo.astype(int)).max(-1) > 0
    assert 0.05 < changed.mean() < 0.6  # the v1 region (upper clothes and arms, dilated) is repainted


def test_warp_apply_with_a_released_file_reads_inputs_as_eval_pbafn_viton(tmp_path):
    import shutil

    from vtonlib import imaging
    from vtonlib.data import dci
    from vtonlib.data.reader import VitonDataset
    from vtonlib.parity import _tools
    from vtonlib.warp.apply import apply_warp, load_warp_model, model_inputs

    sample = PARITY.parent / "data" / "viton-hd-hr"
    if not sample.is_dir():
        pytest.skip(f"the real VITON-HD sample is not at {sample}")
    root = tmp_path / "root"
    shutil.copytree(sample, root)
    set_dir = golden("afwm")
    _tools(set_dir).make_checkpoint(set_dir, tmp_path / "warp_viton.pth")
    model = load_warp_model(tmp_path / "warp_viton.pth")
    ds = VitonDataset(root, "test")
    person, cloth = model_inputs(model.config, ds, "00006_00", "00006_00")
    full = dci.afwm_inputs(dci.warp_item(ds, "00006_00", "00006_00"))  # the dataset item, every key
    assert torch.equal(person, full["input2"]) and torch.equal(cloth, full["clothes_down"])
    report = apply_warp(root, tmp_path / "warp_viton.pth", progress=False)
    assert report["inputs"] == "dci-vton" and report["align_corners"] is False and report["written_this_run"] == 1
    warped = imaging.read_image(root / "test" / "cloth-warp" / "00006_00.jpg")
    assert warped.shape == imaging.read_image(root / "test" / "image" / "00006_00.jpg").shape
