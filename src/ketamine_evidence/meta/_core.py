"""Random-effects pooling: :func:`rma`, :func:`rma_many` and :func:`metareg`."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from ._engine import Fit, fit_rows, row_floats
from ._regression import fit_general
from ._validate import (
    MetaAnalysisWarning,
    check_level,
    check_many_data,
    check_method,
    check_study_data,
    check_test,
)

PI_DF = (None, "k-1", "k-2")
#: The float fields of :class:`RMAResult` that row i of the engine's fit holds.
_FLOAT_FIELDS = ("estimate", "se", "statistic", "pvalue", "ci_low", "ci_high", "pi_low",
                 "pi_high", "tau2", "se_tau2", "i2", "h2", "q", "q_pvalue", "s2")

_SCALARS = (
    "k",
    "method",
    "test",
    "level",
    "estimate",
    "se",
    "statistic",
    "df",
    "pvalue",
    "ci_low",
    "ci_high",
    "pi_low",
    "pi_high",
    "tau2",
    "se_tau2",
    "i2",
    "h2",
    "q",
    "q_df",
    "q_pvalue",
    "s2",
    "pi_df",
    "converged",
    "n_iter",
    "convergence",
)


def _norm_method(method: str) -> tuple[str, str]:
    m = check_method(method)
    return "EE" if m == "FE" else m, m


def _check_pi_df(pi_df: str | None) -> str | None:
    if pi_df not in PI_DF:
        raise ValueError(f"pi_df must be one of {PI_DF}, got {pi_df!r}")
    return pi_df


def _shared_fields(fit: Any, result_cls: type) -> dict[str, Any]:
    """The attributes of an engine fit that ``result_cls`` holds under the same name."""
    names = {f.name for f in fields(result_cls)}
    return {f.name: getattr(fit, f.name) for f in fields(fit) if f.name in names}


@dataclass(frozen=True, eq=False)
class RMAResult:
    """Result of :func:`rma` (one pooled meta-analysis). Values are never rounded.

    Attributes
    ----------
    k : int
        Number of studies.
    method, test : str
        tau^2 estimator and inference method used.
    level : float
        Confidence level of ``ci_*`` and ``pi_*``.
    estimate, se : float
        Pooled effect and its standard error (Hartung-Knapp scaled for ``knha``/``adhoc``).
    statistic : float
        Wald z (``test="z"``) or t statistic.
    df : float or None
        Degrees of freedom of the t reference distribution (k - 1); None for z.
    pvalue, ci_low, ci_high : float
        Two-sided p-value and confidence interval for the pooled effect.
    pi_low, pi_high : float
        Prediction interval for the true effect in a new study.
    tau2, se_tau2 : float
        Between-study variance and its standard error (NaN for the common-effect model).
    i2 : float
        I^2 in percent. h2 : H^2.
    q, q_df, q_pvalue : float, int, float
        Cochran's Q, its degrees of freedom (k - 1) and p-value.
    s2 : float
        The "typical" within-study variance used for I^2 and H^2.
    weights : numpy.ndarray
        Study weights in percent (sum to 100).
    yi, vi : numpy.ndarray
        The data as pooled. study : tuple or None: study labels.
    converged : bool
        Whether the tau^2 estimating equation was solved.
    n_iter : int
        Iterations used by the tau^2 solver (0 for closed-form estimators).
    convergence : str
        How tau^2 was obtained, e.g. ``"fisher scoring"``, ``"bracketing root-finder"``.
    pi_df : str or None
        Degrees of freedom rule for the prediction interval (see :func:`rma`).
    """

    k: int
    method: str
    test: str
    level: float
    estimate: float
    se: float
    statistic: float
    df: float | None
    pvalue: float
    ci_low: float
    ci_high: float
    pi_low: float
    pi_high: float
    tau2: float
    se_tau2: float
    i2: float
    h2: float
    q: float
    q_df: int
    q_pvalue: float
    s2: float
    weights: np.ndarray = field(repr=False)
    yi: np.ndarray = field(repr=False)
    vi: np.ndarray = field(repr=False)
    study: tuple | None = field(repr=False)
    converged: bool = True
    n_iter: int = 0
    convergence: str = ""
    pi_df: str | None = None

    @property
    def tau(self) -> float:
        """Square root of ``tau2``."""
        return float(np.sqrt(self.tau2))

    def to_frame(self) -> pd.DataFrame:
        """One-row tidy DataFrame holding every scalar attribute (unrounded)."""
        row = {name: getattr(self, name) for name in _SCALARS}
        row["tau"] = self.tau
        return pd.DataFrame([row])

    def summary_frame(self) -> pd.DataFrame:
        """Per-study rows and a final pooled row.

        Columns: ``study, yi, vi, ci_low, ci_high, weight``. Study confidence intervals
        are Wald intervals ``yi ± z * sqrt(vi)`` (as in metafor's forest plots); the pooled
        row carries ``estimate``, ``se**2`` and the model's own interval, weight 100.
        """
        z = stats.norm.isf((1.0 - self.level) / 2.0)
        labels = list(self.study) if self.study is not None else list(range(1, self.k + 1))
        sd = np.sqrt(self.vi)
        df = pd.DataFrame(
            {
                "study": labels,
                "yi": self.yi,
                "vi": self.vi,
                "ci_low": self.yi - z * sd,
                "ci_high": self.yi + z * sd,
                "weight": self.weights,
            }
        )
        pooled = pd.DataFrame(
            {
                "study": [f"Pooled ({self.method}, {self.test})"],
                "yi": [self.estimate],
                "vi": [self.se**2],
                "ci_low": [self.ci_low],
                "ci_high": [self.ci_high],
                "weight": [100.0],
            }
        )
        return pd.concat([df, pooled], ignore_index=True)


def rma(
    yi: npt.ArrayLike,
    vi: npt.ArrayLike,
    method: str = "REML",
    test: str = "knha",
    level: float = 0.95,
    study: Sequence[Any] | None = None,
    pi_df: str | None = None,
) -> RMAResult:
    r"""Pool effect sizes with a common-effect or random-effects model.

    The model is :math:`y_i = \mu + u_i + e_i`, :math:`u_i \sim N(0, \tau^2)`,
    :math:`e_i \sim N(0, v_i)` (Viechtbauer 2010, the metafor paper). Given
    :math:`\hat\tau^2`, with :math:`w_i = 1/(v_i + \hat\tau^2)`,

    .. math:: \hat\mu = \frac{\sum w_i y_i}{\sum w_i}, \qquad
              \operatorname{SE}(\hat\mu) = \Big(\sum w_i\Big)^{-1/2}.

    Parameters
    ----------
    yi, vi : array_like
        Effect sizes and their sampling variances (all positive and finite).
    method : {"REML", "ML", "DL", "PM", "EB", "HS", "SJ", "HE", "EE", "FE"}
        tau^2 estimator (default restricted maximum likelihood):

        * ``EE``/``FE`` common (fixed) effect, :math:`\tau^2 = 0`.
        * ``DL`` DerSimonian & Laird (1986):
          :math:`\hat\tau^2 = \max\{0, (Q - (k-1)) / (\sum w - \sum w^2/\sum w)\}`,
          with :math:`w = 1/v` and Cochran's :math:`Q = \sum w_i (y_i - \hat\mu_w)^2`.
        * ``REML`` / ``ML`` (Viechtbauer 2005): roots of the (restricted) likelihood score,
          :math:`y^\top P P y = \operatorname{tr} P` (REML) or :math:`= \sum w_i` (ML), with
          :math:`P = W - W 1 (1^\top W 1)^{-1} 1^\top W`, found from the HE estimate by
          Newton-Raphson where the likelihood is locally concave and Fisher scoring
          (steps :math:`(y^\top PPy - \operatorname{tr}P)/\operatorname{tr}(PP)` and
          :math:`(y^\top PPy - \sum w)/\sum w^2`) elsewhere, safeguarded by a bracket
          around the root and truncated at 0. As in metafor, an interior solution is
          replaced by 0 when the likelihood at 0 is higher.
        * ``PM`` Paule & Mandel (1982): root of the generalised Q equation
          :math:`\sum w_i (y_i - \hat\mu_w)^2 = k - 1`, solved by Newton's method
          (derivative :math:`-y^\top P P y`); 0 if :math:`Q(0) \le k-1`.
        * ``EB`` empirical Bayes (Morris 1983; Berkey et al. 1995). metafor iterates
          :math:`\tau^2 \leftarrow \tau^2 + (Q(\tau^2)\,k/(k-1) - k)/\sum w`, whose fixed
          point is the PM equation, so EB gives the PM estimate (checked against metafor);
          it is reported under the label ``EB``.
        * ``HS`` Hunter & Schmidt (2004): :math:`\max\{0, (Q - k)/\sum_i 1/v_i\}`.
        * ``SJ`` Sidik & Jonkman (2005): with :math:`\tau_0^2 = \frac1k\sum (y_i-\bar y)^2`
          and :math:`w_i = 1/(v_i+\tau_0^2)`,
          :math:`\hat\tau^2 = \tau_0^2 \sum w_i (y_i - \hat\mu_w)^2 / (k - 1)`.
        * ``HE`` Hedges (1983) / Hedges & Olkin (1985) method of moments:
          :math:`\max\{0, \frac{1}{k-1}\sum (y_i-\bar y)^2 - \frac1k \sum v_i\}`.

        Iterative estimators stop when :math:`|\Delta\tau^2| \le 10^{-12}\max(1,\tau^2)`;
        rows whose iterations fail fall back to bisection on the estimating equation over
        :math:`[0, \text{upper}]` (``convergence="bracketing root-finder"``).
    test : {"knha", "z", "adhoc"}
        ``z``: Wald test and normal-theory CI. ``knha`` (default): Hartung & Knapp (2001),
        Sidik & Jonkman (2002): :math:`\operatorname{Var}(\hat\mu)` is multiplied by
        :math:`s^2_w = \sum w_i (y_i-\hat\mu)^2/(k-1)` (not truncated; 0 if the sum is
        below machine epsilon, as metafor) and a t distribution with k - 1 df is used.
        ``adhoc``: the same with :math:`\max(1, s^2_w)` (Knapp & Hartung's ad hoc variant,
        metafor's ``test="adhoc"``).
    level : float
        Confidence level (0.95; 95 is accepted too).
    study : sequence, optional
        Study labels, used in error messages and :meth:`RMAResult.summary_frame`.
    pi_df : {None, "k-1", "k-2"}
        Prediction interval :math:`\hat\mu \pm c\sqrt{\operatorname{SE}^2 + \hat\tau^2}`
        (Higgins, Thompson & Spiegelhalter 2009; IntHout et al. 2016). ``None`` uses the
        critical value of the test (normal for ``z``, t(k - 1) otherwise) exactly like
        metafor's ``predict()``; ``"k-1"`` always uses t(k - 1); ``"k-2"`` uses t(k - 2)
        (Higgins 2009, IntHout 2016; metafor ``pi.type="riley"``). Degrees of freedom
        below 1 are raised to 1, as metafor does. For ``EE`` the PI equals the CI.

    Returns
    -------
    RMAResult

    Notes
    -----
    Heterogeneity (Higgins & Thompson 2002), exactly as metafor computes it:
    :math:`Q` and its :math:`\chi^2_{k-1}` p-value use :math:`w_i = 1/v_i`; the typical
    within-study variance is :math:`s^2 = (k-1)\sum w / ((\sum w)^2 - \sum w^2)`;
    :math:`I^2 = 100\,\hat\tau^2/(\hat\tau^2 + s^2)` and :math:`H^2 = (\hat\tau^2 + s^2)/s^2`
    for random-effects models (for DL with :math:`Q > k-1` this equals :math:`Q/(k-1)`),
    and :math:`I^2 = 100\max(0, (Q-(k-1))/Q)`, :math:`H^2 = Q/(k-1)` for ``EE``.

    ``se_tau2`` is metafor's: inverse Fisher information for ML (:math:`\sqrt{2/\sum w^2}`)
    and REML (:math:`\sqrt{2/\operatorname{tr}(PP)}`), :math:`\sqrt{2k^2/((k-1)(\sum w)^2)}`
    for PM/EB, and the delta-method moment variances for DL, HS, HE and SJ.

    With k = 1 nothing is pooled: the study itself is returned (estimate ``yi``,
    SE :math:`\sqrt{v_i}`, z-based CI and p-value whatever ``test`` is, and ``test = "z"``
    as metafor reports it), ``tau2 = 0``, ``q = 0``, ``q_pvalue = 1``, ``i2 = 0``, ``h2 = 1``, ``se_tau2 = NaN``,
    and a :class:`MetaAnalysisWarning` is issued.

    References
    ----------
    DerSimonian R, Laird N (1986). Controlled Clin Trials 7:177-188.
    Paule RC, Mandel J (1982). J Res Natl Bur Stand 87:377-385.
    Hedges LV (1983). Psychol Bull 93:388-395.
    Hartung J, Knapp G (2001). Stat Med 20:3875-3889.
    Sidik K, Jonkman JN (2002). Stat Med 21:3153-3159; (2005) J Biopharm Stat 15:823-838.
    Higgins JPT, Thompson SG (2002). Stat Med 21:1539-1558.
    IntHout J, Ioannidis JPA, Rovers MM, Goeman JJ (2016). BMJ Open 6:e010247.
    Viechtbauer W (2005). J Educ Behav Stat 30:261-293.
    Viechtbauer W (2010). J Stat Softw 36(3):1-48.
    """
    m, label = _norm_method(method)
    test = check_test(test)
    level = check_level(level)
    pi_df = _check_pi_df(pi_df)
    y, v, labels = check_study_data(yi, vi, study)
    if y.size == 1:
        warnings.warn(
            "only one study (k = 1): returning that study's own estimate; nothing was pooled "
            "and heterogeneity cannot be estimated",
            MetaAnalysisWarning,
            stacklevel=2,
        )
    fit = fit_rows(y[None, :], v[None, :], np.ones((1, y.size), bool), m, test, level, pi_df)
    # metafor falls back to a z test with one study (rma()$test == "z")
    return _result_from_rows(fit, 0, label, "z" if y.size == 1 else test, level, pi_df, y,
                             v, labels)


def _result_from_rows(
    fit: Fit,
    i: int,
    label: str,
    test: str,
    level: float,
    pi_df: str | None,
    y: np.ndarray,
    v: np.ndarray,
    labels: tuple[Any, ...] | None,
) -> RMAResult:
    df = fit.df[i]
    return RMAResult(
        k=int(fit.k[i]),
        method=label,
        test=test,
        level=level,
        **row_floats(fit, i, _FLOAT_FIELDS),
        df=None if np.isnan(df) else float(df),
        q_df=int(fit.q_df[i]),
        weights=fit.weights[i, : y.size].copy(),
        yi=y.copy(),
        vi=v.copy(),
        study=labels,
        converged=bool(fit.converged[i]),
        n_iter=int(fit.n_iter[i]),
        convergence=str(fit.convergence[i]),
        pi_df=pi_df,
    )


# --------------------------------------------------------------------------- many at once
@dataclass(frozen=True, eq=False)
class RMAManyResult:
    """Result of :func:`rma_many`: the attributes of :class:`RMAResult`, one entry per row.

    Array attributes have length n (rows); ``weights``, ``yi`` and ``vi`` are (n, K) with
    NaN where a row has fewer than K studies. ``df`` is NaN for z tests.
    """

    k: np.ndarray
    method: str
    test: str
    level: float
    estimate: np.ndarray
    se: np.ndarray
    statistic: np.ndarray
    df: np.ndarray
    pvalue: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    pi_low: np.ndarray
    pi_high: np.ndarray
    tau2: np.ndarray
    se_tau2: np.ndarray
    i2: np.ndarray
    h2: np.ndarray
    q: np.ndarray
    q_df: np.ndarray
    q_pvalue: np.ndarray
    s2: np.ndarray
    weights: np.ndarray = field(repr=False)
    yi: np.ndarray = field(repr=False)
    vi: np.ndarray = field(repr=False)
    converged: np.ndarray = field(repr=False)
    n_iter: np.ndarray = field(repr=False)
    convergence: np.ndarray = field(repr=False)
    pi_df: str | None = None

    def __len__(self) -> int:
        return int(self.k.size)

    def to_frame(self) -> pd.DataFrame:
        """One row per meta-analysis with every scalar attribute."""
        cols = {}
        for name in _SCALARS:
            val = getattr(self, name)
            cols[name] = val if isinstance(val, np.ndarray) else [val] * len(self)
        cols["tau"] = np.sqrt(self.tau2)
        return pd.DataFrame(cols)


def rma_many(
    yi: npt.ArrayLike,
    vi: npt.ArrayLike,
    method: str = "REML",
    test: str = "knha",
    level: float = 0.95,
    pi_df: str | None = None,
) -> RMAManyResult:
    """Pool many meta-analyses at once, vectorised across rows.

    Parameters
    ----------
    yi, vi : array_like, shape (n, K)
        One meta-analysis per row; rows with fewer than K studies are padded with NaN
        (in the same positions of ``yi`` and ``vi``).
    method, test, level, pi_df
        As in :func:`rma`.

    Returns
    -------
    RMAManyResult

    Notes
    -----
    The same estimating equations and inference as :func:`rma` (which runs this engine
    on a single row). Fisher scoring / Newton iterations run on all unfinished rows at
    once with per-row convergence masks; rows that fail fall back to a vectorised
    bisection on their estimating equation.

    Raises
    ------
    ValueError
        If a row has no studies, a NaN sits in only one of ``yi``/``vi``, an effect is
        infinite, a variance is zero, negative or infinite, or the values are so extreme
        that pooling would overflow double precision (names row and column).
    """
    m, label = _norm_method(method)
    test = check_test(test)
    level = check_level(level)
    pi_df = _check_pi_df(pi_df)
    Y, V, M, k = check_many_data(yi, vi)
    if (k == 1).any():
        warnings.warn(
            f"{int((k == 1).sum())} row(s) have a single study; those rows return the study "
            "itself (nothing pooled)",
            MetaAnalysisWarning,
            stacklevel=2,
        )
    fit = fit_rows(Y, V, M, m, test, level, pi_df)
    return RMAManyResult(
        method=label,
        test=test,
        level=level,
        yi=np.where(M, Y, np.nan),
        vi=np.where(M, V, np.nan),
        pi_df=pi_df,
        **_shared_fields(fit, RMAManyResult),
    )


# --------------------------------------------------------------------------- meta-regression
@dataclass(frozen=True, eq=False)
class MetaRegResult:
    """Result of :func:`metareg` (``yi ~ 1 + x``). Coefficient arrays are (intercept, slope)."""

    k: int
    method: str
    test: str
    level: float
    terms: tuple
    coef: np.ndarray
    se: np.ndarray
    statistic: np.ndarray
    pvalue: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    df: float | None
    qm: float
    qm_df: tuple
    qm_pvalue: float
    qe: float
    qe_df: int
    qe_pvalue: float
    tau2: float
    se_tau2: float
    i2: float
    h2: float
    r2: float
    converged: bool
    n_iter: int
    convergence: str

    @property
    def intercept(self) -> float:
        return float(self.coef[0])

    @property
    def slope(self) -> float:
        return float(self.coef[1])

    def to_frame(self) -> pd.DataFrame:
        """One row per coefficient, model-level statistics repeated on each row."""
        df = pd.DataFrame(
            {
                "term": list(self.terms),
                "estimate": self.coef,
                "se": self.se,
                "statistic": self.statistic,
                "df": self.df,
                "pvalue": self.pvalue,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
            }
        )
        for name in ("k", "method", "test", "level", "qm", "qm_pvalue", "qe", "qe_df",
                     "qe_pvalue", "tau2", "se_tau2", "i2", "h2", "r2", "converged"):
            df[name] = getattr(self, name)
        return df


def metareg(
    yi: npt.ArrayLike,
    vi: npt.ArrayLike,
    x: npt.ArrayLike,
    method: str = "REML",
    test: str = "knha",
    level: float = 0.95,
    study: Sequence[Any] | None = None,
    name: str = "x",
) -> MetaRegResult:
    r"""Meta-regression on one moderator: :math:`y_i = \beta_0 + \beta_1 x_i + u_i + e_i`.

    Matches metafor's ``rma(yi, vi, mods = ~ x, method=, test=)``. Coefficients are
    weighted least squares with :math:`w_i = 1/(v_i + \hat\tau^2)` where the residual
    :math:`\tau^2` is estimated by the same estimators as :func:`rma` in matrix form
    (:math:`P = W - WX(X^\top W X)^{-1}X^\top W`; Viechtbauer et al. 2015). ``knha``
    scales the covariance by :math:`\sum w_i e_i^2/(k-2)` and uses t(k - 2).

    ``qm`` is the omnibus test of the slope (:math:`\chi^2_1`, or F(1, k - 2) for
    knha/adhoc); ``qe`` the residual heterogeneity test (:math:`\chi^2_{k-2}`).
    ``r2`` (percent) is the proportion of heterogeneity accounted for,
    :math:`\max\{0, 100(\hat\tau^2_{RE} - \hat\tau^2)/\hat\tau^2_{RE}\}` with
    :math:`\hat\tau^2_{RE}` from the intercept-only model (0 if that is 0) (Raudenbush
    2009); for ``EE`` it is the adjusted R^2 of the weighted regression, as metafor.
    ``i2``/``h2`` use :math:`s^2 = (k-2)/\operatorname{tr}P_0`.

    Raises
    ------
    ValueError
        On invalid data (as :func:`rma`), a non-finite or constant moderator, or k < 3.
    """
    m, label = _norm_method(method)
    test = check_test(test)
    level = check_level(level)
    y, v, labels = check_study_data(yi, vi, study)
    xx = np.asarray(x, dtype=float)
    if xx.shape != y.shape:
        raise ValueError(f"moderator has {xx.size} values but yi has {y.size}")
    for i in range(xx.size):
        if not np.isfinite(xx[i]):
            who = f"study {labels[i]!r} (index {i})" if labels else f"study at index {i}"
            raise ValueError(f"{who}: moderator {name} is missing or not finite")
    if y.size < 3:
        raise ValueError(f"meta-regression needs at least 3 studies, got k = {y.size}")
    if np.ptp(xx) == 0:
        raise ValueError(f"moderator {name} is constant; the slope is not identified")
    X = np.column_stack([np.ones_like(xx), xx])
    fit = fit_general(y, v, X, m, test, level)
    if m == "EE":
        if np.var(y) == 0:
            r2 = 0.0
        else:
            w = 1.0 / v
            mu = np.sum(w * y) / np.sum(w)
            tss = np.sum(w * (y - mu) ** 2)
            beta = np.linalg.solve(X.T @ (w[:, None] * X), X.T @ (w * y))
            rss = np.sum(w * (y - X @ beta) ** 2)
            k = y.size
            r2 = max(0.0, 100.0 * (1.0 - (rss / tss) * (k - 1) / (k - 2)))
    else:
        base = fit_general(y, v, np.ones((y.size, 1)), m, test, level)
        r2 = 0.0 if base.tau2 == 0 else max(0.0, 100.0 * (base.tau2 - fit.tau2) / base.tau2)
    return MetaRegResult(
        k=int(y.size),
        method=label,
        test=test,
        level=level,
        terms=("intercept", name),
        coef=fit.beta,
        r2=float(r2),
        **_shared_fields(fit, MetaRegResult),
    )
