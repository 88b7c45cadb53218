"""Reading and writing the project's CSV tables (the file adapter for the pure core)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd


class TableError(ValueError):
    """A table file is missing or unreadable; the message names the file."""


def read_table(path: str | Path, *, required: bool = True) -> pd.DataFrame:
    """Read a CSV table; a missing optional file (``required=False``) gives an empty frame."""
    path = Path(path)
    if not path.exists():
        if required:
            raise TableError(f"{path}: no such file")
        return pd.DataFrame()
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise TableError(f"{path}: cannot be parsed as CSV: {exc}") from None


def write_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` as CSV atomically (temporary file, then rename), full precision."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            frame.to_csv(handle, index=False, float_format="%.17g")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
