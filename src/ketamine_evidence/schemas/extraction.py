"""Pandera schemas for the curated sheets and for the derived effects tables.

The curated sheets are described in ``data/raw/CODEBOOK.md``; these schemas are that codebook in
code. Each check carries an ``error`` text that :mod:`ketamine_evidence.extraction` turns into a
reviewer-readable message naming the file, the row and the field. Checks that involve several
columns (events <= n, CI around the estimate, fields each ``data_type`` needs) are dataframe
checks whose name starts with the field they blame (``"ai: ..."``).

The column lists are the single source for ``workflow/schemas/extraction.schema.json`` (the
JSON Schema of one extraction row, kept for documentation and for validating rows outside
Python); ``tests/test_extraction_schema.py`` checks that the two agree.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
import pandera.pandas as pa

from ketamine_evidence.types import DIRECTIONS, ROB_DOMAINS, ROB_JUDGEMENTS

# ----------------------------------------------------------------------------------------
# vocabularies (CODEBOOK.md)
# ----------------------------------------------------------------------------------------
# The review's own outcome ids and drugs are not here: they are the configuration's
# ``vocabulary`` (config.yaml), passed to the sheet schemas below.
DATA_TYPES = ("arm", "contrast", "count", "within_arm", "narrative")
SCORE_TYPES = ("endpoint", "change")
CONTRAST_MEASURES = ("MD", "SMD", "RR", "OR", "RD", "HR", "d")
PVALUE_QUALIFIERS = ("=", "<", ">")
QUESTIONS = ("treatment", "prevention")
DESIGNS = ("parallel", "crossover")
YES_NO = ("yes", "no")
TREATMENT_RESISTANT = ("yes", "no", "unclear")
#: comparator classes, for the subgroup analysis by kind of control (an active placebo that
#: mimics the drug's noticeable effects keeps blinding; an inert one may not)
CONTROL_TYPES = ("active_placebo", "inactive_placebo", "active_comparator", "no_treatment")
#: who a trial enrolled, against the review's population (GRADE indirectness)
POPULATION_SCOPES = ("target", "mixed")
JUDGEMENTS = ROB_JUDGEMENTS
EFFECT_MEASURES = ("SMD", "MD", "ROM", "RR", "OR", "RD", "HR")
THRESHOLD_KINDS = (
    "mid",
    "clinically_meaningful_change",
    "response_definition",
    "remission_definition",
)
THRESHOLD_UNITS = ("points", "percent", "smd")
THRESHOLD_COMPARISONS = ("within_person_change", "between_group_difference")
REGISTRY_FACT_TYPES = (
    "primary_outcome_changed",
    "timeframe_changed",
    "enrolment_differs",
    "other",
)

STUDY_ID_PATTERN = r"^[a-z][a-z\-]*\d{4}[a-z]?$"
ROW_ID_PATTERN = r"^E\d{4,}$"
SOURCE_ID_PATTERN = r"^(PMID:\d+|NCT\d{8}|https?://\S+|DOI:10\.\S+)$"

# ----------------------------------------------------------------------------------------
# extraction.csv
# ----------------------------------------------------------------------------------------
EXTRACTION_TEXT = [
    "row_id",
    "study_id",
    "comparison",
    "outcome",
    "instrument",
    "timepoint",
    "data_type",
    "score_type",
    "measure",
    "pvalue_qualifier",
    "narrative",
    "direction",
    "source_id",
    "location",
    "notes",
]
EXTRACTION_BOOL = ["lower_is_better"]
EXTRACTION_NONNEG = ["sd1i", "se1i", "n1i", "sd2i", "se2i", "n2i", "ai", "ci", "se"]
EXTRACTION_COLUMNS = [
    "row_id",
    "study_id",
    "comparison",
    "outcome",
    "instrument",
    "timepoint",
    "timepoint_days",
    "data_type",
    "score_type",
    "lower_is_better",
    "m1i",
    "sd1i",
    "se1i",
    "n1i",
    "m2i",
    "sd2i",
    "se2i",
    "n2i",
    "ai",
    "ci",
    "pct1i",
    "pct2i",
    "baseline_m1i",
    "baseline_m2i",
    "measure",
    "estimate",
    "ci_low",
    "ci_high",
    "ci_level",
    "se",
    "pvalue",
    "pvalue_qualifier",
    "narrative",
    "direction",
    "source_id",
    "location",
    "notes",
]
#: the numeric fields: every column that is neither text nor boolean, in sheet order
EXTRACTION_FLOAT = [c for c in EXTRACTION_COLUMNS if c not in EXTRACTION_TEXT + EXTRACTION_BOOL]
#: columns added to the codebook later; a sheet without them is read as if they were empty
EXTRACTION_OPTIONAL = ["pct1i", "pct2i", "direction"]
EXTRACTION_REQUIRED = ["row_id", "study_id", "outcome", "data_type", "source_id", "location"]

#: fields each data_type needs: every group in the list must have at least one filled field
DATA_TYPE_NEEDS: dict[str, list[tuple[str, ...]]] = {
    "arm": [("m1i",), ("m2i",)],
    "count": [("ai", "pct1i"), ("ci", "pct2i"), ("n1i",), ("n2i",)],
    "contrast": [("measure",), ("estimate", "pvalue")],
    "within_arm": [("m1i",)],
    "narrative": [("narrative",)],
}


def _source_id_column() -> pa.Column:
    return pa.Column(
        str,
        pa.Check.str_matches(
            SOURCE_ID_PATTERN,
            error="source_id: must be PMID:<digits>, NCT<8 digits>, DOI:10.… or a URL",
        ),
    )


def _location_column() -> pa.Column:
    return pa.Column(str, pa.Check.str_length(min_value=1, error="location: empty"))


def _study_id_column(study_ids: Iterable[str] | None) -> pa.Column:
    """``study_id``: the id pattern, and (when given) membership in study_characteristics.csv."""
    checks = [pa.Check.str_matches(STUDY_ID_PATTERN, error="study_id: must look like feder2021")]
    if study_ids is not None:
        checks.append(
            pa.Check.isin(
                sorted(set(study_ids)), error="study_id: not found in study_characteristics.csv"
            )
        )
    return pa.Column(str, checks)


def _vocabulary_column(values: Iterable[str], col: str, *, nullable: bool = False) -> pa.Column:
    values = tuple(values)
    return pa.Column(
        str, pa.Check.isin(values, error=f"{col}: not one of " + ", ".join(values)), nullable=nullable
    )


def _needs_check(dtype: str, group: tuple[str, ...]) -> pa.Check:
    field = " or ".join(group)

    def check(df: pd.DataFrame) -> pd.Series:
        has = pd.Series(False, index=df.index)
        for col in group:
            has |= df[col].notna()
        return (df["data_type"] != dtype) | has

    return pa.Check(
        check,
        name=f"{group[0]}: needs_{dtype}",
        error=f"{group[0]}: {field} is required when data_type is '{dtype}'",
    )


def _le_check(small: str, big: str, blame: str, message: str) -> pa.Check:
    def check(df: pd.DataFrame) -> pd.Series:
        return df[small].isna() | df[big].isna() | (df[small] <= df[big])

    return pa.Check(check, name=f"{blame}: {small}<={big}", error=f"{blame}: {message}")


def _within_arm_needs_baseline() -> pa.Check:
    def check(df: pd.DataFrame) -> pd.Series:
        return (
            (df["data_type"] != "within_arm")
            | df["baseline_m1i"].notna()
            | (df["score_type"] == "change")
        )

    return pa.Check(
        check,
        name="baseline_m1i: needs_within_arm",
        error="baseline_m1i: required for a within_arm row unless score_type is 'change'",
    )


def _direction_only_for_narrative() -> pa.Check:
    def check(df: pd.DataFrame) -> pd.Series:
        return df["direction"].isna() | (df["data_type"] == "narrative")

    return pa.Check(
        check,
        name="direction: only_narrative",
        error="direction: only for data_type 'narrative' (numbers carry their own direction)",
    )


def _within_interval(col: str, lo: float, hi: float, *, closed_low=True, closed_high=True):
    return pa.Check.in_range(
        lo,
        hi,
        include_min=closed_low,
        include_max=closed_high,
        error=f"{col}: must lie in {'[' if closed_low else '('}{lo}, {hi}{']' if closed_high else ')'}",
    )


def extraction_schema(study_ids: Iterable[str] | None = None,
                      outcomes: Iterable[str] | None = None) -> pa.DataFrameSchema:
    """Schema of the curated ``extraction.csv`` after type coercion.

    Parameters
    ----------
    study_ids : iterable of str, optional
        The ``study_id`` values of ``study_characteristics.csv``; when given, every extraction
        row must refer to one of them.
    outcomes : iterable of str, optional
        The review's outcome ids (config ``vocabulary.outcomes``); when given, every row's
        ``outcome`` must be one of them.
    """
    text = {c: pa.Column(str, nullable=True) for c in EXTRACTION_TEXT}
    text["row_id"] = pa.Column(
        str,
        [pa.Check.str_matches(ROW_ID_PATTERN, error="row_id: must look like E0001")],
        unique=True,
        report_duplicates="all",
    )
    text["study_id"] = _study_id_column(study_ids)
    text["outcome"] = pa.Column(str) if outcomes is None else pa.Column(
        str, pa.Check.isin(sorted(outcomes), error="outcome: not one of the outcomes in the "
                           "configuration's vocabulary.outcomes")
    )
    text["data_type"] = pa.Column(
        str, pa.Check.isin(DATA_TYPES, error="data_type: not one of " + ", ".join(DATA_TYPES))
    )
    text["score_type"] = pa.Column(
        str,
        pa.Check.isin(SCORE_TYPES, error="score_type: must be endpoint or change"),
        nullable=True,
    )
    text["measure"] = pa.Column(
        str,
        pa.Check.isin(
            CONTRAST_MEASURES, error="measure: not one of " + ", ".join(CONTRAST_MEASURES)
        ),
        nullable=True,
    )
    text["pvalue_qualifier"] = pa.Column(
        str,
        pa.Check.isin(PVALUE_QUALIFIERS, error="pvalue_qualifier: must be =, < or >"),
        nullable=True,
    )
    text["direction"] = pa.Column(
        str,
        pa.Check.isin(DIRECTIONS, error="direction: not one of " + ", ".join(DIRECTIONS)),
        nullable=True,
    )
    text["source_id"] = _source_id_column()
    text["location"] = _location_column()
    floats = {c: pa.Column(float, nullable=True) for c in EXTRACTION_FLOAT}
    for c in EXTRACTION_NONNEG:
        floats[c] = pa.Column(float, pa.Check.ge(0, error=f"{c}: is negative"), nullable=True)
    for c in ("n1i", "n2i"):  # 0 passes "not negative" but divides by zero later
        floats[c].checks.append(pa.Check(lambda s: s != 0, element_wise=False,
                                         error=f"{c}: must be at least 1 (an arm has "
                                               "participants)"))
    floats["timepoint_days"] = pa.Column(
        float, pa.Check.ge(0, error="timepoint_days: is negative"), nullable=True
    )
    floats["ci_level"] = pa.Column(
        float,
        _within_interval("ci_level", 0, 1, closed_low=False, closed_high=False),
        nullable=True,
    )
    floats["pvalue"] = pa.Column(float, _within_interval("pvalue", 0, 1), nullable=True)
    for c in ("pct1i", "pct2i"):
        floats[c] = pa.Column(float, _within_interval(c, 0, 100), nullable=True)
    columns = text | floats | {"lower_is_better": pa.Column("boolean", nullable=True)}
    checks = [
        _le_check("ai", "n1i", "ai", "events in arm 1 exceed n1i"),
        _le_check("ci", "n2i", "ci", "events in arm 2 exceed n2i"),
        _le_check("ci_low", "estimate", "ci_low", "lower CI limit above the estimate"),
        _le_check("estimate", "ci_high", "ci_high", "upper CI limit below the estimate"),
        _le_check("ci_low", "ci_high", "ci_low", "lower CI limit above the upper limit"),
        _within_arm_needs_baseline(),
        _direction_only_for_narrative(),
    ]
    for dtype, groups in DATA_TYPE_NEEDS.items():
        checks.extend(_needs_check(dtype, g) for g in groups)
    return pa.DataFrameSchema(
        {c: columns[c] for c in EXTRACTION_COLUMNS}, checks=checks, strict=True, coerce=False
    )


# ----------------------------------------------------------------------------------------
# study_characteristics.csv
# ----------------------------------------------------------------------------------------
CHARACTERISTICS_COLUMNS = [
    "study_id",
    "label",
    "question",
    "pmids",
    "nct_ids",
    "design",
    "washout_days",
    "randomised",
    "blinding",
    "population",
    "setting",
    "country",
    "treatment_resistant",
    "treatment_resistance_definition",
    "intervention",
    "drug",
    "dose_mg_per_kg",
    "route",
    "n_infusions",
    "schedule",
    "control",
    "control_type",
    "cointervention",
    "n_randomised_intervention",
    "n_randomised_control",
    "n_randomised_total",
    "n_analysed_intervention",
    "n_analysed_control",
    "primary_outcome",
    "source_id",
    "location",
    "notes",
    "population_scope",
]
#: columns added to the codebook later; a sheet without them is read as if they were empty
CHARACTERISTICS_OPTIONAL = ["control_type", "population_scope"]
CHARACTERISTICS_NUMERIC = [
    "washout_days",
    "n_randomised_control",
    "n_randomised_total",
    "n_analysed_control",
]
#: per-arm counts of the experimental arm(s): ';'-separated like ``dose_mg_per_kg``
CHARACTERISTICS_PER_ARM = ["n_randomised_intervention", "n_analysed_intervention"]
CHARACTERISTICS_REQUIRED = ["study_id", "label", "question", "design", "source_id", "location"]


def _semicolon_values(allowed: Iterable[str], col: str) -> pa.Check:
    allowed = set(allowed)

    def check(s: pd.Series) -> pd.Series:
        return s.isna() | s.map(
            lambda v: all(p.strip().lower() in allowed for p in str(v).split(";"))
        )

    return pa.Check(
        check, error=f"{col}: each ';'-separated value must be one of " + ", ".join(sorted(allowed))
    )


def _semicolon_numbers(col: str) -> pa.Check:
    def ok(v) -> bool:
        try:
            return all(float(p) >= 0 for p in str(v).split(";"))
        except ValueError:
            return False

    return pa.Check(
        lambda s: s.isna() | s.map(ok),
        error=f"{col}: each ';'-separated value must be a non-negative number",
    )


def _ids_check(col: str, pattern: str, what: str) -> pa.Check:
    import re

    rx = re.compile(pattern)

    def check(s: pd.Series) -> pd.Series:
        return s.isna() | s.map(
            lambda v: all(rx.fullmatch(p.strip()) for p in str(v).split(";") if p.strip())
        )

    return pa.Check(check, error=f"{col}: each ';'-separated value must be {what}")


def characteristics_schema(drugs: Iterable[str] | None = None) -> pa.DataFrameSchema:
    """Schema of ``study_characteristics.csv`` after type coercion; ``drugs`` (config
    ``vocabulary.drugs``), when given, are the values the ``drug`` column may hold."""
    cols = {c: pa.Column(str, nullable=True) for c in CHARACTERISTICS_COLUMNS}
    cols["study_id"] = pa.Column(
        str,
        pa.Check.str_matches(STUDY_ID_PATTERN, error="study_id: must look like feder2021"),
        unique=True,
        report_duplicates="all",
    )
    cols["label"] = pa.Column(str)
    cols["question"] = pa.Column(
        str, pa.Check.isin(QUESTIONS, error="question: must be treatment or prevention")
    )
    cols["design"] = pa.Column(
        str, pa.Check.isin(DESIGNS, error="design: must be parallel or crossover")
    )
    cols["randomised"] = pa.Column(
        str, pa.Check.isin(YES_NO, error="randomised: must be yes or no"), nullable=True
    )
    cols["treatment_resistant"] = pa.Column(
        str,
        pa.Check.isin(TREATMENT_RESISTANT, error="treatment_resistant: must be yes, no or unclear"),
        nullable=True,
    )
    cols["control_type"] = pa.Column(
        str,
        pa.Check.isin(CONTROL_TYPES, error="control_type: must be one of " + ", ".join(CONTROL_TYPES)),
        nullable=True,
    )
    cols["population_scope"] = pa.Column(
        str,
        pa.Check.isin(POPULATION_SCOPES,
                      error="population_scope: must be one of " + ", ".join(POPULATION_SCOPES)),
        nullable=True,
    )
    cols["drug"] = pa.Column(str, nullable=True) if drugs is None else pa.Column(
        str, _semicolon_values(drugs, "drug"), nullable=True)
    cols["dose_mg_per_kg"] = pa.Column(str, _semicolon_numbers("dose_mg_per_kg"), nullable=True)
    cols["n_infusions"] = pa.Column(str, _semicolon_numbers("n_infusions"), nullable=True)
    cols["pmids"] = pa.Column(str, _ids_check("pmids", r"(PMID:)?\d+", "a PMID"), nullable=True)
    cols["nct_ids"] = pa.Column(str, _ids_check("nct_ids", r"NCT\d{8}", "an NCT ID"), nullable=True)
    cols["source_id"] = _source_id_column()
    cols["location"] = _location_column()
    for c in CHARACTERISTICS_NUMERIC:
        cols[c] = pa.Column(float, pa.Check.ge(0, error=f"{c}: is negative"), nullable=True)
    for c in CHARACTERISTICS_PER_ARM:
        cols[c] = pa.Column(str, _semicolon_numbers(c), nullable=True)
    # washout_days may be empty for a crossover trial: empty = not reported (CODEBOOK.md)
    return pa.DataFrameSchema(cols, strict=True, coerce=False)


# ----------------------------------------------------------------------------------------
# risk_of_bias.csv
# ----------------------------------------------------------------------------------------
ROB_COLUMNS = [
    "study_id",
    "outcome",
    "domain",
    "judgement",
    "justification",
    "source_id",
    "location",
    "assessor",
    "date",
]
ROB_REQUIRED = ["study_id", "outcome", "domain", "judgement", "source_id", "location"]


def risk_of_bias_schema(study_ids: Iterable[str] | None = None) -> pa.DataFrameSchema:
    """Schema of ``risk_of_bias.csv`` (RoB 2, one row per study x outcome x domain)."""
    cols = {c: pa.Column(str, nullable=True) for c in ROB_COLUMNS}
    cols["study_id"] = _study_id_column(study_ids)
    cols["outcome"] = pa.Column(str)
    cols["domain"] = pa.Column(
        str, pa.Check.isin(ROB_DOMAINS, error="domain: must be D1-D5 or overall")
    )
    cols["judgement"] = pa.Column(
        str, pa.Check.isin(JUDGEMENTS, error="judgement: must be low, some_concerns or high")
    )
    cols["source_id"] = _source_id_column()
    cols["location"] = _location_column()
    cols["date"] = pa.Column(
        str,
        pa.Check.str_matches(r"^\d{4}-\d{2}-\d{2}$", error="date: must be YYYY-MM-DD"),
        nullable=True,
    )
    return pa.DataFrameSchema(
        cols,
        strict=True,
        unique=["study_id", "outcome", "domain"],
        report_duplicates="all",
    )


# ----------------------------------------------------------------------------------------
# thresholds.csv (optional): minimal important differences and response definitions
# ----------------------------------------------------------------------------------------
THRESHOLDS_COLUMNS = [
    "threshold_id",
    "instrument",
    "kind",
    "value",
    "unit",
    "comparison",
    "population",
    "source_id",
    "location",
    "quote",
    "notes",
]
THRESHOLDS_NUMERIC = ["value"]
#: every column but the free-text context must be filled
THRESHOLDS_REQUIRED = [c for c in THRESHOLDS_COLUMNS if c not in ("population", "notes")]


def thresholds_schema() -> pa.DataFrameSchema:
    """Schema of ``thresholds.csv``: one sourced threshold per row (CODEBOOK.md).

    ``value`` is a magnitude as printed (a reduction of 10 points is ``10``), never signed;
    the ``quote`` holds the words the number was read from.
    """
    cols = {c: pa.Column(str, nullable=True) for c in THRESHOLDS_COLUMNS}
    cols["threshold_id"] = pa.Column(
        str,
        pa.Check.str_matches(r"^T\d{3,}$", error="threshold_id: must look like T001"),
        unique=True,
        report_duplicates="all",
    )
    cols["instrument"] = pa.Column(str)
    cols["kind"] = _vocabulary_column(THRESHOLD_KINDS, "kind")
    cols["unit"] = _vocabulary_column(THRESHOLD_UNITS, "unit")
    cols["comparison"] = _vocabulary_column(THRESHOLD_COMPARISONS, "comparison")
    cols["value"] = pa.Column(float, pa.Check.ge(0, error="value: is negative"))
    cols["source_id"] = _source_id_column()
    cols["location"] = _location_column()
    cols["quote"] = pa.Column(str, pa.Check.str_length(min_value=1, error="quote: empty"))
    return pa.DataFrameSchema(cols, strict=True)


# ----------------------------------------------------------------------------------------
# registry_facts.csv (optional): registration versus publication, for reporting bias
# ----------------------------------------------------------------------------------------
REGISTRY_FACTS_COLUMNS = [
    "fact_id",
    "study_id",
    "nct_id",
    "fact_type",
    "registry_value",
    "publication_value",
    "source_id",
    "location",
    "notes",
]
REGISTRY_FACTS_REQUIRED = [
    c for c in REGISTRY_FACTS_COLUMNS if c not in ("publication_value", "notes")
]


def registry_facts_schema(study_ids: Iterable[str] | None = None) -> pa.DataFrameSchema:
    """Schema of ``registry_facts.csv``: one registry fact bearing on reporting bias per row.

    Parameters
    ----------
    study_ids : iterable of str, optional
        The ``study_id`` values of ``study_characteristics.csv``; when given, every fact must
        belong to one of them (the facts compare an included study's registration with its
        publication).
    """
    cols = {c: pa.Column(str, nullable=True) for c in REGISTRY_FACTS_COLUMNS}
    cols["fact_id"] = pa.Column(
        str,
        pa.Check.str_matches(r"^RF\d{3,}$", error="fact_id: must look like RF001"),
        unique=True,
        report_duplicates="all",
    )
    cols["study_id"] = _study_id_column(study_ids)
    cols["nct_id"] = pa.Column(
        str, pa.Check.str_matches(r"^NCT\d{8}$", error="nct_id: must look like NCT01234567")
    )
    cols["fact_type"] = _vocabulary_column(REGISTRY_FACT_TYPES, "fact_type")
    cols["registry_value"] = pa.Column(str)
    cols["source_id"] = _source_id_column()
    cols["location"] = _location_column()
    return pa.DataFrameSchema(cols, strict=True)


# ----------------------------------------------------------------------------------------
# derived tables
# ----------------------------------------------------------------------------------------
# Each schema is ordered, so its columns are the table's column list (``*_COLUMNS``).

EFFECTS_SCHEMA = pa.DataFrameSchema(
    {
        "effect_id": pa.Column(str, unique=True),
        "study_id": pa.Column(str),
        "label": pa.Column(str, nullable=True),
        "comparison": pa.Column(str, nullable=True),
        "outcome": pa.Column(str),  # checked against the vocabulary when the sheet is read
        "instrument": pa.Column(str, nullable=True),
        "timepoint": pa.Column(str, nullable=True),
        "timepoint_days": pa.Column(float, pa.Check.ge(0), nullable=True),
        "measure": pa.Column(str, pa.Check.isin(EFFECT_MEASURES)),
        "yi": pa.Column(
            float,
            pa.Check(
                lambda s: s.map(lambda v: v == v and abs(v) < float("inf")),
                element_wise=False,
                error="yi must be finite",
            ),
        ),
        "vi": pa.Column(float, pa.Check.gt(0)),
        "sei": pa.Column(float, pa.Check.gt(0)),
        "ci_low": pa.Column(float),
        "ci_high": pa.Column(float),
        "n1i": pa.Column(float, pa.Check.ge(0), nullable=True),
        "n2i": pa.Column(float, pa.Check.ge(0), nullable=True),
        "m1i": pa.Column(float, nullable=True),
        "sd1i": pa.Column(float, pa.Check.ge(0), nullable=True),
        "m2i": pa.Column(float, nullable=True),
        "sd2i": pa.Column(float, pa.Check.ge(0), nullable=True),
        "ai": pa.Column(float, pa.Check.ge(0), nullable=True),
        "ci": pa.Column(float, pa.Check.ge(0), nullable=True),
        "data_type": pa.Column(str, pa.Check.isin(DATA_TYPES)),
        "score_type": pa.Column(str, nullable=True),
        "lower_is_better": pa.Column("boolean", nullable=True),
        "derivation": pa.Column(str, pa.Check.str_length(min_value=1)),
        "assumption": pa.Column(str, nullable=True),
        "assumption_value": pa.Column(float, nullable=True),
        "sensitivity": pa.Column(bool),
        "source_id": pa.Column(str),
        "location": pa.Column(str),
        "row_ids": pa.Column(str, pa.Check.str_length(min_value=1)),
        "design": pa.Column(str, nullable=True),
        "question": pa.Column(str, nullable=True),
        "drug": pa.Column(str, nullable=True),
        "dose_mg_per_kg": pa.Column(str, nullable=True),
        "treatment_resistant": pa.Column(str, nullable=True),
        "control_type": pa.Column(str, nullable=True),
        "year": pa.Column("Int64", nullable=True),
        # the study's total randomised (all arms), to count participants when a reported
        # contrast gives no arm sizes; counted once per study, not per comparison
        "n_randomised_total": pa.Column(float, pa.Check.ge(0), nullable=True),
    },
    checks=[pa.Check(lambda df: df["ci_low"] <= df["ci_high"], error="ci_low above ci_high")],
    strict=True,
    ordered=True,
)
EFFECTS_COLUMNS = list(EFFECTS_SCHEMA.columns)

NOT_POOLABLE_SCHEMA = pa.DataFrameSchema(
    {
        "study_id": pa.Column(str),
        "label": pa.Column(str, nullable=True),
        "comparison": pa.Column(str, nullable=True),
        "outcome": pa.Column(str),
        "instrument": pa.Column(str, nullable=True),
        "timepoint": pa.Column(str, nullable=True),
        "timepoint_days": pa.Column(float, nullable=True),
        "data_type": pa.Column(str, pa.Check.isin(DATA_TYPES)),
        "reason": pa.Column(str, pa.Check.str_length(min_value=1)),
        "narrative": pa.Column(str, nullable=True),
        "source_id": pa.Column(str),
        "location": pa.Column(str),
        "row_ids": pa.Column(str, pa.Check.str_length(min_value=1)),
        "question": pa.Column(str, nullable=True),
        "design": pa.Column(str, nullable=True),
        "dose_mg_per_kg": pa.Column(str, nullable=True),
        "treatment_resistant": pa.Column(str, nullable=True),
        # the curated direction of a words-only result (vote counting by direction)
        "direction": pa.Column(str, pa.Check.isin(DIRECTIONS), nullable=True),
    },
    strict=True,
    ordered=True,
)
NOT_POOLABLE_COLUMNS = list(NOT_POOLABLE_SCHEMA.columns)

WITHIN_ARM_SCHEMA = pa.DataFrameSchema(
    {
        "study_id": pa.Column(str),
        "label": pa.Column(str, nullable=True),
        "comparison": pa.Column(str, nullable=True),
        "arm": pa.Column(str, pa.Check.isin(["arm1", "arm2"])),
        "outcome": pa.Column(str),
        "instrument": pa.Column(str, nullable=True),
        "timepoint": pa.Column(str, nullable=True),
        "timepoint_days": pa.Column(float, nullable=True),
        "baseline_mean": pa.Column(float, nullable=True),
        "endpoint_mean": pa.Column(float, nullable=True),
        "change_mean": pa.Column(float, nullable=True),
        "percent_reduction": pa.Column(float, nullable=True),
        "derivation": pa.Column(str),
        "source_id": pa.Column(str),
        "location": pa.Column(str),
        "row_id": pa.Column(str),
    },
    strict=True,
    ordered=True,
)
WITHIN_ARM_COLUMNS = list(WITHIN_ARM_SCHEMA.columns)
