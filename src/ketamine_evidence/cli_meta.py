"""``ketamine-evidence pool``: pool a CSV of effect sizes with :func:`meta.rma`.

The CSV uses metafor's column names: ``yi`` (effect size), ``vi`` (sampling variance)
and optionally ``study``. Errors name the file, the row (1-based data row, as a
spreadsheet shows it counting the header as row 1) and the field.
"""

from __future__ import annotations

import csv
import json
import math
import sys
import warnings
from pathlib import Path

from . import KetamineEvidenceError
from .meta import METHODS, TESTS, MetaAnalysisWarning, rma


class PoolInputError(KetamineEvidenceError, ValueError):
    """The CSV given to ``pool`` cannot be pooled."""


def register(subparsers) -> None:
    """Add the ``pool`` subcommand to an argparse subparsers object."""
    p = subparsers.add_parser(
        "pool",
        help="pool yi/vi effect sizes from a CSV (random-effects meta-analysis)",
        description="Pool effect sizes (columns yi, vi, optional study) with metafor-exact "
        "estimators.",
    )
    p.add_argument("file", type=Path, help="CSV with columns yi, vi and optionally study")
    p.add_argument("--method", default="REML", choices=[m for m in METHODS],
                   help="tau^2 estimator (default REML)")
    p.add_argument("--test", default="knha", choices=list(TESTS),
                   help="inference for the pooled effect (default knha)")
    p.add_argument("--level", type=float, default=0.95, help="confidence level (default 0.95)")
    p.add_argument("--format", default="table", choices=["table", "json"], dest="fmt")
    p.set_defaults(func=run_pool)


def read_effects(path: Path) -> tuple[list[float], list[float], list[str] | None]:
    """Read ``yi``, ``vi`` and optional ``study`` from a CSV, checking every field."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise PoolInputError(f"{path}: cannot read file ({exc.strerror})") from exc
    reader = csv.DictReader(text.splitlines())
    fields = [f.strip() for f in (reader.fieldnames or [])]
    for need in ("yi", "vi"):
        if need not in fields:
            raise PoolInputError(f"{path}: missing column {need!r} (found: {', '.join(fields)})")
    yi, vi, study = [], [], []
    has_study = "study" in fields
    for n, raw in enumerate(reader, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in raw.items()}
        vals = {}
        for col in ("yi", "vi"):
            cell = row.get(col, "")
            try:
                vals[col] = float(cell)
            except ValueError:
                raise PoolInputError(
                    f"{path}: row {n}, field {col!r}: not a number ({cell!r})"
                ) from None
            if not math.isfinite(vals[col]):
                raise PoolInputError(f"{path}: row {n}, field {col!r}: not finite ({cell!r})")
        if vals["vi"] <= 0:
            raise PoolInputError(
                f"{path}: row {n}, field 'vi': sampling variance must be positive, "
                f"got {vals['vi']!r}"
            )
        yi.append(vals["yi"])
        vi.append(vals["vi"])
        study.append(row.get("study") or f"row {n}")
    if not yi:
        raise PoolInputError(f"{path}: no data rows")
    return yi, vi, (study if has_study else None)


def run_pool(args) -> int:
    """Entry point of ``pool``; returns the exit status."""
    try:
        yi, vi, study = read_effects(args.file)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", MetaAnalysisWarning)
            res = rma(yi, vi, method=args.method, test=args.test, level=args.level,
                      study=study)
    except (PoolInputError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    row = res.to_frame().iloc[0].to_dict()
    if args.fmt == "json":
        out = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
        out = {k: (v.item() if hasattr(v, "item") else v) for k, v in out.items()}
        out["weights"] = res.weights.tolist()
        out["study"] = list(res.study) if res.study is not None else None
        print(json.dumps(out, indent=2))
    else:
        width = max(len(k) for k in row)
        for k, v in row.items():
            print(f"{k:<{width}}  {v}")
    return 0
