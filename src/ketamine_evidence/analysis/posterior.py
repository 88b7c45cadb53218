r"""Bayesian random-effects results for the review: priors, posteriors, claim probabilities.

Pure (no IO). The analysis step fits :func:`ketamine_evidence.meta.bayes` to each analysis
under the configured prior for its measure (``analysis.bayes.priors``) and under each prior
of the sensitivity set (``analysis.bayes.sensitivity``), and saves every posterior of mu as
its quadrature mixture (:class:`ketamine_evidence.meta.PosteriorMixture`, one table row per
node). The claims step reads those mixtures back and computes, without refitting,

``p_claim``
    the posterior probability that the overall effect mu lies in the claimed range;
``p_claim_pred``
    the same for the true effect in a new trial (posterior predictive);
``p_meaningful``, ``p_meaningful_pred``
    the same for an effect beyond the claim's meaningful-effect threshold, in the direction
    of benefit (:mod:`ketamine_evidence.synthesis.thresholds`).

Priors
------
Each measure names a prior on tau, ``halfnormal`` or ``halfcauchy`` with ``tau_scale``,
and a normal prior N(0, ``mu_prior_sd``\ :sup:`2`) on mu (proper, so that a single trial
can be analysed; ``null`` for the improper uniform prior). With ``scale_unit: uisd`` both
scales are multiples of the analysis' unit information standard deviation
:math:`\sigma_U = \sqrt{\sum n_i / \sum v_i^{-1}}` (Roever et al. 2021, eq. 6; bayesmeta's
``uisd()``), which puts a raw mean difference in points on the scale of its outcome's
standard deviation. The sensitivity set multiplies the main scale by ``scale_factor`` and
may change the prior family.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ketamine_evidence import meta
from ketamine_evidence.scales import interval_to_metric, range_to_analysis, to_metric
from ketamine_evidence.types import METRIC_NULLS

#: label of the main prior in tables
MAIN_PRIOR = "main"
#: columns appended to results/pooled.csv (analysis scale)
POOLED_COLUMNS = (
    "bayes_prior",
    "bayes_estimate",
    "bayes_mean",
    "bayes_sd",
    "bayes_ci_low",
    "bayes_ci_high",
    "bayes_pi_low",
    "bayes_pi_high",
    "bayes_tau_median",
    "bayes_tau_ci_low",
    "bayes_tau_ci_high",
    "bayes_note",
)
#: columns of the saved posterior mixtures (results/bayes_posterior.csv)
MIXTURE_COLUMNS = ("analysis_id", "prior_id", "prior_label", "tau", "weight", "cond_mean",
                   "cond_sd")
#: columns appended to results/claims.csv
CLAIM_COLUMNS = ("p_claim", "p_claim_pred", "p_meaningful", "p_meaningful_pred", "bayes_prior",
                 "bayes_estimate", "bayes_ci_low", "bayes_ci_high", "bayes_pi_low",
                 "bayes_pi_high")
#: columns of results/claim_probabilities.csv (one row per claim x prior)
PROBABILITY_COLUMNS = ("claim_id", "analysis_id", "prior_id", "prior_label", "p_claim",
                       "p_claim_pred", "p_meaningful", "p_meaningful_pred")

_FAMILY = {"halfnormal": "half-normal", "halfcauchy": "half-Cauchy"}


@dataclass(frozen=True)
class Prior:
    """A resolved prior for one analysis: tau ~ family(scale), mu ~ N(0, sd^2) or uniform."""

    prior_id: str
    tau_prior: str
    tau_scale: float
    mu_prior: tuple[float, float] | None
    label: str


def uisd(vi: Sequence[float], n: Sequence[float]) -> float:
    r"""Unit information standard deviation :math:`\sqrt{\sum n_i / \sum v_i^{-1}}`.

    Roever et al. (2021), Res Synth Methods 12:448-474, eq. 6 (bayesmeta's ``uisd()``).
    NaN when a sample size is missing or not positive.
    """
    v = np.asarray(vi, float)
    nn = np.asarray(n, float)
    if v.size == 0 or not (np.isfinite(nn).all() and (nn > 0).all()):
        return math.nan
    return float(math.sqrt(nn.sum() / (1.0 / v).sum()))


def _label(family: str, scale: float, unit: float | None) -> str:
    """E.g. 'half-normal(0.5) prior on tau', 'half-normal(8.3 = 0.25 x UISD 33.2) prior on tau'."""
    if unit is None:
        return f"{_FAMILY[family]}({scale:.3g}) prior on tau"
    return f"{_FAMILY[family]}({scale * unit:.3g} = {scale:.3g} x UISD {unit:.3g}) prior on tau"


def resolve_priors(bayes_settings: Mapping, measure: str, vi: Sequence[float],
                   n: Sequence[float]) -> tuple[list[Prior], str]:
    """The main prior and the sensitivity set for an analysis of ``measure``.

    Returns the priors (main first) and a note; no priors (and the reason in the note) when
    the measure has no configured prior or a ``uisd`` scale cannot be computed because a
    pooled study lacks its sample size.
    """
    spec = (bayes_settings.get("priors") or {}).get(str(measure).upper())
    if spec is None:
        return [], f"no Bayesian prior is configured for measure {measure}"
    unit, shown = 1.0, None
    if spec["scale_unit"] == "uisd":  # defaults filled by the config schema
        unit = shown = uisd(vi, n)
        if not math.isfinite(unit):
            return [], ("Bayesian analysis not run: the prior is scaled by the unit "
                        "information SD, which needs every pooled trial's sample size")
    mu_sd = spec["mu_prior_sd"]
    mu_prior = None if mu_sd is None else (0.0, float(mu_sd) * unit)
    base = float(spec["tau_scale"])
    priors = [Prior(MAIN_PRIOR, spec["tau_prior"], base * unit, mu_prior,
                    _label(spec["tau_prior"], base, shown))]
    for alt in bayes_settings.get("sensitivity", []):
        family = alt.get("tau_prior", spec["tau_prior"])
        scale = base * float(alt["scale_factor"])
        priors.append(Prior(alt["id"], family, scale * unit, mu_prior,
                            _label(family, scale, shown)))
    return priors, ""


@dataclass
class AnalysisPosterior:
    """The Bayesian fits of one analysis: one :class:`meta.BayesResult` per prior."""

    analysis_id: str
    priors: list[Prior] = field(default_factory=list)
    results: list = field(default_factory=list)  # meta.BayesResult, same order as priors
    note: str = ""

    @property
    def main(self):
        return self.results[0] if self.results else None


def fit_analysis(analysis_id: str, yi, vi, n, measure: str, bayes_settings: Mapping,
                 level: float = 0.95, study=None) -> AnalysisPosterior:
    """Fit every prior of :func:`resolve_priors` to one analysis (none when k = 0)."""
    out = AnalysisPosterior(analysis_id)
    if len(yi) == 0:
        return out
    priors, note = resolve_priors(bayes_settings, measure, vi, n)
    out.note = note
    for prior in priors:
        if prior.mu_prior is None and len(yi) == 1:
            out.note = ("Bayesian analysis not run: one trial needs a proper prior on mu "
                        "(analysis.bayes.priors.*.mu_prior_sd)")
            return AnalysisPosterior(analysis_id, note=out.note)
        out.priors.append(prior)
        out.results.append(meta.bayes(yi, vi, prior.tau_prior, prior.tau_scale,
                                      prior.mu_prior, level=level, study=study))
    return out


def pooled_columns(post: AnalysisPosterior) -> dict:
    """The :data:`POOLED_COLUMNS` of one analysis (analysis scale; NaN when not fitted)."""
    res = post.main
    row = {name: math.nan for name in POOLED_COLUMNS}
    row["bayes_prior"] = post.priors[0].label if res is not None else ""
    row["bayes_note"] = post.note
    if res is None:
        return row
    row.update(bayes_estimate=res.mu_median, bayes_mean=res.mu_mean, bayes_sd=res.mu_sd,
               bayes_ci_low=res.mu_ci_low, bayes_ci_high=res.mu_ci_high,
               bayes_pi_low=res.pred_ci_low, bayes_pi_high=res.pred_ci_high,
               bayes_tau_median=res.tau_median, bayes_tau_ci_low=res.tau_ci_low,
               bayes_tau_ci_high=res.tau_ci_high)
    return row


def sensitivity_rows(post: AnalysisPosterior) -> list[dict]:
    """Rows of results/sensitivity.csv (``kind = bayes_prior``), one per prior.

    ``estimate`` is the posterior median of mu, ``ci_low``/``ci_high`` its central credible
    interval, ``tau2`` the square of tau's posterior median; the prediction interval and
    the prior's parameters follow in their own columns.
    """
    rows = []
    for prior, res in zip(post.priors, post.results, strict=True):
        rows.append({"analysis_id": post.analysis_id, "kind": "bayes_prior",
                     "label": prior.label, "k": res.k, "estimate": res.mu_median,
                     "ci_low": res.mu_ci_low, "ci_high": res.mu_ci_high,
                     "tau2": res.tau_median ** 2, "i2": math.nan,
                     "pi_low": res.pred_ci_low, "pi_high": res.pred_ci_high,
                     "prior_id": prior.prior_id, "tau_prior": prior.tau_prior,
                     "tau_scale": prior.tau_scale,
                     "mu_prior_sd": math.nan if prior.mu_prior is None else prior.mu_prior[1]})
    return rows


def mixture_table(posteriors: Sequence[AnalysisPosterior]) -> pd.DataFrame:
    """Every posterior of mu as its mixture nodes (results/bayes_posterior.csv)."""
    frames = []
    for post in posteriors:
        for prior, res in zip(post.priors, post.results, strict=True):
            frame = res.posterior.to_frame()
            frame.insert(0, "prior_label", prior.label)
            frame.insert(0, "prior_id", prior.prior_id)
            frame.insert(0, "analysis_id", post.analysis_id)
            frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=list(MIXTURE_COLUMNS))
    return pd.concat(frames, ignore_index=True)[list(MIXTURE_COLUMNS)]


def read_mixtures(table: pd.DataFrame | None) -> dict[tuple[str, str], tuple]:
    """``{(analysis_id, prior_id): (PosteriorMixture, prior_label)}`` from :func:`mixture_table`.

    Raises
    ------
    ValueError
        Naming the analysis and prior whose nodes are malformed.
    """
    out: dict[tuple[str, str], tuple] = {}
    if table is None or table.empty:
        return out
    missing = [c for c in MIXTURE_COLUMNS if c not in table]
    if missing:
        raise ValueError(f"bayes_posterior table lacks column(s) {', '.join(missing)}")
    for (analysis_id, prior_id), rows in table.groupby(["analysis_id", "prior_id"], sort=False):
        try:
            mixture = meta.PosteriorMixture.from_frame(rows)
        except ValueError as err:
            raise ValueError(f"bayes_posterior: analysis {analysis_id}, prior {prior_id}: "
                             f"{err}") from None
        out[(str(analysis_id), str(prior_id))] = (mixture, str(rows["prior_label"].iloc[0]))
    return out


def _num(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _probabilities(mixture, metric: str, claimed: tuple[float, float],
                   threshold: float) -> dict:
    lo, hi = range_to_analysis(metric, *claimed)
    out = {"p_claim": mixture.prob_mu(lo, hi), "p_claim_pred": mixture.prob_pred(lo, hi)}
    out["p_meaningful"] = out["p_meaningful_pred"] = math.nan
    if math.isfinite(threshold):
        # beyond the threshold, on the side away from no effect (the direction of benefit)
        null = METRIC_NULLS[metric]
        beyond = (threshold, math.inf) if threshold > null else (-math.inf, threshold)
        a, b = range_to_analysis(metric, *beyond)
        out["p_meaningful"] = mixture.prob_mu(a, b)
        out["p_meaningful_pred"] = mixture.prob_pred(a, b)
    return out


def claim_probabilities(claims: pd.DataFrame, mixtures: Mapping,
                        pooled: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per claim: :data:`CLAIM_COLUMNS` (main prior) and the long table per prior.

    ``claims`` is the claims table (``claim_id``, ``analysis_used``, ``metric``,
    ``claimed_low``, ``claimed_high``, optional ``meaningful_threshold`` on the metric
    scale); ``mixtures`` comes from :func:`read_mixtures`; ``pooled`` (optional) gives the
    Bayesian estimate and intervals that are shown on the claim's metric.
    """
    by_id = pooled.set_index("analysis_id") if pooled is not None and len(pooled) else None
    wide, long = [], []
    for _, claim in claims.iterrows():
        analysis_id, metric = str(claim["analysis_used"]), str(claim["metric"])
        claimed = (_num(claim["claimed_low"]), _num(claim["claimed_high"]))
        threshold = _num(claim.get("meaningful_threshold"))
        row = {name: math.nan for name in CLAIM_COLUMNS}
        row["bayes_prior"] = ""
        for (aid, prior_id), (mixture, label) in mixtures.items():
            if aid != analysis_id:
                continue
            probs = _probabilities(mixture, metric, claimed, threshold)
            long.append({"claim_id": claim["claim_id"], "analysis_id": aid,
                         "prior_id": prior_id, "prior_label": label, **probs})
            if prior_id == MAIN_PRIOR:
                row.update(probs, bayes_prior=label)
        if by_id is not None and analysis_id in by_id.index and row["bayes_prior"]:
            stats = by_id.loc[analysis_id]
            row["bayes_estimate"] = to_metric(metric, _num(stats.get("bayes_estimate")))
            row["bayes_ci_low"], row["bayes_ci_high"] = interval_to_metric(
                metric, _num(stats.get("bayes_ci_low")), _num(stats.get("bayes_ci_high")))
            row["bayes_pi_low"], row["bayes_pi_high"] = interval_to_metric(
                metric, _num(stats.get("bayes_pi_low")), _num(stats.get("bayes_pi_high")))
        wide.append(row)
    return (pd.DataFrame(wide, columns=list(CLAIM_COLUMNS), index=claims.index),
            pd.DataFrame(long, columns=list(PROBABILITY_COLUMNS)))


def percent(p: float) -> str:
    """A probability in words-friendly percent: '3%', '<1%', '>99%', 'not estimable'."""
    if p is None or not math.isfinite(p):
        return "not estimable"
    if p < 0.01:
        return "<1%"
    if p > 0.99:
        return ">99%"
    return f"{100 * p:.0f}%"
