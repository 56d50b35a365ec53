"""``vton course``: run every notebook of the course, in order, headless, into one run folder.

Each notebook is executed with papermill (outputs kept in ``RUN/notebooks/``) and receives ``RUN_DIR``
so that all of them read and write one run folder. At the end a summary gives each notebook's duration
and the headline figures it recorded in ``RUN/manifest.json``.
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


def notebooks(directory: Path = NOTEBOOKS_DIR, only: list[str] | None = None) -> list[Path]:
    """Course notebooks (``NN_name.ipynb``) in order; ``only`` keeps those whose number or name matches."""
    found = sorted(p for p in directory.glob("[0-9][0-9]_*.ipynb"))
    if only:
        found = [p for p in found if any(p.name.startswith(o) or p.stem == o for o in only)]
    return found


def run_course(run_dir: str | os.PathLike | None = None, parameters: dict | None = None,
               only: list[str] | None = None, directory: Path = NOTEBOOKS_DIR, log=print) -> dict:
    """Execute the notebooks; return {"run_dir", "notebooks": [{name, seconds, ok, error}], "figures"}."""
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
    summary = {"run_dir": str(run_dir), "notebooks": results, "figures": manifest.load(run_dir)["stages"]}
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
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    s = run_course()
    print(format_summary(s))
    sys.exit(0 if all(r["ok"] for r in s["notebooks"]) else 1)
