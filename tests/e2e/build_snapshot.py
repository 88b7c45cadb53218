"""Rebuild ``tests/e2e/snapshot`` (SYNTHETIC test data) with the package's own snapshot code.

    .venv/bin/python tests/e2e/build_snapshot.py

1. ``ketamine-evidence init-snapshot`` writes the manifest of an empty snapshot;
2. :func:`ketamine_evidence.sources.snapshot.commit_retrieval` adds the hand-made CT.gov v2
   study record ``sources/ctgov_study_NCT99990001.json`` as a dated folder, with its SHA-256,
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
STUDY = HERE / "sources" / "ctgov_study_NCT99990001.json"
WHEN = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
NOTE = ("SYNTHETIC test snapshot for the end-to-end workflow test: one hand-made "
        "ClinicalTrials.gov v2 study record (NCT99990001 is not a registered study). "
        "No database was searched. Never trial data.")


def build(snapshot: Path, study: Path, nct_id: str, *, note: str, project: str) -> Path:
    """A snapshot folder holding one hand-made CT.gov v2 ``study`` record, dated :data:`WHEN`,
    made exactly as a live refresh would make it; its manifest says ``note``."""
    if snapshot.exists():
        shutil.rmtree(snapshot)
    subprocess.run([sys.executable, "-m", "ketamine_evidence.cli", "init-snapshot",
                    "--snapshot-dir", str(snapshot)], check=True)
    raw = RawFile(name=f"ctgov/study_{nct_id}.json", content=study.read_bytes(),
                  source="ctgov", kind="study", params={"nct_id": nct_id})
    meta = {
        "pubmed": {"status": "not_run", "query": None, "retrieved_utc": None,
                   "counts": {"esearch_count": 0, "records": 0}},
        "ctgov": {"status": "complete", "retrieved_utc": "2020-01-01T00:00:00Z",
                  "query": {"endpoint": "synthetic (no request was made)"},
                  "counts": {"total_count": 1, "studies": 1}},
    }
    commit_retrieval(snapshot, [raw], meta, now=WHEN)
    manifest = read_manifest(snapshot)
    manifest["project"] = project
    manifest["database_search"]["note"] = note
    write_manifest(snapshot, manifest)
    print(f"wrote {snapshot}")
    return snapshot


def main() -> int:
    build(SNAPSHOT, STUDY, "NCT99990001", note=NOTE,
          project="ketamine-evidence (synthetic end-to-end test data)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
