"""Brute-force reference for :func:`ketamine_evidence.meta.bayes` (used by the tests only).

Independent of the engine's quadrature: the posterior of tau is tabulated on a very fine
uniform grid in log tau from 1e-12 to 1e12 times the prior scale (step 0.001, about
55,000 points) and integrated with Simpson's rule; quantiles are found with
:func:`scipy.optimize.brentq` to 1e-14. The mass left out below the grid is at most
1e-12 times the density at 0 times the scale, and above it the half-Cauchy tail is
O(1e-12) too. Slow (a second per fit) but simple enough to trust.
"""

from __future__ import annotations

import numpy as np
from scipy import integrate, optimize, special

STEP = 0.001


def _posterior(y, v, tau, kind, scale, mu_prior):
    t2 = tau[:, None] ** 2
    w = 1.0 / (v[None, :] + t2)
    p0, m0 = (0.0, 0.0) if mu_prior is None else (1.0 / mu_prior[1] ** 2, mu_prior[0])
    W = w.sum(axis=1) + p0
    m = ((w * y).sum(axis=1) + p0 * m0) / W
    q = (w * (y - m[:, None]) ** 2).sum(axis=1) + p0 * (m0 - m) ** 2
    z = tau / scale
    prior = -0.5 * z * z if kind == "halfnormal" else -np.log1p(z * z)
    lp = -0.5 * (np.log(v[None, :] + t2).sum(axis=1) + np.log(W) + q) + prior
    return lp, m, 1.0 / W


class BruteForce:
    """Posterior summaries of the normal-normal model by Simpson's rule in log tau."""

    def __init__(self, yi, vi, tau_prior, tau_scale, mu_prior=None):
        self.y, self.v = np.asarray(yi, float), np.asarray(vi, float)
        self.kind, self.scale, self.mu_prior = tau_prior, tau_scale, mu_prior
        self.u = np.arange(np.log(1e-12 * tau_scale), np.log(1e12 * tau_scale), STEP)
        if self.u.size % 2 == 0:
            self.u = self.u[:-1]
        self.tau = np.exp(self.u)
        lp, self.m, self.var = _posterior(self.y, self.v, self.tau, tau_prior, tau_scale, mu_prior)
        self.lmax = lp.max()
        f = np.exp(lp - self.lmax) * self.tau  # density in log tau
        self.z = integrate.simpson(f, x=self.u)
        self.f = f / self.z

    def _int(self, g):
        return integrate.simpson(self.f * g, x=self.u)

    def mu_mean(self):
        return self._int(self.m)

    def mu_sd(self):
        mean = self.mu_mean()
        return np.sqrt(self._int(self.var + (self.m - mean) ** 2))

    def cdf(self, x, pred=False):
        sd = np.sqrt(self.var + (self.tau**2 if pred else 0.0))
        return self._int(special.ndtr((x - self.m) / sd))

    def quantile(self, p, pred=False):
        sd = np.sqrt(self.var + (self.tau**2 if pred else 0.0))
        lo, hi = (self.m - 40 * sd).min(), (self.m + 40 * sd).max()
        lo, hi = max(lo, self.y.min() - 1e4), min(hi, self.y.max() + 1e4)
        return optimize.brentq(lambda x: self.cdf(x, pred) - p, lo, hi, xtol=1e-14, rtol=1e-14)

    def tau_cdf(self, x):
        u = np.linspace(self.u[0], np.log(x), 40001)
        lp, _, _ = _posterior(self.y, self.v, np.exp(u), self.kind, self.scale, self.mu_prior)
        return integrate.simpson(np.exp(lp - self.lmax + u), x=u) / self.z

    def tau_quantile(self, p):
        c = np.cumsum(self.f) * STEP
        i = int(np.searchsorted(c, p))
        lo, hi = self.tau[max(i - 50, 0)], self.tau[min(i + 50, self.tau.size - 1)]
        return optimize.brentq(lambda x: self.tau_cdf(x) - p, lo, hi, xtol=1e-15, rtol=1e-13)
