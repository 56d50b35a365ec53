import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

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
