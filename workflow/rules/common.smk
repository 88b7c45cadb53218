# Helpers shared by the rules. Rules only wire files to `ketamine-evidence` subcommands;
# all science lives in the package.
import sys
from pathlib import Path

# The interpreter running Snakemake also has the package installed (see README / Makefile).
KE = f'"{sys.executable}" -m ketamine_evidence.cli'
CONFIG_FILE = workflow.configfiles[0] if workflow.configfiles else "config.yaml"
SNAPSHOT = config["review"]["snapshot_dir"]
CURATED = config["review"]["curated_dir"]


def snapshot_files(wildcards=None):
    """Every file of the committed raw snapshot, so a refresh re-triggers the pipeline."""
    return sorted(str(p) for p in Path(SNAPSHOT).rglob("*") if p.is_file())
