"""Vote counting by direction of effect and the sign test (Cochrane Handbook 12.4.2.2)."""

import math

import pytest

from ketamine_evidence.synthesis import vote_counting as sw


@pytest.mark.parametrize(("yi", "lower_is_better", "expected"), [
    (-0.5, True, "favours_intervention"),     # lower symptoms with the intervention
    (0.5, True, "favours_control"),
    (0.2, False, "favours_intervention"),     # more responders with the intervention
    (-0.2, False, "favours_control"),
    (0.0, True, "no_clear_difference"),
    (float("nan"), True, "not_judged"),
    (-0.5, None, "not_judged"),               # orientation unknown: no guess
])
def test_direction_of_estimate_uses_the_sign_not_significance(yi, lower_is_better, expected):
    assert sw.direction_of_estimate(yi, lower_is_better) == expected


def test_one_vote_per_study():
    assert sw.combine_directions(["favours_intervention"] * 2) == "favours_intervention"
    assert sw.combine_directions(["favours_intervention", "favours_control"]) == "mixed"
    assert sw.combine_directions(["favours_control", "no_clear_difference"]) == "mixed"
    assert sw.combine_directions(["not_judged", "favours_control"]) == "favours_control"
    assert sw.combine_directions([]) == "not_judged"


def test_sign_test_matches_the_exact_binomial():
    # 7 of 8 favour: two-sided p = 2 * (C(8,0) + C(8,1)) / 2**8 = 18/256.
    t = sw.sign_test(7, 1)
    assert t.pvalue == pytest.approx(18 / 256)
    assert t.proportion == pytest.approx(7 / 8)
    # Wilson 95% interval for 7/8 (z = 1.959964): 0.5291 to 0.9776.
    z = 1.959963984540054
    n, p = 8, 7 / 8
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    assert (t.ci_low, t.ci_high) == (pytest.approx(centre - half), pytest.approx(centre + half))
    assert t.ci_low == pytest.approx(0.5291, abs=1e-4)


def test_sign_test_edge_cases():
    assert math.isnan(sw.sign_test(0, 0).pvalue)              # k = 0 or all unclear
    one = sw.sign_test(1, 0)                                    # k = 1: p = 1, CI wide
    assert one.pvalue == pytest.approx(1.0)
    assert one.ci_low < 0.25 and one.ci_high == pytest.approx(1.0)
    two = sw.sign_test(2, 0)                                    # k = 2: p = 0.5
    assert two.pvalue == pytest.approx(0.5)
    assert sw.sign_test(3, 3).pvalue == pytest.approx(1.0)
    with pytest.raises(ValueError, match=">= 0"):
        sw.sign_test(-1, 2)


@pytest.mark.parametrize(("directions", "counts"), [
    ([], (0, 0, 0, 0)),
    (["favours_intervention"], (1, 1, 0, 0)),
    (["favours_intervention", "favours_control"], (2, 1, 1, 0)),
    # all words: every study with no clear difference or no judged direction
    (["no_clear_difference", "not_judged", "mixed"], (3, 0, 0, 3)),
])
def test_vote_count(directions, counts):
    v = sw.vote_count(directions, pooled_k=0)
    assert (v.reported_k, v.favours, v.against, v.unclear) == counts
    if v.favours + v.against == 0:
        assert math.isnan(v.pvalue) and math.isnan(v.proportion)


def test_vote_count_rejects_unknown_direction_and_describes_votes():
    with pytest.raises(ValueError, match="unknown direction"):
        sw.vote_count(["better"])
    text = sw.describe_votes(sw.vote_count(["favours_intervention"] * 3 + ["not_judged"]),
                             intervention="ketamine")
    assert text.startswith("4 trials: 3 favouring ketamine, 0 favouring control, 1 with")
    assert "sign test p = 0.25" in text
    assert sw.describe_votes(sw.vote_count([])) == "no trial reported this outcome"
