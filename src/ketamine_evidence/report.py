"""Build the self-contained HTML report a reviewer opens in a browser.

Two layers:

* :func:`build_report` is pure: it takes already-loaded tables, dicts and figure bytes
  (:class:`ReportInputs`) and returns one HTML string. Every figure is embedded as a base64
  ``data:`` URI and the CSS is inline, so the file works offline with no JavaScript.
* :func:`load_report_inputs` and :func:`write_report` are the IO part: they read the workflow's
  outputs (any of which may be missing or empty) and write the HTML file.

Numbers are rounded here and only here: 2 decimals for SMD, MD and ratios, 0 decimals for
percentages (I², percent reduction, weights), p-values with 3 decimals or ``<0.001``.

Conventions of the inputs, as written by the other steps of the workflow:

* ``claims.csv`` is already on each claim's metric scale (``percent_reduction``, ``smd``,
  ``md``, ``rr``, ``or``).
* ``pooled.csv``, ``study_effects.csv`` and ``sensitivity.csv`` are on the analysis scale of
  metafor: ratio measures (``ROM``, ``RR``, ``OR``, ``HR``) are log ratios. The report shows
  them back-transformed (``exp``) and says so.
* ``i2`` is a percentage (metafor's ``I2``); study weights are percentages of the total (a set
  of weights summing to 1 is read as fractions).
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import jinja2
import pandas as pd

from ketamine_evidence.config import (
    AnalysisSettings,
    Settings,
    load_settings,
    settings_from_mapping,
)
from ketamine_evidence.effects import RATIO_MEASURES
from ketamine_evidence.extraction import read_registry_facts
from ketamine_evidence.fits import read_recorded_settings
from ketamine_evidence.plots.rob import JUDGEMENT_SYMBOLS, symbol_legend
from ketamine_evidence.posterior import percent
from ketamine_evidence.report_living import changes_view, header_view
from ketamine_evidence.schemas.records import NOT_YET_CLASSIFIED
from ketamine_evidence.screening import awaiting_curation
from ketamine_evidence.tables import read_optional_table, write_text
from ketamine_evidence.wording import (
    CERTAINTY_LABELS,
    CERTAINTY_LEVELS,
    CERTAINTY_SYMBOLS,
    DIRECTION_SYMBOLS,
    ELIGIBILITY_WORDING,
    GRADE_DOMAINS,
    MEASURE_LABELS,
    METRIC_LABELS,
    PI_STATUS_TEXT,
    ROB_DOMAINS,
    ROB_LABELS,
    SENSITIVITY_KINDS,
    SYNTHETIC_NOTE,
    VERDICT_LABELS,
    VERDICT_SYMBOLS,
    Wording,
    wording_for,
)

TEMPLATE_DIR = Path(__file__).parent / "templates"

VERDICTS = ("supported", "contradicted", "inconclusive", "no_evidence")
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
TABLE_FIELDS = (
    "claims", "pooled", "study_effects", "sensitivity", "moderators", "studies", "screening",
    "characteristics", "risk_of_bias", "not_poolable", "registry_vs_publication", "within_arm",
    "published_syntheses", "registry_facts", "records", "certainty",
    "summary_of_findings", "claim_studies",
)
# Curated sheets a review may not have: their absence is stated where they would show, not
# flagged as a step that failed to run.
# The comparison with a previous version is optional too (a report built by hand).
OPTIONAL_INPUTS = frozenset({"registry_facts", "records", "changes"})
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

    def __post_init__(self) -> None:
        if self.config is not None and not isinstance(self.config, Settings):
            object.__setattr__(self, "config",
                               settings_from_mapping(self.config, source="report settings"))

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


# --------------------------------------------------------------------------------------------
# Formatting: the only place numbers are rounded
# --------------------------------------------------------------------------------------------


def _num(value: Any) -> float | None:
    """``value`` as a finite float, or ``None`` for missing, empty or non-numeric cells."""
    if value is None or isinstance(value, bool):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _text(value: Any) -> str:
    """A cell as text; missing values become the empty string."""
    if value is None:
        return ""
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def fmt_number(value: Any, digits: int = 2) -> str:
    """Round to ``digits`` decimals, with a true minus sign; a dash when missing."""
    x = _num(value)
    if x is None:
        return DASH
    out = f"{x:.{digits}f}"
    if out.startswith("-"):  # "-0.00" would read as a sign error
        out = out[1:] if float(out) == 0 else MINUS + out[1:]
    return out


def fmt_percent(value: Any) -> str:
    """A percentage with 0 decimals, e.g. ``'42%'``."""
    out = fmt_number(value, 0)
    return out if out == DASH else out + "%"


def fmt_p(value: Any) -> str:
    """p-value with 3 decimals, or ``'<0.001'``."""
    x = _num(value)
    if x is None:
        return DASH
    return "<0.001" if x < 0.001 else f"{x:.3f}"


def fmt_int(value: Any) -> str:
    x = _num(value)
    return DASH if x is None else f"{round(x):d}"


def fmt_interval(low: Any, high: Any, fmt=fmt_number) -> str:
    """``'a to b'`` (a dash would be mistaken for a minus sign)."""
    if _num(low) is None or _num(high) is None:
        return DASH
    return f"{fmt(low)} to {fmt(high)}"


def _metric_formatter(metric: str):
    return fmt_percent if metric == "percent_reduction" else fmt_number


def fmt_claimed_range(low: Any, high: Any, metric: str) -> str:
    """The claimed range in words, e.g. ``'60% to 100%'`` or ``'at most \u22120.80'``."""
    f = _metric_formatter(metric)
    lo, hi = _num(low), _num(high)
    if lo is None and hi is None:
        return "any value"
    if lo is None:
        return f"at most {f(hi)}"
    if hi is None:
        return f"at least {f(lo)}"
    return f"{f(lo)} to {f(hi)}"


def _on_display_scale(value: Any, measure: str) -> float | None:
    x = _num(value)
    if x is None:
        return None
    return math.exp(x) if measure.upper() in RATIO_MEASURES else x


def fmt_effect(value: Any, measure: str) -> str:
    """An effect on the analysis scale, shown on the scale readers know (ratios exponentiated)."""
    return fmt_number(_on_display_scale(value, measure))


def fmt_effect_interval(low: Any, high: Any, measure: str) -> str:
    return fmt_interval(_on_display_scale(low, measure), _on_display_scale(high, measure))


# --------------------------------------------------------------------------------------------
# Links and identifiers
# --------------------------------------------------------------------------------------------

_PMID = re.compile(r"^(?:PMID:?\s*)?(\d{1,9})$", re.IGNORECASE)
_NCT = re.compile(r"^(NCT\d{8})$", re.IGNORECASE)
_URL = re.compile(r"^https?://[^\s<>\"']+$")


def _split_ids(value: Any) -> list[str]:
    return [part.strip() for part in re.split(r"[;,]", _text(value)) if part.strip()]


def pubmed_link(pmid: str) -> Link | None:
    m = _PMID.match(pmid.strip())
    if not m:
        return None
    return Link(f"PMID {m.group(1)}", f"https://pubmed.ncbi.nlm.nih.gov/{m.group(1)}/")


def ctgov_link(nct: str) -> Link | None:
    m = _NCT.match(nct.strip())
    if not m:
        return None
    nct_id = m.group(1).upper()
    return Link(nct_id, f"https://clinicaltrials.gov/study/{nct_id}")


def source_links(value: Any) -> list[Link] | str:
    """Links for a provenance cell: ``PMID:...``, ``NCT...``, ``DOI:...`` or a URL.

    Returns the plain text when no part of it is a recognised identifier.
    """
    parts = _split_ids(value)
    links: list[Link] = []
    for part in parts:
        link = None
        if _URL.match(part):
            link = Link(part, part)
        elif part.upper().startswith("DOI:"):
            doi = part[4:].strip()
            link = Link(part, f"https://doi.org/{doi}")
        else:
            link = pubmed_link(part) if part.upper().startswith("PMID") else ctgov_link(part)
        if link is None:
            return _text(value)
        links.append(link)
    return links if links else _text(value)


# --------------------------------------------------------------------------------------------
# Small helpers on tables
# --------------------------------------------------------------------------------------------


def _rows(df: pd.DataFrame | None) -> list[dict[str, Any]]:
    if df is None or df.empty:
        return []
    return df.to_dict(orient="records")


def _has_rows(df: pd.DataFrame | None) -> bool:
    return df is not None and not df.empty


def _filter(df: pd.DataFrame | None, column: str, value: Any) -> pd.DataFrame | None:
    if not _has_rows(df) or column not in df.columns:
        return None
    return df[df[column].astype(str) == str(value)]


_ACRONYMS = {"id": "ID", "nct": "NCT", "pmid": "PMID", "pmids": "PMIDs", "doi": "DOI",
             "ctgov": "ClinicalTrials.gov", "pubmed": "PubMed", "rob": "RoB", "n": "n"}


def _humanise(key: str) -> str:
    """``nct_id`` -> ``NCT ID``, ``duplicates_removed`` -> ``Duplicates removed``."""
    words = [_ACRONYMS.get(w.lower(), w) for w in str(key).replace("_", " ").split()]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def _flatten(obj: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Nested dicts and lists as ``(path, value)`` rows for a key/value table."""
    rows: list[tuple[str, str]] = []
    if isinstance(obj, Mapping):
        for key, value in obj.items():
            name = f"{prefix} \u203a {_humanise(key)}" if prefix else _humanise(key)
            rows.extend(_flatten(value, name))
    elif isinstance(obj, list) and obj and any(isinstance(v, Mapping | list) for v in obj):
        for i, value in enumerate(obj, start=1):
            rows.extend(_flatten(value, f"{prefix} [{i}]" if prefix else f"[{i}]"))
    elif isinstance(obj, list):
        rows.append((prefix, "; ".join(_text(v) for v in obj) or "none"))
    else:
        rows.append((prefix, _text(obj) if obj is not None else DASH))
    return rows


def _generic_table(df: pd.DataFrame | None) -> dict[str, Any] | None:
    """Any table as headers + text cells; identifier columns become links."""
    if not _has_rows(df):
        return None
    headers = [_humanise(c) for c in df.columns]
    body = []
    for row in _rows(df):
        cells: list[Any] = []
        for column, value in row.items():
            if column in {"source_id", "source", "pmid", "pmids", "nct_id", "nct_ids"}:
                cells.append(source_links(value))
            elif "percent" in str(column) or str(column).endswith("_pct"):
                cells.append(fmt_percent(value) if _num(value) is not None else _text(value))
            elif isinstance(value, float):
                cells.append(_text(value) if value.is_integer() else fmt_number(value))
            else:
                cells.append(_text(value))
        body.append(cells)
    return {"headers": headers, "rows": body}


def figure_uri(figures: Mapping[str, bytes], stem: str) -> str | None:
    """The figure as a ``data:image/png;base64`` URI, or ``None`` when absent or not a PNG."""
    data = figures.get(stem)
    if not data or not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return None
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


# --------------------------------------------------------------------------------------------
# Section builders: each returns plain data for the template (strings, lists, dicts)
# --------------------------------------------------------------------------------------------


def _smd_size(value: float, benchmarks: Mapping[str, float]) -> str:
    size = abs(value)
    small, medium, large = (benchmarks[name] for name in ("small", "medium", "large"))
    if size < small:
        return "smaller than small"
    if size < medium:
        return "small"
    if size < large:
        return "moderate"
    return "large"


def plain_reading(row: Mapping[str, Any], benchmarks: Mapping[str, float] | None,
                  wording: Wording | None = None) -> str:
    """One plain-language sentence on what the pooled trials say about a claim.

    ``benchmarks`` are the |SMD| thresholds (``analysis.smd_benchmarks``: small, medium,
    large); without them an SMD is not given a size in words. ``wording`` names the arms
    (:func:`ketamine_evidence.wording.wording_for`; neutral names when not given).
    """
    wording = wording or wording_for()
    verdict = _text(row.get("verdict"))
    metric = _text(row.get("metric"))
    f = _metric_formatter(metric)
    est, lo, hi = (_num(row.get(c)) for c in ("estimate", "ci_low", "ci_high"))
    k = _num(row.get("k"))
    if verdict == "no_evidence":
        return ("No randomised trial reported this outcome, so the trials can neither "
                "support nor refute the claim.")
    if not k:
        narrative = "; ".join(_split_ids(row.get("narrative_studies")))
        tail = f" ({narrative})" if narrative else ""
        return ("No trial reported this outcome in numbers that can be pooled; it was "
                f"reported only in words or in numbers that cannot be pooled{tail}. "
                "The size of the effect cannot be judged from words, so the trials can "
                "neither support nor refute the claim.")
    claimed = fmt_claimed_range(row.get("claimed_low"), row.get("claimed_high"), metric)
    trials = f"{fmt_int(k)} trial{'s' if k != 1 else ''}"
    if metric == "percent_reduction" and est is not None:
        what = (f"mean symptom scores were {f(abs(est))} {'lower' if est >= 0 else 'higher'} "
                f"with {wording.intervention} than with {wording.comparator} "
                f"(95% CI {fmt_interval(lo, hi, f)})")
    elif metric == "smd" and est is not None:
        size = f"{_smd_size(est, benchmarks)} " if benchmarks else ""
        what = (f"the difference from control was {size}"
                f"(g = {f(est)}, 95% CI {fmt_interval(lo, hi, f)})")
    elif est is not None:
        what = f"the pooled estimate was {f(est)} (95% CI {fmt_interval(lo, hi, f)})"
    else:
        what = "the pooled estimate could not be computed"
    endings = {
        "supported": f"the whole interval lies within the claimed {claimed}, so the trials "
                     "support the claim",
        "contradicted": f"the whole interval lies outside the claimed {claimed}, so the "
                        "trials contradict the claim",
        "inconclusive": f"the interval reaches both inside and outside the claimed {claimed}, "
                        "so the trials cannot yet tell",
    }
    ending = endings.get(verdict, "no verdict was reached")
    return f"Across {trials}, {what}; {ending}."


def _rob_summary(row: Mapping[str, Any]) -> str:
    high, some = _num(row.get("high_rob_k")), _num(row.get("some_concerns_rob_k"))
    if high is None and some is None:
        return DASH
    parts = [f"{fmt_int(high or 0)} high", f"{fmt_int(some or 0)} some concerns"]
    low = _num(row.get("low_rob_k"))
    if low is None:
        k = _num(row.get("k"))
        if k is not None:
            low = max(k - (high or 0) - (some or 0), 0)
    if low is not None:
        parts.append(f"{fmt_int(low)} low")
    unassessed = _num(row.get("unassessed_rob_k"))
    if unassessed:
        parts.append(f"{fmt_int(unassessed)} not assessed")
    return ", ".join(parts)


def probability_text(row: Mapping[str, Any], intervention: str = "the intervention") -> str:
    """The claim's Bayesian probabilities in words a clinician can read.

    E.g. "Probability that <intervention>'s true average effect on <outcome> is 60% to
    100%, measured as % reduction vs control: 3% (half-normal(0.5) prior on tau). For the effect
    in a new trial or setting: 5%." From ``p_claim``, ``p_claim_pred``, ``p_meaningful`` of
    claims.csv.
    """
    metric = _text(row.get("metric"))
    claimed = fmt_claimed_range(row.get("claimed_low"), row.get("claimed_high"), metric)
    outcome = _text(row.get("outcome")) or "the outcome"
    p = _num(row.get("p_claim"))
    if p is None:
        return ("Probability that the claim is true: not estimable (no trial result could be "
                "pooled, so there is no posterior distribution).")
    prior = _text(row.get("bayes_prior"))
    text = (f"Probability that {intervention}'s true average effect on {outcome} is "
            f"{claimed}, measured as {METRIC_LABELS.get(metric, metric)}: {percent(p)}"
            + (f" ({prior})" if prior else "") + ".")
    pred = _num(row.get("p_claim_pred"))
    if pred is not None:
        text += f" For the effect in a new trial or setting: {percent(pred)}."
    meaningful = _num(row.get("p_meaningful"))
    threshold = _num(row.get("meaningful_threshold"))
    if meaningful is not None and threshold is not None:
        f = _metric_formatter(metric)
        text += (f" Probability of an effect at least as large as the meaningful-effect "
                 f"threshold ({f(threshold)}): {percent(meaningful)}.")
    return text


def _claims_section(inputs: ReportInputs) -> list[dict[str, Any]]:
    benchmarks = inputs.analysis.smd_benchmarks if inputs.analysis else None
    wording = inputs.wording
    out = []
    for row in _rows(inputs.claims):
        metric = _text(row.get("metric"))
        f = _metric_formatter(metric)
        verdict = _text(row.get("verdict")) or "no_evidence"
        comparator = None
        if _num(row.get("comparator_estimate")) is not None:
            comparator = {
                "analysis_id": _text(row.get("comparator_analysis_id")),
                "estimate": f(row.get("comparator_estimate")),
                "ci": fmt_interval(row.get("comparator_ci_low"), row.get("comparator_ci_high"),
                                   f),
            }
        pi_status = _text(row.get("pi_status"))
        single = _num(row.get("k")) == 1
        level = _text(row.get("certainty"))
        out.append({
            "claim_id": _text(row.get("claim_id")),
            "text": _text(row.get("text")),
            "quote": _text(row.get("quote")),
            "population": _text(row.get("population")),
            "outcome": _text(row.get("outcome")),
            "timepoint": _text(row.get("timepoint")),
            # the analysis actually judged (a fallback when the planned one pooled nothing)
            "analysis_id": _text(row.get("analysis_used")) or _text(row.get("analysis_id")),
            "metric": METRIC_LABELS.get(metric, metric),
            "verdict": verdict if verdict in VERDICTS else "no_evidence",
            "verdict_label": VERDICT_LABELS.get(verdict, _humanise(verdict)),
            "verdict_symbol": VERDICT_SYMBOLS.get(verdict, ""),
            "verdict_reason": _text(row.get("verdict_reason")),
            "claimed": fmt_claimed_range(row.get("claimed_low"), row.get("claimed_high"), metric),
            "estimate": f(row.get("estimate")),
            "ci": fmt_interval(row.get("ci_low"), row.get("ci_high"), f),
            "pi": NOT_FOR_ONE if single else fmt_interval(row.get("pi_low"),
                                                          row.get("pi_high"), f),
            "pi_status": "" if single else PI_STATUS_TEXT.get(pi_status, pi_status),
            "k": fmt_int(row.get("k")),
            "n": fmt_int(row.get("n_participants")),
            "i2": NOT_FOR_ONE if single else fmt_percent(row.get("i2")),
            "rob": _rob_summary(row),
            "reading": plain_reading(row, benchmarks, wording),
            "narrative_studies": _split_ids(row.get("narrative_studies")),
            "comparator": comparator,
            "within_arm": _text(row.get("within_arm_reduction")),
            "certainty": level if level in CERTAINTY_LEVELS else "",
            "certainty_label": CERTAINTY_LABELS.get(level, "Certainty not rated"),
            "certainty_symbol": CERTAINTY_SYMBOLS.get(level, ""),
            "certainty_reasons": _text(row.get("certainty_reasons")),
            "certainty_short": _certainty_short(inputs.certainty, _text(row.get("claim_id"))),
            "certainty_domains": _certainty_domains(inputs.certainty,
                                                    _text(row.get("claim_id"))),
            "verdict_text": _text(row.get("verdict_text")),
            "effect_statement": _text(row.get("effect_statement")),
            "assertion": _text(row.get("assertion")),
            "assertion_result": _text(row.get("assertion_result")),
            "direction": _direction_summary(row, wording),
            "probability": probability_text(row, wording.intervention),
            "posterior_figure": figure_uri(inputs.figures,
                                           f"posterior_{_text(row.get('claim_id'))}"),
        })
    return out


NOT_FOR_ONE = "not applicable (1 trial)"


def _certainty_domains(table: pd.DataFrame | None, claim_id: str,
                       analysis_id: str = "") -> list[dict[str, Any]]:
    """The GRADE domain rows of one claim (or, with ``claim_id`` empty, one analysis)."""
    if not _has_rows(table) or "domain" not in table.columns:
        return []
    ids = table["claim_id"].map(_text) if "claim_id" in table.columns else ""
    rows = table[ids == claim_id]
    if analysis_id:
        rows = rows[rows["analysis_id"].map(_text) == analysis_id]
    return [{"domain": GRADE_DOMAINS.get(_text(r.get("domain")), _humanise(r.get("domain"))),
             "judgement": _text(r.get("judgement")).replace("_", " "),
             "levels": fmt_int(r.get("levels")), "reason": _text(r.get("reason"))}
            for r in _rows(rows) if _text(r.get("domain")) != "overall"]


def _certainty_short(table: pd.DataFrame | None, claim_id: str) -> str:
    """``'rated down 5 levels: risk of bias -1, imprecision -2, ...'`` for one claim."""
    rated = [d for d in _certainty_domains(table, claim_id) if d["levels"] not in ("0", DASH)]
    if not rated:
        return "not rated down in any domain" if _certainty_domains(table, claim_id) else ""
    total = sum(int(d["levels"]) for d in rated)
    return (f"rated down {total} level{'s' if total != 1 else ''} from high: "
            + ", ".join(f"{d['domain'].lower()} {MINUS}{d['levels']}" for d in rated))


def _direction_summary(row: Mapping[str, Any], wording: Wording) -> dict[str, str] | None:
    """Vote counting by direction of effect for one claim (None when not computed)."""
    reported = _num(row.get("reported_k"))
    if reported is None:
        return None
    p = _num(row.get("sign_test_pvalue"))
    return {
        "reported": fmt_int(reported), "pooled": fmt_int(row.get("pooled_k")),
        "favours": fmt_int(row.get("direction_favours")),
        "against": fmt_int(row.get("direction_against")),
        "unclear": fmt_int(row.get("direction_unclear")),
        "p": fmt_p(p),
        "sign_test": (f"sign test p {fmt_p(p)}; proportion favouring {wording.intervention} "
                      f"{fmt_percent(100 * _num(row.get('direction_proportion')))} (95% CI "
                      f"{fmt_percent(100 * _num(row.get('direction_ci_low')))} to "
                      f"{fmt_percent(100 * _num(row.get('direction_ci_high')))})")
        if p is not None else "no trial with a direction either way: no sign test",
    }


def _sof_section(inputs: ReportInputs) -> list[dict[str, str]]:
    """The Summary-of-findings rows as written by the claims step, certainty with symbols."""
    out = []
    for row in _rows(inputs.summary_of_findings):
        level = _text(row.get("certainty"))
        out.append({key: _text(row.get(key)) for key in (
            "claim_id", "outcome", "timepoint", "analysis_id", "trials", "participants",
            "relative_effect", "absolute_effect", "footnotes", "statement")}
            | {"certainty": level, "certainty_label": CERTAINTY_LABELS.get(level, "not rated"),
               "certainty_symbol": CERTAINTY_SYMBOLS.get(level, "")})
    return out


def _size_class(n: float | None) -> str:
    """Arrow size by sample size (Boon & Thomson 2021: < 50, 50-299, >= 300)."""
    if n is None:
        return "n-unknown"
    return "n-small" if n < 50 else "n-medium" if n < 300 else "n-large"


def _direction_plot(inputs: ReportInputs,
                    claims: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """Effect direction plot: trials (rows) x claims (columns), one arrow per result."""
    table = inputs.claim_studies
    if not _has_rows(table) or not {"claim_id", "study_id", "direction"} <= set(table.columns):
        return None
    columns = [c["claim_id"] for c in claims] or sorted(set(table["claim_id"].map(_text)))
    direction_labels = inputs.wording.direction_labels
    by_study: dict[str, dict[str, Any]] = {}
    for r in _rows(table):
        sid = _text(r.get("study_id"))
        study = by_study.setdefault(sid, {"label": _text(r.get("label")) or sid,
                                          "rob": _text(r.get("rob")), "n": None, "cells": {}})
        n = _num(r.get("n"))
        if n is not None:
            study["n"] = max(study["n"] or 0, n)
        direction = _text(r.get("direction")) or "not_judged"
        pooled = _text(r.get("pooled")).lower() in {"true", "1"}
        study["cells"][_text(r.get("claim_id"))] = {
            "symbol": DIRECTION_SYMBOLS.get(direction, "?"),
            "label": direction_labels.get(direction, direction) + (
                ", pooled" if pooled else ", not pooled"),
            "direction": direction, "pooled": pooled,
            "evidence": _text(r.get("evidence"))}
    rows = []
    for study in sorted(by_study.values(), key=lambda x: x["label"]):
        rows.append({"label": study["label"], "n": fmt_int(study["n"]),
                     "size": _size_class(study["n"]),
                     "rob": study["rob"] or "none",
                     "rob_label": ROB_LABELS.get(study["rob"], "not assessed"),
                     "cells": [study["cells"].get(c) for c in columns]})
    votes = {c["claim_id"]: c["direction"] for c in claims}
    return {"columns": columns, "rows": rows,
            "votes": [votes.get(c) for c in columns]}


def prediction_interval_text(test: str, pi_df: str | None) -> str:
    """How the prediction interval's critical value was chosen, in words.

    Mirrors :func:`ketamine_evidence.meta.rma`: with ``pi_df`` unset the critical value of
    the test is used (metafor ``predict()``): normal for ``z``, t with k - 1 df for ``knha``
    and ``adhoc``; ``pi_df`` ``"k-1"``/``"k-2"`` forces a t distribution with that many df.
    """
    if pi_df not in (None, ""):
        df = str(pi_df).replace("-", "\u2212")
        return f"t distribution with {df} df"
    if test == "z":
        return "metafor predict(): normal (z) critical value, as the test"
    return "metafor predict(): t distribution with k\u22121 df, as the test"


def bayes_methods_text(settings: Mapping[str, Any]) -> str:
    """The priors of the Bayesian analysis in words (config ``analysis.bayes``)."""
    priors = settings.get("priors") or {}
    if not priors:
        return "not run (no prior configured)"
    family = {"halfnormal": "half-normal", "halfcauchy": "half-Cauchy"}
    parts = []
    for measure, spec in priors.items():
        unit = " \u00d7 the unit information SD" if spec.get("scale_unit") == "uisd" else ""
        mu = spec.get("mu_prior_sd")
        sd = f"({_text(mu)}{unit})" if unit else _text(mu)
        mu_text = "uniform prior on mu" if mu is None else f"mu ~ N(0, {sd}\u00b2)"
        parts.append(f"{measure}: tau ~ {family.get(spec.get('tau_prior'), '')}"
                     f"({_text(spec.get('tau_scale'))}{unit}), {mu_text}")
    sens = "; ".join(
        f"{family.get(s.get('tau_prior'), 'same family')} with scale \u00d7{_text(s['scale_factor'])}"
        for s in settings.get("sensitivity") or [])
    return ("normal-normal hierarchical model computed by numerical integration over tau "
            "(R\u00f6ver 2020, bayesmeta's model); weakly informative priors on the "
            "between-trial SD tau (Friede et al. 2017; R\u00f6ver et al. 2021): "
            + "; ".join(parts)
            + (f". Sensitivity set: {sens} (results/sensitivity.csv, "
               "results/claim_probabilities.csv)" if sens else "")
            + ". The probability of a claim is the posterior probability that the true "
            "average effect lies in the claimed range.")


def _methods_section(inputs: ReportInputs) -> dict[str, Any]:
    settings, analysis = inputs.settings, inputs.analysis
    if settings is None or analysis is None:
        return {**_conduct(inputs, analyses=0),
                "title": "", "queries": [], "choices": [], "analyses": [], "eligibility": [],
                "manifest": _manifest_view(inputs.manifest) if inputs.manifest else None,
                "manifest_state": _state(inputs.manifest), "versions": _versions(inputs)}
    search = settings.search
    window = f"{search.date_from} to {search.date_to or 'refresh'}"
    ctgov = (f"conditions: {'; '.join(search.ctgov.conditions)}; "
             f"interventions: {'; '.join(search.ctgov.interventions)}")
    queries = [{"source": "PubMed", "query": " ".join(search.pubmed.term.split()),
                "window": window},
               {"source": "ClinicalTrials.gov", "query": ctgov, "window": "all dates"}]
    method, test, pi_df = analysis.method, analysis.test, analysis.pi_df
    test_text = {
        "knha": "Hartung-Knapp-Sidik-Jonkman (t distribution with k\u22121 df)",
        "z": "Wald-type normal (z) interval",
        "adhoc": "Hartung-Knapp with the ad hoc variance correction",
    }.get(test, test)
    estimator_text = {
        "REML": "restricted maximum likelihood (REML)",
        "DL": "DerSimonian-Laird",
        "ML": "maximum likelihood",
        "PM": "Paule-Mandel",
        "EB": "empirical Bayes",
        "HS": "Hunter-Schmidt",
        "SJ": "Sidik-Jonkman",
        "HE": "Hedges",
        "EE": "equal effects (common effect, no tau\u00b2)",
    }.get(method, method)
    choices = [
        ("Model", "random effects, inverse-variance weights"),
        ("Between-study variance (tau\u00b2)", estimator_text),
        ("Confidence interval of the pooled effect", f"{analysis.level:.0%} {test_text}"),
        ("Prediction interval", prediction_interval_text(test, pi_df)),
        ("Interval for tau\u00b2", "Q-profile (Viechtbauer 2007)"),
        ("Crossover trials", "paired analysis assuming a within-person correlation "
         f"r = {_text(analysis.crossover_r)}; sensitivity at "
         f"{', '.join(_text(r) for r in analysis.crossover_r_sensitivity)}"),
        ("Instrument priority within a study",
         ", ".join(_text(i) for i in analysis.instrument_priority) or DASH),
        ("Effect size benchmarks (|SMD|)",
         ", ".join(f"{k} {_text(v)}" for k, v in analysis.smd_benchmarks.items()) or DASH),
        ("Small-study effects", "Egger's regression test and trim-and-fill, reported only as "
         f"descriptive with fewer than {EGGER_MIN_K} studies"),
        ("Bayesian random effects", bayes_methods_text(analysis.bayes or {})),
    ]
    analyses = [
        {"id": a.id, "title": a.title, "outcome": a.outcome, "measure": a.measure,
         "window": " to ".join(_text(d) for d in a.window_days),
         "pick": a.pick,
         "filters": "; ".join(f"{k} = {', '.join(_text(x) for x in v)}"
                              for k, v in a.filters.items())}
        for a in analysis.analyses
    ]
    # the rules only: the *_label keys word the screening reasons and decide nothing
    rules = {k: v for k, v in settings.eligibility.to_dict().items()
             if k not in ELIGIBILITY_WORDING}
    elig_rows = [(_humanise(k), v) for k, v in _flatten(rules)]
    return {
        **_conduct(inputs, analyses=len(analysis.analyses)),
        "title": settings.review.title,
        "queries": queries,
        "manifest": _manifest_view(inputs.manifest) if inputs.manifest else None,
        "manifest_state": _state(inputs.manifest),
        "choices": choices,
        "analyses": analyses,
        "eligibility": elig_rows,
        "versions": _versions(inputs),
    }


# Sources a systematic review of trials usually searches (Cochrane Handbook ch. 4) that this
# workflow does not: named in the Methods so a reader knows what the search could miss.
NOT_SEARCHED = (
    "Embase", "PsycINFO", "Cochrane CENTRAL", "Web of Science", "Scopus",
    "WHO ICTRP and other trial registries besides ClinicalTrials.gov",
    "conference proceedings, theses and other grey literature",
)


def _conduct(inputs: ReportInputs, *, analyses: int) -> dict[str, Any]:
    """How the review was done (PRISMA 2020 items 5, 8, 9, 24 and 27): protocol, selection,
    data extraction, sources not searched and limitations, from what the inputs show."""
    screening = inputs.screening
    selection = ("Records were screened against the eligibility rules below by code (title, "
                 "abstract, publication type and registry fields). A reviewer checked the "
                 "automatic decisions and recorded each change, with its reason, in "
                 "screening_overrides.csv; one reviewer decided, not two independently.")
    if _has_rows(screening) and "decided_by" in screening.columns:
        by_reviewer = int(screening["decided_by"].astype(str).str.startswith("override").sum())
        selection += (f" Of {len(screening)} screening decisions, {len(screening) - by_reviewer}"
                      f" were the automatic rules' and {by_reviewer} a reviewer's.")
    extraction = ("One reviewer typed each number exactly as printed into extraction.csv, with "
                  "its source (PMID, NCT ID or URL) and location (abstract, table, registry "
                  "field); numbers were not extracted in duplicate. Conversions (SD from SE or "
                  "CI, counts from percentages, crossover and shared-control adjustments) are "
                  "done by code and recorded with each effect. Risk of bias was judged with "
                  "RoB 2 by one reviewer, with a justification and source for every domain.")
    protocol = ("No protocol was registered (e.g. in PROSPERO). The question, eligibility "
                "rules, the pre-specified analyses and the claims with their ranges are fixed "
                "in the review's configuration under version control, so every change to them "
                "is in the repository's history.")
    search = _search_status(inputs.manifest) or {}
    full_text = full_text_status(inputs.characteristics)
    limitations = []
    if search and search.get("status") not in ("run", "done"):
        limitations.append("No database search has been run: the records come only from the "
                           "reviewers' list of known reports and registrations, so trials that "
                           "list does not hold are missing.")
    limitations.append("Not searched: " + ", ".join(NOT_SEARCHED) + ".")
    if full_text and full_text["abstract_only"]:
        limitations.append(
            f"{full_text['abstract_only']} of {full_text['studies']} included studies were read "
            "only in their abstracts or registry records (full texts not retrieved), so most "
            "arm-level results could not be extracted.")
    limitations.append("Selection, extraction and risk-of-bias judgements were each made by "
                       "one reviewer, without independent duplicate assessment.")
    ks = [int(v) for v in (_num(r.get("k")) for r in _rows(inputs.pooled)) if v is not None]
    if ks and max(ks) < 10:
        limitations.append(
            f"At most {max(ks)} trial{'s' if max(ks) != 1 else ''} per analysis (fewer than "
            f"{EGGER_MIN_K}): small-study tests are not informative, and heterogeneity and "
            "prediction intervals are imprecise or not estimable.")
    if analyses:
        limitations.append(f"{analyses} analyses were pre-specified; those with no poolable "
                           "trial are listed, not dropped.")
    return {"protocol": protocol, "selection": selection, "extraction": extraction,
            "not_searched": list(NOT_SEARCHED), "limitations": limitations}


def _versions(inputs: ReportInputs) -> list[tuple[str, str]]:
    versions = [(name, _text(inputs.versions.get(name)) or "not recorded")
                for name in SOFTWARE if name in inputs.versions]
    versions += [(name, _text(v)) for name, v in inputs.versions.items() if name not in SOFTWARE]
    return versions


def _search_status(obj: Mapping[str, Any] | None) -> dict[str, str] | None:
    """``database_search`` block of the manifest or PRISMA counts (status, date, note)."""
    search = (obj or {}).get("database_search")
    if not isinstance(search, Mapping):
        return None
    return {"status": _text(search.get("status")) or "unknown",
            "as_of": _text(search.get("as_of")), "note": _text(search.get("note"))}


def _manifest_view(manifest: Mapping[str, Any] | None) -> dict[str, Any]:
    """The snapshot manifest: search status, one row per source, the rest as key/value rows."""
    manifest = manifest or {}
    sources = []
    raw_sources = manifest.get("sources")
    if isinstance(raw_sources, Mapping):
        for key, meta in raw_sources.items():
            meta = meta if isinstance(meta, Mapping) else {"status": meta}
            counts = meta.get("counts") or {}
            sources.append({
                "source": {"pubmed": "PubMed", "ctgov": "ClinicalTrials.gov"}.get(key, key),
                "status": _text(meta.get("status")) or DASH,
                "query": _text(meta.get("query")) or DASH,
                "retrieved": _text(meta.get("retrieved_utc") or meta.get("retrieved")) or DASH,
                "counts": ", ".join(f"{_humanise(k).lower()} {_text(v)}"
                                    for k, v in counts.items()) if isinstance(counts, Mapping)
                else _text(counts),
            })
    other = manifest.get("other_methods")
    other_text = ""
    if isinstance(other, Mapping):
        other_text = _text(other.get("description"))
        if _text(other.get("file")):
            other_text += f" ({_text(other.get('file'))})"
    return {"search": _search_status(manifest), "sources": sources,
            "snapshot_date": _text(manifest.get("written_utc") or manifest.get("retrieved"))[:10],
            "other_methods": other_text}


def last_search(manifest: Mapping[str, Any] | None) -> str:
    """One line for the report header: when the databases were last searched, or that they
    were not, with the date of the snapshot the report was built from."""
    if not manifest:
        return "no retrieval manifest: search date unknown"
    dates = []
    sources = manifest.get("sources")
    if isinstance(sources, Mapping):
        for meta in sources.values():
            if isinstance(meta, Mapping):
                when = _text(meta.get("retrieved_utc") or meta.get("retrieved"))
                if when:
                    dates.append(when[:10])
    snapshot = _text(manifest.get("written_utc") or manifest.get("retrieved"))[:10]
    search = _search_status(manifest) or {}
    if dates:
        return f"databases last searched {max(dates)}"
    status = search.get("status", "unknown").replace("_", " ")
    as_of = search.get("as_of") or snapshot
    return (f"database search {status}" + (f" as of {as_of}" if as_of else "")
            + "; records from the reviewers' list only")


def _state(obj: Any) -> str:
    if obj is None:
        return "missing"
    if isinstance(obj, pd.DataFrame):
        return "empty" if obj.empty else "loaded"
    return "empty" if len(obj) == 0 else "loaded"


PRISMA_BOXES = (
    ("identified", "Records identified"),
    ("duplicates_removed", "Duplicate records removed"),
    ("records_screened", "Records screened (title and abstract)"),
    ("records_excluded", "Records excluded"),
    ("records_excluded_by_automation", "\u2026 of which by automatic rules"),
    ("records_excluded_reasons", "\u2026 reasons"),
    ("reports_sought", "Reports sought for retrieval"),
    ("reports_not_retrieved", "Reports not retrieved"),
    ("reports_assessed", "Reports assessed for eligibility (full text)"),
    ("reports_excluded", "Reports excluded"),
    ("reports_excluded_reasons", "\u2026 reasons"),
    ("reports_ongoing", "Reports of studies ongoing (not excluded)"),
    ("reports_awaiting_classification", "Reports of studies awaiting classification (not excluded)"),
    ("reports_included", "Reports included"),
)


def _prisma_value(value: Any) -> str:
    if isinstance(value, Mapping):
        return "; ".join(f"{_humanise(k).lower()} {_text(v)}" for k, v in value.items()) or "none"
    return _text(value) if value is not None else DASH


def _prisma_columns(prisma: Mapping[str, Any]) -> list[tuple[str, str, str]] | None:
    """PRISMA 2020 boxes side by side: databases and registers | other methods."""
    db, other = prisma.get("databases_and_registers"), prisma.get("other_methods")
    if not isinstance(db, Mapping) or not isinstance(other, Mapping):
        return None
    rows = [(label, _prisma_value(db.get(key)), _prisma_value(other.get(key)))
            for key, label in PRISMA_BOXES if key in db or key in other]
    known = {key for key, _ in PRISMA_BOXES}
    rows += [(_humanise(key), _prisma_value(db.get(key)), _prisma_value(other.get(key)))
             for key in dict.fromkeys([*db, *other]) if key not in known]
    return rows


def _prisma_section(inputs: ReportInputs) -> dict[str, Any]:
    prisma = inputs.prisma or {}
    columns = _prisma_columns(prisma)
    shown = {"databases_and_registers", "other_methods", "database_search"} if columns else {
        "database_search"}
    rest = {k: v for k, v in prisma.items() if k not in shown}
    reasons = None
    screening = inputs.screening
    if _has_rows(screening) and "decision" in screening.columns:
        excluded = screening[screening["decision"].astype(str).str.lower() == "exclude"]
        if not excluded.empty and "reason_code" in excluded.columns:
            counts = (excluded.assign(reason_code=excluded["reason_code"].fillna("unspecified"))
                      .groupby("reason_code", sort=True).size()
                      .sort_values(ascending=False, kind="stable"))
            reasons = [(_humanise(code), int(n)) for code, n in counts.items()]
    decisions = None
    if _has_rows(screening) and "decision" in screening.columns:
        # ongoing studies and studies awaiting classification are not excluded (PRISMA 2020)
        outcome = screening["decision"].fillna("undecided").astype(str)
        if "reason_code" in screening.columns:
            for code, label in NOT_YET_CLASSIFIED.items():
                outcome = outcome.mask(screening["reason_code"] == code, label)
        decisions = [(_humanise(d), int(n)) for d, n in outcome.value_counts().items()]
    if reasons:
        apart = {_humanise(code) for code in NOT_YET_CLASSIFIED}
        reasons = [(r, n) for r, n in reasons if r not in apart]
    return {
        "figure": figure_uri(inputs.figures, "prisma"),
        "columns": columns,
        "counts": _flatten(rest) if rest and not columns else [],
        "included_studies": _text(prisma.get("included", {}).get("studies"))
        if isinstance(prisma.get("included"), Mapping) else "",
        "full_text": full_text_status(inputs.characteristics),
        "excluded": _excluded_reports(inputs),
        "not_yet_classified": len(_not_yet_classified(screening)),
        "search": _search_status(prisma),
        "state": _state(inputs.prisma),
        "reasons": reasons,
        "decisions": decisions,
    }


_BRACKET_PREFIX = re.compile(r"^\[[^\]]*\]\s*")


def full_text_status(characteristics: pd.DataFrame | None) -> dict[str, Any] | None:
    """How the included studies were read: ``abstract_only`` counts the studies whose curated
    ``location`` names an abstract or registry record and no full text, i.e. whose full
    reports were not retrieved (PRISMA 2020 "reports not retrieved" would otherwise read 0)."""
    if not _has_rows(characteristics) or "location" not in characteristics.columns:
        return None
    rows = _rows(characteristics)
    if "question" in characteristics.columns:
        rows = [r for r in rows if _text(r.get("question")) in ("", "treatment")] or rows
    locations = [_text(r.get("location")).lower() for r in rows]
    abstract_only = [
        _text(r.get("label")) or _text(r.get("study_id"))
        for r, loc in zip(rows, locations, strict=True)
        if ("abstract" in loc or "registry" in loc) and "full text" not in loc
    ]
    return {"studies": len(rows), "abstract_only": len(abstract_only),
            "labels": "; ".join(abstract_only)}


def _excluded_reports(inputs: ReportInputs) -> list[dict[str, Any]]:
    """Excluded records with their reason (ongoing studies and studies awaiting
    classification are not excluded: they are listed apart)."""
    screening = inputs.screening
    if not _has_rows(screening) or not {"decision", "record_id"} <= set(screening.columns):
        return []
    records = {}
    for r in _rows(inputs.records):
        who = " ".join(x for x in (_text(r.get("first_author")), _text(r.get("year"))) if x)
        ids = [f"PMID:{_text(r.get('pmid'))}" if _text(r.get("pmid")) else "",
               _text(r.get("nct_id"))]
        records[_text(r.get("record_id"))] = {
            "title": " \u2014 ".join(x for x in (who, _text(r.get("title"))) if x),
            "links": source_links(" ".join(i for i in ids if i)) if any(ids) else ""}
    excluded = screening[screening["decision"].astype(str).str.lower() == "exclude"]
    if "reason_code" in excluded.columns:
        excluded = excluded[~excluded["reason_code"].isin(list(NOT_YET_CLASSIFIED))]
    out = []
    for row in _rows(excluded):
        detail = _BRACKET_PREFIX.sub("", _text(row.get("reason_text")))
        record = records.get(_text(row.get("record_id"))) or {"title": "", "links": ""}
        out.append({
            "record": _text(row.get("record_id")),
            "title": record["title"],
            "links": record["links"],
            "reason": _humanise(_text(row.get("reason_code")) or "unspecified"),
            "detail": detail,
            "by": "reviewer" if str(row.get("overridden")).lower() == "true"
            or _text(row.get("decided_by")).startswith("override") else "automatic rule",
        })
    return sorted(out, key=lambda r: (r["reason"], r["record"]))


def _study_links(row: Mapping[str, Any]) -> list[Link]:
    links = [pubmed_link(p) for p in _split_ids(row.get("pmids") or row.get("pmid"))]
    links += [ctgov_link(n) for n in _split_ids(row.get("nct_ids") or row.get("nct_id"))]
    return [link for link in links if link is not None]


def _alternatives(value: Any) -> str:
    """``0.2;0.5`` -> ``0.2 or 0.5``; repeated parts (``IV;IV``) once."""
    parts = list(dict.fromkeys(p.strip() for p in _text(value).split(";") if p.strip()))
    return " or ".join(parts)


def _count(value: Any) -> str:
    """A sample size as printed (``53;51`` for two arms), or a dash."""
    return _text(value).replace(";", " + ") or DASH


def _characteristics_section(inputs: ReportInputs) -> dict[str, Any]:
    """An overview row and a card of full details for each study, grouped by question."""
    wording = inputs.wording
    settings = inputs.settings
    # the dose unit and this review's names of the arm-count columns (vocabulary); without
    # the vocabulary: no unit, the codebook names
    vocabulary = (settings.vocabulary
                  if settings is not None and settings.has("vocabulary") else None)
    dose_unit = vocabulary.dose_unit if vocabulary else ""
    n_randomised, n_analysed = (vocabulary.sheet_column(c) if vocabulary else c
                                for c in ("n_randomised_intervention", "n_analysed_intervention"))
    table = inputs.characteristics
    if not _has_rows(table):
        table = inputs.studies
    groups: dict[str, list[dict[str, Any]]] = {"treatment": [], "prevention": [], "other": []}
    for row in _rows(table):
        n_k, n_c = _count(row.get(n_randomised)), _count(row.get("n_randomised_control"))
        total = _count(row.get("n_randomised_total"))
        if (n_k, n_c) != (DASH, DASH):
            n = f"{n_k} / {n_c}" + (f" (total {total})" if total != DASH else "")
        else:
            n = f"total {total}" if total != DASH else "not reported"
        design = _text(row.get("design"))
        if design == "crossover" and _text(row.get("washout_days")):
            design += f", washout {_text(row.get('washout_days'))} days"
        dose = _alternatives(row.get("dose_mg_per_kg"))
        drug = " ".join(x for x in (
            _alternatives(row.get("drug")),
            f"{dose} {dose_unit}".rstrip() if dose else "",
            _alternatives(row.get("route")),
        ) if x)
        doses = _alternatives(row.get("n_infusions"))
        if doses:
            drug += f", {doses} dose{'s' if doses != '1' else ''}"
        detail_fields = (
            ("Blinding", "blinding"), ("Population", "population"), ("Setting", "setting"),
            ("Country", "country"), ("Treatment resistance", "treatment_resistance_definition"),
            ("Intervention", "intervention"), ("Schedule", "schedule"), ("Control", "control"),
            ("Co-intervention", "cointervention"),
            (f"Analysed ({wording.arms_pair})", None), ("Primary outcome", "primary_outcome"),
        )
        details = []
        for name, column in detail_fields:
            if column is None:
                a_k = _count(row.get(n_analysed))
                a_c = _count(row.get("n_analysed_control"))
                value = f"{a_k} / {a_c}" if (a_k, a_c) != (DASH, DASH) else ""
            else:
                value = _text(row.get(column))
            if value:
                details.append((name, value))
        question = _text(row.get("question")).lower()
        groups[question if question in groups else "other"].append({
            "label": _text(row.get("label")) or _text(row.get("study_id")),
            "study_id": _text(row.get("study_id")),
            "links": _study_links(row),
            "design": design or DASH,
            "randomised": _text(row.get("randomised")) or DASH,
            "resistant": _text(row.get("treatment_resistant")) or DASH,
            "drug": drug or DASH,
            "control": _text(row.get("control")).split(" (")[0] or DASH,
            "n": n,
            "population": _text(row.get("population")),
            "details": details,
            "source": source_links(row.get("source_id")),
            "location": _text(row.get("location")),
        })
    return {"groups": groups, "state": _state(table)}


def _rob_section(inputs: ReportInputs) -> dict[str, Any]:
    rob = inputs.risk_of_bias
    matrix, details = [], []
    domains: list[str] = []
    if _has_rows(rob) and {"study_id", "domain", "judgement"} <= set(rob.columns):
        labels = {}
        for row in _rows(inputs.characteristics):
            labels[_text(row.get("study_id"))] = _text(row.get("label"))
        present = [str(d) for d in rob["domain"].dropna().unique()]
        domains = [d for d in ROB_DOMAINS if d in present] + sorted(
            d for d in present if d not in ROB_DOMAINS)
        group_cols = ["study_id", "outcome"] if "outcome" in rob.columns else ["study_id"]
        for keys, part in rob.groupby(group_cols, sort=True, dropna=False):
            keys = keys if isinstance(keys, tuple) else (keys,)
            study_id = _text(keys[0])
            outcome = _text(keys[1]) if len(keys) > 1 else ""
            by_domain = {str(r["domain"]): r for r in _rows(part)}
            cells = []
            for d in domains:
                j = _text(by_domain.get(d, {}).get("judgement"))
                cells.append({"judgement": j or "none",
                              "label": ROB_LABELS.get(j, j or "not assessed"),
                              "symbol": ROB_SYMBOLS.get(j or "no_information", "")})
            matrix.append({"study": labels.get(study_id) or study_id, "outcome": outcome,
                           "cells": cells})
            for d in domains:
                if d not in by_domain:
                    continue
                r = by_domain[d]
                j = _text(r.get("judgement"))
                details.append({
                    "study": labels.get(study_id) or study_id, "outcome": outcome,
                    "domain": ROB_DOMAINS.get(d, d), "judgement": j or "none",
                    "label": ROB_LABELS.get(j, j or "not assessed"),
                    "symbol": ROB_SYMBOLS.get(j, ""),
                    "justification": _text(r.get("justification")),
                    "source": source_links(r.get("source_id")),
                    "location": _text(r.get("location")),
                    "assessor": " ".join(x for x in (_text(r.get("assessor")),
                                                     _text(r.get("date"))) if x),
                })
    return {
        "figure": figure_uri(inputs.figures, "rob_summary"),
        "domains": [ROB_DOMAINS.get(d, d) for d in domains],
        "domain_codes": domains,
        "legend": symbol_legend(),
        "matrix": matrix,
        "details": details,
        "state": _state(rob),
    }


def _registry_section(inputs: ReportInputs) -> dict[str, Any]:
    """Registry versus publication: the curated facts (``registry_facts.csv``: changed primary
    outcome, different primary time point, different enrolment ...) beside the automatic
    comparison of ClinicalTrials.gov posted results with the publication."""
    labels = {_text(r.get("study_id")): _text(r.get("label"))
              for r in _rows(inputs.characteristics)}
    facts = []
    for r in _rows(inputs.registry_facts):
        study_id = _text(r.get("study_id"))
        kind = _text(r.get("fact_type"))
        facts.append({
            "study": labels.get(study_id) or study_id,
            "registration": source_links(r.get("nct_id")),
            "kind": REGISTRY_FACT_LABELS.get(kind, kind),
            "registry": _text(r.get("registry_value")),
            "publication": _text(r.get("publication_value")),
            "source": source_links(r.get("source_id")),
            "location": _text(r.get("location")),
            "notes": _text(r.get("notes")),
        })
    return {
        "facts": facts,
        "facts_state": _state(inputs.registry_facts),
        "automatic": _generic_table(inputs.registry_vs_publication),
        "automatic_state": _state(inputs.registry_vs_publication),
    }


def _weights_as_percent(weights: pd.Series) -> pd.Series:
    w = pd.to_numeric(weights, errors="coerce")
    total = w.sum(skipna=True)
    return w * 100 if 0.99 <= total <= 1.01 else w


def _configured_analyses(inputs: ReportInputs) -> tuple:
    """The pre-specified analyses of the settings (none without settings)."""
    return inputs.analysis.analyses if inputs.analysis else ()


def _analysis_sections(inputs: ReportInputs) -> list[dict[str, Any]]:
    titles = {a.id: a.title for a in _configured_analyses(inputs)}
    out = []
    for row in _rows(inputs.pooled):
        aid = _text(row.get("analysis_id"))
        measure = _text(row.get("measure")).upper()
        k = _num(row.get("k"))
        effects = _filter(inputs.study_effects, "analysis_id", aid)
        study_rows = []
        if _has_rows(effects):
            weights = (_weights_as_percent(effects["weight"]) if "weight" in effects.columns
                       else pd.Series([None] * len(effects), index=effects.index))
            for (_, e), w in zip(effects.iterrows(), weights, strict=True):
                study_rows.append({
                    "label": _text(e.get("label")) or _text(e.get("study_id")),
                    "comparison": _text(e.get("comparison")),
                    "instrument": _text(e.get("instrument")),
                    "timepoint": _text(e.get("timepoint")),
                    "effect": fmt_effect(e.get("yi"), measure) + _effect_kind(e, measure),
                    "ci": fmt_effect_interval(e.get("ci_low"), e.get("ci_high"), measure),
                    "weight": fmt_percent(w),
                    "source": source_links(e.get("source_id")),
                    "location": _text(e.get("location")),
                    "derivation": _text(e.get("derivation")),
                    "assumption": _text(e.get("assumption")),
                })
        sens = _filter(inputs.sensitivity, "analysis_id", aid)
        sensitivity = []
        if _has_rows(sens) and "kind" in sens.columns:
            kinds = [kd for kd in SENSITIVITY_KINDS if kd in set(sens["kind"].astype(str))]
            kinds += sorted(set(sens["kind"].astype(str)) - set(kinds))
            for kind in kinds:
                part = sens[sens["kind"].astype(str) == kind]
                sensitivity.append({
                    "kind": kind,
                    "title": SENSITIVITY_KINDS.get(kind, _humanise(kind)),
                    "figure": figure_uri(inputs.figures, f"{kind}_{aid}"),
                    "rows": [{
                        "label": _text(s.get("label")),
                        "estimate": fmt_effect(s.get("estimate"), measure),
                        "ci": fmt_effect_interval(s.get("ci_low"), s.get("ci_high"), measure),
                        "tau2": fmt_number(s.get("tau2"), 3),
                        "i2": fmt_percent(s.get("i2")),
                    } for s in _rows(part)],
                })
        for kind in ("cumulative", "leave1out"):
            if not any(s["kind"] == kind for s in sensitivity):
                uri = figure_uri(inputs.figures, f"{kind}_{aid}")
                if uri:
                    sensitivity.append({"kind": kind, "title": SENSITIVITY_KINDS[kind],
                                        "figure": uri, "rows": []})
        moderators = [{
            "kind": "Subgroup" if _text(m.get("kind")) == "subgroup" else "Meta-regression",
            "moderator": _text(m.get("moderator")),
            "term": _text(m.get("term")),
            "k": fmt_int(m.get("k")),
            # subgroup estimates are on the analysis' scale; test rows and slopes are not
            "estimate": (fmt_effect(m.get("estimate"), measure)
                         if _text(m.get("kind")) == "subgroup" else fmt_number(m.get("estimate"))),
            "ci": (fmt_effect_interval(m.get("ci_low"), m.get("ci_high"), measure)
                   if _text(m.get("kind")) == "subgroup"
                   else fmt_interval(m.get("ci_low"), m.get("ci_high"), fmt_number)),
            "statistic": fmt_number(m.get("statistic")),
            "df": fmt_number(m.get("df")),
            "p": fmt_p(m.get("pvalue")),
            "note": _text(m.get("note")),
        } for m in _rows(_filter(inputs.moderators, "analysis_id", aid))]
        ratio = measure in RATIO_MEASURES
        tf_k0 = _num(row.get("trimfill_k0"))
        out.append({
            "id": aid,
            "title": _text(row.get("title")) or _text(titles.get(aid)) or aid,
            "outcome": _text(row.get("outcome")),
            "measure": measure,
            "measure_label": MEASURE_LABELS.get(measure, measure),
            "ratio": ratio,
            "k": fmt_int(k),
            "n": fmt_int(row.get("n_participants")),
            "estimate": fmt_effect(row.get("estimate"), measure),
            "ci": fmt_effect_interval(row.get("ci_low"), row.get("ci_high"), measure),
            "pi": fmt_effect_interval(row.get("pi_low"), row.get("pi_high"), measure),
            "percent": (fmt_percent(100 * (1 - math.exp(_num(row["estimate"]))))
                        if measure == "ROM" and _num(row.get("estimate")) is not None else None),
            "pvalue": fmt_p(row.get("pvalue")),
            "tau2": fmt_number(row.get("tau2"), 3),
            "tau2_ci": fmt_interval(row.get("tau2_ci_low"), row.get("tau2_ci_high"),
                                    lambda v: fmt_number(v, 3)),
            "i2": fmt_percent(row.get("i2")),
            "h2": fmt_number(row.get("h2")),
            "q": fmt_number(row.get("q")),
            "q_df": fmt_int(row.get("q_df")),
            "q_pvalue": fmt_p(row.get("q_pvalue")),
            "method": _text(row.get("method")),
            "test": _text(row.get("test")),
            "studies": _text(row.get("studies")),
            "egger_p": fmt_p(row.get("egger_pvalue")),
            "trimfill_k0": fmt_int(tf_k0),
            "small_k": k is None or k < EGGER_MIN_K,
            "forest": figure_uri(inputs.figures, f"forest_{aid}"),
            "funnel": figure_uri(inputs.figures, f"funnel_{aid}"),
            "study_rows": study_rows,
            "sensitivity": sensitivity,
            "moderators": moderators,
            "single": k == 1,
            "certainty": _analysis_certainty(inputs.certainty, aid),
        })
        if k == 1:
            # One trial: no heterogeneity exists (never "0%"), and the test is a z test,
            # as metafor falls back to it with k = 1.
            out[-1].update({"pi": NOT_FOR_ONE, "tau2": NOT_FOR_ONE, "tau2_ci": "",
                            "i2": NOT_FOR_ONE, "h2": "", "q": NOT_FOR_ONE, "q_df": "",
                            "q_pvalue": "",
                            "test": "z (one trial: the estimate is the trial's own, tested "
                                    "with z as metafor does for k = 1)"})
    return out


def _effect_kind(row: Mapping[str, Any], measure: str) -> str:
    """Which standardised difference a row holds, when it is not Hedges' g.

    A reported Cohen's d is corrected to Hedges' g wherever arm sizes are known; one that
    could not be corrected keeps its name, so no label calls it g.
    """
    if measure == "SMD" and "Cohen's d as reported" in _text(row.get("derivation")):
        return " (Cohen's d, uncorrected)"
    return ""


def _analysis_certainty(table: pd.DataFrame | None, analysis_id: str) -> dict[str, Any] | None:
    """The certainty of one analysis for 'any effect' (rows with an empty claim id)."""
    domains = _certainty_domains(table, "", analysis_id)
    if not domains:
        return None
    ids = table["claim_id"].map(_text)
    overall = table[(ids == "") & (table["analysis_id"].map(_text) == analysis_id)
                    & (table["domain"].map(_text) == "overall")]
    level = _text(overall["judgement"].iloc[0]) if len(overall) else ""
    return {"level": level, "label": CERTAINTY_LABELS.get(level, "not rated"),
            "symbol": CERTAINTY_SYMBOLS.get(level, ""), "domains": domains}


def _not_yet_classified(screening: pd.DataFrame | None) -> list[dict[str, str]]:
    """Screened records of studies still ongoing or awaiting classification (not excluded).

    PRISMA 2020 and the Cochrane Handbook report these apart from the excluded studies; the
    curator's reason text carries the registry status and expected completion.
    """
    if not _has_rows(screening) or "reason_code" not in screening:
        return []
    rows = screening[screening["reason_code"].isin(list(NOT_YET_CLASSIFIED))]
    return [{"record": _text(row.get("record_id")),
             "kind": ("Ongoing" if row.get("reason_code") == "ongoing_no_results"
                      else "Awaiting classification"),
             "why": _text(row.get("reason_text"))} for row in _rows(rows)]


def _missing_section(inputs: ReportInputs, analyses: Sequence[Mapping[str, Any]],
                     claims: Sequence[Mapping[str, Any]],
                     prevention: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    not_poolable = []
    for row in _rows(inputs.not_poolable):
        not_poolable.append({
            "study": _text(row.get("label")) or _text(row.get("study")) or
            _text(row.get("study_id")),
            "outcome": _text(row.get("outcome")),
            "timepoint": _text(row.get("timepoint")),
            "reason": _text(row.get("reason")),
            "narrative": _text(row.get("narrative")),
            "source": source_links(row.get("source") or row.get("source_id")),
        })
    pooled_ids = {a["id"] for a in analyses if a["k"] not in (DASH, "0")}
    no_data = [{"id": a.id, "title": a.title}
               for a in _configured_analyses(inputs) if a.id not in pooled_ids]
    no_evidence_claims = [c for c in claims if c["k"] in (DASH, "0")]
    awaiting = []
    if _has_rows(inputs.screening) and {"stage", "decision", "decided_by"} <= set(
            inputs.screening.columns):
        curated = (inputs.characteristics["study_id"] if _has_rows(inputs.characteristics)
                   else [])
        for row in _rows(awaiting_curation(inputs.screening, curated)):
            awaiting.append({"record": _text(row.get("record_id")),
                             "study": _text(row.get("study_id")),
                             "source": _text(row.get("source")),
                             "why": _text(row.get("why"))})
    return {"not_poolable": not_poolable, "no_data": no_data, "awaiting": awaiting,
            "not_yet_classified": _not_yet_classified(inputs.screening),
            "no_evidence_claims": no_evidence_claims, "prevention": prevention,
            "not_poolable_state": _state(inputs.not_poolable)}


def input_status(inputs: ReportInputs) -> list[dict[str, str]]:
    status = []
    for name, path in INPUT_DESCRIPTIONS.items():
        value = getattr(inputs, name)
        state = _state(value)
        detail = (f"{len(value)} rows" if isinstance(value, pd.DataFrame) and state == "loaded"
                  else state)
        status.append({"name": name, "path": path, "state": state, "detail": detail})
    n_fig = sum(1 for stem in inputs.figures if figure_uri(inputs.figures, stem))
    status.append({"name": "figures", "path": "results/figures/*.png",
                   "state": "loaded" if n_fig else "missing",
                   "detail": f"{n_fig} figures" if n_fig else "missing"})
    return status


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def build_report(inputs: ReportInputs) -> str:
    """Render the whole review as one self-contained HTML page.

    Parameters
    ----------
    inputs
        The loaded tables, dicts and figure bytes (see :class:`ReportInputs`). Any of them may
        be ``None`` (missing) or empty; the page then says so in the section concerned.

    Returns
    -------
    str
        The HTML document. It references no external resource: figures are base64 ``data:``
        URIs, the CSS is inline and there is no JavaScript. All text is HTML-escaped.
    """
    claims = _claims_section(inputs)
    analyses = _analysis_sections(inputs)
    characteristics = _characteristics_section(inputs)
    status = input_status(inputs)
    context = {
        "title": inputs.settings.review.title if inputs.settings else "Evidence review",
        "generated_on": inputs.generated_on or "",
        "header": header_view(inputs.stamp, inputs.manifest,
                              inputs.settings.review.snapshot_dir if inputs.settings else None),
        "stale": bool(inputs.stamp and inputs.stamp.get("status") == "stale"),
        "changes": changes_view(inputs.changes),
        "claims": claims,
        "claims_state": _state(inputs.claims),
        "verdict_counts": [(v, VERDICT_LABELS[v], VERDICT_SYMBOLS[v],
                            sum(c["verdict"] == v for c in claims)) for v in VERDICTS],
        "labels": inputs.wording,
        "synthetic_note": SYNTHETIC_NOTE,
        "verdict_labels": VERDICT_LABELS,
        "verdict_symbols": VERDICT_SYMBOLS,
        "within_arm": _generic_table(inputs.within_arm),
        "sof": _sof_section(inputs),
        "sof_state": _state(inputs.summary_of_findings),
        "direction_plot": _direction_plot(inputs, claims),
        "certainty_labels": CERTAINTY_LABELS,
        "certainty_symbols": CERTAINTY_SYMBOLS,
        "certainty_counts": [(lv, CERTAINTY_LABELS[lv], CERTAINTY_SYMBOLS[lv],
                              sum(c["certainty"] == lv for c in claims))
                             for lv in CERTAINTY_LEVELS],
        "methods": _methods_section(inputs),
        "last_search": last_search(inputs.manifest),
        "prisma": _prisma_section(inputs),
        "characteristics": characteristics,
        "rob": _rob_section(inputs),
        "analyses": analyses,
        "pooled_state": _state(inputs.pooled),
        "registry": _registry_section(inputs),
        "syntheses": _syntheses_section(inputs.published_syntheses),
        "syntheses_state": _state(inputs.published_syntheses),
        "missing": _missing_section(inputs, analyses, claims,
                                    characteristics["groups"]["prevention"]),
        "status": status,
        # A missing file means a step did not run: warn. An empty table is a real answer
        # (e.g. no registry results in the snapshot yet): say so quietly.
        "incomplete": [s for s in status if s["state"] == "missing"
                       and s["name"] not in OPTIONAL_INPUTS
                       # the processed study list only stands in for the characteristics
                       and not (s["name"] == "studies" and _has_rows(inputs.characteristics))],
        "empty_inputs": [s for s in status if s["state"] == "empty"],
        "egger_min_k": EGGER_MIN_K,
    }
    return _environment().get_template("report.html.j2").render(**context)


# --------------------------------------------------------------------------------------------
# IO
# --------------------------------------------------------------------------------------------


SYNTHESES_REQUIRED = ("synthesis_id", "outcome", "source_id", "location")
SYNTHESES_NUMERIC = ("estimate", "ci_low", "ci_high")


def read_published_syntheses(path: str | Path | None) -> pd.DataFrame | None:
    """``published_syntheses.csv`` with every cell kept as printed (text), checked.

    Published meta-analyses are shown for context only; their numbers are never pooled.
    Cells are read as text so that values appear exactly as the curator typed them from the
    source. Raises ``ValueError`` naming the file, row and field when a required field is
    empty or a number column holds something that is not a number.
    """
    if path is None or not Path(path).is_file():
        return None
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    problems = [f"{Path(path).name}: missing column {c}" for c in
                (*SYNTHESES_REQUIRED, *SYNTHESES_NUMERIC) if c not in table]
    for i, row in table.iterrows():
        where = f"{Path(path).name} row {i + 1} (line {i + 2}; {row.get('synthesis_id', '')})"
        problems += [f"{where}: {c} is empty" for c in SYNTHESES_REQUIRED
                     if c in table and not row[c].strip()]
        for c in SYNTHESES_NUMERIC:
            if c in table and row[c].strip() and _num(row[c]) is None:
                problems.append(f"{where}: {c} is not a number ({row[c]!r})")
    if problems:
        raise ValueError("invalid published syntheses:\n  " + "\n  ".join(problems))
    return table


def _syntheses_section(table: pd.DataFrame | None) -> list[dict[str, Any]]:
    """Published results grouped by review: the review once, then its results as printed.

    Review-level text (journal, scope, conclusion, source) is taken from the review's first
    row; a result's notes are shown beside it only where they differ from that row's notes.
    """
    if not _has_rows(table):
        return []
    groups: dict[str, dict[str, Any]] = {}
    for row in _rows(table):
        def cell(name: str, row: Mapping[str, Any] = row) -> str:
            return _text(row.get(name)).strip()

        key = cell("synthesis_id")
        if key not in groups:
            groups[key] = {
                "synthesis": " ".join(x for x in (cell("first_author"), cell("year")) if x)
                or key,
                "journal": cell("journal"), "scope": cell("design_scope"),
                "search_date": cell("search_date"), "conclusion": cell("conclusion"),
                "direction": cell("direction_note"),
                "notes": cell("notes"), "source": source_links(cell("source_id")),
                "location": cell("location"), "results": [],
            }
        interval = (f"{cell('ci_low')} to {cell('ci_high')}"
                    if cell("ci_low") and cell("ci_high") else "")
        estimate = cell("estimate")
        groups[key]["results"].append({
            "k": cell("n_studies"), "outcome": cell("outcome"), "timepoint": cell("timepoint"),
            "measure": cell("measure"),
            "result": (f"{estimate} ({interval})" if interval else estimate) or "in words only",
            "p": cell("pvalue"), "i2": cell("i2"),
            "notes": cell("notes") if cell("notes") != groups[key]["notes"] else "",
        })
    return list(groups.values())


def read_json(path: str | Path | None) -> dict[str, Any] | None:
    """A JSON object; ``None`` when absent, ``{}`` when the file is empty."""
    if path is None:
        return None
    path = Path(path)
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8").strip()
    if not text:
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err.msg} at line {err.lineno})") from err
    return data if isinstance(data, dict) else {"content": data}


def read_figures(figures_dir: str | Path | None,
                 extra: Iterable[str | Path] = ()) -> dict[str, bytes]:
    """PNG files of ``figures_dir`` (and ``extra`` paths) keyed by file stem."""
    paths: list[Path] = []
    if figures_dir is not None and Path(figures_dir).is_dir():
        paths.extend(sorted(Path(figures_dir).glob("*.png")))
    paths.extend(Path(p) for p in extra)
    return {p.stem: p.read_bytes() for p in paths if p.is_file()}


def software_versions() -> dict[str, str]:
    """Versions of Python, this package and the scientific libraries it depends on."""
    import platform
    from importlib import metadata

    versions = {"python": platform.python_version()}
    for dist in SOFTWARE[1:]:
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = "not installed"
    return versions


def read_settings(path: str | Path | None) -> Settings | None:
    """The settings in ``path`` (a step's settings file or ``config.yaml``); None if absent."""
    if path is None or not Path(path).is_file():
        return None
    return load_settings(path)


def load_report_inputs(
    *,
    claims: str | Path | None = "results/claims.csv",
    pooled: str | Path | None = "results/pooled.csv",
    study_effects: str | Path | None = "results/study_effects.csv",
    sensitivity: str | Path | None = "results/sensitivity.csv",
    moderators: str | Path | None = "results/moderators.csv",
    figures_dir: str | Path | None = "results/figures",
    figures: Iterable[str | Path] = (),
    prisma: str | Path | None = "data/processed/prisma.json",
    studies: str | Path | None = "data/processed/studies.csv",
    screening: str | Path | None = "data/processed/screening.csv",
    characteristics: str | Path | None = "data/raw/study_characteristics.csv",
    risk_of_bias: str | Path | None = "data/raw/risk_of_bias.csv",
    not_poolable: str | Path | None = "data/processed/not_poolable.csv",
    registry_vs_publication: str | Path | None = "data/processed/registry_vs_publication.csv",
    within_arm: str | Path | None = "data/processed/within_arm.csv",
    published_syntheses: str | Path | None = "data/raw/published_syntheses.csv",
    registry_facts: str | Path | None = "data/raw/registry_facts.csv",
    certainty: str | Path | None = "results/certainty.csv",
    summary_of_findings: str | Path | None = "results/summary_of_findings.csv",
    claim_studies: str | Path | None = "results/claim_studies.csv",
    records: str | Path | None = "data/processed/records.csv",
    manifest: str | Path | None = "data/raw/snapshot/manifest.json",
    changes: str | Path | None = None,
    config: str | Path | Settings | Mapping[str, Any] | None = "config.yaml",
    analyses: str | Path | None = "results/analyses.json",
    versions: Mapping[str, str] | None = None,
    generated_on: str | None = None,
) -> ReportInputs:
    """Read every input of the report; a missing file becomes ``None``, never an error.

    Paths are relative to the working directory (the workflow's root). ``config`` may be a
    path (``config.yaml`` or the report step's settings file), a :class:`Settings` or a
    mapping (validated). ``analyses`` is the analyze step's ``analyses.json``: the Methods are
    written from the analysis settings it recorded. ``figures`` adds PNG files by path
    to those found in ``figures_dir``.
    """
    cfg = config if isinstance(config, Settings | Mapping) else read_settings(config)
    recorded = (read_recorded_settings(analyses)
                if analyses is not None and Path(analyses).is_file() else None)
    return ReportInputs(
        claims=read_optional_table(claims),
        pooled=read_optional_table(pooled),
        study_effects=read_optional_table(study_effects),
        sensitivity=read_optional_table(sensitivity),
        moderators=read_optional_table(moderators),
        studies=read_optional_table(studies),
        screening=read_optional_table(screening),
        characteristics=read_optional_table(characteristics),
        risk_of_bias=read_optional_table(risk_of_bias),
        not_poolable=read_optional_table(not_poolable),
        registry_vs_publication=read_optional_table(registry_vs_publication),
        within_arm=read_optional_table(within_arm),
        published_syntheses=read_published_syntheses(published_syntheses),
        registry_facts=(read_registry_facts(registry_facts)
                        if registry_facts is not None else None),
        certainty=read_optional_table(certainty),
        summary_of_findings=read_optional_table(summary_of_findings),
        claim_studies=read_optional_table(claim_studies),
        records=read_optional_table(records),
        prisma=read_json(prisma),
        manifest=read_json(manifest),
        changes=read_json(changes),
        config=cfg,
        recorded_analysis=recorded,
        versions=dict(versions) if versions is not None else software_versions(),
        figures=read_figures(figures_dir, figures),
        generated_on=generated_on,
    )


def write_report(inputs: ReportInputs, out: str | Path) -> Path:
    """Build the report and write it to ``out`` (UTF-8), creating the folder if needed.

    The file is written to a temporary name first and renamed, so a failure leaves no partial
    report behind.
    """
    return write_text(build_report(inputs), out)
