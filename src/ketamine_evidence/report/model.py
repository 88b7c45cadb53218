"""What the report is built from (:class:`ReportInputs`) and the labels it shows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import pandas as pd

from ketamine_evidence.config import (
    AnalysisSettings,
    Settings,
    settings_from_mapping,
)
from ketamine_evidence.plots.rob import JUDGEMENT_SYMBOLS
from ketamine_evidence.types import VERDICTS  # noqa: F401 (re-exported: the badge order)
from ketamine_evidence.wording import (
    Wording,
    wording_for,
)

# one symbol set for the figure and the report (robvis conventions), defined with the figure
ROB_SYMBOLS = JUDGEMENT_SYMBOLS
EGGER_MIN_K = 10
MINUS = "\u2212"
DASH = "\u2014"

# Where each input lives in the workflow, and what the report calls it.
INPUT_DESCRIPTIONS = {
    "claims": "results/claims.csv",
    "pooled": "results/pooled.csv",
    "study_effects": "results/study_effects.csv",
    "sensitivity": "results/sensitivity.csv",
    "moderators": "results/moderators.csv",
    "studies": "data/processed/studies.csv",
    "screening": "data/processed/screening.csv",
    "characteristics": "data/raw/study_characteristics.csv",
    "risk_of_bias": "data/raw/risk_of_bias.csv",
    "not_poolable": "data/processed/not_poolable.csv",
    "registry_vs_publication": "data/processed/registry_vs_publication.csv",
    "within_arm": "data/processed/within_arm.csv",
    "published_syntheses": "data/raw/published_syntheses.csv",
    "registry_facts": "data/raw/registry_facts.csv",
    "certainty": "results/certainty.csv",
    "summary_of_findings": "results/summary_of_findings.csv",
    "claim_studies": "results/claim_studies.csv",
    "records": "data/processed/records.csv",
    "prisma": "data/processed/prisma.json",
    "manifest": "data/raw/snapshot/manifest.json",
    "changes": "results/changes.json",
}
#: Where the review's config places the folder of a default path above: the snapshot and the
#: curated sheets under ``review.snapshot_dir`` and ``review.curated_dir``, the outputs under
#: ``review.output_root``.
_CONFIGURED_ROOTS = (
    ("data/raw/snapshot/", "snapshot_dir"),
    ("data/raw/", "curated_dir"),
    ("", "output_root"),
)
FIGURES_PATH = "results/figures/*.png"


def configured_input_path(name: str, settings: Settings | None) -> str:
    """Where the review configured by ``settings`` keeps input ``name`` (``"figures"`` too).

    The path of :data:`INPUT_DESCRIPTIONS` (:data:`FIGURES_PATH`) with its folder replaced by
    the config's (``review.curated_dir`` for a curated sheet, ``review.snapshot_dir`` for the
    manifest, ``review.output_root`` for a workflow output); the default path without
    settings. The report names an input it was not given by this path, never by another
    review's.
    """
    default = FIGURES_PATH if name == "figures" else INPUT_DESCRIPTIONS[name]
    if settings is None or not settings.has("review"):
        return default
    prefix, key = next((p, k) for p, k in _CONFIGURED_ROOTS if default.startswith(p))
    root = str(getattr(settings.review, key)).rstrip("/")
    rest = default[len(prefix):]
    return rest if root in ("", ".") else f"{root}/{rest}"


TABLE_FIELDS = (
    "claims", "pooled", "study_effects", "sensitivity", "moderators", "studies", "screening",
    "characteristics", "risk_of_bias", "not_poolable", "registry_vs_publication", "within_arm",
    "published_syntheses", "registry_facts", "records", "certainty",
    "summary_of_findings", "claim_studies",
)
# Curated sheets a review may not have: their absence is stated where they would show, not
# flagged as a step that failed to run.
# The comparison with a previous version is optional too (a report built by hand).
OPTIONAL_INPUTS = frozenset({"published_syntheses", "registry_facts", "records", "changes"})
REGISTRY_FACT_LABELS = {
    "primary_outcome_changed": "Primary outcome changed",
    "timeframe_changed": "Primary time point differs",
    "enrolment_differs": "Enrolment differs",
    "other": "Other",
}
SOFTWARE = ("python", "ketamine-evidence", "numpy", "pandas", "scipy", "statsmodels",
            "matplotlib", "snakemake", "jinja2")


@dataclass(frozen=True)
class ReportInputs:
    """Everything the report shows, already loaded. Any table or dict may be ``None``.

    ``None`` means the input was missing; an empty DataFrame (or dict) means it existed but
    held nothing. ``figures`` maps a file stem (``forest_<analysis id>``, ``prisma``,
    ``rob_summary`` ...) to PNG bytes. ``generated_on`` is shown in the header when given (the
    caller supplies it so that :func:`build_report` stays pure; the workflow gives none, so
    that two builds from the same inputs write the same bytes).
    """

    claims: pd.DataFrame | None = None
    pooled: pd.DataFrame | None = None
    study_effects: pd.DataFrame | None = None
    sensitivity: pd.DataFrame | None = None
    moderators: pd.DataFrame | None = None
    studies: pd.DataFrame | None = None
    screening: pd.DataFrame | None = None
    characteristics: pd.DataFrame | None = None
    risk_of_bias: pd.DataFrame | None = None
    not_poolable: pd.DataFrame | None = None
    registry_vs_publication: pd.DataFrame | None = None
    within_arm: pd.DataFrame | None = None
    published_syntheses: pd.DataFrame | None = None   # context only, never pooled
    registry_facts: pd.DataFrame | None = None  # curated registry-versus-publication facts
    certainty: pd.DataFrame | None = None             # GRADE, claim/analysis x domain
    summary_of_findings: pd.DataFrame | None = None
    claim_studies: pd.DataFrame | None = None         # reporting trials per claim
    records: pd.DataFrame | None = None  # processed records (titles of excluded reports)
    prisma: Mapping[str, Any] | None = None
    manifest: Mapping[str, Any] | None = None
    # What changed since the previous version (changes.compare, as in results/changes.json)
    changes: Mapping[str, Any] | None = None
    # The review's settings (the report step's: the whole configuration); a mapping is
    # validated.
    config: Settings | Mapping[str, Any] | None = None
    # The analysis settings the analyze step recorded in results/analyses.json: the Methods
    # say what was run, not what the config says now.
    recorded_analysis: AnalysisSettings | None = None
    versions: Mapping[str, str] = field(default_factory=dict)
    figures: Mapping[str, bytes] = field(default_factory=dict)
    generated_on: str | None = None
    stamp: Mapping[str, Any] | None = None  # provenance.build_stamp of the inputs
    # The file each input was read from (name of INPUT_DESCRIPTIONS, or "figures" for the
    # figures' pattern); an input not named here is labelled with its configured path.
    paths: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.config is not None and not isinstance(self.config, Settings):
            object.__setattr__(self, "config",
                               settings_from_mapping(self.config, source="report settings"))

    def path_of(self, name: str) -> str:
        """The file the report names for input ``name``: where it was read from, else where
        the review's config keeps it (:func:`configured_input_path`)."""
        return self.paths.get(name) or configured_input_path(name, self.settings)

    @property
    def settings(self) -> Settings | None:
        """The validated settings, or ``None`` when the report was given none."""
        return self.config

    @property
    def wording(self) -> Wording:
        """The labels of the review's question (neutral ones without settings)."""
        return wording_for(self.settings)

    @property
    def analysis(self) -> AnalysisSettings | None:
        """The analysis settings used: as recorded by the analyze step, else the config's."""
        if self.recorded_analysis is not None:
            return self.recorded_analysis
        if self.config is not None and self.config.has("analysis"):
            return self.config.analysis
        return None


class Link(NamedTuple):
    """A hyperlink cell; the template escapes both parts."""

    text: str
    href: str
