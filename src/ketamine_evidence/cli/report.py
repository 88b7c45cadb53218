"""``ketamine-evidence report``: build the self-contained HTML report from the workflow outputs.

The main CLI adds this subcommand with :func:`register`; :func:`main` runs it on its own
(``python -m ketamine_evidence.cli.report report --output results/report.html``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path

from ketamine_evidence import provenance, report
from ketamine_evidence.cli.files import FILES, file_option
from ketamine_evidence.tables import TableError, write_text

# (option, ReportInputs/load_report_inputs keyword, default path, help): the files of FILES;
# --analyses: the Methods are written from the analysis settings 'analyze' recorded there
INPUT_OPTIONS = tuple((option, option[2:].replace("-", "_"), *FILES[option]) for option in (
    "--claims", "--pooled", "--study-effects", "--sensitivity", "--moderators", "--figures-dir",
    "--prisma", "--studies", "--screening", "--characteristics", "--risk-of-bias",
    "--not-poolable", "--registry-vs-publication", "--within-arm", "--published-syntheses",
    "--records", "--registry-facts", "--certainty", "--summary-of-findings", "--claim-studies",
    "--manifest", "--analyses", "--config", "--changes"))
#: Inputs a review may legitimately lack (context only); every other input is required.
OPTIONAL_INPUTS = report.OPTIONAL_INPUTS


def missing_inputs(args: argparse.Namespace) -> list[str]:
    """The required inputs of ``args`` that do not exist, as ``"path (what it is)"``."""
    missing = []
    for _, dest, _, help_text in INPUT_OPTIONS:
        path = getattr(args, dest)
        if dest in OPTIONAL_INPUTS or path is None:
            continue
        exists = path.is_dir() if dest == "figures_dir" else path.is_file()
        if not exists:
            missing.append(f"{path} ({help_text})")
    return missing


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``report`` subcommand to ``subparsers``; it sets ``func`` to :func:`run`.

    Every input but ``--published-syntheses``, ``--registry-facts`` and ``--records`` must
    exist: a report built from missing inputs would look current while saying little.
    ``--allow-missing`` builds it anyway (a preview), naming each missing input in the page.
    """
    parser = subparsers.add_parser(
        "report", help="build the self-contained HTML report",
        description="Build one self-contained HTML report (figures embedded, no network "
                    "needed) from the workflow outputs. A missing input is an error (exit status 2) "
                    "unless --allow-missing is given.")
    for option, dest, _, _ in INPUT_OPTIONS:
        file_option(parser, option, dest=dest)
    parser.add_argument("--figure", dest="figures", type=Path, action="append", default=[],
                        metavar="PNG", help="an extra figure file to embed (repeatable)")
    parser.add_argument("--generated-on", default=None, metavar="DATE",
                        help="a date to show in the header (default: none; the build time is "
                             "shown only when SOURCE_DATE_EPOCH is set, so that two builds "
                             "from the same inputs are byte-identical)")
    parser.add_argument("--allow-missing", action="store_true",
                        help="build a preview even when inputs are missing; the page names "
                             "them (default: fail)")
    parser.add_argument("-o", "--output", "--out", type=Path,
                        default=Path("results/report.html"), metavar="PATH",
                        help="where to write the HTML")
    parser.set_defaults(func=run)
    register_stamp(subparsers)
    return parser


def run(args: argparse.Namespace) -> int:
    """Load the inputs named in ``args``, write the report, return the exit code.

    Raises
    ------
    TableError
        When a required input is missing and ``--allow-missing`` was not given; nothing is
        written then (an older report stays as it was, and its build stamp says what it
        was built from).
    """
    missing = missing_inputs(args)
    if missing and not args.allow_missing:
        raise TableError("missing inputs (run the workflow first, or pass --allow-missing "
                         "for a preview): " + "; ".join(missing))
    kwargs = {dest: getattr(args, dest) for _, dest, _, _ in INPUT_OPTIONS}
    inputs = report.load_report_inputs(**kwargs, figures=args.figures,
                                       generated_on=args.generated_on)
    stamp_of_inputs = provenance.build_stamp(
        config=args.config, manifest=args.manifest,
        inputs={str(getattr(args, dest)): getattr(args, dest)
                for _, dest, _, _ in INPUT_OPTIONS if getattr(args, dest) is not None})
    inputs = dataclasses.replace(inputs, stamp=stamp_of_inputs)
    out = report.write_report(inputs, args.output)
    missing = [s["path"] for s in report.input_status(inputs) if s["state"] != "loaded"]
    print(f"wrote {out}" + (f" (missing or empty: {', '.join(missing)})" if missing else ""))
    return 0


def stamp(args: argparse.Namespace) -> int:
    """Write the build stamp of the whole review (``results/build_stamp.json``)."""
    data = provenance.build_stamp(config=args.config, manifest=args.manifest,
                                  inputs=args.inputs, outputs=args.outputs)
    write_text(json.dumps(data, indent=2) + "\n", args.output)
    print(f"wrote {args.output}: {provenance.stamp_line(data)}")
    return 0


def register_stamp(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``stamp`` subcommand (the workflow's last step)."""
    parser = subparsers.add_parser(
        "stamp", help="record what the outputs were built from",
        description="Write a JSON build stamp: git commit (and uncommitted changes), package "
                    "version, SHA-256 of the config, snapshot date, and the SHA-256 of every "
                    "input and output file named.")
    file_option(parser, "--config")
    file_option(parser, "--manifest")
    parser.add_argument("--inputs", nargs="*", default=[], metavar="PATH",
                        help="source files the build read (curated sheets, snapshot files)")
    parser.add_argument("--outputs", nargs="*", default=[], metavar="PATH",
                        help="files and folders the build wrote")
    parser.add_argument("-o", "--output", type=Path, default=Path("results/build_stamp.json"),
                        metavar="PATH", help="where to write the stamp "
                                             "(default: results/build_stamp.json)")
    parser.set_defaults(func=stamp)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ketamine-evidence")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
