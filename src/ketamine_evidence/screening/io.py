"""Reading the inputs of the records and screening steps (the only IO of this stage).

The snapshot (through :func:`ketamine_evidence.sources.snapshot.load_snapshot`, which checks
every file's hash), ``known_reports.csv`` and ``screening_overrides.csv`` are read here and
handed to the pure modules: :mod:`.records` parses, links and deduplicates, :mod:`.eligibility`
checks the overrides and screens.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd

from ketamine_evidence import KetamineEvidenceWarning
from ketamine_evidence.screening.eligibility import check_overrides, no_overrides
from ketamine_evidence.screening.records import (
    KNOWN_REPORT_COLUMNS,
    KNOWN_REPORTS,
    assemble_records,
    check_known_reports,
    records_from_snapshot,
)
from ketamine_evidence.sources.snapshot import load_snapshot
from ketamine_evidence.tables import read_csv_text

__all__ = ["build_records", "read_known_reports", "read_overrides", "snapshot_records"]


def read_known_reports(path: Path | str) -> pd.DataFrame:
    """Read and check ``known_reports.csv``; a missing file warns and gives an empty sheet.

    Raises :class:`~ketamine_evidence.screening.records.RecordsError` listing every bad row
    (see :func:`~ketamine_evidence.screening.records.check_known_reports`).
    """
    path = Path(path)
    if not path.is_file():
        warnings.warn(f"{path} not found: no records from other methods",
                      KetamineEvidenceWarning, stacklevel=2)
        return pd.DataFrame(columns=KNOWN_REPORT_COLUMNS, dtype=object)
    return check_known_reports(read_csv_text(path), str(path))


def snapshot_records(snapshot_dir: Path | str) -> list[dict]:
    """Records parsed from the verified snapshot in ``snapshot_dir`` (see
    :func:`~ketamine_evidence.screening.records.records_from_snapshot`)."""
    return records_from_snapshot(load_snapshot(snapshot_dir))


def build_records(snapshot_dir: Path | str, curated_dir: Path | str,
                  config: dict | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Build ``records`` (one row per retrieved record) and ``studies`` (one row per study).

    Parameters
    ----------
    snapshot_dir : path
        The committed raw snapshot (``manifest.json``; hashes are verified).
    curated_dir : path
        Folder holding ``known_reports.csv`` (records identified from other methods).
    config : dict, optional
        The review config (unused today; accepted so the signature is stable).

    Returns
    -------
    records, studies : pandas.DataFrame
        See :func:`~ketamine_evidence.screening.records.assemble_records`.
    """
    return assemble_records(snapshot_records(snapshot_dir),
                            read_known_reports(Path(curated_dir) / KNOWN_REPORTS))


def read_overrides(path: Path | str | None) -> pd.DataFrame:
    """Read and check ``screening_overrides.csv``; no path or no file gives no overrides."""
    if path is None or not Path(path).is_file():
        return no_overrides()
    return check_overrides(read_csv_text(path), str(path))
