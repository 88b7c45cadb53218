"""The main command: every subcommand is registered, and only the one run is imported."""

import subprocess
import sys

from ketamine_evidence import cli


def test_every_listed_subcommand_is_registered():
    parser = cli.build_parser()
    choices = parser._subparsers._group_actions[0].choices
    listed = {c for commands in cli.SUBCOMMANDS.values() for c in commands}
    assert set(choices) == listed


def test_one_subcommand_imports_only_its_module():
    code = ("import sys; from ketamine_evidence import cli; cli.build_parser(['pool', 'x.csv']);"
            "print(sorted(m for m in sys.modules if m.startswith('ketamine_evidence.cli.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "['ketamine_evidence.cli.meta']"


def test_error_exit_code_and_message(tmp_path, capsys):
    missing = tmp_path / "nope.csv"
    assert cli.main(["analyze", "--effects", str(missing), "--config",
                     str(cli_config())]) == 2
    assert "nope.csv" in capsys.readouterr().err


def cli_config():
    from pathlib import Path

    return Path(__file__).resolve().parents[1] / "config.yaml"


def test_awaiting_lists_new_trials_and_fails_on_request(tmp_path, capsys):
    import pandas as pd

    from ketamine_evidence.schemas.records import SCREENING_SCHEMA, write_table

    row = {c: None for c in SCREENING_SCHEMA.columns}
    row |= {"record_id": "pubmed:40000001", "source": "pubmed", "record_type": "publication",
            "study_id": "auto_pmid40000001", "stage": "full_text", "decision": "include",
            "reason_code": "include", "reason_text": "publication type RCT",
            "decided_by": "rules", "overridden": False, "rule_stage": "full_text",
            "rule_decision": "include", "rule_reason_code": "include"}
    screening = tmp_path / "screening.csv"
    write_table(pd.DataFrame([row]), screening, SCREENING_SCHEMA)
    chars = tmp_path / "study_characteristics.csv"
    chars.write_text("study_id,label\nfeder2021,Feder 2021\n")
    argv = ["awaiting", "--screening", str(screening), "--characteristics", str(chars)]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "1 included record(s) need a reviewer" in out and "pubmed:40000001" in out
    assert cli.main([*argv, "--fail-if-any"]) == 3
