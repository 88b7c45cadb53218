"""Rebuild ``examples/psilocybin-depression/snapshot`` (SYNTHETIC example data) with the
package's own snapshot code.

    .venv/bin/python examples/psilocybin-depression/build_snapshot.py

1. ``ketamine-evidence init-snapshot`` writes the manifest of an empty snapshot;
2. :func:`ketamine_evidence.sources.snapshot.commit_retrieval` adds the hand-made CT.gov v2
   study record ``sources/ctgov_study_NCT99990101.json`` as a dated folder, with its SHA-256,
   exactly as a live refresh would;
3. the manifest's notes are rewritten (:func:`write_manifest`) to say the data are synthetic.

The folder date is fixed so a rebuild gives the same paths and hashes.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
from pathlib import Path

from ketamine_evidence.sources.pubmed import RawFile
from ketamine_evidence.sources.snapshot import commit_retrieval, read_manifest, write_manifest

HERE = Path(__file__).resolve().parent
SNAPSHOT = HERE / "snapshot"
STUDY = HERE / "sources" / "ctgov_study_NCT99990101.json"
WHEN = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
NOTE = ("SYNTHETIC example snapshot for the example review of another question (psilocybin "
        "for depression): one hand-made ClinicalTrials.gov v2 study record (NCT99990101 is not "
        "a registered study). No database was searched. Never trial data.")


def main() -> int:
    if SNAPSHOT.exists():
        shutil.rmtree(SNAPSHOT)
    subprocess.run([sys.executable, "-m", "ketamine_evidence.cli", "init-snapshot",
                    "--snapshot-dir", str(SNAPSHOT)], check=True)
    raw = RawFile(name="ctgov/study_NCT99990101.json", content=STUDY.read_bytes(),
                  source="ctgov", kind="study", params={"nct_id": "NCT99990101"})
    meta = {
        "pubmed": {"status": "not_run", "query": None, "retrieved_utc": None,
                   "counts": {"esearch_count": 0, "records": 0}},
        "ctgov": {"status": "complete", "retrieved_utc": "2020-01-01T00:00:00Z",
                  "query": {"endpoint": "synthetic (no request was made)"},
                  "counts": {"total_count": 1, "studies": 1}},
    }
    commit_retrieval(SNAPSHOT, [raw], meta, now=WHEN)
    manifest = read_manifest(SNAPSHOT)
    manifest["project"] = "synthetic example review: psilocybin for depression"
    manifest["database_search"]["note"] = NOTE
    write_manifest(SNAPSHOT, manifest)
    print(f"wrote {SNAPSHOT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
