"""derive_effects on small hand-made sheets, checked against hand arithmetic and escalc."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats
from test_extraction_fixtures import CHARS, ext_row, write_sheets

from ketamine_evidence import effects
from ketamine_evidence.config import load_settings
from ketamine_evidence.extraction import derive_effects, load_curated
from ketamine_evidence.schemas import extraction as sx

#: the default review's vocabulary (config.yaml): which outcomes are continuous
VOCAB = load_settings(Path(__file__).resolve().parent.parent / "config.yaml").vocabulary
CONTINUOUS = VOCAB.continuous_outcomes

CROSSOVER = {"crossover_r": 0.5, "crossover_r_sensitivity": [0.2, 0.8]}
Z = stats.norm.ppf(0.975)


def _derive(tmp_path, rows, crossover=CROSSOVER):
    write_sheets(tmp_path, rows)
    s = load_curated(tmp_path, vocabulary=VOCAB)
    return derive_effects(s.extraction, s.characteristics, **crossover,
                          continuous_outcomes=CONTINUOUS)


def _one(tables, effect_id):
    hit = tables.effects[tables.effects.effect_id == effect_id]
    assert len(hit) == 1, tables.effects.effect_id.tolist()
    return hit.iloc[0]


def _accounted(tables, row_ids):
    in_effects = set()
    for ids in tables.effects.row_ids:
        in_effects.update(ids.split(";"))
    in_np = list(tables.not_poolable.row_ids)
    assert len(in_np) == len(set(in_np)), "a row is listed twice in not_poolable"
    assert not (in_effects & set(in_np)), "a row is both pooled and not poolable"
    assert in_effects | set(in_np) == set(row_ids)


# --------------------------------------------------------------------------- parallel arms
def test_parallel_arm_row_gives_smd_md_rom(tmp_path):
    t = _derive(tmp_path, [ext_row()])
    assert list(t.effects.columns) == sx.EFFECTS_COLUMNS
    md = _one(t, "E0001:MD")
    assert md.yi == pytest.approx(11.88 - 23.56)
    assert md.vi == pytest.approx(9.1**2 / 15 + 10.9**2 / 15)
    assert md.sei == pytest.approx(math.sqrt(md.vi))
    assert md.ci_low == pytest.approx(md.yi - Z * md.sei)
    smd = _one(t, "E0001:SMD")
    ref = effects.escalc("SMD", m1i=11.88, sd1i=9.1, n1i=15, m2i=23.56, sd2i=10.9, n2i=15)
    assert smd.yi == pytest.approx(ref.yi.iloc[0]) and smd.vi == pytest.approx(ref.vi.iloc[0])
    # hand arithmetic for Hedges' g (exact J)
    sp = math.sqrt((14 * 9.1**2 + 14 * 10.9**2) / 28)
    j = math.exp(math.lgamma(14) - 0.5 * math.log(14) - math.lgamma(13.5))
    assert smd.yi == pytest.approx(j * (11.88 - 23.56) / sp)
    assert smd.yi < 0  # lower-is-better scale: negative favours ketamine
    rom = _one(t, "E0001:ROM")
    assert rom.yi == pytest.approx(math.log(11.88 / 23.56))
    assert rom.vi == pytest.approx(9.1**2 / (15 * 11.88**2) + 10.9**2 / (15 * 23.56**2))
    assert "escalc SMD" in smd.derivation and smd.row_ids == "E0001"
    assert smd.source_id == "PMID:34313479" and smd.location == "table 2"
    assert smd.label == "Feder 2021" and smd.year == 2021 and smd.design == "parallel"
    assert not smd.sensitivity and pd.isna(smd.assumption)
    assert t.not_poolable.empty


def test_se_converted_to_sd_and_recorded(tmp_path):
    t = _derive(tmp_path, [ext_row(sd1i="", se1i="2.35")])
    md = _one(t, "E0001:MD")
    sd1 = 2.35 * math.sqrt(15)
    assert md.sd1i == pytest.approx(sd1)
    assert md.vi == pytest.approx(sd1**2 / 15 + 10.9**2 / 15)
    assert "SD = SE*sqrt(n)" in md.derivation


def test_rom_only_for_positive_endpoint_means(tmp_path):
    t = _derive(
        tmp_path,
        [
            ext_row(row_id="E0001", score_type="change", m1i="-10", m2i="-4"),
            ext_row(row_id="E0002", timepoint="day 1", timepoint_days="1", score_type=""),
        ],
    )
    assert set(t.effects.measure) == {"SMD", "MD"}


def test_count_row_gives_log_rr(tmp_path):
    row = ext_row(
        outcome="response",
        data_type="count",
        lower_is_better="false",
        m1i="",
        sd1i="",
        m2i="",
        sd2i="",
        ai="10",
        ci="3",
    )
    t = _derive(tmp_path, [row])
    rr = _one(t, "E0001:RR")
    assert rr.yi == pytest.approx(math.log((10 / 15) / (3 / 15)))
    assert rr.vi == pytest.approx(1 / 10 - 1 / 15 + 1 / 3 - 1 / 15)


def test_count_zero_cell_uses_continuity_correction(tmp_path):
    row = ext_row(outcome="response", data_type="count", m1i="", m2i="", ai="5", ci="0")
    t = _derive(tmp_path, [row])
    rr = _one(t, "E0001:RR")
    assert rr.yi == pytest.approx(math.log((5.5 / 16) / (0.5 / 16)))
    assert "0.5 added" in rr.derivation


# --------------------------------------------------------------------------- contrasts
def _contrast(**over):
    base = dict(data_type="contrast", m1i="", sd1i="", n1i="", m2i="", sd2i="", n2i="")
    return ext_row(**(base | over))


def test_contrast_md_with_ci(tmp_path):
    t = _derive(
        tmp_path, [_contrast(measure="MD", estimate="-11.7", ci_low="-19.2", ci_high="-4.2")]
    )
    md = _one(t, "E0001:MD")
    assert md.yi == pytest.approx(-11.7)
    assert md.sei == pytest.approx(15.0 / (2 * Z))
    assert md.derivation.startswith("generic inverse variance from reported 95% CI")


def test_contrast_90pct_ci(tmp_path):
    t = _derive(
        tmp_path,
        [_contrast(measure="MD", estimate="-2", ci_low="-3", ci_high="-1", ci_level="0.9")],
    )
    assert _one(t, "E0001:MD").sei == pytest.approx(2 / (2 * stats.norm.ppf(0.95)))


def test_contrast_ratio_on_log_scale(tmp_path):
    t = _derive(
        tmp_path,
        [_contrast(outcome="response", measure="RR", estimate="2.0", ci_low="1.0", ci_high="4.0")],
    )
    rr = _one(t, "E0001:RR")
    assert rr.yi == pytest.approx(math.log(2.0))
    assert rr.sei == pytest.approx((math.log(4) - math.log(1)) / (2 * Z))


def test_contrast_exact_pvalue_gives_se(tmp_path):
    t = _derive(
        tmp_path, [_contrast(measure="MD", estimate="-6", pvalue="0.03", pvalue_qualifier="=")]
    )
    md = _one(t, "E0001:MD")
    assert md.sei == pytest.approx(6 / stats.norm.isf(0.015))
    assert "p-value" in md.derivation


def test_contrast_p_bound_is_not_poolable(tmp_path):
    t = _derive(
        tmp_path, [_contrast(measure="MD", estimate="-6", pvalue="0.05", pvalue_qualifier="<")]
    )
    assert t.effects.empty
    assert "only as a bound" in t.not_poolable.reason.iloc[0]


def test_cohen_d_with_ci_and_with_n_only(tmp_path):
    t = _derive(
        tmp_path,
        [
            _contrast(row_id="E0001", measure="d", estimate="-0.9", ci_low="-1.6", ci_high="-0.2"),
            _contrast(
                row_id="E0002", timepoint="day 1", measure="d", estimate="-0.9", n1i="15", n2i="15"
            ),
        ],
    )
    a = _one(t, "E0001:SMD")
    assert a.yi == pytest.approx(-0.9) and a.sei == pytest.approx(1.4 / (2 * Z))
    assert "Cohen's d" in a.derivation
    b = _one(t, "E0002:SMD")
    ref = effects.from_cohen_d(-0.9, 15, 15)
    assert b.yi == pytest.approx(ref.yi.iloc[0]) and b.vi == pytest.approx(ref.vi.iloc[0])


def test_cohen_d_becomes_hedges_g_with_arm_sizes_from_characteristics(tmp_path):
    # The contrast row gives no arm sizes; the study's randomised arms (registry participant
    # flow in study_characteristics.csv) do, so the reported d is corrected to g everywhere.
    chars = [dict(CHARS[0], n_randomised_intervention="15", n_randomised_control="15",
                  location="registry participant flow")] + CHARS[1:]
    row = _contrast(measure="d", estimate="-1.13", ci_low="-1.91", ci_high="-0.36")
    write_sheets(tmp_path, [row], chars=chars)
    s = load_curated(tmp_path, vocabulary=VOCAB)
    g = _one(derive_effects(s.extraction, s.characteristics, **CROSSOVER,
                                continuous_outcomes=CONTINUOUS), "E0001:SMD")
    j = float(effects.hedges_j(28))
    assert g.yi == pytest.approx(-1.13 * j)
    assert g.vi == pytest.approx(j**2 * (1.55 / (2 * Z)) ** 2)
    assert "Hedges' g = J x d with J(28)" in g.derivation
    assert "study_characteristics.csv (15 and 15; registry participant flow)" in g.derivation
    # two ketamine arms ("53;51") are not one arm size: d stays d, and says so
    multi = [dict(CHARS[0], n_randomised_intervention="53;51", n_randomised_control="54")]
    write_sheets(tmp_path, [row], chars=multi + CHARS[1:])
    s = load_curated(tmp_path, vocabulary=VOCAB)
    d = _one(derive_effects(s.extraction, s.characteristics, **CROSSOVER,
                                continuous_outcomes=CONTINUOUS), "E0001:SMD")
    assert d.yi == pytest.approx(-1.13) and "no small-sample correction" in d.derivation


# --------------------------------------------------------------------------- crossover
def _crossover(**over):
    base = dict(
        study_id="feder2014",
        instrument="IES-R",
        timepoint="24 h",
        timepoint_days="1",
        m1i="20",
        sd1i="15",
        n1i="29",
        m2i="32",
        sd2i="16",
        n2i="29",
        source_id="PMID:24740528",
    )
    return ext_row(**(base | over))


def test_crossover_paired_with_explicit_r_and_sensitivity(tmp_path):
    t = _derive(tmp_path, [_crossover()])
    md = _one(t, "E0001:MD")
    assert md.yi == pytest.approx(-12)
    assert md.vi == pytest.approx((15**2 + 16**2 - 2 * 0.5 * 15 * 16) / 29)
    assert md.assumption == "crossover within-person r=0.5" and md.assumption_value == 0.5
    assert not md.sensitivity
    for r in (0.2, 0.8):
        s = _one(t, f"E0001:MD:r={r:g}")
        assert s.sensitivity and s.assumption_value == r
        assert s.vi == pytest.approx((15**2 + 16**2 - 2 * r * 15 * 16) / 29)
    smd = _one(t, "E0001:SMD")
    sdp = math.sqrt((15**2 + 16**2) / 2)
    assert smd.yi == pytest.approx(-12 / sdp)
    assert smd.vi == pytest.approx((1 / 29 + smd.yi**2 / 58) * 2 * (1 - 0.5))
    assert len(t.effects) == 6  # (SMD, MD) x (0.5, 0.2, 0.8); no ROM for paired data


def test_crossover_without_sensitivity_values_gives_main_rows_only(tmp_path):
    t = _derive(tmp_path, [_crossover()], crossover={"crossover_r": 0.5})
    assert set(t.effects.assumption_value) == {0.5}
    assert not t.effects.sensitivity.any()


def test_crossover_prefers_reported_paired_contrast(tmp_path):
    rows = [
        _crossover(row_id="E0001"),
        _crossover(
            row_id="E0002",
            data_type="contrast",
            m1i="",
            sd1i="",
            n1i="",
            m2i="",
            sd2i="",
            n2i="",
            measure="MD",
            estimate="-12.7",
            ci_low="-19.6",
            ci_high="-5.8",
        ),
    ]
    t = _derive(tmp_path, rows)
    assert set(t.effects.row_ids) == {"E0002"}
    assert "paired contrast" in _one(t, "E0002:MD").derivation
    reason = t.not_poolable.set_index("row_ids").loc["E0001", "reason"]
    assert "paired contrast" in reason and "E0002" in reason


# --------------------------------------------------------------------------- multi-arm
def test_shared_control_is_split(tmp_path):
    rows = [
        ext_row(
            row_id="E0001",
            study_id="abdallah2022",
            comparison="ketamine 0.2 mg/kg vs saline",
            instrument="PCL-5",
            timepoint="week 4",
            timepoint_days="28",
            score_type="change",
            m1i="-10",
            sd1i="15",
            n1i="53",
            m2i="-8",
            sd2i="14",
            n2i="55",
            source_id="PMID:35046508",
        ),
        ext_row(
            row_id="E0002",
            study_id="abdallah2022",
            comparison="ketamine 0.5 mg/kg vs saline",
            instrument="PCL-5",
            timepoint="week 4",
            timepoint_days="28",
            score_type="change",
            m1i="-12",
            sd1i="15",
            n1i="51",
            m2i="-8",
            sd2i="14",
            n2i="55",
            source_id="PMID:35046508",
        ),
    ]
    t = _derive(tmp_path, rows)
    low, high = _one(t, "E0001:SMD"), _one(t, "E0002:SMD")
    assert (low.n2i, high.n2i) == (28, 27)  # remainder to the first comparison (row_id order)
    assert "split across 2 comparisons" in low.assumption and low.assumption_value == 2
    ref = effects.escalc("SMD", m1i=-10, sd1i=15, n1i=53, m2i=-8, sd2i=14, n2i=28)
    assert low.yi == pytest.approx(ref.yi.iloc[0]) and low.vi == pytest.approx(ref.vi.iloc[0])
    assert (low.dose_mg_per_kg, high.dose_mg_per_kg) == ("0.2", "0.5")


def test_shared_control_counts_split_events(tmp_path):
    common = dict(
        study_id="abdallah2022",
        outcome="response",
        data_type="count",
        m1i="",
        sd1i="",
        m2i="",
        sd2i="",
        n2i="54",
        ci="10",
        source_id="PMID:35046508",
    )
    rows = [
        ext_row(
            row_id="E0001", comparison="ketamine 0.2 mg/kg vs saline", ai="15", n1i="53", **common
        ),
        ext_row(
            row_id="E0002", comparison="ketamine 0.5 mg/kg vs saline", ai="20", n1i="51", **common
        ),
    ]
    t = _derive(tmp_path, rows)
    a = _one(t, "E0001:RR")
    assert (a.ci, a.n2i) == (5, 27)
    assert a.yi == pytest.approx(math.log((15 / 53) / (5 / 27)))


# --------------------------------------------------------------------------- not poolable
def test_narrative_and_unusable_rows_go_to_not_poolable(tmp_path):
    rows = [
        ext_row(row_id="E0001"),
        ext_row(
            row_id="E0002",
            timepoint="day 7",
            data_type="narrative",
            m1i="",
            m2i="",
            narrative="no significant difference",
            direction="no_clear_difference",
        ),
        ext_row(row_id="E0003", timepoint="day 1", sd1i=""),
        ext_row(row_id="E0004", timepoint="day 3", n2i=""),
        ext_row(
            row_id="E0005",
            timepoint="week 1",
            data_type="within_arm",
            m2i="",
            sd2i="",
            n2i="",
            baseline_m1i="40",
        ),
    ]
    t = _derive(tmp_path, rows)
    np_ = t.not_poolable.set_index("row_ids")
    assert list(t.not_poolable.columns) == sx.NOT_POOLABLE_COLUMNS
    assert np_.loc["E0002", "narrative"] == "no significant difference"
    # the curated direction travels with the words (vote counting by direction)
    assert np_.loc["E0002", "direction"] == "no_clear_difference"
    assert pd.isna(np_.loc["E0003", "direction"])
    assert "no SD or SE reported for arm 1" in np_.loc["E0003", "reason"]
    assert "n1i or n2i" in np_.loc["E0004", "reason"]
    assert "within-arm" in np_.loc["E0005", "reason"]
    assert np_.loc["E0002", "source_id"] == "PMID:34313479"
    _accounted(t, [f"E000{i}" for i in range(1, 6)])


def test_within_arm_table(tmp_path):
    rows = [
        ext_row(row_id="E0001", baseline_m1i="34.1", baseline_m2i="35"),
        ext_row(
            row_id="E0002",
            timepoint="week 1",
            timepoint_days="7",
            data_type="within_arm",
            score_type="change",
            m1i="-20",
            m2i="",
            sd2i="",
            n2i="",
            baseline_m1i="40",
        ),
    ]
    t = _derive(tmp_path, rows)
    w = t.within_arm.set_index("row_id")
    assert list(t.within_arm.columns) == sx.WITHIN_ARM_COLUMNS
    assert w.loc["E0001", "percent_reduction"] == pytest.approx(100 * (34.1 - 11.88) / 34.1)
    assert w.loc["E0002", "endpoint_mean"] == 20 and w.loc["E0002", "percent_reduction"] == 50
    assert set(w.arm) == {"arm1"}


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    blanks=st.lists(
        st.sets(st.sampled_from(["sd1i", "sd2i", "n1i", "n2i", "estimate", "ci_low", "ci_high"])),
        min_size=1,
        max_size=6,
    ),
    kinds=st.lists(
        st.sampled_from(["arm", "contrast", "narrative", "crossover"]), min_size=6, max_size=6
    ),
)
def test_every_row_in_exactly_one_output(tmp_path_factory, blanks, kinds):
    rows = []
    for i, drop in enumerate(blanks):
        rid = f"E{i + 1:04d}"
        kind = kinds[i]
        common = dict(row_id=rid, timepoint=f"day {i}", timepoint_days=str(i))
        if kind == "arm":
            row = ext_row(**common)
        elif kind == "crossover":
            row = _crossover(**common)
        elif kind == "contrast":
            row = _contrast(measure="MD", estimate="-3", ci_low="-5", ci_high="-1", **common)
        else:
            row = ext_row(data_type="narrative", narrative="no difference", **common)
        for field in drop:
            if field == "estimate" and row["data_type"] == "contrast":
                continue  # a contrast without an estimate fails validation by design
            row[field] = ""
        rows.append(row)
    t = _derive(tmp_path_factory.mktemp("sheet"), rows)
    _accounted(t, [r["row_id"] for r in rows])


def _percent_sheet(pct1, pct2, n1, n2):
    """A one-row count sheet giving percentages instead of counts."""
    ext = pd.DataFrame([{c: None for c in sx.EXTRACTION_COLUMNS} | {
        "row_id": "E0001", "study_id": "s2020", "comparison": "ketamine vs midazolam",
        "outcome": "response", "instrument": "CAPS-5 >=30% reduction", "timepoint": "week 2",
        "timepoint_days": 14.0, "data_type": "count", "lower_is_better": False,
        "pct1i": pct1, "pct2i": pct2, "n1i": n1, "n2i": n2,
        "source_id": "URL:https://example.org/fake", "location": "abstract"}])
    return ext


def test_counts_from_printed_percentages():
    from ketamine_evidence import extraction

    ext = _percent_sheet(67.0, 20.0, 15.0, 15.0)
    chars = pd.DataFrame([{"study_id": "s2020", "label": "S 2020", "design": "parallel"}])
    tables = extraction.derive_effects(ext, chars, crossover_r=0.5,
                                          continuous_outcomes=CONTINUOUS)
    row = tables.effects.iloc[0]
    assert (row["ai"], row["ci"]) == (10.0, 3.0)          # 66.7% -> 67, 20.0% -> 20
    assert row["yi"] == pytest.approx(math.log((10 / 15) / (3 / 15)))
    assert "round(67% x 15) = 10" in row["derivation"]


def test_percentage_inconsistent_with_n_is_not_poolable():
    from ketamine_evidence import extraction

    ext = _percent_sheet(50.0, 20.0, 15.0, 15.0)          # 7.5 of 15: another denominator
    chars = pd.DataFrame([{"study_id": "s2020", "label": "S 2020", "design": "parallel"}])
    tables = extraction.derive_effects(ext, chars, crossover_r=0.5,
                                          continuous_outcomes=CONTINUOUS)
    assert tables.effects.empty
    assert "another denominator" in tables.not_poolable.iloc[0]["reason"]


def test_reported_cohens_d_gets_hedges_correction_when_arm_sizes_known():
    from ketamine_evidence import extraction
    from ketamine_evidence.effects import hedges_j

    base = {c: None for c in sx.EXTRACTION_COLUMNS} | {
        "row_id": "E0001", "study_id": "s2020", "comparison": "ketamine vs midazolam",
        "outcome": "ptsd_severity", "instrument": "CAPS-5", "timepoint": "week 2",
        "timepoint_days": 14.0, "data_type": "contrast", "lower_is_better": True,
        "measure": "d", "estimate": -1.13, "ci_low": -1.91, "ci_high": -0.36,
        "source_id": "https://example.org/fake", "location": "abstract"}
    chars = pd.DataFrame([{"study_id": "s2020", "label": "S 2020", "design": "parallel"}])
    unknown = extraction.derive_effects(pd.DataFrame([base]), chars, crossover_r=0.5,
                                          continuous_outcomes=CONTINUOUS).effects.iloc[0]
    known = extraction.derive_effects(pd.DataFrame([base | {"n1i": 15.0, "n2i": 15.0}]),
                                      chars, crossover_r=0.5,
                                          continuous_outcomes=CONTINUOUS).effects.iloc[0]
    j = float(hedges_j(28))
    assert known["yi"] == pytest.approx(j * unknown["yi"])
    assert known["vi"] == pytest.approx(j * j * unknown["vi"])
    assert "arm sizes unknown" in unknown["derivation"]
    assert "Hedges' g = J x d" in known["derivation"]
