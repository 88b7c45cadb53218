"""Rebuild ``examples/psilocybin-depression/snapshot`` (SYNTHETIC example data) with the
package's own snapshot code, as ``tests/e2e/build_snapshot.py`` builds the test snapshot:

    .venv/bin/python examples/psilocybin-depression/build_snapshot.py

One hand-made ClinicalTrials.gov v2 study record (``sources/``; NCT99990101 is not a registered
study) is committed as a dated folder with its SHA-256, exactly as a live refresh would, and the
manifest says that the data are synthetic. The folder date is fixed so a rebuild gives the same
paths and hashes.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "tests" / "e2e"))

from build_snapshot import build  # noqa: E402  (the end-to-end test data's builder)

NOTE = ("SYNTHETIC example snapshot for the example review of another question (psilocybin "
        "for depression): one hand-made ClinicalTrials.gov v2 study record (NCT99990101 is not "
        "a registered study). No database was searched. Never trial data.")

if __name__ == "__main__":
    build(HERE / "snapshot", HERE / "sources" / "ctgov_study_NCT99990101.json", "NCT99990101",
          note=NOTE, project="synthetic example review: psilocybin for depression")
    sys.exit(0)
