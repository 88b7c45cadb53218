"""Unit and property tests for ketamine_evidence.effects (metafor agreement is in test_effects_metafor)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special

from ketamine_evidence import KetamineEvidenceWarning
from ketamine_evidence.effects import (
    EffectInputError,
    escalc,
    from_ci,
    from_cohen_d,
    from_pvalue,
    from_se,
    hedges_j,
    percent_reduction_from_rom,
)

# ---------------------------------------------------------------- hand-computed values


def test_hedges_j_exact_values():
    # J(2) = Gamma(1) / (1 * Gamma(1/2)) = 1/sqrt(pi)
    assert hedges_j(2) == pytest.approx(1 / math.sqrt(math.pi))
    # J(10) = Gamma(5) / (sqrt(5) * Gamma(4.5)) = 24 / (2.236068 * 11.631728) = 0.922745
    assert hedges_j(10) == pytest.approx(24 / (math.sqrt(5) * special.gamma(4.5)))
    assert hedges_j(10) == pytest.approx(0.922745, abs=1e-6)
    # close to the usual approximation 1 - 3/(4m - 1) for large m
    assert hedges_j(200) == pytest.approx(1 - 3 / 799, abs=1e-6)
    assert np.isnan(hedges_j(1))


def test_smd_hand_computed():
    # m1=10, sd1=2, n1=10; m2=8, sd2=3, n2=12
    # sp = sqrt((9*4 + 11*9)/20) = sqrt(135/20) = 2.598076; d = 2/2.598076 = 0.769800
    # J(20) = 0.961945 (exact); g = 0.740505; vi = 1/10 + 1/12 + g^2/44 = 0.195796
    res = escalc("SMD", m1i=10, sd1i=2, n1i=10, m2i=8, sd2i=3, n2i=12)
    sp = math.sqrt(135 / 20)
    g = float(hedges_j(20)) * 2 / sp
    assert res["yi"].iloc[0] == pytest.approx(g)
    assert res["yi"].iloc[0] == pytest.approx(0.740505, abs=1e-6)
    assert res["vi"].iloc[0] == pytest.approx(1 / 10 + 1 / 12 + g**2 / 44)


def test_md_default_is_unpooled_and_ho_pooled():
    # LS: 4/10 + 9/12 = 1.15; HO: (135/20)*(1/10 + 1/12) = 6.75*0.183333 = 1.2375
    ls = escalc("MD", m1i=10, sd1i=2, n1i=10, m2i=8, sd2i=3, n2i=12)
    ho = escalc("MD", m1i=10, sd1i=2, n1i=10, m2i=8, sd2i=3, n2i=12, vtype="HO")
    assert ls["yi"].iloc[0] == 2 and ls["vi"].iloc[0] == pytest.approx(1.15)
    assert ho["vi"].iloc[0] == pytest.approx(1.2375)


def test_rom_hand_computed():
    # log(20/25) = -0.223144; vi = 16/(10*400) + 25/(12*625) = 0.004 + 0.003333 = 0.007333
    res = escalc("ROM", m1i=20, sd1i=4, n1i=10, m2i=25, sd2i=5, n2i=12)
    assert res["yi"].iloc[0] == pytest.approx(math.log(0.8))
    assert res["vi"].iloc[0] == pytest.approx(0.004 + 25 / 7500)


def test_binary_hand_computed_and_only0():
    # 2x2: a=5, b=15, c=10, d=10 (no zero cell, no correction)
    rr = escalc("RR", ai=5, bi=15, ci=10, di=10)
    assert rr["yi"].iloc[0] == pytest.approx(math.log(0.25 / 0.5))
    assert rr["vi"].iloc[0] == pytest.approx(1 / 5 - 1 / 20 + 1 / 10 - 1 / 20)
    # zero cell: a=0 of 10, c=3 of 10 -> +0.5 to all: (0.5/11)/(3.5/11)
    z = escalc("RR", ai=[0, 5], n1i=[10, 20], ci=[3, 10], n2i=[10, 20])
    assert z["yi"].iloc[0] == pytest.approx(math.log(0.5 / 3.5))
    assert z["yi"].iloc[1] == pytest.approx(math.log(0.5))  # untouched (only0)
    orr = escalc("OR", ai=0, n1i=10, ci=3, n2i=10)
    assert orr["yi"].iloc[0] == pytest.approx(math.log((0.5 * 7.5) / (10.5 * 3.5)))
    assert orr["vi"].iloc[0] == pytest.approx(1 / 0.5 + 1 / 10.5 + 1 / 3.5 + 1 / 7.5)


def test_to_none_with_zero_cell_warns_and_gives_nan():
    with pytest.warns(KetamineEvidenceWarning, match="NaN"):
        res = escalc("OR", ai=0, n1i=10, ci=3, n2i=10, to="none")
    assert np.isnan(res["yi"].iloc[0]) and np.isnan(res["vi"].iloc[0])


def test_drop00():
    res = escalc("RR", ai=[0, 1], n1i=[10, 10], ci=[0, 2], n2i=[10, 10], drop00=True)
    assert np.isnan(res["yi"].iloc[0]) and not np.isnan(res["yi"].iloc[1])


# ---------------------------------------------------------------- input handling


def test_data_mode_with_column_names_keeps_index_and_columns():
    df = pd.DataFrame(
        {"trial": ["A", "B"], "x1": [10, 12], "s1": [2, 2], "k1": [10, 11],
         "x2": [8, 12], "s2": [3, 2], "k2": [12, 11]},
        index=[7, 9],
    )
    res = escalc("MD", m1i="x1", sd1i="s1", n1i="k1", m2i="x2", sd2i="s2", n2i="k2", data=df, study="trial")
    assert list(res.index) == [7, 9]
    assert list(res.columns) == [*df.columns, "yi", "vi"]
    assert res["yi"].tolist() == [2, 0]
    assert "yi" not in df.columns  # input not modified


def test_scalars_lists_series_arrays_mix_and_broadcast():
    res = escalc("MD", m1i=pd.Series([1.0, 2.0]), sd1i=1, n1i=np.array([10, 10]), m2i=[0, 0], sd2i=1.0, n2i=10)
    assert res["yi"].tolist() == [1.0, 2.0]
    assert list(res.columns) == ["yi", "vi"]


def test_study_column_without_data():
    res = escalc("MD", m1i=[1, 2], sd1i=1, n1i=10, m2i=0, sd2i=1, n2i=10, study=["s1", "s2"])
    assert res["study"].tolist() == ["s1", "s2"]


@pytest.mark.parametrize(
    ("kwargs", "field", "row_text"),
    [
        ({"sd1i": [1, -1]}, "sd1i", "row 1 (study 'B')"),
        ({"n2i": [10, 1]}, "n2i", "row 1 (study 'B')"),
        ({"m1i": [1, None]}, "m1i", "row 1 (study 'B')"),
        ({"m1i": [1, float("nan")]}, "m1i", "row 1 (study 'B')"),
    ],
)
def test_continuous_errors_name_row_study_field(kwargs, field, row_text):
    base = {"m1i": [1, 2], "sd1i": [1, 1], "n1i": [10, 10], "m2i": [0, 0], "sd2i": [1, 1], "n2i": [10, 10]}
    base.update(kwargs)
    with pytest.raises(EffectInputError) as exc:
        escalc("SMD", **base, study=["A", "B"])
    assert exc.value.field == field
    assert exc.value.position == 1 and exc.value.study == "B"
    assert str(exc.value).startswith(f"{row_text}: {field}:")


def test_binary_errors():
    with pytest.raises(EffectInputError, match="events .* exceed") as exc:
        escalc("RR", ai=[3, 12], n1i=[10, 10], ci=[1, 1], n2i=[10, 10])
    assert exc.value.field == "n1i" and exc.value.position == 1
    with pytest.raises(EffectInputError, match="must equal ai \\+ bi"):
        escalc("OR", ai=3, bi=7, n1i=11, ci=1, di=9)
    with pytest.raises(EffectInputError, match=">= 0"):
        escalc("OR", ai=-1, bi=7, ci=1, di=9)
    with pytest.raises(EffectInputError, match="give di or n2i"):
        escalc("OR", ai=1, bi=7, ci=1)


def test_rom_requires_positive_means():
    with pytest.raises(EffectInputError, match="strictly positive") as exc:
        escalc("ROM", m1i=-1, sd1i=1, n1i=10, m2i=2, sd2i=1, n2i=10)
    assert exc.value.field == "m1i"


def test_measure_vtype_and_argument_checks():
    with pytest.raises(EffectInputError, match="unknown measure"):
        escalc("HR", m1i=1)
    with pytest.raises(EffectInputError, match="vtype"):
        escalc("SMD", m1i=1, sd1i=1, n1i=5, m2i=0, sd2i=1, n2i=5, vtype="HO")
    with pytest.raises(EffectInputError, match="not used by measure MD"):
        escalc("MD", m1i=1, sd1i=1, n1i=5, m2i=0, sd2i=1, n2i=5, ai=3)
    with pytest.raises(EffectInputError, match="different lengths"):
        escalc("MD", m1i=[1, 2], sd1i=[1, 1, 1], n1i=5, m2i=0, sd2i=1, n2i=5)
    with pytest.raises(EffectInputError, match="required"):
        escalc("MD", m1i=1, sd1i=1, n1i=5, m2i=0, n2i=5)
    with pytest.raises(EffectInputError, match="not found"):
        escalc("MD", m1i="nope", sd1i=1, n1i=5, m2i=0, sd2i=1, n2i=5, data=pd.DataFrame({"a": [1]}))


# ---------------------------------------------------------------- generic inverse variance


def test_from_se():
    res = from_se([0.5, -0.2], [0.1, 0.2])
    assert res["vi"].tolist() == pytest.approx([0.01, 0.04])
    assert list(res.columns) == ["yi", "vi", "method"]
    log = from_se(2.0, 0.3, log_scale=True)
    assert log["yi"].iloc[0] == pytest.approx(math.log(2))
    with pytest.raises(EffectInputError):
        from_se(1.0, 0.0)


def test_from_ci_normal_and_t():
    # MD 3.0 (1.0 to 5.0), 95% normal: SE = 4/(2*1.959964) = 1.020410
    res = from_ci(3.0, 1.0, 5.0)
    assert math.sqrt(res["vi"].iloc[0]) == pytest.approx(4 / (2 * 1.959963985))
    # t with 45 df: SE = 4/(2*2.014103) = 0.992998
    res_t = from_ci(3.0, 1.0, 5.0, df=45)
    assert math.sqrt(res_t["vi"].iloc[0]) == pytest.approx(0.992998, abs=1e-6)
    assert "df=45" in res_t["method"].iloc[0]


def test_from_ci_ratio_and_asymmetry_warning():
    # RR 0.5 (0.25 to 1.0): log scale symmetric: SE = (log 1 - log 0.25)/3.919928 = 0.353653
    res = from_ci(0.5, 0.25, 1.0, log_scale=True)
    assert res["yi"].iloc[0] == pytest.approx(math.log(0.5))
    assert math.sqrt(res["vi"].iloc[0]) == pytest.approx(math.log(4) / 3.919927969)
    with pytest.warns(KetamineEvidenceWarning, match="asymmetric"):
        from_ci(0.5, 0.25, 1.0)  # forgot log_scale
    with pytest.raises(EffectInputError, match="outside"):
        from_ci(2.0, 0.25, 1.0, log_scale=True)


def test_from_pvalue_cochrane_example():
    # Handbook 6.3.2: the Z value for P = 0.008 is 2.652, so SE = estimate / 2.652
    res = from_pvalue(1.0, 0.008)
    assert math.sqrt(res["vi"].iloc[0]) == pytest.approx(1 / 2.652, rel=1e-3)
    neg = from_pvalue(-1.0, 0.008)
    assert neg["vi"].iloc[0] == res["vi"].iloc[0] and neg["yi"].iloc[0] == -1.0
    one = from_pvalue(1.0, 0.004, two_sided=False)
    assert one["vi"].iloc[0] == pytest.approx(res["vi"].iloc[0])
    t = from_pvalue(3.8, 0.008, df=45)  # Handbook 6.5.2.3: SE = 3.8/2.78 = 1.37
    assert round(math.sqrt(t["vi"].iloc[0]), 2) == 1.37
    with pytest.raises(EffectInputError):
        from_pvalue(0.0, 0.5)
    with pytest.raises(EffectInputError):
        from_pvalue(1.0, 1.0)


def test_from_cohen_d_equals_escalc_on_standardised_means():
    res = from_cohen_d(0.5, 20, 22)
    ref = escalc("SMD", m1i=0.5, sd1i=1, n1i=20, m2i=0, sd2i=1, n2i=22)
    assert res["yi"].iloc[0] == pytest.approx(ref["yi"].iloc[0])
    assert res["vi"].iloc[0] == pytest.approx(ref["vi"].iloc[0])


def test_percent_reduction_from_rom():
    res = percent_reduction_from_rom(math.log(0.8), math.log(0.7), math.log(0.9))
    assert res["reduction"].iloc[0] == pytest.approx(20.0)
    assert res["reduction_low"].iloc[0] == pytest.approx(10.0)
    assert res["reduction_high"].iloc[0] == pytest.approx(30.0)


# ---------------------------------------------------------------- properties (hypothesis)

mean = st.floats(-100, 100, allow_nan=False)
sd = st.floats(0.1, 50, allow_nan=False)
n = st.integers(2, 500)


@settings(max_examples=200, deadline=None)
@given(m1=mean, s1=sd, n1=n, m2=mean, s2=sd, n2=n, vtype=st.sampled_from(["LS", "UB", "LS2"]))
def test_smd_sign_flips_when_arms_swap(m1, s1, n1, m2, s2, n2, vtype):
    a = escalc("SMD", m1i=m1, sd1i=s1, n1i=n1, m2i=m2, sd2i=s2, n2i=n2, vtype=vtype)
    b = escalc("SMD", m1i=m2, sd1i=s2, n1i=n2, m2i=m1, sd2i=s1, n2i=n1, vtype=vtype)
    assert b["yi"].iloc[0] == pytest.approx(-a["yi"].iloc[0], rel=1e-12, abs=1e-12)
    assert b["vi"].iloc[0] == pytest.approx(a["vi"].iloc[0], rel=1e-12)


@settings(max_examples=200, deadline=None)
@given(m1=mean, s1=sd, n1=n, m2=mean, s2=sd, n2=n, shift=st.floats(-1e3, 1e3), vtype=st.sampled_from(["LS", "HO"]))
def test_md_invariant_to_shifting_both_means(m1, s1, n1, m2, s2, n2, shift, vtype):
    a = escalc("MD", m1i=m1, sd1i=s1, n1i=n1, m2i=m2, sd2i=s2, n2i=n2, vtype=vtype)
    b = escalc("MD", m1i=m1 + shift, sd1i=s1, n1i=n1, m2i=m2 + shift, sd2i=s2, n2i=n2, vtype=vtype)
    assert b["yi"].iloc[0] == pytest.approx(a["yi"].iloc[0], abs=1e-9)
    assert b["vi"].iloc[0] == a["vi"].iloc[0]


@st.composite
def two_by_two(draw):
    n1 = draw(st.integers(1, 300))
    n2 = draw(st.integers(1, 300))
    return draw(st.integers(0, n1)), n1, draw(st.integers(0, n2)), n2


@settings(max_examples=300, deadline=None)
@given(t=two_by_two(), measure=st.sampled_from(["RR", "OR", "RD"]), to=st.sampled_from(["only0", "all"]))
def test_binary_symmetric_under_arm_swap(t, measure, to):
    a1, n1, c2, n2 = t
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", KetamineEvidenceWarning)  # zero variance when all cells empty
        a = escalc(measure, ai=a1, n1i=n1, ci=c2, n2i=n2, to=to)
        b = escalc(measure, ai=c2, n1i=n2, ci=a1, n2i=n1, to=to)
    assert b["yi"].iloc[0] == pytest.approx(-a["yi"].iloc[0], rel=1e-12, abs=1e-12)
    assert b["vi"].iloc[0] == pytest.approx(a["vi"].iloc[0], rel=1e-12, abs=1e-15)


@settings(max_examples=200, deadline=None)
@given(t=two_by_two())
def test_or_symmetric_under_swapping_events_and_nonevents(t):
    a1, n1, c2, n2 = t
    a = escalc("OR", ai=a1, n1i=n1, ci=c2, n2i=n2)
    b = escalc("OR", ai=n1 - a1, n1i=n1, ci=n2 - c2, n2i=n2)
    assert b["yi"].iloc[0] == pytest.approx(-a["yi"].iloc[0], rel=1e-12, abs=1e-12)
    assert b["vi"].iloc[0] == pytest.approx(a["vi"].iloc[0], rel=1e-12)


@settings(max_examples=100, deadline=None)
@given(m1=st.floats(0.5, 100), s1=sd, n1=n, m2=st.floats(0.5, 100), s2=sd, n2=n, scale=st.floats(0.01, 100))
def test_rom_invariant_to_rescaling_units(m1, s1, n1, m2, s2, n2, scale):
    a = escalc("ROM", m1i=m1, sd1i=s1, n1i=n1, m2i=m2, sd2i=s2, n2i=n2)
    b = escalc("ROM", m1i=m1 * scale, sd1i=s1 * scale, n1i=n1, m2i=m2 * scale, sd2i=s2 * scale, n2i=n2)
    assert b["yi"].iloc[0] == pytest.approx(a["yi"].iloc[0], abs=1e-9)
    assert b["vi"].iloc[0] == pytest.approx(a["vi"].iloc[0], rel=1e-9)
