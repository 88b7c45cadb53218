"""Posted registry results become effect rows flagged as registry-sourced and unconfirmed."""

from __future__ import annotations

import math
from pathlib import Path

from ketamine_evidence import registry_results as rr
from ketamine_evidence.config import load_settings
from ketamine_evidence.effects import escalc

#: the default review's pattern for the experimental arm (config.yaml vocabulary.arm_pattern)
ARM_PATTERN = load_settings(
    Path(__file__).resolve().parent.parent / "config.yaml").vocabulary.arm_pattern

STUDY = Path(__file__).resolve().parent / "e2e" / "sources" / "ctgov_study_NCT99990001.json"


def _wide():
    arms = rr.registry_arm_rows(rr.load_study_json(STUDY))
    return rr.registry_to_extraction_rows(arms, arm1_pattern=ARM_PATTERN,
                                          study_ids={"NCT99990001": "new2026"})


def test_effect_rows_from_posted_results_await_confirmation():
    wide = _wide()
    out = rr.registry_effect_rows(wide, confirmed_study_ids=[])
    assert len(out) > 0 and list(out.columns) == rr.REGISTRY_EFFECT_COLUMNS
    assert set(out["source"]) == {"registry"}
    assert not out["confirmed"].any()
    assert set(out["status"]) == {rr.AWAITING_CONFIRMATION}
    usable = wide[wide["extractable"] & wide["data_type"].isin(["arm", "count"])]
    n_arm = int((usable["data_type"] == "arm").sum())
    n_count = int((usable["data_type"] == "count").sum())
    assert (out["measure"] == "SMD").sum() == n_arm and (out["measure"] == "RR").sum() == n_count
    # each effect is metafor's escalc of the posted arm numbers of its row
    row = out[out["measure"] == "SMD"].iloc[0]
    es = escalc("SMD", m1i=[row.m1i], sd1i=[row.sd1i], n1i=[row.n1i], m2i=[row.m2i],
                sd2i=[row.sd2i], n2i=[row.n2i])
    assert math.isclose(row.yi, es["yi"].iloc[0]) and math.isclose(row.vi, es["vi"].iloc[0])
    assert str(row.location1).startswith("resultsSection")


def test_confirmed_once_a_reviewer_extracted_the_study():
    out = rr.registry_effect_rows(_wide(), confirmed_study_ids=["new2026"])
    assert out["confirmed"].all() and set(out["status"]) == {"confirmed"}


def test_no_usable_rows_give_an_empty_table_with_the_columns():
    wide = _wide().iloc[0:0]
    assert list(rr.registry_effect_rows(wide, []).columns) == rr.REGISTRY_EFFECT_COLUMNS
