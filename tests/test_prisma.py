"""PRISMA 2020 counts and the exactly-once check."""

from __future__ import annotations

import pandas as pd
import pytest

from ketamine_evidence.prisma import PrismaError, prisma_counts


def make(rows):
    records = pd.DataFrame([{"record_id": r[0], "source": r[1], "record_type": r[2]}
                            for r in rows])
    screening = pd.DataFrame([{"record_id": r[0], "study_id": r[3], "stage": r[4],
                               "decision": r[5], "reason_code": r[6], "decided_by": r[7]}
                              for r in rows])
    return records, screening


ROWS = [
    ("PMID:1", "pubmed", "publication", "a", "full_text", "include", "include", "rules"),
    ("PMID:2", "pubmed", "publication", "b", "title_abstract", "exclude", "review", "rules"),
    ("PMID:3", "pubmed", "publication", "c", "title_abstract", "exclude", "animal", "override:x"),
    ("PMID:4", "pubmed", "publication", "d", "full_text", "exclude", "not_retrieved", "override:x"),
    ("PMID:5", "pubmed", "publication", "e", "full_text", "exclude", "wrong_design", "rules"),
    ("NCT00000001", "ctgov", "registration", "a", "full_text", "include", "include", "rules"),
    ("NCT00000002", "ctgov", "registration", "f", "full_text", "exclude", "ongoing_no_results",
     "rules"),
    ("KR001", "other", "publication", "a", "identification", "exclude", "duplicate", "dedup"),
    ("KR002", "other", "preprint", "g", "full_text", "include", "include", "curator"),
    ("KR004", "other", "registration", "i", "full_text", "exclude", "awaiting_classification",
     "curator"),
    ("KR003", "other", "review", "h", "full_text", "exclude", "review", "curator"),
]


def test_counts():
    records, screening = make(ROWS)
    manifest = {"database_search": {"status": "not_run", "as_of": "2026-11-27"},
                "sources": {"pubmed": {"status": "not_run"}}}
    c = prisma_counts(records, screening, manifest)
    assert c["identification"] == {"databases": {"PubMed": 5, "ClinicalTrials.gov": 2},
                                   "other_methods": {"known_reports": 4}}
    db = c["databases_and_registers"]
    assert (db["identified"], db["duplicates_removed"], db["records_screened"],
            db["records_excluded"], db["records_excluded_by_automation"], db["reports_sought"],
            db["reports_not_retrieved"], db["reports_assessed"], db["reports_excluded"],
            db["reports_included"]) == (7, 0, 7, 2, 1, 5, 1, 4, 2, 2)
    assert db["records_excluded_reasons"] == {"animal": 1, "review": 1}
    assert db["reports_excluded_reasons"] == {"ongoing_no_results": 1, "wrong_design": 1}
    # studies not judged ineligible are counted apart as well
    assert (db["reports_ongoing"], db["reports_awaiting_classification"]) == (1, 0)
    other = c["other_methods"]
    assert (other["identified"], other["duplicates_removed"], other["reports_assessed"],
            other["reports_excluded"], other["reports_included"]) == (4, 1, 3, 2, 1)
    assert (other["reports_ongoing"], other["reports_awaiting_classification"]) == (0, 1)
    assert other["reports_excluded_reasons"] == {"awaiting_classification": 1, "review": 1}
    assert c["included"]["studies"] == 2 and c["included"]["study_ids"] == ["a", "g"]
    assert c["included"]["reports_by_type"] == {"preprint": 1, "publication": 1,
                                                 "registration": 1}
    assert c["database_search"]["status"] == "not_run"
    assert c["database_search"]["per_source"] == {"pubmed": "not_run", "ctgov": "unknown"}


def test_unscreened_record_is_an_error():
    records, screening = make(ROWS)
    with pytest.raises(PrismaError, match=r"records never screened: \['KR003'\]"):
        prisma_counts(records, screening.iloc[:-1])


def test_double_counted_record_is_an_error():
    records, screening = make(ROWS)
    screening = pd.concat([screening, screening.iloc[[0]]])
    with pytest.raises(PrismaError, match=r"several rows for \['PMID:1'\]"):
        prisma_counts(records, screening)


def test_unknown_screening_row_is_an_error():
    records, screening = make(ROWS)
    with pytest.raises(PrismaError, match="unknown records"):
        prisma_counts(records.iloc[1:], screening)


def test_unknown_stage_breaks_the_balance():
    rows = [*ROWS[:-1], ("KR003", "other", "review", "h", "limbo", "exclude", "review", "x")]
    records, screening = make(rows)
    with pytest.raises(PrismaError, match="other methods.*4 records identified but 3"):
        prisma_counts(records, screening)
