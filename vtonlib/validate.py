"""One validation layer for every command: option ranges, file names inside their folder, outputs that
stay inside ``--out`` and never land on an input, and what a batch had finished when it was interrupted.

Bad input ends in a one-line message naming the option or the file, before any model loads.
"""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path

from .fileio import DataError


# --- option types (argparse names the option in its message) --------------------------------------------
def positive_int(text: str) -> int:
    value = _number(text, int)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}")
    return value


def non_negative_int(text: str) -> int:
    value = _number(text, int)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0, got {text!r}")
    return value


def finite_float(text: str) -> float:
    return _number(text, float)


def positive_float(text: str) -> float:
    value = _number(text, float)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text!r}")
    return value


def unit_float(text: str) -> float:
    """A share in (0, 1] (strength, a fraction of the schedule)."""
    value = _number(text, float)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {text!r}")
    return value


def fraction(text: str) -> float:
    """A share in [0, 1] (a threshold)."""
    value = _number(text, float)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1], got {text!r}")
    return value


def _number(text: str, kind):
    try:
        value = kind(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"expected a {'whole ' if kind is int else ''}number, got {text!r}") from None
    if kind is float and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


# --- names and paths -----------------------------------------------------------------------------------
def is_plain_name(name: str) -> bool:
    """A file name inside its folder: no separators, not '.' or '..', not absolute, no drive, no NUL."""
    text = str(name)
    return not (not text or text in (".", "..") or "/" in text or "\\" in text or "\x00" in text
                or os.path.isabs(text) or (len(text) > 1 and text[1] == ":"))


def safe_name(name: str, source: str | os.PathLike) -> str:
    """``name`` if it is a plain file name, else a :class:`DataError` naming ``source``, the file the name
    came from. Dataset ids and the names in pairs files and reports are names inside their folder: none may
    reach outside it."""
    text = str(name)
    if not is_plain_name(text):
        raise DataError(source, f"{text!r} is not a plain file name (names may not contain folders, '..' or "
                                f"absolute paths)")
    return text


def inside(path: str | os.PathLike, folder: str | os.PathLike) -> bool:
    path, folder = Path(path).resolve(), Path(folder).resolve()
    return path == folder or folder in path.parents


def output_dir(path: str | os.PathLike, option: str = "--out") -> Path:
    """The output folder, checked writable before any work starts (created when absent)."""
    path = Path(path)
    existing = next((p for p in (path, *path.parents) if p.exists()), Path("."))
    if not existing.is_dir():
        raise DataError(existing, f"{option} {path}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise DataError(existing, f"{option} {path}: cannot write here (permission denied)")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(path, f"{option}: cannot create the folder ({e.strerror or e})") from None
    return path


def output_file(path: str | os.PathLike, *inputs: str | os.PathLike, option: str = "out") -> Path:
    """An output file that is none of the command's inputs, in a writable folder."""
    path = Path(path)
    for given in inputs:
        if given is not None and _same(path, Path(given)):
            raise DataError(path, f"the {option} file is also an input of this command: it would be overwritten; "
                                  f"write to another file")
    output_dir(path.parent, option)
    return path


def _same(a: Path, b: Path) -> bool:
    if a.exists() and b.exists():
        return os.path.samefile(a, b)
    return a.resolve() == b.resolve()


# --- what a batch had done, for the interrupt message ----------------------------------------------------
class Progress:
    """The running batch's counts (``done`` of ``total``), set by the batch loops, read by the CLI when a
    Ctrl-C arrives."""

    done: int | None = None
    total: int | None = None

    @classmethod
    def start(cls, total: int) -> None:
        cls.done, cls.total = 0, total

    @classmethod
    def step(cls, n: int = 1) -> None:
        if cls.done is not None:
            cls.done += n

    @classmethod
    def describe(cls) -> str:
        return "" if cls.total is None else f"{cls.done} of {cls.total} done; "
