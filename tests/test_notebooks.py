"""Every course notebook runs headless under papermill at smoke parameters and records its figures.

A later notebook joins by adding its smoke parameters to SMOKE (any it does not list keep their
defaults); the harness always passes RUN_DIR and SAMPLE_DIR so that notebooks share one run folder.
"""

import pytest

from conftest import REPO
from vtonlib import manifest
from vtonlib.course import notebooks

SMOKE = {
    "01_data": {"N_SAMPLES": 14},
    "02_hand_masks": {"N_SAMPLES": 14},
    "03_warping": {"N_SAMPLES": 14, "STEPS": 6},
    "04_tryon": {"N_SAMPLES": 14, "STEPS": 6, "SKIN_VARIANTS": 1, "SAMPLING_STEPS": 3, "COMPARE_IMAGES": 2},
    "05_lora_hands": {"N_SAMPLES": 14, "STEPS": 6, "SAMPLE_EVERY": 3, "REPAINT_STEPS": 2},
    "06_hand_correction": {"N_SAMPLES": 14, "STEPS": 4, "TRYON_STEPS": 3, "SCALES": [0.0, 0.8]},
    "07_evaluation": {"N_SAMPLES": 14, "STEPS": 4, "TRYON_STEPS": 3},
    "08_your_photo": {"STEPS": 2},
}

NOTEBOOKS = notebooks(REPO / "notebooks")


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    return tmp_path_factory.mktemp("course")


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_headless(path, run_folder):
    import papermill as pm

    params = {"RUN_DIR": str(run_folder / "run"), "SAMPLE_DIR": str(run_folder / "sample"), **SMOKE.get(path.stem, {})}
    pm.execute_notebook(str(path), str(run_folder / path.name), parameters=params, cwd=str(path.parent),
                        progress_bar=False, kernel_name="python3")
    stage = manifest.load(run_folder / "run")["stages"].get(path.stem)
    assert stage is not None, f"{path.name} recorded no figures in the run manifest"
    assert stage["figures"]


def test_01_figures(run_folder):
    figures = manifest.load(run_folder / "run")["stages"].get("01_data", {}).get("figures")
    if figures is None:
        pytest.skip("notebook 01 did not run in this session")
    assert figures["agreement"]["hand_pixels_in_arm_labels"] == 1.0
    assert figures["agreement"]["keypoints_in_hand_mask"] == 1.0
    assert figures["checker"]["sample_errors"] == 0
    assert figures["checker"]["defects_named"] == figures["checker"]["defects_made"] == 7
    assert 0 < figures["subset"]["kept"] < figures["subset"]["kept_by_seed_rule"] <= figures["subset"]["total"]


def test_02_figures(run_folder):
    figures = manifest.load(run_folder / "run")["stages"].get("02_hand_masks", {}).get("figures")
    if figures is None:
        pytest.skip("notebook 02 did not run in this session")
    iou = figures["iou"]
    assert iou["keypoints"] > iou["arms"] + 0.15 and iou["densepose"] > iou["arms"] + 0.15
    assert figures["written"]["test"]["errors"] == 0 and figures["written"]["test"]["images"] > 0


def test_03_figures(run_folder):
    figures = manifest.load(run_folder / "run")["stages"].get("03_warping", {}).get("figures")
    if figures is None:
        pytest.skip("notebook 03 did not run in this session")
    assert figures["steps"] == 6 and set(figures["iou"]) >= {"model paired", "box baseline paired"}
    assert figures["written"] == {"train": 10, "test": 4, "test unpaired": 4}


def test_04_figures(run_folder):
    figures = manifest.load(run_folder / "run")["stages"].get("04_tryon", {}).get("figures")
    if figures is None:
        pytest.skip("notebook 04 did not run in this session")
    assert set(figures["samplers"]) == {"PLMS 100", "DPM-Solver++ 25", "DPM-Solver++ 15"}
    assert figures["results_written"] == {"paired": 4, "unpaired": 4}
    for key in ("region_psnr", "region_ssim", "garment_delta_e"):
        assert set(figures[key]) == {"model", "composite", "ceiling"}
    # the ceiling (the photo through the frozen autoencoder) is far above the grey composite
    assert figures["region_psnr"]["ceiling"] > figures["region_psnr"]["composite"] + 10
    assert 0 < figures["region_ssim"]["model"] < 1


def test_05_figures(run_folder):
    figures = manifest.load(run_folder / "run")["stages"].get("05_lora_hands", {}).get("figures")
    if figures is None:
        pytest.skip("notebook 05 did not run in this session")
    assert figures["steps"] == 6 and figures["hands"] > 0
    assert set(figures["repaint"]) == {"first guess", "0.0", "0.5", "1.0"}
    assert figures["full_size_lora_share"] <= 0.02  # rank 64 on the attention projections of the full UNet
    assert figures["kohya_round_trip"]["loaded"] == figures["kohya_round_trip"]["modules"] > 0


def test_06_figures(run_folder):
    figures = manifest.load(run_folder / "run")["stages"].get("06_hand_correction", {}).get("figures")
    if figures is None:
        pytest.skip("notebook 06 did not run in this session")
    assert figures["outside_change"] == 0.0  # byte-identical outside the paste masks
    variants = {"base", "plain re-denoising (no LoRA)", "lora_scale 0.0", "lora_scale 0.8", "preservation", "both"}
    assert variants <= set(figures["hand_iou"]) and variants <= set(figures["hand_ssim"])
    assert all(0 <= v <= 1 for v in figures["hand_iou"].values())
    assert figures["hands_scored"] > 0 and figures["time_fraction"] > 0


def test_07_figures(run_folder):
    figures = manifest.load(run_folder / "run")["stages"].get("07_evaluation", {}).get("figures")
    if figures is None:
        pytest.skip("notebook 07 did not run in this session")
    assert figures["outside_hands_changed_pixels"] == 0
    for key in ("results", "baseline"):
        assert 0 < figures[key]["ssim"] <= 1 and figures[key]["hand_crops"] > 0
        assert set(figures[key]["detector"]) >= {"found_share", "mean_confidence", "keypoint_error_norm"}
    assert (run_folder / "run" / "report" / "report.html").exists()
