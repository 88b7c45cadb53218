"""Synthesis without meta-analysis: vote counting by direction of effect (pure: no IO).

Every trial that reported an outcome counts, whether its result could be pooled or was
reported only in words. Following the Cochrane Handbook (McKenzie & Brennan 2023, ch. 12.2.2.3
and 12.4.2.2) and the SWiM guideline (Campbell et al. 2020), each trial casts one vote by the
**direction** of its effect, never by its statistical significance:

* a pooled (numeric) result votes by the sign of its point estimate, taking into account
  whether lower values of the outcome are better (:func:`direction_of_estimate`);
* a result reported only in words votes by the direction a reviewer curated from those words
  (``extraction.csv`` column ``direction``); code never infers a direction from free text, so an
  un-curated row counts as *not judged*.

The votes are summarised by the proportion of trials favouring the intervention among those
with a direction either way, its 95% Wilson score interval (Wilson 1927; recommended in
Cochrane Handbook 12.4.2.2) and a two-sided sign test (exact binomial test of that proportion
against 0.5). Trials with no clear difference, conflicting results, or no curated direction are
counted apart (``unclear``) and do not enter the sign test.

References
----------
McKenzie JE, Brennan SE. Chapter 12: Synthesizing and presenting findings using other methods.
Cochrane Handbook for Systematic Reviews of Interventions, version 6.4 (2023).
Campbell M et al. Synthesis without meta-analysis (SWiM) in systematic reviews: reporting
guideline. BMJ 2020;368:l6890.
Boon MH, Thomson H. The effect direction plot revisited: application of the 2019 Cochrane
Handbook guidance on alternative synthesis methods. Res Synth Methods 2021;12(1):29-33.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

from scipy.stats import binomtest

# The directions (curated in ``extraction.csv`` ``direction``, or the sign of an estimate) and
# the votes (a direction, ``mixed`` for a study whose results point both ways, ``not_judged``
# for a result without a curated direction) are the shared types':
from ketamine_evidence.types import (
    AGAINST,
    DIRECTIONS,
    FAVOURS,
    MIXED,
    NO_DIFFERENCE,
    NOT_JUDGED,
    VOTES,
)


def direction_of_estimate(yi: float, lower_is_better: bool | None) -> str:
    """The direction of a numeric effect from the sign of its point estimate.

    Parameters
    ----------
    yi
        Effect of arm 1 (intervention) minus arm 2 (control), or a log ratio of arm 1 over
        arm 2, as in metafor's ``escalc``.
    lower_is_better
        Whether lower outcome values are better (symptom scales, adverse effects). ``None``
        when unknown.

    Returns
    -------
    str
        ``favours_intervention``, ``favours_control``, ``no_clear_difference`` (an estimate of
        exactly 0) or ``not_judged`` (estimate or orientation unknown).
    """
    if yi is None or lower_is_better is None or not math.isfinite(float(yi)):
        return NOT_JUDGED
    if yi == 0:
        return NO_DIFFERENCE
    intervention_lower = yi < 0
    return FAVOURS if intervention_lower == bool(lower_is_better) else AGAINST


def combine_directions(directions: Iterable[str]) -> str:
    """One vote per study from the directions of its results (comparisons, instruments).

    Results that all agree give that direction; results that differ (opposite directions,
    or a direction beside no clear difference) give ``mixed`` (Boon & Thomson 2021: "mixed
    effects/conflicting findings"), so a study is never split into several votes. Results
    not judged are ignored unless nothing else is known.
    """
    judged = {d for d in directions if d in DIRECTIONS}
    if not judged:
        return NOT_JUDGED
    return judged.pop() if len(judged) == 1 else MIXED


@dataclass(frozen=True)
class SignTest:
    """A two-sided sign test of the proportion of studies favouring the intervention.

    ``proportion`` = favours / (favours + against); ``ci_low``/``ci_high`` its Wilson score
    interval; ``pvalue`` the exact two-sided binomial test against 0.5. All NaN when no
    study has a direction either way.
    """

    favours: int
    against: int
    proportion: float
    ci_low: float
    ci_high: float
    pvalue: float


def sign_test(favours: int, against: int, *, level: float = 0.95) -> SignTest:
    """Exact two-sided sign test and Wilson interval for ``favours`` of ``favours + against``.

    Parameters
    ----------
    favours, against
        Studies whose effect favours the intervention / the control (ties and unclear
        results are left out before calling, as in Cochrane Handbook 12.4.2.2).
    level
        Confidence level of the Wilson score interval.

    Returns
    -------
    SignTest
        With ``n = favours + against``: ``pvalue = min(1, 2 * P(X <= min(favours, against)))``
        for X ~ Binomial(n, 1/2) (scipy ``binomtest``), and the Wilson interval
        ``(p + z²/2n ± z sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)``.
    """
    if favours < 0 or against < 0:
        raise ValueError(f"vote counts must be >= 0, got favours={favours}, against={against}")
    n = favours + against
    if n == 0:
        return SignTest(favours, against, math.nan, math.nan, math.nan, math.nan)
    test = binomtest(favours, n, 0.5, alternative="two-sided")
    ci = test.proportion_ci(confidence_level=level, method="wilson")
    return SignTest(favours, against, favours / n, float(ci.low), float(ci.high),
                    float(test.pvalue))


@dataclass(frozen=True)
class VoteCount:
    """Directions of every study that reported an outcome, and the sign test on them."""

    reported_k: int
    pooled_k: int
    favours: int
    against: int
    unclear: int
    proportion: float
    ci_low: float
    ci_high: float
    pvalue: float

    def to_dict(self) -> dict:
        return asdict(self)


def vote_count(directions: Sequence[str], *, pooled_k: int = 0,
               level: float = 0.95) -> VoteCount:
    """Count one vote per study (``directions``, one entry per study) and run the sign test.

    ``unclear`` counts studies with no clear difference, mixed results or no curated
    direction. ``pooled_k`` (studies whose numbers were pooled) is carried along so that a
    reader sees how many of the reporting studies the meta-analysis used.
    """
    unknown = [d for d in directions if d not in VOTES]
    if unknown:
        raise ValueError(f"unknown direction(s) {sorted(set(unknown))}; expected one of {VOTES}")
    favours = sum(d == FAVOURS for d in directions)
    against = sum(d == AGAINST for d in directions)
    test = sign_test(favours, against, level=level)
    return VoteCount(len(directions), int(pooled_k), favours, against,
                     len(directions) - favours - against, test.proportion, test.ci_low,
                     test.ci_high, test.pvalue)


def describe_votes(votes: VoteCount, *, intervention: str = "the intervention") -> str:
    """The vote count in words, e.g. ``'3 trials: 1 favouring the intervention, ...'``."""
    if votes.reported_k == 0:
        return "no trial reported this outcome"
    k = votes.reported_k
    text = (f"{k} trial{'s' if k != 1 else ''}: {votes.favours} favouring {intervention}, "
            f"{votes.against} favouring control, {votes.unclear} with no clear difference, "
            "mixed results or no judged direction")
    if math.isfinite(votes.pvalue):
        text += (f" (sign test p = {votes.pvalue:.2g}; proportion favouring {intervention} "
                 f"{votes.proportion:.0%}, 95% CI {votes.ci_low:.0%} to {votes.ci_high:.0%})")
    return text
