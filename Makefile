# The README's two commands are `make demo` and `make test`; both install what they need first.
PYTHON ?= python3
PIP = $(PYTHON) -m pip

.PHONY: install demo test paper

install:
	$(PIP) install --quiet torch==2.13.0   # first and pinned: the CPU wheel here, never a loose CUDA pull
	$(PIP) install --quiet -e '.[test]'

demo: install
	$(PYTHON) -m snakemake --cores all --configfile config/demo.yaml

test: install
	$(PYTHON) -m pytest -q

paper: install
	$(PYTHON) -m snakemake --cores all
