"""The statsmodels cross-check of every analysis, and the reproduce.R text the step writes."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.meta_analysis import _fit_tau_iterative

from ketamine_evidence import meta
from ketamine_evidence.analysis import pooling, reproduce
from ketamine_evidence.meta import CrossCheckError, statsmodels_crosscheck

# Five studies on which statsmodels' Paule-Mandel, started at 0 with atol = 1e-13,
# overshoots the root and returns tau^2 = 0 although Q(0) > k - 1 (found by a seeded search).
RESET_Y = [-1.24, -0.09, -0.25, 0.15, 0.15]
RESET_V = [0.228, 0.091, 0.151, 0.294, 0.289]


@pytest.mark.parametrize("seed", range(20))
def test_engine_and_statsmodels_agree_to_1e8(seed):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 25))
    vi = rng.uniform(0.01, 0.4, k)
    yi = rng.normal(0.3, np.sqrt(vi + rng.choice([0.0, 0.05, 0.5])))
    checks = statsmodels_crosscheck(yi, vi, level=0.9)
    assert [c.method for c in checks] == ["DL", "PM"]
    for c in checks:
        assert c.agrees, c
        assert c.max_rel_diff <= 1e-8 or c.method == "PM"
        assert c.level == 0.9


def test_negative_dl_tau2_of_statsmodels_is_floored_like_metafor():
    yi, vi = [0.10, 0.11, 0.12, 0.10], [0.04, 0.05, 0.03, 0.06]  # Q far below k - 1
    dl = statsmodels_crosscheck(yi, vi, methods=("DL",))[0]
    assert dl.statsmodels_tau2_unfloored < 0
    assert dl.engine_tau2 == 0 and dl.statsmodels_tau2 == 0
    common = meta.rma(yi, vi, method="EE", test="z")
    assert dl.statsmodels_estimate == pytest.approx(common.estimate, rel=1e-12)
    assert dl.max_rel_diff < 1e-12


def test_statsmodels_pm_overshoot_reset_is_avoided():
    y, v = np.array(RESET_Y), np.array(RESET_V)
    tight, _ = _fit_tau_iterative(y, v, atol=1e-13, maxiter=1000)
    assert tight == 0  # statsmodels' own answer at that tolerance: its reset
    pm = statsmodels_crosscheck(y, v, methods=("PM",))[0]
    assert pm.engine_tau2 > 0.01
    assert pm.statsmodels_atol > 1e-13
    assert pm.statsmodels_tau2 == pytest.approx(pm.engine_tau2, rel=1e-7)
    assert pm.agrees


def test_relative_difference_uses_the_quantity_scale_near_zero():
    from ketamine_evidence.meta._crosscheck import relative_difference

    assert relative_difference(0.0, 1e-17, scale=0.1) == pytest.approx(1e-16)
    assert relative_difference(2.0, 2.0 + 2e-8, scale=0.1) == pytest.approx(1e-8)
    assert relative_difference(math.nan, math.nan, scale=1) == 0
    assert relative_difference(math.nan, 1.0, scale=1) == math.inf


def test_one_study_is_refused():
    with pytest.raises(ValueError, match="at least two"):
        statsmodels_crosscheck([0.2], [0.1])


def _outcome(aid, yi, vi, **extra):
    selected = pd.DataFrame({"study_id": [f"s{i}" for i in range(len(yi))],
                             "comparison": "a vs b", "label": [f"S{i}" for i in range(len(yi))],
                             "yi": yi, "vi": vi, "measure": "SMD", **extra})
    return pooling.pool_analysis(selected, {"id": aid, "title": aid, "outcome": "o", "measure": "SMD"}, method="REML",
                                  test="knha", level=0.95, pi_df=None)


def test_check_table_rows_per_analysis_and_estimator():
    outcomes = [_outcome("two", [0.2, 0.5], [0.05, 0.08]), _outcome("one", [0.3], [0.1])]
    table = reproduce.statsmodels_check_table(outcomes)
    assert list(table["analysis_id"]) == ["two", "two", "one"]
    assert list(table["method"].iloc[:2]) == ["DL", "PM"]
    assert table["agrees"].iloc[:2].all()
    assert "nothing pooled" in table["note"].iloc[2]
    reproduce.require_agreement(table)  # no error


def test_a_disagreement_fails_naming_the_analysis():
    table = reproduce.statsmodels_check_table([_outcome("ptsd_x", [0.2, 0.5, 0.1],
                                                        [0.05, 0.08, 0.02])])
    table.loc[1, "statsmodels_tau2"] = 0.5
    table.loc[1, ["max_rel_diff", "largest_in"]] = [0.3, "tau2"]
    with pytest.raises(CrossCheckError, match=r"analysis 'ptsd_x' \(PM, k = 3\): tau2 differs"):
        reproduce.require_agreement(table)


def test_reproduce_script_carries_the_settings_and_the_secondary_analyses():
    arms = {"m1i": [20.0, 22.0, 25.0], "sd1i": [9.0, 12.0, 10.0], "n1i": [20, 15, 18],
            "m2i": [29.0, 33.0, 31.0], "sd2i": [8.5, 11.0, 11.0], "n2i": [20, 15, 18],
            "derivation": ["escalc SMD (Hedges' g, vtype LS) from arm means/SDs"] * 2
            + ["crossover SMD (Cochrane 23.2.7.3): ..."],
            "design": ["parallel", "parallel", "crossover"],
            "assumption": ["", "", "crossover within-person r=0.5"],
            "assumption_value": [math.nan, math.nan, 0.5], "row_label": ["A", "B", "C"]}
    selected = pd.DataFrame({"study_id": ["a", "b", "c"], "comparison": "k vs p",
                             "yi": [-1.0, -0.9, -0.5], "vi": [0.1, 0.14, 0.06],
                             "measure": "SMD", **arms})
    outcome = pooling.pool_analysis(selected, {"id": "smd", "title": "SMD", "outcome": "o", "measure": "SMD"}, method="PM",
                                     test="z", level=0.9, pi_df="k-2")
    single = _outcome("single", [0.3], [0.1])
    text = reproduce.reproduce_r_script([outcome, single])
    assert 'rma(yi, vi, data = d, slab = row_label, method = "PM", test = "z", level = 90.0' in text
    assert 'predict(fit, pi.type = "riley")' in text
    assert text.count("escalc(measure = \"SMD\"") == 2
    assert "r <- 0.5" in text and "2 * (1 - r)" in text
    for call in ("confint(fit", "regtest(fit)", "trimfill(fit)", "leave1out(fit)"):
        assert text.count(call) == 1  # the k = 3 analysis only, not the single study
    assert 'a <- "single"' in text
