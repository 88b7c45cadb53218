"""Property-based tests (hypothesis) for ketamine_evidence.meta."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ketamine_evidence.meta import rma, rma_many

METHODS = ["EE", "DL", "REML", "ML", "PM", "EB", "HS", "SJ", "HE"]
TESTS = ["z", "knha", "adhoc"]

effects = st.floats(-3, 3, allow_nan=False, allow_infinity=False)
variances = st.floats(1e-3, 2.0, allow_nan=False, allow_infinity=False)


@st.composite
def studies(draw, min_k=2, max_k=15):
    k = draw(st.integers(min_k, max_k))
    y = np.array(draw(st.lists(effects, min_size=k, max_size=k)))
    v = np.array(draw(st.lists(variances, min_size=k, max_size=k)))
    return y, v


SETTINGS = settings(max_examples=60, deadline=None)


@SETTINGS
@given(studies(), st.sampled_from(METHODS), st.sampled_from(TESTS), st.randoms())
def test_invariant_to_study_order(data, method, test, rnd):
    y, v = data
    perm = np.array(rnd.sample(range(y.size), y.size))
    a = rma(y, v, method=method, test=test)
    b = rma(y[perm], v[perm], method=method, test=test)
    np.testing.assert_allclose(
        [a.estimate, a.se, a.tau2, a.q, a.i2], [b.estimate, b.se, b.tau2, b.q, b.i2],
        rtol=1e-7, atol=1e-10,
    )
    np.testing.assert_allclose(a.weights[perm], b.weights, rtol=1e-7, atol=1e-10)


@SETTINGS
@given(studies(), st.sampled_from(METHODS), st.sampled_from(TESTS))
def test_tau2_nonnegative_and_intervals_nested(data, method, test):
    y, v = data
    r = rma(y, v, method=method, test=test)
    assert r.tau2 >= 0 and r.converged
    assert r.ci_low <= r.estimate <= r.ci_high
    assert r.pi_low <= r.ci_low + 1e-12 and r.pi_high >= r.ci_high - 1e-12
    assert 0 <= r.i2 <= 100
    if method == "EE":  # metafor's EE H^2 is Q / (k - 1), which can be below 1
        assert r.h2 == r.q / r.q_df
    else:
        assert r.h2 >= 1 - 1e-12


@SETTINGS
@given(studies(), st.sampled_from(METHODS), st.floats(-50, 50, allow_nan=False))
def test_shift_moves_estimate_only(data, method, c):
    y, v = data
    a = rma(y, v, method=method, test="z")
    b = rma(y + c, v, method=method, test="z")
    np.testing.assert_allclose(b.estimate, a.estimate + c, rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(b.tau2, a.tau2, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(b.se, a.se, rtol=1e-6, atol=1e-9)


@SETTINGS
@given(
    st.lists(studies(min_k=2, max_k=8), min_size=1, max_size=6),
    st.sampled_from(METHODS),
    st.sampled_from(TESTS),
)
def test_rma_many_equals_rma_loop(rows, method, test):
    K = max(y.size for y, _ in rows)
    Y = np.full((len(rows), K), np.nan)
    V = np.full((len(rows), K), np.nan)
    for i, (y, v) in enumerate(rows):
        Y[i, : y.size], V[i, : y.size] = y, v
    many = rma_many(Y, V, method=method, test=test)
    for i, (y, v) in enumerate(rows):
        one = rma(y, v, method=method, test=test)
        for a in ("estimate", "se", "pvalue", "ci_low", "ci_high", "pi_low", "pi_high",
                  "tau2", "i2", "h2", "q"):
            np.testing.assert_allclose(getattr(many, a)[i], getattr(one, a), rtol=1e-8,
                                       atol=1e-12, err_msg=a)
