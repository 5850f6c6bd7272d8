# The README's two commands are `make demo` and `make test`; both install what they need first.
# Every preset writes its own board, results/<preset>/leaderboard.md; `make publish PRESET=<preset>` copies a
# finished one to docs/leaderboard/<preset>/ and rebuilds the top-level leaderboard.md from every published board
# (refusing stale, partial, mixed or uncommitted runs). `make lock` refreshes the pinned stack.
PYTHON ?= python3
PIP = $(PYTHON) -m pip
PRESET ?= demo
PRESET_FILE = $(if $(filter paper,$(PRESET)),config/config.yaml,config/$(PRESET).yaml)

.PHONY: install lock demo test paper local publish

install:
	$(PIP) install --quiet torch==2.13.0   # first and pinned: the CPU wheel here, never a loose CUDA pull
	$(PIP) install --quiet -r requirements/lock.txt   # the pinned stack, every package at one version
	$(PIP) install --quiet --no-deps -e .

# Refresh the pinned stack (requirements/lock.txt and environment.yml) from pyproject.toml's ranges and
# requirements/constraints.txt, in a fresh virtual environment; commit both files.
lock:
	$(PYTHON) scripts/lock.py

demo: install
	$(PYTHON) -m snakemake --cores all --configfile config/demo.yaml

test: install
	$(PYTHON) -m pytest -q

paper: install
	$(PYTHON) -m snakemake --cores all

local: install
	$(PYTHON) -m snakemake --cores all --configfile config/local.yaml

publish:
	$(PYTHON) -m benchmark publish --config $(PRESET_FILE)
