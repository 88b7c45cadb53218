# Two entry points for a fresh machine (see README):
#   make review   set up .venv, then run the whole review offline on the committed snapshot
#   make test     set up .venv, then lint and run the test suite
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
CORES  ?= 2

.PHONY: help setup review test lint typecheck refresh bench clean slurm-check test-lowest

help: ## list the targets
	@echo "make targets (see README.md):"
	@awk -F':.*## ' '/^[a-z-]+:.*## / { printf "  %-12s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,ci]'
	touch $@

setup: $(VENV)/.installed ## create .venv with the package and its test extra

# --rerun-incomplete: after Ctrl-C (or a killed run) a step's half-written outputs are
# marked incomplete; re-running them is the only safe continuation, so the one command does it.
review: setup ## run the whole review offline on the committed snapshot (recovers after Ctrl-C)
	$(BIN)/snakemake --cores $(CORES) --rerun-incomplete

lint: setup ## ruff on src, tests and benchmarks
	$(BIN)/ruff check src tests benchmarks

typecheck: setup ## mypy on the statistics core (files and settings: [tool.mypy] in pyproject.toml)
	$(BIN)/mypy

test: lint typecheck ## lint, type check, then the test suite (what CI runs)
	$(BIN)/python -m pytest

refresh: setup ## live PubMed + ClinicalTrials.gov search into a new snapshot (network)
	$(BIN)/ketamine-evidence refresh

bench: setup ## speed benchmarks (scripts, not tests)
	$(BIN)/python benchmarks/bench_meta.py

# The review through workflow/profiles/slurm on a one-node SLURM on localhost (root; installs
# Debian's slurm-wlm and munge when missing); outputs must be byte-identical to a local run.
$(VENV)/.slurm-installed: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test,slurm]'
	touch $@

slurm-check: $(VENV)/.slurm-installed ## the review on a local one-node SLURM, compared with a local run
	bash .ci/slurm-check $(BIN)/python

# Derived files only: the committed snapshot, curated sheets and .venv stay.
clean: ## delete derived outputs (results/, data/processed/, logs/, .snakemake/)
	for d in results data/processed; do [ ! -d $$d ] || \
	  find $$d -mindepth 1 -maxdepth 1 ! -name README.md ! -name CODEBOOK.md -exec rm -rf {} +; done
	rm -rf logs .snakemake

# The test suite on the lowest supported versions (.ci/constraints-lowest.txt = the lower
# bounds of pyproject.toml), in its own environment.
test-lowest: ## the test suite on the lowest supported versions (.venv-lowest)
	$(PYTHON) -m venv .venv-lowest
	.venv-lowest/bin/python -m pip install --quiet -c .ci/constraints-lowest.txt -e '.[test]'
	MPLBACKEND=Agg .venv-lowest/bin/python -m pytest -q -p no:cacheprovider
