"""Reading and writing the project's CSV tables (the file adapter for the pure core)."""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from . import KetamineEvidenceError


class TableError(KetamineEvidenceError, ValueError):
    """A table file is missing or unreadable; the message names the file (and line)."""


def _decode(data: bytes, path: Path) -> str:
    """``data`` as UTF-8 text (a byte-order mark is dropped); else name the line of the fault."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise TableError(
            f"{path} line {line}: not UTF-8 text (byte 0x{data[exc.start]:02x}); save the "
            "file as UTF-8 (in Excel: 'CSV UTF-8')") from None


def read_json(path: str | Path):
    """Read a JSON file; every failure is a :class:`TableError` naming the file."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise TableError(f"{path}: no such file") from None
    except OSError as exc:
        raise TableError(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        return json.loads(_decode(data, path))
    except (ValueError, RecursionError) as exc:
        raise TableError(f"{path}: not valid JSON ({exc})") from None


def read_csv_text(path: str | Path) -> pd.DataFrame:
    """Read a hand-edited CSV file keeping every cell as text, with its physical line number.

    This is the one reading path for the curated sheets and for the files users hand to the
    command line. Cells are stripped of surrounding spaces; an empty cell becomes ``None``.
    Blank lines are skipped. ``frame.attrs["lines"]`` holds, for each row, the line of the
    file where it starts, counting the header as line 1 and every newline inside a quoted
    cell, so messages can point at the line a text editor shows.

    Trailing empty fields (the extra comma some spreadsheet exports add, in the header or in
    a row) are dropped. Anything else that does not fit the header is refused rather than
    guessed at: pandas would take the first column as the index and shift every value.

    Raises
    ------
    TableError
        The file is missing, not UTF-8, empty, has a duplicated or unnamed column, or a row
        with more non-empty fields than the header; the message names file and line.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise TableError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise TableError(f"{path}: is a folder, not a CSV file") from None
    except OSError as exc:
        raise TableError(f"{path}: cannot be read ({exc.strerror})") from None
    text = _decode(data, path)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: list[str] | None = None
    rows: list[list[str | None]] = []
    lines: list[int] = []
    end_of_previous = 0
    try:
        for fields in reader:
            start = end_of_previous + 1
            end_of_previous = reader.line_num
            cells = [f.strip() for f in fields]
            if not any(cells):
                continue
            if header is None:
                header = _header(cells, path, start)
                continue
            while len(cells) > len(header) and not cells[-1]:
                cells.pop()
            if len(cells) > len(header):
                raise TableError(f"{path} line {start}: {len(cells)} fields, but the header "
                                 f"has {len(header)} (a comma inside a value must be quoted)")
            cells += [""] * (len(header) - len(cells))
            rows.append([c or None for c in cells])
            lines.append(start)
    except csv.Error as exc:
        raise TableError(f"{path} line {reader.line_num}: not valid CSV ({exc})") from None
    if header is None:
        raise TableError(f"{path}: the file is empty (no header line)")
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    frame.attrs["lines"] = lines
    return frame


def _header(cells: list[str], path: Path, line: int) -> list[str]:
    """Column names of a header line: trailing empty names dropped, no blanks, no repeats."""
    while len(cells) > 1 and not cells[-1]:
        cells = cells[:-1]
    seen: set[str] = set()
    for i, name in enumerate(cells, start=1):
        if name in seen:
            raise TableError(f"{path} line {line}: column {name!r} appears twice")
        seen.add(name)
        if not name:
            raise TableError(f"{path} line {line}: column {i} has no name")
    return cells


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


def umask_mode(base: int = 0o666) -> int:
    """``base`` with the process umask applied: the mode ``open()`` would give a new file.

    ``tempfile.mkstemp``/``mkdtemp`` create 0600 files and 0700 folders whatever the umask;
    an atomic writer that renames them into place must set this mode itself.
    """
    mask = os.umask(0)
    os.umask(mask)
    return base & ~mask


def fsync_folder(path: Path) -> None:
    """Flush a folder's entries (a rename into it) to disk, where the platform allows."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without folder file descriptors
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_bytes(data: bytes, path: str | Path, *, durable: bool = False) -> Path:
    """Write ``data`` to ``path`` atomically: the one writer of every file the package makes.

    The bytes go to a temporary file beside ``path`` (``.<name>.<random>.tmp``), which gets
    the mode ``open()`` would give (the umask's) and is then renamed into place, so a reader
    sees the old file or the new one, never half of one; a failure or an interrupt leaves
    ``path`` untouched and removes the temporary file. With ``durable`` the file and the
    rename are flushed to disk before returning (the snapshot's manifest, which must survive
    a power cut).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.chmod(tmp, umask_mode())
        os.replace(tmp, path)
        if durable:
            fsync_folder(path.parent)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _is_bool(value) -> bool:
    return isinstance(value, (bool, np.bool_))


def csv_text(frame: pd.DataFrame) -> str:
    """``frame`` as CSV text in the project's output conventions.

    * floats: the shortest text that reads back to the same double (Python's ``repr``, e.g.
      ``-12.7``, ``0.95``; never ``-12.699999999999999``); NaN is an empty cell;
    * booleans: ``TRUE``/``FALSE``, which R's ``read.csv`` reads as logical and Excel as
      booleans (also in object columns that mix booleans with empty cells);
    * no index, ``\n`` line ends, UTF-8 text.
    """
    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if series.dtype == bool or str(series.dtype) == "boolean":
            out[column] = series.map(lambda v: None if pd.isna(v) else ("TRUE" if v else "FALSE"))
        elif series.dtype == object:
            present = series.dropna()
            if len(present) and present.map(_is_bool).all():
                out[column] = series.map(
                    lambda v: None if not _is_bool(v) else ("TRUE" if v else "FALSE"))
    return out.to_csv(index=False, lineterminator="\n")


def write_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` as CSV atomically (see :func:`csv_text` for the number and boolean
    conventions, :func:`write_bytes` for the atomic write and the file mode). Every output table of the
    package is written here."""
    return write_text(csv_text(frame), path)


def write_text(text: str, path: str | Path, *, durable: bool = False) -> Path:
    """Write ``text`` as UTF-8 atomically (:func:`write_bytes`); line ends are kept as given."""
    return write_bytes(text.encode("utf-8"), path, durable=durable)
