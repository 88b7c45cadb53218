r"""Vectorised random-effects engine for intercept-only models.

Every array here is two-dimensional: one row per meta-analysis, one column per study
slot, with a boolean mask ``M`` telling which slots hold a study. :func:`rma` runs this
engine on a single row and :func:`rma_many` on many, so the two agree by construction.

For an intercept-only model with weights :math:`w_i` the projection
:math:`P = W - w w^\top / \sum w` has closed-form traces, which is what makes the
vectorisation cheap:

* :math:`y^\top P y = \sum w_i (y_i - \hat\mu_w)^2`
* :math:`y^\top P P y = \sum w_i^2 (y_i - \hat\mu_w)^2`
* :math:`\operatorname{tr} P = \sum_i w_i o_i / \sum w`
* :math:`\sum_{ij} P_{ij}^2 a_i b_j = \big(\sum_i w_i^2 o_i^2 a_i b_i
  + \sum_i w_i^2 a_i \sum_{j \ne i} w_j^2 b_j\big) / (\sum w)^2`

where :math:`o_i = \sum_{j \ne i} w_j`. These are the textbook forms
:math:`\sum w - \sum w^2/\sum w` and :math:`\sum w_i^2(1 - 2w_i/\sum w)a_ib_i +
(\sum w_i^2a_i)(\sum w_j^2b_j)/(\sum w)^2` rearranged so that no term is the difference
of two large numbers: when one weight dominates (e.g. :math:`v = (10^{-8}, 1, 1)`) the
textbook forms lose every significant digit (metafor, which builds :math:`P` explicitly,
does not). The textbook forms are faster, so they serve every row except those where the
largest weight exceeds 99.9% of the total (:func:`_dominated`); sums over
:math:`j \ne i` come from :func:`_sum_others`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

EPS = np.finfo(float).eps
#: Convergence tolerance on tau^2 for the iterative estimators: |delta| <= TOL * max(1, tau2).
TOL = 1e-12
MAXITER = 200

CONV_SINGLE = "single study (nothing to estimate)"
CONV_NONE = "no tau2 (common-effect model)"
CONV_CLOSED = "closed form"
CONV_CLOSED0 = "closed form, truncated at 0"
CONV_FISHER = "newton/fisher scoring"
CONV_FISHER0 = "newton/fisher scoring (boundary: tau2 = 0)"
CONV_NEWTON = "newton (generalised Q estimating equation)"
CONV_BOUND0 = "tau2 = 0 (Q(0) <= k - 1)"
CONV_BRACKET = "bracketing root-finder"
CONV_BRACKET0 = "bracketing root-finder (boundary: tau2 = 0)"
CONV_FAILED = "did not converge"


def _rsum(a: np.ndarray) -> np.ndarray:
    return a.sum(axis=1)


@dataclass
class _Moments:
    sw: np.ndarray
    mu: np.ndarray
    r: np.ndarray
    ypy: np.ndarray
    yppy: np.ndarray
    trp: np.ndarray
    sw2: np.ndarray


#: A row whose largest weight exceeds (1 - _DOMINANT) of the total is "dominated": the
#: textbook trace formulas would lose more than 3 of their ~16 digits there.
_DOMINANT = 1e-3


def _dominated(w: np.ndarray, sw: np.ndarray) -> np.ndarray:
    """Indices of the rows where one weight dominates (see :data:`_DOMINANT`)."""
    return np.flatnonzero(w.max(axis=1) > (1.0 - _DOMINANT) * sw)


def _sum_others(x: np.ndarray) -> np.ndarray:
    r"""Row-wise :math:`\sum_{j \ne i} x_j` for non-negative ``x``, without cancellation.

    ``sum(x) - x_i`` loses all precision for the dominant entry when one entry dwarfs the
    others. Instead the sum of every entry but the row's largest is formed directly, and
    ``(largest - x_i)`` (exact or nearly so, by Sterbenz's lemma when close) is added back.
    """
    rows = np.arange(x.shape[0])
    top = np.argmax(x, axis=1)
    xmax = x[rows, top]
    rest = x.copy()
    rest[rows, top] = 0.0
    return _rsum(rest)[:, None] + (xmax[:, None] - x)


def _moments(Y: np.ndarray, w: np.ndarray) -> _Moments:
    """Weighted moments for weights ``w`` (zero in empty slots)."""
    sw = _rsum(w)
    mu = _rsum(w * Y) / sw
    r = Y - mu[:, None]
    wr = w * r
    ypy = _rsum(wr * r)
    yppy = _rsum(wr * wr)
    sw2 = _rsum(w * w)
    trp = sw - sw2 / sw
    dom = _dominated(w, sw)
    if dom.size:
        trp[dom] = _rsum(w[dom] * _sum_others(w[dom])) / sw[dom]
    return _Moments(sw, mu, r, ypy, yppy, trp, sw2)


def _sum_p2ab(w: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    r""":math:`\sum_{ij} P_{ij}^2 a_i b_j` for :math:`P = W - w w^\top / \sum w` (row-wise)."""
    sw = _rsum(w)
    w2 = w * w
    a = np.broadcast_to(a, w.shape)
    b = np.broadcast_to(b, w.shape)
    out = _rsum(w2 * (1.0 - 2.0 * w / sw[:, None]) * a * b) + _rsum(w2 * a) * _rsum(
        w2 * b
    ) / (sw * sw)
    dom = _dominated(w, sw)
    if dom.size:
        wd, w2d, ad, bd = w[dom], w2[dom], a[dom], b[dom]
        other = _sum_others(wd)
        out[dom] = (
            _rsum(w2d * other * other * ad * bd) + _rsum(w2d * ad * _sum_others(w2d * bd))
        ) / (sw[dom] * sw[dom])
    return out


def _weights(V: np.ndarray, M: np.ndarray, tau2: np.ndarray) -> np.ndarray:
    return np.where(M, 1.0 / (V + tau2[:, None]), 0.0)


# --------------------------------------------------------------------------- score functions
def _score(
    method: str, Y: np.ndarray, V: np.ndarray, M: np.ndarray, k: np.ndarray, tau2: np.ndarray
) -> np.ndarray:
    """Estimating-equation value g(tau2): positive means tau2 should increase.

    REML: y'PPy - tr(P); ML: y'PPy - sum(w); PM/EB: y'Py - (k - 1).
    Each is evaluated at weights 1 / (v_i + tau2).
    """
    m = _moments(Y, _weights(V, M, tau2))
    if method == "REML":
        return m.yppy - m.trp
    if method == "ML":
        return m.yppy - m.sw
    return m.ypy - (k - 1.0)


def _loglik(
    method: str, Y: np.ndarray, V: np.ndarray, M: np.ndarray, tau2: np.ndarray
) -> np.ndarray:
    """(Restricted) log-likelihood up to a constant, for comparing tau2 candidates."""
    w = _weights(V, M, tau2)
    m = _moments(Y, w)
    ll = -0.5 * _rsum(np.where(M, np.log(V + tau2[:, None]), 0.0)) - 0.5 * m.ypy
    if method == "REML":
        ll = ll - 0.5 * np.log(m.sw)
    return ll


def _bracket_solve(
    method: str, Y: np.ndarray, V: np.ndarray, M: np.ndarray, k: np.ndarray, start: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Vectorised bisection for a root of the estimating equation on [0, upper].

    Rows whose equation is non-positive at 0 get tau2 = 0. ``upper`` is found by doubling
    from ``max(1, start, var(y))`` until the equation changes sign. Bisection stops when the
    bracket is narrower than ``TOL * max(1, tau2)`` (relative to double precision).
    Returns (tau2, n_iter, ok, at_zero).
    """
    n = Y.shape[0]
    zeros = np.zeros(n)
    g0 = _score(method, Y, V, M, k, zeros)
    lo = np.zeros(n)
    ybar = _rsum(np.where(M, Y, 0.0)) / k
    spread = _rsum(np.where(M, (Y - ybar[:, None]) ** 2, 0.0)) / k
    scale = np.maximum(spread, _rsum(np.where(M, V, 0.0)) / k)
    if method in ("REML", "ML"):
        # the likelihood need not be unimodal: when the score is negative at 0, look for a
        # later sign change on a log grid (an interior local maximum) before settling on 0
        neg0 = ~(g0 > 0)
        found = np.zeros(n, dtype=bool)
        for e in np.linspace(-8.0, 4.0, 49):
            t = scale * 10.0**e
            g = _score(method, Y, V, M, k, t)
            hit = neg0 & ~found & (g > 0)
            lo = np.where(hit, t, lo)
            found |= hit
        at_zero = neg0 & ~found
    else:
        at_zero = ~(g0 > 0)
    tau2 = np.zeros(n)
    n_iter = np.zeros(n, dtype=int)
    ok = np.ones(n, dtype=bool)
    act = np.flatnonzero(~at_zero)
    if act.size == 0:
        return tau2, n_iter, ok, at_zero
    Ya, Va, Ma, ka = Y[act], V[act], M[act], k[act]
    lo = lo[act]
    hi = np.maximum.reduce([np.ones(act.size), np.nan_to_num(start[act], nan=0.0), scale[act]])
    hi = np.maximum(hi, 2.0 * lo)
    its = np.zeros(act.size, dtype=int)
    for _ in range(2000):
        g = _score(method, Ya, Va, Ma, ka, hi)
        need = g > 0
        if not need.any():
            break
        lo = np.where(need, hi, lo)
        hi = np.where(need, hi * 2.0, hi)
        its += need
    good = ~(_score(method, Ya, Va, Ma, ka, hi) > 0)
    for _ in range(2000):
        mid = 0.5 * (lo + hi)
        live = (hi - lo > TOL * np.maximum(1.0, hi) * 1e-3) & (mid > lo) & (mid < hi)
        if not live.any():
            break
        g = _score(method, Ya, Va, Ma, ka, mid)
        up = g > 0
        lo = np.where(live & up, mid, lo)
        hi = np.where(live & ~up, mid, hi)
        its += live
    root = 0.5 * (lo + hi)
    if method in ("REML", "ML"):
        # an interior root reached from a negative score at 0: keep it only if it beats 0
        z = np.zeros(act.size)
        worse = ~(g0[act] > 0) & (_loglik(method, Ya, Va, Ma, z) > _loglik(method, Ya, Va, Ma, root))
        root = np.where(worse, 0.0, root)
        at_zero[act[worse]] = True
    tau2[act] = root
    n_iter[act] = its
    ok[act] = good
    return tau2, n_iter, ok, at_zero


# --------------------------------------------------------------------------- estimators
@dataclass
class Tau2Fit:
    tau2: np.ndarray
    se_tau2: np.ndarray
    n_iter: np.ndarray
    converged: np.ndarray
    convergence: np.ndarray  # object array of strings


def estimate_tau2(
    Y: np.ndarray,
    V: np.ndarray,
    M: np.ndarray,
    method: str,
    *,
    maxiter: int = MAXITER,
    force_bracket: bool = False,
) -> Tau2Fit:
    """Estimate tau^2 row by row (vectorised). See :func:`ketamine_evidence.meta.rma`."""
    n = Y.shape[0]
    k = _rsum(M).astype(float)
    Yz = np.where(M, Y, 0.0)
    Vz = np.where(M, V, 1.0)
    tau2 = np.zeros(n)
    n_iter = np.zeros(n, dtype=int)
    converged = np.ones(n, dtype=bool)
    conv = np.full(n, CONV_CLOSED, dtype=object)
    single = k < 2
    multi = ~single
    with np.errstate(divide="ignore", invalid="ignore"):
        w0 = np.where(M, 1.0 / Vz, 0.0)
        m0 = _moments(Yz, w0)
        ybar = _rsum(Yz) / k
        dev2 = np.where(M, (Yz - ybar[:, None]) ** 2, 0.0)
        rss_ols = _rsum(dev2)
        sv = _rsum(np.where(M, Vz, 0.0))
        tr_pv_ols = sv * (k - 1.0) / k
        ones = M.astype(float)
        he = (rss_ols - tr_pv_ols) / (k - 1.0)
        raw = None
        if method == "EE":
            conv[:] = CONV_NONE
        elif method == "DL":
            raw = (m0.ypy - (k - 1.0)) / m0.trp
        elif method == "HS":
            raw = (m0.ypy - k) / m0.sw
        elif method == "HE":
            raw = he
        elif method == "SJ":
            tau0 = rss_ols / k
            m_sj = _moments(Yz, _weights(Vz, M, tau0))
            raw = tau0 * m_sj.ypy / (k - 1.0)
        if raw is not None:
            tau2 = np.where(multi, np.maximum(0.0, raw), 0.0)
            conv[multi & (raw < 0)] = CONV_CLOSED0
        elif method in ("REML", "ML", "PM", "EB"):
            tau2, n_iter, converged, conv = _iterate(
                method, Yz, Vz, M, k, he, multi, maxiter=maxiter, force_bracket=force_bracket
            )
        tau2 = np.where(multi, tau2, 0.0)
        conv[single] = CONV_SINGLE
        converged[single] = True

        # standard errors of tau2, as metafor reports them
        t = tau2
        w = _weights(Vz, M, t)
        mt = _moments(Yz, w)
        if method == "EE":
            se = np.full(n, np.nan)
        elif method in ("DL", "HS"):
            trpp0 = _sum_p2ab(w0, ones, ones)
            num = 2.0 * (k - 1.0) + 4.0 * t * m0.trp + 2.0 * t * t * trpp0
            den = m0.trp if method == "DL" else m0.sw
            se = np.sqrt(num / den**2)
        elif method == "HE":
            trpvpv = _sum_p2ab(ones, Vz * ones, Vz * ones)
            se = np.sqrt(
                (2.0 * trpvpv + 4.0 * t * tr_pv_ols + 2.0 * t * t * (k - 1.0)) / (k - 1.0) ** 2
            )
        elif method == "SJ":
            tau0 = rss_ols / k
            wsj = _weights(Vz, M, tau0)
            trpvpv = _sum_p2ab(wsj, Vz * ones, Vz * ones)
            sp2v = _sum_p2ab(wsj, ones, Vz * ones)
            spp = _sum_p2ab(wsj, ones, ones)
            se = np.sqrt(
                tau0**2 / (k - 1.0) ** 2 * (2.0 * trpvpv + 4.0 * t * sp2v + 2.0 * t * t * spp)
            )
        elif method == "ML":
            se = np.sqrt(2.0 / mt.sw2)
        elif method == "REML":
            se = np.sqrt(2.0 / _sum_p2ab(w, ones, ones))
        else:  # PM, EB
            se = np.sqrt(2.0 * k * k / (k - 1.0) / mt.sw**2)
        se = np.where(multi, se, np.nan)
    return Tau2Fit(tau2, se, n_iter, converged, conv)


def _iterate(
    method: str,
    Y: np.ndarray,
    V: np.ndarray,
    M: np.ndarray,
    k: np.ndarray,
    he: np.ndarray,
    multi: np.ndarray,
    *,
    maxiter: int,
    force_bracket: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Fisher scoring (REML, ML) or Newton (PM, EB) with a bisection fallback."""
    n = Y.shape[0]
    tau2 = np.zeros(n)
    n_iter = np.zeros(n, dtype=int)
    done = ~multi.copy()
    conv = np.full(n, CONV_FAILED, dtype=object)
    fisher = method in ("REML", "ML")
    g0 = _score(method, Y, V, M, k, np.zeros(n))
    if fisher:
        tau2 = np.where(multi, np.maximum(0.0, np.nan_to_num(he, nan=0.0)), 0.0)
    else:
        # Paule-Mandel: Q(0) <= k - 1 means the estimating equation has no positive root
        zero = multi & ~(g0 > 0)
        conv[zero] = CONV_BOUND0
        done |= zero
    if force_bracket:
        maxiter = 0
    lo = np.zeros(n)
    hi = np.full(n, np.inf)
    for _ in range(maxiter):
        act = np.flatnonzero(~done)
        if act.size == 0:
            break
        t = tau2[act]
        w = _weights(V[act], M[act], t)
        m = _moments(Y[act], w)
        if fisher:
            wr = w * m.r
            ypppy = _rsum(w * wr * wr) - _rsum(w * wr) ** 2 / m.sw
            if method == "REML":
                info = _sum_p2ab(w, M[act] * 1.0, M[act] * 1.0)
                g = m.yppy - m.trp
            else:
                info = m.sw2
                g = m.yppy - m.sw
            # Newton with the observed information where the (restricted) likelihood is
            # locally concave, Fisher scoring (expected information) elsewhere
            gprime = info - 2.0 * ypppy
            step = np.where(gprime < 0, -g / np.where(gprime < 0, gprime, -1.0), g / info)
            # keep a bracket [lo, hi] around the root: score > 0 below, <= 0 above
            lo[act] = np.where(g > 0, np.maximum(lo[act], t), lo[act])
            hi[act] = np.where(g > 0, hi[act], np.minimum(hi[act], t))
            cand = t + step
            to_zero = (cand < 0) & ~(g0[act] > 0)  # boundary maximum: jump to tau2 = 0
            outside = ~to_zero & ((cand <= lo[act]) | (cand >= hi[act]))
            mid = np.where(np.isfinite(hi[act]), 0.5 * (lo[act] + hi[act]), t + g / info)
            cand = np.where(to_zero, 0.0, np.where(outside & (step != 0), mid, cand))
        else:  # Paule-Mandel: Newton on y'P(tau2)y = k - 1, derivative -y'PPy
            step = (m.ypy - (k[act] - 1.0)) / m.yppy
            cand = t + step
        new = np.maximum(0.0, cand)
        bad = ~np.isfinite(new)
        new = np.where(bad, t, new)
        tau2[act] = new
        n_iter[act] += 1
        fin = (np.abs(new - t) <= TOL * np.maximum(1.0, new)) & ~bad
        if fisher:
            conv[act[fin]] = np.where(new[fin] == 0.0, CONV_FISHER0, CONV_FISHER)
        else:
            conv[act[fin]] = CONV_NEWTON
        done[act[fin | bad]] = True
        # rows that produced a non-finite step fall through to the bracketing solver
        conv[act[bad]] = CONV_FAILED
    if fisher:
        # metafor's ll0check: with a non-positive score at 0, tau2 = 0 is itself a local
        # maximum; keep the interior solution only if its likelihood is at least as high
        chk = np.flatnonzero(multi & (conv == CONV_FISHER) & ~(g0 > 0))
        if chk.size:
            z = np.zeros(chk.size)
            ll0 = _loglik(method, Y[chk], V[chk], M[chk], z)
            ll1 = _loglik(method, Y[chk], V[chk], M[chk], tau2[chk])
            worse = ll0 > ll1
            tau2[chk[worse]] = 0.0
            conv[chk[worse]] = CONV_FISHER0
        # the (restricted) likelihood can be bimodal: when the score at 0 is negative and
        # the iterations ended on the boundary, scan for a higher interior maximum
        chk = np.flatnonzero(multi & (conv == CONV_FISHER0) & ~(g0 > 0))
        if chk.size:
            t_b, it_b, ok_b, z_b = _bracket_solve(
                method, Y[chk], V[chk], M[chk], k[chk], tau2[chk]
            )
            better = ok_b & ~z_b
            tau2[chk[better]] = t_b[better]
            n_iter[chk] += it_b
            conv[chk[better]] = CONV_BRACKET
    failed = np.flatnonzero(multi & (conv == CONV_FAILED))
    converged = np.ones(n, dtype=bool)
    if failed.size:
        t_b, it_b, ok_b, z_b = _bracket_solve(
            method, Y[failed], V[failed], M[failed], k[failed], tau2[failed]
        )
        tau2[failed] = t_b
        n_iter[failed] += it_b
        converged[failed] = ok_b
        conv[failed] = np.where(z_b, CONV_BRACKET0, CONV_BRACKET)
        conv[failed[~ok_b]] = CONV_FAILED
    return tau2, n_iter, converged, conv


# --------------------------------------------------------------------------- inference
@dataclass
class Fit:
    k: np.ndarray
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
    weights: np.ndarray
    converged: np.ndarray
    n_iter: np.ndarray
    convergence: np.ndarray


def fit_rows(
    Y: np.ndarray,
    V: np.ndarray,
    M: np.ndarray,
    method: str,
    test: str,
    level: float,
    pi_df: str | None = None,
    **kw: Any,
) -> Fit:
    """Fit intercept-only models on every row of ``Y``/``V`` (mask ``M``)."""
    Yz = np.where(M, Y, 0.0)
    Vz = np.where(M, V, 1.0)
    k = _rsum(M).astype(float)
    single = k < 2
    tf = estimate_tau2(Yz, Vz, M, method, **kw)
    t = tf.tau2
    with np.errstate(divide="ignore", invalid="ignore"):
        w = _weights(Vz, M, t)
        m = _moments(Yz, w)
        est = m.mu
        vb = 1.0 / m.sw
        use_t = (test in ("knha", "adhoc")) & ~single  # k = 1: metafor falls back to z
        if test in ("knha", "adhoc"):
            s2w = np.where(m.ypy <= EPS, 0.0, m.ypy / (k - 1.0))
            if test == "adhoc":
                s2w = np.maximum(s2w, 1.0)
            vb = np.where(use_t, s2w * vb, vb)
        se = np.sqrt(vb)
        stat = est / se
        df = np.where(use_t, k - 1.0, np.nan)
        dfc = np.where(use_t, k - 1.0, 1.0)
        alpha = 1.0 - level
        p_t = 2.0 * stats.t.sf(np.abs(stat), dfc)
        p_z = 2.0 * stats.norm.sf(np.abs(stat))
        pval = np.where(use_t, p_t, p_z)
        crit = np.where(use_t, stats.t.isf(alpha / 2.0, dfc), stats.norm.isf(alpha / 2.0))
        ci_low = est - crit * se
        ci_high = est + crit * se

        # prediction interval (metafor predict.rma; pi_df="k-2" is pi.type="riley")
        if pi_df is None:
            crit_pi = crit
        else:
            pdf = k - 1.0 if pi_df == "k-1" else k - 2.0
            crit_pi = stats.t.isf(alpha / 2.0, np.maximum(pdf, 1.0))
        half = crit_pi * np.sqrt(vb + t)
        pi_low = est - half
        pi_high = est + half

        # heterogeneity statistics (always from the common-effect weights 1/v)
        w0 = np.where(M, 1.0 / Vz, 0.0)
        m0 = _moments(Yz, w0)
        q = np.maximum(0.0, m0.ypy)
        q_df = k - 1.0
        q_p = stats.chi2.sf(q, np.maximum(q_df, 1.0))
        s2 = (k - 1.0) / m0.trp
        if method == "EE":
            i2 = np.where(q > 0, np.maximum(0.0, 100.0 * (q - q_df) / q), 0.0)
            h2 = q / q_df
        else:
            i2 = 100.0 * t / (s2 + t)
            h2 = t / s2 + 1.0
        q = np.where(single, 0.0, q)
        q_p = np.where(single, 1.0, q_p)
        i2 = np.where(single, 0.0, i2)
        h2 = np.where(single, 1.0, h2)
        s2 = np.where(single, 0.0, s2)
        weights = np.where(M, 100.0 * w / m.sw[:, None], np.nan)
    return Fit(
        k=k.astype(int),
        estimate=est,
        se=se,
        statistic=stat,
        df=df,
        pvalue=pval,
        ci_low=ci_low,
        ci_high=ci_high,
        pi_low=pi_low,
        pi_high=pi_high,
        tau2=t,
        se_tau2=tf.se_tau2,
        i2=i2,
        h2=h2,
        q=q,
        q_df=q_df.astype(int),
        q_pvalue=q_p,
        s2=s2,
        weights=weights,
        converged=tf.converged,
        n_iter=tf.n_iter,
        convergence=tf.convergence,
    )


def row_floats(fit: Any, i: int, names: Iterable[str]) -> dict[str, float]:
    """Row ``i`` of the vectorised ``fit``'s arrays ``names``, as Python floats by name.

    What a one-analysis result (:func:`rma`, :func:`bayes`) takes from row ``i`` of the
    engine's many-row fit.
    """
    return {name: float(getattr(fit, name)[i]) for name in names}


def q_of_tau2(y: np.ndarray, v: np.ndarray, tau2: float) -> float:
    """Generalised Q statistic sum w_i (y_i - mu_w)^2 with w_i = 1/(v_i + tau2) (scalar)."""
    w = 1.0 / (v + tau2)
    mu = np.sum(w * y) / np.sum(w)
    return float(np.sum(w * (y - mu) ** 2))
