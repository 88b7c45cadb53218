"""Eligibility rules and reviewer overrides."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from ketamine_evidence import KetamineEvidenceWarning
from ketamine_evidence.config import load_settings
from ketamine_evidence.screening.eligibility import Rules, ScreeningError, screen
from ketamine_evidence.screening.io import read_overrides
from ketamine_evidence.screening.records import RECORD_COLUMNS

ROOT = Path(__file__).resolve().parents[1]
ELIGIBILITY = {
    "population_terms": ["ptsd", "posttraumatic", "post-traumatic"],
    "intervention_terms": ["ketamine", "esketamine"],
    "design_publication_types": ["Randomized Controlled Trial", "Clinical Trial"],
    "design_terms": ["randomized", "placebo", "midazolam"],
    "exclude_publication_types": {"review": ["Review"], "case_report": ["Case Reports"],
                                  "other": ["Letter"]},
    "animal_terms": ["rats", "mice"],
    "registry_allocation": ["RANDOMIZED", "NON_RANDOMIZED"],
}


def rec(record_id, source="pubmed", record_type="publication", **kw):
    row = dict.fromkeys(RECORD_COLUMNS)
    row.update(record_id=record_id, source=source, record_type=record_type, is_duplicate=False,
               cluster_id=record_id, cluster_size=1, study_id=f"s_{record_id}".lower())
    row.update(kw)
    return row


RECORDS = pd.DataFrame([
    rec("PMID:1", title="Ketamine for PTSD: randomized trial",
        publication_types="Journal Article;Randomized Controlled Trial", pmid="1"),
    rec("PMID:2", title="Ketamine in PTSD", publication_types="Review", pmid="2"),
    rec("PMID:3", title="Ketamine in a patient with PTSD", publication_types="Case Reports",
        pmid="3"),
    rec("PMID:4", title="Ketamine for depression", abstract="randomized", pmid="4"),
    rec("PMID:5", title="Lithium for PTSD", abstract="randomized", pmid="5"),
    rec("PMID:6", title="Ketamine reduces fear in rats, a PTSD model", pmid="6"),
    rec("PMID:7", title="Open-label ketamine in PTSD", publication_types="Journal Article",
        pmid="7"),
    rec("PMID:8", title="Ketamine for PTSD: study protocol",
        publication_types="Clinical Trial Protocol;Randomized Controlled Trial", pmid="8"),
    rec("NCT00000009", "ctgov", "registration", nct_id="NCT00000009", title="Ketamine PTSD",
        conditions="PTSD", study_type="INTERVENTIONAL", allocation="RANDOMIZED",
        has_results=False, overall_status="RECRUITING"),
    rec("NCT00000010", "ctgov", "registration", nct_id="NCT00000010", title="Ketamine PTSD",
        conditions="PTSD", study_type="INTERVENTIONAL", allocation="NA", has_results=True),
    rec("NCT00000011", "ctgov", "registration", nct_id="NCT00000011", title="Ketamine PTSD",
        conditions="PTSD", study_type="INTERVENTIONAL", allocation="RANDOMIZED",
        has_results=False, overall_status="COMPLETED", study_id="s_pmid:1"),
    rec("KR001", "other", "publication", title="x", curator_decision="exclude",
        curator_reason_code="wrong_design", curator_reason_text="single arm", doi="10.1/abc"),
    rec("KR002", "other", "publication", title="Ketamine for PTSD", pmid="1",
        is_duplicate=True, duplicate_of="PMID:1", cluster_id="PMID:1"),
])


def by_id(frame):
    return frame.set_index("record_id")


def test_rules_and_reason_codes():
    s = by_id(screen(RECORDS, None, ELIGIBILITY))
    expected = {
        "PMID:1": ("full_text", "include", "include"),
        "PMID:2": ("title_abstract", "exclude", "review"),
        "PMID:3": ("title_abstract", "exclude", "case_report"),
        "PMID:4": ("title_abstract", "exclude", "wrong_population"),
        "PMID:5": ("title_abstract", "exclude", "wrong_intervention"),
        "PMID:6": ("title_abstract", "exclude", "animal"),
        "PMID:7": ("full_text", "exclude", "wrong_design"),
        "PMID:8": ("full_text", "exclude", "protocol_no_results"),
        "NCT00000009": ("full_text", "exclude", "ongoing_no_results"),
        "NCT00000010": ("full_text", "exclude", "wrong_design"),
        "NCT00000011": ("full_text", "include", "include"),  # linked publication
        "KR001": ("full_text", "exclude", "wrong_design"),
        "KR002": ("identification", "exclude", "duplicate"),
    }
    got = {k: tuple(s.loc[k, ["stage", "decision", "reason_code"]]) for k in expected}
    assert got == expected
    assert s.loc["KR001", "decided_by"] == "curator"
    assert s.loc["PMID:2", "decided_by"] == "rules"
    assert not s["overridden"].any()
    assert s["reason_text"].notna().all()


def test_humans_mesh_keeps_animal_terms_from_excluding():
    rules = Rules(ELIGIBILITY)
    row = rec("PMID:1", title="Ketamine PTSD in mice and humans", mesh_terms="Humans;Mice")
    assert rules.title_abstract(row) is None


def test_overrides_applied_and_shown(tmp_path):
    path = tmp_path / "o.csv"
    path.write_text(
        "record_key,stage,decision,reason_code,reason_text,reviewer,date\n"
        "PMID:7,full_text,include,include,controlled (waitlist),AB,2026-11-27\n"
        "PMID:4,title_abstract,include,include,mixed sample incl. PTSD,AB,2026-11-27\n"
        "NCT00000011,title_abstract,exclude,prevention_question,prevention,CD,2026-11-27\n"
        "DOI:10.1/ABC,full_text,include,include,reassessed,CD,2026-11-28\n"
        "PMID:1,full_text,exclude,not_retrieved,cannot get full text,AB,2026-11-27\n"
        "KR999,full_text,exclude,other,unknown,AB,2026-11-27\n")
    with pytest.warns(KetamineEvidenceWarning, match="KR999"):
        s = by_id(screen(RECORDS, None, ELIGIBILITY, read_overrides(path)))
    assert tuple(s.loc["PMID:7", ["decision", "overridden", "rule_reason_code"]]) == (
        "include", True, "wrong_design")
    assert s.loc["PMID:7", "decided_by"] == "override:AB 2026-11-27"
    # included at title/abstract by a reviewer, then full-text rules apply
    assert tuple(s.loc["PMID:4", ["stage", "decision", "reason_code"]]) == (
        "full_text", "include", "include")
    assert tuple(s.loc["NCT00000011", ["stage", "reason_code"]]) == (
        "title_abstract", "prevention_question")
    assert s.loc["KR001", "decision"] == "include" and s.loc["KR001", "override_key"] == \
        "DOI:10.1/ABC"
    assert s.loc["PMID:1", "reason_code"] == "not_retrieved"
    assert s.loc["KR002", "reason_code"] == "duplicate"  # duplicates are not overridden


@pytest.mark.parametrize("line,match", [
    ("PMID:1,abstract,include,include,x,AB,2026-01-01", "stage"),
    ("PMID:1,full_text,maybe,include,x,AB,2026-01-01", "decision"),
    ("PMID:1,full_text,exclude,bad_code,x,AB,2026-01-01", "reason_code"),
    ("PMID:1,full_text,exclude,include,x,AB,2026-01-01", "does not match"),
])
def test_bad_override_rows_are_named(tmp_path, line, match):
    path = tmp_path / "o.csv"
    path.write_text("record_key,stage,decision,reason_code,reason_text,reviewer,date\n"
                    + line + "\n")
    with pytest.raises(ScreeningError, match=rf"row 1 \(line 2; PMID:1\).*{match}"):
        read_overrides(path)


def test_awaiting_classification_is_a_reason_apart_from_exclusion(tmp_path):
    path = tmp_path / "o.csv"
    path.write_text(
        "record_key,stage,decision,reason_code,reason_text,reviewer,date\n"
        "NCT00000011,full_text,exclude,awaiting_classification,completed; no results,AB,"
        "2026-11-30\n")
    s = by_id(screen(RECORDS, None, ELIGIBILITY, read_overrides(path)))
    assert tuple(s.loc["NCT00000011", ["stage", "decision", "reason_code"]]) == (
        "full_text", "exclude", "awaiting_classification")


def test_conflicting_override_rows(tmp_path):
    path = tmp_path / "o.csv"
    path.write_text("record_key,stage,decision,reason_code,reason_text,reviewer,date\n"
                    "PMID:1,full_text,include,include,x,AB,2026-01-01\n"
                    "PMID:1,full_text,exclude,other,y,CD,2026-01-02\n")
    with pytest.raises(ScreeningError, match="more than one override"):
        read_overrides(path)


def test_missing_overrides_file_means_no_overrides(tmp_path):
    assert read_overrides(tmp_path / "absent.csv").empty


def test_repository_config_and_curated_files_screen():
    if not (ROOT / "data" / "raw" / "known_reports.csv").exists():
        pytest.skip("known_reports.csv not written yet")
    from ketamine_evidence.screening.io import build_records

    eligibility = load_settings(ROOT / "config.yaml").eligibility
    records, studies = build_records(ROOT / "data" / "raw" / "snapshot", ROOT / "data" / "raw")
    out = screen(records, studies, eligibility,
                 read_overrides(ROOT / "data" / "raw" / "screening_overrides.csv"))
    assert len(out) == len(records)


def test_awaiting_curation_lists_rule_inclusions_and_uncurated_studies():
    from ketamine_evidence.screening.eligibility import awaiting_curation

    screening = pd.DataFrame({
        "record_id": ["pubmed:1", "pubmed:2", "KR001", "KR002", "pubmed:3"],
        "study_id": ["new2026", "feder2021", "feder2021", "feder2014", "old2010"],
        "source": ["pubmed", "pubmed", "other", "other", "pubmed"],
        "record_type": ["publication"] * 5,
        "stage": ["full_text", "full_text", "full_text", "full_text", "title_abstract"],
        "decision": ["include", "include", "include", "exclude", "exclude"],
        "decided_by": ["rules", "override:R 2026-11-27", "curator", "curator", "rules"],
    })
    out = awaiting_curation(screening, ["feder2021", "feder2014"])
    assert list(out["record_id"]) == ["pubmed:1"]
    assert "automatic rules only" in out.loc[0, "why"]
    assert "not extracted yet" in out.loc[0, "why"]
    assert awaiting_curation(screening.iloc[0:0], []).empty


@pytest.mark.parametrize(("status", "code", "words"), [
    ("RECRUITING", "ongoing_no_results", "status RECRUITING"),
    ("ACTIVE_NOT_RECRUITING", "ongoing_no_results", "status ACTIVE_NOT_RECRUITING"),
    # finished, but nothing to read yet: a study awaiting classification, not an exclusion
    ("COMPLETED", "awaiting_classification", "status COMPLETED; no posted results or linked "
                                             "publication yet"),
    ("TERMINATED", "awaiting_classification", "status TERMINATED"),
    ("SUSPENDED", "awaiting_classification", "status SUSPENDED"),
    ("UNKNOWN", "awaiting_classification", "status UNKNOWN"),
    (None, "awaiting_classification", "status not recorded"),
    # withdrawn = stopped before the first participant: no results will ever come
    ("WITHDRAWN", "other", "withdrawn before enrolling anyone"),
])
def test_registration_without_results_is_classified_by_status(status, code, words):
    registration = rec("NCT00000012", "ctgov", "registration", nct_id="NCT00000012",
                       title="Ketamine PTSD", conditions="PTSD", study_type="INTERVENTIONAL",
                       allocation="RANDOMIZED", has_results=False, overall_status=status)
    row = by_id(screen(pd.DataFrame([registration]), None, ELIGIBILITY)).loc["NCT00000012"]
    assert (row["stage"], row["decision"], row["reason_code"]) == ("full_text", "exclude", code)
    assert words in row["reason_text"]
