# Two entry points for a fresh machine (see README):
#   make review   set up .venv, then run the whole review offline on the committed snapshot
#   make test     set up .venv, then lint and run the test suite
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
CORES  ?= 2

.PHONY: setup review test lint refresh bench clean slurm-check

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

setup: $(VENV)/.installed

review: setup
	$(BIN)/snakemake --cores $(CORES)

lint: setup
	$(BIN)/ruff check src tests benchmarks

test: lint
	$(BIN)/python -m pytest

refresh: setup
	$(BIN)/ketamine-evidence refresh

bench: setup
	$(BIN)/python benchmarks/bench_meta.py

# The review through workflow/profiles/slurm on a one-node SLURM on localhost (root; installs
# Debian's slurm-wlm and munge when missing); outputs must be byte-identical to a local run.
$(VENV)/.slurm-installed: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test,slurm]'
	touch $@

slurm-check: $(VENV)/.slurm-installed
	bash .ci/slurm-check $(BIN)/python
