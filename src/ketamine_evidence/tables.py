"""Reading and writing the project's CSV tables (the file adapter for the pure core)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd


class TableError(ValueError):
    """A table file is missing or unreadable; the message names the file."""


def read_optional_table(path: str | Path | None) -> pd.DataFrame | None:
    """Read a CSV table; ``None`` when there is no such file, an empty frame when it is empty.

    Keeping "absent" apart from "empty" lets the report say which inputs never ran.
    """
    if path is None or not Path(path).is_file():
        return None
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise TableError(f"{path}: cannot be parsed as CSV: {exc}") from None


def read_table(path: str | Path, *, required: bool = True) -> pd.DataFrame:
    """Read a CSV table; a missing optional file (``required=False``) gives an empty frame."""
    table = read_optional_table(path)
    if table is None:
        if required:
            raise TableError(f"{path}: no such file")
        return pd.DataFrame()
    return table


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
