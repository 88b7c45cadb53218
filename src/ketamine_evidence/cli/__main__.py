"""``python -m ketamine_evidence.cli``: the command line as the Snakemake rules run it."""

import sys

from ketamine_evidence.cli import main

sys.exit(main())
