"""Unit tests for ketamine_evidence.meta: edge cases, errors, convergence, cross-checks."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from statsmodels.stats.meta_analysis import combine_effects

from ketamine_evidence import KetamineEvidenceWarning
from ketamine_evidence.meta import (
    MetaAnalysisWarning,
    cumul,
    leave1out,
    metareg,
    regtest,
    rma,
    rma_many,
    subgroup,
    tau2_confint,
    trimfill,
)
from ketamine_evidence.meta._engine import estimate_tau2
from ketamine_evidence.meta._regression import fit_general

Y = np.array([-0.89, -1.59, -1.35, -1.44, -0.22, -0.79, -1.62, 0.01, -0.47, -1.37, -0.34, 0.45, -0.02])
V = np.array([0.33, 0.19, 0.42, 0.02, 0.05, 0.007, 0.22, 0.004, 0.06, 0.07, 0.01, 0.53, 0.07])
ITER = ["REML", "ML", "PM", "EB"]
ALL = ["EE", "DL", "REML", "ML", "PM", "EB", "HS", "SJ", "HE"]


def simulate(n, k, seed, tau2=0.05):
    rng = np.random.default_rng(seed)
    v = rng.uniform(0.01, 0.3, size=(n, k))
    y = 0.3 + rng.normal(0, np.sqrt(tau2), size=(n, k)) + rng.normal(0, np.sqrt(v))
    return y, v


def test_warning_class_is_project_warning():
    assert issubclass(MetaAnalysisWarning, KetamineEvidenceWarning)


@pytest.mark.parametrize("bad", [0.0, -0.1, np.nan, np.inf])
def test_bad_variance_names_study_label(bad):
    v = V.copy()
    v[3] = bad
    study = [f"trial{i}" for i in range(V.size)]
    with pytest.raises(ValueError, match=r"study 'trial3' \(index 3\).*vi"):
        rma(Y, v, study=study)
    with pytest.raises(ValueError, match=r"study at index 3"):
        rma(Y, v)


def test_missing_effect_names_study():
    y = Y.copy()
    y[5] = np.nan
    with pytest.raises(ValueError, match=r"index 5.*missing"):
        rma(y, V)


def test_unknown_method_and_test_rejected():
    with pytest.raises(ValueError, match="unknown method"):
        rma(Y, V, method="XYZ")
    with pytest.raises(ValueError, match="unknown test"):
        rma(Y, V, test="t2")
    with pytest.raises(ValueError, match="pi_df"):
        rma(Y, V, pi_df="k-3")


def test_k1_returns_the_study_and_warns():
    with pytest.warns(MetaAnalysisWarning, match="k = 1"):
        res = rma([0.42], [0.09], test="knha")
    assert res.k == 1 and res.estimate == 0.42 and res.se == pytest.approx(0.3)
    assert res.df is None and res.test == "z"  # falls back to z, like metafor
    assert res.tau2 == 0 and res.q == 0 and res.q_pvalue == 1 and res.i2 == 0 and res.h2 == 1
    assert np.isnan(res.se_tau2)
    assert res.weights.tolist() == [100.0]


def test_fe_is_alias_of_ee():
    a, b = rma(Y, V, method="FE"), rma(Y, V, method="EE")
    assert a.method == "FE" and a.estimate == b.estimate and a.tau2 == 0


def test_weights_sum_to_100_and_frames():
    res = rma(Y, V, study=[f"s{i}" for i in range(Y.size)])
    assert res.weights.sum() == pytest.approx(100.0)
    row = res.to_frame()
    assert row.shape[0] == 1 and {"estimate", "tau2", "convergence", "pi_low"} <= set(row)
    sf = res.summary_frame()
    assert sf.shape == (Y.size + 1, 6)
    assert sf["study"].iloc[-1].startswith("Pooled")
    assert sf["weight"].iloc[:-1].sum() == pytest.approx(100.0)


@pytest.mark.parametrize("method", ITER)
def test_bracketing_fallback_agrees_with_iteration(method):
    y, v = simulate(300, 8, seed=3, tau2=0.08)
    M = np.ones_like(y, bool)
    it = estimate_tau2(y, v, M, method)
    br = estimate_tau2(y, v, M, method, force_bracket=True)
    assert it.converged.all() and br.converged.all()
    assert set(br.convergence) <= {
        "bracketing root-finder",
        "bracketing root-finder (boundary: tau2 = 0)",
        "tau2 = 0 (Q(0) <= k - 1)",
    }
    np.testing.assert_allclose(br.tau2, it.tau2, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("test", ["z", "knha", "adhoc"])
@pytest.mark.parametrize("method", ALL)
def test_matrix_engine_agrees_with_vectorised_engine(method, test):
    res = rma(Y, V, method=method, test=test)
    gen = fit_general(Y, V, np.ones((Y.size, 1)), method, test, 0.95, btt=[0])
    np.testing.assert_allclose(
        [gen.beta[0], gen.se[0], gen.pvalue[0], gen.tau2, gen.i2, gen.h2, gen.qe],
        [res.estimate, res.se, res.pvalue, res.tau2, res.i2, res.h2, res.q],
        rtol=1e-9,
        atol=1e-12,
    )
    if method != "EE":
        assert gen.se_tau2 == pytest.approx(res.se_tau2, rel=1e-9)


def test_reml_converges_on_2000_simulated_k10_meta_analyses():
    for seed, tau2 in [(2024, 0.05), (7, 0.0), (11, 1.0)]:
        y, v = simulate(2000, 10, seed, tau2)
        many = rma_many(y, v, method="REML", test="knha")
        assert many.converged.all()
        assert (many.tau2 >= 0).all() and np.isfinite(many.estimate).all()
        assert (many.n_iter < 200).all()


def test_statsmodels_dl_agrees_when_q_exceeds_df_and_goes_negative_otherwise():
    res = rma(Y, V, method="DL", test="z")
    sm = combine_effects(Y, V, method_re="dl")
    assert res.q > res.q_df
    assert sm.tau2 == pytest.approx(res.tau2, rel=1e-10)
    assert sm.mean_effect_re == pytest.approx(res.estimate, rel=1e-10)
    # homogeneous data: Q < k - 1. statsmodels does not truncate; we (and metafor) do.
    y = np.array([0.30, 0.31, 0.29, 0.305, 0.295, 0.30])
    v = np.array([0.04, 0.05, 0.03, 0.06, 0.045, 0.035])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        sm0 = combine_effects(y, v, method_re="dl")
    ours = rma(y, v, method="DL", test="z")
    assert sm0.tau2 < 0
    assert ours.tau2 == 0.0 and ours.convergence == "closed form, truncated at 0"
    assert ours.estimate == pytest.approx(sm0.mean_effect_fe, rel=1e-12)


def test_rma_many_validates_padding_and_variances():
    y, v = simulate(3, 5, seed=1)
    y2 = y.copy()
    y2[1, 2] = np.nan
    with pytest.raises(ValueError, match=r"row 1, column 2"):
        rma_many(y2, v)
    v2 = v.copy()
    v2[2, 4] = -1
    with pytest.raises(ValueError, match=r"row 2, column 4.*positive"):
        rma_many(y, v2)
    y3, v3 = y.copy(), v.copy()
    y3[0, 1:] = np.nan
    v3[0, 1:] = np.nan
    with pytest.warns(MetaAnalysisWarning):
        many = rma_many(y3, v3)
    assert many.k.tolist() == [1, 5, 5]
    assert many.to_frame().shape[0] == 3


def test_confint_contains_estimate_and_rejects_ee():
    res = rma(Y, V, method="REML", test="z")
    ci = tau2_confint(res)
    assert ci.tau2_low <= res.tau2 <= ci.tau2_high
    assert ci.to_frame().shape == (4, 4)
    with pytest.raises(ValueError):
        tau2_confint(rma(Y, V, method="EE"))


def test_small_k_errors():
    with pytest.raises(ValueError, match="at least 3"):
        metareg([0.1, 0.2], [0.1, 0.1], [1, 2])
    with pytest.raises(ValueError, match="constant"):
        metareg(Y, V, np.ones_like(Y))
    with pytest.raises(ValueError, match="at least 3"):
        regtest([0.1, 0.2], [0.1, 0.1])
    with pytest.raises(ValueError, match="at least 3"):
        trimfill([0.1, 0.2], [0.1, 0.1])


def test_trimfill_marks_filled_studies():
    tf = trimfill(Y, V, method="REML")
    assert tf.filled.sum() == tf.k0 and tf.yi.size == Y.size + tf.k0
    assert tf.result.k == Y.size + tf.k0


def test_leave1out_and_cumul_shapes_and_labels():
    study = [f"s{i}" for i in range(Y.size)]
    l1o = leave1out(Y, V, study=study)
    assert l1o.shape[0] == Y.size and l1o["study"].tolist() == study
    assert (l1o["k"] == Y.size - 1).all()
    order = np.arange(Y.size)[::-1]
    cu = cumul(Y, V, order=order, study=study)
    assert cu["study"].tolist() == study[::-1] and cu["k"].tolist() == list(range(1, Y.size + 1))
    last = rma(Y, V)
    assert cu["estimate"].iloc[-1] == pytest.approx(last.estimate, rel=1e-12)


def test_subgroup_single_study_group_warns():
    g = ["a"] * 6 + ["b"] * 6 + ["c"]
    with pytest.warns(MetaAnalysisWarning, match="single study"):
        sg = subgroup(Y, V, g)
    assert sg.df_between == 2 and list(sg.groups) == ["a", "b", "c"]
