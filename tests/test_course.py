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

    def fake_run(run_dir, parameters, only=None, floors=None):
        seen.update(parameters)
        seen["floors"] = floors
        return {"run_dir": str(run_dir), "notebooks": [], "figures": {}}

    monkeypatch.setattr(vtonlib.course, "run_course", fake_run)
    main(["course", "--run-dir", str(tmp_path), "--data-root", "/data/VITON-HD", "--preset", "full",
          "--param", "CROP=256", "--param", "TARGETS=attention"])
    assert seen == {"DATA_ROOT": "/data/VITON-HD", "PRESET": "full", "CROP": 256, "TARGETS": "attention",
                    "floors": None}  # the floors are the built-in sample's: not checked on other data
    seen.clear()
    assert main(["course", "--run-dir", str(tmp_path)]) == 1  # nothing ran: not a pass
    assert seen["floors"] == vtonlib.course.FLOORS


def test_floors_fail_the_run_when_a_figure_falls(tmp_path):
    import json

    nbs = tmp_path / "nbs"
    nbs.mkdir()
    _notebook(nbs / "01_first.ipynb", "from vtonlib import manifest\n"
              "manifest.record(RUN_DIR, '01_first', {'scores': {'psnr': 21.5, 'lpips': 0.2}})")
    floors = tmp_path / "floors.json"
    floors.write_text(json.dumps({"01_first": {"scores/psnr": {"min": 22}, "scores/lpips": {"max": 0.3}},
                                  "09_not_run": {"x": {"min": 1}}}))
    from vtonlib.course import passed

    summary = run_course(tmp_path / "run", directory=nbs, log=lambda *_: None, floors=floors)
    assert [(c["figure"], c["ok"]) for c in summary["checks"]] == [("scores/psnr", False), ("scores/lpips", True)]
    assert not passed(summary) and "FAIL  01_first scores/psnr = 21.5 (floor: >= 22)" in format_summary(summary)
    floors.write_text(json.dumps({"01_first": {"scores/psnr": {"min": 21}, "scores/ssim": {"min": 0.5}}}))
    summary = run_course(tmp_path / "run2", directory=nbs, log=lambda *_: None, floors=floors)
    assert [c["ok"] for c in summary["checks"]] == [True, False]  # a figure that was not recorded fails


def test_the_course_floors_name_its_notebooks_and_bound_each_figure_once():
    import json

    from vtonlib.course import FLOORS

    floors = json.loads(FLOORS.read_text())
    stems = {p.stem for p in notebooks()}
    for stage, bounds in floors.items():
        if stage.startswith("_"):
            continue
        assert stage in stems, f"{stage} is no notebook of the course"
        for path, bound in bounds.items():
            assert len(set(bound) & {"min", "max"}) == 1 and isinstance(next(iter(bound.values())), (int, float)), path
