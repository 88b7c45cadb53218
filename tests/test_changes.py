"""``ketamine_evidence.living.changes`` (pure comparison) and the ``diff`` subcommand."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd

from ketamine_evidence import cli
from ketamine_evidence.cli.changes import EXIT_CHANGED, EXIT_SAME
from ketamine_evidence.living.changes import (
    Version,
    compare,
    compare_claims,
    same_value,
    to_markdown,
)

ROOT = Path(__file__).resolve().parents[1]
E2E_SNAPSHOT = ROOT / "tests" / "e2e" / "snapshot"

OLD_RECORDS = [
    {"pmid": "111", "title": "Old trial"},
    {"pmid": "222", "title": "Withdrawn record"},
    {"nct_id": "NCT00000001", "title": "Trial A", "overall_status": "RECRUITING",
     "has_results": False},
    {"nct_id": "NCT00000002", "title": "Trial B", "overall_status": "COMPLETED",
     "has_results": None},
]
NEW_RECORDS = [
    {"pmid": "111", "title": "Old trial"},
    {"pmid": "333", "title": "New trial"},
    {"nct_id": "NCT00000001", "title": "Trial A", "overall_status": "COMPLETED",
     "has_results": False},
    {"nct_id": "NCT00000002", "title": "Trial B", "overall_status": "COMPLETED",
     "has_results": True},
    {"nct_id": "NCT00000003", "title": "Trial C", "overall_status": "COMPLETED",
     "has_results": "True"},
]
PRISMA = {"identification": {"databases": {"PubMed": 2, "ClinicalTrials.gov": 2}},
          "databases_and_registers": {"identified": 4, "included": 1},
          "included": {"studies": 1, "study_ids": ["a2020"]},
          "check": {"records": 4}, "database_search": {"status": "complete"}}


def _claims(**changes):
    row = {"claim_id": "C1", "verdict": "inconclusive", "certainty": "very_low", "k": 1,
           "n_participants": 30, "estimate": -0.5, "ci_low": -1.2, "ci_high": 0.2,
           "text": "a claim"}
    row.update(changes)
    return [row, {"claim_id": "C2", "verdict": "no_evidence", "k": 0, "estimate": None}]


def test_identical_versions_have_no_change():
    v = Version("v1", OLD_RECORDS, PRISMA, _claims())
    result = compare(v, Version("v2", list(OLD_RECORDS), json.loads(json.dumps(PRISMA)),
                                _claims(estimate="-0.5", k="1", n_participants=30.0)))
    assert result["changed"] is False
    assert "Nothing changed" in to_markdown(result)


def test_records_registry_prisma_and_claims_changes():
    new_prisma = json.loads(json.dumps(PRISMA))
    new_prisma["identification"]["databases"]["PubMed"] = 3
    new_prisma["databases_and_registers"]["included"] = 2
    new_prisma["included"] = {"studies": 2, "study_ids": ["a2020", "NCT00000003"]}
    new_prisma["check"]["records"] = 5  # bookkeeping, not a PRISMA box
    result = compare(
        Version("old", OLD_RECORDS, PRISMA, _claims()),
        Version("new", NEW_RECORDS, new_prisma,
                _claims(k=2, n_participants=71, estimate=-0.41, ci_low=-0.9, ci_high=0.08,
                        verdict="inconclusive", certainty="low", text="reworded")))
    assert result["changed"] is True
    rec = result["records"]
    assert [r["id"] for r in rec["pmids_added"]] == ["333"]
    assert [r["id"] for r in rec["pmids_removed"]] == ["222"]
    assert [r["id"] for r in rec["nct_ids_added"]] == ["NCT00000003"]
    assert rec["nct_ids_removed"] == []
    assert rec["status_changes"] == [
        {"nct_id": "NCT00000001", "old": "RECRUITING", "new": "COMPLETED"}]
    assert [(r["nct_id"], r["new_registration"]) for r in rec["results_posted"]] == [
        ("NCT00000002", False), ("NCT00000003", True)]
    counts = {c["count"]: (c["old"], c["new"]) for c in result["prisma"]["counts"]}
    assert counts == {"identification.databases.PubMed": (2, 3),
                      "databases_and_registers.included": (1, 2), "included.studies": (1, 2)}
    assert result["prisma"]["included_studies_added"] == ["NCT00000003"]
    fields = {c["field"]: (c["old"], c["new"]) for c in result["claims"]["changed"][0]["changes"]}
    assert fields == {"certainty": ("very_low", "low"), "k": (1, 2), "n_participants": (30, 71),
                      "estimate": (-0.5, -0.41), "ci_low": (-1.2, -0.9), "ci_high": (0.2, 0.08)}
    md = to_markdown(result)
    assert "### New PubMed records" in md and "https://pubmed.ncbi.nlm.nih.gov/333/" in md
    assert "NCT00000001](https://clinicaltrials.gov/study/NCT00000001): RECRUITING → COMPLETED" in md
    assert "| C1 | k | 1 | 2 |" in md
    assert "| databases_and_registers.included | 1 | 2 |" in md
    json.dumps(result)  # JSON-ready


def test_claims_added_removed_and_blank_values():
    result = compare_claims(_claims(), [_claims()[0], {"claim_id": "C3", "verdict": "x"}])
    assert result["added"] == ["C3"] and result["removed"] == ["C2"]
    assert same_value(None, float("nan")) and same_value("", None)
    assert not same_value(None, 0) and not same_value("0.1", "0.1000001")
    assert same_value("0.1", 0.1 + 1e-17)


def test_no_previous_version_says_so():
    result = compare(None, Version("new", NEW_RECORDS, PRISMA, _claims()))
    assert result["previous"] is None and result["changed"] is None
    text = to_markdown(result)
    assert "no previous version" in text.lower()
    assert "review.previous_version" in text and "--old" in text  # and how to give one


# -- the subcommand ------------------------------------------------------------------------
def _review_folder(root: Path, claims: list[dict], prisma: dict) -> Path:
    shutil.copytree(E2E_SNAPSHOT, root / "data" / "raw" / "snapshot")
    (root / "results").mkdir(parents=True)
    pd.DataFrame(claims).to_csv(root / "results" / "claims.csv", index=False)
    (root / "data" / "processed").mkdir(parents=True)
    (root / "data" / "processed" / "prisma.json").write_text(json.dumps(prisma))
    return root


def test_diff_cli_exit_codes_and_outputs(tmp_path, capsys):
    old = _review_folder(tmp_path / "old", _claims(), PRISMA)
    same = _review_folder(tmp_path / "same", _claims(), PRISMA)
    assert cli.main(["diff", "--old", str(old), "--new", str(same)]) == EXIT_SAME
    assert "Nothing changed" in capsys.readouterr().out
    new = _review_folder(tmp_path / "new", _claims(verdict="supported"), PRISMA)
    md, js = tmp_path / "out" / "changes.md", tmp_path / "out" / "changes.json"
    assert cli.main(["diff", "--old", str(old), "--new", str(new), "-o", str(md),
                     "--json", str(js)]) == EXIT_CHANGED
    assert "| C1 | verdict | inconclusive | supported |" in md.read_text()
    data = json.loads(js.read_text())
    assert data["changed"] is True and data["current"]["snapshot"] == "2020-01-01T000000Z"
    assert data["current"]["evidence_date"]
    assert cli.main(["diff", "--new", str(new)]) == EXIT_SAME
    assert "no previous version" in capsys.readouterr().out.lower()


def test_diff_cli_missing_results_is_a_clear_error(tmp_path, capsys):
    old = _review_folder(tmp_path / "old", _claims(), PRISMA)
    (old / "results" / "claims.csv").unlink()
    assert cli.main(["diff", "--old", str(old), "--new", str(old)]) == 2
    err = capsys.readouterr().err
    assert "claims.csv" in err and "Traceback" not in err


def test_diff_cli_reports_new_registration_with_results(tmp_path):
    """The snapshot side: an NCT present only in the new snapshot, with results posted."""
    old = _review_folder(tmp_path / "old", _claims(), PRISMA)
    new = _review_folder(tmp_path / "new", _claims(), PRISMA)
    manifest = json.loads((old / "data/raw/snapshot/manifest.json").read_text())
    manifest.update(current=None, files=[])
    (old / "data/raw/snapshot/manifest.json").write_text(json.dumps(manifest))
    js = tmp_path / "c.json"
    code = cli.main(["diff", "--old", str(old), "--new", str(new), "--json", str(js),
                     "-o", str(tmp_path / "c.md")])
    assert code == EXIT_CHANGED
    rec = json.loads(js.read_text())["records"]
    assert [r["id"] for r in rec["nct_ids_added"]] == ["NCT99990001"]
    assert [r["nct_id"] for r in rec["results_posted"]] == ["NCT99990001"]

