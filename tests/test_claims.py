"""Claim verdicts: the rule (CI against the claimed range) on every branch, and metrics."""

import math

import numpy as np
import pandas as pd
import pytest

from ketamine_evidence.synthesis import claims


@pytest.mark.parametrize(
    ("ci", "expected"),
    [((-0.9, -0.3), "supported"),      # whole CI below 0
     ((-0.4, 0.2), "inconclusive"),    # straddles 0
     ((0.1, 0.5), "contradicted")],    # whole CI above 0
)
def test_verdict_for_open_range(ci, expected):
    v = claims.judge("C", "smd", [None, 0], k=3, estimate=sum(ci) / 2, ci_low=ci[0],
                     ci_high=ci[1], pi_low=ci[0] - 1, pi_high=ci[1] + 1)
    assert v.verdict == expected
    assert v.claimed_low == -math.inf and v.claimed_high == 0


def test_percent_reduction_swaps_bounds_and_transforms():
    # ROM CI log(0.5)..log(0.9) is a 10% to 50% reduction: below a claimed 60-100%.
    v = claims.judge("C1", "percent_reduction", [60, 100], k=4, estimate=math.log(0.7),
                     ci_low=math.log(0.5), ci_high=math.log(0.9), pi_low=math.log(0.3),
                     pi_high=math.log(1.2))
    assert v.estimate == pytest.approx(30.0)
    assert (v.ci_low, v.ci_high) == (pytest.approx(10.0), pytest.approx(50.0))
    assert (v.pi_low, v.pi_high) == (pytest.approx(-20.0), pytest.approx(70.0))
    assert v.verdict == "contradicted"
    assert v.pi_status == "straddles"


def test_percent_reduction_supported_when_ci_inside():
    v = claims.judge("C1", "percent_reduction", [60, 100], k=2, estimate=math.log(0.2),
                     ci_low=math.log(0.1), ci_high=math.log(0.35))
    assert v.verdict == "supported"
    assert v.pi_status == "not_estimable"


def test_words_only_is_inconclusive_not_no_evidence():
    # A trial that reported the outcome only in words is evidence: its size cannot be judged.
    v = claims.judge("C4", "smd", [None, 0], k=0, narrative_studies=["Feder 2021"],
                     direction_text="1 trial: 0 favouring the intervention")
    assert v.verdict == "inconclusive"
    assert "Feder 2021" in v.verdict_reason
    assert "cannot be judged from words" in v.verdict_reason
    assert "0 favouring" in v.verdict_reason
    assert math.isnan(v.estimate)


def test_no_evidence_only_when_no_trial_reported_it():
    v = claims.judge("C4", "smd", [None, 0], k=0)
    assert v.verdict == "no_evidence"
    assert v.verdict_reason == "No trial reported this outcome."
    assert claims.judge("C4", "smd", [None, 0], k=0, reported_k=0).verdict == "no_evidence"


def test_single_trial_is_flagged():
    v = claims.judge("C5", "smd", [None, 0], k=1, estimate=-0.5, ci_low=-0.9, ci_high=-0.1)
    assert v.verdict == "supported"
    assert "single trial" in v.verdict_reason


def test_bad_range_and_metric_raise():
    with pytest.raises(ValueError, match="lower bound above"):
        claims.judge("C", "smd", [1, 0], k=1, estimate=0, ci_low=-1, ci_high=1)
    with pytest.raises(ValueError, match="unknown claim metric"):
        claims.judge("C", "bogus", [0, 1], k=1, estimate=0, ci_low=-1, ci_high=1)


def test_evaluate_claims_table():
    pooled = pd.DataFrame([
        {"analysis_id": "a1", "outcome": "ptsd_severity", "k": 3, "estimate": -0.6,
         "ci_low": -1.0, "ci_high": -0.2, "pi_low": -1.5, "pi_high": 0.3, "tau2": 0.05,
         "i2": 30.0, "q_pvalue": 0.2, "n_participants": 120},
        {"analysis_id": "a2", "outcome": "ptsd_severity", "k": 0, "estimate": np.nan,
         "ci_low": np.nan, "ci_high": np.nan, "pi_low": np.nan, "pi_high": np.nan},
    ])
    spec = [
        {"id": "C6", "text": "miraculous", "analysis": "a1", "metric": "smd",
         "claimed_range": [None, -0.8], "comparator_analysis": "a1"},
        {"id": "C4", "text": "durable", "analysis": "a2", "metric": "smd",
         "claimed_range": [None, 0], "narrative_outcomes": ["relapse"]},
    ]
    study_effects = pd.DataFrame({"analysis_id": ["a1"] * 3, "study_id": ["s1", "s2", "s3"]})
    rob = pd.DataFrame({"study_id": ["s1", "s2", "s2"], "domain": ["overall", "overall", "D1"],
                        "judgement": ["high", "some_concerns", "low"]})
    not_poolable = pd.DataFrame({"study_id": ["s9"], "label": ["Smith 2020"],
                                 "outcome": ["relapse"]})
    table = claims.evaluate_claims(spec, pooled, study_effects=study_effects,
                                   risk_of_bias=rob, not_poolable=not_poolable)
    c6, c4 = table.iloc[0], table.iloc[1]
    assert c6["verdict"] == "inconclusive"
    assert (c6["high_rob_k"], c6["some_concerns_rob_k"], c6["unassessed_rob_k"]) == (1, 1, 1)
    assert c6["comparator_estimate"] == pytest.approx(-0.6)
    # Smith 2020 reported relapse in words (no curated direction yet): not "no evidence".
    assert c4["verdict"] == "inconclusive"
    assert c4["narrative_studies"] == "Smith 2020"
    assert (c4["reported_k"], c4["pooled_k"], c4["direction_unclear"]) == (1, 0, 1)
    assert math.isnan(c4["sign_test_pvalue"])
    assert (c6["reported_k"], c6["pooled_k"]) == (3, 3)


def test_within_arm_text_is_labelled_as_uncontrolled():
    within = pd.DataFrame({"study_id": ["s1", "s2"], "label": ["A 2020", "B 2021"],
                           "outcome": ["ptsd_severity"] * 2, "percent_reduction": [40.0, 62.5]})
    text = claims._within_arm_text(within, "ptsd_severity", "ketamine")
    assert text.startswith("Within ketamine arms, symptoms fell")
    assert "40% to 62%" in text or "40% to 63%" in text
    assert "not a controlled effect" in text


def _pooled(rows):
    base = {"estimate": np.nan, "ci_low": np.nan, "ci_high": np.nan, "pi_low": np.nan,
            "pi_high": np.nan, "outcome": "ptsd_severity"}
    return pd.DataFrame([base | r for r in rows])


def test_fallback_analysis_used_only_when_planned_one_is_empty():
    claim = {"id": "C2", "text": "rapid", "analysis": "smd24", "metric": "smd",
             "claimed_range": [None, 0],
             "fallback_analyses": [{"analysis": "md24", "metric": "md"}]}
    pooled = _pooled([{"analysis_id": "smd24", "k": 0},
                      {"analysis_id": "md24", "k": 1, "estimate": -12.7, "ci_low": -22.8,
                       "ci_high": -2.5}])
    row = claims.evaluate_claims([claim], pooled).iloc[0]
    assert (row["analysis_used"], row["metric"], row["verdict"]) == ("md24", "md", "supported")
    assert "judged on md24 instead" in row["verdict_reason"]
    pooled.loc[0, ["k", "estimate", "ci_low", "ci_high"]] = [2, 0.1, -0.3, 0.5]
    row = claims.evaluate_claims([claim], pooled).iloc[0]
    assert (row["analysis_used"], row["verdict"]) == ("smd24", "inconclusive")


def test_narrative_results_match_window_and_skip_pooled_studies():
    claim = {"id": "C6", "text": "big", "analysis": "end", "metric": "smd",
             "claimed_range": [None, -0.8]}
    spec = {"id": "end", "title": "end", "measure": "SMD", "outcome": "ptsd_severity",
            "window_days": [1, 35]}
    pooled = _pooled([{"analysis_id": "end", "k": 1, "estimate": -1.1, "ci_low": -1.9,
                       "ci_high": -0.3}])
    study_effects = pd.DataFrame({"analysis_id": ["end"], "study_id": ["pooled2021"]})
    not_poolable = pd.DataFrame({
        "study_id": ["pooled2021", "null2022", "late2020", "vague2019", "other2018"],
        "label": ["Pooled 2021", "Null 2022", "Late 2020", "Vague 2019", "Other 2018"],
        "outcome": ["ptsd_severity"] * 4 + ["depression"],
        "timepoint_days": [1, 14, 90, np.nan, 14],
        "narrative": ["24 h in words", "no significant difference", "held at 3 months",
                      "improved equally", "better mood"],
        "reason": ["narrative"] * 5,
    })
    row = claims.evaluate_claims([claim], pooled, analyses=[spec], study_effects=study_effects,
                                 not_poolable=not_poolable).iloc[0]
    assert row["narrative_studies"] == "Null 2022; Vague 2019"
    assert "Null 2022: no significant difference" in row["narrative_results"]
    assert "Null 2022" in row["verdict_reason"]


def test_narrative_results_follow_the_analysis_filters():
    not_poolable = pd.DataFrame({
        "study_id": ["tr2022", "nontr2021"], "label": ["TR 2022", "Non-TR 2021"],
        "outcome": ["ptsd_severity"] * 2, "timepoint_days": [14, 14],
        "narrative": ["no difference", "better"], "reason": ["narrative"] * 2,
        "treatment_resistant": ["yes", "no"]})
    out = claims._narrative_results(not_poolable, ["ptsd_severity"], [1, 35],
                                    filters={"treatment_resistant": ["yes"]})
    assert out == [("TR 2022", "no difference")]


def test_single_study_shows_no_heterogeneity():
    pooled = _pooled([{"analysis_id": "end", "k": 1, "estimate": -1.1, "ci_low": -1.9,
                       "ci_high": -0.3, "i2": 0.0, "tau2": 0.0, "q_pvalue": 1.0}])
    claim = {"id": "C6", "text": "big", "analysis": "end", "metric": "smd",
             "claimed_range": [None, -0.8]}
    row = claims.evaluate_claims([claim], pooled).iloc[0]
    assert math.isnan(row["i2"]) and math.isnan(row["tau2"]) and math.isnan(row["q_pvalue"])


def test_single_study_has_no_prediction_interval():
    v = claims.judge("C", "smd", [None, 0], k=1, estimate=-1.0, ci_low=-1.5, ci_high=-0.5,
                     pi_low=-1.5, pi_high=-0.5)
    assert math.isnan(v.pi_low) and v.pi_status == "not_estimable"


def _reporting_fixture():
    """Two pooled trials (one each way) and three words-only trials of one outcome."""
    pooled = _pooled([{"analysis_id": "end", "k": 2, "estimate": -0.3, "ci_low": -0.9,
                       "ci_high": 0.3, "n_participants": 70}])
    study_effects = pd.DataFrame({
        "analysis_id": ["end", "end"], "study_id": ["a2020", "b2021"],
        "label": ["A 2020", "B 2021"], "yi": [-0.6, 0.1], "vi": [0.1, 0.1],
        "weight": [50.0, 50.0], "lower_is_better": ["True", "True"],
        "n1i": [20, 15], "n2i": [20, 15]})
    not_poolable = pd.DataFrame({
        "study_id": ["c2022", "c2022", "d2023", "e2024"],
        "label": ["C 2022", "C 2022", "D 2023", "E 2024"],
        "outcome": ["ptsd_severity"] * 4, "timepoint_days": [14, 14, np.nan, 7],
        "data_type": ["narrative"] * 4,
        "narrative": ["better on CAPS-5", "better on PCL-5", "no difference", "improved"],
        "direction": ["favours_intervention", "favours_intervention", "no_clear_difference",
                      None],
        "row_ids": ["E1", "E2", "E3", "E4"], "reason": ["narrative"] * 4})
    characteristics = pd.DataFrame({"study_id": ["c2022", "d2023", "e2024"],
                                    "n_randomised_total": [100, 50, 30]})
    return pooled, study_effects, not_poolable, characteristics


def test_every_reporting_trial_votes_by_direction():
    pooled, study_effects, not_poolable, characteristics = _reporting_fixture()
    claim = {"id": "C", "text": "relief", "analysis": "end", "metric": "smd",
             "claimed_range": [None, 0]}
    spec = {"id": "end", "title": "end", "measure": "SMD", "outcome": "ptsd_severity",
            "window_days": [1, 35]}
    row = claims.evaluate_claims([claim], pooled, analyses=[spec], study_effects=study_effects,
                                 not_poolable=not_poolable,
                                 characteristics=characteristics).iloc[0]
    # A favours, B against (by sign, not significance); C favours once (two rows agree);
    # D no clear difference; E not judged (no curated direction).
    assert (row["reported_k"], row["pooled_k"]) == (5, 2)
    assert (row["direction_favours"], row["direction_against"], row["direction_unclear"]) == \
        (2, 1, 2)
    assert row["sign_test_pvalue"] == pytest.approx(1.0)
    assert row["direction_proportion"] == pytest.approx(2 / 3)
    assert "subset of the 5 that reported" in row["verdict_reason"]
    assert "C 2022; D 2023; E 2024" in row["verdict_reason"]
    # New columns come after every column that existed before.
    assert list(row.index[-10:]) == [
        "reported_k", "direction_favours", "direction_against", "direction_unclear",
        "sign_test_pvalue", "pooled_k", "direction_proportion", "direction_ci_low",
        "direction_ci_high", "direction_summary"]


def test_claim_studies_lists_weights_participants_and_votes():
    pooled, study_effects, not_poolable, characteristics = _reporting_fixture()
    claim = {"id": "C", "text": "relief", "analysis": "end", "metric": "smd",
             "claimed_range": [None, 0]}
    spec = {"id": "end", "title": "end", "measure": "SMD", "outcome": "ptsd_severity",
            "window_days": [1, 35]}
    evidence = claims.claim_evidence([claim], pooled, analyses=[spec],
                                     study_effects=study_effects, not_poolable=not_poolable,
                                     characteristics=characteristics)
    table = claims.claim_studies(evidence).set_index("study_id")
    assert table.loc["a2020", "weight"] == pytest.approx(0.5)
    assert table.loc["a2020", "n"] == 40
    assert table.loc["c2022", "n"] == 100 and not table.loc["c2022", "pooled"]
    assert table.loc["b2021", "direction"] == "favours_control"
    assert table.loc["e2024", "direction"] == "not_judged"
    assert table.loc["c2022", "evidence"] == "words (E1, E2)"


@pytest.mark.parametrize(("claimed", "text"), [
    ([60, 100], "60 to 100"), ([None, 0], "at most 0"), ([0.5, None], "at least 0.5"),
    ([None, None], "any value"), ([-0.2, 0.2], "-0.2 to 0.2")])
def test_a_claimed_range_is_worded_with_its_bounds_included(claimed, text):
    """The bounds belong to the range (a CI ending exactly on one is inside), so an open range
    reads "at most"/"at least", as in the report; "below 0" said otherwise."""
    assert claims.format_range(claimed) == text
    verdict = claims.judge("C", "smd", claimed, k=2, estimate=-0.5, ci_low=-0.9, ci_high=0.0)
    assert f"({text})" in verdict.verdict_reason
    if claimed == [None, 0]:
        assert verdict.verdict == "supported"  # the CI ends on the bound: inside
