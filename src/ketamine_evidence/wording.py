"""Every label and phrase the review's outputs show, in one place.

Two kinds of wording live here:

* the fixed vocabulary of the method, the same for every review: verdicts, GRADE certainty
  levels and domains, risk-of-bias judgements and domains, effect directions, measure and
  metric names, sensitivity analyses, prediction-interval status (module constants);
* the words of the review's question: what the intervention, the comparator, the population
  and the condition are called, the question, the one-line summary, the PICO sentence and how
  prevention trials are described. They come only from the configuration's ``review`` section
  (``config.yaml``; the schema's defaults are neutral), built by :func:`wording_for`.

Presentation code (the report, the figures, the claims' plain-language text, the screening
reasons) takes its labels from here and never spells out a drug or a condition itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ketamine_evidence.config import ReviewSettings, Settings

# -- the method's vocabulary ---------------------------------------------------------------

VERDICT_LABELS = {
    "supported": "Supported",
    "contradicted": "Contradicted",
    "inconclusive": "Inconclusive",
    "no_evidence": "No evidence",
}
# A shape beside the colour so the badge reads without colour vision (WCAG 1.4.1).
VERDICT_SYMBOLS = {
    "supported": "\u2713",  # check mark
    "contradicted": "\u2717",  # ballot x
    "inconclusive": "?",
    "no_evidence": "\u2205",  # empty set
}
# GRADE certainty: the circles GRADE tables use, beside the words (WCAG 1.4.1)
CERTAINTY_LABELS = {"high": "High certainty", "moderate": "Moderate certainty",
                    "low": "Low certainty", "very_low": "Very low certainty"}
CERTAINTY_SYMBOLS = {"high": "\u2295\u2295\u2295\u2295", "moderate": "\u2295\u2295\u2295\u25ef",
                     "low": "\u2295\u2295\u25ef\u25ef", "very_low": "\u2295\u25ef\u25ef\u25ef"}
#: the GRADE domains in running text ("rated down for risk of bias") ...
GRADE_DOMAIN_TERMS = {"risk_of_bias": "risk of bias", "inconsistency": "inconsistency",
                      "indirectness": "indirectness", "imprecision": "imprecision",
                      "publication_bias": "publication bias / missing results"}
#: ... and as headings
GRADE_DOMAIN_LABELS = {domain: term[0].upper() + term[1:]
                       for domain, term in GRADE_DOMAIN_TERMS.items()}
# Effect direction plot (Boon & Thomson 2021): arrow per study and outcome
DIRECTION_SYMBOLS = {"favours_intervention": "\u25b2", "favours_control": "\u25bc",
                     "no_clear_difference": "\u25c4\u25ba", "mixed": "\u25c4\u25ba",
                     "not_judged": "?"}
ROB_LABELS = {"low": "Low", "some_concerns": "Some concerns", "high": "High"}
ROB_DOMAINS = {
    "D1": "D1 Randomisation process",
    "D2": "D2 Deviations from intended interventions",
    "D3": "D3 Missing outcome data",
    "D4": "D4 Measurement of the outcome",
    "D5": "D5 Selection of the reported result",
    "overall": "Overall",
}
SENSITIVITY_KINDS = {
    "leave1out": "Leave one study out",
    "cumulative": "Cumulative meta-analysis (studies added in order of publication)",
    "crossover_r": "Within-person correlation assumed for crossover trials",
    "estimator": "Other estimators of between-study variance (tau\u00b2)",
}
PI_STATUS_TEXT = {
    "inside": "PI inside the claimed range: consistent across settings",
    "straddles": "PI crosses a boundary: a new setting could fall either side",
    "outside": "PI outside the claimed range in every setting",
    "not_estimable": "PI not estimable (too few studies)",
}
#: the scale a claim is stated on (``claims[].metric``), in the report's words
METRIC_LABELS = {
    "percent_reduction": "% reduction vs control",
    "smd": "SMD (Hedges' g)",
    "md": "mean difference",
    "rr": "risk ratio",
    "or": "odds ratio",
}
#: effect measures in running text
MEASURE_LABELS = {
    "SMD": "standardised mean difference (Hedges' g)",
    "MD": "mean difference",
    "ROM": "ratio of means",
    "RR": "risk ratio",
    "OR": "odds ratio",
    "RD": "risk difference",
    "HR": "hazard ratio",
}
#: effect measures as a figure's axis title (ROM is drawn as a percent reduction)
AXIS_MEASURE_LABELS = {
    "SMD": "Standardised mean difference (Hedges' g)",
    "MD": "Mean difference (scale points)",
    "ROM": "Percent reduction vs control, 100 (1 - ratio of means)",
    "RR": "Risk ratio",
    "OR": "Odds ratio",
    "RD": "Risk difference",
}
#: the scale a claim is stated on, as the axis title of its posterior figure
CLAIM_AXIS_LABELS = {
    "smd": "Standardised mean difference (Hedges' g)",
    "md": "Mean difference (scale points)",
    "percent_reduction": "Percent reduction vs control",
    "rr": "Risk ratio",
    "or": "Odds ratio",
}

#: what a review run on synthetic example data (``review.synthetic_data``) says on every
#: page, table and figure
SYNTHETIC_NOTE = ("SYNTHETIC DATA: every study, number and claim here is made up to show how "
                  "the workflow runs; it is not trial evidence.")

#: keys of the ``eligibility`` settings that word the screening reasons (not rules)
ELIGIBILITY_WORDING = ("population_label", "intervention_label")


def claimed_range_text(low: float | None, high: float | None,
                       number: Callable[[float], str] = "{:g}".format) -> str:
    """A claimed range in words: ``'60 to 100'``, ``'at most 0'``, ``'at least 0.5'``.

    ``None`` is an open end. The bounds belong to the range (a claim is supported when the
    whole CI lies within them, ends included), hence "at most"/"at least", never
    "below"/"above". ``number`` formats a bound (the report's, e.g. ``'60%'``, ``'−0.80'``).
    """
    if low is None:
        return "any value" if high is None else f"at most {number(high)}"
    if high is None:
        return f"at least {number(low)}"
    return f"{number(low)} to {number(high)}"


# -- the words of the review's question ----------------------------------------------------


def capitalised(text: str) -> str:
    """``text`` with its first letter upper case (the rest untouched: "MDMA", "iPhone")."""
    return text[:1].upper() + text[1:]


@dataclass(frozen=True)
class Wording:
    """What the outputs call the parts of the review's question (config ``review``).

    The ``review`` settings' words read as attributes of the wording itself
    (``wording.intervention``, ``.comparator``, ``.population``, ``.condition``, ``.question``,
    ``.summary``, ``.pico``, ``.prevention``, ``.synthetic_data``; the schema describes each);
    the properties below build the phrases made of them.
    """

    review: ReviewSettings

    def __getattr__(self, name: str) -> Any:
        # only called for names the dataclass does not have: the review's own words
        if name.startswith("__") or name == "review":
            raise AttributeError(name)
        return getattr(self.review, name)

    @property
    def intervention_title(self) -> str:
        """The intervention's name at the start of a sentence or heading."""
        return capitalised(self.intervention)

    @property
    def comparator_title(self) -> str:
        return capitalised(self.comparator)

    @property
    def arm_labels(self) -> tuple[str, str]:
        """Column headings of the two arms in a forest plot: (arm 1, arm 2)."""
        return (self.intervention_title, self.comparator_title)

    @property
    def direction_labels(self) -> dict[str, str]:
        """Each curated or computed direction of effect in words."""
        return {"favours_intervention": f"favours {self.intervention}",
                "favours_control": f"favours {self.comparator}",
                "no_clear_difference": "no clear difference",
                "mixed": "mixed or conflicting results",
                "not_judged": "direction not judged"}

    def favours(self, higher_is_better: bool) -> tuple[str, str]:
        """Arm names under a forest plot's axis, (left of the line, right of it): lower
        values in arm 1 sit left, so the intervention is favoured on the left unless a
        higher value is better (response, remission)."""
        if higher_is_better:
            return (self.comparator, self.intervention)
        return (self.intervention, self.comparator)

    @property
    def harm_direction_labels(self) -> tuple[str, str]:
        """Labels under the axis of a harm outcome (neither side is 'favoured')."""
        return (f"Less with {self.intervention}", f"More with {self.intervention}")

    @property
    def arms_pair(self) -> str:
        """"<intervention> / <comparator>", e.g. for counts per arm."""
        return f"{self.intervention} / {self.comparator}"

    @property
    def sof_caption(self) -> str:
        """Caption of the Summary-of-findings table (GRADE's "<I> compared with <C> for
        <condition>")."""
        condition = f" for {self.condition}" if self.condition else ""
        return (f"{self.intervention_title} compared with {self.comparator}{condition}: "
                "outcomes, effects and certainty of evidence")

    def results_of(self) -> str:
        """"<condition> results" ("results" when the review names no condition)."""
        return f"{self.condition} results" if self.condition else "results"


def wording_for(settings: Any = None) -> Wording:
    """The :class:`Wording` of a review from its settings.

    ``settings`` is a :class:`ketamine_evidence.config.Settings` carrying the ``review``
    section, a :class:`ketamine_evidence.config.ReviewSettings`, or a mapping of ``review``
    keys (validated; the schema fills the rest). ``None`` gives the schema's neutral wording.
    """
    if isinstance(settings, Settings):
        review = settings.review
    else:
        review = ReviewSettings.coerce({} if settings is None else settings)
    return Wording(review)
