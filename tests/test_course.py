"""The course runner executes notebooks in order into one run folder and summarises their figures."""

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from vtonlib.course import format_summary, notebooks, run_course


def _notebook(path, body):
    kernel = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb = new_notebook(metadata={"kernelspec": kernel})
    params = new_code_cell('RUN_DIR = "."')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, new_code_cell(body)]
    nbformat.write(nb, path)


def test_runs_in_order_records_figures_and_stops_at_a_failure(tmp_path):
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    _notebook(nbs / "01_first.ipynb", "from vtonlib import manifest\nmanifest.record(RUN_DIR, '01_first', {'x': 1})")
    _notebook(nbs / "02_broken.ipynb", "raise RuntimeError('boom')")
    _notebook(nbs / "03_never.ipynb", "pass")
    (nbs / "notes.ipynb").write_text("{}")  # not a course notebook: ignored
    assert [p.name for p in notebooks(nbs)] == ["01_first.ipynb", "02_broken.ipynb", "03_never.ipynb"]
    summary = run_course(tmp_path / "run", directory=nbs, log=lambda *_: None)
    ran = [(r["name"], r["ok"]) for r in summary["notebooks"]]
    assert ran == [("01_first.ipynb", True), ("02_broken.ipynb", False)]  # stops at the failure
    assert "boom" in summary["notebooks"][1]["error"]
    assert summary["figures"]["01_first"]["figures"] == {"x": 1}
    assert (tmp_path / "run" / "notebooks" / "01_first.ipynb").exists()
    text = format_summary(summary)
    assert "01_first" in text and "FAILED" in text and "x: 1" in text


def test_course_flags_become_parameters(monkeypatch, tmp_path):
    import vtonlib.course
    from vtonlib.cli import main

    seen = {}

    def fake_run(run_dir, parameters, only=None):
        seen.update(parameters)
        return {"run_dir": str(run_dir), "notebooks": [], "figures": {}}

    monkeypatch.setattr(vtonlib.course, "run_course", fake_run)
    main(["course", "--run-dir", str(tmp_path), "--data-root", "/data/VITON-HD", "--preset", "full",
          "--param", "CROP=256", "--param", "TARGETS=attention"])
    assert seen == {"DATA_ROOT": "/data/VITON-HD", "PRESET": "full", "CROP": 256, "TARGETS": "attention"}
