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
            "print(sorted(m for m in sys.modules if m.startswith('ketamine_evidence.cli_')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "['ketamine_evidence.cli_meta']"


def test_error_exit_code_and_message(tmp_path, capsys):
    missing = tmp_path / "nope.csv"
    assert cli.main(["analyze", "--effects", str(missing), "--config",
                     str(cli_config())]) == 2
    assert "nope.csv" in capsys.readouterr().err


def cli_config():
    from pathlib import Path

    return Path(__file__).resolve().parents[1] / "config.yaml"
