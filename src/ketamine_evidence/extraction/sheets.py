"""Reading the curated sheets from disk: one sheet, or the folder of them with cross-file checks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ketamine_evidence.config import VocabularySettings
from ketamine_evidence.schemas import extraction as sx
from ketamine_evidence.tables import TableError, read_csv_text

from .validation import (
    SheetValidationError,
    _validate_characteristics,
    _validate_extraction,
    _validate_registry_facts,
    _validate_rob,
    _validate_thresholds,
)

EXTRACTION_FILE = "extraction.csv"
CHARACTERISTICS_FILE = "study_characteristics.csv"
ROB_FILE = "risk_of_bias.csv"
#: optional curated sheets: a review without them runs, a sheet that exists must be valid
THRESHOLDS_FILE = "thresholds.csv"
REGISTRY_FACTS_FILE = "registry_facts.csv"


def _read_sheet(path: str | Path, validate, **kw) -> pd.DataFrame:
    """Read one curated sheet with ``validate``; raise every problem found at once."""
    path = Path(path)
    errors: list[str] = []
    df = validate(read_csv_text(path), path.name, errors, **kw)
    if errors:
        raise SheetValidationError(errors)
    return df


def _read_optional_sheet(path: str | Path, validate, **kw) -> pd.DataFrame | None:
    """An optional curated sheet: ``None`` when its file is absent, else :func:`_read_sheet`."""
    return _read_sheet(path, validate, **kw) if Path(path).is_file() else None


def read_extraction(path: str | Path, study_ids=None, outcomes=None) -> pd.DataFrame:
    """Read and validate ``extraction.csv``.

    Parameters
    ----------
    path : path
        The CSV file.
    study_ids : iterable of str, optional
        ``study_id`` values of ``study_characteristics.csv``; rows referring to others fail.
    outcomes : iterable of str, optional
        The review's outcome ids (config ``vocabulary.outcomes``); rows with others fail.

    Returns
    -------
    DataFrame with the codebook columns; numeric columns as float64, ``lower_is_better`` as
    pandas ``boolean``, text as object. The index is the 0-based data row (line = index + 2).

    Raises
    ------
    SheetValidationError
        Listing every problem found.
    """
    return _read_sheet(path, _validate_extraction, study_ids=study_ids, outcomes=outcomes)


def read_characteristics(path: str | Path, drugs=None, sheet_columns=None) -> pd.DataFrame:
    """Read and validate ``study_characteristics.csv`` (see :func:`read_extraction`).

    ``drugs`` (config ``vocabulary.drugs``), when given, are the allowed ``drug`` values;
    ``sheet_columns`` (``vocabulary.sheet_columns``) maps a codebook column to the name the
    sheet gives it. The columns come back under their codebook names.
    """
    return _read_sheet(path, _validate_characteristics, drugs=drugs,
                       sheet_columns=sheet_columns)


def read_risk_of_bias(path: str | Path, study_ids=None) -> pd.DataFrame:
    """Read and validate ``risk_of_bias.csv`` (see :func:`read_extraction`)."""
    return _read_sheet(path, _validate_rob, study_ids=study_ids)


def read_thresholds(path: str | Path) -> pd.DataFrame | None:
    """Read and validate the optional ``thresholds.csv``; ``None`` when the file is absent.

    Returns
    -------
    DataFrame with the codebook columns (``value`` as float64, in the row's ``unit``), or
    ``None`` when there is no such file (an empty sheet gives an empty frame).

    Raises
    ------
    SheetValidationError
        Listing every problem found, by file, row, line and field.
    """
    return _read_optional_sheet(path, _validate_thresholds)


def read_registry_facts(path: str | Path, study_ids=None) -> pd.DataFrame | None:
    """Read and validate the optional ``registry_facts.csv``; ``None`` when it is absent.

    ``study_ids`` as in :func:`read_extraction`. Every cell is text, kept as read.
    """
    return _read_optional_sheet(path, _validate_registry_facts, study_ids=study_ids)


@dataclass(frozen=True)
class CuratedSheets:
    """The validated curated tables; the optional ones are ``None`` when their file is absent."""

    extraction: pd.DataFrame
    characteristics: pd.DataFrame
    risk_of_bias: pd.DataFrame
    thresholds: pd.DataFrame | None = None
    registry_facts: pd.DataFrame | None = None


def load_curated(curated_dir: str | Path, *, vocabulary: VocabularySettings | None = None,
                 require_risk_of_bias: bool = True) -> CuratedSheets:
    """Read and validate the curated sheets of ``curated_dir`` together.

    ``vocabulary`` (the configuration's) gives the outcome ids and drugs the sheets may use;
    without it those two columns are not checked against a list.

    Cross-file checks: every ``study_id`` in ``extraction.csv``, ``risk_of_bias.csv`` and
    ``registry_facts.csv`` exists in ``study_characteristics.csv``. The optional sheets
    (``thresholds.csv``, ``registry_facts.csv``) are validated when present and ``None`` when
    absent. All problems of all files are collected and raised in one
    :class:`SheetValidationError`.
    """
    d = Path(curated_dir)
    if not d.is_dir():
        raise TableError(f"{d}: no such file (the folder of the curated sheets)")
    errors: list[str] = []
    chars = ext = rob = None
    if (d / CHARACTERISTICS_FILE).exists():
        chars = _validate_characteristics(
            read_csv_text(d / CHARACTERISTICS_FILE), CHARACTERISTICS_FILE, errors,
            vocabulary.drugs if vocabulary else None,
            vocabulary.sheet_columns if vocabulary else None,
        )
        study_ids = [s for s in chars["study_id"] if isinstance(s, str)]
    else:
        errors.append(f"{CHARACTERISTICS_FILE}: file not found in {d}")
        study_ids = None
    if (d / EXTRACTION_FILE).exists():
        ext = _validate_extraction(
            read_csv_text(d / EXTRACTION_FILE), EXTRACTION_FILE, errors, study_ids,
            vocabulary.outcomes if vocabulary else None,
        )
    else:
        errors.append(f"{EXTRACTION_FILE}: file not found in {d}")
    if (d / ROB_FILE).exists():
        rob = _validate_rob(read_csv_text(d / ROB_FILE), ROB_FILE, errors, study_ids)
    elif require_risk_of_bias:
        errors.append(f"{ROB_FILE}: file not found in {d}")
    else:
        rob = pd.DataFrame({c: pd.Series(dtype=object) for c in sx.ROB_COLUMNS})
    thresholds = facts = None
    if (d / THRESHOLDS_FILE).is_file():
        thresholds = _validate_thresholds(
            read_csv_text(d / THRESHOLDS_FILE), THRESHOLDS_FILE, errors
        )
    if (d / REGISTRY_FACTS_FILE).is_file():
        facts = _validate_registry_facts(
            read_csv_text(d / REGISTRY_FACTS_FILE), REGISTRY_FACTS_FILE, errors, study_ids
        )
    if errors:
        raise SheetValidationError(errors)
    return CuratedSheets(
        extraction=ext,
        characteristics=chars,
        risk_of_bias=rob,
        thresholds=thresholds,
        registry_facts=facts,
    )
