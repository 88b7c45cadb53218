"""Statistical edge cases of ketamine_evidence.meta, checked against metafor 3.8-1.

Reference values: tests/results/edge_reference.json, written by tests/r/edge_reference.R
(tight convergence control). These tests never need R.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest

from ketamine_evidence.meta import metareg, regtest, rma, rma_many, subgroup, trimfill

REF = json.loads((Path(__file__).parent / "results" / "edge_reference.json").read_text())
RTOL = 1e-6


def _num(x):
    return float("nan") if x is None or x == "NaN" else float(x)


@pytest.mark.parametrize(
    "case", REF["se_tau2"], ids=lambda c: f"{c['name']}-{c['method']}"
)
def test_se_tau2_is_stable_when_one_weight_dominates(case):
    res = rma(case["yi"], case["vi"], method=case["method"], test="z")
    assert res.se_tau2 == pytest.approx(case["se_tau2"], rel=RTOL)
    assert res.tau2 == pytest.approx(case["tau2"], abs=1e-9)
    assert res.estimate == pytest.approx(case["estimate"], abs=1e-9)
    # metafor stops at tau2 ~ 1e-13 (its tolerance) where the root is 0; with v_1 = 1e-8
    # that moves the SE of the estimate in the sixth digit
    assert res.se == pytest.approx(case["se"], rel=1e-4)
    # the vectorised path is the same engine
    many = rma_many([case["yi"]], [case["vi"]], method=case["method"], test="z")
    assert many.se_tau2[0] == pytest.approx(case["se_tau2"], rel=RTOL)


KNHA = REF["knha_identical"]


def test_knha_identical_effects_pooled_with_zero_se():
    res = rma(KNHA["yi"], KNHA["vi"], method="REML", test="knha")
    assert res.estimate == pytest.approx(KNHA["rma"]["estimate"])
    assert res.se == KNHA["rma"]["se"] == 0


def test_knha_identical_effects_regtest_does_not_crash():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = regtest(KNHA["yi"], KNHA["vi"], method="REML", test="knha")
    ref = KNHA["regtest"]
    assert res.est == pytest.approx(ref["est"])
    assert res.ci_low == pytest.approx(ref["ci_low"])
    assert res.ci_high == pytest.approx(ref["ci_high"])
    assert res.df == ref["df"]
    np.testing.assert_allclose(res.fit.se, ref["se"], atol=1e-12)


def test_knha_identical_effects_metareg_has_undefined_qm():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = metareg(KNHA["yi"], KNHA["vi"], KNHA["moderator"], method="REML", test="knha")
    ref = KNHA["metareg"]
    np.testing.assert_allclose(res.coef, ref["beta"], atol=1e-12)
    np.testing.assert_allclose(res.se, ref["se"], atol=1e-12)
    assert ref["qm"] is None and math.isnan(res.qm) and math.isnan(res.qm_pvalue)


def test_knha_identical_effects_subgroup_has_undefined_qm():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = subgroup(KNHA["yi"], KNHA["vi"], KNHA["groups"], method="REML", test="knha")
    ref = KNHA["subgroup_common"]
    assert ref["qm"] is None and math.isnan(res.qm) and math.isnan(res.qm_pvalue)
    for sub in res.results.values():
        assert sub.estimate == pytest.approx(0.5) and sub.se == 0


def test_trimfill_r0_on_identical_effects_stops_like_metafor():
    case = REF["trimfill"]["r0_identical"]
    assert case["error"]  # metafor stops
    with pytest.raises(ValueError, match="no asymmetry"):
        trimfill(case["yi"], case["vi"], estimator="R0")


def test_trimfill_se_k0_is_nan_where_the_variance_formula_is_negative():
    case = REF["trimfill"]["l0_negative_variance"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = trimfill(case["yi"], case["vi"], estimator=case["estimator"], side=case["side"])
    assert res.k0 == case["k0"]
    assert math.isnan(_num(case["se_k0"])) and math.isnan(res.se_k0)
    assert res.result.estimate == pytest.approx(case["estimate"], rel=RTOL)


@pytest.mark.parametrize(
    ("name", "message"),
    [("huge_yi", "too large"), ("tiny_vi", "too small")],
)
def test_extreme_inputs_are_refused_like_metafor(name, message):
    case = REF["extreme"][name]
    assert case["error"]  # metafor refuses them
    for call in (
        lambda: rma(case["yi"], case["vi"], study=["a", "b", "c"]),
        lambda: rma_many([case["yi"]], [case["vi"]]),
    ):
        with pytest.raises(ValueError, match=message):
            call()
