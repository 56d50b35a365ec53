import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("VTON_HEADLESS", "1")  # notebooks run by papermill: no widget frontend

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def sample_root(tmp_path_factory) -> Path:
    """A small built-in sample: 14 people cover every pair of arm poses once."""
    from vtonlib.data.sample import make_sample

    return make_sample(tmp_path_factory.mktemp("sample") / "sample", n=14, seed=0, progress=False)


@pytest.fixture
def sample_copy(sample_root, tmp_path) -> Path:
    """A private copy of the sample, for tests that damage it."""
    out = tmp_path / "copy"
    shutil.copytree(sample_root, out)
    return out


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real VITON-HD samples not found at {SHARED_DATA} (the ../shared folder beside the repo)")
    return SHARED_DATA


SHARED_WEIGHTS = REPO.parent / "shared" / "weights"


@pytest.fixture(scope="session")
def taef2_weights():
    """The pretrained TAEF2 files, installed from ../shared/weights into a test weights folder."""
    from vtonlib import weights

    try:
        weights.weights_file("taef2-encoder", verify=True)
        weights.weights_file("taef2-decoder", verify=True)
        return weights.weights_dir()
    except Exception:
        pass
    if not (SHARED_WEIGHTS / "taef2").is_dir():
        pytest.skip(f"TAEF2 weights not installed (`vton weights install`) and not found at {SHARED_WEIGHTS}")
    status = weights.install(["taef2-encoder", "taef2-decoder"], source=SHARED_WEIGHTS, download=False,
                             log=lambda *_: None)
    if any(v.startswith("failed") for v in status.values()):
        pytest.skip(f"TAEF2 weights could not be installed from {SHARED_WEIGHTS}: {status}")
    return weights.weights_dir()


@pytest.fixture(scope="session")
def trained(sample_root, tmp_path_factory, taef2_weights):
    """A tiny try-on model (on the pretrained TAEF2) trained a few steps on the sample: (folder, result)."""
    from vtonlib.tryon import TrainConfig, TryOnConfig, train_tryon

    out = tmp_path_factory.mktemp("tryon") / "model"
    result = train_tryon(sample_root, out, TryOnConfig.tiny(), TrainConfig(steps=24, save_every=12),
                         progress=False, log=lambda *_: None)
    return out, result


@pytest.fixture(scope="session")
def train_hand_masks(sample_root, tmp_path_factory) -> Path:
    """Hand masks and hands.json of the sample's train split (from keypoints: fast and exact enough)."""
    from vtonlib.hands.batch import write_hand_masks

    out = tmp_path_factory.mktemp("hands") / "hand-mask"
    write_hand_masks(sample_root, out, split="train", method="keypoints", progress=False)
    return out
