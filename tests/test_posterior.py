"""The review's Bayesian layer: priors per measure, saved posteriors, claim probabilities."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ketamine_evidence.analysis import posterior
from ketamine_evidence.meta import bayes
from ketamine_evidence.scales import to_metric

SETTINGS = {
    "priors": {
        "SMD": {"tau_prior": "halfnormal", "tau_scale": 0.5, "scale_unit": "effect",
                "mu_prior_sd": 10},
        "ROM": {"tau_prior": "halfnormal", "tau_scale": 0.5, "scale_unit": "effect",
                "mu_prior_sd": 10},
        "MD": {"tau_prior": "halfnormal", "tau_scale": 0.25, "scale_unit": "uisd",
               "mu_prior_sd": 5},
    },
    "sensitivity": [
        {"id": "hn_half", "tau_prior": "halfnormal", "scale_factor": 0.5},
        {"id": "hc", "tau_prior": "halfcauchy", "scale_factor": 1.0},
    ],
}
Y = [-0.6, -0.2, -0.45]
V = [0.08, 0.05, 0.1]


def test_uisd_is_roever_eq6():
    v, n = [0.04, 0.09], [100, 50]
    assert posterior.uisd(v, n) == pytest.approx(math.sqrt(150 / (25 + 1 / 0.09)))
    assert math.isnan(posterior.uisd(v, [100, math.nan]))


def test_priors_per_measure_and_sensitivity_set():
    priors, note = posterior.resolve_priors(SETTINGS, "smd", V, [40, 40, 40])
    assert note == ""
    assert [p.prior_id for p in priors] == ["main", "hn_half", "hc"]
    assert [p.tau_scale for p in priors] == [0.5, 0.25, 0.5]
    assert priors[0].label == "half-normal(0.5) prior on tau"
    assert priors[2].label == "half-Cauchy(0.5) prior on tau"
    assert priors[0].mu_prior == (0.0, 10.0)
    md, _ = posterior.resolve_priors(SETTINGS, "MD", [4.0, 9.0], [25, 25])
    unit = posterior.uisd([4.0, 9.0], [25, 25])
    assert md[0].tau_scale == pytest.approx(0.25 * unit)
    assert md[0].mu_prior == (0.0, pytest.approx(5 * unit))
    assert "UISD" in md[0].label
    none, why = posterior.resolve_priors(SETTINGS, "MD", [4.0], [math.nan])
    assert none == [] and "sample size" in why
    none, why = posterior.resolve_priors(SETTINGS, "RR", V, [1, 1, 1])
    assert none == [] and "RR" in why


def test_single_trial_needs_a_proper_mu_prior():
    flat = {"priors": {"SMD": {"tau_prior": "halfnormal", "tau_scale": 0.5,
                               "scale_unit": "effect", "mu_prior_sd": None}},
            "sensitivity": []}
    post = posterior.fit_analysis("a", [-0.5], [0.1], [30], "SMD", flat)
    assert post.main is None and "proper prior" in post.note
    assert math.isnan(posterior.pooled_columns(post)["bayes_estimate"])
    post = posterior.fit_analysis("a", [-0.5], [0.1], [30], "SMD", SETTINGS)
    assert post.main.k == 1 and len(post.results) == 3


def _fitted():
    post = posterior.fit_analysis("a_smd", Y, V, [40, 40, 40], "SMD", SETTINGS)
    rom = posterior.fit_analysis("a_rom", Y, V, [40, 40, 40], "ROM", SETTINGS)
    return post, rom


def test_saved_posteriors_round_trip_and_give_claim_probabilities():
    post, rom = _fitted()
    table = posterior.mixture_table([post, rom, posterior.AnalysisPosterior("empty")])
    assert list(table.columns) == list(posterior.MIXTURE_COLUMNS)
    mixtures = posterior.read_mixtures(table)
    assert set(mixtures) == {(a, p) for a in ("a_smd", "a_rom") for p in ("main", "hn_half", "hc")}
    claims = pd.DataFrame([
        {"claim_id": "S", "analysis_used": "a_smd", "metric": "smd", "claimed_low": -math.inf,
         "claimed_high": -0.5, "meaningful_threshold": -0.2},
        {"claim_id": "R", "analysis_used": "a_rom", "metric": "percent_reduction",
         "claimed_low": 60.0, "claimed_high": 100.0, "meaningful_threshold": math.nan},
        {"claim_id": "N", "analysis_used": "nothing", "metric": "smd", "claimed_low": -1.0,
         "claimed_high": 0.0, "meaningful_threshold": -0.2},
    ])
    pooled = pd.DataFrame([{"analysis_id": "a_smd", **posterior.pooled_columns(post)},
                           {"analysis_id": "a_rom", **posterior.pooled_columns(rom)}])
    wide, long = posterior.claim_probabilities(claims, mixtures, pooled)
    direct = bayes(Y, V, "halfnormal", 0.5, (0.0, 10.0))
    assert wide.loc[0, "p_claim"] == pytest.approx(direct.prob_mu(-math.inf, -0.5), abs=1e-14)
    assert wide.loc[0, "p_claim_pred"] == pytest.approx(direct.prob_pred(-math.inf, -0.5),
                                                        abs=1e-14)
    # meaningful: an SMD at or below -0.2 (benefit is negative on symptom scales)
    assert wide.loc[0, "p_meaningful"] == pytest.approx(direct.prob_mu(-math.inf, -0.2),
                                                        abs=1e-14)
    assert wide.loc[0, "bayes_prior"] == "half-normal(0.5) prior on tau"
    assert wide.loc[0, "bayes_estimate"] == pytest.approx(direct.mu_median)
    # 60-100% reduction = ratio of means at most 0.4 = log ratio at most log(0.4)
    assert wide.loc[1, "p_claim"] == pytest.approx(direct.prob_mu(-math.inf, math.log(0.4)),
                                                   abs=1e-14)
    assert math.isnan(wide.loc[1, "p_meaningful"])
    lo, hi = wide.loc[1, "bayes_ci_low"], wide.loc[1, "bayes_ci_high"]
    assert lo == pytest.approx(to_metric("percent_reduction", direct.mu_ci_high)) and lo < hi
    assert math.isnan(wide.loc[2, "p_claim"]) and wide.loc[2, "bayes_prior"] == ""
    assert len(long) == 6 and set(long["prior_id"]) == {"main", "hn_half", "hc"}
    wider = long[(long.claim_id == "S") & (long.prior_id == "hc")]["p_claim_pred"].iloc[0]
    assert 0.0 < wider < 1.0


def test_malformed_saved_posterior_names_analysis_and_prior():
    post, _ = _fitted()
    table = posterior.mixture_table([post])
    table.loc[3, "cond_sd"] = -1.0
    with pytest.raises(ValueError, match="analysis a_smd, prior main"):
        posterior.read_mixtures(table)
    with pytest.raises(ValueError, match="lacks column"):
        posterior.read_mixtures(table.drop(columns="weight"))


def test_sensitivity_rows_one_per_prior():
    post, _ = _fitted()
    rows = pd.DataFrame(posterior.sensitivity_rows(post))
    assert list(rows["kind"].unique()) == ["bayes_prior"]
    assert list(rows["prior_id"]) == ["main", "hn_half", "hc"]
    main = post.main
    assert rows.loc[0, "estimate"] == main.mu_median
    assert rows.loc[0, "tau2"] == pytest.approx(main.tau_median**2)
    # a narrower prior on tau gives a narrower interval for mu
    widths = rows["ci_high"] - rows["ci_low"]
    assert widths[1] < widths[0]


@pytest.mark.parametrize(("p", "text"), [(0.003, "<1%"), (0.034, "3%"), (0.996, ">99%"),
                                         (math.nan, "not estimable")])
def test_percent_words(p, text):
    assert posterior.percent(p) == text


def test_row_sizes_use_arms_then_randomised_total():
    from ketamine_evidence.analysis.pooling import row_sizes

    rows = pd.DataFrame({"n1i": [10, 12, np.nan], "n2i": [11, 12, np.nan],
                         "design": ["parallel", "crossover", "parallel"],
                         "n_randomised_total": [np.nan, np.nan, 30]})
    assert list(row_sizes(rows)) == [21, 12, 30]


def test_posterior_figure_shades_the_claimed_range():
    from ketamine_evidence.plots import posterior_plot

    post, rom = _fitted()
    res = rom.main
    fig = posterior_plot(res.posterior, metric="percent_reduction", claimed_range=(60, 100),
                         interval=(res.pred_ci_low, res.pred_ci_high), p_claim=0.034,
                         p_claim_pred=0.05, prior_label=rom.priors[0].label, title="C1a")
    ax = fig.axes[0]
    assert len(ax.collections) == 1  # the shaded claimed range
    shaded = ax.collections[0].get_paths()[0].vertices
    assert shaded[:, 0].min() >= 60 - 1e-9
    texts = " ".join(t.get_text() for t in ax.texts)
    assert "3%" in texts and "5%" in texts and "half-normal(0.5)" in texts
    # the density drawn integrates to about 1 on the percent scale over the drawn range
    x, y = ax.lines[0].get_data()
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    area = float(np.sum((y[1:] + y[:-1]) * np.diff(x)) / 2)  # trapezoid rule (numpy 1.26 lacks np.trapezoid)
    assert 0.9 < area <= 1.0 + 1e-6


def test_report_states_the_probability_in_words():
    from ketamine_evidence.report import bayes_methods_text, probability_text

    row = {"metric": "percent_reduction", "claimed_low": 60.0, "claimed_high": 100.0,
           "outcome": "PTSD severity", "p_claim": 0.034, "p_claim_pred": 0.21,
           "bayes_prior": "half-normal(0.5) prior on tau", "p_meaningful": math.nan,
           "meaningful_threshold": math.nan}
    text = probability_text(row, "ketamine")
    assert text.startswith("Probability that ketamine's true average effect on PTSD severity "
                           "is 60% to 100%")
    assert ": 3% (half-normal(0.5) prior on tau)." in text and "new trial or setting: 21%" in text
    assert "not estimable" in probability_text({**row, "p_claim": math.nan})
    methods = bayes_methods_text(SETTINGS)
    assert "SMD: tau ~ half-normal(0.5)" in methods and "unit information SD" in methods
    assert "half-Cauchy with scale" in methods
