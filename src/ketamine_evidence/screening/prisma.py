"""PRISMA 2020 flow-diagram counts computed from ``records.csv`` and ``screening.csv``.

Two columns as in the PRISMA 2020 template for new reviews with databases, registers and
other methods: "databases and registers" (PubMed, ClinicalTrials.gov) and "other methods"
(the reviewers' ``known_reports.csv``). Each record leaves the flow in exactly one box:
duplicate removed, excluded at title/abstract, not retrieved, excluded at full text, report of
an ongoing study, report of a study awaiting classification, or included. Ongoing studies and
studies awaiting classification are not excluded (PRISMA 2020 explanation and elaboration,
item 16a; Cochrane Handbook 4.6): they have their own boxes, not a reason for exclusion.
:func:`prisma_counts` checks that the boxes add up, and that every record has one screening
row::

    identified       = duplicates_removed + records_screened
    records_screened = records_excluded + reports_sought
    reports_sought   = reports_not_retrieved + reports_assessed
    reports_assessed = reports_excluded + reports_ongoing + reports_awaiting_classification
                       + reports_included
"""

from __future__ import annotations

from collections import Counter

import pandas as pd

from ketamine_evidence import KetamineEvidenceError
from ketamine_evidence.schemas.records import NOT_YET_CLASSIFIED

DATABASE_SOURCES = {"pubmed": "PubMed", "ctgov": "ClinicalTrials.gov"}


class PrismaError(KetamineEvidenceError, ValueError):
    """The tables do not account for every record exactly once."""


def _reasons(frame: pd.DataFrame) -> dict[str, int]:
    return dict(sorted(Counter(frame["reason_code"]).items()))


def _column(screen: pd.DataFrame) -> dict:
    dup = screen[screen["stage"] == "identification"]
    ta_ex = screen[(screen["stage"] == "title_abstract") & (screen["decision"] == "exclude")]
    ft = screen[screen["stage"] == "full_text"]
    not_retrieved = ft[ft["reason_code"] == "not_retrieved"]
    # reports of studies still ongoing or awaiting classification: not judged ineligible,
    # so not excluded (PRISMA 2020 / Cochrane report them apart)
    apart = {label: ft[(ft["decision"] == "exclude") & (ft["reason_code"] == code)]
             for code, label in NOT_YET_CLASSIFIED.items()}
    ft_ex = ft[(ft["decision"] == "exclude")
               & ~ft["reason_code"].isin(["not_retrieved", *NOT_YET_CLASSIFIED])]
    included = ft[ft["decision"] == "include"]
    screened = len(screen) - len(dup)
    sought = screened - len(ta_ex)
    return {
        "identified": len(screen),
        "duplicates_removed": len(dup),
        "records_screened": screened,
        "records_excluded": len(ta_ex),
        "records_excluded_by_automation": int((ta_ex["decided_by"] == "rules").sum()),
        "records_excluded_reasons": _reasons(ta_ex),
        "reports_sought": sought,
        "reports_not_retrieved": len(not_retrieved),
        "reports_assessed": sought - len(not_retrieved),
        "reports_excluded": len(ft_ex),
        "reports_excluded_reasons": _reasons(ft_ex),
        **{f"reports_{label}": len(rows) for label, rows in apart.items()},
        "reports_included": len(included),
        "_terminal": (len(dup) + len(ta_ex) + len(not_retrieved) + len(ft_ex)
                      + sum(len(rows) for rows in apart.values()) + len(included)),
    }


def _studies(rows: pd.DataFrame, leave_out: set[str] = frozenset()) -> dict:
    """``{"studies", "reports", "study_ids"}`` of screening rows (studies in ``leave_out``
    are not counted: a study with an included report is included, whatever its others say)."""
    ids = sorted(set(rows["study_id"].astype(str)) - set(leave_out))
    return {"studies": len(ids), "reports": len(rows), "study_ids": ids}


def prisma_counts(records: pd.DataFrame, screening: pd.DataFrame,
                  manifest: dict | None = None) -> dict:
    """PRISMA 2020 counts as a JSON-ready dict.

    Parameters
    ----------
    records, screening : DataFrame
        ``records.csv`` and ``screening.csv``.
    manifest : dict, optional
        Snapshot manifest; its ``database_search`` status/date is copied so the report can say
        whether (and when) the databases were searched.

    Raises
    ------
    PrismaError
        A record without a screening row (or with several), a screening row without a record,
        or a column whose boxes do not add up to the records identified.
    """
    rec_ids = pd.Series(records["record_id"])
    scr_ids = pd.Series(screening["record_id"])
    problems = []
    if rec_ids.duplicated().any():
        problems.append(f"records.csv repeats record_id {sorted(set(rec_ids[rec_ids.duplicated()]))}")
    if scr_ids.duplicated().any():
        problems.append("screening.csv has several rows for "
                        f"{sorted(set(scr_ids[scr_ids.duplicated()]))}")
    missing = sorted(set(rec_ids) - set(scr_ids))
    extra = sorted(set(scr_ids) - set(rec_ids))
    if missing:
        problems.append(f"records never screened: {missing[:20]}")
    if extra:
        problems.append(f"screening rows for unknown records: {extra[:20]}")
    if problems:
        raise PrismaError("PRISMA counts would not count every record exactly once: "
                          + "; ".join(problems))
    screen = screening.merge(records[["record_id", "source"]], on="record_id",
                             suffixes=("_screening", ""))
    db = _column(screen[screen["source"].isin(list(DATABASE_SOURCES))])
    other = _column(screen[screen["source"] == "other"])
    for name, col in (("databases and registers", db), ("other methods", other)):
        terminal = col.pop("_terminal")
        if terminal != col["identified"]:
            raise PrismaError(f"PRISMA column '{name}': {col['identified']} records identified "
                              f"but {terminal} accounted for (stage/decision values unknown?)")
    full_text = screen[screen["stage"] == "full_text"]
    included = full_text[full_text["decision"] == "include"]
    included_ids = set(included["study_id"].astype(str))
    ongoing = _studies(full_text[full_text["reason_code"] == "ongoing_no_results"],
                       included_ids)
    awaiting = _studies(full_text[full_text["reason_code"] == "awaiting_classification"],
                        included_ids | set(ongoing["study_ids"]))
    included_types = dict(sorted(Counter(
        records.set_index("record_id").loc[included["record_id"], "record_type"]).items()))
    by_source = Counter(records["source"])
    search = (manifest or {}).get("database_search", {})
    sources_meta = (manifest or {}).get("sources", {})
    return {
        "prisma_version": "PRISMA 2020",
        "database_search": {
            "status": search.get("status", "unknown"),
            "as_of": search.get("as_of"),
            "note": search.get("note"),
            "per_source": {k: (sources_meta.get(k) or {}).get("status", "unknown")
                           for k in DATABASE_SOURCES},
        },
        "identification": {
            "databases": {label: int(by_source.get(key, 0))
                          for key, label in DATABASE_SOURCES.items()},
            "other_methods": {"known_reports": int(by_source.get("other", 0))},
        },
        "databases_and_registers": db,
        "other_methods": other,
        "included": {
            "studies": int(included["study_id"].nunique()),
            "reports": len(included),
            "reports_by_type": included_types,
            "study_ids": sorted(included["study_id"].unique().tolist()),
        },
        "check": {"records": len(records), "screening_rows": len(screening),
                  "each_record_counted_once": True},
        # studies neither included nor excluded (their reports: reports_ongoing and
        # reports_awaiting_classification of each column); a study with an included report
        # counts as included, an ongoing one not also as awaiting classification
        "ongoing": ongoing,
        "awaiting_classification": awaiting,
    }
