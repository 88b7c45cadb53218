"""Curated extraction sheets: loading, validation and derivation of study effects.

The curators type numbers exactly as the sources print them (``data/raw/CODEBOOK.md``). This
module

1. reads ``extraction.csv``, ``study_characteristics.csv`` and ``risk_of_bias.csv`` as text,
   converts the numeric and logical columns, and checks every row against the pandera schemas
   of :mod:`ketamine_evidence.schemas.extraction`. All problems are collected and raised
   together in one :class:`SheetValidationError`, each naming the file, the row (row number,
   line in the file and its identifying fields) and the field, e.g.
   ``extraction.csv row 12 (line 13; E0012, feder2021, CAPS-5, week 2): sd1i: is negative
   (-3.1)``;
2. derives one effect size per study x comparison x outcome x timepoint x measure with
   :func:`derive_effects`, recording how each ``yi``/``vi`` was computed (``derivation``) and
   which assumption it needed (``assumption``, ``assumption_value``). Rows that cannot give an
   effect go to ``not_poolable`` with a reason; nothing is dropped.

Layout
------
:mod:`.validation` holds the codebook checks (pure: a sheet's text in, typed frame and
messages out); :mod:`.sheets` reads the curated files and raises the collected problems (the
IO); :mod:`.derive` derives the effect sizes from validated sheets (pure). ``sheets`` and
``derive`` import ``validation``, never each other.
Stage: extraction. It may import ``schemas``, ``tables`` and the statistics core
(``effects``, ``conversions``); the CLI, the registry stage and the report use it.
"""

from __future__ import annotations

from .derive import (  # noqa: F401
    Z975,
    EffectTables,
    ExtractionWarning,
    derive_effects,
)
from .sheets import (  # noqa: F401
    CHARACTERISTICS_FILE,
    EXTRACTION_FILE,
    REGISTRY_FACTS_FILE,
    ROB_FILE,
    THRESHOLDS_FILE,
    CuratedSheets,
    load_curated,
    read_characteristics,
    read_extraction,
    read_registry_facts,
    read_risk_of_bias,
    read_thresholds,
)
from .validation import (  # noqa: F401
    CHARACTERISTICS_LABEL,
    EXTRACTION_LABEL,
    REGISTRY_FACTS_LABEL,
    ROB_LABEL,
    THRESHOLDS_LABEL,
    SheetValidationError,
)

__all__ = [
    "CuratedSheets",
    "ExtractionWarning",
    "SheetValidationError",
    "derive_effects",
    "load_curated",
    "read_characteristics",
    "read_extraction",
    "read_registry_facts",
    "read_risk_of_bias",
    "read_thresholds",
]
