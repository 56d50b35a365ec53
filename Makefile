# The course's two commands: `make run` (the whole course, headless) and `make test`.
# Both create .venv on first use. `make lab` opens the notebooks in JupyterLab.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
export HF_HUB_OFFLINE := 1

.PHONY: setup test run lab clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@echo "Setting up $(VENV): pinned PyTorch, diffusers, mediapipe, Jupyter (first time only, a few minutes)"
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -qq -e '.[dev]'
	@touch $(STAMP)

test: setup
	$(PY) -m pytest -q

run: setup
	$(VENV)/bin/vton course

lab: setup
	$(VENV)/bin/jupyter lab notebooks/

clean:
	rm -rf runs/ .pytest_cache
