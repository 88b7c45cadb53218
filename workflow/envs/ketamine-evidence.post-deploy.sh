#!/usr/bin/env bash
# Run by `snakemake --sdm conda` inside the new environment, from Snakemake's working directory
# (the repository root, which holds pyproject.toml): install the package itself.
set -euo pipefail
python -m pip install --no-deps --no-build-isolation .
