#!/usr/bin/env bash
# Run by `snakemake --sdm conda` inside the new environment, from Snakemake's working
# directory: install the package itself, editable, so that the environment imports the
# checkout's src/ (a source change needs no rebuild; the rules' `code` parameter re-runs the
# steps it affects). Dependencies come from the environment file, hence --no-deps.
set -euo pipefail
if [ ! -f pyproject.toml ] || ! grep -q '^name = "ketamine-evidence"' pyproject.toml; then
  echo "ketamine-evidence post-deploy: run Snakemake from the repository checkout (the folder" \
       "holding pyproject.toml) when using --sdm conda; current folder: $PWD" >&2
  exit 1
fi
python -m pip install --no-deps --no-build-isolation --editable .
