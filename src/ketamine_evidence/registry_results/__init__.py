"""Arm-level numbers from ClinicalTrials.gov posted results (API v2 study JSON).

The registry posts results as strings inside
``resultsSection.outcomeMeasuresModule.outcomeMeasures[]``; this module turns them into tidy
rows that keep, for every number, the JSON path it was read from (its ``location``) and the
NCT ID (its ``source_id``), so a reviewer can find it again in the record.

Tables produced
---------------
``registry_arm_rows(study)``
    One row per outcome measure x class x category x group: ``value`` (mean, LS mean, median,
    count ...), its dispersion as posted, the group's denominator ``n`` and, where possible, an
    SD with the conversion recorded in ``sd_derivation``. Numbers that cannot be used
    (``"NA"``, missing measurement, unknown dispersion, no denominator) stay in the table with
    ``extractable=False`` and a ``reason``; nothing is dropped.
``registry_analyses(study)``
    One row per posted between-group analysis (``analyses[]``): estimate, CI, p-value,
    statistical method, with ``measure`` mapped to metafor's names where the free-text
    ``paramType`` allows it.
``registry_baseline_counts(study)``
    Participants analysed at baseline per group.
``registry_to_extraction_rows(arm_rows, ...)``
    Two-arm rows in the layout of the curated ``extraction.csv`` (``m1i, sd1i, n1i, ...``),
    arm 1 being the group whose title matches the review's arm pattern (config
    ``vocabulary.arm_pattern``).
``compare_registry_publication(registry_rows, curated_rows, ...)``
    Agreements and discrepancies between the registry and the curated (publication) numbers.

Field names were checked against real records (AACT copies of NCT02210780, NCT02552212,
NCT00763412): outcome ``dispersionType`` is display text ("Standard Deviation", "Standard
Error", "95% Confidence Interval", "Full Range"), baseline ``dispersionType`` and analysis
``dispersionType`` are enums (``STANDARD_DEVIATION``, ``STANDARD_ERROR_OF_MEAN``); SD/SE sit in
``spread``, ranges and CIs in ``lowerLimit``/``upperLimit``.

Layout
------
:mod:`.parsing` reads the registry's strings (numbers, time frames, dispersion types, SD
conversions; pure); :mod:`.arms` turns one study JSON into the arm, analysis and baseline
tables; :mod:`.pairing` pairs the arms into two-arm rows and effect rows; :mod:`.compare`
sets them against the curated publication numbers; :mod:`.io` reads study JSON files. The
parts import :mod:`.parsing` and each other in that order only; nothing here writes files.
Stage: registry. It may import the statistics core (``effects``,
``conversions``) and nothing that writes files; the CLI uses it.
"""

from __future__ import annotations

from .arms import (  # noqa: F401
    ANALYSIS_COLUMNS,
    ARM_ROW_COLUMNS,
    analysis_measure,
    registry_analyses,
    registry_arm_rows,
    registry_baseline_counts,
)
from .compare import (  # noqa: F401
    COMPARISON_COLUMNS,
    compare_registry_publication,
)
from .io import (
    load_study_json,
    snapshot_registry_tables,
)
from .pairing import (  # noqa: F401
    AWAITING_CONFIRMATION,
    REGISTRY_EFFECT_COLUMNS,
    WIDE_COLUMNS,
    registry_effect_rows,
    registry_to_extraction_rows,
)
from .parsing import (  # noqa: F401
    OM,
    RegistryResultsError,
    normalise_dispersion,
    parse_registry_number,
    parse_timeframe_days,
)

__all__ = [
    "ARM_ROW_COLUMNS",
    "RegistryResultsError",
    "compare_registry_publication",
    "load_study_json",
    "normalise_dispersion",
    "parse_registry_number",
    "parse_timeframe_days",
    "registry_analyses",
    "registry_arm_rows",
    "registry_baseline_counts",
    "registry_effect_rows",
    "registry_to_extraction_rows",
    "snapshot_registry_tables",
]
