"""Meaningful-effect thresholds, indirectness facts, verdict wording and the SoF table."""

import math

import numpy as np
import pandas as pd
import pytest

from ketamine_evidence.synthesis import claims, grade
from ketamine_evidence.synthesis import thresholds as th

SHEET = pd.DataFrame({
    "threshold_id": ["T1", "T2"], "instrument": ["PCL-5", "CAPS-5"],
    "kind": ["clinically_meaningful_change", "response_definition"], "value": [10.0, 30.0],
    "unit": ["points", "percent"], "comparison": ["within_person_change"] * 2,
    "source_id": ["PMID:1", "PMID:2"], "location": ["table 2", "abstract"]})
BENCHMARKS = {"small": 0.2, "medium": 0.5, "large": 0.8}


def test_threshold_first_fitting_the_judged_scale():
    specs = [{"threshold_id": "T1"}, {"smd_benchmark": "small"}]
    md = th.resolve(specs, "md", -1, thresholds=SHEET, smd_benchmarks=BENCHMARKS)
    assert md.value == -10 and "PCL-5 clinically meaningful change of 10 points" in md.label
    assert "within a person" in md.label and md.source == "PMID:1, table 2"
    smd = th.resolve(specs, "smd", -1, thresholds=SHEET, smd_benchmarks=BENCHMARKS)
    assert smd.value == -0.2 and "convention" in smd.label
    assert th.resolve(specs, "rr", 1, thresholds=SHEET, smd_benchmarks=BENCHMARKS) is None


def test_threshold_errors_name_the_claim():
    with pytest.raises(ValueError, match="C9: meaningful: threshold_id 'T9' is not in"):
        th.resolve([{"threshold_id": "T9"}], "md", -1, thresholds=SHEET, claim_id="C9")
    with pytest.raises(ValueError, match="thresholds.csv is absent"):
        th.resolve([{"threshold_id": "T1"}], "md", -1, thresholds=None, claim_id="C9")
    with pytest.raises(ValueError, match="not in analysis.smd_benchmarks"):
        th.resolve([{"smd_benchmark": "huge"}], "smd", -1, smd_benchmarks=BENCHMARKS)


@pytest.mark.parametrize(("ci", "any_status", "meaningful"), [
    ((-0.9, -0.3), "shown", "uncertain"),      # clear of 0, crosses -0.5
    ((-1.2, -0.6), "shown", "shown"),          # beyond -0.5 throughout
    ((-0.4, -0.1), "shown", "ruled_out"),      # an effect, but smaller than meaningful
    ((-0.6, 0.2), "not_shown", "uncertain"),
    ((0.1, 0.4), "harm", "ruled_out"),
    ((math.nan, math.nan), "not_estimable", "not_estimable"),
])
def test_any_and_meaningful_effect(ci, any_status, meaningful):
    assert th.any_effect(*ci, 0.0, -1) == any_status
    assert th.meaningful_effect(*ci, -0.5, -1) == meaningful
    assert th.meaningful_effect(*ci, None, -1) == "no_threshold"


def test_benefit_direction_per_metric():
    assert th.benefit_sign("smd", True) == -1
    assert th.benefit_sign("rr", False) == 1            # more responders is better
    assert th.benefit_sign("percent_reduction", None) == 1
    # a percent reduction of 35 (CI 10 to 60) against a 30% threshold
    assert th.meaningful_effect(10, 60, 30, 1) == "uncertain"


def test_study_indirectness_from_characteristics():
    study = {"population_scope": "mixed", "population": "veterans with chronic pain; more",
             "n_infusions": "1", "control_type": "active_comparator"}
    text = grade.study_indirectness(
        study, {"population": ["target"], "intervention": "course",
                "comparator": ["active_placebo", "inactive_placebo"],
                "outcome_rater": "clinician"},
        "IES-R", {"IES-R": "self_report"})
    assert text == ("population mixed: veterans with chronic pain; a single infusion, not a "
                    "course; comparator active comparator; outcome self-report-rated (IES-R), "
                    "not clinician-rated")
    assert grade.study_indirectness(study, {}, "IES-R", {}) == ""
    # not recorded is not indirect
    assert grade.study_indirectness({}, {"population": ["target"], "intervention": "course"},
                                    "", {}) == ""
    assert "course of 8 infusions" in grade.study_indirectness(
        {"n_infusions": "8;8"}, {"intervention": "single"})


def test_registrations_without_results_split_overdue_from_ongoing():
    screening = pd.DataFrame({"record_id": ["R1", "R2", "R3", "R4"],
                              "reason_code": ["ongoing_no_results"] * 3 + ["wrong_design"]})
    records = pd.DataFrame({"record_id": ["R1", "R2", "R3", "R4"],
                            "nct_id": ["NCT01", "NCT02", "NCT03", "NCT04"],
                            "title": ["Done", "Running", "Prevention", "Other"],
                            "question": ["treatment", "treatment", "prevention", "treatment"],
                            "completion_date": ["2024-05-01", "2031-08-01", "", ""]})
    overdue, unknown = grade.registrations_without_results(screening, records,
                                                           as_of="2026-11-30")
    assert overdue == ("NCT01 (Done), completed 2024-05-01",)
    assert unknown == ("NCT02 (Running)",)
    assert grade.registrations_without_results(None) == ((), ())


def _fixture():
    pooled = pd.DataFrame([{"analysis_id": "end", "outcome": "ptsd_severity", "measure": "SMD",
                            "k": 1, "estimate": -1.13, "ci_low": -1.91, "ci_high": -0.36,
                            "pi_low": np.nan, "pi_high": np.nan, "i2": 0.0,
                            "n_participants": 30},
                           {"analysis_id": "resp", "outcome": "response", "measure": "RR",
                            "k": 1, "estimate": math.log(3.33), "ci_low": math.log(1.14),
                            "ci_high": math.log(9.75)}])
    study_effects = pd.DataFrame({
        "analysis_id": ["end", "resp"], "study_id": ["f2021", "f2021"],
        "label": ["F 2021", "F 2021"], "yi": [-1.13, math.log(3.33)], "vi": [0.16, 0.3],
        "weight": [100.0, 100.0], "lower_is_better": [True, False], "n1i": [15, 15],
        "n2i": [15, 15], "ai": [np.nan, 10], "ci": [np.nan, 3], "instrument": ["CAPS-5"] * 2,
        "outcome": ["ptsd_severity", "response"], "timepoint_days": [14, 14]})
    not_poolable = pd.DataFrame({
        "study_id": ["a2022"], "label": ["A 2022"], "outcome": ["ptsd_severity"],
        "timepoint_days": [np.nan], "data_type": ["narrative"], "narrative": ["no difference"],
        "direction": ["no_clear_difference"], "row_ids": ["E12"], "reason": ["narrative"],
        "instrument": ["PCL-5"]})
    characteristics = pd.DataFrame({"study_id": ["f2021", "a2022"],
                                    "n_randomised_total": [30, 158],
                                    "population_scope": ["target", "target"],
                                    "n_infusions": ["6", "8;8"]})
    specs = [{"id": "end", "title": "end", "outcome": "ptsd_severity", "measure": "SMD",
              "window_days": [1, 35]},
             {"id": "resp", "title": "resp", "outcome": "response", "measure": "RR",
              "window_days": [1, 35]}]
    claim = {"id": "C6", "text": "miraculous", "analysis": "end", "metric": "smd",
             "claimed_range": [None, -0.8], "outcome": "PTSD severity",
             "meaningful": [{"smd_benchmark": "large"}],
             "directness": {"population": ["target"]},
             "assertion": {"text": "share with a large improvement", "analysis": "resp",
                           "metric": "rr", "note": "response is not a large improvement"}}
    return pooled, study_effects, not_poolable, characteristics, specs, claim


def test_assess_claims_end_to_end_on_one_trial_and_one_null_in_words():
    pooled, study_effects, not_poolable, characteristics, specs, claim = _fixture()
    evidence = claims.claim_evidence([claim], pooled, analyses=specs,
                                     study_effects=study_effects, not_poolable=not_poolable,
                                     characteristics=characteristics)
    table = claims.evaluate_claims([claim], pooled, analyses=specs,
                                   study_effects=study_effects, not_poolable=not_poolable,
                                   characteristics=characteristics)
    graded, long = grade.assess_claims([claim], evidence, list(table["verdict"]), pooled,
                                       study_effects=study_effects,
                                       characteristics=characteristics,
                                       smd_benchmarks=BENCHMARKS)
    row = graded.iloc[0]
    assert list(graded.columns) == grade.CLAIM_COLUMNS
    # RoB unassessed (-1), findings differ (-1), crosses -0.8 and 30 < 400 (-2),
    # 84% of the reporting participants unpooled (-2): very low
    assert row["certainty"] == "very_low"
    assert row["verdict_text"] == ("inconclusive, very low certainty (1 trial, 30 "
                                   "participants; 1 more reported it without poolable numbers)")
    assert (row["any_effect"], row["meaningful_effect"]) == ("shown", "uncertain")
    assert row["meaningful_threshold"] == -0.8
    assert row["assertion_result"].startswith("resp: rr 3.33 (95% CI 1.14 to 9.75), 1 trial")
    assert set(long["domain"]) == {"risk_of_bias", "inconsistency", "indirectness",
                                   "imprecision", "publication_bias", "overall"}
    assert (long["claim_id"] == "C6").all() and (long["analysis_id"] == "end").all()
    sof = grade.summary_of_findings([claim], pd.concat([table, graded], axis=1), evidence,
                                    study_effects=study_effects, intervention="ketamine")
    assert sof.iloc[0]["trials"] == "1 pooled of 2 reporting"
    assert sof.iloc[0]["statement"] == ("The evidence is very uncertain about the effect of "
                                        "ketamine on PTSD severity.")


@pytest.mark.parametrize(("level", "estimate", "any_status", "expected"), [
    ("high", -1.0, "shown", "Ketamine reduces PTSD severity."),
    ("moderate", -1.0, "shown", "Ketamine probably reduces PTSD severity."),
    ("moderate", -0.1, "not_shown",
     "Ketamine probably makes little or no difference to PTSD severity."),
    ("low", -0.3, "shown", "Ketamine may reduce PTSD severity slightly."),
    ("low", -0.1, "not_shown", "Ketamine may make little or no difference to PTSD severity."),
    ("very_low", -1.0, "shown",
     "The evidence is very uncertain about the effect of ketamine on PTSD severity."),
    ("", math.nan, "not_estimable", "No trial reported PTSD severity."),
])
def test_plain_language_statements(level, estimate, any_status, expected):
    text = grade.plain_statement(level, estimate, any_status, -0.5, 0.0, -1,
                                 intervention="ketamine", outcome="PTSD severity")
    assert text == expected


def test_verdict_text_words_only_and_no_evidence():
    from ketamine_evidence.synthesis import vote_counting

    votes = vote_counting.vote_count(["no_clear_difference", "favours_intervention"])
    assert grade.verdict_text("inconclusive", "low", votes, math.nan).startswith(
        "inconclusive, low certainty (no poolable numbers; 2 trials reported it: 1 favouring")
    assert grade.verdict_text("no_evidence", "", vote_counting.vote_count([]), math.nan) == \
        "no evidence (no trial reported this outcome)"
