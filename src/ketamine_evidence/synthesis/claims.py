"""Test popular claims against pooled estimates (pure: no IO).

A claim names the scale it is stated on (its *metric*) and a *claimed range* on that scale. The
pooled estimate of the analysis the claim refers to is transformed to the claim's metric and its
confidence interval (CI) is compared with the claimed range:

``supported``
    the whole CI lies inside the claimed range;
``contradicted``
    the whole CI lies outside the claimed range (the two do not overlap);
``inconclusive``
    the CI straddles a boundary of the claimed range;
``no_evidence``
    no trial gave a poolable estimate (``k == 0``); trials that reported only narrative results
    are listed beside the verdict.

The prediction interval (PI) is reported beside the verdict as ``pi_status`` (``inside``,
``straddles``, ``outside`` or ``not_estimable``): it says whether the effect expected in a new
setting would also fall in the claimed range, i.e. how consistent the evidence is across trials.

Metrics
-------
``smd``
    Hedges' g as computed by :func:`ketamine_evidence.effects.escalc` (arm 1 = the
    intervention minus arm 2 = control, so negative values favour the intervention on symptom
    scales).
``md``
    raw mean difference on the instrument's own points.
``percent_reduction``
    ``100 * (1 - exp(yi))`` where ``yi`` is the log ratio of means (metafor ``ROM``): the percent
    by which the mean symptom score in the intervention arm is lower than in the control arm. The
    transformation is decreasing, so the CI bounds swap.
``rr``, ``or``
    ``exp(yi)`` for log risk or odds ratios.

The transforms are :mod:`ketamine_evidence.scales`'; the coded values (verdicts, PI status)
are :mod:`ketamine_evidence.types`'.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from ketamine_evidence.analysis.pooling import matches_any, participants
from ketamine_evidence.config import AnalysisSpec, ClaimSpec
from ketamine_evidence.scales import interval_to_metric, to_metric
from ketamine_evidence.synthesis import vote_counting
from ketamine_evidence.types import PIStatus, Verdict
from ketamine_evidence.wording import claimed_range_text


def claim_bounds(claimed_range: Sequence[float | None]) -> tuple[float, float]:
    """A claimed range as numbers, open ends as -inf/+inf; raises on a reversed range."""
    if len(claimed_range) != 2:
        raise ValueError(f"a claimed range needs two bounds, got {claimed_range!r}")
    lo = -math.inf if claimed_range[0] is None else float(claimed_range[0])
    hi = math.inf if claimed_range[1] is None else float(claimed_range[1])
    if lo > hi:
        raise ValueError(f"claimed range {claimed_range!r} has its lower bound above its upper")
    return lo, hi


def _position(low: float, high: float, range_low: float, range_high: float) -> PIStatus:
    """Where the interval [low, high] lies relative to [range_low, range_high]."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return "not_estimable"
    if low >= range_low and high <= range_high:
        return "inside"
    if high < range_low or low > range_high:
        return "outside"
    return "straddles"


def format_range(claimed_range: Sequence[float | None]) -> str:
    """A claimed range in words, e.g. ``'60 to 100'``, ``'at most 0'`` (see
    :func:`ketamine_evidence.wording.claimed_range_text`: the bounds belong to the range)."""
    lo, hi = claimed_range
    return claimed_range_text(lo, hi)


@dataclass(frozen=True)
class ClaimVerdict:
    """The verdict on one claim, with the numbers behind it (on the claim's metric scale)."""

    claim_id: str
    metric: str
    claimed_low: float
    claimed_high: float
    k: int
    estimate: float
    ci_low: float
    ci_high: float
    pi_low: float
    pi_high: float
    verdict: Verdict
    verdict_reason: str
    pi_status: PIStatus

    def to_dict(self) -> dict:
        return asdict(self)


def judge(
    claim_id: str,
    metric: str,
    claimed_range: Sequence[float | None],
    *,
    k: int,
    estimate: float = math.nan,
    ci_low: float = math.nan,
    ci_high: float = math.nan,
    pi_low: float = math.nan,
    pi_high: float = math.nan,
    narrative_studies: Sequence[str] = (),
    reported_k: int | None = None,
    direction_text: str = "",
) -> ClaimVerdict:
    """Judge one claim from a pooled estimate given on the *analysis* scale.

    Parameters
    ----------
    claim_id, metric, claimed_range
        The claim; ``claimed_range`` is ``[low, high]`` on the metric scale, ``None`` = open.
    k
        Number of studies pooled; 0 gives ``no_evidence``.
    estimate, ci_low, ci_high, pi_low, pi_high
        Pooled estimate, confidence and prediction interval on the analysis scale (e.g. log
        ratio of means for ``percent_reduction``).
    narrative_studies
        Labels of trials that reported this outcome but could not be pooled (only in words,
        or numbers that cannot be pooled), named in the reason.
    reported_k
        Trials that reported the outcome in any form (pooled or not); defaults to
        ``k + len(narrative_studies)``. ``no_evidence`` is given only when it is 0: when
        trials reported the outcome only in words the verdict is ``inconclusive``, because
        the size of an effect cannot be judged from words.
    direction_text
        What the directions of the reporting trials show (vote counting by direction of
        effect, :func:`ketamine_evidence.synthesis.vote_counting.describe_votes`), quoted in the reason.

    Returns
    -------
    ClaimVerdict
    """
    range_low, range_high = claim_bounds(claimed_range)
    rng = format_range(claimed_range)
    est = to_metric(metric, estimate)
    lo, hi = interval_to_metric(metric, ci_low, ci_high)
    plo, phi = interval_to_metric(metric, pi_low, pi_high)
    narrative = "; ".join(narrative_studies)
    if reported_k is None:
        reported_k = int(k) + len(narrative_studies)
    direction = f" Direction of effect: {direction_text}." if direction_text else ""
    verdict: Verdict
    if k == 0 or not np.isfinite(est):
        if reported_k == 0:
            verdict = "no_evidence"
            reason = "No trial reported this outcome."
        else:
            verdict = "inconclusive"
            reason = (f"No trial reported this outcome in a form that can be pooled; "
                      f"{reported_k} reported it only in words or in numbers that cannot be "
                      f"pooled ({narrative}).{direction} The size of the effect cannot be "
                      f"judged from words, so the claimed range ({rng}) can be neither "
                      "confirmed nor ruled out.")
        return ClaimVerdict(claim_id, metric, range_low, range_high, int(k), math.nan,
                            math.nan, math.nan, math.nan, math.nan, verdict, reason,
                            "not_estimable")
    position = _position(lo, hi, range_low, range_high)
    ci_text = f"{est:.3g} (95% CI {lo:.3g} to {hi:.3g})"
    if position == "inside":
        verdict = "supported"
        reason = f"The whole CI of {ci_text} lies within the claimed range ({rng})."
    elif position == "outside":
        verdict = "contradicted"
        reason = f"The whole CI of {ci_text} lies outside the claimed range ({rng})."
    else:
        verdict = "inconclusive"
        reason = f"The CI of {ci_text} straddles a bound of the claimed range ({rng})."
    if k == 1:
        reason += " Based on a single trial."
    if narrative:
        reason += (f" The pooled trials are a subset of the {reported_k} that reported this "
                   f"outcome; not pooled (words only or numbers that cannot be pooled): "
                   f"{narrative}.{direction}")
    if k < 2:
        # A single study's "prediction interval" is its own CI: nothing about other settings.
        plo = phi = math.nan
    pi_status = _position(plo, phi, range_low, range_high)
    return ClaimVerdict(claim_id, metric, range_low, range_high, int(k), est, lo, hi, plo, phi,
                        verdict, reason, pi_status)


def evaluate_claims(
    claims: Sequence[ClaimSpec | Mapping],
    pooled: pd.DataFrame,
    *,
    analyses: Sequence[AnalysisSpec | Mapping] = (),
    study_effects: pd.DataFrame | None = None,
    risk_of_bias: pd.DataFrame | None = None,
    not_poolable: pd.DataFrame | None = None,
    within_arm: pd.DataFrame | None = None,
    characteristics: pd.DataFrame | None = None,
    intervention: str = "the intervention",
) -> pd.DataFrame:
    """Judge every claim in ``claims`` (the config's ``claims`` list) against ``pooled``.

    Parameters
    ----------
    claims
        Claim specifications from ``config.yaml`` (``id``, ``text``, ``analysis``, ``metric``,
        ``claimed_range``, optional ``fallback_analyses``, ``comparator_analysis``,
        ``narrative_outcomes``, ``within_arm_instrument_outcome``). When the claim's own
        analysis pooled nothing, the first ``fallback_analyses`` entry (``analysis``,
        ``metric``) with at least one study is judged instead, and ``analysis_used`` says so.
    pooled
        One row per analysis (``analysis_id``, ``k``, ``estimate``, ``ci_low`` ...).
    analyses
        The analysis specifications (``id``, ``outcome``, ``window_days``): narrative-only
        results are matched to a claim by outcome and, where their timepoint is known, by
        the analysis' window of days.
    study_effects
        Rows pooled per analysis (``analysis_id``, ``study_id``, ``label``); used to count
        studies by risk of bias and to leave pooled studies out of the narrative list.
    risk_of_bias
        RoB 2 table (``study_id``, ``domain``, ``judgement``); the ``overall`` rows are used.
    not_poolable
        Rows that could not be pooled (``study_id``, ``label``, ``outcome``,
        ``timepoint_days``, ``narrative``, ``reason``).
    within_arm
        Within-arm reductions from baseline (``study_id``, ``outcome``, ``percent_reduction``).
    intervention
        What the text calls the experimental arm (config ``review.intervention``).
    characteristics
        Study characteristics (``study_id``, ``n_randomised_total``): participants of trials
        that were not pooled.

    Returns
    -------
    pandas.DataFrame
        One row per claim with the verdict and the numbers behind it, including the vote
        count by direction of effect over every trial that reported the outcome
        (``reported_k``, ``direction_favours``, ``direction_against``, ``direction_unclear``,
        ``sign_test_pvalue``, ``pooled_k``; see :mod:`ketamine_evidence.synthesis.vote_counting`).
    """
    by_id = pooled.set_index("analysis_id") if len(pooled) else pd.DataFrame()
    overall = _overall_rob(risk_of_bias)
    rows = []
    specs = [ClaimSpec.coerce(c) for c in claims]
    for claim, evidence in zip(specs, claim_evidence(
            specs, by_id, analyses=analyses, study_effects=study_effects,
            risk_of_bias=risk_of_bias, not_poolable=not_poolable,
            characteristics=characteristics), strict=True):
        analysis_id, metric, stats, k = (evidence.analysis_id, evidence.metric, evidence.stats,
                                         evidence.k)
        narrative = evidence.narrative
        labels = sorted({label for label, _ in narrative})
        votes = evidence.votes
        verdict = judge(
            claim.id, metric, claim.claimed_range, k=k,
            estimate=_num(stats.get("estimate")), ci_low=_num(stats.get("ci_low")),
            ci_high=_num(stats.get("ci_high")), pi_low=_num(stats.get("pi_low")),
            pi_high=_num(stats.get("pi_high")), narrative_studies=labels,
            reported_k=votes.reported_k,
            direction_text=vote_counting.describe_votes(votes) if votes.reported_k > 1 or k == 0
            else "",
        )
        row = {
            "claim_id": claim.id,
            "text": claim.text,
            "quote": claim.quote,
            "population": claim.population,
            "outcome": claim.outcome,
            "timepoint": claim.timepoint,
            "analysis_id": claim.analysis,
            "analysis_used": analysis_id,
            **{key: value for key, value in verdict.to_dict().items() if key != "claim_id"},
            "claimed_range_text": format_range(claim.claimed_range),
            "n_participants": _num(stats.get("n_participants")),
            # heterogeneity does not exist for one trial: empty, never "0%"
            "tau2": _num(stats.get("tau2")) if k >= 2 else math.nan,
            "i2": _num(stats.get("i2")) if k >= 2 else math.nan,
            "q_pvalue": _num(stats.get("q_pvalue")) if k >= 2 else math.nan,
            "narrative_studies": "; ".join(labels),
            "narrative_results": " | ".join(f"{label}: {text}" for label, text in narrative),
        }
        if analysis_id != claim.analysis:
            row["verdict_reason"] = (
                f"The planned analysis ({claim.analysis}) had no poolable trial; judged on "
                f"{analysis_id} instead. " + row["verdict_reason"])
        row.update(_rob_counts(study_effects, overall, analysis_id))
        row.update(_comparator(claim, by_id, metric))
        row["within_arm_reduction"] = _within_arm_text(
            within_arm, claim.within_arm_instrument_outcome, intervention)
        row.update({
            "reported_k": votes.reported_k,
            "direction_favours": votes.favours,
            "direction_against": votes.against,
            "direction_unclear": votes.unclear,
            "sign_test_pvalue": votes.pvalue,
            "pooled_k": votes.pooled_k,
            "direction_proportion": votes.proportion,
            "direction_ci_low": votes.ci_low,
            "direction_ci_high": votes.ci_high,
            "direction_summary": vote_counting.describe_votes(votes),
        })
        rows.append(row)
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class ClaimEvidence:
    """What one claim is judged on: the analysis, its pooled row and every reporting study."""

    claim_id: str
    analysis_id: str
    metric: str
    stats: pd.Series
    k: int
    narrative: list[tuple[str, str]]
    studies: pd.DataFrame        # :data:`REPORTING_COLUMNS`, one row per reporting study
    votes: vote_counting.VoteCount


def claim_evidence(
    claims: Sequence[ClaimSpec | Mapping],
    pooled: pd.DataFrame,
    *,
    analyses: Sequence[AnalysisSpec | Mapping] = (),
    study_effects: pd.DataFrame | None = None,
    risk_of_bias: pd.DataFrame | None = None,
    not_poolable: pd.DataFrame | None = None,
    characteristics: pd.DataFrame | None = None,
) -> list[ClaimEvidence]:
    """The evidence behind each claim (same order): see :func:`evaluate_claims` for inputs.

    ``pooled`` may be indexed by ``analysis_id`` already. Unpooled results are matched to the
    claim by outcome (``narrative_outcomes`` or the analysis' outcome), the analysis' window
    of days and its filters; studies pooled in the analysis are not counted twice.
    """
    by_id = pooled if pooled.index.name == "analysis_id" or pooled.empty else \
        pooled.set_index("analysis_id")
    specs = {spec.id: spec for spec in map(AnalysisSpec.coerce, analyses)}
    overall = _overall_rob(risk_of_bias)
    out = []
    for claim in map(ClaimSpec.coerce, claims):
        analysis_id, metric = _analysis_to_judge(claim, by_id)
        stats = by_id.loc[analysis_id] if analysis_id in by_id.index else pd.Series(dtype=object)
        k = _studies_pooled(by_id, analysis_id)
        spec = specs.get(analysis_id)
        outcomes = list(claim.narrative_outcomes) or [
            spec.outcome if spec else stats.get("outcome")]
        window = spec.window_days if spec else None
        filters = spec.filters if spec else None
        pooled_ids = _pooled_studies(study_effects, analysis_id)
        rows = _narrative_rows(not_poolable, outcomes, window, filters=filters,
                               exclude=pooled_ids)
        others = (study_effects[study_effects["analysis_id"] != analysis_id]
                  if study_effects is not None and "analysis_id" in study_effects else None)
        others = _narrative_rows(others, outcomes, window, filters=filters, exclude=pooled_ids)
        studies = reporting_studies(analysis_id, rows, study_effects=study_effects,
                                    characteristics=characteristics, overall_rob=overall,
                                    other_numbers=others)
        votes = vote_counting.vote_count(list(studies["direction"]),
                                     pooled_k=int(studies["pooled"].astype(bool).sum()))
        out.append(ClaimEvidence(claim.id, analysis_id, metric, stats, k,
                                 _narrative_texts(rows), studies, votes))
    return out


def claim_studies(evidence: Sequence[ClaimEvidence]) -> pd.DataFrame:
    """Long table claim x reporting study (``results/claim_studies.csv``)."""
    frames = [e.studies.assign(claim_id=e.claim_id, analysis_id=e.analysis_id)
              for e in evidence if not e.studies.empty]
    columns = ["claim_id", "analysis_id", *REPORTING_COLUMNS]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]


def _studies_pooled(by_id: pd.DataFrame, analysis_id: str) -> int:
    """k of one analysis in the pooled table (0 when absent or missing)."""
    if analysis_id not in by_id.index:
        return 0
    k = by_id.loc[analysis_id].get("k", 0)
    return 0 if pd.isna(k) else int(k)


def _analysis_to_judge(claim: ClaimSpec, by_id: pd.DataFrame) -> tuple[str, str]:
    """The claim's analysis, or its first fallback with k > 0 (analysis id, metric)."""
    if _studies_pooled(by_id, claim.analysis) == 0:
        for fallback in claim.fallback_analyses:
            if _studies_pooled(by_id, fallback.analysis) > 0:
                return fallback.analysis, fallback.metric
    return claim.analysis, claim.metric


def _pooled_studies(study_effects: pd.DataFrame | None, analysis_id: str) -> set[str]:
    if study_effects is None or study_effects.empty or "analysis_id" not in study_effects:
        return set()
    rows = study_effects[study_effects["analysis_id"] == analysis_id]
    return set(rows["study_id"].astype(str))


def _num(value: Any) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return math.nan
    return out


def _overall_rob(risk_of_bias: pd.DataFrame | None) -> dict[str, str]:
    if risk_of_bias is None or risk_of_bias.empty:
        return {}
    overall = risk_of_bias[risk_of_bias["domain"].astype(str).str.lower() == "overall"]
    # One primary outcome per study is assessed; if several, the worst judgement counts.
    order = {"low": 0, "some_concerns": 1, "high": 2}
    worst: dict[str, str] = {}
    for study_id, judgement in zip(overall["study_id"], overall["judgement"], strict=True):
        if order.get(judgement, -1) > order.get(worst.get(study_id, ""), -1):
            worst[study_id] = judgement
    return worst


def _rob_counts(
    study_effects: pd.DataFrame | None, overall: Mapping[str, str], analysis_id: str
) -> dict[str, float]:
    out: dict[str, float] = {"high_rob_k": math.nan, "some_concerns_rob_k": math.nan, "low_rob_k": math.nan,
           "unassessed_rob_k": math.nan}
    if study_effects is None or study_effects.empty:
        return out
    studies = study_effects.loc[study_effects["analysis_id"] == analysis_id, "study_id"].unique()
    if len(studies) == 0:
        return out
    judgements = [overall.get(s) for s in studies]
    out["high_rob_k"] = sum(j == "high" for j in judgements)
    out["some_concerns_rob_k"] = sum(j == "some_concerns" for j in judgements)
    out["low_rob_k"] = sum(j == "low" for j in judgements)
    out["unassessed_rob_k"] = sum(j is None for j in judgements)
    return out


def _comparator(claim: ClaimSpec, by_id: pd.DataFrame, metric: str) -> dict[str, Any]:
    out: dict[str, Any] = {"comparator_analysis_id": claim.comparator_analysis or "",
           "comparator_k": math.nan, "comparator_estimate": math.nan,
           "comparator_ci_low": math.nan, "comparator_ci_high": math.nan}
    comparator = claim.comparator_analysis
    if not comparator or comparator not in by_id.index:
        return out
    stats = by_id.loc[comparator]
    out["comparator_k"] = _num(stats.get("k"))
    out["comparator_estimate"] = to_metric(metric, _num(stats.get("estimate")))
    lo, hi = interval_to_metric(metric, _num(stats.get("ci_low")), _num(stats.get("ci_high")))
    out["comparator_ci_low"], out["comparator_ci_high"] = lo, hi
    return out


def _narrative_rows(
    not_poolable: pd.DataFrame | None,
    outcomes: Sequence[str],
    window_days: Sequence[float | None] | None = None,
    *,
    filters: Mapping[str, Sequence] | None = None,
    exclude: AbstractSet[str] = frozenset(),
) -> pd.DataFrame:
    """Unpooled results on ``outcomes`` in the window (rows of ``not_poolable``).

    Rows with an unknown timepoint are kept (they may fall in the window); the analysis'
    ``filters`` on study characteristics apply where the column is present; studies in
    ``exclude`` (already pooled in the analysis) are left out.
    """
    if not_poolable is None or not_poolable.empty or "outcome" not in not_poolable:
        return pd.DataFrame(columns=["study_id", "label", "narrative", "reason"])
    rows = not_poolable[not_poolable["outcome"].isin([o for o in outcomes if o])]
    rows = rows[~rows["study_id"].astype(str).isin(exclude)]
    if window_days is not None and "timepoint_days" in rows:
        lo, hi = window_days
        days = pd.to_numeric(rows["timepoint_days"], errors="coerce")
        inside = days.between(-math.inf if lo is None else lo, math.inf if hi is None else hi)
        rows = rows[days.isna() | inside]
    for column, allowed in (filters or {}).items():
        if column in rows:
            rows = rows[matches_any(rows[column], allowed)]
    return rows


def _row_label(row: Mapping) -> str:
    label = row.get("label")
    return str(row["study_id"]) if label is None or pd.isna(label) else str(label)


def _narrative_results(
    not_poolable: pd.DataFrame | None,
    outcomes: Sequence[str],
    window_days: Sequence[float | None] | None = None,
    *,
    filters: Mapping[str, Sequence] | None = None,
    exclude: AbstractSet[str] = frozenset(),
) -> list[tuple[str, str]]:
    """(study label, result in words) of the rows :func:`_narrative_rows` selects."""
    return _narrative_texts(_narrative_rows(not_poolable, outcomes, window_days,
                                            filters=filters, exclude=exclude))


def _narrative_texts(rows: pd.DataFrame) -> list[tuple[str, str]]:
    out = []
    for _, row in rows.iterrows():
        label = _row_label(row)
        text = row.get("narrative")
        if text is None or pd.isna(text) or not str(text).strip():
            text = row.get("reason", "")
        text = "" if text is None or pd.isna(text) else str(text)
        if (label, text) not in out:
            out.append((label, text))
    return out


REPORTING_COLUMNS = ["study_id", "label", "pooled", "weight", "n", "direction", "rob",
                     "evidence", "instruments"]


def _instruments(part: pd.DataFrame) -> str:
    if "instrument" not in part:
        return ""
    return "; ".join(sorted({str(i) for i in part["instrument"].dropna() if str(i).strip()}))


def flag_value(value: Any) -> bool | None:
    """A boolean cell as read from CSV (``True``/``"true"``/``1``), ``None`` when empty."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str):
        text = value.strip().lower()
        if text in {"true", "1", "yes"}:
            return True
        if text in {"false", "0", "no"}:
            return False
        return None
    return bool(value)


def reporting_studies(
    analysis_id: str,
    narrative_rows: pd.DataFrame,
    *,
    study_effects: pd.DataFrame | None = None,
    characteristics: pd.DataFrame | None = None,
    overall_rob: Mapping[str, str] | None = None,
    other_numbers: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per study that reported a claim's outcome, pooled or only in words.

    ``other_numbers`` are effect rows of the same outcome and window pooled in *other*
    analyses (e.g. an SMD where the claim's analysis needs a ratio of means): such a study
    reported the outcome in numbers, on another scale, and votes by their sign.

    Columns ``study_id``, ``label``, ``pooled`` (its numbers are in the analysis),
    ``weight`` (share of the pooled weight, 0-1; NaN when not pooled), ``n`` (participants:
    the pooled arms, else ``n_randomised_total`` of the study), ``direction`` (one vote:
    pooled results by the sign of their estimate, words by the curated ``direction``; see
    :mod:`ketamine_evidence.synthesis.vote_counting`), ``rob`` (overall RoB 2 judgement, empty when not
    assessed) and ``evidence`` (what the vote rests on).
    """
    overall_rob = overall_rob or {}
    totals = {}
    if characteristics is not None and not characteristics.empty and \
            "n_randomised_total" in characteristics:
        totals = dict(zip(characteristics["study_id"].astype(str),
                          pd.to_numeric(characteristics["n_randomised_total"], errors="coerce"),
                          strict=True))
    rows: list[dict] = []
    pooled = (study_effects[study_effects["analysis_id"] == analysis_id]
              if study_effects is not None and not study_effects.empty
              and "analysis_id" in study_effects else pd.DataFrame())

    def numeric_rows(frame: pd.DataFrame, is_pooled: bool) -> None:
        weights = pd.to_numeric(frame.get("weight", pd.Series(math.nan, index=frame.index)),
                                errors="coerce")
        share = weights / weights.sum() if is_pooled and weights.sum() > 0 \
            else pd.Series(math.nan, index=frame.index)
        for study_id, part in frame.groupby(frame["study_id"].astype(str), sort=False):
            if study_id in {r["study_id"] for r in rows}:
                continue
            yi = part["yi"] if "yi" in part else [math.nan] * len(part)
            lib = part["lower_is_better"] if "lower_is_better" in part else [None] * len(part)
            votes = [vote_counting.direction_of_estimate(_num(y), flag_value(b))
                     for y, b in zip(yi, lib, strict=True)]
            n = participants(part.drop_duplicates("comparison") if "comparison" in part
                             else part)
            where = (f"numbers pooled in {analysis_id}" if is_pooled else
                     "numbers on another scale (pooled in "
                     + ", ".join(sorted(set(part["analysis_id"].astype(str)))) + ")")
            rows.append({"study_id": study_id, "label": _row_label(part.iloc[0]),
                         "pooled": is_pooled,
                         "weight": float(share[part.index].sum()) if is_pooled else math.nan,
                         "n": n if np.isfinite(n) else totals.get(study_id, math.nan),
                         "direction": vote_counting.combine_directions(votes),
                         "rob": overall_rob.get(study_id, ""), "evidence": where,
                         "instruments": _instruments(part)})

    if not pooled.empty:
        numeric_rows(pooled, True)
    if other_numbers is not None and not other_numbers.empty:
        numeric_rows(other_numbers, False)
    if narrative_rows is not None and not narrative_rows.empty:
        for study_id, part in narrative_rows.groupby(
                narrative_rows["study_id"].astype(str), sort=False):
            if study_id in {r["study_id"] for r in rows}:
                continue
            curated = (part["direction"] if "direction" in part
                       else pd.Series(None, index=part.index))
            votes = [str(d) if isinstance(d, str) and d in vote_counting.DIRECTIONS
                     else vote_counting.NOT_JUDGED for d in curated]
            ids = ", ".join(str(r) for r in part.get("row_ids", pd.Series(dtype=str)).dropna())
            kinds = sorted({"words" if str(t) == "narrative" else "numbers not poolable"
                            for t in part.get("data_type", pd.Series("narrative",
                                                                      index=part.index))})
            rows.append({"study_id": study_id, "label": _row_label(part.iloc[0]),
                         "pooled": False, "weight": math.nan,
                         "n": totals.get(study_id, math.nan),
                         "direction": vote_counting.combine_directions(votes),
                         "rob": overall_rob.get(study_id, ""),
                         "evidence": " and ".join(kinds) + (f" ({ids})" if ids else ""),
                         "instruments": _instruments(part)})
    return pd.DataFrame(rows, columns=REPORTING_COLUMNS)


def _within_arm_text(within_arm: pd.DataFrame | None, outcome: str | None,
                     intervention: str) -> str:
    """Summarise within-arm (pre-post) reductions in the intervention arms for one outcome."""
    if not outcome or within_arm is None or within_arm.empty:
        return ""
    rows = within_arm[within_arm["outcome"] == outcome] if "outcome" in within_arm else within_arm
    rows = rows.dropna(subset=["percent_reduction"])
    if rows.empty:
        return ""
    values = rows["percent_reduction"].astype(float)
    label = "label" if "label" in rows else "study_id"
    parts = [f"{lab}: {val:.0f}%" for lab, val in zip(rows[label], values, strict=True)]
    return (f"Within {intervention} arms, symptoms fell {values.min():.0f}% to {values.max():.0f}% "
            f"from baseline ({'; '.join(parts)}); this pre-post change includes placebo "
            "response and regression to the mean and is not a controlled effect.")
