"""Small hand-made curated sheets shared by the extraction tests (numbers are invented).

Imported by the other test_extraction*.py modules; it holds no tests itself.
"""

from __future__ import annotations

import csv
from pathlib import Path

from ketamine_evidence.schemas import extraction as sx

CHARS = [
    {
        "study_id": "feder2021",
        "label": "Feder 2021",
        "question": "treatment",
        "nct_ids": "NCT02397889",
        "design": "parallel",
        "randomised": "yes",
        "treatment_resistant": "unclear",
        "drug": "ketamine",
        "dose_mg_per_kg": "0.5",
        "control": "midazolam",
        "source_id": "PMID:34313479",
        "location": "abstract",
    },
    {
        "study_id": "feder2014",
        "label": "Feder 2014",
        "question": "treatment",
        "nct_ids": "NCT00749203",
        "design": "crossover",
        "washout_days": "14",
        "randomised": "yes",
        "treatment_resistant": "unclear",
        "drug": "ketamine",
        "dose_mg_per_kg": "0.5",
        "control": "midazolam",
        "source_id": "PMID:24740528",
        "location": "abstract",
    },
    {
        "study_id": "abdallah2022",
        "label": "Abdallah 2022",
        "question": "treatment",
        "nct_ids": "NCT02655692",
        "design": "parallel",
        "randomised": "yes",
        "treatment_resistant": "yes",
        "drug": "ketamine",
        "dose_mg_per_kg": "0.2;0.5",
        "n_randomised_intervention": "53;51",
        "control": "saline",
        "source_id": "PMID:35046508",
        "location": "abstract",
    },
]


def ext_row(**over) -> dict:
    """A valid arm-level row of feder2021 (CAPS-5, week 2), with fields overridden."""
    row = {
        "row_id": "E0001",
        "study_id": "feder2021",
        "comparison": "ketamine vs midazolam",
        "outcome": "ptsd_severity",
        "instrument": "CAPS-5",
        "timepoint": "week 2",
        "timepoint_days": "14",
        "data_type": "arm",
        "score_type": "endpoint",
        "lower_is_better": "true",
        "m1i": "11.88",
        "sd1i": "9.1",
        "n1i": "15",
        "m2i": "23.56",
        "sd2i": "10.9",
        "n2i": "15",
        "source_id": "PMID:34313479",
        "location": "table 2",
    }
    row.update({k: str(v) for k, v in over.items()})
    return row


def rob_row(**over) -> dict:
    row = {
        "study_id": "feder2021",
        "outcome": "ptsd_severity",
        "domain": "D1",
        "judgement": "low",
        "justification": "computer-generated sequence",
        "source_id": "PMID:34313479",
        "location": "methods",
        "assessor": "AB",
        "date": "2026-11-27",
    }
    row.update(over)
    return row


def write_sheet(path: Path, columns: list[str], rows: list[dict]) -> Path:
    """Write ``rows`` as a curated sheet with ``columns`` (missing fields empty)."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=columns)
        w.writeheader()
        for r in rows:
            w.writerow({c: r.get(c, "") for c in columns})
    return path


def write_sheets(folder: Path, ext_rows, chars=None, rob=None) -> Path:
    folder = Path(folder)
    write_sheet(folder / "study_characteristics.csv", sx.CHARACTERISTICS_COLUMNS, chars or CHARS)
    write_sheet(folder / "extraction.csv", sx.EXTRACTION_COLUMNS, ext_rows)
    write_sheet(folder / "risk_of_bias.csv", sx.ROB_COLUMNS, rob if rob is not None else [])
    return folder
