"""The living review end to end through the real command line, against a local replay server.

``tests/replay_server.py`` imitates E-utilities and the ClinicalTrials.gov v2 API on
127.0.0.1 with real recorded answers (``../shared/fixtures/real``; the test skips when that
folder is absent) plus one SYNTHETIC registration (``NCT99990002``, derived from the
synthetic ``tests/e2e`` record, not a registered study). Two versions of the review are
built in temporary folders, exactly as a maintainer (or the scheduled CI job) would:

1. previous version: ``refresh`` (3 PubMed records, 4 registrations; NCT99990002 recruiting,
   no results), then the Snakemake workflow;
2. current version: ``refresh`` again (3 more PubMed records, 2 more registrations;
   NCT99990002 completed with results posted), the workflow, then ``diff`` against the previous
   version, ``awaiting --fail-if-any`` (fails), a reviewer's confirmation, and ``awaiting``
   again (passes).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from replay_server import NEW_NCT, ReplayData, ReplayServer, real_fixtures, review_data

ROOT = Path(__file__).resolve().parents[1]
E2E = ROOT / "tests" / "e2e"
REAL = real_fixtures(ROOT)
TIMEOUT = 300

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(REAL is None, reason="real fixtures (../shared/fixtures/real) "
                                                      "not available")]


def _data(pmids: list[str], ncts: list[str], completed: bool) -> ReplayData:
    return review_data(REAL, pmids, ncts, completed)


def _run(args: list[str], cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = dict(os.environ, MPLBACKEND="Agg", **(env or {}))
    return subprocess.run(args, cwd=cwd, env=full_env, capture_output=True, text=True,
                          timeout=TIMEOUT, check=False)


def _ke(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return _run([sys.executable, "-m", "ketamine_evidence.cli", *args], cwd, env)


def _ok(proc: subprocess.CompletedProcess, workdir: Path | None = None) -> str:
    logs = "" if workdir is None else "\n".join(
        f"--- {p.name}\n{p.read_text(errors='replace')[-2000:]}"
        for p in sorted((workdir / "logs").glob("*.log")))
    assert proc.returncode == 0, (f"exit {proc.returncode}\n{proc.stdout[-3000:]}\n"
                                  f"{proc.stderr[-4000:]}\n{logs}")
    return proc.stdout


def _confirm(workdir: Path, record: str) -> None:
    """A reviewer's full-text decision for ``record`` (``screening_overrides.csv``)."""
    with open(workdir / "curated" / "screening_overrides.csv", "a", encoding="utf-8") as handle:
        handle.write(f"{record},full_text,include,include,reviewer read the registration,"
                     "test reviewer,2026-11-30\n")


def _stage(dest: Path) -> Path:
    dest.mkdir()
    shutil.copy2(ROOT / "Snakefile", dest / "Snakefile")
    shutil.copytree(ROOT / "workflow", dest / "workflow")
    for name in ("curated", "snapshot"):
        shutil.copytree(E2E / name, dest / name)
    _confirm(dest, "NCT99990001")  # the previous version's registration was confirmed
    config = yaml.safe_load((E2E / "config.yaml").read_text(encoding="utf-8"))
    config["search"]["pubmed"]["batch_size"] = 2      # EFetch in several batches
    config["search"]["ctgov"]["page_size"] = 2        # /studies in several pages
    (dest / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return dest


def _refresh(workdir: Path, server: ReplayServer) -> str:
    env = {"KETAMINE_EVIDENCE_EUTILS_URL": server.eutils_url,
           "KETAMINE_EVIDENCE_CTGOV_URL": server.ctgov_url,
           "KETAMINE_EVIDENCE_TIMEOUT": "20", "KETAMINE_EVIDENCE_RETRIES": "1",
           "KETAMINE_EVIDENCE_RATE_LIMIT": "200", "NCBI_EMAIL": "ci@example.org"}
    return _ok(_ke("refresh", "--config", "config.yaml", cwd=workdir, env=env))


def _workflow(workdir: Path, *targets: str) -> None:
    _ok(_run([sys.executable, "-m", "snakemake", "--cores", "2", *targets], workdir), workdir)


@pytest.fixture(scope="module")
def versions(tmp_path_factory):
    base = tmp_path_factory.mktemp("living")
    old = _stage(base / "previous")
    first = _data(["12091962", "9997", "11748933"], ["NCT03418623", "NCT02576665"],
                  completed=False)
    with ReplayServer(first, lifetime=TIMEOUT) as server:
        _refresh(old, server)
        first_requests = list(server.requests)
    _workflow(old)
    new = base / "current"
    shutil.copytree(old, new, symlinks=True)
    second = _data(["12091962", "9997", "11748933", "11700088", "22663011", "29768149"],
                   ["NCT03418623", "NCT02576665", "NCT02210780", "NCT06382129"],
                   completed=True)
    with ReplayServer(second, lifetime=TIMEOUT) as server:
        _refresh(new, server)
        second_requests = list(server.requests)
    _workflow(new)
    return old, new, first_requests, second_requests


def test_refresh_went_through_the_replay_server(versions):
    old, new, first, second = versions
    paths = [r["path"] for r in second]
    assert paths.count("/eutils/esearch.fcgi") == 1
    assert paths.count("/eutils/efetch.fcgi") == 3                    # 6 PMIDs in batches of 2
    assert paths.count("/ctgov/api/v2/studies") == 3                  # 6 studies, pages of 2
    assert sum(p.startswith("/ctgov/api/v2/studies/NCT") for p in paths) == 6
    esearch = next(r for r in second if r["path"].endswith("esearch.fcgi"))
    assert esearch["params"]["usehistory"] == "y" and esearch["params"]["tool"]
    assert all(r["user_agent"].startswith("ketamine-evidence/") for r in first + second)
    manifest = json.loads((new / "snapshot" / "manifest.json").read_text())
    assert manifest["sources"]["pubmed"]["counts"]["records"] == 6
    assert manifest["sources"]["ctgov"]["counts"]["studies"] == 6
    assert "ci@example.org" not in (new / "snapshot" / "manifest.json").read_text()


def test_new_records_reach_records_screening_and_prisma(versions):
    _, new, _, _ = versions
    records = pd.read_csv(new / "data" / "processed" / "records.csv", dtype=str)
    for rid in ("PMID:11700088", "PMID:22663011", "PMID:29768149", "NCT02210780",
                "NCT06382129", NEW_NCT):
        assert rid in set(records["record_id"]), rid
    screening = pd.read_csv(new / "data" / "processed" / "screening.csv", dtype=str)
    assert set(records["record_id"]) == set(screening["record_id"])
    prisma = json.loads((new / "data" / "processed" / "prisma.json").read_text())
    assert sum(prisma["identification"]["databases"].values()) == int(
        (records["source"] != "other").sum())
    assert prisma["database_search"]["status"] == "complete"
    new_row = screening.set_index("record_id").loc[NEW_NCT]
    assert (new_row["stage"], new_row["decision"], new_row["decided_by"]) == (
        "full_text", "include", "rules")


def test_posted_results_become_registry_rows_awaiting_confirmation(versions):
    _, new, _, _ = versions
    processed = new / "data" / "processed"
    pending = pd.read_csv(processed / "registry_pending_rows.csv", dtype={"nct_id": str})
    assert NEW_NCT in set(pending["nct_id"]) and pending["n"].notna().any()
    effects = pd.read_csv(processed / "registry_effects.csv")
    mine = effects[effects["nct_id"] == NEW_NCT]
    assert len(mine) > 0 and set(mine["source"]) == {"registry"}
    assert not mine["confirmed"].any()
    assert set(mine["status"]) == {"awaiting_reviewer_confirmation"}
    assert mine["yi"].notna().all() and (mine["vi"] > 0).all()
    # never pooled: the analyses read the curated effects only
    assert NEW_NCT not in (new / "results" / "study_effects.csv").read_text()


def test_diff_says_what_changed(versions):
    old, new, _, _ = versions
    proc = _ke("diff", "--old", str(old), "--new", str(new),
               "--old-snapshot", str(old / "snapshot"), "--new-snapshot", str(new / "snapshot"),
               "--json", "changes.json", "-o", "changes.md", cwd=new)
    assert proc.returncode == 1, proc.stderr
    changes = json.loads((new / "changes.json").read_text())
    rec = changes["records"]
    assert [r["id"] for r in rec["pmids_added"]] == ["11700088", "22663011", "29768149"]
    assert [r["id"] for r in rec["nct_ids_added"]] == ["NCT02210780", "NCT06382129"]
    assert rec["pmids_removed"] == [] and rec["nct_ids_removed"] == []
    assert {"nct_id": NEW_NCT, "old": "RECRUITING", "new": "COMPLETED"} in rec["status_changes"]
    assert NEW_NCT in [r["nct_id"] for r in rec["results_posted"]]
    counts = {c["count"] for c in changes["prisma"]["counts"]}
    assert any(c.startswith("identification.databases.") for c in counts)
    markdown = (new / "changes.md").read_text()
    assert f"{NEW_NCT}](https://clinicaltrials.gov/study/{NEW_NCT}): RECRUITING → COMPLETED" \
        in markdown
    same = _ke("diff", "--old", str(new), "--new", str(new), "--old-snapshot",
               str(new / "snapshot"), "--new-snapshot", str(new / "snapshot"), cwd=new)
    assert same.returncode == 0 and "Nothing changed" in same.stdout


def test_awaiting_fails_until_a_reviewer_confirms(versions, tmp_path):
    old, new, _, _ = versions
    work = tmp_path / "confirmed"
    shutil.copytree(new, work, symlinks=True)
    args = ("awaiting", "--screening", "data/processed/screening.csv",
            "--characteristics", "curated/study_characteristics.csv", "--fail-if-any")
    assert _ke(*args, cwd=old).returncode == 0     # nothing awaited before the refresh
    proc = _ke(*args, cwd=work)
    assert proc.returncode == 3 and NEW_NCT in proc.stdout and "NCT99990001" not in proc.stdout
    # the reviewer reads the registration, names the study and extracts it (as for alpha2020)
    known = pd.read_csv(work / "curated" / "known_reports.csv", dtype=str)
    kr = known[known["report_id"] == "KR002"].copy()
    kr[["report_id", "nct_id", "study_id", "title"]] = [
        "KR900", NEW_NCT, "delta2026", "SYNTHETIC registration of the fake delta trial"]
    pd.concat([known, kr]).to_csv(work / "curated" / "known_reports.csv", index=False)
    chars = pd.read_csv(work / "curated" / "study_characteristics.csv", dtype=str)
    row = chars[chars["study_id"] == "alpha2020"].copy()
    row[["study_id", "label", "nct_ids"]] = ["delta2026", "Delta 2026", NEW_NCT]
    pd.concat([chars, row]).to_csv(work / "curated" / "study_characteristics.csv", index=False)
    _confirm(work, NEW_NCT)
    _workflow(work, "data/processed/screening.csv", "data/processed/registry_effects.csv")
    proc = _ke(*args, cwd=work)
    assert proc.returncode == 0, proc.stdout
    effects = pd.read_csv(work / "data" / "processed" / "registry_effects.csv")
    assert effects.loc[effects["nct_id"] == NEW_NCT, "confirmed"].all()
