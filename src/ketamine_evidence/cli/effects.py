"""``ketamine-evidence escalc``: add metafor-style ``yi``/``vi`` columns to a CSV of arm-level data.

Example::

    ketamine-evidence escalc --measure SMD trials.csv -o trials_smd.csv

The input CSV uses metafor's column names: ``m1i, sd1i, n1i, m2i, sd2i, n2i`` for
``MD``/``SMD``/``ROM``; ``ai, ci`` plus either ``bi, di`` or ``n1i, n2i`` for
``RR``/``OR``/``RD`` (group 1 = experimental).  A ``study`` column (or the one named
by ``--study-column``) labels rows in error messages.  All input columns are kept;
``yi`` and ``vi`` are appended (replaced if present) at full precision.  Errors name
the file, the line (header = line 1), the study and the field.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ketamine_evidence.effects import MEASURES, EffectInputError, escalc
from ketamine_evidence.tables import TableError, csv_text, read_csv_text, write_table

_CONTINUOUS_COLS = ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")


def _columns_for(measure: str, columns: list[str]) -> dict[str, str]:
    if measure in ("MD", "SMD", "ROM"):
        need = list(_CONTINUOUS_COLS)
    else:
        need = ["ai", "ci"]
        if {"bi", "di"} <= set(columns):
            need += ["bi", "di"]
            need += [c for c in ("n1i", "n2i") if c in columns]  # checked for consistency
        else:
            need += ["n1i", "n2i"]
    missing = [c for c in need if c not in columns]
    if missing:
        extra = "" if measure in ("MD", "SMD", "ROM") else " (binary measures need ai, ci and bi, di or n1i, n2i)"
        raise ValueError(f"missing column(s) {', '.join(missing)} for measure {measure}{extra}")
    return {c: c for c in need}


def escalc_command(args: argparse.Namespace) -> int:
    path = Path(args.file)
    data = read_csv_text(path)
    if data.empty:
        raise TableError(f"{path}: no data rows")
    lines = data.attrs["lines"]
    study = args.study_column
    if study is None and "study" in data.columns:
        study = "study"
    if study is not None and study not in data.columns:
        raise ValueError(f"{path}: study column {study!r} not found")
    try:
        cols = _columns_for(args.measure, list(data.columns))
        data = data.reset_index(drop=True)
        out = escalc(
            args.measure, **cols, add=args.add, to=args.to, vtype=args.vtype,
            drop00=args.drop00, data=data, study=study,
        )
    except EffectInputError as exc:
        if exc.position is not None:
            where = f"line {lines[exc.position]}"
            if exc.study is not None:
                where += f" (study {exc.study!r})"
            raise ValueError(f"{path}, {where}, field {exc.field}: {exc.problem}") from None
        raise ValueError(f"{path}, field {exc.field}: {exc.problem}") from None
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    if args.output in (None, "-"):
        sys.stdout.write(csv_text(out))
    else:
        write_table(out, args.output)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``escalc`` subcommand to the main ``ketamine-evidence`` parser."""
    p = subparsers.add_parser(
        "escalc",
        help="compute effect sizes (yi, vi) from arm-level data, like metafor::escalc",
        description="Compute effect sizes (yi, vi) from arm-level data with metafor's escalc "
                    "formulas and defaults; every input column is kept.",
    )
    p.add_argument("file", metavar="FILE.csv", help="CSV with metafor-named columns")
    p.add_argument("--measure", required=True, choices=MEASURES, help="effect-size measure")
    p.add_argument("-o", "--output", metavar="PATH",
                   help="where to write the CSV with yi and vi (default: standard output)")
    p.add_argument("--vtype", default="LS", help="variance estimator (metafor names)")
    p.add_argument("--add", type=float, default=0.5, help="continuity correction")
    p.add_argument("--to", default="only0", choices=("only0", "all", "if0all", "none"),
                   help="which studies get the continuity correction")
    p.add_argument("--drop00", action="store_true",
                   help="give double-zero studies NaN instead of a corrected estimate")
    p.add_argument("--study-column", default=None,
                   help="column with study labels for messages (default: 'study' if present)")
    p.set_defaults(func=escalc_command)
