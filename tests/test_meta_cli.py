"""The ``pool`` subcommand, through a tiny argparse harness (cli.py is owned elsewhere)."""

from __future__ import annotations

import argparse
import json

import pytest

from ketamine_evidence import cli_meta
from ketamine_evidence.meta import rma


def run(argv, capsys):
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    cli_meta.register(sub)
    args = parser.parse_args(argv)
    code = args.func(args)
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
        ("yi,vi\n0.2,0.04\n0.5,abc\n", r"row 3, field 'vi': not a number"),
        ("yi,vi\n0.2,0.04\n0.5,0\n", r"row 3, field 'vi': sampling variance must be positive"),
        ("yi,vi\n,0.04\n", r"row 2, field 'yi'"),
        ("y,vi\n0.2,0.04\n", r"missing column 'yi'"),
    ],
)
def test_pool_errors_name_file_row_field(tmp_path, capsys, text, pattern):
    import re

    p = write(tmp_path, text)
    code, _, err = run(["pool", str(p)], capsys)
    assert code == 2
    assert str(p) in err and re.search(pattern, err)


def test_pool_single_study_warns(tmp_path, capsys):
    p = write(tmp_path, "yi,vi\n0.2,0.04\n")
    code, _, err = run(["pool", str(p)], capsys)
    assert code == 0 and "k = 1" in err
