"""Every input a subcommand reads names itself when it is damaged: no traceback, exit 2.

Issue 9: "CSV read errors (non-UTF-8 file, empty file, a row with an extra field) do not name
the file". The curated sheets and the files given to pool/escalc are covered in
test_bad_input.py and the CLI tests; these are the workflow's own intermediate files, which a
user can damage too (an editor saving them in another encoding, a hand edit).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ketamine_evidence import cli

ROOT = Path(__file__).resolve().parents[1]
CONFIG = str(ROOT / "config.yaml")
NOT_UTF8 = b"record_id,source\nPMID:1,pubm\xe9d\n"


def _run(capsys, argv):
    code = cli.main(argv)
    err = capsys.readouterr().err
    return code, err


@pytest.mark.parametrize(("argv", "content", "pattern"), [
    (["screen", "--config", CONFIG, "--records", "{f}"], NOT_UTF8, r"not UTF-8"),
    (["screen", "--config", CONFIG, "--records", "{f}"],
     b"record_id,source\nPMID:1,pubmed,extra\n", r"line 2: 3 fields"),
    (["prisma", "--records", "{f}"], b"", r"the file is empty"),
    (["awaiting", "--screening", "{f}"], NOT_UTF8, r"not UTF-8"),
    (["records", "--config", "{f}"], b"review: [\n", r"not valid YAML"),
    (["records", "--config", "{f}"], b"review:\n  title: caf\xe9\n", r"not UTF-8"),
])
def test_damaged_inputs_are_named(tmp_path, capsys, argv, content, pattern):
    damaged = tmp_path / "damaged.csv"
    damaged.write_bytes(content)
    code, err = _run(capsys, [str(a).format(f=damaged) for a in argv])
    assert code == 2, err
    assert "Traceback" not in err
    first = err.strip().splitlines()[0]
    assert first.startswith(f"ketamine-evidence {argv[0]}: error: ")
    assert str(damaged) in first and re.search(pattern, err), err


def test_damaged_characteristics_sheet_of_awaiting_is_named(tmp_path, capsys):
    import pandas as pd

    from ketamine_evidence.schemas.records import SCREENING_SCHEMA, write_table

    screening = tmp_path / "screening.csv"
    write_table(pd.DataFrame(columns=list(SCREENING_SCHEMA.columns)), screening,
                SCREENING_SCHEMA)
    chars = tmp_path / "study_characteristics.csv"
    chars.write_bytes(b"study_id,label\nfeder2021,F\xe9der 2021\n")
    code, err = _run(capsys, ["awaiting", "--screening", str(screening),
                              "--characteristics", str(chars)])
    assert code == 2 and "Traceback" not in err
    assert f"{chars} line 2: not UTF-8" in err


def test_a_table_that_breaks_its_schema_is_named(tmp_path, capsys):
    records = tmp_path / "records.csv"
    records.write_text("record_id,source\nPMID:1,pubmed\n")
    code, err = _run(capsys, ["screen", "--config", CONFIG, "--records", str(records)])
    assert code == 2 and "Traceback" not in err
    assert str(records) in err.splitlines()[0]
    assert "does not match the records table" in err


@pytest.mark.parametrize(("content", "message"), [
    (b'{"identification": ', r"prisma\.json: not valid JSON"),
    (b'{"a": "caf\xe9"}', r"prisma\.json line 1: not UTF-8"),
    (b"[" * 100_000, r"prisma\.json: not valid JSON"),
])
def test_invalid_json_is_named(tmp_path, content, message):
    from ketamine_evidence.tables import TableError, read_json

    prisma = tmp_path / "prisma.json"
    prisma.write_bytes(content)
    with pytest.raises(TableError, match=message):
        read_json(prisma)
