"""The optional curated sheets thresholds.csv and registry_facts.csv: absent or valid, never
silently wrong; every problem named by file, row, line and field."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from test_extraction_fixtures import ext_row, write_sheet, write_sheets

from ketamine_evidence.config import load_settings
from ketamine_evidence.extraction import (
    SheetValidationError,
    load_curated,
    read_registry_facts,
    read_thresholds,
)
from ketamine_evidence.schemas import extraction as sx

ROOT = Path(__file__).resolve().parents[1]


def threshold_row(**over) -> dict:
    """A valid threshold row (invented numbers), with fields overridden."""
    row = {
        "threshold_id": "T001",
        "instrument": "PCL-5",
        "kind": "clinically_meaningful_change",
        "value": "10",
        "unit": "points",
        "comparison": "within_person_change",
        "population": "veterans",
        "source_id": "https://example.org/pcl5",
        "location": "text, section 3",
        "quote": "a 10-point change is clinically meaningful",
        "notes": "",
    }
    row.update({k: str(v) for k, v in over.items()})
    return row


def fact_row(**over) -> dict:
    """A valid registry-fact row (invented), with fields overridden."""
    row = {
        "fact_id": "RF001",
        "study_id": "feder2021",
        "nct_id": "NCT02397889",
        "fact_type": "primary_outcome_changed",
        "registry_value": "original primary: CAPS-5",
        "publication_value": "PCL-5",
        "source_id": "NCT02397889",
        "location": "registry: history of changes",
        "notes": "",
    }
    row.update({k: str(v) for k, v in over.items()})
    return row


def test_absent_optional_sheets_are_none_and_the_review_loads(tmp_path):
    write_sheets(tmp_path, [ext_row()])
    sheets = load_curated(tmp_path)
    assert sheets.thresholds is None and sheets.registry_facts is None
    assert read_thresholds(tmp_path / "thresholds.csv") is None
    assert read_registry_facts(tmp_path / "registry_facts.csv") is None


def test_header_only_sheets_are_empty_not_absent(tmp_path):
    write_sheets(tmp_path, [ext_row()])
    write_sheet(tmp_path / "thresholds.csv", sx.THRESHOLDS_COLUMNS, [])
    write_sheet(tmp_path / "registry_facts.csv", sx.REGISTRY_FACTS_COLUMNS, [])
    sheets = load_curated(tmp_path)
    assert sheets.thresholds is not None and len(sheets.thresholds) == 0
    assert list(sheets.registry_facts.columns) == sx.REGISTRY_FACTS_COLUMNS


def test_valid_sheets_are_read_with_numeric_value(tmp_path):
    write_sheets(tmp_path, [ext_row()])
    write_sheet(tmp_path / "thresholds.csv", sx.THRESHOLDS_COLUMNS,
           [threshold_row(), threshold_row(threshold_id="T002", kind="response_definition",
                                           value="30", unit="percent")])
    write_sheet(tmp_path / "registry_facts.csv", sx.REGISTRY_FACTS_COLUMNS, [fact_row()])
    sheets = load_curated(tmp_path)
    assert sheets.thresholds["value"].tolist() == [10.0, 30.0]
    assert sheets.thresholds["value"].dtype == "float64"
    assert sheets.registry_facts.loc[0, "registry_value"] == "original primary: CAPS-5"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"kind": "mcid"}, "kind: not one of mid, clinically_meaningful_change"),
        ({"unit": "pts"}, "unit: not one of points, percent, smd"),
        ({"comparison": "change"}, "comparison: not one of within_person_change"),
        ({"value": "ten"}, "value: is not a number ('ten')"),
        ({"value": "-10"}, "value: is negative"),
        ({"value": ""}, "value: is empty (required)"),
        ({"quote": ""}, "quote: is empty (required)"),
        ({"source_id": "Weathers 2013"}, "source_id: must be PMID:<digits>"),
        ({"threshold_id": "1"}, "threshold_id: must look like T001"),
    ],
)
def test_threshold_errors_name_file_row_and_field(tmp_path, change, expected):
    path = write_sheet(tmp_path / "thresholds.csv", sx.THRESHOLDS_COLUMNS,
                  [threshold_row(), threshold_row(**({"threshold_id": "T002"} | change))])
    with pytest.raises(SheetValidationError) as info:
        read_thresholds(path)
    hits = [e for e in info.value.errors if expected in e]
    assert hits, info.value.errors
    assert hits[0].startswith("thresholds.csv row 2 (line 3; ")


def test_duplicate_threshold_id_names_both_rows(tmp_path):
    path = write_sheet(tmp_path / "thresholds.csv", sx.THRESHOLDS_COLUMNS,
                  [threshold_row(), threshold_row()])
    with pytest.raises(SheetValidationError) as info:
        read_thresholds(path)
    dup = [e for e in info.value.errors if "threshold_id: duplicated value 'T001'" in e]
    assert len(dup) == 2


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"study_id": "smith2020"}, "study_id: not found in study_characteristics.csv"),
        ({"nct_id": "ACTRN12618001965291"}, "nct_id: must look like NCT01234567"),
        ({"fact_type": "outcome_switched"}, "fact_type: not one of primary_outcome_changed"),
        ({"registry_value": ""}, "registry_value: is empty (required)"),
        ({"fact_id": "F1"}, "fact_id: must look like RF001"),
    ],
)
def test_registry_fact_errors_are_collected_with_the_other_sheets(tmp_path, change, expected):
    write_sheets(tmp_path, [ext_row(sd1i="-1")])
    write_sheet(tmp_path / "registry_facts.csv", sx.REGISTRY_FACTS_COLUMNS, [fact_row(**change)])
    with pytest.raises(SheetValidationError) as info:
        load_curated(tmp_path)
    text = "\n".join(info.value.errors)
    assert "extraction.csv row 1 (line 2; E0001" in text  # reported together
    hit = next(e for e in info.value.errors if expected in e)
    assert hit.startswith("registry_facts.csv row 1 (line 2; ")


def test_unknown_column_in_an_optional_sheet_is_an_error(tmp_path):
    rows = [threshold_row()]
    path = write_sheet(tmp_path / "thresholds.csv", [*sx.THRESHOLDS_COLUMNS, "mcid"], rows)
    with pytest.raises(SheetValidationError, match="column\\(s\\) not in the codebook: mcid"):
        read_thresholds(path)


def test_committed_optional_sheets_validate():
    """The project's own sheets (when present) pass their schemas, with its vocabulary."""
    vocabulary = load_settings(ROOT / "config.yaml").vocabulary
    sheets = load_curated(ROOT / "data" / "raw", vocabulary=vocabulary)
    for table in (sheets.thresholds, sheets.registry_facts):
        assert table is None or isinstance(table, pd.DataFrame)
    narrative = sheets.extraction["data_type"] == "narrative"
    assert sheets.extraction.loc[~narrative, "direction"].isna().all()
