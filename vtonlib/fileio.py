"""Safe file writing: every output goes to a temporary file first and is renamed into place.

A run interrupted half-way therefore never leaves a truncated image or JSON behind, and a stage that
resumes can trust any file it finds. Renaming also gives the output a new inode, so a hard-linked
input (see ``vton little --link``) is never modified through its link.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np


class DataError(Exception):
    """A problem with an input file, stated as ``path: problem`` so the user knows what to fix."""

    def __init__(self, path: str | os.PathLike, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it to ``path``, else delete it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp" + path.suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: str | os.PathLike, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_json(path: str | os.PathLike, obj: Any, indent: int | None = 2) -> None:
    write_text(path, json.dumps(obj, indent=indent) + "\n")


def write_arrays(path: str | os.PathLike, **arrays) -> None:
    """Write named arrays to a compressed ``.npz`` file."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)


def weights_path(given: str | os.PathLike | None, name: str) -> Path:
    """A weights file: ``given``, else ``name`` where torch's hub cache keeps downloads
    (``$TORCH_HOME/hub/checkpoints``). Nothing is ever downloaded: a caller reports a file that is absent."""
    if given:
        return Path(given)
    import torch

    return Path(torch.hub.get_dir()) / "checkpoints" / name


def file_sha256(path: str | os.PathLike) -> str:
    """The sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


MAX_JSON_BYTES = 64 * 2**20  # far above any annotation or report; a larger file is not what it claims


def read_json(path: str | os.PathLike, max_bytes: int = MAX_JSON_BYTES) -> Any:
    """Read a JSON file; a missing, oversized, too deeply nested or malformed file raises :class:`DataError`
    naming it."""
    try:
        if os.path.getsize(path) > max_bytes:
            raise DataError(path, f"{os.path.getsize(path):,} bytes: larger than any JSON file this course reads "
                                  f"({max_bytes:,})")
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise DataError(path, "file not found") from None
    except RecursionError:
        raise DataError(path, "JSON nested too deeply to be an annotation or a report") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise DataError(path, f"malformed JSON ({e})") from None


def copy_file(src: str | os.PathLike, dst: str | os.PathLike, link: bool = False) -> None:
    """Copy ``src`` to ``dst`` atomically, or hard-link it where ``link`` is set and the filesystem allows."""
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    if link:
        with atomic_path(dst) as tmp:
            tmp.unlink()
            try:
                os.link(src, tmp)
            except OSError:  # another filesystem, or links not allowed: fall back to a copy
                shutil.copy2(src, tmp)
        return
    with atomic_path(dst) as tmp:
        shutil.copy2(src, tmp)
