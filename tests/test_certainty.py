"""GRADE rules on constructed evidence, including k = 0, 1, 2 and all-words."""

import math

import pandas as pd
import pytest

from ketamine_evidence.synthesis import certainty as gr
from ketamine_evidence.types import GRADE_DOMAINS


def studies(*rows):
    """Reporting studies: (label, pooled, weight, n, direction, rob[, indirect])."""
    records = []
    for row in rows:
        label, pooled, weight, n, direction, rob, *rest = row
        records.append({"study_id": label.lower(), "label": label, "pooled": pooled,
                        "weight": weight, "n": n, "direction": direction, "rob": rob,
                        "evidence": "", "instruments": "",
                        "indirect": rest[0] if rest else ""})
    return pd.DataFrame(records)


FAV, AGAINST, NONE = "favours_intervention", "favours_control", "no_clear_difference"
SETTINGS = gr.default_settings()


def test_k0_no_trial_reported_is_not_rated():
    ev = gr.Evidence(studies=studies())
    rating = gr.assess(ev)
    assert rating.level == ""
    assert {d.judgement for d in rating.domains} == {"not_assessable"}


def test_risk_of_bias_weighted_by_pooled_weight():
    # 60% of the weight at high risk -> two levels; 40% high + 20% some -> one; low -> none
    ev = gr.Evidence(studies=studies(("A", True, 0.6, 50, FAV, "high"),
                                     ("B", True, 0.4, 50, FAV, "low")), k=2)
    assert gr.risk_of_bias(ev).levels == 2
    ev = gr.Evidence(studies=studies(("A", True, 40, 50, FAV, "high"),
                                     ("B", True, 20, 50, FAV, "some_concerns"),
                                     ("C", True, 40, 50, FAV, "low")), k=3)
    judged = gr.risk_of_bias(ev)
    assert (judged.levels, judged.judgement) == (1, "serious")
    assert judged.reason.startswith("half or more at high risk or with some concerns: 40% of "
                                    "the pooled weight from trials at high risk (A)")
    ev = gr.Evidence(studies=studies(("A", True, 0.3, 50, FAV, "high"),
                                     ("B", True, 0.7, 50, FAV, "low")), k=2)
    assert gr.risk_of_bias(ev).levels == 0


def test_risk_of_bias_by_participants_when_nothing_pooled_and_unassessed_counts():
    ev = gr.Evidence(studies=studies(("Big", False, math.nan, 150, NONE, ""),
                                     ("Small", False, math.nan, 50, FAV, "low")))
    judged = gr.risk_of_bias(ev)
    assert judged.levels == 1
    assert "75% not assessed" in judged.reason and "of the participants" in judged.reason


def test_inconsistency_not_assessable_with_one_trial():
    ev = gr.Evidence(studies=studies(("A", True, 1, 30, FAV, "low")), k=1, i2=0.0)
    judged = gr.inconsistency(ev, SETTINGS)
    assert (judged.judgement, judged.levels) == ("not_assessable", 0)
    assert "not the same as consistent" in judged.reason and "0%" not in judged.reason


def test_inconsistency_k2_directions_and_i2():
    agree = gr.Evidence(studies=studies(("A", True, 0.5, 30, FAV, "low"),
                                        ("B", True, 0.5, 30, FAV, "low")), k=2, i2=10.0)
    assert gr.inconsistency(agree, SETTINGS).levels == 0
    opposite = gr.Evidence(studies=studies(("A", True, 0.5, 30, FAV, "low"),
                                           ("B", True, 0.5, 30, AGAINST, "low")),
                           k=2, i2=80.0)
    judged = gr.inconsistency(opposite, SETTINGS)
    assert judged.levels == 2 and "opposite directions" in judged.reason
    moderate = gr.Evidence(studies=studies(("A", True, 0.5, 30, FAV, "low"),
                                           ("B", True, 0.5, 30, FAV, "low")), k=2, i2=60.0)
    assert gr.inconsistency(moderate, SETTINGS).levels == 1


def test_inconsistency_prediction_interval_needs_three_trials():
    rows = studies(*[(x, True, 1 / 3, 30, FAV, "low") for x in "ABC"])
    ev = gr.Evidence(studies=rows, k=3, i2=30.0, ci_low=-0.9, ci_high=-0.3, pi_low=-1.5,
                     pi_high=0.4, thresholds=(0.0,))
    judged = gr.inconsistency(ev, SETTINGS)
    assert judged.levels == 1 and "prediction interval crosses 0" in judged.reason
    two = gr.Evidence(studies=rows.iloc[:2], k=2, i2=30.0, ci_low=-0.9, ci_high=-0.3,
                      pi_low=-5, pi_high=4, thresholds=(0.0,))
    assert gr.inconsistency(two, SETTINGS).levels == 0


def test_indirectness_by_share_and_stand_in_outcome():
    rows = studies(("A", True, 0.7, 30, FAV, "low", "population mixed"),
                   ("B", True, 0.3, 30, FAV, "low"))
    judged = gr.indirectness(gr.Evidence(studies=rows, k=2))
    assert judged.levels == 1 and "A (population mixed)" in judged.reason
    rows = studies(("A", True, 0.2, 30, FAV, "low", "a single infusion, not a course"),
                   ("B", True, 0.8, 30, FAV, "low"))
    assert gr.indirectness(gr.Evidence(studies=rows, k=2)).levels == 0
    stand_in = gr.Evidence(studies=rows, k=2, claim_indirectness=("severity for relapse",))
    judged = gr.indirectness(stand_in)
    assert judged.levels == 1 and "stand-in: severity for relapse" in judged.reason


def test_imprecision_single_small_trial_and_thresholds():
    one = studies(("A", True, 1, 41, FAV, "low"))
    # CI clear of every threshold, but 41 < 400 participants: one level
    ev = gr.Evidence(studies=one, k=1, ci_low=-22.8, ci_high=-2.5, n_participants=41,
                     thresholds=(0.0,))
    judged = gr.imprecision(ev, SETTINGS)
    assert judged.levels == 1
    assert judged.reason.startswith("1 trial(s) with 41 participants, below the optimal "
                                    "information size of 400")
    # crossing the null and the meaningful threshold as well: capped at two
    ev = gr.Evidence(studies=one, k=1, ci_low=-1.0, ci_high=0.3, n_participants=41,
                     thresholds=(-0.5, 0.0))
    assert gr.imprecision(ev, SETTINGS).levels == 2
    big = gr.Evidence(studies=one, k=1, ci_low=-0.9, ci_high=-0.6, n_participants=800,
                      thresholds=(-0.5, 0.0))
    judged = gr.imprecision(big, SETTINGS)
    assert judged.levels == 0 and "meet the optimal information size" in judged.reason


def test_imprecision_all_words_is_very_serious():
    words = studies(("A", False, math.nan, 100, NONE, "low"),
                    ("B", False, math.nan, 60, FAV, "low"))
    judged = gr.imprecision(gr.Evidence(studies=words, k=0), SETTINGS)
    assert (judged.judgement, judged.levels) == ("very_serious", 2)


def test_optimal_information_size_binary():
    # control risk 0.2, RRR 25%: p2 = 0.15; per arm (1.96+0.8416)^2 (0.16+0.1275)/0.05^2 = 903
    ois = gr.optimal_information_size(SETTINGS, binary=True, control_risk=0.2)
    assert ois == 2 * 903
    assert math.isnan(gr.optimal_information_size(SETTINGS, binary=True))


def test_missing_results_unpooled_share_registrations_and_words():
    rows = studies(("Pooled", True, 1, 30, FAV, "low"),
                   ("Words", False, math.nan, 158, NONE, "low"))
    judged = gr.publication_bias(gr.Evidence(studies=rows, k=1), SETTINGS)
    assert judged.levels == 2 and "84% of the participants" in judged.reason
    few = studies(("Pooled", True, 1, 300, FAV, "low"),
                  ("Words", False, math.nan, 20, NONE, "low"))
    judged = gr.publication_bias(gr.Evidence(studies=few, k=1), SETTINGS)
    assert judged.levels == 0 and "too few to rate down" in judged.reason
    overdue = gr.Evidence(studies=few, k=1, registered_without_results=("NCT0001",),
                          registered_status_unknown=("NCT0002",))
    judged = gr.publication_bias(overdue, SETTINGS)
    assert judged.levels == 1 and "NCT0001" in judged.reason
    assert "not counted as missing" in judged.reason and "NCT0002" in judged.reason
    words = gr.Evidence(studies=studies(("W", False, math.nan, 40, FAV, "low")), k=0)
    assert gr.publication_bias(words, SETTINGS).levels == 1


def test_small_study_test_only_from_ten_trials():
    rows = studies(*[(f"S{i}", True, 0.1, 100, FAV, "low") for i in range(10)])
    assert gr.publication_bias(gr.Evidence(studies=rows, k=10, egger_pvalue=0.03),
                               SETTINGS).levels == 1
    judged = gr.publication_bias(gr.Evidence(studies=rows.iloc[:9], k=9, egger_pvalue=0.03),
                                 SETTINGS)
    assert judged.levels == 0 and "not informative with 9" in judged.reason


@pytest.mark.parametrize(("down", "level"), [(0, "high"), (1, "moderate"), (2, "low"),
                                             (3, "very_low"), (6, "very_low")])
def test_overall_level_starts_high_and_floors_at_very_low(down, level, monkeypatch):
    rows = studies(("A", True, 1, 1000, FAV, "low"))
    ev = gr.Evidence(studies=rows, k=1, ci_low=-0.9, ci_high=-0.6, n_participants=1000,
                     thresholds=(0.0,))
    assert gr.assess(ev).level == "high"
    judged = gr.DomainJudgement("risk_of_bias", "serious", down, "constructed")
    monkeypatch.setattr(gr, "risk_of_bias", lambda evidence: judged)
    rating = gr.assess(ev)
    assert rating.level == level
    frame = rating.to_frame()
    assert list(frame["domain"]) == [*GRADE_DOMAINS, "overall"]
    assert frame.iloc[-1]["judgement"] == level


def test_non_randomised_evidence_starts_low():
    rows = studies(("A", True, 1, 1000, FAV, "low"))
    ev = gr.Evidence(studies=rows, k=1, ci_low=-0.9, ci_high=-0.6, n_participants=1000,
                     thresholds=(0.0,), randomised=False)
    assert gr.assess(ev).level == "low"
