"""The project sets itself up: pins agree, the Makefile has its targets, notebooks are clean."""

import json
import re
import tomllib

import yaml

from conftest import REPO


def _pyproject_pins():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    deps = project["dependencies"] + [d for extra in project["optional-dependencies"].values() for d in extra]
    return deps


def test_every_dependency_is_pinned():
    for dep in _pyproject_pins():
        assert re.fullmatch(r"[A-Za-z0-9_.\-]+==[0-9][0-9A-Za-z.\-+]*", dep), f"not pinned exactly: {dep}"


def test_environment_yml_has_the_same_pins():
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    conda_pins = {p.lower() for p in pip if "==" in p}
    assert conda_pins == {p.lower() for p in _pyproject_pins()}
    assert any(str(d).startswith("python=3.11") for d in env["dependencies"])


def test_makefile_and_ci():
    makefile = (REPO / "Makefile").read_text()
    for target in ("setup:", "test:", "run:", "lab:"):
        assert re.search(rf"^{target}", makefile, re.M), f"Makefile lacks {target}"
    assert "make test" in (REPO / ".ci" / "run").read_text()


def test_notebooks_are_committed_clean_with_a_parameters_cell():
    notebooks = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert notebooks
    for nb_path in notebooks:
        nb = json.loads(nb_path.read_text())
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        assert all(not c.get("outputs") and not c.get("execution_count") for c in code), f"{nb_path.name} has outputs"
        tagged = any("parameters" in c.get("metadata", {}).get("tags", []) for c in code)
        assert tagged, f"{nb_path.name}: no parameters cell"
