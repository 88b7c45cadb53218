"""The ``effects`` and ``validate-sheet`` subcommands."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import yaml
from test_extraction_fixtures import CHARS, ext_row, write_sheets

from ketamine_evidence.cli import extract as cli_extract
from ketamine_evidence.schemas import extraction as sx

FIXTURE = (
    Path(__file__).resolve().parent / "fixtures" / "registry" / "ketamine_midazolam_posted.json"
)


ROOT = Path(__file__).resolve().parents[1]


def _run(argv):
    import argparse

    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    cli_extract.register(sub)
    args = parser.parse_args(argv)
    return args.func(args)


def test_validate_sheet_ok(tmp_path, capsys):
    write_sheets(tmp_path, [ext_row()])
    config = str(ROOT / "config.yaml")  # the vocabulary the sheets are checked against
    assert _run(["validate-sheet", "--curated-dir", str(tmp_path), "--config", config]) == 0
    assert (
        "OK (1 extraction rows, 3 studies, 0 risk-of-bias rows; thresholds: absent, "
        "registry facts: absent)" in capsys.readouterr().out
    )


def test_validate_sheet_lists_problems(tmp_path):
    write_sheets(tmp_path, [ext_row(sd1i="-1"), ext_row(row_id="E0002", ai="x")])
    from ketamine_evidence.extraction import SheetValidationError

    try:
        _run(["validate-sheet", "--curated-dir", str(tmp_path)])
    except SheetValidationError as exc:
        assert len(exc.errors) == 2
        assert "extraction.csv row 1 (line 2; E0001, feder2021, CAPS-5, week 2): sd1i" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("no error raised")


def test_main_cli_reports_error_with_exit_code_2(tmp_path, capsys):
    from ketamine_evidence import cli

    write_sheets(tmp_path, [ext_row(sd1i="-1")])
    try:
        code = cli.main(["validate-sheet", "--curated-dir", str(tmp_path)])
    except ModuleNotFoundError:  # another subcommand module not written yet
        return
    assert code == 2
    assert "sd1i: is negative" in capsys.readouterr().err


def test_effects_writes_all_tables(tmp_path, capsys):
    curated = tmp_path / "raw"
    curated.mkdir()
    chars = [dict(c) for c in CHARS]
    chars[0]["nct_ids"] = "NCT99999901"
    write_sheets(
        curated,
        [
            ext_row(row_id="E0001", baseline_m1i="34"),
            ext_row(row_id="E0002", data_type="narrative", m1i="", m2i="", narrative="words"),
        ],
        chars,
    )
    reg = tmp_path / "registry"
    reg.mkdir()
    shutil.copy(FIXTURE, reg / "study_NCT99999901.json")
    (reg / "search_p001.json").write_text('{"studies": []}')
    config = tmp_path / "config.yaml"
    project = yaml.safe_load((ROOT / "config.yaml").read_text())
    project["analysis"]["crossover_r"] = 0.6
    config.write_text(yaml.safe_dump(project))
    out = tmp_path / "processed"
    argv = [
        "effects",
        "--config",
        str(config),
        "--curated-dir",
        str(curated),
        "--registry-dir",
        str(reg),
        "--out-dir",
        str(out),
    ]
    assert _run(argv) == 0
    effects = pd.read_csv(out / "effects.csv")
    assert list(effects.columns) == sx.EFFECTS_COLUMNS
    assert set(effects.measure) == {"SMD", "MD", "ROM"}
    np_ = pd.read_csv(out / "not_poolable.csv")
    assert np_.row_ids.tolist() == ["E0002"]
    within = pd.read_csv(out / "within_arm.csv")
    assert within.row_id.tolist() == ["E0001"]
    reg_rows = pd.read_csv(out / "registry_rows.csv")
    assert len(reg_rows) == 12 and set(reg_rows.study_id) == {"feder2021"}
    assert len(pd.read_csv(out / "registry_analyses.csv")) == 2
    cmp = pd.read_csv(out / "registry_vs_publication.csv")
    agree = cmp[(cmp.row_id == "E0001") & (cmp.field == "m1i")]
    assert agree.status.tolist() == ["agree"]
    text = capsys.readouterr().out
    assert "2 extraction rows: 1 gave 3 effects" in text
    assert "search_p001.json: skipped" in text


def test_effects_without_registry_writes_empty_registry_tables(tmp_path):
    write_sheets(tmp_path, [ext_row()])
    out = tmp_path / "out"
    assert _run(["effects", "--curated-dir", str(tmp_path), "--out-dir", str(out)]) == 0
    for name in ("registry_rows.csv", "registry_vs_publication.csv", "registry_analyses.csv"):
        frame = pd.read_csv(out / name)
        assert frame.empty and len(frame.columns) > 5


def test_effects_writes_nothing_when_sheet_invalid(tmp_path):
    write_sheets(tmp_path, [ext_row(n1i="-2")])
    out = tmp_path / "out"
    try:
        _run(["effects", "--curated-dir", str(tmp_path), "--out-dir", str(out)])
    except ValueError:
        pass
    assert not out.exists()
