"""Codebook checks of the curated sheets: text cells to typed columns, every problem named (pure)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pandera.pandas as pa

from ketamine_evidence import KetamineEvidenceError
from ketamine_evidence.schemas import extraction as sx


class SheetValidationError(KetamineEvidenceError, ValueError):
    """A curated sheet breaks the codebook; ``errors`` lists every problem found."""

    def __init__(self, errors: list[str]):
        self.errors = list(errors)
        n = len(self.errors)
        super().__init__(
            f"{n} problem{'s' if n != 1 else ''} in the curated sheets:\n  "
            + "\n  ".join(self.errors)
        )


# ----------------------------------------------------------------------------------------
# reading and validating
# ----------------------------------------------------------------------------------------
_TRUE = {"true", "yes", "1"}
_FALSE = {"false", "no", "0"}


def _missing(v) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))


def _row_label(file: str, df: pd.DataFrame, i, label_cols: list[str]) -> str:
    if i is None or (isinstance(i, float) and math.isnan(i)):
        return file
    i = int(i)
    parts = []
    for c in label_cols:
        if c in df.columns:
            v = df.at[i, c]
            if not _missing(v):
                parts.append(str(v))
    ident = "; " + ", ".join(parts) if parts else ""
    lines = df.attrs.get("lines")
    line = lines[i] if lines is not None and i < len(lines) else i + 2
    return f"{file} row {i + 1} (line {line}{ident})"


def _parse_number(v: object) -> tuple[float, str | None]:
    text = str(v)
    if "," in text:
        # "-11,88" is a decimal comma and "1,234" a thousands separator, or the other way
        # round: reading either would risk a number off by 100 or 1000.
        return np.nan, (f"{text!r} contains a comma: type the number with a point as the "
                        "decimal separator and no thousands separator")
    try:
        x = float(text)
    except ValueError:
        x = np.nan
    if not math.isfinite(x):
        return np.nan, f"is not a number ({v!r}); leave the cell empty when not reported"
    return x, None


def _parse_bool(v: object) -> tuple[object, str | None]:
    if str(v).lower() in _TRUE:
        return True, None
    if str(v).lower() in _FALSE:
        return False, None
    return pd.NA, f"must be true or false ({v!r})"


def _coerce(
    df: pd.DataFrame,
    file: str,
    label_cols: list[str],
    numeric: list[str],
    boolean: list[str],
    errors: list[str],
) -> pd.DataFrame:
    out = df.copy()
    for cols, parse, empty, dtype in (
        (numeric, _parse_number, np.nan, "float64"),
        (boolean, _parse_bool, pd.NA, "boolean"),
    ):
        for c in cols:
            if c not in out:
                continue
            vals = []
            for i, v in out[c].items():
                if _missing(v):
                    vals.append(empty)
                    continue
                x, problem = parse(v)
                if problem is not None:
                    errors.append(f"{_row_label(file, df, i, label_cols)}: {c}: {problem}")
                vals.append(x)
            out[c] = pd.Series(vals, index=out.index, dtype=dtype)
    for c in out.columns:
        if c not in numeric and c not in boolean:
            out[c] = out[c].astype(object)
    return out


def _header_errors(
    df: pd.DataFrame, file: str, expected: list[str], errors: list[str], optional=()
) -> None:
    missing = [c for c in expected if c not in df.columns and c not in optional]
    extra = [c for c in df.columns if c not in expected]
    if missing:
        errors.append(f"{file}: missing column(s): {', '.join(missing)}")
    if extra:
        errors.append(
            f"{file}: column(s) not in the codebook: {', '.join(extra)} "
            "(rename them or add them to the codebook and schema)"
        )
    dups = sorted({c for c in df.columns if list(df.columns).count(c) > 1})
    if dups:
        errors.append(f"{file}: duplicated column(s): {', '.join(dups)}")


def _required_errors(df, file, label_cols, required, errors) -> None:
    for c in required:
        if c not in df:
            continue
        for i in df.index[df[c].isna()]:
            errors.append(f"{_row_label(file, df, i, label_cols)}: {c}: is empty (required)")


def _pandera_errors(
    schema: pa.DataFrameSchema,
    df: pd.DataFrame,
    raw: pd.DataFrame,
    file: str,
    label_cols: list[str],
    skip_required: list[str],
    errors: list[str],
) -> None:
    """Validate lazily and turn pandera's failure cases into reviewer-readable messages."""
    try:
        schema.validate(df, lazy=True)
    except pa.errors.SchemaErrors as exc:
        fc = exc.failure_cases
        seen = set()
        for rec in fc.to_dict("records"):
            check = str(rec.get("check"))
            col = rec.get("column")
            idx = rec.get("index")
            value = rec.get("failure_case")
            if check == "not_nullable" and col in skip_required:
                continue  # already reported as "is empty (required)"
            if check in {"column_in_dataframe", "column_in_schema"}:
                continue  # header problems are reported by _header_errors
            if check.startswith("dtype("):
                continue  # coercion problems are reported by _coerce
            if check == "field_uniqueness" or check.startswith("field_uniqueness"):
                msg = f"{col}: duplicated value {value!r} (each value must be unique)"
            elif check == "multiple_fields_uniqueness":
                msg = "duplicated combination of study_id, outcome and domain"
            elif check == "not_nullable":
                msg = f"{col}: is empty (required)"
            elif ":" in check:
                # our named checks: "<field>: message"; dataframe checks report every column
                msg = check
            else:
                msg = f"{col}: fails {check}"
            if not msg.startswith(f"{col}:") and col is not None and ":" not in msg.split(" ")[0]:
                msg = f"{col}: {msg}"
            key = (idx, msg)
            if key in seen:
                continue
            seen.add(key)
            field = msg.split(":", 1)[0]
            shown = ""
            if not _missing(idx) and field in df.columns and "duplicated" not in msg:
                v = raw.at[int(idx), field] if field in raw.columns else None
                shown = f" (value: {v})" if not _missing(v) else ""
            errors.append(f"{_row_label(file, raw, idx, label_cols)}: {msg}{shown}")


EXTRACTION_LABEL = ["row_id", "study_id", "instrument", "timepoint"]
CHARACTERISTICS_LABEL = ["study_id"]
ROB_LABEL = ["study_id", "outcome", "domain"]
THRESHOLDS_LABEL = ["threshold_id", "instrument", "kind"]
REGISTRY_FACTS_LABEL = ["fact_id", "study_id", "fact_type"]


def _by_row(messages: list[str]) -> list[str]:
    """Order one file's messages by row number (file-level messages first), stably."""

    def key(m: str) -> int:
        hit = re.search(r" row (\d+) \(line", m)
        return int(hit.group(1)) if hit else 0

    return sorted(messages, key=key)


@dataclass(frozen=True)
class _Sheet:
    """The codebook of one curated sheet, as its checks use it.

    ``columns``: the codebook's columns in order; ``label_cols``: the cells that name a row in
    a message; ``required``: columns that may not be empty; ``numeric``/``boolean``: text
    cells parsed to numbers or true/false; ``optional``: columns an older sheet may lack.
    """

    columns: list[str]
    label_cols: list[str]
    required: list[str]
    numeric: list[str] = field(default_factory=list)
    boolean: list[str] = field(default_factory=list)
    optional: list[str] = field(default_factory=list)


_EXTRACTION = _Sheet(sx.EXTRACTION_COLUMNS, EXTRACTION_LABEL, sx.EXTRACTION_REQUIRED,
                     numeric=sx.EXTRACTION_FLOAT, boolean=sx.EXTRACTION_BOOL,
                     optional=sx.EXTRACTION_OPTIONAL)
_CHARACTERISTICS = _Sheet(sx.CHARACTERISTICS_COLUMNS, CHARACTERISTICS_LABEL,
                          sx.CHARACTERISTICS_REQUIRED, numeric=sx.CHARACTERISTICS_NUMERIC,
                          optional=sx.CHARACTERISTICS_OPTIONAL)
_ROB = _Sheet(sx.ROB_COLUMNS, ROB_LABEL, sx.ROB_REQUIRED)
_THRESHOLDS = _Sheet(sx.THRESHOLDS_COLUMNS, THRESHOLDS_LABEL, sx.THRESHOLDS_REQUIRED,
                     numeric=sx.THRESHOLDS_NUMERIC)
_REGISTRY_FACTS = _Sheet(sx.REGISTRY_FACTS_COLUMNS, REGISTRY_FACTS_LABEL,
                         sx.REGISTRY_FACTS_REQUIRED)


def _validate_sheet(
    raw: pd.DataFrame,
    file: str,
    errors: list[str],
    sheet: _Sheet,
    schema: pa.DataFrameSchema,
) -> pd.DataFrame:
    """Check one curated sheet against its codebook and schema; collect messages."""
    start = len(errors)
    _header_errors(raw, file, sheet.columns, errors, optional=sheet.optional)
    for c in sheet.columns:
        if c not in raw:
            raw[c] = None
    raw = raw[[c for c in raw.columns if c in sheet.columns]]
    df = _coerce(raw, file, sheet.label_cols, sheet.numeric, sheet.boolean, errors)
    _required_errors(df, file, sheet.label_cols, sheet.required, errors)
    _pandera_errors(schema, df, raw, file, sheet.label_cols, sheet.required, errors)
    errors[start:] = _by_row(errors[start:])
    return df[sheet.columns]


def _validate_extraction(raw: pd.DataFrame, file: str, errors, study_ids=None,
                         outcomes=None) -> pd.DataFrame:
    return _validate_sheet(raw, file, errors, _EXTRACTION,
                           sx.extraction_schema(study_ids, outcomes))


def _validate_characteristics(raw: pd.DataFrame, file: str, errors, drugs=None,
                              sheet_columns=None) -> pd.DataFrame:
    # codebook name -> this review's name for it; the checks use the codebook names, the
    # messages the sheet's own
    names = dict(sheet_columns or {})
    raw = raw.rename(columns={sheet: name for name, sheet in names.items()})
    start = len(errors)
    df = _validate_sheet(raw, file, errors, _CHARACTERISTICS, sx.characteristics_schema(drugs))
    for i in range(start, len(errors)):
        for name, sheet in names.items():
            errors[i] = re.sub(rf"\b{name}\b", sheet, errors[i])
    return df


def _validate_rob(raw: pd.DataFrame, file: str, errors, study_ids=None) -> pd.DataFrame:
    return _validate_sheet(raw, file, errors, _ROB, sx.risk_of_bias_schema(study_ids))


def _validate_thresholds(raw: pd.DataFrame, file: str, errors) -> pd.DataFrame:
    return _validate_sheet(raw, file, errors, _THRESHOLDS, sx.thresholds_schema())


def _validate_registry_facts(raw: pd.DataFrame, file: str, errors, study_ids=None):
    return _validate_sheet(raw, file, errors, _REGISTRY_FACTS,
                           sx.registry_facts_schema(study_ids))
