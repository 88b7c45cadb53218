"""The report's claim sections: verdicts, certainty, Summary of findings, methods text (pure)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

from ketamine_evidence.analysis.posterior import percent
from ketamine_evidence.types import CERTAINTY_LEVELS
from ketamine_evidence.wording import (
    CERTAINTY_LABELS,
    CERTAINTY_SYMBOLS,
    DIRECTION_SYMBOLS,
    GRADE_DOMAIN_LABELS,
    METRIC_LABELS,
    PI_STATUS_TEXT,
    ROB_LABELS,
    VERDICT_LABELS,
    VERDICT_SYMBOLS,
    Wording,
    wording_for,
)

from .format import (
    _has_rows,
    _humanise,
    _metric_formatter,
    _num,
    _rows,
    _split_ids,
    _text,
    figure_uri,
    fmt_claimed_range,
    fmt_int,
    fmt_interval,
    fmt_p,
    fmt_percent,
)
from .model import DASH, MINUS, VERDICTS, ReportInputs

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
            **pooled_cells(row, f),
            "pi_status": "" if single else PI_STATUS_TEXT.get(pi_status, pi_status),
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


def pooled_cells(row: Mapping[str, Any], value: Callable[[Any], str]) -> dict[str, str]:
    """The cells of one pooled result (a claim's or an analysis'): ``estimate``, ``ci``,
    ``pi``, ``k``, ``n`` and ``i2``, numbers on the display scale formatted by ``value``.

    With one trial there is no between-trial heterogeneity: the prediction interval and I^2
    read :data:`NOT_FOR_ONE`, never a number such as "0%".
    """
    single = _num(row.get("k")) == 1
    return {
        "estimate": value(row.get("estimate")),
        "ci": fmt_interval(row.get("ci_low"), row.get("ci_high"), value),
        "pi": (NOT_FOR_ONE if single
               else fmt_interval(row.get("pi_low"), row.get("pi_high"), value)),
        "k": fmt_int(row.get("k")),
        "n": fmt_int(row.get("n_participants")),
        "i2": NOT_FOR_ONE if single else fmt_percent(row.get("i2")),
    }


def _certainty_domains(table: pd.DataFrame | None, claim_id: str,
                       analysis_id: str = "") -> list[dict[str, Any]]:
    """The GRADE domain rows of one claim (or, with ``claim_id`` empty, one analysis)."""
    if not _has_rows(table) or "domain" not in table.columns:
        return []
    ids = table["claim_id"].map(_text) if "claim_id" in table.columns else ""
    rows = table[ids == claim_id]
    if analysis_id:
        rows = rows[rows["analysis_id"].map(_text) == analysis_id]
    return [{"domain": GRADE_DOMAIN_LABELS.get(_text(r.get("domain")), _humanise(r.get("domain"))),
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
