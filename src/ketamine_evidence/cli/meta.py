"""``ketamine-evidence pool``: pool a CSV of effect sizes with :func:`meta.rma`.

The CSV uses metafor's column names: ``yi`` (effect size), ``vi`` (sampling variance)
and optionally ``study``; a ``measure`` column guards against pooling different scales, and
an ``analysis_id`` column pools each analysis on its own (``results/study_effects.csv`` has
both). Errors name the file, the line (as a text editor counts it, header = line 1) and
the field.
"""

from __future__ import annotations

import json
import math
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

from .. import KetamineEvidenceError
from ..meta import METHODS, TESTS, MetaAnalysisWarning, rma
from ..tables import read_csv_text


class PoolInputError(KetamineEvidenceError, ValueError):
    """The CSV given to ``pool`` cannot be pooled."""


def register(subparsers) -> None:
    """Add the ``pool`` subcommand to an argparse subparsers object."""
    p = subparsers.add_parser(
        "pool",
        help="pool yi/vi effect sizes from a CSV (random-effects meta-analysis)",
        description="Pool effect sizes (columns yi, vi, optional study) with metafor-exact "
        "estimators and print the result. A 'measure' column guards against pooling different "
        "scales; an 'analysis_id' column pools each analysis on its own.",
    )
    p.add_argument("file", type=Path, metavar="FILE.csv",
                   help="CSV with columns yi, vi and optionally study, measure, analysis_id")
    p.add_argument("--method", default="REML", choices=[m for m in METHODS],
                   help="tau^2 estimator")
    p.add_argument("--test", default="knha", choices=list(TESTS),
                   help="inference for the pooled effect (knha = Hartung-Knapp-Sidik-Jonkman)")
    p.add_argument("--level", type=float, default=0.95, help="confidence level")
    p.add_argument("--format", default="table", choices=["table", "json"], dest="fmt",
                   help="a two-column table or JSON")
    p.set_defaults(func=run_pool)


@dataclass(frozen=True)
class EffectSet:
    """The rows of one pooled set: all rows, or those of one ``analysis_id``."""

    analysis_id: str | None
    yi: list[float]
    vi: list[float]
    study: list[str] | None
    lines: list[int]


def _number(path: Path, row: dict, col: str, where: str) -> float:
    cell = row.get(col) or ""
    try:
        value = float(cell)
    except ValueError:
        raise PoolInputError(f"{path} {where}, field {col!r}: not a number ({cell!r})") from None
    if not math.isfinite(value):
        raise PoolInputError(f"{path} {where}, field {col!r}: not finite ({cell!r})")
    return value


def read_effect_sets(path: Path) -> list[EffectSet]:
    """Read ``yi``, ``vi`` and the optional ``study``, ``measure``, ``analysis_id`` columns.

    Rows of different measures (an SMD, an MD and a log RR are on different scales) are never
    pooled together: with an ``analysis_id`` column each analysis is pooled on its own and must
    use one measure; without it, a file with more than one measure is refused.

    Raises
    ------
    PoolInputError or TableError
        Naming the file, the line (as a text editor counts it) and the field.
    """
    frame = read_csv_text(path)
    fields = list(frame.columns)
    for need in ("yi", "vi"):
        if need not in fields:
            raise PoolInputError(f"{path}: missing column {need!r} (found: {', '.join(fields)})")
    if frame.empty:
        raise PoolInputError(f"{path}: no data rows")
    by_analysis = "analysis_id" in fields
    groups: dict[str | None, list[tuple[int, dict]]] = {}
    for row, line in zip(frame.to_dict("records"), frame.attrs["lines"], strict=True):
        if by_analysis and not row["analysis_id"]:
            raise PoolInputError(f"{path} line {line}, field 'analysis_id': is empty")
        groups.setdefault(row["analysis_id"] if by_analysis else None, []).append((line, row))
    sets = []
    for analysis_id, rows in groups.items():
        measures = sorted({r["measure"] for _, r in rows if r.get("measure")})
        if len(measures) > 1:
            which = (f"analysis_id {analysis_id!r} has rows with different measures"
                     if by_analysis else "rows with different measures")
            hint = ("" if by_analysis else "; add an analysis_id column to pool each "
                    "analysis separately")
            raise PoolInputError(f"{path}: {which} ({', '.join(measures)}) cannot be pooled "
                                 f"together{hint}")
        yi, vi, study, lines = [], [], [], []
        for line, row in rows:
            where = f"line {line}" + (f" (study {row['study']!r})" if row.get("study") else "")
            yi.append(_number(path, row, "yi", where))
            vi.append(_number(path, row, "vi", where))
            if vi[-1] <= 0:
                raise PoolInputError(f"{path} {where}, field 'vi': sampling variance must be "
                                     f"positive, got {vi[-1]!r}")
            study.append(row.get("study") or f"line {line}")
            lines.append(line)
        sets.append(EffectSet(analysis_id, yi, vi, study if "study" in fields else None, lines))
    return sets


def _repeated_studies(path: Path, effect_set: EffectSet) -> list[str]:
    """Warnings for study labels used by more than one row of a pooled set."""
    if effect_set.study is None:
        return []
    lines: dict[str, list[int]] = {}
    for label, line in zip(effect_set.study, effect_set.lines, strict=True):
        lines.setdefault(label, []).append(line)
    within = "" if effect_set.analysis_id is None else f" of analysis {effect_set.analysis_id!r}"
    return [f"{path}: study {label!r} appears in {len(at)} rows{within} (lines "
            f"{', '.join(map(str, at))}); each row is weighted as a separate study"
            for label, at in lines.items() if len(at) > 1]


def _pool_one(effect_set: EffectSet, args) -> tuple[dict, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", MetaAnalysisWarning)
        res = rma(effect_set.yi, effect_set.vi, method=args.method, test=args.test,
                  level=args.level, study=effect_set.study)
    row = res.to_frame().iloc[0].to_dict()
    if effect_set.analysis_id is not None:
        row = {"analysis_id": effect_set.analysis_id, **row}
    if args.fmt == "json":
        row = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
        row = {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
        row["weights"] = res.weights.tolist()
        row["study"] = list(res.study) if res.study is not None else None
    return row, [str(w.message) for w in caught]


def run_pool(args) -> int:
    """Entry point of ``pool``: one pooled result, or one per ``analysis_id``."""
    sets = read_effect_sets(args.file)
    results = []
    for effect_set in sets:
        for message in _repeated_studies(args.file, effect_set):
            print(f"warning: {message}", file=sys.stderr)
        row, caught = _pool_one(effect_set, args)
        for message in caught:
            print(f"warning: {message}", file=sys.stderr)
        results.append(row)
    per_analysis = sets[0].analysis_id is not None
    if args.fmt == "json":
        print(json.dumps(results if per_analysis else results[0], indent=2))
        return 0
    width = max(len(k) for row in results for k in row)
    blocks = ["\n".join(f"{k:<{width}}  {v}" for k, v in row.items()) for row in results]
    print("\n\n".join(blocks))
    return 0
