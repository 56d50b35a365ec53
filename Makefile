# The course's two commands: `make run` (the whole course, headless) and `make test`.
# Both create .venv on first use. `make lab` opens the notebooks in JupyterLab.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
export HF_HUB_OFFLINE := 1

DEMO_STAMP := $(VENV)/.demo-stamp

.PHONY: setup weights test run lab demo demo-setup clean

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

# The web demo, an optional extra: Gradio and Playwright (for its browser test) into the same venv. Gradio
# 6.31 caps pillow below 13 while the course pins 13.0.0 (it runs fine on it): its requirements first, then
# gradio itself with --no-deps. The browser test also needs the system's Chromium (Debian: apt install chromium).
demo-setup: setup $(DEMO_STAMP)

$(DEMO_STAMP): requirements-demo.txt $(STAMP)
	@echo "Installing the demo extras (Gradio, Playwright) into $(VENV)"
	$(PY) -m pip install -qq -r requirements-demo.txt
	$(PY) -m pip install -qq --no-deps gradio==6.31.0
	@touch $(DEMO_STAMP)

demo: demo-setup
	GRADIO_ANALYTICS_ENABLED=False $(VENV)/bin/vton demo

clean:
	rm -rf runs/ .pytest_cache
