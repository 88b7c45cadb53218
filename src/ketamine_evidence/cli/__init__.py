"""Command line (stage: cli): the entry point ``ketamine-evidence`` and its subcommands.

It owns argument parsing, reading and writing the files a subcommand names, and exit
codes; the Snakemake rules call these subcommands (``python -m ketamine_evidence.cli``).
One module per group of subcommands, imported only when one of its subcommands runs
(:data:`SUBCOMMANDS`). It may import every other part of the package; nothing but the
rules' helpers imports it."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from ketamine_evidence import KetamineEvidenceError, __version__

# Each module defines ``register(subparsers)`` adding the subcommands listed beside it. Only
# the module of the subcommand being run is imported (they pull in pandas, scipy, matplotlib),
# which keeps every workflow step's start-up short; --help imports them all.
SUBCOMMANDS = {
    "ketamine_evidence.cli.records": ("refresh", "init-snapshot", "records", "screen", "prisma",
                                      "awaiting"),
    "ketamine_evidence.cli.extract": ("effects", "validate-sheet", "registry-effects"),
    "ketamine_evidence.cli.effects": ("escalc",),
    "ketamine_evidence.cli.meta": ("pool",),
    "ketamine_evidence.cli.analysis": ("analyze", "claims"),
    "ketamine_evidence.cli.figures": ("figures",),
    "ketamine_evidence.cli.report": ("report", "stamp"),
    "ketamine_evidence.cli.changes": ("diff",),
}


def _modules_for(argv: list[str]) -> list[str]:
    command = next((a for a in argv if not a.startswith("-")), None)
    for module, commands in SUBCOMMANDS.items():
        if command in commands:
            return [module]
    return list(SUBCOMMANDS)


class DefaultsHelpFormatter(argparse.HelpFormatter):
    """Shows ``(default: X)`` after an option's help unless the help already names its default.

    Unlike :class:`argparse.ArgumentDefaultsHelpFormatter` it says nothing for options without
    a default (``None``) and for flags (``False``).
    """

    def _get_help_string(self, action):
        text = action.help or ""
        if (action.option_strings and action.default not in (None, False, [], argparse.SUPPRESS)
                and "default" not in text):
            text += " (default: %(default)s)"
        return text


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The ``ketamine-evidence`` parser; with ``argv``, only the subcommand it names."""
    parser = argparse.ArgumentParser(
        prog="ketamine-evidence",
        description="Living evidence synthesis that tests claims against trial evidence: "
                    "retrieval, screening, extraction, meta-analysis, claims and report. The "
                    "question reviewed is set by the configuration (config.yaml).")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    modules = list(SUBCOMMANDS) if argv is None else _modules_for(argv)
    for name in modules:
        importlib.import_module(name).register(subparsers)
    for sub in subparsers.choices.values():
        sub.formatter_class = DefaultsHelpFormatter
    return parser


#: Exit status of a subcommand that stopped on an error (bad input, failed retrieval); the
#: same as argparse's for a usage error. ``awaiting --fail-if-any`` uses 3.
EXIT_ERROR = 2


def error_message(exc: BaseException) -> str:
    """The words for an error that stopped a subcommand, without a traceback.

    A missing file reads the same whichever step hit it: ``<path>: no such file``.
    """
    if isinstance(exc, FileNotFoundError) and exc.filename is not None:
        return f"{exc.filename}: no such file"
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror or exc}"
    return str(exc)


def _discard_output(stream) -> None:
    """Point ``stream``'s file descriptor at /dev/null (its reader went away)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, stream.fileno())
    finally:
        os.close(devnull)


class ReaderMayLeave:
    """``sys.stdout`` while a subcommand runs: a reader that goes away is not an error.

    When the reader of a pipe leaves (``ketamine-evidence diff | head -3``), writing raises
    :class:`BrokenPipeError`; this wrapper then sends the rest of the output to /dev/null and
    lets the subcommand run on to its end, so that it still writes its files and returns its
    own exit status (``diff``: 1 when something changed; ``awaiting --fail-if-any``: 3).
    """

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            _discard_output(self._stream)
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            _discard_output(self._stream)
            self._stream.flush()  # what was still buffered goes to /dev/null

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    stdout, sys.stdout = sys.stdout, ReaderMayLeave(sys.stdout)
    try:
        status = int(args.func(args) or 0)
        sys.stdout.flush()  # inside the try: a reader that went away is seen here
        return status
    except BrokenPipeError:
        # Written past the wrapper (to the binary buffer): still not an error.
        _discard_output(stdout)
        return 0
    except (KetamineEvidenceError, ValueError, OSError) as exc:
        print(f"ketamine-evidence {args.command}: error: {error_message(exc)}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        sys.stdout = stdout

