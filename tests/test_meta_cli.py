"""The ``pool`` subcommand, through the real command-line entry point."""

from __future__ import annotations

import json
import re

import pytest

from ketamine_evidence import cli
from ketamine_evidence.meta import rma


def run(argv, capsys):
    code = cli.main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def write(tmp_path, text):
    p = tmp_path / "effects.csv"
    p.write_text(text)
    return p


def test_pool_json_matches_rma(tmp_path, capsys):
    p = write(tmp_path, "study,yi,vi\nA,0.2,0.04\nB,0.5,0.05\nC,0.1,0.03\nD,0.9,0.06\n")
    code, out, _ = run(["pool", str(p), "--method", "DL", "--test", "z", "--format", "json"],
                       capsys)
    assert code == 0
    got = json.loads(out)
    ref = rma([0.2, 0.5, 0.1, 0.9], [0.04, 0.05, 0.03, 0.06], method="DL", test="z")
    assert got["estimate"] == ref.estimate and got["tau2"] == ref.tau2
    assert got["study"] == ["A", "B", "C", "D"] and got["df"] is None


def test_pool_table(tmp_path, capsys):
    p = write(tmp_path, "yi,vi\n0.2,0.04\n0.5,0.05\n0.1,0.03\n")
    code, out, _ = run(["pool", str(p)], capsys)
    assert code == 0 and "estimate" in out and "REML" in out and "knha" in out


@pytest.mark.parametrize(
    "text, pattern",
    [
        ("yi,vi\n0.2,0.04\n0.5,abc\n", r"line 3, field 'vi': not a number"),
        ("yi,vi\n0.2,0.04\n0.5,0\n", r"line 3, field 'vi': sampling variance must be positive"),
        ("yi,vi\n,0.04\n", r"line 2, field 'yi'"),
        ("y,vi\n0.2,0.04\n", r"missing column 'yi'"),
        # a blank line does not shift the line number
        ("yi,vi\n0.2,0.04\n\n0.5,abc\n", r"line 4, field 'vi': not a number"),
        ("study,yi,vi\nA,0.2,0.04\nB,-0,5,0.05\n", r"line 3: 4 fields, but the header has 3"),
        ("yi,vi,yi\n0.2,0.04,0.3\n", r"line 1: column 'yi' appears twice"),
        ("study,yi,vi\nA,-11,88,0.04\n", r"line 2: 4 fields"),
        ("yi,vi\n", r"no data rows"),
        ("", r"the file is empty"),
    ],
)
def test_pool_errors_name_file_row_field(tmp_path, capsys, text, pattern):
    p = write(tmp_path, text)
    code, _, err = run(["pool", str(p)], capsys)
    assert code == 2
    assert str(p) in err and re.search(pattern, err)


def test_pool_single_study_warns(tmp_path, capsys):
    p = write(tmp_path, "yi,vi\n0.2,0.04\n")
    code, _, err = run(["pool", str(p)], capsys)
    assert code == 0 and "k = 1" in err


def test_pool_reads_trailing_commas_like_a_spreadsheet_export(tmp_path, capsys):
    plain = write(tmp_path, "study,yi,vi\nA,0.2,0.04\nB,0.5,0.05\nC,0.1,0.03\n")
    _, expected, _ = run(["pool", str(plain), "--format", "json"], capsys)
    excel = tmp_path / "excel.csv"
    excel.write_text("study,yi,vi,\nA,0.2,0.04,\nB,0.5,0.05,\nC,0.1,0.03,\n")
    code, out, err = run(["pool", str(excel), "--format", "json"], capsys)
    assert code == 0, err
    assert json.loads(out) == json.loads(expected)


MIXED = ("study,measure,yi,vi\nA,SMD,-0.5,0.1\nB,SMD,-0.3,0.08\nA,MD,-4.1,9.2\n"
         "C,RR,0.2,0.05\n")


def test_pool_refuses_a_file_that_mixes_measures(tmp_path, capsys):
    code, out, err = run(["pool", str(write(tmp_path, MIXED))], capsys)
    assert code == 2 and out == ""
    assert re.search(r"effects\.csv: rows with different measures \(MD, RR, SMD\) cannot be "
                     r"pooled together; .*analysis_id", err)


def test_pool_pools_each_analysis_id_separately(tmp_path, capsys):
    text = ("analysis_id,study,measure,yi,vi\nsmd,A,SMD,-0.5,0.1\nsmd,B,SMD,-0.3,0.08\n"
            "md,A,MD,-4.1,9.2\nmd,B,MD,-2.0,7.5\nmd,C,MD,-1.0,8.0\n")
    code, out, err = run(["pool", str(write(tmp_path, text)), "--format", "json"], capsys)
    assert code == 0, err
    got = json.loads(out)
    assert [g["analysis_id"] for g in got] == ["smd", "md"]
    assert got[0]["k"] == 2 and got[1]["k"] == 3
    assert got[1]["estimate"] == rma([-4.1, -2.0, -1.0], [9.2, 7.5, 8.0]).estimate
    assert got[0]["study"] == ["A", "B"]


def test_pool_refuses_mixed_measures_within_one_analysis_id(tmp_path, capsys):
    text = "analysis_id,measure,yi,vi\nx,SMD,-0.5,0.1\nx,MD,-4.1,9.2\n"
    code, _, err = run(["pool", str(write(tmp_path, text))], capsys)
    assert code == 2 and "analysis_id 'x'" in err and "MD, SMD" in err


def test_pool_warns_when_a_study_appears_twice(tmp_path, capsys):
    text = "study,yi,vi\nA,0.2,0.04\nA,0.5,0.05\nB,0.1,0.03\n"
    code, _, err = run(["pool", str(write(tmp_path, text))], capsys)
    assert code == 0 and "study 'A' appears in 2 rows" in err
