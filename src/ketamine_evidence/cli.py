"""Command-line entry point ``ketamine-evidence``; the Snakemake rules call these subcommands."""

from __future__ import annotations

import argparse
import importlib
import sys

from ketamine_evidence import __version__

# Each module defines ``register(subparsers)`` adding its subcommands.
SUBCOMMAND_MODULES = (
    "ketamine_evidence.cli_records",    # refresh, records, screen, prisma
    "ketamine_evidence.cli_extract",    # effects, validate-sheet
    "ketamine_evidence.cli_effects",    # escalc
    "ketamine_evidence.cli_meta",       # pool
    "ketamine_evidence.cli_analysis",   # analyze, claims
    "ketamine_evidence.cli_figures",    # figures
    "ketamine_evidence.cli_report",     # report
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ketamine-evidence",
        description="Living evidence synthesis of ketamine for PTSD: retrieval, screening, "
                    "extraction, meta-analysis, claims and report.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ValueError, OSError) as exc:
        print(f"ketamine-evidence {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
