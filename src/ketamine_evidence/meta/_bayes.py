r"""Bayesian random-effects meta-analysis by numerical integration over tau.

The normal-normal hierarchical model (Roever 2020, J Stat Softw 93(6), section 2):

.. math:: y_i \mid \theta_i \sim N(\theta_i, v_i), \qquad
          \theta_i \mid \mu, \tau \sim N(\mu, \tau^2),

with a half-normal or half-Cauchy prior on :math:`\tau` and an improper uniform or a normal
prior on :math:`\mu`. Given :math:`\tau`, with :math:`w_i = 1/(v_i + \tau^2)` and prior
precision :math:`p_0 = 1/s_0^2` (0 for the uniform prior) around :math:`m_0`,

.. math:: \mu \mid \tau, y \sim N\Big(m(\tau),\, 1/W(\tau)\Big), \quad
          W = \sum w_i + p_0, \quad m = \frac{\sum w_i y_i + p_0 m_0}{W},

and the marginal posterior of :math:`\tau` is, up to a constant,

.. math:: p(\tau \mid y) \propto p(\tau)\, \prod_i (v_i+\tau^2)^{-1/2}\, W^{-1/2}
          \exp\Big\{-\tfrac12\Big[\sum w_i (y_i - m)^2 + p_0 (m_0 - m)^2\Big]\Big\}

(Roever 2020, eqs. 9-13). The marginal posterior of :math:`\mu` is the continuous mixture
:math:`\int N(\mu; m(\tau), 1/W(\tau))\, p(\tau \mid y)\, d\tau` and a new study's true
effect :math:`\theta_{new}` is the mixture of :math:`N(m, 1/W + \tau^2)`.

Numerics. Every integral over :math:`\tau` is computed in the variable
:math:`t` with :math:`\tau = \exp(c + a \sinh t)` (a sinh-stretched log scale: fine
near the posterior's centre :math:`e^c`, double-exponentially wide in the tails, so both
the mass near :math:`\tau = 0` and the algebraic half-Cauchy tail are captured) by
composite 8-point Gauss-Legendre panels of width 1/4 in :math:`t` over
:math:`|a \sinh t| \le 45`. The centre :math:`c` and spread :math:`a` come from a coarse
first pass (trapezoidal rule in the same variable with :math:`c` at the data's scale).
Quantiles of :math:`\mu` and :math:`\theta_{new}` solve :math:`F(x) = q` for the mixture
CDF by safeguarded Newton iterations; quantiles of :math:`\tau` solve
:math:`\int_0^x p(\tau \mid y) d\tau = q` with the panel sums below the panel that holds
the root plus a Gauss-Legendre rule on the remaining part of that panel. Agreement with a
brute-force reference (Simpson's rule on 55,000 points in log tau, tests/bayes_bruteforce.py)
is better than 1e-10 of the posterior's scale and 1e-12 in probabilities on the reference
data sets, and with R's bayesmeta within that package's own approximation error
(tests/test_meta_bayes.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import special

from ._engine import row_floats
from ._validate import check_level, check_many_data, check_study_data

#: Priors for the heterogeneity standard deviation tau understood by :func:`bayes`.
TAU_PRIORS = ("halfnormal", "halfcauchy")

_GL_X, _GL_W = np.polynomial.legendre.leggauss(8)
_PANEL = 0.25  # panel width in t
_REACH = 45.0  # |log tau - c| covered by the grid
_CHUNK = 1024  # rows integrated at once (bounds memory at about 100 MB for K = 10)
_TOL_P = 1e-14  # quantile solvers stop when the CDF is this close to its target

#: Posterior summaries, one array per row in the engine's fit (and a float in a result).
_SUMMARY_COLS = (
    "mu_mean",
    "mu_median",
    "mu_sd",
    "mu_ci_low",
    "mu_ci_high",
    "tau_median",
    "tau_ci_low",
    "tau_ci_high",
    "pred_ci_low",
    "pred_ci_high",
)
#: Columns of ``to_frame``: the model, then :data:`_SUMMARY_COLS`.
_PROB_COLS = ("k", "tau_prior", "tau_scale", "mu_prior_mean", "mu_prior_sd", "level",
              *_SUMMARY_COLS)


# --------------------------------------------------------------------------- validation
def _check_tau_prior(tau_prior: str, tau_scale: float) -> tuple[str, float]:
    kind = str(tau_prior).lower().replace("-", "").replace("_", "")
    if kind not in TAU_PRIORS:
        raise ValueError(f"unknown tau_prior {tau_prior!r}; choose one of {', '.join(TAU_PRIORS)}")
    try:
        scale = float(tau_scale)
    except (TypeError, ValueError):
        raise ValueError(f"tau_scale must be a positive number, got {tau_scale!r}") from None
    if not (math.isfinite(scale) and scale > 0.0):
        raise ValueError(f"tau_scale must be positive and finite, got {tau_scale!r}")
    return kind, scale


def _check_mu_prior(mu_prior: Sequence[float] | None) -> tuple[float, float] | None:
    if mu_prior is None:
        return None
    try:
        mean, sd = (float(x) for x in mu_prior)
    except (TypeError, ValueError):
        raise ValueError(
            f"mu_prior must be None (uniform) or (mean, sd) of a normal prior, got {mu_prior!r}"
        ) from None
    if not math.isfinite(mean):
        raise ValueError(f"mu_prior mean must be finite, got {mean!r}")
    if not (math.isfinite(sd) and sd > 0.0):
        raise ValueError(f"mu_prior sd must be positive and finite, got {sd!r}")
    return mean, sd


# --------------------------------------------------------------------------- the integrand
class _Model:
    """Rows of data plus priors; evaluates the log posterior of tau and m, W given tau."""

    def __init__(
        self,
        Y: np.ndarray,
        V: np.ndarray,
        M: np.ndarray,
        kind: str,
        scale: float,
        mu_prior: tuple[float, float] | None,
    ) -> None:
        self.Y = np.where(M, Y, 0.0)
        self.V = np.where(M, V, 1.0)
        self.M = M
        self.kind = kind
        self.scale = scale
        if mu_prior is None:
            self.m0, self.p0 = 0.0, 0.0
        else:
            self.m0, self.p0 = mu_prior[0], 1.0 / mu_prior[1] ** 2

    def take(self, idx: np.ndarray) -> _Model:
        out = object.__new__(_Model)
        out.__dict__.update(self.__dict__)
        out.Y, out.V, out.M = self.Y[idx], self.V[idx], self.M[idx]
        return out

    def log_prior(self, tau: np.ndarray) -> np.ndarray:
        z = tau / self.scale
        if self.kind == "halfnormal":
            return -0.5 * z * z
        return -np.log1p(z * z)

    def evaluate(self, tau: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Log posterior of tau (unnormalised), m(tau) and W(tau) at ``tau`` (rows x nodes)."""
        t2 = (tau * tau)[:, None, :]
        vt = self.V[:, :, None] + t2
        w = np.where(self.M[:, :, None], 1.0 / vt, 0.0)
        W = w.sum(axis=1) + self.p0
        m = (np.einsum("nkj,nk->nj", w, self.Y) + self.p0 * self.m0) / W
        r = self.Y[:, :, None] - m[:, None, :]
        q = np.einsum("nkj,nkj->nj", w, r * r) + self.p0 * (self.m0 - m) ** 2
        logdet = np.where(self.M[:, :, None], np.log(vt), 0.0).sum(axis=1)
        lp = -0.5 * (logdet + np.log(W) + q) + self.log_prior(tau)
        return lp, m, W


def _sinh_grid(
    center: np.ndarray, spread: np.ndarray, t: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """tau = exp(center + spread * sinh t) and dtau/dt, rows x nodes."""
    u = spread[:, None] * np.sinh(t)[None, :]
    tau = np.exp(center[:, None] + u)
    return tau, tau * spread[:, None] * np.cosh(t)[None, :]


def _first_pass(model: _Model, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Centre and spread of log tau from a coarse trapezoidal rule (step 1/8)."""
    t = np.arange(-4.5, 4.5 + 1e-9, 0.125)
    sv = np.sqrt(np.where(model.M, model.V, np.nan))
    c0 = np.log(np.sqrt(np.nanmean(sv, axis=1) * model.scale))
    tau, jac = _sinh_grid(c0, np.full(n, np.pi / 2), t)
    lp, _, _ = model.evaluate(tau)
    lw = lp + np.log(jac)
    w = np.exp(lw - lw.max(axis=1, keepdims=True))
    w /= w.sum(axis=1, keepdims=True)
    lt = np.log(tau)
    c = (w * lt).sum(axis=1)
    sd = np.sqrt(np.maximum((w * (lt - c[:, None]) ** 2).sum(axis=1), 0.0))
    return c, np.clip(1.5 * sd, 0.02, 1.5)


@dataclass
class _Mixture:
    """Posterior of tau on quadrature nodes: node weights (normalised) and conditionals."""

    tau: np.ndarray  # rows x nodes
    weight: np.ndarray
    mean: np.ndarray  # m(tau)
    var: np.ndarray  # 1 / W(tau)
    center: np.ndarray
    spread: np.ndarray
    edges: np.ndarray  # panel edges in t, rows x (panels + 1)
    cum: np.ndarray  # CDF of tau at the panel edges
    lmax: np.ndarray
    znorm: np.ndarray


def _integrate(model: _Model) -> _Mixture:
    n = model.Y.shape[0]
    c, a = _first_pass(model, n)
    # half-width in t so that |a sinh t| reaches _REACH; common to all rows of the chunk
    T = float(np.arcsinh(_REACH / a.min()))
    npan = int(math.ceil(2.0 * T / _PANEL))
    lo = -0.5 * npan * _PANEL
    edges = lo + _PANEL * np.arange(npan + 1)
    half = 0.5 * _PANEL
    t = (edges[:-1, None] + half * (_GL_X[None, :] + 1.0)).ravel()
    glw = np.tile(_GL_W * half, npan)
    tau, jac = _sinh_grid(c, a, t)
    lp, m, W = model.evaluate(tau)
    lw = lp + np.log(jac)
    lmax = lw.max(axis=1)
    raw = np.exp(lw - lmax[:, None]) * glw[None, :]
    panels = raw.reshape(n, npan, _GL_X.size).sum(axis=2)
    z = panels.sum(axis=1)
    cum = np.concatenate([np.zeros((n, 1)), np.cumsum(panels, axis=1)], axis=1) / z[:, None]
    return _Mixture(
        tau=tau,
        weight=raw / z[:, None],
        mean=m,
        var=1.0 / W,
        center=c,
        spread=a,
        edges=np.broadcast_to(edges, (n, npan + 1)),
        cum=cum,
        lmax=lmax,
        znorm=z,
    )


# --------------------------------------------------------------------------- root finding
#: ``fun(idx, x)`` of :func:`_solve`: (F, dF) for the rows ``idx`` at ``x``.
_RowFunction = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def _solve(
    fun: _RowFunction, target: np.ndarray, lo: np.ndarray, hi: np.ndarray, x0: np.ndarray
) -> np.ndarray:
    """Safeguarded Newton for increasing ``fun`` on brackets [lo, hi], row-wise.

    ``fun(idx, x)`` returns (F, dF) for rows ``idx``. Newton steps that leave the bracket
    are replaced by bisection; a row stops when |F - target| <= 1e-14 or the bracket is
    at double precision.
    """
    x = np.clip(x0, lo, hi).astype(float)
    lo, hi = lo.astype(float).copy(), hi.astype(float).copy()
    act = np.arange(x.size)
    for _ in range(200):
        if act.size == 0:
            break
        F, dF = fun(act, x[act])
        f = F - target[act]
        below = f < 0
        lo[act] = np.where(below, x[act], lo[act])
        hi[act] = np.where(below, hi[act], x[act])
        with np.errstate(divide="ignore", invalid="ignore"):
            step = x[act] - f / dF
        ok = np.isfinite(step) & (step > lo[act]) & (step < hi[act])
        new = np.where(ok, step, 0.5 * (lo[act] + hi[act]))
        width = hi[act] - lo[act]
        done = (np.abs(f) <= _TOL_P) | (width <= 4 * np.finfo(float).eps * np.abs(x[act]))
        done |= np.abs(new - x[act]) <= 1e-15 * np.maximum(1.0, np.abs(x[act]))
        x[act] = np.where(done, x[act], new)
        act = act[~done]
    return x


def _normal_mixture_quantile(
    weight: np.ndarray, mean: np.ndarray, sd: np.ndarray, q: float
) -> np.ndarray:
    """q-quantile of sum_j weight_j N(mean_j, sd_j^2), row-wise."""
    zq = special.ndtri(q)
    comp = mean + zq * sd
    used = weight > 0.0
    lo = np.where(used, comp, np.inf).min(axis=1)
    hi = np.where(used, comp, -np.inf).max(axis=1)
    x0 = (weight * comp).sum(axis=1)

    def fun(idx: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        z = (x[:, None] - mean[idx]) / sd[idx]
        F = (weight[idx] * special.ndtr(z)).sum(axis=1)
        dF = (weight[idx] * np.exp(-0.5 * z * z) / sd[idx]).sum(axis=1) / math.sqrt(2 * math.pi)
        return F, dF

    return _solve(fun, np.full(weight.shape[0], q), lo, hi, x0)


def _tau_quantile(model: _Model, mix: _Mixture, q: float) -> np.ndarray:
    """q-quantile of the posterior of tau, row-wise (solved in the grid variable t)."""
    n = mix.weight.shape[0]
    panel = (mix.cum <= q).sum(axis=1) - 1  # the panel whose CDF range holds q
    panel = np.clip(panel, 0, mix.cum.shape[1] - 2)
    rows = np.arange(n)
    lo = mix.edges[rows, panel]
    hi = mix.edges[rows, panel + 1]
    base = mix.cum[rows, panel]
    x0 = 0.5 * (lo + hi)

    def fun(idx: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        left = lo[idx]
        half = 0.5 * (t - left)
        nodes = left[:, None] + half[:, None] * (_GL_X[None, :] + 1.0)
        sub = model.take(idx)
        tau_n, jac_n = _sinh_grid_rows(mix.center[idx], mix.spread[idx], nodes)
        lp, _, _ = sub.evaluate(tau_n)
        g = np.exp(lp - mix.lmax[idx, None]) * jac_n / mix.znorm[idx, None]
        F = base[idx] + half * (g * _GL_W[None, :]).sum(axis=1)
        tau1, jac1 = _sinh_grid_rows(mix.center[idx], mix.spread[idx], t[:, None])
        lp1, _, _ = sub.evaluate(tau1)
        dF = (np.exp(lp1 - mix.lmax[idx, None]) * jac1)[:, 0] / mix.znorm[idx]
        return F, dF

    t = _solve(fun, np.full(n, q), lo, hi, x0)
    return _sinh_grid_rows(mix.center, mix.spread, t[:, None])[0][:, 0]


def _sinh_grid_rows(
    center: np.ndarray, spread: np.ndarray, t: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """As :func:`_sinh_grid` with a different set of t per row (rows x nodes)."""
    u = spread[:, None] * np.sinh(t)
    tau = np.exp(center[:, None] + u)
    return tau, tau * spread[:, None] * np.cosh(t)


# --------------------------------------------------------------------------- engine
@dataclass
class _Fit:
    k: np.ndarray
    mu_mean: np.ndarray
    mu_median: np.ndarray
    mu_sd: np.ndarray
    mu_ci_low: np.ndarray
    mu_ci_high: np.ndarray
    tau_median: np.ndarray
    tau_ci_low: np.ndarray
    tau_ci_high: np.ndarray
    pred_ci_low: np.ndarray
    pred_ci_high: np.ndarray
    posterior: list[PosteriorMixture]  # one per row


def _fit_chunk(
    model: _Model,
    kind: str,
    mu_prior: tuple[float, float] | None,
    k: np.ndarray,
    level: float,
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    mix = _integrate(model)
    # nodes that carry no weight in any row of the chunk are dropped from the mixtures
    keep = (mix.weight * (1.0 + (mix.tau / np.exp(mix.center)[:, None]) ** 2)).max(axis=0)
    keep = keep > 1e-300
    w, mean, var, tau = mix.weight[:, keep], mix.mean[:, keep], mix.var[:, keep], mix.tau[:, keep]
    w = w / w.sum(axis=1, keepdims=True)
    sd = np.sqrt(var)
    psd = np.sqrt(var + tau * tau)
    mu_mean = (w * mean).sum(axis=1)
    mu_sd = np.sqrt((w * (var + (mean - mu_mean[:, None]) ** 2)).sum(axis=1))
    if kind == "halfcauchy" and mu_prior is None:
        # p(tau | y) ~ tau^-(k+1) and Var(mu | tau) ~ tau^2 / k for large tau:
        # the posterior variance of mu is infinite when k <= 2
        mu_sd = np.where(k <= 2, np.inf, mu_sd)
    a = (1.0 - level) / 2.0
    # quantiles: nodes below 1e-18 in every row change no CDF value at double precision
    q = w.max(axis=0) > 1e-18
    wq, mq, sq, pq = w[:, q], mean[:, q], sd[:, q], psd[:, q]
    out = {
        "mu_mean": mu_mean,
        "mu_sd": mu_sd,
        "mu_median": _normal_mixture_quantile(wq, mq, sq, 0.5),
        "mu_ci_low": _normal_mixture_quantile(wq, mq, sq, a),
        "mu_ci_high": _normal_mixture_quantile(wq, mq, sq, 1.0 - a),
        "pred_ci_low": _normal_mixture_quantile(wq, mq, pq, a),
        "pred_ci_high": _normal_mixture_quantile(wq, mq, pq, 1.0 - a),
        "tau_median": _tau_quantile(model, mix, 0.5),
        "tau_ci_low": _tau_quantile(model, mix, a),
        "tau_ci_high": _tau_quantile(model, mix, 1.0 - a),
    }
    return out, tau, w, mean, sd


def fit_bayes_rows(
    Y: np.ndarray,
    V: np.ndarray,
    M: np.ndarray,
    kind: str,
    scale: float,
    mu_prior: tuple[float, float] | None,
    level: float,
) -> _Fit:
    """Posterior summaries for each row of NaN-padded ``Y``/``V`` (mask ``M``)."""
    k = M.sum(axis=1)
    parts, mix = [], []
    for s in range(0, Y.shape[0], _CHUNK):
        sl = slice(s, s + _CHUNK)
        model = _Model(Y[sl], V[sl], M[sl], kind, scale, mu_prior)
        out, tau, w, mean, sd = _fit_chunk(model, kind, mu_prior, k[sl], level)
        parts.append(out)
        mix.append((tau, w, mean, sd))
    cols = {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}
    posterior = [
        PosteriorMixture(t[i], w[i], m[i], sd[i]) for t, w, m, sd in mix for i in range(t.shape[0])
    ]
    return _Fit(k=k, posterior=posterior, **cols)


# --------------------------------------------------------------------------- results
def _mixture_cdf(x: float, weight: np.ndarray, mean: np.ndarray, sd: np.ndarray) -> float:
    """CDF of sum_j weight_j N(mean_j, sd_j^2) at ``x``, exact 0 and 1 at -inf and inf."""
    x = float(x)
    if x == math.inf:
        return 1.0
    if x == -math.inf:
        return 0.0
    return float(np.clip((weight * special.ndtr((x - mean) / sd)).sum(), 0.0, 1.0))


def _check_bounds(lower: float, upper: float) -> tuple[float, float]:
    lo, hi = float(lower), float(upper)
    if math.isnan(lo) or math.isnan(hi):
        raise ValueError(f"probability bounds must not be NaN, got [{lower}, {upper}]")
    if lo > hi:
        raise ValueError(f"lower bound {lower} is above upper bound {upper}")
    return lo, hi


def _prob(
    lower: float, upper: float, weight: np.ndarray, mean: np.ndarray, sd: np.ndarray
) -> float:
    lo, hi = _check_bounds(lower, upper)
    return max(0.0, _mixture_cdf(hi, weight, mean, sd) - _mixture_cdf(lo, weight, mean, sd))


@dataclass(frozen=True, eq=False)
class PosteriorMixture:
    r"""The posterior of mu as the quadrature mixture :math:`\sum_j w_j N(m_j, s_j^2)`.

    Node j stands for :math:`\tau_j` with normalised quadrature weight :math:`w_j`
    (quadrature weight times :math:`p(\tau_j \mid y)`), :math:`m_j = m(\tau_j)` and
    :math:`s_j^2 = 1/W(\tau_j)`; a new study's effect is the mixture of
    :math:`N(m_j, s_j^2 + \tau_j^2)`. This is what a later step needs to compute any
    posterior probability without refitting (:meth:`to_frame` / :meth:`from_frame`).
    """

    tau: np.ndarray
    weight: np.ndarray
    mean: np.ndarray
    sd: np.ndarray

    @property
    def pred_sd(self) -> np.ndarray:
        return np.sqrt(self.sd**2 + self.tau**2)

    def prob_mu(self, lower: float = -math.inf, upper: float = math.inf) -> float:
        r"""Posterior probability that mu lies in [lower, upper] (either bound may be infinite).

        :math:`\int \{\Phi((u - m(\tau))\sqrt{W}) - \Phi((l - m(\tau))\sqrt{W})\}
        p(\tau \mid y)\, d\tau`, exactly 1 for :math:`(-\infty, \infty)`.
        """
        return _prob(lower, upper, self.weight, self.mean, self.sd)

    def prob_pred(self, lower: float = -math.inf, upper: float = math.inf) -> float:
        """Predictive probability that a new study's true effect lies in [lower, upper].

        As :meth:`prob_mu` with conditional variance :math:`1/W(\tau) + \tau^2`.
        """
        return _prob(lower, upper, self.weight, self.mean, self.pred_sd)

    def density_mu(self, x: npt.ArrayLike) -> np.ndarray:
        """Posterior density of mu at ``x`` (array_like), e.g. for plotting."""
        return self._density(x, self.sd)

    def density_pred(self, x: npt.ArrayLike) -> np.ndarray:
        """Posterior predictive density of a new study's true effect at ``x``."""
        return self._density(x, self.pred_sd)

    def _density(self, x: npt.ArrayLike, sd: np.ndarray) -> np.ndarray:
        xa = np.asarray(x, dtype=float)
        z = (xa[..., None] - self.mean) / sd
        dens = np.exp(-0.5 * z * z) / (sd * math.sqrt(2.0 * math.pi))
        return np.asarray((dens * self.weight).sum(axis=-1))

    def to_frame(self) -> pd.DataFrame:
        """One row per node: ``tau``, ``weight``, ``cond_mean``, ``cond_sd``."""
        return pd.DataFrame(
            {"tau": self.tau, "weight": self.weight, "cond_mean": self.mean, "cond_sd": self.sd}
        )

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> PosteriorMixture:
        """Inverse of :meth:`to_frame` (weights renormalised to sum to 1).

        Raises
        ------
        ValueError
            If a column is missing, a value is not finite, a weight is negative or a
            conditional sd is not positive.
        """
        cols = ("tau", "weight", "cond_mean", "cond_sd")
        missing = [c for c in cols if c not in frame]
        if missing:
            raise ValueError(f"posterior mixture lacks column(s) {', '.join(missing)}")
        arr = {c: pd.to_numeric(frame[c], errors="coerce").to_numpy(float) for c in cols}
        for c, a in arr.items():
            if a.size == 0 or not np.isfinite(a).all():
                raise ValueError(f"posterior mixture column {c} is empty or not finite")
        if (arr["weight"] < 0).any() or (arr["cond_sd"] <= 0).any() or (arr["tau"] < 0).any():
            raise ValueError("posterior mixture has a negative weight or tau, or a cond_sd <= 0")
        w = arr["weight"] / arr["weight"].sum()
        return cls(arr["tau"], w, arr["cond_mean"], arr["cond_sd"])


@dataclass(frozen=True, eq=False)
class BayesResult:
    """Result of :func:`bayes` (one Bayesian meta-analysis). Values are never rounded.

    Attributes
    ----------
    k : int
        Number of studies.
    tau_prior : str
        ``"halfnormal"`` or ``"halfcauchy"``. tau_scale : float: its scale (effect units).
    mu_prior : tuple or None
        ``(mean, sd)`` of the normal prior on mu, or None for the improper uniform prior.
    level : float
        Probability content of the central intervals.
    mu_mean, mu_median, mu_sd : float
        Posterior mean, median and standard deviation of the overall effect mu.
        ``mu_sd`` is ``inf`` when the posterior variance is infinite (half-Cauchy prior on
        tau, uniform prior on mu, k <= 2).
    mu_ci_low, mu_ci_high : float
        Central credible interval for mu (posterior quantiles (1 - level)/2 and
        (1 + level)/2).
    tau_median, tau_ci_low, tau_ci_high : float
        Posterior median and central credible interval of tau (effect units).
    pred_ci_low, pred_ci_high : float
        Central interval of the posterior predictive distribution of a new study's true
        effect :math:`\\theta_{new} \\sim N(\\mu, \\tau^2)`.
    yi, vi : numpy.ndarray
        The data. study : tuple or None: study labels.
    """

    k: int
    tau_prior: str
    tau_scale: float
    mu_prior: tuple[float, float] | None
    level: float
    mu_mean: float
    mu_median: float
    mu_sd: float
    mu_ci_low: float
    mu_ci_high: float
    tau_median: float
    tau_ci_low: float
    tau_ci_high: float
    pred_ci_low: float
    pred_ci_high: float
    yi: np.ndarray = field(repr=False)
    vi: np.ndarray = field(repr=False)
    study: tuple[Any, ...] | None = field(repr=False, default=None)
    posterior: PosteriorMixture | None = field(repr=False, default=None)

    def _mixture(self) -> PosteriorMixture:
        if self.posterior is None:
            raise ValueError("this BayesResult was built without its posterior mixture")
        return self.posterior

    def prob_mu(self, lower: float = -math.inf, upper: float = math.inf) -> float:
        """Posterior probability that mu lies in [lower, upper]: :meth:`PosteriorMixture.prob_mu`."""
        return self._mixture().prob_mu(lower, upper)

    def prob_pred(self, lower: float = -math.inf, upper: float = math.inf) -> float:
        """Predictive probability for a new study's effect: :meth:`PosteriorMixture.prob_pred`."""
        return self._mixture().prob_pred(lower, upper)

    def density_mu(self, x: npt.ArrayLike) -> np.ndarray:
        """Posterior density of mu at ``x``: :meth:`PosteriorMixture.density_mu`."""
        return self._mixture().density_mu(x)

    def to_frame(self) -> pd.DataFrame:
        """One row with every scalar attribute (mu prior as ``mu_prior_mean``/``_sd``)."""
        return _frame([self])


def _frame(results: Iterable[BayesResult]) -> pd.DataFrame:
    rows = []
    for r in results:
        row = {c: getattr(r, c, None) for c in _PROB_COLS}
        row["mu_prior_mean"] = r.mu_prior[0] if r.mu_prior else math.nan
        row["mu_prior_sd"] = r.mu_prior[1] if r.mu_prior else math.nan
        rows.append(row)
    return pd.DataFrame(rows, columns=list(_PROB_COLS))


def _result(
    fit: _Fit,
    i: int,
    kind: str,
    scale: float,
    mu_prior: tuple[float, float] | None,
    level: float,
    y: np.ndarray,
    v: np.ndarray,
    labels: tuple[Any, ...] | None,
) -> BayesResult:
    return BayesResult(
        k=int(fit.k[i]),
        tau_prior=kind,
        tau_scale=scale,
        mu_prior=mu_prior,
        level=level,
        **row_floats(fit, i, _SUMMARY_COLS),
        yi=y,
        vi=v,
        study=labels,
        posterior=fit.posterior[i],
    )


def _single_study_error(where: str) -> ValueError:
    return ValueError(
        f"{where}only one study (k = 1) and mu_prior=None: with a uniform prior on mu the "
        "posterior of mu is improper; give a proper normal prior, mu_prior=(mean, sd)"
    )


def bayes(
    yi: npt.ArrayLike,
    vi: npt.ArrayLike,
    tau_prior: str = "halfnormal",
    tau_scale: float = 0.5,
    mu_prior: tuple[float, float] | None = None,
    level: float = 0.95,
    study: Sequence[Any] | None = None,
) -> BayesResult:
    r"""Bayesian random-effects meta-analysis (normal-normal hierarchical model).

    Parameters
    ----------
    yi, vi : array_like
        Effect sizes and their sampling variances (all positive and finite), as for
        :func:`rma`.
    tau_prior : {"halfnormal", "halfcauchy"}
        Prior on the between-study standard deviation tau (not tau^2):
        half-normal :math:`p(\tau) = \frac{2}{s\sqrt{2\pi}} e^{-\tau^2/(2s^2)}` or
        half-Cauchy :math:`p(\tau) = \frac{2}{\pi s (1 + \tau^2/s^2)}`, :math:`\tau \ge 0`.
        For log odds ratios and SMDs half-normal scales of 0.5 (and 1.0 for more
        heterogeneity) are the weakly informative choices of Friede et al. (2017) and
        Roever et al. (2021).
    tau_scale : float
        Scale s of the tau prior, in the units of ``yi`` (default 0.5).
    mu_prior : (float, float) or None
        ``(mean, sd)`` of a normal prior on mu; None (default) for the improper uniform
        prior. With k = 1 a proper prior is required.
    level : float
        Probability content of the central credible and prediction intervals (0.95;
        95 is accepted too).
    study : sequence, optional
        Study labels, used in error messages.

    Returns
    -------
    BayesResult
        Posterior summaries plus :meth:`BayesResult.prob_mu`, :meth:`BayesResult.prob_pred`
        and :meth:`BayesResult.density_mu`.

    Notes
    -----
    The posterior is computed by deterministic numerical integration over tau, not by
    MCMC (see the module docstring for the formulas and the quadrature): results are
    reproducible and accurate to about 1e-8 or better (checked against an independent
    brute-force reference and against R's bayesmeta, Roever 2020).

    Heavy tails: with a half-Cauchy prior on tau, a uniform prior on mu and k <= 2, the
    marginal posterior density of tau decays like :math:`\tau^{-(k+1)}` and
    :math:`\operatorname{Var}(\mu \mid \tau) \approx \tau^2/k`, so the posterior
    variance of mu is infinite: ``mu_sd`` is ``inf`` (bayesmeta prints a finite number
    there, an artefact of its finite grid). The mean, median and intervals stay finite.

    Raises
    ------
    ValueError
        For bad data (as :func:`rma`: missing, infinite, non-positive variances; naming
        the study), an unknown prior or a non-positive scale, or k = 1 with
        ``mu_prior=None``.

    References
    ----------
    Roever C (2020). Bayesian random-effects meta-analysis using the bayesmeta R package.
    J Stat Softw 93(6):1-51. doi:10.18637/jss.v093.i06
    Friede T, Roever C, Wandel S, Neuenschwander B (2017). Meta-analysis of few small
    studies in orphan diseases. Res Synth Methods 8(1):79-91. doi:10.1002/jrsm.1217
    Roever C, Bender R, Dias S, et al. (2021). On weakly informative prior distributions
    for the heterogeneity parameter in Bayesian random-effects meta-analysis.
    Res Synth Methods 12(4):448-474. doi:10.1002/jrsm.1475

    Examples
    --------
    >>> res = bayes([0.2, 0.5, 0.1, 0.4], [0.04, 0.05, 0.03, 0.06])
    >>> round(res.mu_median, 3), round(res.prob_mu(0, float("inf")), 3)
    (0.275, 0.963)
    """
    kind, scale = _check_tau_prior(tau_prior, tau_scale)
    prior = _check_mu_prior(mu_prior)
    level = check_level(level)
    y, v, labels = check_study_data(yi, vi, study)
    if y.size == 1 and prior is None:
        raise _single_study_error("")
    fit = fit_bayes_rows(
        y[None, :], v[None, :], np.ones((1, y.size), bool), kind, scale, prior, level
    )
    return _result(fit, 0, kind, scale, prior, level, y, v, labels)


class BayesManyResult:
    """Result of :func:`bayes_many`: the attributes of :class:`BayesResult`, one per row.

    ``prob_mu`` and ``prob_pred`` take scalar bounds or arrays with one bound per row.
    """

    def __init__(
        self,
        fit: _Fit,
        kind: str,
        scale: float,
        mu_prior: tuple[float, float] | None,
        level: float,
        Y: np.ndarray,
        V: np.ndarray,
    ) -> None:
        self.k = fit.k
        self.tau_prior, self.tau_scale, self.mu_prior, self.level = kind, scale, mu_prior, level
        for name in _SUMMARY_COLS:
            setattr(self, name, getattr(fit, name))
        self.yi, self.vi = Y, V
        self._fit = fit

    def __len__(self) -> int:
        return int(self.k.size)

    def __getitem__(self, i: int) -> BayesResult:
        """Row ``i`` as a :class:`BayesResult`."""
        i = range(len(self))[i]
        m = ~np.isnan(self.yi[i])
        return _result(
            self._fit,
            i,
            self.tau_prior,
            self.tau_scale,
            self.mu_prior,
            self.level,
            self.yi[i][m],
            self.vi[i][m],
            None,
        )

    def _probs(self, lower: npt.ArrayLike, upper: npt.ArrayLike, pred: bool) -> np.ndarray:
        n = len(self)
        lo = np.broadcast_to(np.asarray(lower, dtype=float), (n,))
        hi = np.broadcast_to(np.asarray(upper, dtype=float), (n,))
        out = np.empty(n)
        for i, post in enumerate(self._fit.posterior):
            out[i] = post.prob_pred(lo[i], hi[i]) if pred else post.prob_mu(lo[i], hi[i])
        return out

    def prob_mu(
        self, lower: npt.ArrayLike = -math.inf, upper: npt.ArrayLike = math.inf
    ) -> np.ndarray:
        """Per row, the posterior probability that mu lies in [lower, upper]."""
        return self._probs(lower, upper, pred=False)

    def prob_pred(
        self, lower: npt.ArrayLike = -math.inf, upper: npt.ArrayLike = math.inf
    ) -> np.ndarray:
        """Per row, the predictive probability that a new study's effect is in [lower, upper]."""
        return self._probs(lower, upper, pred=True)

    def to_frame(self) -> pd.DataFrame:
        """One row per meta-analysis with every scalar attribute."""
        n = len(self)
        cols = {
            c: (getattr(self, c) if c not in ("mu_prior_mean", "mu_prior_sd") else None)
            for c in _PROB_COLS
        }
        cols["mu_prior_mean"] = self.mu_prior[0] if self.mu_prior else math.nan
        cols["mu_prior_sd"] = self.mu_prior[1] if self.mu_prior else math.nan
        return pd.DataFrame({c: np.broadcast_to(np.asarray(v), (n,)) for c, v in cols.items()})


def bayes_many(
    yi: npt.ArrayLike,
    vi: npt.ArrayLike,
    tau_prior: str = "halfnormal",
    tau_scale: float = 0.5,
    mu_prior: tuple[float, float] | None = None,
    level: float = 0.95,
) -> BayesManyResult:
    """Bayesian random-effects meta-analysis of many data sets at once (rows, NaN-padded).

    Parameters
    ----------
    yi, vi : array_like, shape (n, K)
        One meta-analysis per row, padded with NaN in the same positions (as
        :func:`rma_many`).
    tau_prior, tau_scale, mu_prior, level
        As in :func:`bayes`; the same priors apply to every row.

    Returns
    -------
    BayesManyResult

    Notes
    -----
    The same engine as :func:`bayes` (which runs it on a single row), vectorised over
    rows in chunks of 1024.

    Raises
    ------
    ValueError
        As :func:`rma_many` (naming row and column), for bad priors, and when a row has a
        single study and ``mu_prior=None``.
    """
    kind, scale = _check_tau_prior(tau_prior, tau_scale)
    prior = _check_mu_prior(mu_prior)
    level = check_level(level)
    Y, V, M, k = check_many_data(yi, vi)
    if prior is None and (k == 1).any():
        raise _single_study_error(f"row {int(np.flatnonzero(k == 1)[0])}: ")
    fit = fit_bayes_rows(Y, V, M, kind, scale, prior, level)
    return BayesManyResult(
        fit, kind, scale, prior, level, np.where(M, Y, np.nan), np.where(M, V, np.nan)
    )
