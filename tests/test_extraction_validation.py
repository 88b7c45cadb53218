"""Validation of the curated sheets: every problem named by file, row, line and field."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from test_extraction_fixtures import CHARS, ext_row, rob_row, write_sheets

from ketamine_evidence.config import load_settings
from ketamine_evidence.extraction import (
    SheetValidationError,
    load_curated,
    read_characteristics,
    read_extraction,
)
from ketamine_evidence.schemas import extraction as sx

#: the default review's vocabulary (config.yaml): outcome ids and drugs the sheets may use
VOCAB = load_settings(Path(__file__).resolve().parent.parent / "config.yaml").vocabulary

SCHEMA_JSON = (
    Path(__file__).resolve().parent.parent / "workflow" / "schemas" / "extraction.schema.json"
)


def _errors(tmp_path, ext_rows, chars=None, rob=None) -> list[str]:
    write_sheets(tmp_path, ext_rows, chars, rob)
    with pytest.raises(SheetValidationError) as info:
        load_curated(tmp_path, vocabulary=VOCAB)
    return info.value.errors


def test_valid_sheets_load(tmp_path):
    write_sheets(tmp_path, [ext_row()], rob=[rob_row()])
    sheets = load_curated(tmp_path, vocabulary=VOCAB)
    ext = sheets.extraction
    assert list(ext.columns) == sx.EXTRACTION_COLUMNS
    assert ext.loc[0, "m1i"] == 11.88 and ext["m1i"].dtype == "float64"
    assert bool(ext.loc[0, "lower_is_better"]) is True
    assert ext.loc[0, "se1i"] is None or pd.isna(ext.loc[0, "se1i"])
    assert len(sheets.characteristics) == len(CHARS)


def test_message_names_file_row_line_and_field(tmp_path):
    errors = _errors(tmp_path, [ext_row(row_id="E0001"), ext_row(row_id="E0012", sd1i="-3.1")])
    assert errors == [
        "extraction.csv row 2 (line 3; E0012, feder2021, CAPS-5, week 2): sd1i: is negative "
        "(value: -3.1)"
    ]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"sd2i": "-1"}, "sd2i: is negative"),
        ({"n1i": "-15"}, "n1i: is negative"),
        ({"se1i": "-0.5"}, "se1i: is negative"),
        (
            {"data_type": "count", "ai": "16", "n1i": "15", "ci": "3"},
            "ai: events in arm 1 exceed n1i",
        ),
        (
            {"data_type": "count", "ai": "3", "ci": "20", "n2i": "15"},
            "ci: events in arm 2 exceed n2i",
        ),
        (
            {
                "data_type": "contrast",
                "measure": "MD",
                "estimate": "-5",
                "ci_low": "-2",
                "ci_high": "3",
            },
            "ci_low: lower CI limit above the estimate",
        ),
        (
            {
                "data_type": "contrast",
                "measure": "MD",
                "estimate": "5",
                "ci_low": "-2",
                "ci_high": "3",
            },
            "ci_high: upper CI limit below the estimate",
        ),
        ({"source_id": ""}, "source_id: is empty (required)"),
        ({"location": ""}, "location: is empty (required)"),
        ({"source_id": "Feder 2021"}, "source_id: must be PMID:<digits>"),
        ({"study_id": "smith2020"}, "study_id: not found in study_characteristics.csv"),
        ({"outcome": "ptsd"}, "outcome: not one of the outcomes in the configuration's vocabulary.outcomes"),
        ({"data_type": "arms"}, "data_type: not one of"),
        ({"measure": "SMDx"}, "measure: not one of"),
        ({"score_type": "final"}, "score_type: must be endpoint or change"),
        ({"m2i": ""}, "m2i: m2i is required when data_type is 'arm'"),
        ({"data_type": "count"}, "ai: ai or pct1i is required when data_type is 'count'"),
        ({"data_type": "contrast"}, "measure: measure is required when data_type is 'contrast'"),
        (
            {"data_type": "contrast", "measure": "MD"},
            "estimate: estimate or pvalue is required when data_type is 'contrast'",
        ),
        (
            {"data_type": "narrative"},
            "narrative: narrative is required when data_type is 'narrative'",
        ),
        (
            {"data_type": "within_arm", "baseline_m1i": ""},
            "baseline_m1i: required for a within_arm",
        ),
        ({"m1i": "n/a"}, "m1i: is not a number ('n/a')"),
        ({"m1i": "NA"}, "m1i: is not a number ('NA')"),
        ({"lower_is_better": "maybe"}, "lower_is_better: must be true or false ('maybe')"),
        ({"pvalue": "1.5"}, "pvalue: must lie in [0, 1]"),
        ({"ci_level": "95"}, "ci_level: must lie in (0, 1)"),
        ({"row_id": "12"}, "row_id: must look like E0001"),
        ({"pvalue_qualifier": "<="}, "pvalue_qualifier: must be =, < or >"),
        (
            {"data_type": "narrative", "narrative": "better", "direction": "favours_ketamine"},
            "direction: not one of favours_intervention, favours_control, no_clear_difference",
        ),
        ({"direction": "favours_intervention"}, "direction: only for data_type 'narrative'"),
    ],
)
def test_each_error_type(tmp_path, change, expected):
    errors = _errors(tmp_path, [ext_row(**change)])
    assert any(expected in e for e in errors), errors
    hit = next(e for e in errors if expected in e)
    assert hit.startswith("extraction.csv row 1 (line 2; ")


def test_duplicate_row_id_names_both_rows(tmp_path):
    errors = _errors(tmp_path, [ext_row(row_id="E0005"), ext_row(row_id="E0005")])
    dup = [e for e in errors if "row_id: duplicated value 'E0005'" in e]
    assert [e.split(":")[0] for e in dup] == [
        "extraction.csv row 1 (line 2; E0005, feder2021, CAPS-5, week 2)",
        "extraction.csv row 2 (line 3; E0005, feder2021, CAPS-5, week 2)",
    ]


def test_all_errors_of_all_files_collected_in_one_exception(tmp_path):
    chars = [dict(CHARS[0], design="cross-over"), dict(CHARS[1])]
    rob = [rob_row(judgement="moderate"), rob_row(domain="D6", study_id="nobody2020")]
    errors = _errors(
        tmp_path,
        [
            ext_row(sd1i="-1"),
            ext_row(row_id="E0002", n2i="x"),
            ext_row(row_id="E0003", outcome="y"),
        ],
        chars,
        rob,
    )
    text = "\n".join(errors)
    assert (
        "study_characteristics.csv row 1 (line 2; feder2021): design: must be parallel or crossover"
        in text
    )
    assert "extraction.csv row 1 (line 2; E0001" in text and "sd1i: is negative" in text
    assert "extraction.csv row 2 (line 3; E0002" in text and "n2i: is not a number ('x')" in text
    assert (
        "extraction.csv row 3 (line 4; E0003" in text and "outcome: not one of the outcomes in the configuration's vocabulary.outcomes" in text
    )
    assert "risk_of_bias.csv row 1 (line 2; feder2021, ptsd_severity, D1): judgement" in text
    assert "risk_of_bias.csv row 2 (line 3; nobody2020, ptsd_severity, D6): domain" in text
    assert "study_id: not found in study_characteristics.csv" in text
    # the exception message lists them all
    with pytest.raises(SheetValidationError, match=f"{len(errors)} problems"):
        load_curated(tmp_path, vocabulary=VOCAB)


def test_unknown_and_missing_columns_are_errors(tmp_path):
    write_sheets(tmp_path, [ext_row()])
    path = tmp_path / "extraction.csv"
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df = df.rename(columns={"sd1i": "sd_1i"})
    df.to_csv(path, index=False)
    with pytest.raises(SheetValidationError) as info:
        read_extraction(path, outcomes=VOCAB.outcomes)
    text = "\n".join(info.value.errors)
    assert "extraction.csv: missing column(s): sd1i" in text
    assert "extraction.csv: column(s) not in the codebook: sd_1i" in text


def test_missing_files_are_listed(tmp_path):
    with pytest.raises(SheetValidationError) as info:
        load_curated(tmp_path, vocabulary=VOCAB)
    assert len(info.value.errors) == 3
    assert all("file not found" in e for e in info.value.errors)


def test_characteristics_errors(tmp_path):
    chars = [
        dict(CHARS[0], question="both", drug="psilocybin", dose_mg_per_kg="half"),
        dict(CHARS[0]),
    ]
    write_sheets(tmp_path, [ext_row()], chars)
    with pytest.raises(SheetValidationError) as info:
        read_characteristics(tmp_path / "study_characteristics.csv", drugs=VOCAB.drugs)
    text = "\n".join(info.value.errors)
    assert "row 1 (line 2; feder2021): question: must be treatment or prevention" in text
    assert "drug: each ';'-separated value must be one of esketamine, ketamine" in text
    assert "dose_mg_per_kg: each ';'-separated value must be a non-negative number" in text
    assert "study_id: duplicated value 'feder2021'" in text


def test_multi_arm_characteristics_accept_semicolon_lists(tmp_path):
    write_sheets(tmp_path, [ext_row()])
    chars = read_characteristics(tmp_path / "study_characteristics.csv", drugs=VOCAB.drugs)
    row = chars.set_index("study_id").loc["abdallah2022"]
    assert row["dose_mg_per_kg"] == "0.2;0.5" and row["n_randomised_intervention"] == "53;51"


def test_json_schema_matches_pandera_columns():
    schema = json.loads(SCHEMA_JSON.read_text())
    assert list(schema["properties"]) == sx.EXTRACTION_COLUMNS
    assert schema["required"] == sx.EXTRACTION_REQUIRED
    # outcome ids are the review's (config vocabulary.outcomes), not the sheet format's
    assert "enum" not in schema["properties"]["outcome"]
    assert schema["properties"]["data_type"]["enum"] == list(sx.DATA_TYPES)
    for col in sx.EXTRACTION_NONNEG:
        assert schema["properties"][col]["minimum"] == 0
    needs = {
        b["if"]["properties"]["data_type"]["const"]
        for b in schema["allOf"]
        if "data_type" in b["if"]["properties"]
    }
    assert needs == set(sx.DATA_TYPE_NEEDS)
    assert schema["properties"]["direction"]["enum"] == [*sx.DIRECTIONS, None]


def test_json_schema_validates_a_row():
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA_JSON.read_text())
    good = {c: None for c in sx.EXTRACTION_COLUMNS} | {
        "row_id": "E0001",
        "study_id": "feder2021",
        "outcome": "ptsd_severity",
        "data_type": "arm",
        "m1i": 11.9,
        "m2i": 23.6,
        "source_id": "PMID:34313479",
        "location": "table 2",
    }
    jsonschema.validate(good, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(good | {"m2i": None}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(good | {"sd1i": -1}, schema)
    with pytest.raises(jsonschema.ValidationError):  # direction only on words-only rows
        jsonschema.validate(good | {"direction": "favours_control"}, schema)
    words = good | {"data_type": "narrative", "narrative": "no significant difference"}
    jsonschema.validate(words | {"direction": "no_clear_difference"}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(words | {"direction": "favours_ketamine"}, schema)


def test_direction_is_read_for_words_only_rows_and_optional_in_old_sheets(tmp_path):
    row = ext_row(
        data_type="narrative", narrative="no significant difference", direction="no_clear_difference"
    )
    write_sheets(tmp_path, [row])
    assert load_curated(tmp_path, vocabulary=VOCAB).extraction.loc[0, "direction"] == "no_clear_difference"
    # a sheet written before the column existed reads as 'not yet judged' (empty)
    path = tmp_path / "extraction.csv"
    pd.read_csv(path, dtype=str, keep_default_na=False).drop(columns="direction").to_csv(
        path, index=False
    )
    assert pd.isna(read_extraction(path, outcomes=VOCAB.outcomes).loc[0, "direction"])


def test_characteristics_under_the_reviews_own_column_names(tmp_path):
    """vocabulary.sheet_columns: the sheet names the arm counts its own way; the columns come
    back under their codebook names and messages use the sheet's name."""
    write_sheets(tmp_path, [ext_row()])
    path = tmp_path / "study_characteristics.csv"
    header, rest = path.read_text(encoding="utf-8").split("\n", 1)
    header = header.replace("n_randomised_intervention", "n_randomised_drugx")
    names = {"n_randomised_intervention": "n_randomised_drugx"}
    path.write_text(header + "\n" + rest.replace("53;51", "53;x"), encoding="utf-8")
    with pytest.raises(SheetValidationError) as info:
        read_characteristics(path, sheet_columns=names)
    assert ("n_randomised_drugx: each ';'-separated value must be a non-negative number"
            in "\n".join(info.value.errors))
    path.write_text(header + "\n" + rest, encoding="utf-8")
    chars = read_characteristics(path, sheet_columns=names).set_index("study_id")
    assert chars.loc["abdallah2022", "n_randomised_intervention"] == "53;51"
    with pytest.raises(SheetValidationError, match="not in the codebook: n_randomised_drugx"):
        read_characteristics(path)  # without the review's names the column is unknown
