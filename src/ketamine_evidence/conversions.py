"""Conversions that recover the statistics needed by :func:`ketamine_evidence.effects.escalc`.

Trial reports often give an SE, a CI, a median and IQR, a change score or a
paired analysis instead of arm-level means and SDs.  Each function here
implements one documented conversion (pure; no IO) and returns a
:class:`~typing.NamedTuple` whose last field, ``description``, is a short
human-readable record of the formula and inputs actually used, e.g.::

    >>> sd_from_se(2.0, 25).description
    'SD from SE: SD = SE*sqrt(n) = 2*sqrt(25) = 10 (Cochrane Handbook 6.5.2.2)'

so that the extraction code can store it next to the number in the effects
table.  All functions take scalars (one study at a time) and raise
:class:`ValueError` with the offending argument named on invalid input.
There are no hidden defaults for assumptions a reviewer must own (the
within-person correlation ``r`` is always an explicit argument).

References (full citations are in each docstring):
Cochrane Handbook for Systematic Reviews of Interventions v6.4 (2023),
sections 6.5.2.2, 6.5.2.3, 6.5.2.5, 6.5.2.8, 23.2.7 and 23.3.4;
Wan et al. (2014); Luo et al. (2018); Shi et al. (2020); Elbourne et al. (2002).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from scipy import stats

__all__ = [
    "Conversion",
    "EffectEstimate",
    "MeanSD",
    "SplitArm",
    "correlation_from_change",
    "crossover_from_paired_t",
    "crossover_paired",
    "mean_sd_from_quantiles",
    "sd_change",
    "sd_from_ci",
    "sd_from_ci_difference",
    "sd_from_p_difference",
    "sd_from_se",
    "sd_from_se_difference",
    "sd_from_t_difference",
    "split_shared_control",
]


class Conversion(NamedTuple):
    """A single converted number and how it was obtained."""

    value: float
    description: str


class MeanSD(NamedTuple):
    """An estimated mean and SD (e.g. from a median and range/IQR)."""

    mean: float
    sd: float
    description: str


class EffectEstimate(NamedTuple):
    """An effect size ``yi`` with sampling variance ``vi`` (as in ``escalc``)."""

    yi: float
    vi: float
    description: str


class SplitArm(NamedTuple):
    """A shared arm divided between comparisons (one entry per comparison)."""

    n: tuple[float, ...]
    events: tuple[float, ...] | None
    description: str


# --------------------------------------------------------------------------- validation


def _num(name: str, x: Any) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: not a number ({x!r})") from None
    if not math.isfinite(v):
        raise ValueError(f"{name}: missing or non-finite value ({x!r})")
    return v


def _pos(name: str, x: float, *, strict: bool = True) -> float:
    v = _num(name, x)
    if v < 0 or (strict and v == 0):
        raise ValueError(f"{name}: must be {'>' if strict else '>='} 0 (got {v:g})")
    return v


def _n(name: str, x: float, minimum: float = 2) -> float:
    v = _num(name, x)
    if v < minimum:
        raise ValueError(f"{name}: sample size must be >= {minimum:g} (got {v:g})")
    return v


def _r(x: float) -> float:
    v = _num("r", x)
    if not -1 <= v <= 1:
        raise ValueError(f"r: correlation must lie in [-1, 1] (got {v:g})")
    return v


def _level(level: float) -> float:
    v = _num("level", level)
    if not 0 < v < 1:
        raise ValueError(f"level: must be in (0, 1) (got {v:g})")
    return v


def _quantile(level: float, dist: str, df: float) -> tuple[float, str]:
    q = 1 - (1 - _level(level)) / 2
    if dist == "t":
        return float(stats.t.ppf(q, df)), f"t_{q:g},{df:g}"
    if dist == "normal":
        return float(stats.norm.ppf(q)), f"z_{q:g}"
    raise ValueError(f"dist: use 't' or 'normal' (got {dist!r})")


def _g(x: float) -> str:
    return f"{x:.6g}"


def _check_limits(lower: float, upper: float) -> None:
    if lower >= upper:
        raise ValueError(f"lower: must be below upper ({lower:g} >= {upper:g})")


def _sd_from_se_of_difference(se: float, n1: float, n2: float) -> float:
    """Common within-group SD behind the SE of a difference of two independent means."""
    return se / math.sqrt(1 / n1 + 1 / n2)


# --------------------------------------------------------------------------- SDs


def sd_from_se(se: float, n: float) -> Conversion:
    """SD of a single group's mean from its standard error.

    ``SD = SE·√n``.  Only for the SE of a *single group mean* (not of a
    difference: use :func:`sd_from_se_difference`).

    Parameters
    ----------
    se : float
        Standard error of the group mean (outcome units), > 0.
    n : float
        Number of participants contributing to that mean, >= 2.

    Returns
    -------
    Conversion
        ``value`` = SD in outcome units.

    References
    ----------
    Cochrane Handbook v6.4, section 6.5.2.2.
    """
    se, n = _pos("se", se), _n("n", n)
    sd = se * math.sqrt(n)
    return Conversion(
        sd,
        f"SD from SE: SD = SE*sqrt(n) = {_g(se)}*sqrt({_g(n)}) = {_g(sd)} (Cochrane Handbook 6.5.2.2)",
    )


def sd_from_ci(
    lower: float, upper: float, n: float, *, level: float = 0.95, dist: str = "t"
) -> Conversion:
    """SD of a single group from a confidence interval for its mean.

    ``SD = √n·(upper - lower)/(2·q)``, ``q = t_{1-α/2, n-1}`` (``dist="t"``,
    default; for a 95% CI and n = 25, q = 2.0639) or ``q = z_{1-α/2}``
    (``dist="normal"``, 1.95996 for 95%).  Cochrane: the normal divisor 3.92
    is appropriate only for large samples (say n > 100 per group); for
    smaller samples CIs "should have been calculated using a value from a t
    distribution".  Assumes the CI is symmetric about the mean.

    Parameters
    ----------
    lower, upper : float
        CI limits for the group mean (outcome units).
    n : float
        Group size (>= 2).
    level : float, default 0.95
    dist : {"t", "normal"}, default "t"

    Returns
    -------
    Conversion
        ``value`` = SD in outcome units.

    References
    ----------
    Cochrane Handbook v6.4, section 6.5.2.2.
    """
    lower, upper, n = _num("lower", lower), _num("upper", upper), _n("n", n)
    _check_limits(lower, upper)
    q, qname = _quantile(level, dist, n - 1)
    sd = math.sqrt(n) * (upper - lower) / (2 * q)
    return Conversion(
        sd,
        f"SD from {level:.0%} CI of a mean: SD = sqrt(n)*(upper-lower)/(2*{qname}) = "
        f"sqrt({_g(n)})*({_g(upper)}-{_g(lower)})/(2*{q:.6g}) = {_g(sd)} (Cochrane Handbook 6.5.2.2)",
    )


def sd_from_se_difference(se: float, n1: float, n2: float) -> Conversion:
    """Common within-group SD from the SE of a difference between two independent means.

    ``SD = SE / √(1/n1 + 1/n2)``.  Assumes the same SD in both groups (the
    result is used as ``sd1i`` and ``sd2i``).

    References
    ----------
    Cochrane Handbook v6.4, section 6.5.2.3.
    """
    se, n1, n2 = _pos("se", se), _n("n1", n1), _n("n2", n2)
    sd = _sd_from_se_of_difference(se, n1, n2)
    return Conversion(
        sd,
        f"SD (both groups) from SE of mean difference: SD = SE/sqrt(1/n1+1/n2) = "
        f"{_g(se)}/sqrt(1/{_g(n1)}+1/{_g(n2)}) = {_g(sd)} (Cochrane Handbook 6.5.2.3)",
    )


def sd_from_ci_difference(
    lower: float, upper: float, n1: float, n2: float, *, level: float = 0.95, dist: str = "t"
) -> Conversion:
    """Common within-group SD from a CI for a difference between two independent means.

    ``SE = (upper - lower)/(2·q)`` with ``q = t_{1-α/2, n1+n2-2}`` (default)
    or ``z_{1-α/2}``; then ``SD = SE / √(1/n1 + 1/n2)``.  Assumes equal SDs.

    References
    ----------
    Cochrane Handbook v6.4, section 6.5.2.3.
    """
    lower, upper = _num("lower", lower), _num("upper", upper)
    n1, n2 = _n("n1", n1), _n("n2", n2)
    _check_limits(lower, upper)
    q, qname = _quantile(level, dist, n1 + n2 - 2)
    se = (upper - lower) / (2 * q)
    sd = _sd_from_se_of_difference(se, n1, n2)
    return Conversion(
        sd,
        f"SD (both groups) from {level:.0%} CI of mean difference: SE = (upper-lower)/(2*{qname}) = "
        f"({_g(upper)}-{_g(lower)})/(2*{q:.6g}) = {_g(se)}; SD = SE/sqrt(1/n1+1/n2) = {_g(sd)} "
        "(Cochrane Handbook 6.5.2.3)",
    )


def sd_from_t_difference(mean_difference: float, t: float, n1: float, n2: float) -> Conversion:
    """Common within-group SD from an independent-samples t statistic and the mean difference.

    ``SE = |MD / t|``, ``SD = SE / √(1/n1 + 1/n2)``.

    References
    ----------
    Cochrane Handbook v6.4, section 6.5.2.3.
    """
    md, t = _num("mean_difference", mean_difference), _num("t", t)
    n1, n2 = _n("n1", n1), _n("n2", n2)
    if t == 0 or md == 0:
        raise ValueError("t: t and the mean difference must be non-zero to recover an SE")
    se = abs(md / t)
    sd = _sd_from_se_of_difference(se, n1, n2)
    return Conversion(
        sd,
        f"SD (both groups) from t: SE = |MD/t| = |{_g(md)}/{_g(t)}| = {_g(se)}; "
        f"SD = SE/sqrt(1/n1+1/n2) = {_g(sd)} (Cochrane Handbook 6.5.2.3)",
    )


def sd_from_p_difference(
    mean_difference: float, p: float, n1: float, n2: float, *, two_sided: bool = True
) -> Conversion:
    """Common within-group SD from the exact p value of a two-sample t test.

    ``t = t_{1-p/2, n1+n2-2}`` (two-sided), then as :func:`sd_from_t_difference`.
    Use only exact p values ("p < 0.05" cannot be converted).

    References
    ----------
    Cochrane Handbook v6.4, section 6.5.2.3.
    """
    p = _num("p", p)
    if not 0 < p < 1:
        raise ValueError(f"p: must be strictly between 0 and 1 (got {p:g})")
    n1, n2 = _n("n1", n1), _n("n2", n2)
    t = float(stats.t.isf(p / 2 if two_sided else p, n1 + n2 - 2))
    res = sd_from_t_difference(mean_difference, t, n1, n2)
    sided = "two-sided" if two_sided else "one-sided"
    return Conversion(
        res.value,
        f"t from {sided} p = {_g(p)} with df = n1+n2-2 = {_g(n1 + n2 - 2)}: t = {t:.6g}; "
        + res.description,
    )


# --------------------------------------------------------------------------- change scores


def sd_change(sd_baseline: float, sd_final: float, r: float) -> Conversion:
    """SD of change from baseline, imputed from baseline and final SDs and a correlation.

    ``SD_change = √(SD_b² + SD_f² - 2·r·SD_b·SD_f)``.  ``r`` is the
    baseline-final correlation; it must be supplied explicitly (e.g. imputed
    from another trial with :func:`correlation_from_change`) and should be
    varied in a sensitivity analysis.

    References
    ----------
    Cochrane Handbook v6.4, section 6.5.2.8 (imputing a change-from-baseline SD
    using a correlation coefficient).
    """
    b, f, r = _pos("sd_baseline", sd_baseline, strict=False), _pos("sd_final", sd_final, strict=False), _r(r)
    var = b**2 + f**2 - 2 * r * b * f
    sd = math.sqrt(max(var, 0.0))
    return Conversion(
        sd,
        f"SD of change: sqrt(SDb^2 + SDf^2 - 2*r*SDb*SDf) = sqrt({_g(b)}^2 + {_g(f)}^2 - "
        f"2*{_g(r)}*{_g(b)}*{_g(f)}) = {_g(sd)} with assumed r = {_g(r)} (Cochrane Handbook 6.5.2.8)",
    )


def correlation_from_change(sd_baseline: float, sd_final: float, sd_change: float) -> Conversion:
    """Baseline-final correlation implied by reported baseline, final and change SDs.

    ``r = (SD_b² + SD_f² - SD_change²) / (2·SD_b·SD_f)`` (the inverse of
    :func:`sd_change`).  Raises if the implied value falls outside [-1, 1],
    which means the three SDs are inconsistent (different samples, SEs
    reported as SDs, ...).  The same formula gives the within-person
    correlation of a crossover trial from the two period SDs and the SD of
    the paired differences (Cochrane Handbook 23.2.7.2).

    References
    ----------
    Cochrane Handbook v6.4, section 6.5.2.8 (calculating a correlation
    coefficient from a study reported in considerable detail).
    """
    b, f = _pos("sd_baseline", sd_baseline), _pos("sd_final", sd_final)
    c = _pos("sd_change", sd_change, strict=False)
    r = (b**2 + f**2 - c**2) / (2 * b * f)
    if not -1 - 1e-12 <= r <= 1 + 1e-12:
        raise ValueError(
            f"sd_change: implied correlation {r:.4g} is outside [-1, 1]; the SDs "
            f"({_g(b)}, {_g(f)}, {_g(c)}) are inconsistent"
        )
    r = min(max(r, -1.0), 1.0)
    return Conversion(
        r,
        f"correlation from SDs: r = (SDb^2 + SDf^2 - SDchange^2)/(2*SDb*SDf) = "
        f"({_g(b)}^2 + {_g(f)}^2 - {_g(c)}^2)/(2*{_g(b)}*{_g(f)}) = {r:.6g} (Cochrane Handbook 6.5.2.8)",
    )


# --------------------------------------------------------------------------- median / IQR / range


def _phi_inv(p: float) -> float:
    return float(stats.norm.ppf(p))


def mean_sd_from_quantiles(
    n: float,
    *,
    median: float,
    minimum: float | None = None,
    maximum: float | None = None,
    q1: float | None = None,
    q3: float | None = None,
    mean_method: str = "luo2018",
    sd_method: str = "wan2014",
) -> MeanSD:
    """Estimate a sample mean and SD from the median with the range and/or IQR.

    The scenario is chosen from the arguments given (Wan et al. 2014 naming):

    * **S1** ``minimum, median, maximum`` (a, m, b)
    * **S2** ``minimum, q1, median, q3, maximum``
    * **S3** ``q1, median, q3``

    Mean estimators (``mean_method``):

    * ``"luo2018"`` (default; Luo et al. 2018, eqs. for the three scenarios)

      - S1: ``w·(a+b)/2 + (1-w)·m``, ``w = 4/(4 + n^0.75)``
      - S2: ``w1·(a+b)/2 + w2·(q1+q3)/2 + (1-w1-w2)·m``,
        ``w1 = 2.2/(2.2 + n^0.75)``, ``w2 = 0.7 - 0.72/n^0.55``
      - S3: ``w·(q1+q3)/2 + (1-w)·m``, ``w = 0.7 + 0.39/n``

    * ``"wan2014"`` (Wan et al. 2014)

      - S1: ``(a + 2m + b)/4 + (a - 2m + b)/(4n)`` (Hozo et al. 2005; Wan eq. 2)
      - S2: ``(a + 2q1 + 2m + 2q3 + b)/8`` (Wan eq. 10)
      - S3: ``(q1 + m + q3)/3`` (Wan eq. 14)

    SD estimators (``sd_method``), with ``ξ(n) = 2Φ⁻¹((n - 0.375)/(n + 0.25))``
    and ``η(n) = 2Φ⁻¹((0.75n - 0.125)/(n + 0.25))``:

    * ``"wan2014"`` (default): S1 ``(b-a)/ξ(n)`` (Wan eq. 7 and 9, the Blom
      approximation to the expected range; the meta R package instead uses
      Wan's exact Table 1 for n <= 50, which differs slightly for small n);
      S2 ``(b-a)/(2ξ(n)) + (q3-q1)/(2η(n))`` (eq. 13); S3 ``(q3-q1)/η(n)``
      (eq. 16).
    * ``"shi2020"``: S2 only changes, ``(b-a)/θ1 + (q3-q1)/θ2`` with
      ``θ1 = (2 + 0.14n^0.6)·Φ⁻¹((n-0.375)/(n+0.25))`` and
      ``θ2 = (2 + 2/(0.07n^0.6))·Φ⁻¹((0.75n-0.125)/(n+0.25))`` (Shi et al.
      2020, eq. 11); S1 and S3 are as Wan.

    All of these assume approximately normal data; with skewed outcomes the
    mean and SD may be badly estimated (Cochrane Handbook 6.5.2.5 advises
    caution).  For S2 and S3 Wan's formulas treat ``n = 4Q + 1``; any ``n``
    is accepted here.

    Parameters
    ----------
    n : float
        Sample size of the group (>= 2; for S3 η(n) requires n >= 2).
    median : float
    minimum, maximum, q1, q3 : float, optional
        Give exactly the set for one scenario; values must be ordered.
    mean_method : {"luo2018", "wan2014"}
    sd_method : {"wan2014", "shi2020"}

    Returns
    -------
    MeanSD
        ``mean`` and ``sd`` in outcome units, and the ``description``.

    References
    ----------
    Wan X, Wang W, Liu J, Tong T (2014). Estimating the sample mean and standard
    deviation from the sample size, median, range and/or interquartile range.
    *BMC Med Res Methodol* 14:135.
    Luo D, Wan X, Liu J, Tong T (2018). Optimally estimating the sample mean from
    the sample size, median, mid-range, and/or mid-quartile range. *Stat Methods
    Med Res* 27(6):1785-1805.
    Shi J, Luo D, Weng H, et al. (2020). Optimally estimating the sample standard
    deviation from the five-number summary. *Res Synth Methods* 11(5):641-654.
    Hozo SP, Djulbegovic B, Hozo I (2005). *BMC Med Res Methodol* 5:13.
    """
    n = _n("n", n)
    m = _num("median", median)
    given = {k for k, v in {"minimum": minimum, "maximum": maximum, "q1": q1, "q3": q3}.items() if v is not None}
    if given == {"minimum", "maximum"}:
        scenario = "S1"
    elif given == {"minimum", "maximum", "q1", "q3"}:
        scenario = "S2"
    elif given == {"q1", "q3"}:
        scenario = "S3"
    else:
        raise ValueError(
            "minimum/maximum/q1/q3: give (minimum, maximum), (q1, q3) or all four "
            f"with the median (got {sorted(given) or 'none'})"
        )
    if mean_method not in ("luo2018", "wan2014"):
        raise ValueError(f"mean_method: use 'luo2018' or 'wan2014' (got {mean_method!r})")
    if sd_method not in ("wan2014", "shi2020"):
        raise ValueError(f"sd_method: use 'wan2014' or 'shi2020' (got {sd_method!r})")

    order = [("minimum", minimum), ("q1", q1), ("median", m), ("q3", q3), ("maximum", maximum)]
    vals = [(k, _num(k, v)) for k, v in order if v is not None]
    for (k1, v1), (k2, v2) in zip(vals, vals[1:], strict=False):
        if v1 > v2:
            raise ValueError(f"{k2}: must be >= {k1} ({v2:g} < {v1:g})")
    if vals[0][1] == vals[-1][1]:
        raise ValueError(f"{vals[-1][0]}: spread is zero, SD cannot be estimated")

    xi = 2 * _phi_inv((n - 0.375) / (n + 0.25))
    eta = 2 * _phi_inv((0.75 * n - 0.125) / (n + 0.25))
    a = float(minimum) if minimum is not None else math.nan
    b = float(maximum) if maximum is not None else math.nan
    lq = float(q1) if q1 is not None else math.nan
    uq = float(q3) if q3 is not None else math.nan

    if scenario == "S1":
        if mean_method == "luo2018":
            w = 4 / (4 + n**0.75)
            mean = w * (a + b) / 2 + (1 - w) * m
            mtxt = f"mean (Luo 2018 S1) = w*(a+b)/2 + (1-w)*m, w = 4/(4+n^0.75) = {w:.6g}"
        else:
            mean = (a + 2 * m + b) / 4 + (a - 2 * m + b) / (4 * n)
            mtxt = "mean (Wan 2014 eq. 2 / Hozo 2005) = (a+2m+b)/4 + (a-2m+b)/(4n)"
        sd = (b - a) / xi
        stxt = f"SD (Wan 2014 S1) = (b-a)/xi(n), xi(n) = 2*Phi^-1((n-0.375)/(n+0.25)) = {xi:.6g}"
    elif scenario == "S2":
        if mean_method == "luo2018":
            w1 = 2.2 / (2.2 + n**0.75)
            w2 = 0.7 - 0.72 / n**0.55
            mean = w1 * (a + b) / 2 + w2 * (lq + uq) / 2 + (1 - w1 - w2) * m
            mtxt = (
                "mean (Luo 2018 S2) = w1*(a+b)/2 + w2*(q1+q3)/2 + (1-w1-w2)*m, "
                f"w1 = 2.2/(2.2+n^0.75) = {w1:.6g}, w2 = 0.7-0.72/n^0.55 = {w2:.6g}"
            )
        else:
            mean = (a + 2 * lq + 2 * m + 2 * uq + b) / 8
            mtxt = "mean (Wan 2014 eq. 10) = (a+2q1+2m+2q3+b)/8"
        if sd_method == "wan2014":
            sd = (b - a) / (2 * xi) + (uq - lq) / (2 * eta)
            stxt = (
                "SD (Wan 2014 S2) = (b-a)/(2*xi(n)) + (q3-q1)/(2*eta(n)), "
                f"xi(n) = {xi:.6g}, eta(n) = 2*Phi^-1((0.75n-0.125)/(n+0.25)) = {eta:.6g}"
            )
        else:
            th1 = (2 + 0.14 * n**0.6) * xi / 2
            th2 = (2 + 2 / (0.07 * n**0.6)) * eta / 2
            sd = (b - a) / th1 + (uq - lq) / th2
            stxt = (
                "SD (Shi 2020 eq. 11) = (b-a)/theta1 + (q3-q1)/theta2, "
                f"theta1 = {th1:.6g}, theta2 = {th2:.6g}"
            )
    else:
        if mean_method == "luo2018":
            w = 0.7 + 0.39 / n
            mean = w * (lq + uq) / 2 + (1 - w) * m
            mtxt = f"mean (Luo 2018 S3) = w*(q1+q3)/2 + (1-w)*m, w = 0.7+0.39/n = {w:.6g}"
        else:
            mean = (lq + m + uq) / 3
            mtxt = "mean (Wan 2014 eq. 14) = (q1+m+q3)/3"
        sd = (uq - lq) / eta
        stxt = f"SD (Wan 2014 S3) = (q3-q1)/eta(n), eta(n) = 2*Phi^-1((0.75n-0.125)/(n+0.25)) = {eta:.6g}"

    inputs = ", ".join(f"{k}={_g(v)}" for k, v in vals)
    return MeanSD(
        mean,
        sd,
        f"mean/SD from median ({scenario}: {inputs}, n={_g(n)}; assumes normality): "
        f"{mtxt} -> {_g(mean)}; {stxt} -> {_g(sd)}",
    )


# --------------------------------------------------------------------------- crossover trials


def _crossover_smd(md: float, sd_e: float, sd_c: float, n: float, r: float) -> tuple[float, float, float]:
    sd_pooled = math.sqrt((sd_e**2 + sd_c**2) / 2)
    smd = md / sd_pooled
    vi = (1 / n + smd**2 / (2 * n)) * 2 * (1 - r)
    return smd, vi, sd_pooled


def crossover_paired(
    mean_e: float,
    sd_e: float,
    mean_c: float,
    sd_c: float,
    n: float,
    *,
    r: float,
    measure: str = "MD",
) -> EffectEstimate:
    """Paired (within-person) effect of a two-period crossover trial from period summaries.

    Uses the experimental- and control-condition means and SDs of the ``n``
    participants who completed both periods, with an explicitly assumed
    within-person correlation ``r`` (there is deliberately no default:
    taking a parallel-group analysis, r = 0, is conservative; Elbourne 2002
    and Cochrane recommend imputing r from trials that report a paired
    analysis, see :func:`crossover_from_paired_t`).

    ``MD``: ``yi = M_E - M_C``,
    ``vi = SD_diff²/n`` with ``SD_diff = √(SD_E² + SD_C² - 2·r·SD_E·SD_C)``
    (Cochrane 23.2.7.2).

    ``SMD``: ``yi = MD / SD_p``, ``SD_p = √((SD_E² + SD_C²)/2)`` (the
    standardiser is the SD of measurements, not of differences, so the SMD
    is on the same scale as a parallel-group SMD), and
    ``vi = (1/n + SMD²/(2n))·2(1 - r)`` (Cochrane 23.2.7.3).  No
    small-sample correction is applied (this matches the Handbook's
    formula; it differs from Hedges' g used by :func:`escalc`).

    Returns
    -------
    EffectEstimate
        ``yi``, ``vi`` and a description stating the assumed r.

    References
    ----------
    Elbourne DR, Altman DG, Higgins JPT, et al. (2002). Meta-analyses involving
    cross-over trials: methodological issues. *Int J Epidemiol* 31(1):140-149.
    Cochrane Handbook v6.4, sections 23.2.6-23.2.7.
    """
    me, mc = _num("mean_e", mean_e), _num("mean_c", mean_c)
    se_, sc = _pos("sd_e", sd_e), _pos("sd_c", sd_c)
    n, r = _n("n", n), _r(r)
    md = me - mc
    if measure == "MD":
        sd_diff = math.sqrt(max(se_**2 + sc**2 - 2 * r * se_ * sc, 0.0))
        if sd_diff == 0:
            raise ValueError("r: SDs and r imply SD of differences = 0; variance undefined")
        vi = sd_diff**2 / n
        return EffectEstimate(
            md,
            vi,
            f"crossover paired MD (Elbourne 2002; Cochrane 23.2.7.2): MD = ME-MC = {_g(md)}; "
            f"SD_diff = sqrt(SDE^2+SDC^2-2*r*SDE*SDC) = {_g(sd_diff)} with assumed r = {_g(r)}; "
            f"vi = SD_diff^2/n = {_g(vi)} (n = {_g(n)})",
        )
    if measure == "SMD":
        if r == 1:
            raise ValueError("r: r = 1 gives zero variance for the crossover SMD")
        smd, vi, sdp = _crossover_smd(md, se_, sc, n, r)
        return EffectEstimate(
            smd,
            vi,
            f"crossover SMD (Cochrane 23.2.7.3): SMD = MD/sqrt((SDE^2+SDC^2)/2) = {_g(md)}/{_g(sdp)} "
            f"= {_g(smd)}; vi = (1/n + SMD^2/(2n))*2*(1-r) = {_g(vi)} with assumed r = {_g(r)}, "
            f"n = {_g(n)}; no small-sample correction",
        )
    raise ValueError(f"measure: use 'MD' or 'SMD' (got {measure!r})")


def crossover_from_paired_t(
    mean_difference: float,
    n: float,
    *,
    t: float | None = None,
    p: float | None = None,
    measure: str = "MD",
    sd_e: float | None = None,
    sd_c: float | None = None,
) -> EffectEstimate:
    """Crossover effect from a reported paired analysis (paired t statistic or exact p).

    ``SE(MD) = |MD / t|``; if only an exact two-sided ``p`` is reported,
    ``t = t_{1-p/2, n-1}`` (paired t test with n - 1 df).  ``MD``:
    ``yi = MD``, ``vi = SE²``.  When ``sd_e`` and ``sd_c`` (period SDs) are
    given, the implied within-person correlation
    ``r = (SD_E² + SD_C² - n·SE²)/(2·SD_E·SD_C)`` (Cochrane 23.2.7.2) is
    reported in the description (so it can be imputed for other trials), and
    ``measure="SMD"`` becomes available:
    ``SMD = MD/√((SD_E² + SD_C²)/2)``, ``vi = (1/n + SMD²/(2n))·2(1 - r)``.

    Parameters
    ----------
    mean_difference : float
        Within-person mean difference, experimental minus control (sign!).
    n : float
        Number of participants in the paired analysis.
    t, p : float
        Give exactly one: the paired t statistic, or its exact two-sided p.
    measure : {"MD", "SMD"}
    sd_e, sd_c : float, optional
        SDs of the outcome under each condition (required for SMD).

    References
    ----------
    Elbourne et al. (2002), *Int J Epidemiol* 31:140-149; Cochrane Handbook v6.4,
    sections 23.2.7.2-23.2.7.3.
    """
    md, n = _num("mean_difference", mean_difference), _n("n", n)
    if (t is None) == (p is None):
        raise ValueError("t/p: give exactly one of the paired t statistic or its exact p value")
    if t is not None:
        t = _num("t", t)
        src = f"paired t = {_g(t)}"
    else:
        pv = _num("p", p)
        if not 0 < pv < 1:
            raise ValueError(f"p: must be strictly between 0 and 1 (got {pv:g})")
        t = float(stats.t.isf(pv / 2, n - 1))
        src = f"t = t_(1-p/2, n-1) = {t:.6g} from two-sided p = {_g(pv)}"
    if t == 0 or md == 0:
        raise ValueError("t: t and the mean difference must be non-zero to recover an SE")
    se = abs(md / t)
    rtxt = ""
    r = None
    if sd_e is not None or sd_c is not None:
        if sd_e is None or sd_c is None:
            raise ValueError("sd_e/sd_c: give both period SDs or neither")
        sde, sdc = _pos("sd_e", sd_e), _pos("sd_c", sd_c)
        sd_diff = se * math.sqrt(n)
        r = correlation_from_change(sde, sdc, sd_diff).value
        rtxt = f"; implied within-person r = (SDE^2+SDC^2-SD_diff^2)/(2*SDE*SDC) = {r:.6g}"
    if measure == "MD":
        return EffectEstimate(
            md,
            se**2,
            f"crossover paired MD (Cochrane 23.2.7.2): {src}; SE = |MD/t| = {_g(se)}; "
            f"vi = SE^2 = {_g(se**2)}{rtxt}",
        )
    if measure == "SMD":
        if r is None:
            raise ValueError("sd_e/sd_c: the crossover SMD needs both period SDs")
        smd, vi, sdp = _crossover_smd(md, sde, sdc, n, r)
        return EffectEstimate(
            smd,
            vi,
            f"crossover SMD (Cochrane 23.2.7.3): {src}; SE(MD) = {_g(se)}{rtxt}; "
            f"SMD = MD/sqrt((SDE^2+SDC^2)/2) = {_g(smd)}; vi = (1/n + SMD^2/(2n))*2*(1-r) = {_g(vi)}",
        )
    raise ValueError(f"measure: use 'MD' or 'SMD' (got {measure!r})")


# --------------------------------------------------------------------------- multi-arm trials


def split_shared_control(
    n: float, k: int, events: float | None = None, *, integer: bool = True
) -> SplitArm:
    """Divide a shared comparator arm between ``k`` pairwise comparisons.

    In a multi-arm trial (e.g. two doses of a drug vs one placebo arm) using
    the shared arm in full in each comparison counts its participants twice
    and overweights the trial.  Cochrane's approach: split the shared group
    into ``k`` groups of (roughly) equal size, each used in one comparison.
    Means and SDs are unchanged; only ``n`` (and for binary outcomes the
    event count) is divided.

    Rounding (``integer=True``, default): ``n_j = ⌊n/k⌋ + 1`` for the first
    ``n mod k`` comparisons and ``⌊n/k⌋`` for the rest, likewise for the
    events, so totals are preserved exactly and ``events_j <= n_j``.  Give
    comparisons in a fixed, documented order, because remainders go to the
    first ones.  With ``integer=False`` every comparison gets ``n/k`` (and
    ``events/k``), keeping the event risk identical in each part
    (:func:`~ketamine_evidence.effects.escalc` accepts non-integer counts).

    Parameters
    ----------
    n : float
        Size of the shared arm (an integer when ``integer=True``).
    k : int
        Number of comparisons sharing it (>= 2).
    events : float, optional
        Events in the shared arm, for binary outcomes.
    integer : bool, default True

    Returns
    -------
    SplitArm
        ``n`` and ``events`` (tuples of length ``k``, or ``events=None``) and
        a description.

    References
    ----------
    Cochrane Handbook v6.4, section 23.3.4 (multi-arm studies: splitting the
    shared group).
    """
    n = _num("n", n)
    if isinstance(k, bool) or int(k) != k or k < 2:
        raise ValueError(f"k: number of comparisons must be an integer >= 2 (got {k!r})")
    k = int(k)
    ev = None if events is None else _pos("events", events, strict=False)
    if ev is not None and ev > n:
        raise ValueError(f"events: {ev:g} exceeds the arm size {n:g}")
    if integer:
        if n != int(n) or (ev is not None and ev != int(ev)):
            raise ValueError("n/events: must be whole numbers when integer=True")
        if n < k:
            raise ValueError(f"n: cannot split {n:g} participants into {k} non-empty groups")

        def parts(total: int) -> tuple[float, ...]:
            q, rem = divmod(total, k)
            return tuple(float(q + (1 if j < rem else 0)) for j in range(k))

        ns = parts(int(n))
        evs = None if ev is None else parts(int(ev))
        rule = "floor(x/k), remainder added one each to the first comparisons"
    else:
        if n <= 0:
            raise ValueError(f"n: must be > 0 (got {n:g})")
        ns = tuple(n / k for _ in range(k))
        evs = None if ev is None else tuple(ev / k for _ in range(k))
        rule = "x/k, not rounded"
    desc = f"shared arm n = {_g(n)}"
    if ev is not None:
        desc += f", events = {_g(ev)}"
    desc += (
        f" split across {k} comparisons ({rule}): n = ({', '.join(map(_g, ns))})"
        + ("" if evs is None else f", events = ({', '.join(map(_g, evs))})")
        + " (Cochrane Handbook 23.3.4)"
    )
    return SplitArm(ns, evs, desc)
