"""A run folder's manifest: each notebook (or CLI stage) records its parameters and headline figures.

Tests and ``vton course`` read these numbers instead of trusting that a notebook merely finished.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from .fileio import read_json, write_json

MANIFEST = "manifest.json"


def record(run_dir: str | os.PathLike, stage: str, figures: dict, params: dict | None = None) -> dict:
    """Merge ``figures`` (JSON-serialisable) for ``stage`` into ``run_dir/manifest.json``."""
    path = Path(run_dir) / MANIFEST
    manifest = read_json(path) if path.exists() else {"stages": {}}
    json.dumps(figures)  # fail here, with the stage named, rather than leave a broken manifest
    manifest["stages"][stage] = {"figures": figures, "params": params or {},
                                 "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%S")}
    write_json(path, manifest)
    return manifest


def load(run_dir: str | os.PathLike) -> dict:
    path = Path(run_dir) / MANIFEST
    return read_json(path) if path.exists() else {"stages": {}}
