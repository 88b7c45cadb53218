"""Certainty of evidence (GRADE), computed from the data (pure: no IO).

Randomised evidence starts at **high** certainty; each of five domains may rate it down by
one level (serious concerns) or two (very serious), with the reason written out (GRADE
Handbook, Schünemann et al. 2013, section 5; Cochrane Handbook ch. 14, Schünemann et al. 2023).
Four levels remain: ``high``, ``moderate``, ``low``, ``very_low``. The certainty is rated
for the decision a claim asks about, i.e. against the claim's thresholds (the claimed range,
the null and the meaningful-effect threshold; Hultcrantz et al. 2017).

The rules, each a small function below so that it can be tested on constructed evidence:

``risk_of_bias``
    Overall RoB 2 judgements weighted by each trial's share of the pooled weight (by share of
    participants when nothing was pooled). Half or more of the weight from trials at high risk
    -> two levels; half or more at high risk or with some concerns -> one level. A trial not
    assessed counts as some concerns, and the reason says so.
``inconsistency``
    With one reporting trial: *not assessable* (said so; not taken as consistent, and no I²
    is used). Otherwise each of these is a signal: trials pointing in opposite directions
    (strong), a direction beside trials with no clear difference, I² >= 50% (>= 75%
    strong; only with k >= 2 pooled), and, with k >= 3, a prediction interval that crosses a
    decision threshold the CI does not cross. One signal -> one level; two strong -> two.
``indirectness``
    Each claim declares what it is about (population scope, single dose or a course, control,
    clinician-rated or self-reported outcome); each trial's characteristics say what it
    measured. Half or more of the weight from trials that differ -> one level; a claim whose
    outcome is measured only through a stand-in (declared in the config) -> one more.
``imprecision``
    The 95% CI against the decision thresholds: crossing one -> one level, two or more -> two;
    fewer participants than the optimal information size (OIS) -> one more (at most two). No
    effect estimate at all (results only in words) -> two levels. OIS: GRADE's rule of thumb
    of 400 participants for continuous outcomes, and for binary outcomes the sample size that
    detects a 25% relative risk reduction from the control risk (alpha 0.05, power 0.8;
    Guyatt et al. 2011).
``publication_bias``
    Missing results (ROB-ME logic, Page et al. 2023): results that exist but could not be
    used (trials that reported the outcome only in words, or in numbers that cannot be
    pooled) holding a quarter or more of the participants of the reporting trials (half or
    more: strong); numbers reported by no trial at all (words only); registered trials of
    the question completed without results (ongoing ones are listed, not counted); and,
    with k >= 10, Egger's test p < 0.10. One signal -> one
    level, a strong one or two signals -> two.

References
----------
Schünemann H, Brożek J, Guyatt G, Oxman A (eds). GRADE Handbook, 2013, section 5.
Schünemann HJ et al. Chapter 14: Completing 'Summary of findings' tables and grading the
certainty of the evidence. Cochrane Handbook version 6.4, 2023.
Guyatt GH et al. GRADE guidelines 6. Rating the quality of evidence - imprecision. J Clin
Epidemiol 2011;64:1283-93.
Hultcrantz M et al. The GRADE Working Group clarifies the construct of certainty of evidence.
J Clin Epidemiol 2017;87:4-13.
Page MJ et al. ROB-ME: a tool for assessing risk of bias due to missing evidence in
systematic reviews with meta-analysis. BMJ 2023;383:e076754.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy.stats import norm

from ketamine_evidence.config import CertaintySection
from ketamine_evidence.synthesis import vote_counting
from ketamine_evidence.types import (
    CERTAINTY_LEVELS,
    GRADE_JUDGEMENTS,
    CertaintyLevel,
    GradeDomain,
    GradeJudgement,
)
from ketamine_evidence.wording import GRADE_DOMAIN_TERMS

#: Thresholds of the rules: the config's validated ``certainty`` section. Its defaults live
#: only in the config schema (``ketamine_evidence/data/config.schema.yaml``).
CertaintySettings = CertaintySection


def default_settings() -> CertaintySettings:
    """The schema's defaults of the ``certainty`` section (what an empty section gives)."""
    return CertaintySection.coerce({})


@dataclass(frozen=True)
class DomainJudgement:
    """One GRADE domain: its judgement, the levels it rates down, and why."""

    domain: GradeDomain
    judgement: GradeJudgement
    levels: int
    reason: str


@dataclass(frozen=True)
class Evidence:
    """What the certainty of one claim (or analysis) is judged on; numbers on its scale.

    ``studies`` has one row per trial that reported the outcome (columns of
    :data:`ketamine_evidence.synthesis.claims.REPORTING_COLUMNS`, plus ``indirect``: a text saying how
    the trial differs from what the claim is about, empty when it does not).
    ``thresholds`` are the decision thresholds on the same scale (the null, finite bounds of
    the claimed range, the meaningful-effect threshold).
    """

    studies: pd.DataFrame
    k: int = 0
    estimate: float = math.nan
    ci_low: float = math.nan
    ci_high: float = math.nan
    pi_low: float = math.nan
    pi_high: float = math.nan
    i2: float = math.nan
    n_participants: float = math.nan
    thresholds: tuple[float, ...] = ()
    binary: bool = False
    control_risk: float = math.nan
    egger_pvalue: float = math.nan
    registered_without_results: tuple[str, ...] = ()
    registered_status_unknown: tuple[str, ...] = ()
    claim_indirectness: tuple[str, ...] = ()
    randomised: bool = True


@dataclass(frozen=True)
class Certainty:
    """The GRADE rating: the level and the five domain judgements behind it."""

    #: empty when no trial reported the outcome (no evidence to rate)
    level: CertaintyLevel | Literal[""]
    domains: tuple[DomainJudgement, ...] = field(default_factory=tuple)

    @property
    def reasons(self) -> str:
        """The domains that rated the evidence down, with their reasons, in one line."""
        parts = [f"{GRADE_DOMAIN_TERMS[d.domain]} (-{d.levels}): {d.reason.rstrip('.')}"
                 for d in self.domains if d.levels]
        return "; ".join(parts) if parts else "no serious concerns in any domain"

    def to_frame(self) -> pd.DataFrame:
        """One row per domain, then an ``overall`` row (judgement = the certainty level,
        levels = the total rated down)."""
        rows = [{"domain": d.domain, "judgement": d.judgement, "levels": d.levels,
                 "reason": d.reason} for d in self.domains]
        rows.append({"domain": "overall", "judgement": self.level or "no_evidence",
                     "levels": sum(d.levels for d in self.domains),
                     "reason": self.reasons if self.level else "no trial reported it"})
        return pd.DataFrame(rows)


def _judgement(levels: int) -> GradeJudgement:
    return GRADE_JUDGEMENTS[min(levels, 2)]


def _labels(rows: pd.DataFrame) -> str:
    return "; ".join(str(x) for x in rows["label"])


def evidence_shares(studies: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series, str]:
    """The trials a domain weighs, their shares (sum 1) and what the shares are of.

    The pooled trials by their share of the pooled weight; when nothing was pooled, every
    reporting trial by its share of participants (equal shares when a trial's size is
    unknown).
    """
    pooled = studies[studies["pooled"].astype(bool)] if len(studies) else studies
    if len(pooled):
        w = pd.to_numeric(pooled["weight"], errors="coerce")
        if w.notna().all() and w.sum() > 0:
            return pooled, w / w.sum(), "of the pooled weight"
        return pooled, pd.Series(1 / len(pooled), index=pooled.index), "of the pooled trials"
    n = pd.to_numeric(studies["n"], errors="coerce")
    if len(studies) and n.notna().all() and n.sum() > 0:
        return studies, n / n.sum(), "of the participants"
    share = pd.Series(1 / max(len(studies), 1), index=studies.index)
    return studies, share, "of the trials"


def risk_of_bias(evidence: Evidence) -> DomainJudgement:
    """RoB 2 overall judgements weighted by share of weight (or participants)."""
    if evidence.studies.empty:
        return DomainJudgement("risk_of_bias", "not_assessable", 0, "no trial reported it")
    rows, share, of_what = evidence_shares(evidence.studies)
    rob = rows["rob"].fillna("").astype(str)
    high = float(share[rob == "high"].sum())
    some = float(share[rob == "some_concerns"].sum())
    unassessed = float(share[~rob.isin(["low", "some_concerns", "high"])].sum())
    low = 1 - high - some - unassessed
    levels = 2 if high >= 0.5 else 1 if high + some + unassessed >= 0.5 else 0
    parts = [f"{high:.0%} {of_what} from trials at high risk"
             + (f" ({_labels(rows[rob == 'high'])})" if high else ""),
             f"{some:.0%} with some concerns", f"{max(low, 0):.0%} at low risk"]
    if unassessed:
        parts.append(f"{unassessed:.0%} not assessed (counted as some concerns: "
                     f"{_labels(rows[~rob.isin(['low', 'some_concerns', 'high'])])})")
    rule = {2: "half or more at high risk", 1: "half or more at high risk or with some "
            "concerns", 0: "less than half with concerns"}[levels]
    return DomainJudgement("risk_of_bias", _judgement(levels), levels,
                           f"{rule}: " + ", ".join(parts) + ".")


def _crossed(low: float, high: float, thresholds: Sequence[float]) -> list[float]:
    """Thresholds strictly inside the interval [low, high]."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return []
    return sorted({t for t in thresholds if np.isfinite(t) and low < t < high})


def inconsistency(evidence: Evidence, settings: CertaintySettings) -> DomainJudgement:
    """Direction disagreement, I² and the prediction interval; not assessable with one trial."""
    reported = len(evidence.studies)
    if reported == 0:
        return DomainJudgement("inconsistency", "not_assessable", 0, "no trial reported it")
    if reported == 1:
        return DomainJudgement(
            "inconsistency", "not_assessable", 0,
            "a single trial: consistency cannot be judged (not assessable, which is not the "
            "same as consistent); no I², Q or prediction interval exists for one trial.")
    directions = evidence.studies["direction"]
    fav = int((directions == vote_counting.FAVOURS).sum())
    against = int((directions == vote_counting.AGAINST).sum())
    unclear = int(directions.isin([vote_counting.NO_DIFFERENCE, vote_counting.MIXED]).sum())
    signals, strong = [], 0
    if fav and against:
        signals.append(f"trials point in opposite directions ({fav} favour the intervention, "
                       f"{against} favour control)")
        strong += 1
    elif (fav or against) and unclear:
        signals.append(f"{fav or against} trial(s) favour "
                       f"{'the intervention' if fav else 'control'} while {unclear} show no "
                       "clear difference or mixed results")
    notes = []
    if evidence.k >= 2 and np.isfinite(evidence.i2):
        if evidence.i2 >= settings.i2_serious:
            signals.append(f"I² = {evidence.i2:.0f}%")
            strong += evidence.i2 >= settings.i2_very_serious
        else:
            notes.append(f"I² = {evidence.i2:.0f}%")
    else:
        notes.append(f"no I² or prediction interval with {evidence.k} pooled trial(s)")
    if evidence.k >= 3:
        pi_cross = set(_crossed(evidence.pi_low, evidence.pi_high, evidence.thresholds))
        ci_cross = set(_crossed(evidence.ci_low, evidence.ci_high, evidence.thresholds))
        if pi_cross - ci_cross:
            signals.append("the prediction interval crosses "
                           + ", ".join(f"{t:g}" for t in sorted(pi_cross - ci_cross))
                           + " where the CI does not")
    levels = 2 if strong >= 2 else 1 if signals else 0
    text = "; ".join(signals) if signals else "trials agree in direction"
    if notes:
        text += " (" + "; ".join(notes) + ")"
    return DomainJudgement("inconsistency", _judgement(levels), levels, text + ".")


def indirectness(evidence: Evidence) -> DomainJudgement:
    """Share of the evidence from trials that measured something other than the claim."""
    if evidence.studies.empty:
        return DomainJudgement("indirectness", "not_assessable", 0, "no trial reported it")
    rows, share, of_what = evidence_shares(evidence.studies)
    indirect = rows.get("indirect", pd.Series("", index=rows.index)).fillna("").astype(str)
    flagged = indirect != ""
    indirect_share = float(share[flagged].sum())
    levels = int(indirect_share >= 0.5) + int(bool(evidence.claim_indirectness))
    parts = []
    if flagged.any():
        parts.append(f"{indirect_share:.0%} {of_what} from trials that differ from what the "
                     "claim is about: " + "; ".join(
                         f"{lab} ({why})" for lab, why in zip(rows.loc[flagged, "label"],
                                                            indirect[flagged], strict=True)))
    parts += [f"the claim's outcome is measured through a stand-in: {note}"
              for note in evidence.claim_indirectness]
    text = "; ".join(parts) if parts else "the trials measured what the claim is about"
    return DomainJudgement("indirectness", _judgement(min(levels, 2)), min(levels, 2),
                           text + ".")


def optimal_information_size(settings: CertaintySettings, *, binary: bool = False,
                             control_risk: float = math.nan) -> float:
    """Participants needed in total (two equal arms) for a conventional trial.

    Continuous outcomes: ``settings.ois_participants_continuous`` (GRADE's rule of thumb,
    400). Binary outcomes: ``2 (z_{1-a/2} + z_{power})² [p1(1-p1) + p2(1-p2)] / (p1 - p2)²``
    per arm with ``p1`` the control risk and ``p2 = p1 (1 - RRR)`` (Guyatt et al. 2011);
    NaN when the control risk is unknown.
    """
    if not binary:
        return float(settings.ois_participants_continuous)
    p1 = control_risk
    if not np.isfinite(p1) or not 0 < p1 < 1:
        return math.nan
    p2 = p1 * (1 - settings.ois_relative_risk_reduction)
    z = norm.ppf(1 - settings.ois_alpha / 2) + norm.ppf(settings.ois_power)
    per_arm = z**2 * (p1 * (1 - p1) + p2 * (1 - p2)) / (p1 - p2) ** 2
    return 2 * math.ceil(per_arm)


def imprecision(evidence: Evidence, settings: CertaintySettings) -> DomainJudgement:
    """The CI against the decision thresholds, and the optimal information size."""
    if evidence.studies.empty:
        return DomainJudgement("imprecision", "not_assessable", 0, "no trial reported it")
    if evidence.k == 0 or not np.isfinite(evidence.ci_low):
        return DomainJudgement(
            "imprecision", "very_serious", 2,
            "no effect estimate: the trials reported this outcome only in words or in numbers "
            "that cannot be pooled, so the size of the effect is unknown.")
    crossed = _crossed(evidence.ci_low, evidence.ci_high, evidence.thresholds)
    levels = min(len(crossed), 2)
    parts = [("the 95% CI crosses " + ", ".join(f"{t:g}" for t in crossed)
              + " (decision thresholds: " + ", ".join(f"{t:g}" for t in evidence.thresholds)
              + ")") if crossed else
             "the 95% CI crosses no decision threshold ("
             + ", ".join(f"{t:g}" for t in evidence.thresholds) + ")"]
    ois = optimal_information_size(settings, binary=evidence.binary,
                                   control_risk=evidence.control_risk)
    n = evidence.n_participants
    if np.isfinite(ois) and (not np.isfinite(n) or n < ois):
        levels = min(levels + 1, 2)
        trials = f"{len(evidence.studies[evidence.studies['pooled'].astype(bool)])} trial(s)"
        size = (f"{trials} with {n:.0f} participants, below the optimal information size "
                f"of {ois:.0f}" if np.isfinite(n) else
                f"participants unknown (optimal information size {ois:.0f})")
        # the reason that rates down comes first
        parts = parts + [size] if crossed else [size] + parts
    elif np.isfinite(ois):
        parts.append(f"{n:.0f} participants meet the optimal information size of {ois:.0f}")
    return DomainJudgement("imprecision", _judgement(levels), levels, "; ".join(parts) + ".")


def publication_bias(evidence: Evidence, settings: CertaintySettings) -> DomainJudgement:
    """Missing results: unusable results, words-only reporting, unreported registrations."""
    studies = evidence.studies
    if studies.empty:
        return DomainJudgement("publication_bias", "not_assessable", 0, "no trial reported it")
    signals, levels = [], 0
    unpooled = studies[~studies["pooled"].astype(bool)]
    if evidence.k > 0 and len(unpooled):
        n = pd.to_numeric(studies["n"], errors="coerce")
        known = n.notna()
        share = (float(n[~studies["pooled"].astype(bool) & known].sum() / n[known].sum())
                 if known.any() and n[known].sum() > 0 else len(unpooled) / len(studies))
        text = (f"results that exist but could not be pooled: {_labels(unpooled)} "
                f"({share:.0%} of the participants of the {len(studies)} reporting trials)")
        if share >= 0.5:
            levels += 2
            signals.append(text)
        elif share >= 0.25:
            levels += 1
            signals.append(text)
        else:
            signals.append(text + ", too few to rate down")
    elif evidence.k == 0:
        levels += 1
        signals.append(f"no trial reported numbers for this outcome ({_labels(studies)} "
                       "reported it only in words or in numbers that cannot be pooled): "
                       "selective non-reporting of numbers cannot be ruled out")
    if evidence.registered_without_results:
        levels += 1
        signals.append(f"{len(evidence.registered_without_results)} registered trial(s) of "
                       "this question completed without results: "
                       + "; ".join(evidence.registered_without_results))
    if evidence.registered_status_unknown:
        signals.append(f"{len(evidence.registered_status_unknown)} registered trial(s) "
                       "without results whose completion is unknown or still ahead (not "
                       "counted as missing: an ongoing trial is not missing evidence): "
                       + "; ".join(evidence.registered_status_unknown))
    if evidence.k >= settings.min_k_small_study and np.isfinite(evidence.egger_pvalue):
        if evidence.egger_pvalue < settings.small_study_alpha:
            levels += 1
            signals.append(f"Egger's test p = {evidence.egger_pvalue:.3f}")
    else:
        signals.append(f"small-study tests not informative with {evidence.k} pooled trial(s) "
                       f"(fewer than {settings.min_k_small_study})")
    levels = min(levels, 2)
    return DomainJudgement("publication_bias", _judgement(levels), levels,
                           "; ".join(signals) + ".")


def assess(evidence: Evidence, settings: CertaintySettings | None = None) -> Certainty:
    """Rate the certainty of ``evidence``: start high (randomised), rate down per domain.

    Returns a :class:`Certainty` with an empty ``level`` when no trial reported the outcome
    (there is no evidence to rate).
    """
    settings = default_settings() if settings is None else settings
    domains = (risk_of_bias(evidence), inconsistency(evidence, settings),
               indirectness(evidence), imprecision(evidence, settings),
               publication_bias(evidence, settings))
    if evidence.studies.empty:
        return Certainty("", domains)
    start = 3 if evidence.randomised else 1
    down = sum(d.levels for d in domains)
    return Certainty(CERTAINTY_LEVELS[max(start - down, 0)], domains)
