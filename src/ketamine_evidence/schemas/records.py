"""Contracts of the retrieval/screening tables: records.csv, studies.csv, screening.csv.

Checked when written and when read (:func:`write_table`, :func:`read_table`).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pandera.pandas as pa

SOURCES = ["pubmed", "ctgov", "other"]
RECORD_TYPES = ["publication", "registration", "conference_abstract", "preprint", "review"]
REASON_CODES = ["include", "wrong_population", "wrong_intervention", "wrong_design", "review",
                "case_report", "protocol_no_results", "prevention_question", "animal",
                "duplicate", "ongoing_no_results", "awaiting_classification", "not_retrieved",
                "other"]
#: full-text reasons that do not say a study is ineligible: PRISMA 2020 / Cochrane keep such
#: studies apart from excluded ones ("studies ongoing", "studies awaiting classification")
NOT_YET_CLASSIFIED = {"ongoing_no_results": "ongoing",
                      "awaiting_classification": "awaiting_classification"}
STAGES = ["identification", "title_abstract", "full_text"]


def _s(nullable: bool = True, **kw) -> pa.Column:
    return pa.Column(str, nullable=nullable, **kw)


_ID_PATTERN = r"^(PMID:\d+|NCT\d{8})(~\d+)?$|^[A-Za-z0-9_.-]+$"

RECORDS_SCHEMA = pa.DataFrameSchema(
    {
        "record_id": _s(False, unique=True, checks=pa.Check.str_matches(_ID_PATTERN)),
        "source": _s(False, checks=pa.Check.isin(SOURCES)),
        "record_type": _s(False, checks=pa.Check.isin(RECORD_TYPES)),
        "pmid": _s(checks=pa.Check.str_matches(r"^\d+$")),
        "nct_id": _s(checks=pa.Check.str_matches(r"^NCT\d{8}$")),
        "doi": _s(),
        "pmcid": _s(),
        "other_registry_ids": _s(),
        "registry_ids": _s(),
        "nct_ids_si": _s(),
        "nct_ids_abstract": _s(),
        "title": _s(),
        "journal": _s(),
        "year": pa.Column("Int64", nullable=True, checks=pa.Check.in_range(1800, 2200)),
        "first_author": _s(),
        "publication_types": _s(),
        "mesh_terms": _s(),
        "abstract": _s(),
        "medline_status": _s(),
        "overall_status": _s(),
        "study_type": _s(),
        "phases": _s(),
        "allocation": _s(),
        "masking": _s(),
        "conditions": _s(),
        "interventions": _s(),
        "enrollment": pa.Column("Int64", nullable=True, checks=pa.Check.ge(0)),
        "start_date": _s(),
        "completion_date": _s(),
        "has_results": pa.Column("boolean", nullable=True),
        "ref_pmids_result": _s(),
        "ref_pmids_derived": _s(),
        "ref_pmids_background": _s(),
        "cluster_id": _s(False),
        "cluster_size": pa.Column("Int64", checks=pa.Check.ge(1)),
        "is_duplicate": pa.Column("boolean"),
        "duplicate_of": _s(),
        "study_id": _s(False),
        "link_provenance": _s(),
        "snapshot_file": _s(),
        "curator_decision": _s(checks=pa.Check.isin(["include", "exclude"])),
        "curator_reason_code": _s(checks=pa.Check.isin(REASON_CODES)),
        "curator_reason_text": _s(),
        "question": _s(),
        "found_via": _s(),
    },
    strict=True,
    ordered=True,
    coerce=True,
    name="records",
)

STUDIES_SCHEMA = pa.DataFrameSchema(
    {
        "study_id": _s(False, unique=True),
        "study_id_source": _s(False, checks=pa.Check.isin(["curator", "auto"])),
        "record_ids": _s(False),
        "pmids": _s(),
        "nct_ids": _s(),
        "dois": _s(),
        "n_records": pa.Column("Int64", checks=pa.Check.ge(1)),
        "n_publications": pa.Column("Int64", checks=pa.Check.ge(0)),
        "n_registrations": pa.Column("Int64", checks=pa.Check.ge(0)),
        "sources": _s(False),
        "title": _s(),
    },
    strict=True,
    ordered=True,
    coerce=True,
    name="studies",
)

SCREENING_SCHEMA = pa.DataFrameSchema(
    {
        "record_id": _s(False, unique=True),
        "source": _s(False, checks=pa.Check.isin(SOURCES)),
        "record_type": _s(False, checks=pa.Check.isin(RECORD_TYPES)),
        "study_id": _s(False),
        "stage": _s(False, checks=pa.Check.isin(STAGES)),
        "decision": _s(False, checks=pa.Check.isin(["include", "exclude"])),
        "reason_code": _s(False, checks=pa.Check.isin(REASON_CODES)),
        "reason_text": _s(False),
        "decided_by": _s(False),
        "overridden": pa.Column("boolean"),
        "rule_stage": _s(),
        "rule_decision": _s(),
        "rule_reason_code": _s(),
        "override_key": _s(),
    },
    strict=True,
    ordered=True,
    coerce=True,
    checks=[
        pa.Check(lambda df: (df["decision"] == "include") == (df["reason_code"] == "include"),
                 element_wise=False, error="decision 'include' iff reason_code 'include'"),
    ],
    name="screening",
)


def write_table(frame: pd.DataFrame, path: Path | str, schema: pa.DataFrameSchema) -> None:
    """Validate ``frame`` with ``schema`` then write it as CSV (parent folders created)."""
    from ketamine_evidence.tables import write_table as write_csv

    write_csv(schema.validate(frame), path)


def read_table(path: Path | str, schema: pa.DataFrameSchema) -> pd.DataFrame:
    """Read a CSV written by :func:`write_table` and validate it (empty cell = missing).

    Raises
    ------
    TableError
        The file is missing, unreadable as CSV (named with its line) or breaks ``schema``.
    """
    from ketamine_evidence.tables import TableError, read_csv_text

    frame = read_csv_text(path)
    # empty cells arrive as None; NaN is what the writer's frames hold, and what pandera's
    # coercion gives on recent versions (pandera 0.24 with pandas 3.0.0 would keep None)
    frame = frame.mask(frame.isna())
    for column, spec in schema.columns.items():
        if column in frame and str(spec.dtype) == "boolean":
            frame[column] = frame[column].map(
                {"TRUE": True, "FALSE": False, "True": True, "False": False, "true": True,
                 "false": False}).astype("boolean")
    try:
        return schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        shown = "; ".join(f"{c['column'] or ''} {c['check']}: {c['failure_case']!r}".strip()
                          for c in cases.head(5).to_dict("records"))
        more = f" and {len(cases) - 5} more" if len(cases) > 5 else ""
        raise TableError(f"{path}: does not match the {schema.name} table ({shown}{more}); "
                         "it is written by the workflow: re-run the step that makes it") from None
