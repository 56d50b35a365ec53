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


@pytest.fixture(scope="session")
def trained(sample_root, tmp_path_factory):
    """A tiny try-on model trained a few steps on the sample: (folder, training result)."""
    from vtonlib.tryon import TrainConfig, TryOnConfig, VaeTrainConfig, train_tryon

    out = tmp_path_factory.mktemp("tryon") / "model"
    result = train_tryon(sample_root, out, TryOnConfig.tiny(), TrainConfig(steps=24, save_every=12),
                         VaeTrainConfig(steps=16), progress=False, log=lambda *_: None)
    return out, result


@pytest.fixture(scope="session")
def train_hand_masks(sample_root, tmp_path_factory) -> Path:
    """Hand masks and hands.json of the sample's train split (from keypoints: fast and exact enough)."""
    from vtonlib.hands.batch import write_hand_masks

    out = tmp_path_factory.mktemp("hands") / "hand-mask"
    write_hand_masks(sample_root, out, split="train", method="keypoints", progress=False)
    return out
