"""``vton course``: run every notebook of the course, in order, headless, into one run folder.

Each notebook is executed with papermill (outputs kept in ``RUN/notebooks/``) and receives ``RUN_DIR``
so that all of them read and write one run folder. At the end a summary gives each notebook's duration
and the headline figures it recorded in ``RUN/manifest.json``, each compared with its floor in
``notebooks/floors.json``: the course is a regression test of its own quality, so a change that makes the
pictures worse fails the run.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from . import manifest
from .viz import HEADLESS

NOTEBOOKS_DIR = Path(__file__).resolve().parent.parent / "notebooks"
FLOORS = NOTEBOOKS_DIR / "floors.json"


def figure(figures: dict, path: str):
    """The value at ``path`` of a stage's figures, keys joined by "/" (``region_psnr/model``: keys may hold
    dots, as ``lora_scale 0.8`` does); None when absent."""
    value = figures
    for key in path.split("/"):
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def check_floors(stages: dict, floors: dict) -> list[dict]:
    """One row per floor of the stages that ran: the figure, its bound ("min" or "max") and whether it holds.
    A figure that a stage which ran did not record fails: a renamed figure must not pass silently."""
    rows = []
    for stage, bounds in floors.items():
        if stage.startswith("_") or stage not in stages:
            continue
        for path, bound in bounds.items():
            value = figure(stages[stage]["figures"], path)
            kind, limit = ("min", bound["min"]) if "min" in bound else ("max", bound["max"])
            ok = isinstance(value, (int, float)) and (value >= limit if kind == "min" else value <= limit)
            rows.append({"stage": stage, "figure": path, "value": value, kind: limit, "ok": bool(ok)})
    return rows


def notebooks(directory: Path = NOTEBOOKS_DIR, only: list[str] | None = None) -> list[Path]:
    """Course notebooks (``NN_name.ipynb``) in order; ``only`` keeps those whose number or name matches."""
    found = sorted(p for p in directory.glob("[0-9][0-9]_*.ipynb"))
    if only:
        found = [p for p in found if any(p.name.startswith(o) or p.stem == o for o in only)]
    return found


def run_course(run_dir: str | os.PathLike | None = None, parameters: dict | None = None,
               only: list[str] | None = None, directory: Path = NOTEBOOKS_DIR, log=print,
               floors: str | os.PathLike | None = FLOORS) -> dict:
    """Execute the notebooks; return {"run_dir", "notebooks": [{name, seconds, ok, error}], "figures",
    "checks"}. ``floors``: the file of figure floors to check (None: no check)."""
    import papermill as pm

    os.environ[HEADLESS] = "1"  # the kernels inherit it: widgets fall back to static figures (viz.headless)

    run_dir = Path(run_dir or Path("runs") / time.strftime("%Y%m%d-%H%M%S")).resolve()
    (run_dir / "notebooks").mkdir(parents=True, exist_ok=True)
    results = []
    for nb in notebooks(directory, only):
        params = {"RUN_DIR": str(run_dir), **(parameters or {})}
        log(f"running {nb.name} ...")
        start = time.perf_counter()
        error = None
        try:
            # cwd = the notebook's folder, as in Jupyter, so relative paths in parameters mean the same
            pm.execute_notebook(str(nb), str(run_dir / "notebooks" / nb.name), parameters=params,
                                cwd=str(nb.parent), progress_bar=False, kernel_name="python3")
        except Exception as e:  # report, then stop: later notebooks build on this one
            error = f"{type(e).__name__}: {str(e).strip().splitlines()[-1] if str(e).strip() else ''}"
        seconds = time.perf_counter() - start
        results.append({"name": nb.name, "seconds": round(seconds, 1), "ok": error is None, "error": error})
        log(f"  {'done' if error is None else 'FAILED'} in {seconds:.1f} s" + (f": {error}" if error else ""))
        if error:
            break
    stages = manifest.load(run_dir)["stages"]
    summary = {"run_dir": str(run_dir), "notebooks": results, "figures": stages, "checks": []}
    if floors is not None and Path(floors).exists():
        summary["checks"] = check_floors(stages, json.loads(Path(floors).read_text()))
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def format_summary(summary: dict) -> str:
    lines = [f"Course run in {summary['run_dir']}", ""]
    total = 0.0
    for r in summary["notebooks"]:
        total += r["seconds"]
        lines.append(f"  {r['name']:28s} {r['seconds']:7.1f} s  {'ok' if r['ok'] else 'FAILED: ' + str(r['error'])}")
    lines.append(f"  {'total':28s} {total:7.1f} s")
    for stage, entry in summary["figures"].items():
        lines.append("")
        lines.append(f"  {stage}:")
        for key, value in entry["figures"].items():
            lines.append(f"    {key}: {json.dumps(value)}")
    checks = summary.get("checks") or []
    if checks:
        lines += ["", f"  quality floors ({sum(c['ok'] for c in checks)} of {len(checks)} hold):"]
        for c in checks:
            kind = "min" if "min" in c else "max"
            sign = ">=" if kind == "min" else "<="
            value = f"{c['value']:.4g}" if isinstance(c["value"], (int, float)) else "missing"
            lines.append(f"    {'pass' if c['ok'] else 'FAIL'}  {c['stage']} {c['figure']} = {value} "
                         f"(floor: {sign} {c[kind]})")
    return "\n".join(lines)


def passed(summary: dict) -> bool:
    """Every notebook ran and every floor held."""
    return bool(summary["notebooks"]) and all(r["ok"] for r in summary["notebooks"]) and \
        all(c["ok"] for c in summary.get("checks") or [])


if __name__ == "__main__":  # pragma: no cover
    s = run_course()
    print(format_summary(s))
    sys.exit(0 if passed(s) else 1)
