"""PRISMA 2020 counts and the exactly-once check."""

from __future__ import annotations

import itertools

import pandas as pd
import pytest

from ketamine_evidence.screening.prisma import PrismaError, prisma_counts


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
            db["reports_included"]) == (7, 0, 7, 2, 1, 5, 1, 4, 1, 2)
    assert db["records_excluded_reasons"] == {"animal": 1, "review": 1}
    # an ongoing study is not excluded (PRISMA 2020): counted apart, not as a reason
    assert db["reports_excluded_reasons"] == {"wrong_design": 1}
    assert (db["reports_ongoing"], db["reports_awaiting_classification"]) == (1, 0)
    other = c["other_methods"]
    assert (other["identified"], other["duplicates_removed"], other["reports_assessed"],
            other["reports_excluded"], other["reports_included"]) == (4, 1, 3, 1, 1)
    assert (other["reports_ongoing"], other["reports_awaiting_classification"]) == (0, 1)
    assert other["reports_excluded_reasons"] == {"review": 1}
    assert c["ongoing"] == {"studies": 1, "reports": 1, "study_ids": ["f"]}
    assert c["awaiting_classification"] == {"studies": 1, "reports": 1, "study_ids": ["i"]}
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


def assert_every_record_accounted_for(column: dict) -> None:
    """The PRISMA 2020 boxes of one column add up: each record leaves in exactly one box."""
    c = column
    assert c["identified"] == c["duplicates_removed"] + c["records_screened"]
    assert c["records_screened"] == c["records_excluded"] + c["reports_sought"]
    assert c["reports_sought"] == c["reports_not_retrieved"] + c["reports_assessed"]
    assert c["reports_assessed"] == (c["reports_excluded"] + c["reports_ongoing"]
                                     + c["reports_awaiting_classification"]
                                     + c["reports_included"])
    assert sum(c["records_excluded_reasons"].values()) == c["records_excluded"]
    assert sum(c["reports_excluded_reasons"].values()) == c["reports_excluded"]
    assert not {"ongoing_no_results", "awaiting_classification"} & set(
        c["reports_excluded_reasons"])


#: every way a record can leave the flow: (stage, decision, reason_code)
EXITS = [("identification", "exclude", "duplicate"), ("title_abstract", "exclude", "review"),
         ("full_text", "exclude", "not_retrieved"), ("full_text", "exclude", "wrong_design"),
         ("full_text", "exclude", "ongoing_no_results"),
         ("full_text", "exclude", "awaiting_classification"),
         ("full_text", "include", "include")]


@pytest.mark.parametrize("repeats", [(1, 0, 2, 1, 3, 0, 1), (0, 2, 0, 3, 0, 4, 2),
                                     (2, 1, 1, 1, 1, 1, 1)])
def test_every_record_is_in_exactly_one_box(repeats):
    """Each exit counted by hand: the boxes add up in both columns and the totals match."""
    rows, n = [], itertools.count()
    for source in ("pubmed", "other"):
        for (stage, decision, code), times in zip(EXITS, repeats, strict=True):
            for _ in range(times):
                i = next(n)
                rows.append((f"R{i}", source, "publication", f"s{i}", stage, decision, code,
                             "rules"))
    c = prisma_counts(*make(rows))
    dup, ta, nr, ex, ongoing, awaiting, inc = repeats
    for column in (c["databases_and_registers"], c["other_methods"]):
        assert_every_record_accounted_for(column)
        assert (column["identified"], column["duplicates_removed"], column["records_excluded"],
                column["reports_not_retrieved"], column["reports_excluded"],
                column["reports_ongoing"], column["reports_awaiting_classification"],
                column["reports_included"]) == (sum(repeats), dup, ta, nr, ex, ongoing,
                                                 awaiting, inc)
    assert c["ongoing"]["studies"] == 2 * ongoing
    assert c["awaiting_classification"]["studies"] == 2 * awaiting
    assert c["included"]["studies"] == 2 * inc
    assert c["check"]["records"] == len(rows)


def test_the_fixture_balances_and_a_study_with_an_included_report_is_included():
    c = prisma_counts(*make(ROWS))
    for column in (c["databases_and_registers"], c["other_methods"]):
        assert_every_record_accounted_for(column)
    # study 'a' is included; a still-recruiting registration of it is not an ongoing study
    rows = [*ROWS, ("NCT00000003", "ctgov", "registration", "a", "full_text", "exclude",
                    "ongoing_no_results", "rules")]
    c = prisma_counts(*make(rows))
    assert c["databases_and_registers"]["reports_ongoing"] == 2
    assert c["ongoing"]["study_ids"] == ["f"]
    # a study both ongoing and awaiting classification counts once, as ongoing
    rows = [*ROWS, ("KR005", "other", "registration", "f", "full_text", "exclude",
                    "awaiting_classification", "curator")]
    c = prisma_counts(*make(rows))
    assert c["awaiting_classification"]["study_ids"] == ["i"]
