"""Sensitivity analyses of one pooled analysis: crossover correlation, estimators, and the
configured test and level reaching the small-study analyses."""

import math

import pandas as pd
import pytest

from ketamine_evidence import meta
from ketamine_evidence.analysis.pooling import pool_analysis, select_effects, sensitivity_table

SPEC = {"id": "end", "title": "end", "outcome": "ptsd_severity", "measure": "SMD",
        "window_days": [1, 35]}
MODEL = {"method": "REML", "test": "knha", "level": 0.95, "pi_df": None}


def _effects():
    """Two parallel trials and one crossover trial whose paired SMD is given at r = 0.5 (main)
    and at r = 0.2 / 0.8 (sensitivity rows). As for an Elbourne paired SMD, only vi moves
    with r."""
    rows = [
        # study, design, yi, vi, sensitivity, assumption_value, year
        ("a2014", "parallel", -0.9, 0.10, False, None, 2014),
        ("b2018", "parallel", -0.2, 0.12, False, None, 2018),
        ("c2020", "crossover", -0.6, 0.05, False, 0.5, 2020),
        ("c2020", "crossover", -0.6, 0.08, True, 0.2, 2020),
        ("c2020", "crossover", -0.6, 0.02, True, 0.8, 2020),
    ]
    frame = pd.DataFrame(rows, columns=["study_id", "design", "yi", "vi", "sensitivity",
                                        "assumption_value", "year"])
    frame["effect_id"] = [f"E{i}" for i in range(len(frame))]
    frame["comparison"] = "k vs c"
    frame["outcome"] = "ptsd_severity"
    frame["instrument"] = "CAPS-5"
    frame["timepoint_days"] = 7
    frame["measure"] = "SMD"
    frame["label"] = frame["study_id"]
    return frame


def test_crossover_r_rows_are_produced_when_only_vi_depends_on_r():
    effects = _effects()
    outcome = pool_analysis(select_effects(effects, SPEC), SPEC, **MODEL)
    table = sensitivity_table(outcome, effects, instrument_priority=(), crossover_r=(0.2, 0.8))
    rows = table[table["kind"] == "crossover_r"].set_index("label")
    assert list(rows.index) == ["within-person r = 0.2", "within-person r = 0.8"]
    for r_value, crossover_vi in ((0.2, 0.08), (0.8, 0.02)):
        expected = meta.rma([-0.9, -0.2, -0.6], [0.10, 0.12, crossover_vi], method="REML",
                            test="knha")
        row = rows.loc[f"within-person r = {r_value:g}"]
        assert row["k"] == 3
        for name in ("estimate", "ci_low", "ci_high", "tau2", "i2"):
            assert row[name] == pytest.approx(getattr(expected, name), rel=1e-12, abs=1e-15)
    # and the variants really differ from the main analysis
    assert rows["ci_low"].nunique() == 2
    assert not math.isclose(rows["ci_low"].iloc[0], outcome.result.ci_low)


def test_no_crossover_r_rows_without_crossover_trials():
    effects = _effects()
    effects = effects[effects["design"] == "parallel"]
    outcome = pool_analysis(select_effects(effects, SPEC), SPEC, **MODEL)
    table = sensitivity_table(outcome, effects, instrument_priority=(), crossover_r=(0.2, 0.8))
    assert not (table["kind"] == "crossover_r").any()


@pytest.mark.parametrize(("test", "level"), [("z", 0.9), ("knha", 0.8)])
def test_small_study_analyses_use_the_configured_test_and_level(test, level):
    effects = _effects()
    selected = select_effects(effects, SPEC)
    outcome = pool_analysis(selected, SPEC, method="REML", test=test, level=level,
                            pi_df=None, min_k_small_study=3)
    yi, vi = selected["yi"].to_numpy(float), selected["vi"].to_numpy(float)
    egger = meta.regtest(yi, vi, method="REML", model="rma", test=test, level=level)
    assert outcome.egger.test == test and outcome.egger.level == level
    assert outcome.egger.pvalue == pytest.approx(egger.pvalue, rel=1e-12)
    assert outcome.trimfill.result.test == test
    assert outcome.trimfill.result.level == level


@pytest.mark.parametrize(("measure", "scale"), [("RR", "log"), ("ROM", "log"), ("OR", "log"),
                                                ("SMD", "identity"), ("MD", "identity")])
def test_pooled_row_says_its_scale_and_back_transforms(measure, scale):
    effects = _effects().assign(measure=measure)
    spec = {**SPEC, "measure": measure}
    outcome = pool_analysis(select_effects(effects, spec), spec, **MODEL)
    row, extra = outcome.pooled_row(), outcome.scale_columns()
    assert extra["scale"] == scale and "scale" not in row
    back = math.exp if scale == "log" else (lambda x: x)
    for name in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high"):
        assert extra[f"{name}_bt"] == pytest.approx(back(row[name]), rel=1e-15)
