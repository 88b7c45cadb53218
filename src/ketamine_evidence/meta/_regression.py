r"""Mixed-effects meta-regression with a general design matrix (small k, dense algebra).

This is the matrix form of the estimators in :mod:`._engine` (Viechtbauer 2005;
Viechtbauer et al. 2015), written with the projection

.. math:: P = W - W X (X^\top W X)^{-1} X^\top W,\qquad W = \operatorname{diag}(1/(v_i+\tau^2)).

It is used by :func:`metareg`, by :func:`regtest` (``model="rma"``) and by the side
selection of :func:`trimfill`. With ``X`` a column of ones it reproduces the
intercept-only engine; the test-suite checks that.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import linalg, optimize, stats

from ._engine import (
    CONV_BOUND0,
    CONV_BRACKET,
    CONV_BRACKET0,
    CONV_CLOSED,
    CONV_CLOSED0,
    CONV_FAILED,
    CONV_FISHER,
    CONV_FISHER0,
    CONV_NEWTON,
    CONV_NONE,
    EPS,
    MAXITER,
    TOL,
)


def _proj(X: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    W = np.diag(w)
    xtwx_inv = np.linalg.inv(X.T @ W @ X)
    return W - W @ X @ xtwx_inv @ X.T @ W, xtwx_inv


def _wald(b: np.ndarray, vb: np.ndarray) -> float:
    """Wald statistic :math:`b^\top V^{-1} b`; NaN when V is not positive definite.

    As metafor (``chol2inv(chol(vb))``, ``QM <- NA`` on failure): with ``test="knha"`` and
    identical effects the scaled covariance is zero, and the omnibus test is undefined.
    """
    try:
        factor = linalg.cho_factor(vb)
    except linalg.LinAlgError:
        return float("nan")
    return float(b @ linalg.cho_solve(factor, b))


@dataclass
class RegFit:
    beta: np.ndarray
    vb: np.ndarray
    se: np.ndarray
    statistic: np.ndarray
    pvalue: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    df: float | None
    qm: float
    qm_df: tuple[int, ...]
    qm_pvalue: float
    qe: float
    qe_df: int
    qe_pvalue: float
    tau2: float
    se_tau2: float
    i2: float
    h2: float
    s2: float
    converged: bool
    n_iter: int
    convergence: str


def _score_fn(
    method: str, y: np.ndarray, v: np.ndarray, X: np.ndarray, k: int, p: int
) -> Callable[[float], float]:
    def g(t: float) -> float:
        w = 1.0 / (v + t)
        P, _ = _proj(X, w)
        Py = P @ y
        if method == "REML":
            return float(Py @ Py - np.trace(P))
        if method == "ML":
            return float(Py @ Py - w.sum())
        return float(y @ Py - (k - p))

    return g


def _bracket(g: Callable[[float], float], start: float) -> tuple[float, int, bool, bool]:
    if not g(0.0) > 0:
        return 0.0, 0, True, True
    hi = max(1.0, start)
    it = 0
    while g(hi) > 0:
        hi *= 2.0
        it += 1
        if it > 2000:
            return float("nan"), it, False, False
    root, info = optimize.brentq(g, 0.0, hi, xtol=1e-300, rtol=4 * EPS, full_output=True)
    return float(root), it + info.iterations, bool(info.converged), False


def tau2_general(
    y: np.ndarray, v: np.ndarray, X: np.ndarray, method: str, *, maxiter: int = MAXITER
) -> tuple[float, float, bool, int, str, float, float]:
    """tau^2, its SE, and convergence information for a general design matrix."""
    k, p = X.shape
    yc = y - y.mean()
    n_iter = 0
    converged = True
    w0 = 1.0 / v
    P0, _ = _proj(X, w0)
    Q0 = float(yc @ P0 @ yc)
    trP0 = float(np.trace(P0))
    H = X @ np.linalg.inv(X.T @ X) @ X.T
    Pols = np.eye(k) - H
    PVols = Pols * v[None, :]
    he = (float(yc @ Pols @ yc) - float(np.trace(PVols))) / (k - p)
    conv = CONV_CLOSED
    if method == "EE":
        tau2, conv = 0.0, CONV_NONE
    elif method in ("DL", "HS", "HE", "SJ"):
        if method == "DL":
            raw = (Q0 - (k - p)) / trP0
        elif method == "HS":
            raw = (Q0 - k) / w0.sum()
        elif method == "HE":
            raw = he
        else:
            tau0 = float(np.var(yc))  # var(y) * (k-1)/k
            Psj, _ = _proj(X, 1.0 / (v + tau0))
            raw = tau0 * float(yc @ Psj @ yc) / (k - p)
        tau2 = max(0.0, raw)
        if raw < 0:
            conv = CONV_CLOSED0
    else:
        g = _score_fn(method, yc, v, X, k, p)
        fisher = method in ("REML", "ML")
        conv = CONV_FAILED
        if fisher:
            tau2 = max(0.0, he)
        else:
            tau2 = 0.0
            if not g(0.0) > 0:
                conv = CONV_BOUND0
        if conv == CONV_FAILED:
            for _ in range(maxiter):
                w = 1.0 / (v + tau2)
                P, _ = _proj(X, w)
                Py = P @ yc
                if method == "REML":
                    step = (Py @ Py - np.trace(P)) / np.sum(P * P)
                elif method == "ML":
                    step = (Py @ Py - w.sum()) / np.sum(w * w)
                else:
                    step = (yc @ Py - (k - p)) / (Py @ Py)
                new = max(0.0, tau2 + float(step))
                n_iter += 1
                if not np.isfinite(new):
                    break
                delta = abs(new - tau2)
                tau2 = new
                if delta <= TOL * max(1.0, tau2):
                    conv = (CONV_FISHER0 if tau2 == 0 else CONV_FISHER) if fisher else CONV_NEWTON
                    break
        if conv == CONV_FAILED:
            tau2, it, converged, at0 = _bracket(g, tau2 if np.isfinite(tau2) else 0.0)
            n_iter += it
            conv = (CONV_BRACKET0 if at0 else CONV_BRACKET) if converged else CONV_FAILED

    # standard error of tau2 (as metafor reports it)
    t = tau2
    w = 1.0 / (v + t)
    if method == "EE":
        se = float("nan")
    elif method in ("DL", "HS"):
        num = 2 * (k - p) + 4 * t * trP0 + 2 * t * t * np.sum(P0 * P0)
        den = trP0 if method == "DL" else w0.sum()
        se = float(np.sqrt(num / den**2))
    elif method == "HE":
        se = float(
            np.sqrt(
                (2 * np.sum(PVols * PVols.T) + 4 * t * np.trace(PVols) + 2 * t * t * (k - p))
                / (k - p) ** 2
            )
        )
    elif method == "SJ":
        tau0 = float(np.var(yc))
        Psj, _ = _proj(X, 1.0 / (v + tau0))
        PV = Psj * v[None, :]
        se = float(
            np.sqrt(
                tau0**2
                / (k - p) ** 2
                * (2 * np.sum(PV * PV.T) + 4 * t * np.sum(PV * Psj) + 2 * t * t * np.sum(Psj**2))
            )
        )
    elif method == "ML":
        se = float(np.sqrt(2.0 / np.sum(w * w)))
    elif method == "REML":
        P, _ = _proj(X, w)
        se = float(np.sqrt(2.0 / np.sum(P * P)))
    else:
        se = float(np.sqrt(2.0 * k * k / (k - p) / w.sum() ** 2))
    return tau2, se, converged, n_iter, conv, Q0, trP0


def fit_general(
    y: np.ndarray,
    v: np.ndarray,
    X: np.ndarray,
    method: str,
    test: str,
    level: float,
    btt: Sequence[int] | None = None,
    *,
    maxiter: int = MAXITER,
) -> RegFit:
    """Fit ``y ~ X`` (X includes the intercept column) by weighted least squares with tau^2."""
    k, p = X.shape
    tau2, se_tau2, converged, n_iter, conv, Q0, trP0 = tau2_general(
        y, v, X, method, maxiter=maxiter
    )
    w = 1.0 / (v + tau2)
    _, vb = _proj(X, w)
    beta = vb @ (X.T @ (w * y))
    if test in ("knha", "adhoc"):
        rss = float(np.sum(w * (y - X @ beta) ** 2))
        s2w = 0.0 if rss <= EPS else rss / (k - p)
        if test == "adhoc":
            s2w = max(1.0, s2w)
        vb = s2w * vb
    se = np.sqrt(np.diag(vb))
    with np.errstate(divide="ignore", invalid="ignore"):  # se = 0: knha on identical effects
        stat = beta / se
    alpha = 1.0 - level
    if btt is None:
        btt = list(range(1, p)) if p > 1 else [0]
    m = len(btt)
    bsub = beta[btt]
    qm = _wald(bsub, vb[np.ix_(btt, btt)])
    if test in ("knha", "adhoc"):
        df = float(k - p)
        pval = 2.0 * stats.t.sf(np.abs(stat), df)
        crit = stats.t.isf(alpha / 2.0, df)
        qm = qm / m
        qm_df: tuple[int, ...] = (m, k - p)
        qm_p = float(stats.f.sf(qm, m, k - p))
    else:
        df = None
        pval = 2.0 * stats.norm.sf(np.abs(stat))
        crit = stats.norm.isf(alpha / 2.0)
        qm_df = (m,)
        qm_p = float(stats.chi2.sf(qm, m))
    qe = max(0.0, Q0)
    qe_df = k - p
    qe_p = float(stats.chi2.sf(qe, qe_df))
    s2 = (k - p) / trP0
    if method == "EE":
        i2 = max(0.0, 100.0 * (qe - qe_df) / qe) if qe > 0 else 0.0
        h2 = qe / qe_df
    else:
        i2 = 100.0 * tau2 / (s2 + tau2)
        h2 = tau2 / s2 + 1.0
    return RegFit(
        beta=beta,
        vb=vb,
        se=se,
        statistic=stat,
        pvalue=pval,
        ci_low=beta - crit * se,
        ci_high=beta + crit * se,
        df=df,
        qm=qm,
        qm_df=qm_df,
        qm_pvalue=qm_p,
        qe=qe,
        qe_df=qe_df,
        qe_pvalue=qe_p,
        tau2=tau2,
        se_tau2=se_tau2,
        i2=i2,
        h2=h2,
        s2=s2,
        converged=converged,
        n_iter=n_iter,
        convergence=conv,
    )
