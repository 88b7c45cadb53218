"""Fast checks of the workflow itself: ``snakemake --lint`` is clean, and the synthetic
end-to-end inputs in ``tests/e2e/`` are consistent (the slow run is test_workflow_e2e.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ketamine_evidence.config import load_config
from ketamine_evidence.sources.snapshot import load_snapshot

ROOT = Path(__file__).resolve().parents[1]
E2E = ROOT / "tests" / "e2e"


def test_snakemake_lint_reports_nothing():
    # Snakemake 9 prints "Lints for rule ..." / "Lints for snakefile ..." blocks and exits 1
    # when it finds anything; a clean workflow exits 0 with "Congratulations, ...".
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "--lint"],
        cwd=ROOT, env=dict(os.environ, MPLBACKEND="Agg"),
        capture_output=True, text=True, timeout=300, check=False,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "Lints for" not in out, out
    assert "Congratulations" in out, out


def test_e2e_config_is_valid_and_small():
    config = load_config(E2E / "config.yaml")
    assert 2 <= len(config["analysis"]["analyses"]) <= 3
    assert 2 <= len(config["claims"]) <= 3
    assert "SYNTHETIC" in config["review"]["title"]


def test_e2e_snapshot_verifies_and_is_marked_synthetic():
    snap = load_snapshot(E2E / "snapshot")  # checks every SHA-256 in the manifest
    studies = snap.of("ctgov", "study")
    assert len(studies) == 1
    assert studies[0].content == (E2E / "sources" / "ctgov_study_NCT99990001.json").read_bytes(), \
        "snapshot is stale: run tests/e2e/build_snapshot.py"
    assert "resultsSection" in json.loads(studies[0].content)
    assert "SYNTHETIC" in snap.manifest["database_search"]["note"]
    assert "synthetic test data, never trial data" in (E2E / "README.md").read_text().lower()
