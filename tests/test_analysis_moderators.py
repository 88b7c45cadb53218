"""Subgroup analyses and meta-regression planned per analysis (analysis.moderator_table)."""

import pandas as pd
import pytest

from ketamine_evidence import meta
from ketamine_evidence.analysis.pooling import AnalysisOutcome, moderator_table, pool_analysis

MODEL = {"method": "REML", "test": "knha", "level": 0.95, "pi_df": None}


def _selected():
    return pd.DataFrame({
        "study_id": ["a", "b", "c", "d", "e"],
        "comparison": ["k vs m"] * 5,
        "label": ["A", "B", "C", "D", "E"],
        "yi": [-0.9, -0.7, -0.2, -0.1, -0.5],
        "vi": [0.10, 0.12, 0.08, 0.09, 0.11],
        "control_type": ["active_placebo", "active_placebo", "inactive_placebo",
                         "inactive_placebo", None],
        "dose_mg_per_kg": ["0.5", "0.5", "0.2", "0.2", "0.35"],
    })


def _outcome(spec_extra):
    spec = {"id": "x", "title": "x", "outcome": "ptsd_severity", "measure": "SMD", **spec_extra}
    return pool_analysis(_selected(), spec, **MODEL)


def test_subgroups_match_meta_subgroup_and_keep_unreported_level():
    table = moderator_table(_outcome({"subgroups": ["control_type"]}))
    rows = table[table["kind"] == "subgroup"].set_index("term")
    groups = ["active_placebo", "active_placebo", "inactive_placebo", "inactive_placebo",
              "not reported"]
    with pytest.warns(meta.MetaAnalysisWarning, match="single study"):
        ref = meta.subgroup(_selected()["yi"], _selected()["vi"], groups)
    assert set(rows.index) == {"active_placebo", "inactive_placebo", "not reported",
                               "test for subgroup differences"}
    assert rows.loc["active_placebo", "estimate"] == pytest.approx(
        ref.results["active_placebo"].estimate)
    test = rows.loc["test for subgroup differences"]
    assert (test["statistic"], test["df"], test["pvalue"]) == (
        pytest.approx(ref.q_between), ref.df_between, pytest.approx(ref.p_between))
    assert rows.loc["not reported", "note"] == "single study"


def test_metareg_matches_meta_metareg():
    table = moderator_table(_outcome({"moderators": ["dose_mg_per_kg"]}))
    slope = table[(table["kind"] == "metareg") & (table["term"] == "slope")].iloc[0]
    ref = meta.metareg(_selected()["yi"], _selected()["vi"],
                       _selected()["dose_mg_per_kg"].astype(float))
    assert slope["estimate"] == pytest.approx(ref.coef[1])
    assert slope["pvalue"] == pytest.approx(ref.pvalue[1])


def test_unsupported_plans_say_why_instead_of_vanishing():
    sel = _selected().iloc[:2]
    spec = {"id": "x", "title": "x", "outcome": "ptsd_severity", "measure": "SMD",
            "subgroups": ["control_type"], "moderators": ["dose_mg_per_kg"]}
    table = moderator_table(pool_analysis(sel, spec, **MODEL))
    assert list(table["kind"]) == ["subgroup", "metareg"]
    assert "every study has control_type = 'active_placebo'" in table.iloc[0]["note"]
    assert "needs 3 studies and 2 values" in table.iloc[1]["note"]
    empty = moderator_table(AnalysisOutcome("x", spec, sel.iloc[0:0]))
    assert empty.empty


def test_unknown_column_raises():
    with pytest.raises(ValueError, match="subgroup column 'nope'"):
        moderator_table(_outcome({"subgroups": ["nope"]}))
    assert moderator_table(_outcome({})).empty          # nothing planned, nothing reported
