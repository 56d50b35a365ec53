# The course's two commands: `make run` (the whole course, headless) and `make test`.
# Both create .venv on first use. `make lab` opens the notebooks in JupyterLab.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
export HF_HUB_OFFLINE := 1

.PHONY: setup weights test run lab clean

setup: $(STAMP) weights

$(STAMP): pyproject.toml
	@echo "Setting up $(VENV): pinned PyTorch, diffusers, mediapipe, Jupyter (first time only, a few minutes)"
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -qq -e '.[dev]'
	@touch $(STAMP)

# Pretrained weights (TAEF2, LPIPS's AlexNet) into weights/, checked by sha256: copied from ../shared/weights
# when present, else downloaded once. Nothing is fetched while a notebook runs. A file that cannot be had
# is reported (the stages that need it say so) and does not stop the set-up.
weights: $(STAMP)
	@$(VENV)/bin/vton weights install || echo "(some weights are missing: see above)"

test: setup
	$(PY) -m pytest -q

run: setup
	$(VENV)/bin/vton course

lab: setup
	$(VENV)/bin/jupyter lab notebooks/

clean:
	rm -rf runs/ .pytest_cache
