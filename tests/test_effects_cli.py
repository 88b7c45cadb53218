"""The ``escalc`` subcommand (tested through its own ``register``; no other CLI modules needed)."""

from __future__ import annotations

import argparse

import pandas as pd
import pytest

from ketamine_evidence.cli.effects import register
from ketamine_evidence.effects import escalc


def run(argv):
    parser = argparse.ArgumentParser(prog="ketamine-evidence")
    sub = parser.add_subparsers(dest="command", required=True)
    register(sub)
    args = parser.parse_args(argv)
    return args.func(args)


def test_smd_file_roundtrip(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("study,m1i,sd1i,n1i,m2i,sd2i,n2i,note\nA,10,2,10,8,3,12,x\nB,5,1.5,20,6,1.5,21,y\n")
    out = tmp_path / "out.csv"
    assert run(["escalc", "--measure", "SMD", str(src), "-o", str(out)]) == 0
    got = pd.read_csv(out)
    assert list(got.columns) == ["study", "m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i", "note", "yi", "vi"]
    ref = escalc("SMD", m1i=[10, 5], sd1i=[2, 1.5], n1i=[10, 20], m2i=[8, 6], sd2i=[3, 1.5], n2i=[12, 21])
    pd.testing.assert_series_equal(got["yi"], ref["yi"], rtol=1e-15)
    pd.testing.assert_series_equal(got["vi"], ref["vi"], rtol=1e-15)


def test_binary_with_group_sizes_to_stdout(tmp_path, capsys):
    src = tmp_path / "bin.csv"
    src.write_text("study,ai,n1i,ci,n2i\nA,0,10,3,10\n")
    assert run(["escalc", "--measure", "RR", str(src)]) == 0
    got = capsys.readouterr().out.splitlines()
    assert got[0] == "study,ai,n1i,ci,n2i,yi,vi"
    yi = float(got[1].split(",")[5])
    assert yi == pytest.approx(escalc("RR", ai=0, n1i=10, ci=3, n2i=10)["yi"].iloc[0])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("study,m1i,sd1i,n1i,m2i,sd2i,n2i\nA,1,1,10,0,1,10\nB,1,-2,10,0,1,10\n",
         r"line 3 \(study 'B'\), field sd1i: standard deviation must be >= 0"),
        ("study,m1i,sd1i,n1i,m2i,sd2i,n2i\nA,1,1,10,0,,10\n", r"line 2 \(study 'A'\), field sd2i: missing"),
        ("study,m1i,sd1i,n1i,m2i,sd2i,n2i\nA,1,1,ten,0,1,10\n", r"line 2 \(study 'A'\), field n1i: not a number"),
        ("study,m1i,sd1i,n1i,m2i\nA,1,1,10,0\n", r"missing column\(s\) sd2i, n2i"),
    ],
)
def test_errors_name_file_line_and_field(tmp_path, body, message):
    src = tmp_path / "bad.csv"
    src.write_text(body)
    with pytest.raises(ValueError, match=message) as exc:
        run(["escalc", "--measure", "MD", str(src)])
    assert str(exc.value).startswith(str(src))


def test_events_exceed_n_reported_with_line(tmp_path):
    src = tmp_path / "bin.csv"
    src.write_text("ai,n1i,ci,n2i\n1,10,3,10\n12,10,3,10\n")
    with pytest.raises(ValueError, match=r"line 3, field n1i: events"):
        run(["escalc", "--measure", "OR", str(src)])


def test_one_extra_empty_field_per_row_does_not_shift_columns(tmp_path):
    body = "study,m1i,sd1i,n1i,m2i,sd2i,n2i\nA,10,2,10,8,3,12\nB,5,1.5,20,6,1.5,21\n"
    plain, excel = tmp_path / "plain.csv", tmp_path / "excel.csv"
    plain.write_text(body)
    excel.write_text(body.replace("\n", ",\n"))
    assert run(["escalc", "--measure", "SMD", str(plain), "-o", str(tmp_path / "a.csv")]) == 0
    assert run(["escalc", "--measure", "SMD", str(excel), "-o", str(tmp_path / "b.csv")]) == 0
    a, b = pd.read_csv(tmp_path / "a.csv"), pd.read_csv(tmp_path / "b.csv")
    pd.testing.assert_frame_equal(a, b)
    assert list(a["study"]) == ["A", "B"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("study,m1i,sd1i,n1i,m2i,sd2i,n2i\nA,10,2,10,8,3,12,x\n",
         r"line 2: 8 fields, but the header has 7"),
        ("", r"the file is empty"),
        ("study,m1i,sd1i,n1i,m2i,sd2i,n2i\n", r"no data rows"),
        ("study,m1i,sd1i,n1i,m2i,sd2i,n2i\n\nA,1,1,10,0,1,10\n\nB,1,-2,10,0,1,10\n",
         r"line 5 \(study 'B'\), field sd1i"),
    ],
)
def test_bad_files_are_refused_with_file_and_line(tmp_path, body, message):
    src = tmp_path / "bad.csv"
    src.write_text(body)
    with pytest.raises(ValueError, match=message) as exc:
        run(["escalc", "--measure", "MD", str(src)])
    assert str(exc.value).startswith(str(src))
