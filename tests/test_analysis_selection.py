"""Which effects an analysis pools: window, pick rule, instrument priority, filters."""

import numpy as np
import pandas as pd
import pytest

from ketamine_evidence.analysis.pooling import select_effects, study_labels


def _effects():
    rows = [
        # study, comparison, outcome, instrument, days, measure, yi, dose, tr, sensitivity
        ("a2014", "k vs m", "ptsd_severity", "IES-R", 1, "SMD", -0.9, "0.5", "yes", False),
        ("a2014", "k vs m", "ptsd_severity", "CAPS-IV", 1, "SMD", -0.8, "0.5", "yes", False),
        ("a2014", "k vs m", "ptsd_severity", "CAPS-IV", 7, "SMD", -0.3, "0.5", "yes", False),
        ("b2021", "k vs m", "ptsd_severity", "CAPS-5", 14, "SMD", -0.7, "0.5", "no", False),
        ("b2021", "k vs m", "ptsd_severity", "CAPS-5", 14, "SMD", -0.6, "0.5", "no", True),
        ("b2021", "k vs m", "ptsd_severity", "CAPS-5", 60, "SMD", -0.2, "0.5", "no", False),
        ("c2022", "0.2 vs saline", "ptsd_severity", "CAPS-5", 7, "SMD", -0.1, "0.2", "no", False),
        ("c2022", "0.5 vs saline", "ptsd_severity", "CAPS-5", 7, "SMD", -0.2, "0.5", "no", False),
        ("c2022", "0.5 vs saline", "depression", "MADRS", 7, "SMD", -0.4, "0.5", "no", False),
    ]
    cols = ["study_id", "comparison", "outcome", "instrument", "timepoint_days", "measure", "yi",
            "dose_mg_per_kg", "treatment_resistant", "sensitivity"]
    frame = pd.DataFrame(rows, columns=cols)
    frame["vi"] = 0.1
    frame["label"] = frame["study_id"].str[:1].str.upper() + " " + frame["study_id"].str[1:]
    frame["year"] = frame["study_id"].str[1:].astype(int)
    return frame


PRIORITY = ["CAPS-5", "CAPS-IV", "PCL-5", "IES-R"]


def test_latest_in_window_one_row_per_study_comparison():
    spec = {"id": "end", "title": "end", "outcome": "ptsd_severity", "measure": "SMD", "window_days": [1, 35],
            "pick": "latest"}
    out = select_effects(_effects(), spec, PRIORITY)
    assert list(out["study_id"]) == ["a2014", "b2021", "c2022", "c2022"]
    assert list(out["yi"]) == [-0.3, -0.7, -0.1, -0.2]    # day 7, day 14 (not sensitivity)
    assert set(out["analysis_id"]) == {"end"}


def test_closest_uses_instrument_priority():
    spec = {"id": "h24", "title": "h24", "outcome": "ptsd_severity", "measure": "SMD", "window_days": [0.5, 2],
            "pick": "closest", "target_days": 1}
    out = select_effects(_effects(), spec, PRIORITY)
    assert list(out["instrument"]) == ["CAPS-IV"]          # CAPS-IV beats IES-R


def test_filters_compare_numbers_numerically():
    spec = {"id": "low", "title": "low", "outcome": "ptsd_severity", "measure": "SMD", "window_days": [1, 35],
            "filters": {"dose_mg_per_kg": [0.2]}}
    out = select_effects(_effects(), spec, PRIORITY)
    assert list(out["comparison"]) == ["0.2 vs saline"]
    spec["filters"] = {"treatment_resistant": ["yes"]}
    assert list(select_effects(_effects(), spec, PRIORITY)["study_id"]) == ["a2014"]


def test_unknown_filter_column_and_pick_rule_raise():
    spec = {"id": "x", "title": "x", "outcome": "ptsd_severity", "measure": "SMD",
            "filters": {"nope": [1]}}
    with pytest.raises(ValueError, match="filter column 'nope'"):
        select_effects(_effects(), spec, PRIORITY)
    with pytest.raises(ValueError, match=r"pick: .best. is not one of"):
        select_effects(_effects(), {**spec, "filters": {}, "pick": "best"}, PRIORITY)


def test_empty_selection_and_nonfinite_yi():
    effects = _effects()
    effects.loc[3, "yi"] = np.nan
    spec = {"id": "f", "title": "f", "outcome": "ptsd_severity", "measure": "SMD", "window_days": [14, 14]}
    assert select_effects(effects, spec, PRIORITY).empty
    assert select_effects(effects.iloc[0:0], spec, PRIORITY).empty


def test_labels_add_comparison_only_for_multi_arm_studies():
    spec = {"id": "end", "title": "end", "outcome": "ptsd_severity", "measure": "SMD", "window_days": [1, 35]}
    labels = study_labels(select_effects(_effects(), spec, PRIORITY))
    assert labels == ["A 2014", "B 2021", "C 2022 (0.2 vs saline)", "C 2022 (0.5 vs saline)"]


def test_participants_from_arms_or_randomised_total():
    from ketamine_evidence.analysis.pooling import participants

    rows = pd.DataFrame({
        "study_id": ["par", "cross", "multi", "multi", "contrast"],
        "design": ["parallel", "crossover", "parallel", "parallel", "parallel"],
        "n1i": [10, 20, 15, 14, np.nan], "n2i": [11, 20, 8, 7, np.nan],
        "n_randomised_total": [21, 20, 44, 44, 30]})
    # 21 + 20 (crossover counted once) + (15 + 8) + (14 + 7) + 30 (no arm sizes)
    assert participants(rows) == 21 + 20 + 23 + 21 + 30
    assert np.isnan(participants(rows[["study_id"]]))
