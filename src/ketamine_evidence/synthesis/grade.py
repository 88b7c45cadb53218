"""GRADE certainty, meaningful-effect statements and verdict wording per claim (pure: no IO).

This module assembles what :mod:`ketamine_evidence.synthesis.certainty` rates (one
:class:`~ketamine_evidence.synthesis.certainty.Evidence` per claim and per analysis) from the claims'
evidence (:func:`ketamine_evidence.synthesis.claims.claim_evidence`), the study characteristics, the
thresholds sheet and the registrations without results, and turns the ratings into the
columns of ``results/claims.csv``, the rows of ``results/certainty.csv`` and the
Summary-of-findings table.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ketamine_evidence.config import AnalysisSpec, ClaimSpec
from ketamine_evidence.synthesis import certainty as gr
from ketamine_evidence.synthesis import thresholds as th
from ketamine_evidence.synthesis import vote_counting
from ketamine_evidence.synthesis.claims import (
    ClaimEvidence,
    claim_bounds,
    flag_value,
    interval_to_metric,
    to_metric,
)
from ketamine_evidence.types import MEASURE_METRICS
from ketamine_evidence.wording import GRADE_DOMAIN_LABELS, capitalised

CERTAINTY_COLUMNS = ["claim_id", "analysis_id", "domain", "judgement", "levels", "reason"]
CLAIM_COLUMNS = ["certainty", "certainty_reasons", "verdict_text", "any_effect",
                 "meaningful_effect", "meaningful_threshold", "meaningful_threshold_label",
                 "meaningful_threshold_source", "effect_statement", "assertion",
                 "assertion_result"]


def _text(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def _infusions(value) -> float:
    """Largest number of infusions of a cell such as ``8;8`` (NaN when not a number)."""
    numbers = []
    for part in _text(value).split(";"):
        try:
            numbers.append(float(part))
        except ValueError:
            continue
    return max(numbers) if numbers else math.nan


def study_indirectness(study: Mapping, directness: Mapping, instruments: str = "",
                       raters: Mapping[str, str] | None = None) -> str:
    """How a trial differs from what a claim is about (empty when it does not).

    Parameters
    ----------
    study
        The trial's row of ``study_characteristics.csv`` (``population_scope``,
        ``population``, ``n_infusions``, ``control_type``).
    directness
        The claim's ``directness`` entry: ``population`` (allowed ``population_scope``
        values), ``intervention`` (``single``, ``course`` or ``any``), ``comparator``
        (allowed ``control_type`` values), ``outcome_rater`` (``clinician``,
        ``self_report`` or ``any``). Empty or ``any`` means no requirement.
    instruments
        The instruments the trial's result was measured on (``;``-separated).
    raters
        Instrument -> ``clinician`` or ``self_report`` (config ``certainty.instrument_raters``).

    A characteristic that is not recorded is not counted as indirect.
    """
    reasons = []
    allowed = [str(p) for p in directness.get("population") or []]
    scope = _text(study.get("population_scope"))
    if allowed and scope and scope not in allowed:
        population = _text(study.get("population")).split(";")[0].strip()
        population = population if len(population) <= 90 else population[:87] + "..."
        reasons.append(f"population {scope}: {population}" if population
                       else f"population {scope}")
    wanted = _text(directness.get("intervention")) or "any"
    infusions = _infusions(study.get("n_infusions"))
    if wanted == "course" and infusions == 1:
        reasons.append("a single infusion, not a course")
    elif wanted == "single" and np.isfinite(infusions) and infusions > 1:
        reasons.append(f"a course of {infusions:g} infusions, not a single dose")
    comparators = [str(c) for c in directness.get("comparator") or []]
    control = _text(study.get("control_type"))
    if comparators and control and control not in comparators:
        reasons.append(f"comparator {control.replace('_', ' ')}")
    rater = _text(directness.get("outcome_rater")) or "any"
    kinds = {(raters or {}).get(i.strip()) for i in instruments.split(";") if i.strip()}
    kinds.discard(None)
    if rater != "any" and kinds and rater not in kinds:
        reasons.append(f"outcome {'/'.join(sorted(kinds)).replace('_', '-')}-rated "
                       f"({instruments}), not {rater.replace('_', '-')}-rated")
    return "; ".join(reasons)


def registrations_without_results(screening: pd.DataFrame | None,
                                  records: pd.DataFrame | None = None,
                                  question: str = "treatment",
                                  as_of: str | None = None) -> tuple[tuple[str, ...],
                                                                     tuple[str, ...]]:
    """Registered trials of ``question`` excluded only because no results exist yet.

    Screening rows with reason ``ongoing_no_results``; ``records`` (optional) gives the
    registration number, title, ``question`` and ``completion_date`` of each record.

    Returns
    -------
    (overdue, unknown)
        Labels such as ``'NCT01234567 (Title of the trial ...)'``: ``overdue`` trials whose
        completion date is before ``as_of`` (ISO date), i.e. results that should exist and
        count as missing; ``unknown`` those whose completion date is unknown or later (an
        ongoing trial is not missing evidence), which are listed but do not rate down.
    """
    if screening is None or screening.empty or "reason_code" not in screening:
        return (), ()
    rows = screening[screening["reason_code"].astype(str) == "ongoing_no_results"]
    if records is not None and not records.empty and "record_id" in records:
        info = records.drop_duplicates("record_id").set_index("record_id")
    else:
        info = pd.DataFrame()
    overdue, unknown = [], []
    for record_id in rows["record_id"].astype(str):
        rec = info.loc[record_id] if record_id in info.index else pd.Series(dtype=object)
        if _text(rec.get("question")) and _text(rec.get("question")) != question:
            continue
        name = _text(rec.get("nct_id")) or record_id
        title = _text(rec.get("title"))
        label = f"{name} ({title})" if title else name
        completion = _text(rec.get("completion_date"))[:10]
        if completion and as_of and completion < as_of:
            overdue.append(f"{label}, completed {completion}")
        else:
            unknown.append(label)
    return tuple(dict.fromkeys(overdue)), tuple(dict.fromkeys(unknown))


def _lower_is_better(study_effects: pd.DataFrame | None, analysis_id: str) -> bool | None:
    if study_effects is None or study_effects.empty or "lower_is_better" not in study_effects:
        return None
    flags = [flag_value(v) for v in study_effects.loc[study_effects["analysis_id"] == analysis_id,
                                                 "lower_is_better"]]
    flags = [f for f in flags if f is not None]
    return None if not flags else sum(flags) >= len(flags) / 2


def _num(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _control_risk(study_effects: pd.DataFrame | None, analysis_id: str) -> float:
    """Pooled control-group risk of a binary analysis (events / participants)."""
    if study_effects is None or study_effects.empty or "ci" not in study_effects:
        return math.nan
    rows = study_effects[study_effects["analysis_id"] == analysis_id]
    events = pd.to_numeric(rows.get("ci"), errors="coerce")
    n = pd.to_numeric(rows.get("n2i"), errors="coerce")
    ok = events.notna() & n.notna() & (n > 0)
    return float(events[ok].sum() / n[ok].sum()) if ok.any() else math.nan


def verdict_text(verdict: str, level: str, votes: vote_counting.VoteCount,
                 n_participants: float, intervention: str = "the intervention") -> str:
    """``'supported, low certainty (1 trial, 41 participants)'`` and its variants."""
    cert = f", {level.replace('_', ' ')} certainty" if level else ""
    if verdict == "no_evidence":
        return "no evidence (no trial reported this outcome)"
    if votes.pooled_k == 0:
        return (f"{verdict}{cert} (no poolable numbers; {votes.reported_k} "
                f"trial{'s' if votes.reported_k != 1 else ''} reported it: "
                f"{votes.favours} favouring {intervention}, {votes.against} favouring "
                f"control, {votes.unclear} unclear; the size of the effect cannot be judged)")
    n = f", {n_participants:.0f} participants" if np.isfinite(n_participants) else ""
    more = votes.reported_k - votes.pooled_k
    extra = f"; {more} more reported it without poolable numbers" if more > 0 else ""
    return (f"{verdict}{cert} ({votes.pooled_k} trial{'s' if votes.pooled_k != 1 else ''}"
            f"{n}{extra})")


def _claim_thresholds(claim: ClaimSpec, metric: str, null: float,
                      meaningful: th.Meaningful | None) -> tuple[float, ...]:
    values = [null]
    if claim.claimed_range is not None:
        lo, hi = claim_bounds(claim.claimed_range)
        values += [v for v in (lo, hi) if np.isfinite(v)]
    if meaningful is not None:
        values.append(meaningful.value)
    return tuple(sorted(set(values)))


def assess_claim(
    claim: ClaimSpec | Mapping,
    evidence: ClaimEvidence,
    *,
    study_effects: pd.DataFrame | None = None,
    characteristics: pd.DataFrame | None = None,
    thresholds: pd.DataFrame | None = None,
    smd_benchmarks: Mapping[str, float] | None = None,
    registrations: tuple[Sequence[str], Sequence[str]] = ((), ()),
    raters: Mapping[str, str] | None = None,
    settings: gr.CertaintySettings | None = None,
    verdict: str = "",
    intervention: str = "the intervention",
) -> tuple[gr.Certainty, dict]:
    """Rate one claim and state any and meaningful effects; returns the certainty and the
    :data:`CLAIM_COLUMNS` values (``assertion`` columns are filled by :func:`assess_claims`).
    ``claim`` is a config claim (:class:`~ketamine_evidence.config.ClaimSpec`; a mapping is
    validated into one).
    """
    claim = ClaimSpec.coerce(claim)
    metric = evidence.metric
    stats = evidence.stats
    sign = th.benefit_sign(metric, _lower_is_better(study_effects, evidence.analysis_id))
    null = th.null_value(metric)
    meaningful = th.resolve(claim.meaningful, metric, sign, thresholds=thresholds,
                            smd_benchmarks=smd_benchmarks, claim_id=claim.id)
    lo, hi = interval_to_metric(metric, _num(stats.get("ci_low")), _num(stats.get("ci_high")))
    plo, phi = interval_to_metric(metric, _num(stats.get("pi_low")),
                                  _num(stats.get("pi_high")))
    chars = ({str(r["study_id"]): r for r in characteristics.to_dict("records")}
             if characteristics is not None and not characteristics.empty else {})
    studies = evidence.studies.copy()
    directness = claim.directness
    studies["indirect"] = [study_indirectness(chars.get(str(s), {}), directness, inst, raters)
                           for s, inst in zip(studies["study_id"], studies["instruments"],
                                              strict=True)]
    measure = _text(stats.get("measure")).upper()
    pooled_n = float(pd.to_numeric(studies.loc[studies["pooled"].astype(bool), "n"],
                                   errors="coerce").sum(min_count=1))
    ev = gr.Evidence(
        studies=studies, k=evidence.k, estimate=_num(stats.get("estimate")), ci_low=lo,
        ci_high=hi, pi_low=plo, pi_high=phi, i2=_num(stats.get("i2")),
        n_participants=pooled_n if np.isfinite(pooled_n) else
        _num(stats.get("n_participants")),
        thresholds=_claim_thresholds(claim, metric, null, meaningful),
        binary=measure in {"RR", "OR", "RD"},
        control_risk=_control_risk(study_effects, evidence.analysis_id),
        egger_pvalue=_num(stats.get("egger_pvalue")),
        registered_without_results=tuple(registrations[0]),
        registered_status_unknown=tuple(registrations[1]),
        claim_indirectness=tuple(str(x) for x in directness.get("stand_in") or []),
    )
    rating = gr.assess(ev, settings)
    any_status = th.any_effect(lo, hi, null, sign)
    meaningful_status = th.meaningful_effect(lo, hi, None if meaningful is None
                                             else meaningful.value, sign)
    columns = {
        "certainty": rating.level,
        "certainty_reasons": rating.reasons if rating.level else "no trial reported it",
        "verdict_text": verdict_text(verdict, rating.level, evidence.votes, ev.n_participants,
                                     intervention),
        "any_effect": any_status,
        "meaningful_effect": meaningful_status,
        "meaningful_threshold": math.nan if meaningful is None else meaningful.value,
        "meaningful_threshold_label": "" if meaningful is None else meaningful.label,
        "meaningful_threshold_source": "" if meaningful is None else meaningful.source,
        "effect_statement": th.describe(any_status, meaningful_status, meaningful),
        "assertion": "", "assertion_result": "",
    }
    return rating, columns


def _assertion_result(spec: Mapping, pooled: pd.DataFrame) -> str:
    """The analysis that tests what a claim's words assert, in words (or why not)."""
    analysis_id = spec.get("analysis")
    if not analysis_id:
        return "no analysis of the data can test this: " + _text(spec.get("untestable"))
    if analysis_id not in pooled.index or not _num(pooled.loc[analysis_id].get("k")):
        return f"{analysis_id}: no trial gave a poolable result"
    row = pooled.loc[analysis_id]
    metric = spec.get("metric") or MEASURE_METRICS.get(_text(row.get("measure")).upper(),
                                                       "smd")
    est = to_metric(metric, _num(row.get("estimate")))
    lo, hi = interval_to_metric(metric, _num(row.get("ci_low")), _num(row.get("ci_high")))
    k = int(_num(row.get("k")))
    text = (f"{analysis_id}: {metric} {est:.2f} (95% CI {lo:.2f} to {hi:.2f}), "
            f"{k} trial{'s' if k != 1 else ''}")
    if spec.get("note"):
        text += f". {spec['note']}"
    return text


def assess_claims(
    claims: Sequence[ClaimSpec | Mapping],
    evidence: Sequence[ClaimEvidence],
    verdicts: Sequence[str],
    pooled: pd.DataFrame,
    **kwargs,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rate every claim: (``CLAIM_COLUMNS`` per claim, long certainty rows per domain).

    ``kwargs`` are passed to :func:`assess_claim`; ``pooled`` (one row per analysis) gives
    the results of the analyses named in a claim's ``assertion``.
    """
    by_id = pooled.set_index("analysis_id") if "analysis_id" in pooled else pooled
    columns, long = [], []
    for claim, ev, verdict in zip(map(ClaimSpec.coerce, claims), evidence, verdicts,
                                  strict=True):
        rating, row = assess_claim(claim, ev, verdict=verdict, **kwargs)
        assertion = claim.assertion or {}
        if assertion:
            row["assertion"] = _text(assertion.get("text"))
            row["assertion_result"] = _assertion_result(assertion, by_id)
        columns.append(row)
        frame = rating.to_frame()
        frame.insert(0, "analysis_id", ev.analysis_id)
        frame.insert(0, "claim_id", claim.id)
        long.append(frame)
    table = pd.DataFrame(columns, columns=CLAIM_COLUMNS)
    long_table = (pd.concat(long, ignore_index=True) if long
                  else pd.DataFrame(columns=CERTAINTY_COLUMNS))
    return table, long_table[CERTAINTY_COLUMNS]


def analysis_claims(pooled: pd.DataFrame,
                    analyses: Sequence[AnalysisSpec | Mapping]) -> list[ClaimSpec]:
    """One pseudo-claim per analysis ('any effect', no claimed range) for rating analyses."""
    measures = dict(zip(pooled["analysis_id"], pooled["measure"], strict=True)) \
        if "measure" in pooled else {}
    out = []
    for spec in map(AnalysisSpec.coerce, analyses):
        measure = _text(measures.get(spec.id) or spec.measure).upper()
        # a valid claim (schema of config claims) with an open range: 'any effect' only
        out.append(ClaimSpec.coerce({"id": "", "text": "", "analysis": spec.id,
                                     "metric": MEASURE_METRICS.get(measure, "smd"),
                                     "claimed_range": [None, None]}))
    return out


SOF_COLUMNS = ["claim_id", "outcome", "timepoint", "analysis_id", "trials", "participants",
               "relative_effect", "absolute_effect", "certainty", "footnotes", "statement"]
HEDGES = {"high": "", "moderate": "probably ", "low": "may "}


def plain_statement(level: str, estimate: float, any_status: str, meaningful_value: float,
                    null: float, sign: int, *, intervention: str, outcome: str,
                    lower_is_better: bool = True, pooled: bool = True) -> str:
    """GRADE's standard plain-language statement (Santesso et al. 2020, GRADE guidelines 26).

    The hedge follows the certainty (high: none; moderate: 'probably'; low: 'may'; very low:
    'the evidence is very uncertain'); the size follows the estimate against the meaningful
    threshold (beyond it: an important effect; short of it: 'slightly' when the CI excludes
    no effect, otherwise 'little or no difference').
    """
    if not level:
        return f"No trial reported {outcome}."
    if not pooled or not np.isfinite(estimate):
        return (f"The size of the effect of {intervention} on {outcome} cannot be judged: "
                "the trials reported it only in words.")
    if level == "very_low":
        return f"The evidence is very uncertain about the effect of {intervention} on {outcome}."
    hedge = HEDGES[level]
    benefit = (estimate - null) * sign > 0
    verb = ("reduces" if lower_is_better else "increases") if benefit else \
        ("increases" if lower_is_better else "reduces")
    if hedge == "may ":
        verb = verb[:-1]                      # "may reduce", but "probably reduces"
    important = (abs(estimate - null) >= abs(meaningful_value - null)
                 if np.isfinite(meaningful_value) else any_status in ("shown", "harm"))
    if important and any_status in ("shown", "harm"):
        return f"{capitalised(intervention)} {hedge}{verb} {outcome}."
    if any_status in ("shown", "harm"):
        return f"{capitalised(intervention)} {hedge}{verb} {outcome} slightly."
    makes = "make" if hedge == "may " else "makes"
    return f"{capitalised(intervention)} {hedge}{makes} little or no difference to {outcome}."


def summary_of_findings(
    claims: Sequence[ClaimSpec | Mapping],
    claim_rows: pd.DataFrame,
    evidence: Sequence[ClaimEvidence],
    *,
    study_effects: pd.DataFrame | None = None,
    certainty_rows: pd.DataFrame | None = None,
    intervention: str = "the intervention",
) -> pd.DataFrame:
    """One Summary-of-findings row per claim (Cochrane Handbook 14.1.6).

    ``footnotes`` name each domain that rated the evidence down with the first clause of its
    reason (from ``certainty_rows``, the claims' rows of ``results/certainty.csv``); the full
    reasons are in ``claims.csv`` (``certainty_reasons``).

    ``claim_rows`` is the claims table with :data:`CLAIM_COLUMNS` (one row per claim, same
    order). Binary outcomes give the control-group risk and the corresponding risk with the
    intervention per 1,000 (control risk x RR and its CI); continuous outcomes give the
    difference on the claim's scale (a control-group mean is not available from the
    extracted data).
    """
    rows = []
    for claim, (_, row), ev in zip(map(ClaimSpec.coerce, claims), claim_rows.iterrows(),
                                   evidence, strict=True):
        metric = ev.metric
        stats = ev.stats
        est = to_metric(metric, _num(stats.get("estimate")))
        lo, hi = interval_to_metric(metric, _num(stats.get("ci_low")),
                                    _num(stats.get("ci_high")))
        lib = _lower_is_better(study_effects, ev.analysis_id)
        sign = th.benefit_sign(metric, lib)
        relative = absolute = ""
        if ev.k and metric in ("rr", "or"):
            relative = f"{metric.upper()} {est:.2f} ({lo:.2f} to {hi:.2f})"
            risk = _control_risk(study_effects, ev.analysis_id)
            if np.isfinite(risk) and metric == "rr":
                absolute = (f"{risk * 1000:.0f} per 1,000 with control; "
                            f"{risk * est * 1000:.0f} per 1,000 with {intervention} "
                            f"({risk * lo * 1000:.0f} to {risk * hi * 1000:.0f})")
        elif ev.k:
            unit = {"smd": "SMD (Hedges' g)", "md": "MD (points)",
                    "percent_reduction": "% lower than control"}.get(metric, metric)
            absolute = f"{unit} {est:.2f} ({lo:.2f} to {hi:.2f}); control mean not extracted"
        votes = ev.votes
        trials = (f"{votes.pooled_k} pooled of {votes.reported_k} reporting"
                  if votes.reported_k else "0")
        n = pd.to_numeric(ev.studies.loc[ev.studies["pooled"].astype(bool), "n"],
                          errors="coerce").sum(min_count=1)
        rows.append({
            "claim_id": claim.id, "outcome": _text(claim.outcome),
            "timepoint": _text(claim.timepoint), "analysis_id": ev.analysis_id,
            "trials": trials,
            "participants": "" if not np.isfinite(n) else f"{n:.0f}",
            "relative_effect": relative, "absolute_effect": absolute or
            (f"not estimable (no poolable numbers); by direction: {votes.favours} favour "
             f"{intervention}, {votes.against} favour control, {votes.unclear} unclear"
             if votes.reported_k else "no trial reported it"),
            "certainty": _text(row.get("certainty")),
            "footnotes": _footnotes(certainty_rows, claim.id)
            or _text(row.get("certainty_reasons")),
            "statement": plain_statement(
                _text(row.get("certainty")), est, _text(row.get("any_effect")),
                _num(row.get("meaningful_threshold")), th.null_value(metric), sign,
                intervention=intervention, outcome=_text(claim.outcome) or "the outcome",
                lower_is_better=True if lib is None else lib, pooled=bool(ev.k)),
        })
    return pd.DataFrame(rows, columns=SOF_COLUMNS)


def _footnotes(certainty_rows: pd.DataFrame | None, claim_id: str) -> str:
    """``'Risk of bias -1: 15% of ...; Imprecision -2: no effect estimate'`` for one claim."""
    if certainty_rows is None or certainty_rows.empty:
        return ""
    rows = certainty_rows[(certainty_rows["claim_id"].astype(str) == str(claim_id))
                          & (certainty_rows["domain"] != "overall")
                          & (pd.to_numeric(certainty_rows["levels"], errors="coerce") > 0)]
    notes = []
    for _, r in rows.iterrows():
        first = str(r["reason"]).split(";")[0].split(" (")[0].rstrip(".")
        notes.append(f"{GRADE_DOMAIN_LABELS[r['domain']]} -{int(r['levels'])}: "
                     f"{first}")
    return "; ".join(notes)
