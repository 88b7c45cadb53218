"""The scales claims are stated on, and their relation to the analysis scale (pure: no IO).

A pooled estimate lives on the *analysis scale* of metafor: a mean difference or Hedges' g
as it is, a ratio measure as its logarithm (``ROM``, ``RR``, ``OR``). A claim is stated on
its *metric* (:data:`ketamine_evidence.types.Metric`):

``smd``, ``md``
    the analysis scale itself;
``percent_reduction``
    ``100 (1 - exp(y))`` for a log ratio of means ``y``: the percent by which the mean score
    with the intervention is lower than with control. Decreasing in ``y``, so an interval's
    bounds swap;
``rr``, ``or``
    ``exp(y)`` for a log risk or odds ratio.

The claims step moves estimates to the metric (:func:`to_metric`,
:func:`interval_to_metric`); the Bayesian claim probabilities move a claimed range back
to the analysis scale (:func:`metric_to_analysis`, :func:`range_to_analysis`).
Stage: statistics core, shared by the analysis and the synthesis stages; it imports only
:mod:`ketamine_evidence.types`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from ketamine_evidence.types import METRICS

__all__ = [
    "METRIC_TRANSFORMS",
    "interval_to_metric",
    "metric_to_analysis",
    "range_to_analysis",
    "to_metric",
]


def _identity(x: float) -> float:
    return x


def _percent_reduction(x: float) -> float:
    return 100.0 * (1.0 - math.exp(x))


#: metric -> (transform from the analysis scale, whether the transform is increasing)
METRIC_TRANSFORMS: dict[str, tuple[Callable[[float], float], bool]] = {
    "smd": (_identity, True),
    "md": (_identity, True),
    "percent_reduction": (_percent_reduction, False),
    "rr": (math.exp, True),
    "or": (math.exp, True),
}


def _unknown(metric: str) -> ValueError:
    return ValueError(f"unknown claim metric {metric!r}; expected one of {sorted(METRICS)}")


def to_metric(metric: str, value: float) -> float:
    """Transform ``value`` from the analysis scale (e.g. a log ratio of means) to ``metric``.

    A missing or non-finite ``value`` gives NaN; an unknown ``metric`` raises ``ValueError``.
    """
    try:
        transform, _ = METRIC_TRANSFORMS[metric]
    except KeyError:
        raise _unknown(metric) from None
    if value is None or not math.isfinite(value):
        return math.nan
    return transform(float(value))


def interval_to_metric(metric: str, low: float, high: float) -> tuple[float, float]:
    """Transform an interval to ``metric``, keeping ``low <= high`` (decreasing maps swap)."""
    a, b = to_metric(metric, low), to_metric(metric, high)
    _, increasing = METRIC_TRANSFORMS[metric]
    return (a, b) if increasing else (b, a)


def metric_to_analysis(metric: str, value: float) -> float:
    """Inverse of :func:`to_metric`; infinite ends map to the analysis scale's limits.

    ``percent_reduction`` p = 100 (1 - exp(y)) gives y = log(1 - p/100) (-inf at p >= 100);
    ``rr``/``or`` r = exp(y) gives y = log(r) (-inf at r <= 0); ``smd``/``md``: identity.
    """
    v = float(value)
    if metric in ("smd", "md"):
        return v
    if metric == "percent_reduction":
        if v == -math.inf:
            return math.inf
        return math.log(1.0 - v / 100.0) if v < 100.0 else -math.inf
    if metric in ("rr", "or"):
        if v == math.inf:
            return math.inf
        return math.log(v) if v > 0.0 else -math.inf
    raise _unknown(metric)


def range_to_analysis(metric: str, low: float, high: float) -> tuple[float, float]:
    """A range on the claim's metric as a range on the analysis scale (ordered)."""
    a, b = metric_to_analysis(metric, low), metric_to_analysis(metric, high)
    return (a, b) if a <= b else (b, a)
