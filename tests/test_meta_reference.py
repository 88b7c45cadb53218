"""Agreement of ketamine_evidence.meta with metafor (reference values in tests/results).

The reference file is produced by tests/r/meta_reference.R; these tests never need R.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

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

REF_PATH = Path(__file__).parent / "results" / "meta_reference.json"
REF = json.loads(REF_PATH.read_text())
DATA = REF["datasets"]
RTOL = 1e-6
ATOL = 1e-9

EXPECTED_DATASETS = {
    "bcg_logrr",
    "normand_smd",
    "normand_md",
    "hackshaw_logor",
    "curtis_rom",
    "li_logor",
    "raudenbush_smd",
    "edge_k1",
    "edge_k2",
    "edge_homog",
    "edge_bighet",
}
METHODS = ["EE", "DL", "REML", "ML", "PM", "EB", "HS", "SJ", "HE"]
TESTS = ["z", "knha", "adhoc"]


def arr(x):
    return np.atleast_1d(np.asarray(x, dtype=float))


def data(name):
    d = DATA[name]
    study = d.get("study")
    study = None if study is None else [str(s) for s in np.atleast_1d(study)]
    return arr(d["yi"]), arr(d["vi"]), study


def close(ours, ref, what, rtol=RTOL, atol=ATOL):
    if ref is None:
        ref = np.nan
    if what.startswith("i2"):  # percent scale; metafor stops its boundary iterations ~1e-12
        atol = max(atol, 1e-6)
    ours = np.asarray(ours, dtype=float)
    ref = np.asarray(ref, dtype=float)
    np.testing.assert_allclose(ours, ref, rtol=rtol, atol=atol, equal_nan=True, err_msg=what)


def fit(name, method, test, **kw):
    y, v, s = data(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MetaAnalysisWarning)
        return rma(y, v, method=method, test=test, study=s, **kw)


# ----------------------------------------------------------------------------- grid
def test_reference_grid_is_complete():
    assert set(DATA) == EXPECTED_DATASETS
    assert len(EXPECTED_DATASETS - {n for n in DATA if not n.startswith("edge")}) == 4
    got = {(r["dataset"], r["method"], r["test"]) for r in REF["rma"]}
    want = {(d, m, t) for d in EXPECTED_DATASETS for m in METHODS for t in TESTS}
    assert got == want
    conf = {(r["dataset"], r["method"]) for r in REF["confint"]}
    assert conf == {(d, m) for d in EXPECTED_DATASETS - {"edge_k1"} for m in METHODS[1:]}
    assert REF["meta"]["metafor"] and REF["meta"]["R"]
    for key in ("regtest", "trimfill", "leave1out", "cumul", "metareg", "subgroup"):
        assert len(REF[key]) > 0, key


RMA_IDS = [f"{r['dataset']}-{r['method']}-{r['test']}" for r in REF["rma"]]


@pytest.mark.parametrize("ref", REF["rma"], ids=RMA_IDS)
def test_rma_matches_metafor(ref):
    res = fit(ref["dataset"], ref["method"], ref["test"])
    assert res.converged
    for ours, theirs in [
        ("estimate", "estimate"),
        ("se", "se"),
        ("statistic", "statistic"),
        ("pvalue", "pvalue"),
        ("ci_low", "ci_low"),
        ("ci_high", "ci_high"),
        ("tau2", "tau2"),
        ("se_tau2", "se_tau2"),
        ("i2", "i2"),
        ("h2", "h2"),
        ("q", "q"),
        ("q_pvalue", "q_pvalue"),
    ]:
        close(getattr(res, ours), ref[theirs], ours)
    close(res.weights, arr(ref["weights"]), "weights")
    close(np.nan if res.df is None else res.df, ref["df"], "df")
    if ref["method"] == "EE":  # metafor's predict() gives no PI for EE; ours equals the CI
        close(res.pi_low, ref["ci_low"], "pi_low")
        close(res.pi_high, ref["ci_high"], "pi_high")
    else:
        close(res.pi_low, ref["pi_low"], "pi_low")
        close(res.pi_high, ref["pi_high"], "pi_high")
        res2 = fit(ref["dataset"], ref["method"], ref["test"], pi_df="k-2")
        close(res2.pi_low, ref["pi_low_k2"], "pi_low k-2")
        close(res2.pi_high, ref["pi_high_k2"], "pi_high k-2")


@pytest.mark.parametrize("test", TESTS)
@pytest.mark.parametrize("method", METHODS)
def test_rma_many_matches_reference_rows(method, test):
    """All data sets stacked into one NaN-padded array, pooled in one vectorised call."""
    names = sorted(EXPECTED_DATASETS)
    K = max(arr(DATA[n]["yi"]).size for n in names)
    Y = np.full((len(names), K), np.nan)
    V = np.full((len(names), K), np.nan)
    for i, n in enumerate(names):
        y, v, _ = data(n)
        Y[i, : y.size], V[i, : y.size] = y, v
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MetaAnalysisWarning)
        many = rma_many(Y, V, method=method, test=test)
    refs = {(r["dataset"]): r for r in REF["rma"] if r["method"] == method and r["test"] == test}
    for i, n in enumerate(names):
        for a in ("estimate", "se", "pvalue", "ci_low", "ci_high", "tau2", "i2", "q"):
            close(getattr(many, a)[i], refs[n][a], f"{n} {a}")


CONF_IDS = [f"{r['dataset']}-{r['method']}" for r in REF["confint"]]


@pytest.mark.parametrize("ref", REF["confint"], ids=CONF_IDS)
def test_qprofile_confint_matches_metafor(ref):
    res = fit(ref["dataset"], ref["method"], "z")
    ci = tau2_confint(res)
    for name in ("tau2", "tau", "i2", "h2"):
        est, lo, hi = arr(ref[name])
        close([getattr(ci, name), getattr(ci, name + "_low"), getattr(ci, name + "_high")],
              [est, lo, hi], name, atol=1e-8)


REG_IDS = [
    f"{r['dataset']}-{r['method']}-{r['test']}-{r['model']}-{r['predictor']}"
    for r in REF["regtest"]
]


@pytest.mark.parametrize("ref", REF["regtest"], ids=REG_IDS)
def test_regtest_matches_metafor(ref):
    y, v, s = data(ref["dataset"])
    rt = regtest(y, v, method=ref["method"], model=ref["model"], predictor=ref["predictor"],
                 test=ref["test"])
    for a in ("statistic", "pvalue", "est", "ci_low", "ci_high"):
        close(getattr(rt, a), ref[a], a)
    close(np.nan if rt.df is None else rt.df, ref["df"], "df")


TF_IDS = [f"{r['dataset']}-{r['method']}-{r['test']}-{r['estimator']}" for r in REF["trimfill"]]


@pytest.mark.parametrize("ref", REF["trimfill"], ids=TF_IDS)
def test_trimfill_matches_metafor(ref):
    y, v, s = data(ref["dataset"])
    tf = trimfill(y, v, method=ref["method"], estimator=ref["estimator"], test=ref["test"])
    assert tf.k0 == ref["k0"]
    assert tf.side == ref["side"]
    close(tf.yi, arr(ref["yi"]), "filled yi")
    close(tf.vi, arr(ref["vi"]), "filled vi")
    for ours, theirs in [("estimate", "estimate"), ("se", "se"), ("ci_low", "ci_low"),
                         ("ci_high", "ci_high"), ("pvalue", "pvalue"), ("tau2", "tau2")]:
        close(getattr(tf.result, ours), ref[theirs], ours)


def _compare_frame(df, ref):
    for col in ("estimate", "se", "statistic", "pvalue", "ci_low", "ci_high", "q", "q_pvalue",
                "tau2", "i2", "h2"):
        close(df[col].to_numpy(), arr(ref[col]), col)


L1O_IDS = [f"{r['dataset']}-{r['method']}-{r['test']}" for r in REF["leave1out"]]


@pytest.mark.parametrize("ref", REF["leave1out"], ids=L1O_IDS)
def test_leave1out_matches_metafor(ref):
    y, v, s = data(ref["dataset"])
    _compare_frame(leave1out(y, v, method=ref["method"], test=ref["test"], study=s), ref)


@pytest.mark.parametrize("ref", REF["cumul"], ids=L1O_IDS)
def test_cumul_matches_metafor(ref):
    y, v, s = data(ref["dataset"])
    _compare_frame(cumul(y, v, method=ref["method"], test=ref["test"], study=s), ref)


MR_IDS = [f"{r['dataset']}-{r['method']}-{r['test']}" for r in REF["metareg"]]


@pytest.mark.parametrize("ref", REF["metareg"], ids=MR_IDS)
def test_metareg_matches_metafor(ref):
    y, v, s = data(ref["dataset"])
    x = arr(DATA[ref["dataset"]]["mod"])
    mr = metareg(y, v, x, method=ref["method"], test=ref["test"], study=s)
    pairs = [
        (mr.coef, ["intercept", "slope"]),
        (mr.se, ["se_intercept", "se_slope"]),
        (mr.statistic, ["stat_intercept", "stat_slope"]),
        (mr.pvalue, ["p_intercept", "p_slope"]),
        (mr.ci_low, ["ci_low_intercept", "ci_low_slope"]),
        (mr.ci_high, ["ci_high_intercept", "ci_high_slope"]),
    ]
    for ours, keys in pairs:
        close(ours, [ref[k] for k in keys], keys[0])
    for a in ("qm", "qe", "tau2", "se_tau2", "i2", "h2", "r2"):
        close(getattr(mr, a), ref[a], a)
    close(mr.qm_pvalue, ref["qm_pvalue"], "qm_pvalue")
    close(mr.qe_pvalue, ref["qe_pvalue"], "qe_pvalue")


SG_IDS = [f"{r['dataset']}-{r['method']}-{r['test']}" for r in REF["subgroup"]]


@pytest.mark.parametrize("ref", REF["subgroup"], ids=SG_IDS)
def test_subgroup_matches_metafor(ref):
    y, v, s = data(ref["dataset"])
    g = [str(x) for x in np.atleast_1d(DATA[ref["dataset"]]["group"])]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MetaAnalysisWarning)
        sg = subgroup(y, v, g, method=ref["method"], test=ref["test"])
    assert list(sg.groups) == [str(x) for x in np.atleast_1d(ref["groups"])]
    close(sg.table["estimate"].to_numpy(), arr(ref["estimate"]), "estimate")
    close(sg.table["se"].to_numpy(), arr(ref["se"]), "se")
    close(sg.table["tau2"].to_numpy(), arr(ref["tau2"]), "tau2")
    close(sg.q_between, ref["q_between"], "q_between")
    assert sg.df_between == ref["df_between"]
    close(sg.p_between, ref["p_between"], "p_between")
    close(sg.qm, ref["qm"], "qm")
    close(sg.qm_pvalue, ref["qm_pvalue"], "qm_pvalue")
    close(sg.tau2_common, ref["tau2_common"], "tau2_common")
