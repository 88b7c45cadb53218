"""The values the review's stages hand to each other, as types (pure; imports nothing).

Each kind of coded value that one stage writes and another reads (a claim's verdict, a GRADE
certainty level, the direction of a trial's effect, the scale a claim is stated on, ...) is
one :data:`typing.Literal` type here, with the tuple of its values in a fixed, meaningful
order. The stages import these instead of spelling the values out, so a value cannot be
added in one place and forgotten in another; ``mypy`` checks the statistics and claims core
against them; and the config schema's enumerations and the curated sheets' codebook
(``data/raw/CODEBOOK.md``) are tested to list the same values.

Labels for people (``"Very low certainty"``, ``"favours <intervention>"``) are not here:
they belong to :mod:`ketamine_evidence.wording`, which builds them from the config.

Shared by every stage: it imports nothing of the package, so anything may import it.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

__all__ = [
    "AGAINST",
    "CERTAINTY_LEVELS",
    "DIRECTIONS",
    "FAVOURS",
    "GRADE_DOMAINS",
    "GRADE_JUDGEMENTS",
    "MEASURE_METRICS",
    "METRICS",
    "METRIC_NULLS",
    "MIXED",
    "NOT_JUDGED",
    "NO_DIFFERENCE",
    "PI_STATUSES",
    "ROB_DOMAINS",
    "ROB_JUDGEMENTS",
    "VERDICTS",
    "VOTES",
    "CertaintyLevel",
    "Direction",
    "GradeDomain",
    "GradeJudgement",
    "Metric",
    "PIStatus",
    "RobDomain",
    "RobJudgement",
    "Verdict",
    "Vote",
]

# -- claims ------------------------------------------------------------------------------------

#: A claim's verdict (:func:`ketamine_evidence.synthesis.claims.judge`): the confidence
#: interval (CI) of the pooled estimate lies wholly inside the claimed range (``supported``),
#: wholly outside it (``contradicted``), across a boundary (``inconclusive``), or there is no
#: pooled estimate (``no_evidence``).
Verdict = Literal["supported", "contradicted", "inconclusive", "no_evidence"]
VERDICTS: Final[tuple[Verdict, ...]] = get_args(Verdict)

#: Where the prediction interval (PI) lies relative to the claimed range.
PIStatus = Literal["inside", "straddles", "outside", "not_estimable"]
PI_STATUSES: Final[tuple[PIStatus, ...]] = get_args(PIStatus)

#: The scale a claim is stated on (``claims[].metric`` in the config): a standardised mean
#: difference (Hedges' g), a mean difference in scale points, a percent reduction against
#: control, 100 (1 - ratio of means), a risk ratio or an odds ratio.
Metric = Literal["smd", "md", "percent_reduction", "rr", "or"]
METRICS: Final[tuple[Metric, ...]] = get_args(Metric)

#: The value of each metric that means "no effect".
METRIC_NULLS: Final[dict[str, float]] = {
    "smd": 0.0, "md": 0.0, "percent_reduction": 0.0, "rr": 1.0, "or": 1.0,
}

#: The metric a pooled effect measure (metafor's ``measure``) is stated on when a claim does
#: not name one; ``ROM`` (log ratio of means) is shown as a percent reduction.
MEASURE_METRICS: Final[dict[str, Metric]] = {
    "SMD": "smd", "MD": "md", "ROM": "percent_reduction", "RR": "rr", "OR": "or",
}

# -- direction of effect (synthesis without meta-analysis) -------------------------------------

#: The direction of one trial's effect on one outcome: better with the intervention, better
#: with the control, or no clear difference. Curated for results reported only in words
#: (``extraction.csv`` column ``direction``), computed from the sign of a numeric estimate.
Direction = Literal["favours_intervention", "favours_control", "no_clear_difference"]
DIRECTIONS: Final[tuple[Direction, ...]] = get_args(Direction)
FAVOURS: Final = "favours_intervention"
AGAINST: Final = "favours_control"
NO_DIFFERENCE: Final = "no_clear_difference"

#: A trial's vote on an outcome: a direction, ``mixed`` (its results point both ways) or
#: ``not_judged`` (nobody curated a direction for a result reported only in words).
Vote = Literal[Direction, "mixed", "not_judged"]
MIXED: Final = "mixed"
NOT_JUDGED: Final = "not_judged"
VOTES: Final[tuple[Vote, ...]] = (*DIRECTIONS, MIXED, NOT_JUDGED)

# -- certainty of evidence (GRADE) and risk of bias (RoB 2) ------------------------------------

#: GRADE certainty of a body of evidence, lowest first (randomised evidence starts at
#: ``high`` and is rated down; GRADE Handbook, Schünemann et al. 2013, section 5).
CertaintyLevel = Literal["very_low", "low", "moderate", "high"]
CERTAINTY_LEVELS: Final[tuple[CertaintyLevel, ...]] = get_args(CertaintyLevel)

#: The five GRADE domains that can rate randomised evidence down, in the Handbook's order.
GradeDomain = Literal["risk_of_bias", "inconsistency", "indirectness", "imprecision",
                      "publication_bias"]
GRADE_DOMAINS: Final[tuple[GradeDomain, ...]] = get_args(GradeDomain)

#: A GRADE domain's judgement: down 0, 1 or 2 levels, or not assessable from the data.
GradeJudgement = Literal["not_serious", "serious", "very_serious", "not_assessable"]
GRADE_JUDGEMENTS: Final[tuple[GradeJudgement, ...]] = get_args(GradeJudgement)

#: The Cochrane RoB 2 domains of a randomised trial, then the overall judgement
#: (``risk_of_bias.csv`` column ``domain``; Sterne et al. 2019).
RobDomain = Literal["D1", "D2", "D3", "D4", "D5", "overall"]
ROB_DOMAINS: Final[tuple[RobDomain, ...]] = get_args(RobDomain)

#: A Cochrane RoB 2 judgement of one domain or overall (``risk_of_bias.csv``), least
#: concern first (Sterne et al. 2019).
RobJudgement = Literal["low", "some_concerns", "high"]
ROB_JUDGEMENTS: Final[tuple[RobJudgement, ...]] = get_args(RobJudgement)
