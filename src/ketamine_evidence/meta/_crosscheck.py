r"""An independent second computation of every pooled analysis with statsmodels.

statsmodels' :func:`statsmodels.stats.meta_analysis.combine_effects` pools effect sizes
with the DerSimonian-Laird (``method_re="dl"``) and the iterated Paule-Mandel
(``method_re="pm"``) estimators of tau^2, and reports the Wald (normal) confidence interval
and the Hartung-Knapp-Sidik-Jonkman interval (its "wls" scale, t with k - 1 df). It is
written independently of this package's engine (:func:`ketamine_evidence.meta.rma`), so
agreement between the two on the same rows is evidence that neither has a coding error in
the parts they share. :func:`statsmodels_crosscheck` computes both and the largest relative
difference; the analysis step fails when it exceeds ``rtol`` (1e-8).

Two documented differences are bridged, not hidden:

* statsmodels does not truncate DL's :math:`\hat\tau^2 = (Q - (k-1))/c` at zero. A negative
  value is kept as ``statsmodels_tau2_unfloored``; the comparison then uses statsmodels'
  common-effect results, which are the random-effects results at :math:`\tau^2 = 0`
  (what metafor and the engine report).
* statsmodels' Paule-Mandel (``_fit_tau_iterative``) takes Newton steps from
  :math:`\tau^2 = 0` until :math:`|Q(\tau^2) - (k-1)| < \text{atol}` (default 1e-5, at most
  50 iterations) and returns :math:`\tau^2 = 0` whenever a step lands where
  :math:`Q(\tau^2) < k-1`, which near the root happens when a step overshoots it. At its
  default tolerance the estimate can differ from the exact root by ~1e-3 (relative); at a
  tight tolerance many data sets hit the overshoot and get 0. So it is called with the
  tightest of ``atol = 1e-13, 1e-12, ..., 1e-5`` that does not end in that reset (a reset is
  recognisable: 0 although :math:`Q(0) > k-1`), ``maxiter = 1000``; the row records the
  ``atol`` used. The tolerance of the comparison is 1e-8 or, if larger, ten times the
  relative tau^2 error that statsmodels' own residual implies
  (:math:`|Q(\hat\tau^2) - (k-1)| / \sum w_i^2 (y_i - \hat\mu)^2`, Newton's error estimate);
  with the review's data this is 1e-8.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ketamine_evidence import KetamineEvidenceError

from ._core import rma
from ._validate import MetaAnalysisWarning, check_level, check_study_data

#: Largest relative difference accepted between the engine and statsmodels.
CROSSCHECK_RTOL = 1e-8
#: statsmodels' Paule-Mandel tolerances on the estimating equation, tightest first, and its
#: iteration cap.
PM_ATOLS = (1e-13, 1e-12, 1e-11, 1e-10, 1e-9, 1e-8, 1e-7, 1e-6, 1e-5)
PM_MAXITER = 1000

#: Quantities compared, in the order of the table's columns.
QUANTITIES = ("estimate", "se", "ci_low", "ci_high", "tau2", "knha_ci_low", "knha_ci_high")


class CrossCheckError(KetamineEvidenceError, RuntimeError):
    """The engine and statsmodels disagree beyond the tolerance on an analysis."""


@dataclass(frozen=True)
class CrossCheck:
    """The engine's and statsmodels' results for one estimator on the same rows.

    ``engine_*`` come from :func:`ketamine_evidence.meta.rma` (``test="z"`` for
    ``estimate, se, ci_*`` and ``test="knha"`` for ``knha_ci_*``), ``statsmodels_*`` from
    ``combine_effects``. ``max_rel_diff`` is the largest of the relative differences of
    :data:`QUANTITIES` (see :func:`relative_difference`), ``largest_in`` names it;
    ``tolerance`` is the largest accepted (``rtol``, or more for PM, see the module notes)
    and ``statsmodels_atol`` the PM tolerance statsmodels was run with (NaN for DL).
    """

    method: str
    k: int
    level: float
    engine_estimate: float
    statsmodels_estimate: float
    engine_se: float
    statsmodels_se: float
    engine_ci_low: float
    statsmodels_ci_low: float
    engine_ci_high: float
    statsmodels_ci_high: float
    engine_tau2: float
    statsmodels_tau2: float
    statsmodels_tau2_unfloored: float
    engine_knha_ci_low: float
    statsmodels_knha_ci_low: float
    engine_knha_ci_high: float
    statsmodels_knha_ci_high: float
    statsmodels_atol: float
    max_rel_diff: float
    largest_in: str
    tolerance: float

    @property
    def agrees(self) -> bool:
        return self.max_rel_diff <= self.tolerance

    def to_dict(self) -> dict:
        return asdict(self)


def relative_difference(a: float, b: float, scale: float) -> float:
    r"""Relative difference :math:`|a - b| / \max(|a|, |b|, \text{scale})`.

    ``scale`` is the quantity's natural unit, so that values at or near zero (an estimate
    of 0, a tau^2 of 0) are compared on that unit instead of on themselves: the pooled SE for
    the estimate and CI bounds, the typical within-study variance :math:`s^2` for tau^2.
    Two NaNs count as equal; one NaN is an infinite difference.
    """
    if math.isnan(a) and math.isnan(b):
        return 0.0
    if math.isnan(a) or math.isnan(b):
        return math.inf
    denominator = max(abs(a), abs(b), scale)
    return 0.0 if denominator == 0 else abs(a - b) / denominator


def _statsmodels_pm(y: np.ndarray, v: np.ndarray, alpha: float) -> tuple[Any, float]:
    """statsmodels' PM fit at the tightest tolerance that does not end in its reset to 0."""
    from statsmodels.stats.meta_analysis import combine_effects

    w = 1.0 / v
    q0 = float(np.sum(w * (y - np.sum(w * y) / np.sum(w)) ** 2))
    for atol in PM_ATOLS:
        fit = combine_effects(y, v, method_re="pm", use_t=False, alpha=alpha, atol=atol,
                              maxiter=PM_MAXITER)
        if not (fit.tau2 == 0 and q0 > len(y) - 1):
            break
    return fit, atol


def statsmodels_crosscheck(yi: npt.ArrayLike, vi: npt.ArrayLike, *, level: float = 0.95,
                           methods: tuple[str, ...] = ("DL", "PM"),
                           rtol: float = CROSSCHECK_RTOL) -> list[CrossCheck]:
    """Pool ``yi, vi`` with the engine and with statsmodels' ``combine_effects``.

    Parameters
    ----------
    yi, vi : array_like
        Effect sizes and sampling variances (k >= 2; with one study nothing is pooled).
    level : float
        Confidence level of the intervals.
    methods : tuple of {"DL", "PM"}
        tau^2 estimators to compare (the two that statsmodels offers).
    rtol : float
        Largest accepted relative difference (see :func:`relative_difference`).

    Returns
    -------
    list of CrossCheck
        One per estimator; :attr:`CrossCheck.agrees` says whether it is within tolerance.

    References
    ----------
    statsmodels ``stats/meta_analysis.py`` (``combine_effects``, ``_fit_tau_iterative``;
    DerSimonian & Kacker 2007, Appendix 8).
    """
    from statsmodels.stats.meta_analysis import combine_effects

    y, v, _ = check_study_data(yi, vi, None)
    level = check_level(level)
    k = len(y)
    if k < 2:
        raise ValueError("the statsmodels cross-check needs at least two studies")
    alpha = 1.0 - level
    checks = []
    for method in methods:
        if method not in ("DL", "PM"):
            raise ValueError(f"statsmodels offers DL and PM only, not {method!r}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MetaAnalysisWarning)
            # statsmodels takes square roots of negative variances when DL's tau^2 < 0.
            warnings.simplefilter("ignore", RuntimeWarning)
            z_fit = rma(y, v, method=method, test="z", level=level)
            knha_fit = rma(y, v, method=method, test="knha", level=level)
            if method == "DL":
                sm = combine_effects(y, v, method_re="dl", use_t=False, alpha=alpha)
                atol = math.nan
            else:
                sm, atol = _statsmodels_pm(y, v, alpha)
            ci_fe, ci_re, _, _ = sm.conf_int(alpha=alpha, use_t=False)
            # HKSJ: statsmodels' WLS scale with t(k - 1); at tau^2 = 0 the weights are 1/v.
            _, _, knha_fe, knha_re = sm.conf_int(alpha=alpha, use_t=True)
        unfloored = float(sm.tau2)
        floored = unfloored < 0
        values = {
            "estimate": (z_fit.estimate, sm.mean_effect_fe if floored else sm.mean_effect_re),
            "se": (z_fit.se, sm.sd_eff_w_fe if floored else sm.sd_eff_w_re),
            "ci_low": (z_fit.ci_low, (ci_fe if floored else ci_re)[0]),
            "ci_high": (z_fit.ci_high, (ci_fe if floored else ci_re)[1]),
            "tau2": (z_fit.tau2, max(unfloored, 0.0)),
            "knha_ci_low": (knha_fit.ci_low, (knha_fe if floored else knha_re)[0]),
            "knha_ci_high": (knha_fit.ci_high, (knha_fe if floored else knha_re)[1]),
        }
        values = {name: (float(a), float(b)) for name, (a, b) in values.items()}
        scales = {"se": 0.0, "tau2": float(z_fit.s2)}
        diffs = {name: relative_difference(a, b, scales.get(name, float(z_fit.se)))
                 for name, (a, b) in values.items()}
        largest = max(diffs, key=lambda name: diffs[name])
        tolerance = rtol
        if method == "PM" and not floored and sm.tau2 > 0:
            resid = y - sm.mean_effect_re
            residual = float(np.sum(sm.weights_re * resid**2)) - (k - 1)
            slope = float(np.sum(sm.weights_re**2 * resid**2))
            implied = abs(residual) / slope / max(float(sm.tau2), float(z_fit.s2))
            tolerance = max(rtol, 10.0 * implied)
        checks.append(CrossCheck(
            method=method, k=k, level=level,
            **{f"{side}_{name}": pair[i] for name, pair in values.items()
               for i, side in enumerate(("engine", "statsmodels"))},
            statsmodels_tau2_unfloored=unfloored, statsmodels_atol=atol,
            max_rel_diff=diffs[largest], largest_in=largest, tolerance=tolerance,
        ))
    return checks
