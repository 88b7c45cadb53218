"""Reading ClinicalTrials.gov API v2 study JSON files (one file, or a snapshot folder of them)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from .arms import (
    ANALYSIS_COLUMNS,
    ARM_ROW_COLUMNS,
    _arm_dtypes,
    registry_analyses,
    registry_arm_rows,
)
from .parsing import RegistryResultsError


def load_study_json(path: str | Path) -> dict:
    """Read one CT.gov API v2 study JSON file (a single study object)."""
    with open(path, encoding="utf-8") as fh:
        study = json.load(fh)
    if not isinstance(study, dict) or "protocolSection" not in study:
        raise RegistryResultsError(f"{path}: not a ClinicalTrials.gov API v2 study object")
    return study


# --------------------------------------------------------------------------------------
# a folder of study JSON files
# --------------------------------------------------------------------------------------
def snapshot_registry_tables(
    paths: Iterable[str | Path],
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Read several v2 study JSON files into (arm_rows, analyses, problems).

    Files that are not single v2 study objects (search pages, manifests) are listed in
    ``problems`` instead of raising, so one odd file in a snapshot does not hide the others.
    """
    arms, analyses, problems = [], [], []
    for p in sorted(Path(x) for x in paths):
        try:
            study = load_study_json(p)
        except (RegistryResultsError, json.JSONDecodeError, UnicodeDecodeError) as exc:
            problems.append(f"{p.name}: skipped ({exc})")
            continue
        arms.append(registry_arm_rows(study))
        analyses.append(registry_analyses(study))
    arm_df = (
        pd.concat(arms, ignore_index=True)
        if arms
        else _arm_dtypes(pd.DataFrame(columns=ARM_ROW_COLUMNS))
    )
    an_df = (
        pd.concat(analyses, ignore_index=True)
        if analyses
        else pd.DataFrame(columns=ANALYSIS_COLUMNS)
    )
    return arm_df, an_df, problems
