"""Heterogeneity CIs, small-study tests and sensitivity analyses around :func:`rma`."""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import optimize, stats
from statsmodels.regression.linear_model import WLS

from ._core import RMAResult, _norm_method, rma
from ._engine import EPS, Fit, fit_rows, q_of_tau2
from ._regression import RegFit, fit_general
from ._validate import MetaAnalysisWarning, check_level, check_study_data, check_test

_FRAME_COLS = (
    "estimate",
    "se",
    "statistic",
    "pvalue",
    "ci_low",
    "ci_high",
    "q",
    "q_pvalue",
    "tau2",
    "i2",
    "h2",
)


# --------------------------------------------------------------------------- Q-profile CI
@dataclass(frozen=True)
class Tau2CI:
    """Q-profile confidence interval for tau^2 and the implied tau, I^2 and H^2 bounds."""

    level: float
    tau2: float
    tau2_low: float
    tau2_high: float
    tau: float
    tau_low: float
    tau_high: float
    i2: float
    i2_low: float
    i2_high: float
    h2: float
    h2_low: float
    h2_high: float

    def to_frame(self) -> pd.DataFrame:
        """Rows tau2, tau, i2, h2; columns estimate, ci_low, ci_high (like metafor)."""
        rows = []
        for name in ("tau2", "tau", "i2", "h2"):
            rows.append(
                {
                    "parameter": name,
                    "estimate": getattr(self, name),
                    "ci_low": getattr(self, name + "_low"),
                    "ci_high": getattr(self, name + "_high"),
                }
            )
        return pd.DataFrame(rows)


def _solve_q(y: np.ndarray, v: np.ndarray, target: float, start: float) -> float:
    """Root of Q(tau2) = target, Q decreasing in tau2, known Q(0) >= target."""

    def f(t: float) -> float:
        return q_of_tau2(y, v, t) - target

    hi = max(100.0, 10.0 * start)
    for _ in range(200):
        if f(hi) < 0:
            break
        hi *= 10.0
    return float(optimize.brentq(f, 0.0, hi, xtol=1e-300, rtol=4 * EPS, maxiter=1000))


def tau2_confint(result: RMAResult, level: float | None = None) -> Tau2CI:
    r"""Q-profile confidence interval for :math:`\tau^2` (Viechtbauer 2007).

    The bounds are the values of :math:`\tau^2` at which the generalised Q statistic
    :math:`Q(\tau^2) = \sum w_i(\tau^2)(y_i - \hat\mu(\tau^2))^2`,
    :math:`w_i = 1/(v_i+\tau^2)`, equals the :math:`1-\alpha/2` and :math:`\alpha/2`
    quantiles of :math:`\chi^2_{k-1}` (lower and upper bound respectively); a bound is
    0 when :math:`Q(0)` is already below its quantile. The intervals for
    :math:`\tau`, :math:`I^2 = 100\tau^2/(\tau^2+s^2)` and :math:`H^2 = \tau^2/s^2 + 1`
    are the transformed bounds, with :math:`s^2` the typical within-study variance of
    ``result``, matching metafor's ``confint(rma_object)``. Roots are found with Brent's
    method to double precision (no cap on the upper search range, unlike metafor's
    default ``tau2.max = 100``).

    Parameters
    ----------
    result : RMAResult
        A random-effects fit with k >= 2.
    level : float, optional
        Defaults to ``result.level``.

    References
    ----------
    Viechtbauer W (2007). Confidence intervals for the amount of heterogeneity in
    meta-analysis. Stat Med 26:37-52.
    """
    if result.k < 2:
        raise ValueError("tau2_confint needs at least 2 studies")
    if result.method in ("EE", "FE"):
        raise ValueError("a common-effect (EE/FE) model has no tau2 to bound")
    lv = result.level if level is None else check_level(level)
    y, v, k = result.yi, result.vi, result.k
    a = 1.0 - lv
    crit_u = stats.chi2.isf(a / 2.0, k - 1)
    crit_l = stats.chi2.ppf(a / 2.0, k - 1)
    q0 = q_of_tau2(y, v, 0.0)
    lo = 0.0 if q0 < crit_u else _solve_q(y, v, crit_u, result.tau2)
    hi = 0.0 if q0 < crit_l else _solve_q(y, v, crit_l, result.tau2)
    s2 = result.s2

    def i2(t: float) -> float:
        return 100.0 * t / (s2 + t)

    def h2(t: float) -> float:
        return t / s2 + 1.0

    return Tau2CI(
        level=lv,
        tau2=result.tau2,
        tau2_low=lo,
        tau2_high=hi,
        tau=float(np.sqrt(result.tau2)),
        tau_low=float(np.sqrt(lo)),
        tau_high=float(np.sqrt(hi)),
        i2=result.i2,
        i2_low=i2(lo),
        i2_high=i2(hi),
        h2=result.h2,
        h2_low=h2(lo),
        h2_high=h2(hi),
    )


# --------------------------------------------------------------------------- Egger test
@dataclass(frozen=True, eq=False)
class RegtestResult:
    """Result of :func:`regtest`. ``est`` is the predicted effect as the predictor -> 0."""

    model: str
    predictor: str
    method: str | None
    test: str
    level: float
    statistic: float
    df: float | None
    pvalue: float
    est: float
    ci_low: float
    ci_high: float
    fit: RegFit | None = field(default=None, repr=False)


def regtest(
    yi: npt.ArrayLike,
    vi: npt.ArrayLike,
    method: str = "REML",
    model: str = "rma",
    predictor: str = "sei",
    test: str = "knha",
    level: float = 0.95,
    study: Sequence[Any] | None = None,
) -> RegtestResult:
    r"""Regression test for funnel-plot asymmetry (Egger et al. 1997), as metafor ``regtest``.

    ``model="rma"`` fits the meta-regression :math:`y_i = \beta_0 + \beta_1 x_i + u_i + e_i`
    with the given ``method`` and ``test`` (see :func:`metareg`), where :math:`x_i` is the
    standard error :math:`\sqrt{v_i}` (``predictor="sei"``, the default) or the variance
    :math:`v_i` (``"vi"``, Moreno et al. 2009); the test statistic is that of
    :math:`\beta_1` (z, or t with k - 2 df). ``model="lm"`` is Egger's classical test:
    weighted least squares of :math:`y_i` on :math:`x_i` with weights :math:`1/v_i` and
    a free multiplicative dispersion, t with k - 2 df. ``est`` (with its CI) is the
    intercept :math:`\beta_0`, the effect predicted for a study of infinite precision
    (the "limit estimate"; Rücker et al. 2011). ``method``/``test`` are ignored for
    ``model="lm"``.

    References
    ----------
    Egger M, Davey Smith G, Schneider M, Minder C (1997). BMJ 315:629-634.
    Sterne JAC, Egger M (2005). In: Publication Bias in Meta-Analysis. Wiley.
    """
    model = str(model).lower()
    if model not in ("rma", "lm"):
        raise ValueError(f"model must be 'rma' or 'lm', got {model!r}")
    if predictor not in ("sei", "vi"):
        raise ValueError(f"predictor must be 'sei' or 'vi', got {predictor!r}")
    test = check_test(test)
    level = check_level(level)
    y, v, _ = check_study_data(yi, vi, study)
    k = y.size
    if k < 3:
        raise ValueError(f"regtest needs at least 3 studies, got k = {k}")
    x = np.sqrt(v) if predictor == "sei" else v
    X = np.column_stack([np.ones(k), x])
    if model == "rma":
        m, label = _norm_method(method)
        fit = fit_general(y, v, X, m, test, level)
        return RegtestResult(
            model=model,
            predictor=predictor,
            method=label,
            test=test,
            level=level,
            statistic=float(fit.statistic[1]),
            df=fit.df,
            pvalue=float(fit.pvalue[1]),
            est=float(fit.beta[0]),
            ci_low=float(fit.ci_low[0]),
            ci_high=float(fit.ci_high[0]),
            fit=fit,
        )
    # Egger's classical test is a weighted least-squares regression with the residual
    # variance estimated (multiplicative dispersion): statsmodels' WLS is that model.
    ols = WLS(y, X, weights=1.0 / v).fit()
    ci = ols.conf_int(alpha=1.0 - level)
    return RegtestResult(
        model=model,
        predictor=predictor,
        method=None,
        test="t",
        level=level,
        statistic=float(ols.tvalues[1]),
        df=float(ols.df_resid),
        pvalue=float(ols.pvalues[1]),
        est=float(ols.params[0]),
        ci_low=float(ci[0, 0]),
        ci_high=float(ci[0, 1]),
        fit=None,
    )


# --------------------------------------------------------------------------- trim and fill
@dataclass(frozen=True, eq=False)
class TrimfillResult:
    """Result of :func:`trimfill`. ``yi``/``vi``/``study`` are the augmented data."""

    k0: int
    se_k0: float
    side: str
    estimator: str
    yi: np.ndarray
    vi: np.ndarray
    filled: np.ndarray
    study: tuple
    result: RMAResult
    n_iter: int


def _pool_est(y: np.ndarray, v: np.ndarray, method: str) -> float:
    fit = fit_rows(y[None, :], v[None, :], np.ones((1, y.size), bool), method, "z", 0.95)
    return float(fit.estimate[0])


def trimfill(
    yi: npt.ArrayLike,
    vi: npt.ArrayLike,
    method: str = "REML",
    estimator: str = "L0",
    side: str | None = None,
    test: str = "z",
    level: float = 0.95,
    study: Sequence[Any] | None = None,
    maxiter: int = 100,
) -> TrimfillResult:
    r"""Duval & Tweedie's (2000) trim-and-fill, reproducing metafor's ``trimfill.rma.uni``.

    Side: when ``side`` is None, metafor's rule is used: regress :math:`y_i` on
    :math:`\sqrt{v_i}` with ``method``; a negative slope means studies are missing on the
    ``"right"``, otherwise on the ``"left"``. For ``"right"`` the effects are mirrored
    first. Iteration (at most ``maxiter`` rounds): sort the effects, drop the
    :math:`k_0` largest, pool the rest with ``method`` to get :math:`\hat\mu`, rank
    :math:`|y_i - \hat\mu|` (ties by position), and with :math:`S_r` the sum of the ranks
    of positive deviations set

    * L0: :math:`k_0 = (4 S_r - k(k+1))/(2k-1)`,
    * R0: :math:`k_0 = k - r^* - 1` with :math:`r^*` the largest rank of a negative
      deviation,

    rounded and floored at 0, until :math:`k_0` repeats. The :math:`k_0` most extreme
    studies are then mirrored about :math:`\hat\mu` (:math:`2\hat\mu - y_i`, same
    :math:`v_i`), appended, and the augmented data are pooled with ``method`` and
    ``test``. metafor's own default refits with ``test="z"``; so does this one.

    ``se_k0`` is the standard error of the estimator (Duval & Tweedie 2000); NaN where
    the variance formula for :math:`S_r` is negative (the SE is undefined; metafor: NaN).
    R0 stops with a ``ValueError`` when no effect lies below the pooled estimate (e.g.
    identical effects): :math:`r^*` does not exist and there is no asymmetry to fill.

    References
    ----------
    Duval S, Tweedie R (2000). Biometrics 56:455-463; J Am Stat Assoc 95:89-98.
    """
    m, label = _norm_method(method)
    test = check_test(test)
    level = check_level(level)
    estimator = str(estimator).upper()
    if estimator not in ("L0", "R0", "Q0"):
        raise ValueError(f"estimator must be 'L0', 'R0' or 'Q0', got {estimator!r}")
    y0, v0, labels = check_study_data(yi, vi, study)
    k = y0.size
    if k < 3:
        raise ValueError(f"trimfill needs at least 3 studies, got k = {k}")
    if side is None:
        X = np.column_stack([np.ones(k), np.sqrt(v0)])
        slope = fit_general(y0, v0, X, m, "z", 0.95).beta[1]
        side = "right" if slope < 0 else "left"
    elif side not in ("left", "right"):
        raise ValueError(f"side must be 'left', 'right' or None, got {side!r}")
    sign = -1.0 if side == "right" else 1.0
    ys = sign * y0
    ix = np.argsort(ys, kind="stable")
    ys, vs = ys[ix], v0[ix]
    k0, k0_prev, it = 0, -1, 0
    beta = float("nan")
    se_k0 = float("nan")
    while k0 != k0_prev:
        k0_prev = k0
        it += 1
        if it > maxiter:
            warnings.warn(
                "trim-and-fill did not settle on k0 within maxiter iterations",
                MetaAnalysisWarning,
                stacklevel=2,
            )
            break
        beta = _pool_est(ys[: k - k0], vs[: k - k0], m)
        dev = ys - beta
        ranks = np.empty(k)
        ranks[np.argsort(np.abs(dev), kind="stable")] = np.arange(1, k + 1)
        signed = np.sign(dev) * ranks
        if estimator == "R0":
            neg = -signed[signed < 0]
            if not neg.size:
                # metafor stops here too (k0 would be infinite)
                raise ValueError(
                    "trimfill with estimator R0: no effect lies below the pooled estimate "
                    f"({beta:.6g}), so there is no asymmetry to fill"
                )
            k0f = (k - neg.max()) - 1.0
            se_k0 = float(np.sqrt(2.0 * max(0.0, k0f) + 2.0))
        else:
            sr = float(signed[signed > 0].sum())
            if estimator == "L0":
                k0f = (4.0 * sr - k * (k + 1)) / (2.0 * k - 1.0)
            else:
                k0f = k - 0.5 - np.sqrt(2.0 * k * k - 4.0 * sr + 0.25)
            var_sr = (
                k * (k + 1) * (2 * k + 1)
                + 10 * k0f**3
                + 27 * k0f**2
                + 17 * k0f
                - 18 * k * k0f**2
                - 18 * k * k0f
                + 6 * k**2 * k0f
            ) / 24.0
            sd_sr = math.sqrt(var_sr) if var_sr >= 0 else float("nan")  # undefined if < 0
            if estimator == "L0":
                se_k0 = 4.0 * sd_sr / (2.0 * k - 1.0)
            else:
                den = (k - 0.5) ** 2 - k0f * (2.0 * k - k0f - 1.0)
                se_k0 = 2.0 * sd_sr / math.sqrt(den) if den > 0 else float("nan")
        k0 = int(max(0, np.round(k0f)))
        # metafor's max(0, se.k0): NaN stays NaN where var(S_r) < 0 (the SE is undefined)
        se_k0 = float(np.maximum(0.0, se_k0))
    base_labels = list(labels) if labels is not None else [f"Study {i + 1}" for i in range(k)]
    if k0 > 0:
        fill_y = sign * (2.0 * beta - ys[k - k0 :])
        fill_v = vs[k - k0 :]
        y_aug = np.concatenate([y0, fill_y])
        v_aug = np.concatenate([v0, fill_v])
        lab = tuple(base_labels + [f"Filled {j + 1}" for j in range(k0)])
    else:
        y_aug, v_aug, lab = y0.copy(), v0.copy(), tuple(base_labels)
    res = rma(y_aug, v_aug, method=label, test=test, level=level, study=lab)
    filled = np.r_[np.zeros(k, bool), np.ones(k0, bool)]
    return TrimfillResult(k0, float(se_k0), side, estimator, y_aug, v_aug, filled, lab, res, it)


# --------------------------------------------------------------------------- leave1out / cumul
def _rows_frame(
    fit: Fit, studies: Iterable[Any], extra: dict[str, Any] | None = None
) -> pd.DataFrame:
    data: dict[str, Any] = {"study": list(studies)}
    if extra:
        data.update(extra)
    data["k"] = fit.k
    for c in _FRAME_COLS:
        data[c] = getattr(fit, c)
    data["df"] = fit.df
    data["converged"] = fit.converged
    return pd.DataFrame(data)


def leave1out(
    yi: npt.ArrayLike,
    vi: npt.ArrayLike,
    method: str = "REML",
    test: str = "knha",
    level: float = 0.95,
    study: Sequence[Any] | None = None,
) -> pd.DataFrame:
    """Leave-one-out analysis, like metafor's ``leave1out``.

    Row i pools all studies except study i (vectorised through the :func:`rma_many`
    engine). Columns: ``study`` (the omitted one), ``k`` and ``estimate, se, statistic,
    pvalue, ci_low, ci_high, q, q_pvalue, tau2, i2, h2`` (as in :class:`RMAResult`),
    ``df`` and ``converged``.
    """
    m, _ = _norm_method(method)
    test = check_test(test)
    level = check_level(level)
    y, v, labels = check_study_data(yi, vi, study)
    k = y.size
    if k < 2:
        raise ValueError("leave1out needs at least 2 studies")
    keep = ~np.eye(k, dtype=bool)
    Y = y[None, :].repeat(k, 0)[keep].reshape(k, k - 1)
    V = v[None, :].repeat(k, 0)[keep].reshape(k, k - 1)
    fit = fit_rows(Y, V, np.ones_like(Y, bool), m, test, level)
    studies = labels if labels is not None else range(1, k + 1)
    return _rows_frame(fit, studies)


def cumul(
    yi: npt.ArrayLike,
    vi: npt.ArrayLike,
    order: npt.ArrayLike | None = None,
    method: str = "REML",
    test: str = "knha",
    level: float = 0.95,
    study: Sequence[Any] | None = None,
) -> pd.DataFrame:
    """Cumulative meta-analysis, like metafor's ``cumul``.

    Studies are added one at a time in the order of ``order`` (a sort key such as the
    publication year; stable for ties; default: as given). Row j pools the first j + 1
    studies. The first row is the first study on its own (z-based, as :func:`rma` with
    k = 1). Columns as in :func:`leave1out`, ``study`` naming the study added.
    """
    m, _ = _norm_method(method)
    test = check_test(test)
    level = check_level(level)
    y, v, labels = check_study_data(yi, vi, study)
    k = y.size
    idx = np.arange(k) if order is None else np.argsort(np.asarray(order), kind="stable")
    if idx.size != k:
        raise ValueError(f"order has {idx.size} values but yi has {k}")
    ys, vs = y[idx], v[idx]
    M = np.tril(np.ones((k, k), dtype=bool))
    Y = np.where(M, ys[None, :], np.nan)
    V = np.where(M, vs[None, :], np.nan)
    fit = fit_rows(Y, V, M, m, test, level)
    names = [labels[i] for i in idx] if labels is not None else list(idx + 1)
    return _rows_frame(fit, names)


# --------------------------------------------------------------------------- subgroups
@dataclass(frozen=True, eq=False)
class SubgroupResult:
    """Result of :func:`subgroup`.

    ``results`` maps each group to its :class:`RMAResult`; ``table`` has one row per
    group. ``q_between``/``df_between``/``p_between`` is the test for subgroup
    differences with separate tau^2 per subgroup; ``qm``/``qm_df``/``qm_pvalue`` and
    ``tau2_common`` the meta-regression version with one common tau^2.
    """

    method: str
    test: str
    groups: tuple[Any, ...]
    results: dict[Any, RMAResult]
    table: pd.DataFrame
    q_between: float
    df_between: int
    p_between: float
    qm: float
    qm_df: tuple[int, ...]
    qm_pvalue: float
    tau2_common: float


def subgroup(
    yi: npt.ArrayLike,
    vi: npt.ArrayLike,
    groups: Sequence[Any],
    method: str = "REML",
    test: str = "knha",
    level: float = 0.95,
    study: Sequence[Any] | None = None,
) -> SubgroupResult:
    r"""Subgroup analysis and test for subgroup differences.

    Each subgroup g is pooled separately (own :math:`\tau^2_g`) giving
    :math:`\hat\mu_g` with standard error :math:`s_g` (Hartung-Knapp scaled for ``knha``).
    The test for subgroup differences is the Cochrane/RevMan one (Borenstein et al. 2009,
    ch. 19): :math:`Q_B = \sum_g w_g(\hat\mu_g - \bar\mu)^2`, :math:`w_g = 1/s_g^2`,
    :math:`\bar\mu = \sum w_g \hat\mu_g / \sum w_g`, referred to :math:`\chi^2_{G-1}`.
    Subgroups whose SE is zero or undefined are left out of :math:`Q_B` with a warning.

    The alternative with a common :math:`\tau^2` is the mixed-effects meta-regression
    on G - 1 dummy variables (metafor ``rma(yi, vi, mods = ~ factor(groups))``); its
    omnibus moderator test is reported as ``qm`` (:math:`\chi^2_{G-1}`, or F for knha).
    With two groups that is :func:`metareg` on a 0/1 indicator.
    """
    m, label = _norm_method(method)
    test = check_test(test)
    level = check_level(level)
    y, v, labels = check_study_data(yi, vi, study)
    g = np.asarray(groups, dtype=object)
    if g.shape != y.shape:
        raise ValueError(f"groups has {g.size} values but yi has {y.size}")
    levels = tuple(sorted(set(g.tolist()), key=str))
    if len(levels) < 2:
        raise ValueError("subgroup needs at least two groups")
    results = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", MetaAnalysisWarning)
        for lev in levels:
            sel = g == lev
            lab = [labels[i] for i in np.flatnonzero(sel)] if labels is not None else None
            results[lev] = rma(y[sel], v[sel], method=label, test=test, level=level, study=lab)
    if any(issubclass(w.category, MetaAnalysisWarning) for w in caught):
        single = [str(lev) for lev, r in results.items() if r.k == 1]
        warnings.warn(
            f"subgroup(s) with a single study: {', '.join(single)}",
            MetaAnalysisWarning,
            stacklevel=2,
        )
    table = pd.DataFrame([{"group": lev, **results[lev].to_frame().iloc[0]} for lev in levels])
    est = np.array([results[lev].estimate for lev in levels])
    se = np.array([results[lev].se for lev in levels])
    ok = np.isfinite(se) & (se > 0)
    if not ok.all():
        warnings.warn(
            "subgroup(s) with zero or undefined SE left out of the test for differences: "
            + ", ".join(str(lev) for lev, o in zip(levels, ok, strict=True) if not o),
            MetaAnalysisWarning,
            stacklevel=2,
        )
    dfb = max(0, int(ok.sum() - 1))
    if dfb > 0:
        w = 1.0 / se[ok] ** 2
        mu = np.sum(w * est[ok]) / np.sum(w)
        qb = float(np.sum(w * (est[ok] - mu) ** 2))
        pb = float(stats.chi2.sf(qb, dfb))
    else:  # fewer than two subgroups with a usable SE: no test for differences
        qb = pb = float("nan")
    X = np.column_stack([np.ones(y.size)] + [(g == lev).astype(float) for lev in levels[1:]])
    common = fit_general(y, v, X, m, test, level)
    return SubgroupResult(
        method=label,
        test=test,
        groups=levels,
        results=results,
        table=table,
        q_between=qb,
        df_between=dfb,
        p_between=pb,
        qm=common.qm,
        qm_df=common.qm_df,
        qm_pvalue=common.qm_pvalue,
        tau2_common=common.tau2,
    )
