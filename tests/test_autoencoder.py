"""TAEF2 with the released weights, the model folder that keeps it, and the weights registry that installs it."""

import hashlib

import numpy as np
import pytest
import torch

from conftest import SHARED_WEIGHTS
from vtonlib import imaging, weights
from vtonlib.fileio import DataError
from vtonlib.metrics import psnr
from vtonlib.tryon import TryOnConfig, TryOnModel
from vtonlib.tryon.autoencoder import TinyAutoencoder, measure_latent_scaling
from vtonlib.tryon.model import pretrained_taef2


def test_released_taef2_loads_by_name_and_reconstructs_the_sample(taef2_weights, sample_root):
    from vtonlib.data.reader import VitonDataset

    ae = pretrained_taef2(TryOnConfig.tiny()).eval()
    released = torch.load(weights.weights_file("taef2-encoder"), weights_only=True)
    assert set(ae.encoder.state_dict()) == set(released)  # every released tensor has its place, by name
    ds = VitonDataset(sample_root, "test")
    photos = [ds.read_image(i) for i in ds.ids[:2]]
    with torch.no_grad():
        latents = ae.encode(imaging.to_tensor(np.stack(photos)))
        back = imaging.to_image(ae.decode(latents).clamp(-1, 1))
    assert latents.shape == (2, 32, 32, 24)
    assert min(psnr(b, p) for b, p in zip(back, photos)) > 27  # measured 28-34 dB on the sample's people
    shift, scale = measure_latent_scaling(ae, imaging.to_tensor(np.stack(photos)))
    assert abs(shift) < 0.1 and 1.2 < scale < 1.8  # TAEF2's latent std is about 0.69


def test_a_model_folder_keeps_the_autoencoder_and_its_scaling(tmp_path):
    torch.manual_seed(0)
    config = TryOnConfig.tiny()
    config.autoencoder.update(shift=0.05, scale=1.3)
    model = TryOnModel(config)
    model.save(tmp_path / "model")
    again = TryOnModel.load(tmp_path / "model")
    assert (again.autoencoder.shift, again.autoencoder.scale) == (0.05, 1.3)
    x = torch.rand(1, 3, 64, 48) * 2 - 1
    torch.testing.assert_close(again.encode(x), model.encode(x))
    (tmp_path / "model" / "vae" / "decoder.safetensors").unlink()
    with pytest.raises(DataError, match="decoder.safetensors"):
        TryOnModel.load(tmp_path / "model")


def test_a_file_that_is_not_taef2_is_named(tmp_path):
    torch.save({"weight": torch.zeros(3)}, tmp_path / "enc.pth")
    torch.save({"weight": torch.zeros(3)}, tmp_path / "dec.pth")
    with pytest.raises(DataError, match="enc.pth: not TAEF2 weights"):
        TinyAutoencoder().load_released(tmp_path / "enc.pth", tmp_path / "dec.pth")


@pytest.fixture
def registry(monkeypatch, tmp_path):
    """A one-file registry (a few bytes with their real checksum) and a source folder holding them."""
    data = b"pretend weights"
    entry = weights.WeightsFile("demo/demo.bin", len(data), hashlib.sha256(data).hexdigest(), "MIT", "a test",
                                None, "nothing")
    monkeypatch.setattr(weights, "REGISTRY", {"demo": entry})
    source = tmp_path / "shared"
    (source / "demo").mkdir(parents=True)
    (source / "demo" / "demo.bin").write_bytes(data)
    return source, tmp_path / "weights", data


def test_install_copies_checks_and_replaces_a_damaged_file(registry):
    source, target, data = registry
    with pytest.raises(DataError, match="vton weights install"):
        weights.weights_file("demo", target)
    assert weights.install(directory=target, source=source, log=lambda *_: None) == {"demo": "copied"}
    assert weights.check(target) == {"demo": "ok"} and weights.weights_file("demo", target, verify=True).exists()
    assert weights.install(directory=target, source=source, log=lambda *_: None) == {"demo": "present"}
    (target / "demo" / "demo.bin").write_bytes(b"damaged")
    assert weights.check(target) == {"demo": "damaged"}
    assert weights.install(directory=target, source=source, log=lambda *_: None) == {"demo": "copied"}
    assert (target / "demo" / "demo.bin").read_bytes() == data


def test_install_without_a_source_says_where_to_put_the_file(registry, tmp_path):
    _, target, _ = registry
    lines = []
    status = weights.install(directory=target, source=tmp_path / "nowhere", log=lines.append)
    assert status["demo"].startswith("failed") and "no download address" in status["demo"]
    assert str(target / "demo" / "demo.bin") in "\n".join(lines)


def test_the_shared_weights_match_the_registry():
    if not SHARED_WEIGHTS.is_dir():
        pytest.skip(f"no shared weights at {SHARED_WEIGHTS}")
    assert weights.check(SHARED_WEIGHTS) == {key: "ok" for key in weights.REGISTRY}


def test_a_folder_written_before_the_autoencoder_had_a_kind_still_loads(tmp_path):
    import json

    from ldm_keys import tiny_kl_config

    torch.manual_seed(0)
    model = TryOnModel(tiny_kl_config())
    model.save(tmp_path / "old")
    config_file = tmp_path / "old" / "tryon_config.json"
    saved = json.loads(config_file.read_text())
    old = dict(saved.pop("autoencoder"))
    old.pop("kind"), old.pop("latent_channels")
    config_file.write_text(json.dumps({**saved, "vae": old}))  # the earlier format: AutoencoderKL arguments as "vae"
    again = TryOnModel.load(tmp_path / "old")
    assert again.autoencoder.kind == "kl" and again.latent_channels == 4
    x = torch.rand(1, 3, 64, 48) * 2 - 1
    torch.testing.assert_close(again.encode(x), model.encode(x))
