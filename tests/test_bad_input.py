"""Bad input gives a clear error naming file, row, line and field, never a wrong number.

Each test here reproduces one observation of issue 9 ("Wrong numbers and crashes from bad
input"): it failed on the code before the fix.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from test_extraction_fixtures import ext_row, write_sheets

from ketamine_evidence import KetamineEvidenceError
from ketamine_evidence.extraction import SheetValidationError, load_curated
from ketamine_evidence.screening.io import read_known_reports
from ketamine_evidence.screening.records import RecordsError
from ketamine_evidence.sources.pubmed import RawFile
from ketamine_evidence.sources.snapshot import commit_retrieval, init_snapshot
from ketamine_evidence.tables import TableError, read_csv_text

ROOT = Path(__file__).resolve().parents[1]
NOW = dt.datetime(2026, 11, 27, 16, 0, tzinfo=dt.UTC)


def _errors(tmp_path, rows) -> list[str]:
    write_sheets(tmp_path, rows)
    with pytest.raises(SheetValidationError) as info:
        load_curated(tmp_path, require_risk_of_bias=False)
    return info.value.errors


# -- numbers ---------------------------------------------------------------------------------
@pytest.mark.parametrize("cell", ["-11,88", "1,234", "11,880.5"])
def test_a_comma_in_a_number_is_refused_not_read_as_thousands(tmp_path, cell):
    errors = _errors(tmp_path, [ext_row(m1i=cell)])
    assert errors[0].startswith("extraction.csv row 1 (line 2; E0001")
    assert f"m1i: {cell!r} contains a comma" in errors[0]


def test_zero_participants_in_a_count_row_is_a_validation_error(tmp_path):
    row = ext_row(data_type="count", m1i="", sd1i="", m2i="", sd2i="", ai="0", n1i="0",
                  ci="3", n2i="15")
    errors = _errors(tmp_path, [row])
    assert errors == ["extraction.csv row 1 (line 2; E0001, feder2021, CAPS-5, week 2): "
                      "n1i: must be at least 1 (an arm has participants) (value: 0)"]


# -- reading CSV files -----------------------------------------------------------------------
def test_line_numbers_count_quoted_newlines_and_blank_lines(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text('a,b\n1,"two\nlines"\n\n3,x\n', encoding="utf-8")
    frame = read_csv_text(path)
    assert frame["a"].tolist() == ["1", "3"]
    assert frame.attrs["lines"] == [2, 5]


def test_extraction_line_is_the_physical_line_after_a_quoted_newline(tmp_path):
    rows = [ext_row(row_id="E0001", notes="first line\nsecond line"),
            ext_row(row_id="E0002", sd1i="-1")]
    errors = _errors(tmp_path, rows)
    assert errors[0].startswith("extraction.csv row 2 (line 4; E0002")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", r"t\.csv: the file is empty \(no header line\)"),
        (b"a,b\n1,2\n3,\xe9\n", r"t\.csv line 3: not UTF-8 text .*save the file as UTF-8"),
        (b"a,b\n1,2\n3,4,5\n", r"t\.csv line 3: 3 fields, but the header has 2"),
        (b"a,a\n1,2\n", r"t\.csv line 1: column 'a' appears twice"),
        (b"a,,b\n1,2,3\n", r"t\.csv line 1: column 2 has no name"),
    ],
)
def test_csv_read_errors_name_the_file_and_line(tmp_path, content, message):
    path = tmp_path / "t.csv"
    path.write_bytes(content)
    with pytest.raises(TableError, match=message) as info:
        read_csv_text(path)
    assert str(info.value).startswith(str(path))


def test_trailing_empty_fields_are_tolerated(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b,\n1,2,\n3,4\n", encoding="utf-8")
    frame = read_csv_text(path)
    assert list(frame.columns) == ["a", "b"] and frame["b"].tolist() == ["2", "4"]


def test_curated_sheet_read_errors_name_the_file(tmp_path):
    write_sheets(tmp_path, [ext_row()])
    (tmp_path / "extraction.csv").write_bytes(
        (tmp_path / "extraction.csv").read_bytes().replace(b"Feder", b"F\xe9der")
        + b"\xff\n")
    with pytest.raises(KetamineEvidenceError, match=r"extraction\.csv line \d+: not UTF-8"):
        load_curated(tmp_path, require_risk_of_bias=False)


# -- known_reports.csv -----------------------------------------------------------------------
KNOWN_HEADER = "report_id,record_type,pmid,nct_id,decision,reason_code\n"


def test_malformed_pmid_in_known_reports_is_named(tmp_path):
    path = tmp_path / "known_reports.csv"
    path.write_text(KNOWN_HEADER + "KR001,publication,3431347x,,include,include\n")
    with pytest.raises(RecordsError, match=r"known_reports\.csv row 1 \(line 2; KR001\): pmid: "
                                           r"'3431347x' is not a PMID"):
        read_known_reports(path)


def test_invalid_decision_in_known_reports_is_named(tmp_path):
    path = tmp_path / "known_reports.csv"
    path.write_text(KNOWN_HEADER + "KR001,publication,34313479,,maybe,include\n")
    with pytest.raises(RecordsError, match=r"known_reports\.csv row 1 \(line 2; KR001\): "
                                           r"decision: 'maybe' is not one of"):
        read_known_reports(path)


# -- the command line turns every package error into one line --------------------------------
def _run_cli(*argv, cwd=None):
    return subprocess.run([sys.executable, "-m", "ketamine_evidence.cli", *argv],
                          capture_output=True, text=True, cwd=cwd)


def _snapshot_with_one_study(tmp_path) -> Path:
    snap = tmp_path / "snap"
    init_snapshot(snap, dt.date(2026, 11, 27))
    commit_retrieval(snap, [RawFile("ctgov/study_NCT90000001.json", b"{}", "ctgov", "study")],
                     {}, now=NOW)
    return snap


@pytest.mark.parametrize("damage", ["changed_file", "no_sha256"])
def test_damaged_snapshot_is_a_one_line_error(tmp_path, damage):
    snap = _snapshot_with_one_study(tmp_path)
    manifest = json.loads((snap / "manifest.json").read_text())
    if damage == "changed_file":
        (snap / manifest["files"][0]["path"]).write_bytes(b'{"x": 1}')
    else:
        del manifest["files"][0]["sha256"]
        (snap / "manifest.json").write_text(json.dumps(manifest))
    (tmp_path / "cur").mkdir()
    curated = write_sheets(tmp_path / "cur", [ext_row()])
    proc = _run_cli("effects", "--crossover-r", "0.5", "--curated-dir",
                    str(curated), "--registry-dir", str(snap), "--out-dir", str(tmp_path / "o"))
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ketamine-evidence effects: error: ")
    assert "study_NCT90000001.json" in lines[0]
    assert ("SHA-256" in lines[0]) if damage == "changed_file" else ("no sha256" in lines[0])


def test_config_without_snapshot_dir_uses_the_schema_default(tmp_path):
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    del config["review"]["snapshot_dir"]
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    (tmp_path / "data" / "raw").mkdir(parents=True)
    init_snapshot(tmp_path / "data" / "raw" / "snapshot", dt.date(2026, 11, 27))
    (tmp_path / "data" / "raw" / "known_reports.csv").write_text(KNOWN_HEADER)
    proc = _run_cli("records", "--config", "config.yaml", "--records", "r.csv",
                    "--studies", "s.csv", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "r.csv").is_file()
