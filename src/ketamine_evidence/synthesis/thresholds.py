"""Thresholds that mean something: 'any effect' and 'a meaningful effect' (pure: no IO).

A claim's verdict compares the CI with the claimed range. Whether the effect is large enough
for a patient to notice is a second question, asked against a *meaningful-effect threshold*
on the claim's scale. Each claim names one in the config (``meaningful``):

* ``threshold_id``: a row of the curated ``data/raw/thresholds.csv`` (a published minimal
  important difference, clinically meaningful change or response definition, each with its
  source and location). Its unit must fit the claim's metric (``points`` for ``md``,
  ``smd`` for ``smd``, ``percent`` for ``percent_reduction``);
* ``smd_benchmark``: ``small``, ``medium`` or ``large`` from ``analysis.smd_benchmarks``
  (Cohen 1988). These are conventions, not thresholds derived from patients, and are named
  as such wherever they are shown.

For each claim two statements are made from the 95% CI, in the direction that benefits
patients (lower symptom scores; more responders):

``any_effect``
    ``shown`` (the whole CI on the side of benefit of the null), ``harm`` (the whole CI on
    the other side), ``not_shown`` (the CI contains the null), ``not_estimable``.
``meaningful_effect``
    ``shown`` (the whole CI beyond the threshold), ``ruled_out`` (the whole CI short of it: any
    effect is smaller than meaningful), ``uncertain`` (the CI contains it), ``no_threshold``,
    ``not_estimable``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ketamine_evidence.types import METRIC_NULLS

#: the unit of a threshold that fits each claim metric
METRIC_UNITS = {"md": "points", "smd": "smd", "percent_reduction": "percent"}


@dataclass(frozen=True)
class Meaningful:
    """A meaningful-effect threshold on a claim's scale, signed in the direction of benefit."""

    value: float
    label: str
    source: str


def benefit_sign(metric: str, lower_is_better: bool | None) -> int:
    """+1 when larger values of ``metric`` mean benefit, -1 when smaller values do.

    ``percent_reduction`` is a reduction, so larger is better on a lower-is-better scale.
    Differences (``smd``, ``md``) benefit when negative on lower-is-better outcomes; ratios
    (``rr``, ``or``) when above 1 on higher-is-better outcomes (e.g. response). Orientation
    unknown is taken as lower-is-better (symptom scales), the convention of the claims.
    """
    lower = True if lower_is_better is None else bool(lower_is_better)
    if metric == "percent_reduction":
        return 1 if lower else -1
    return -1 if lower else 1


def resolve(specs: Sequence[Mapping] | None, metric: str, sign: int, *,
            thresholds: pd.DataFrame | None = None,
            smd_benchmarks: Mapping[str, float] | None = None,
            claim_id: str = "") -> Meaningful | None:
    """The claim's meaningful-effect threshold: the first of ``specs`` that fits ``metric``.

    ``specs`` is the claim's config entry ``meaningful`` (a list of ``{threshold_id: ...}``
    or ``{smd_benchmark: ...}``); a claim judged on a fallback scale uses the first entry
    whose unit fits that scale. ``None`` when none fits.

    Raises
    ------
    ValueError
        Naming the claim when a threshold id is not in ``thresholds.csv`` or a benchmark is
        not configured.
    """
    for spec in specs or []:
        unit = _unit(spec, thresholds, claim_id)
        if METRIC_UNITS.get(metric) == unit:
            return _resolve_one(spec, metric, sign, thresholds=thresholds,
                                smd_benchmarks=smd_benchmarks, claim_id=claim_id)
    return None


def _threshold_row(spec: Mapping, thresholds: pd.DataFrame | None, claim_id: str) -> pd.Series:
    """The ``thresholds.csv`` row a ``{threshold_id: ...}`` entry names (error if none)."""
    where = f"config.yaml: claims: {claim_id}: meaningful"
    tid = str(spec.get("threshold_id", ""))
    if thresholds is None or thresholds.empty or "threshold_id" not in thresholds:
        raise ValueError(f"{where}: threshold_id {tid!r} but thresholds.csv is absent or "
                         "empty")
    rows = thresholds[thresholds["threshold_id"].astype(str) == tid]
    if rows.empty:
        raise ValueError(f"{where}: threshold_id {tid!r} is not in thresholds.csv")
    return rows.iloc[0]


def _unit(spec: Mapping, thresholds: pd.DataFrame | None, claim_id: str) -> str:
    if spec.get("smd_benchmark"):
        return "smd"
    return str(_threshold_row(spec, thresholds, claim_id)["unit"])


def _resolve_one(spec: Mapping, metric: str, sign: int, *,
                 thresholds: pd.DataFrame | None = None,
                 smd_benchmarks: Mapping[str, float] | None = None,
                 claim_id: str = "") -> Meaningful:
    where = f"config.yaml: claims: {claim_id}: meaningful"
    if spec.get("threshold_id"):
        tid = str(spec["threshold_id"])
        row = _threshold_row(spec, thresholds, claim_id)
        unit = str(row["unit"])
        if METRIC_UNITS.get(metric) != unit:
            raise ValueError(f"{where}: threshold {tid} is in {unit!r}, which does not fit the "
                             f"claim's metric {metric!r} (needs "
                             f"{METRIC_UNITS.get(metric, 'no threshold')!r})")
        value = float(row["value"])
        kind = str(row["kind"]).replace("_", " ")
        label = f"{row['instrument']} {kind} of {value:g} {unit} ({tid})"
        if str(row.get("comparison", "")) == "within_person_change":
            label += "; derived for change within a person and used here as a difference " \
                     "between groups, which makes it a demanding threshold"
        source = f"{row['source_id']}, {row['location']}"
        return Meaningful(METRIC_NULLS.get(metric, 0.0) + sign * value, label, source)
    if spec.get("smd_benchmark"):
        name = str(spec["smd_benchmark"])
        if metric != "smd":
            raise ValueError(f"{where}: smd_benchmark needs the metric 'smd', not {metric!r}")
        benchmark = (smd_benchmarks or {}).get(name)
        if benchmark is None:
            raise ValueError(f"{where}: smd_benchmark {name!r} is not in "
                             "analysis.smd_benchmarks")
        return Meaningful(sign * float(benchmark),
                          f"conventional {name} SMD of {float(benchmark):g} (Cohen 1988; a "
                          "convention, not a difference patients were shown to notice)",
                          "Cohen J. Statistical power analysis for the behavioral sciences, "
                          "2nd ed., 1988")
    raise ValueError(f"{where}: needs threshold_id or smd_benchmark")


def _side(value: float, reference: float, sign: int) -> int:
    """+1 beyond ``reference`` in the direction of benefit, -1 short of it, 0 on it."""
    d = (value - reference) * sign
    return 1 if d > 0 else -1 if d < 0 else 0


def any_effect(ci_low: float, ci_high: float, null: float, sign: int) -> str:
    """Whether the CI shows an effect in the direction of benefit (see module doc)."""
    if not (np.isfinite(ci_low) and np.isfinite(ci_high)):
        return "not_estimable"
    sides = {_side(ci_low, null, sign), _side(ci_high, null, sign)}
    if sides == {1}:
        return "shown"
    if sides == {-1}:
        return "harm"
    return "not_shown"


def meaningful_effect(ci_low: float, ci_high: float, threshold: float | None,
                      sign: int) -> str:
    """Whether the CI shows, rules out or leaves open an effect beyond ``threshold``."""
    if threshold is None or not np.isfinite(threshold):
        return "no_threshold"
    if not (np.isfinite(ci_low) and np.isfinite(ci_high)):
        return "not_estimable"
    sides = {_side(ci_low, threshold, sign), _side(ci_high, threshold, sign)}
    if sides == {1}:
        return "shown"
    if sides <= {-1, 0}:
        return "ruled_out"
    return "uncertain"


EFFECT_TEXT = {
    "shown": "shown",
    "harm": "the CI lies on the side of harm",
    "not_shown": "not shown (the CI includes no effect)",
    "not_estimable": "not estimable (no pooled result)",
}
MEANINGFUL_TEXT = {
    "shown": "shown (the whole CI is beyond the threshold)",
    "ruled_out": "ruled out (the whole CI is short of the threshold)",
    "uncertain": "uncertain (the CI contains the threshold)",
    "no_threshold": "not judged: no sourced minimal important difference or benchmark on "
                    "this scale",
    "not_estimable": "not estimable (no pooled result)",
}


def describe(any_status: str, meaningful_status: str, meaningful: Meaningful | None) -> str:
    """Both statements in one sentence for the claims table and the report."""
    text = f"Any effect: {EFFECT_TEXT[any_status]}. Meaningful effect"
    if meaningful is not None:
        text += f" (beyond {meaningful.value:g}: {meaningful.label})"
    return text + f": {MEANINGFUL_TEXT[meaningful_status]}."


def null_value(metric: str) -> float:
    return METRIC_NULLS.get(metric, math.nan)
