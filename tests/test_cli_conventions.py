"""Conventions every subcommand keeps: documented options, one output name, the same message
and exit status for a missing file, and no error when the reader of its output goes away."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ketamine_evidence import cli

ROOT = Path(__file__).resolve().parents[1]
CONFIG = str(ROOT / "config.yaml")


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    return dict(cli.build_parser()._subparsers._group_actions[0].choices)


SUBCOMMANDS = sorted(_subcommands())


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_every_subcommand_has_a_description_and_documents_every_option(name):
    parser = _subcommands()[name]
    assert parser.description and len(parser.description) > 20, f"{name}: no description"
    text = parser.format_help()
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        shown = action.option_strings[0] if action.option_strings else action.dest
        assert action.help, f"{name} {shown}: no help text"
        default = action.default
        if action.option_strings and default not in (None, False, [], argparse.SUPPRESS):
            # the default is shown in the help, wherever argparse wraps the line
            flat = " ".join(text.split())
            assert re.search(rf"default:? {re.escape(str(default))}\b", flat), \
                f"{name} {shown}: default {default} not shown"


SINGLE_OUTPUT = ["screen", "prisma", "escalc", "claims", "report"]
FOLDER_OUTPUT = ["effects", "figures"]


@pytest.mark.parametrize("name", SINGLE_OUTPUT)
def test_one_file_output_is_called_output(name):
    options = {o for a in _subcommands()[name]._actions for o in a.option_strings}
    assert {"-o", "--output"} <= options


@pytest.mark.parametrize(("name", "old"), [("claims", "--out"), ("report", "--out"),
                                           ("effects", "--out-dir"), ("figures", "--outdir")])
def test_old_output_names_keep_working(name, old):
    parser = cli.build_parser([name])
    new = "--output" if name in SINGLE_OUTPUT else "--output-dir"
    a = parser.parse_args([name, old, "x"])
    b = parser.parse_args([name, new, "x"])
    key = "output" if name in SINGLE_OUTPUT else "output_dir"
    assert str(getattr(a, key)) == str(getattr(b, key)) == "x"


@pytest.mark.parametrize("name", FOLDER_OUTPUT)
def test_folder_output_is_called_output_dir(name):
    options = {o for a in _subcommands()[name]._actions for o in a.option_strings}
    assert "--output-dir" in options


MISSING_CASES = [
    ["pool", "{m}"],
    ["escalc", "--measure", "MD", "{m}"],
    ["screen", "--config", CONFIG, "--records", "{m}"],
    ["prisma", "--records", "{m}"],
    ["awaiting", "--screening", "{m}"],
    ["analyze", "--config", CONFIG, "--effects", "{m}"],
    ["claims", "--config", CONFIG, "--pooled", "{m}"],
    ["figures", "--config", CONFIG, "--analyses", "{m}"],
    ["records", "--config", "{m}"],
    ["validate-sheet", "--config", CONFIG, "--curated-dir", "{m}"],
    ["effects", "--config", CONFIG, "--curated-dir", "{m}"],
    ["records", "--config", CONFIG, "--snapshot-dir", "{m}"],
]


@pytest.mark.parametrize("argv", MISSING_CASES, ids=lambda a: "-".join(a[:1] + a[-2:-1]))
def test_a_missing_input_gets_the_same_message_and_exit_status(tmp_path, capsys, argv):
    missing = tmp_path / "missing.csv"
    code = cli.main([a.format(m=missing) for a in argv])
    err = capsys.readouterr().err
    assert code == cli.EXIT_ERROR == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert re.fullmatch(rf"ketamine-evidence {argv[0]}: error: "
                        rf"{re.escape(str(missing))}\S*: no such file( \(.+\))?", lines[0]), err


def test_a_closed_pipe_is_not_an_error(tmp_path):
    effects = tmp_path / "effects.csv"
    effects.write_text("yi,vi\n" + "".join(f"0.{i % 9},0.0{i % 9 + 1}\n" for i in range(50)))
    arms = tmp_path / "arms.csv"
    arms.write_text("m1i,sd1i,n1i,m2i,sd2i,n2i\n" + "10,2,10,8,3,12\n" * 20000)
    for argv in (["escalc", "--measure", "MD", str(arms)], ["pool", str(effects)]):
        proc = subprocess.Popen([sys.executable, "-m", "ketamine_evidence.cli", *argv],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        proc.stdout.readline()
        proc.stdout.close()  # like `| head -1`
        err = proc.stderr.read().decode()
        assert proc.wait() == 0, err
        assert "Traceback" not in err and "BrokenPipe" not in err


def test_make_help_lists_the_targets_and_make_clean_works(tmp_path):
    make = ["make", "-C", str(ROOT), "--no-print-directory"]
    out = subprocess.run([*make, "help"], capture_output=True, text=True, check=True).stdout
    for target in ("review", "test", "refresh", "clean", "help"):
        assert re.search(rf"^\s*{target}\s", out, re.MULTILINE), out
    dry = subprocess.run([*make, "-n", "clean"], capture_output=True, text=True)
    assert dry.returncode == 0, dry.stderr
    assert "results" in dry.stdout and "data/processed" in dry.stdout
    assert "data/raw" not in dry.stdout


def test_a_file_has_one_option_and_one_default_in_every_subcommand():
    """A workflow file read by several subcommands is named by the same option with the same
    default path everywhere (``cli_files.FILES``); ``None`` marks an optional input."""
    from ketamine_evidence.cli.files import FILES

    seen = 0
    for name, parser in _subcommands().items():
        for action in parser._actions:
            option = next((o for o in action.option_strings if o in FILES), None)
            if option is None or action.default is None or action.required:
                continue
            assert action.default == Path(FILES[option][0]), (name, option, action.default)
            assert isinstance(action.default, Path), (name, option)
            seen += 1
    assert seen >= 30


def test_review_folders_come_from_the_options_else_from_the_config(tmp_path):
    from ketamine_evidence.cli.files import review_folders

    # every folder given: the config is not read (it need not exist)
    args = argparse.Namespace(config=tmp_path / "absent.yaml", snapshot_dir="snap",
                              curated_dir=Path("cur"))
    assert review_folders(args, "snapshot_dir", "curated_dir") == (Path("snap"), Path("cur"))
    # a folder not given: the config's review.<name>
    args = argparse.Namespace(config=Path(CONFIG), snapshot_dir=None, curated_dir=Path("cur"))
    assert review_folders(args, "snapshot_dir", "curated_dir") == (
        Path("data/raw/snapshot"), Path("cur"))
    with pytest.raises(Exception, match="absent.yaml"):
        review_folders(argparse.Namespace(config=tmp_path / "absent.yaml", curated_dir=None),
                       "curated_dir")


@pytest.mark.parametrize("command", ["effects", "registry-effects"])
def test_a_registry_folder_that_does_not_exist_is_named(command, tmp_path, capsys):
    outputs = (["--output-dir", str(tmp_path / "out")] if command == "effects" else
               ["--output", str(tmp_path / "out"), "--screening", str(tmp_path / "s.csv")])
    status = cli.main([command, "--config", CONFIG, "--registry-dir", str(tmp_path / "nope"),
                       *outputs])
    assert status != 0
    assert f"registry snapshot folder not found: {tmp_path / 'nope'}" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
