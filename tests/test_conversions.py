"""Conversions against worked examples (Cochrane Handbook) and hand arithmetic shown inline."""

from __future__ import annotations

import math

import pytest
from scipy import stats

from ketamine_evidence.conversions import (
    correlation_from_change,
    crossover_from_paired_t,
    crossover_paired,
    mean_sd_from_quantiles,
    sd_change,
    sd_from_ci,
    sd_from_ci_difference,
    sd_from_p_difference,
    sd_from_se,
    sd_from_se_difference,
    sd_from_t_difference,
    split_shared_control,
)

# ---------------------------------------------------------------- SDs (Cochrane 6.5.2.2-6.5.2.3)


def test_sd_from_se():
    res = sd_from_se(2.0, 25)  # 2 * sqrt(25) = 10
    assert res.value == pytest.approx(10.0)
    assert "SD = SE*sqrt(n)" in res.description and "6.5.2.2" in res.description


def test_sd_from_ci_uses_t_divisor_from_handbook():
    # Handbook 6.5.2.2: for n = 25 the t value is 2.0639, so the divisor 3.92 becomes 4.128.
    # A CI of width 4.128 therefore gives SD = sqrt(25) * 4.128 / 4.1278 = 5.0002.
    res = sd_from_ci(10.0, 14.128, 25)
    assert res.value == pytest.approx(5 * 4.128 / (2 * 2.0638986), rel=1e-6)
    assert "t_0.975,24" in res.description


def test_sd_from_ci_normal_large_sample():
    # Handbook: 95% CI is 3.92 SEs wide for large samples: SD = sqrt(400) * 3.92/3.919928 ~ 20
    res = sd_from_ci(0.0, 3.92, 400, dist="normal")
    assert res.value == pytest.approx(math.sqrt(400) * 3.92 / (2 * 1.959963985), rel=1e-9)


def test_sd_from_ci_90_percent_normal():
    # 90% CI: divisor 3.29 (Handbook) = 2 * 1.644854
    res = sd_from_ci(0.0, 3.289707, 100, level=0.90, dist="normal")
    assert res.value == pytest.approx(10.0, rel=1e-6)


def test_sd_from_p_difference_handbook_example():
    # Handbook 6.5.2.3: MD = 3.8, P = 0.008, groups of 25 and 22: t = tinv(0.008, 45) = 2.78,
    # SE = 3.8 / 2.78 = 1.37; SD = 1.3691 / sqrt(1/25 + 1/22) = 1.3691 / 0.29233 = 4.683
    res = sd_from_p_difference(3.8, 0.008, 25, 22)
    t = stats.t.isf(0.004, 45)
    assert round(t, 2) == 2.78
    se = 3.8 / t
    assert round(se, 2) == 1.37
    assert res.value == pytest.approx(se / math.sqrt(1 / 25 + 1 / 22))
    assert res.value == pytest.approx(4.683, abs=5e-4)


def test_sd_from_t_and_se_and_ci_difference_agree():
    # the same trial described three ways gives the same SD
    n1, n2, sd = 25, 22, 4.0
    se = sd * math.sqrt(1 / n1 + 1 / n2)
    md = 3.0
    t = md / se
    q = stats.t.ppf(0.975, n1 + n2 - 2)  # 2.0141
    lo, hi = md - q * se, md + q * se
    assert sd_from_se_difference(se, n1, n2).value == pytest.approx(sd)
    assert sd_from_t_difference(md, t, n1, n2).value == pytest.approx(sd)
    assert sd_from_t_difference(-md, -t, n1, n2).value == pytest.approx(sd)
    assert sd_from_ci_difference(lo, hi, n1, n2).value == pytest.approx(sd)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: sd_from_se(-1, 10), "se"),
        (lambda: sd_from_se(1, 1), "n"),
        (lambda: sd_from_se(float("nan"), 10), "se"),
        (lambda: sd_from_ci(5, 4, 10), "lower"),
        (lambda: sd_from_ci(1, 2, 10, dist="z"), "dist"),
        (lambda: sd_from_p_difference(1, 1.0, 10, 10), "p"),
        (lambda: sd_from_t_difference(1, 0, 10, 10), "t"),
    ],
)
def test_bad_input_names_field(call, field):
    with pytest.raises(ValueError, match=f"^{field}"):
        call()


# ---------------------------------------------------------------- change scores (6.5.2.8)


def test_sd_change_and_inverse():
    # sqrt(10^2 + 12^2 - 2*0.5*10*12) = sqrt(100 + 144 - 120) = sqrt(124) = 11.1355
    res = sd_change(10, 12, 0.5)
    assert res.value == pytest.approx(math.sqrt(124))
    assert "assumed r = 0.5" in res.description
    back = correlation_from_change(10, 12, math.sqrt(124))
    assert back.value == pytest.approx(0.5)


def test_correlation_from_change_handbook_style():
    # (SDb^2 + SDf^2 - SDc^2) / (2 SDb SDf) = (4.4^2 + 4.5^2 - 3.8^2)/(2*4.4*4.5)
    #  = (19.36 + 20.25 - 14.44) / 39.6 = 25.17 / 39.6 = 0.635606
    assert correlation_from_change(4.4, 4.5, 3.8).value == pytest.approx(25.17 / 39.6)


def test_correlation_from_change_rejects_inconsistent_sds():
    with pytest.raises(ValueError, match="outside"):
        correlation_from_change(1.0, 1.0, 5.0)  # (1 + 1 - 25)/2 = -11.5


def test_sd_change_requires_valid_r():
    with pytest.raises(ValueError, match="^r"):
        sd_change(1, 1, 1.2)


# ---------------------------------------------------------------- median / IQR / range


N = 50
XI50 = 2 * stats.norm.ppf((50 - 0.375) / (50 + 0.25))  # 4.486658
ETA50 = 2 * stats.norm.ppf((0.75 * 50 - 0.125) / (50 + 0.25))  # 1.310093


def test_wan_xi_eta_values():
    assert XI50 == pytest.approx(4.486658, abs=1e-6)
    assert ETA50 == pytest.approx(1.310093, abs=1e-6)


def test_s1_luo_mean_wan_sd():
    # a=2, m=10, b=30, n=50: n^0.75 = 18.80302; w = 4/22.80302 = 0.175415
    # mean = 0.175415*16 + 0.824585*10 = 2.806640 + 8.245850 = 11.05249
    # SD = 28 / 4.486658 = 6.240726
    res = mean_sd_from_quantiles(N, median=10, minimum=2, maximum=30)
    w = 4 / (4 + 50**0.75)
    assert w == pytest.approx(0.175415, abs=1e-6)
    assert res.mean == pytest.approx(w * 16 + (1 - w) * 10)
    assert res.mean == pytest.approx(11.05249, abs=1e-5)
    assert res.sd == pytest.approx(28 / XI50)
    assert res.sd == pytest.approx(6.240726, abs=1e-6)
    assert "S1" in res.description and "Luo 2018" in res.description


def test_s1_wan_mean_is_hozo():
    # (2 + 20 + 30)/4 + (2 - 20 + 30)/(4*50) = 13 + 0.06 = 13.06
    res = mean_sd_from_quantiles(N, median=10, minimum=2, maximum=30, mean_method="wan2014")
    assert res.mean == pytest.approx(13.06)


def test_s2_luo_mean_wan_and_shi_sd():
    # a=2, q1=7, m=10, q3=15, b=30, n=50
    # w1 = 2.2/(2.2+18.80302) = 0.104747; w2 = 0.7 - 0.72/50^0.55 = 0.7 - 0.72/8.589 = 0.616267
    # mean = 0.104747*16 + 0.616267*11 + (1-0.104747-0.616267)*10 = 1.675952 + 6.778937 + 2.789860
    #      = 11.24475
    res = mean_sd_from_quantiles(N, median=10, minimum=2, q1=7, q3=15, maximum=30)
    assert res.mean == pytest.approx(11.24475, abs=1e-5)
    # Wan eq. 13: 28/(2*4.486658) + 8/(2*1.310093) = 3.120362 + 3.053218 = 6.173580
    assert res.sd == pytest.approx(28 / (2 * XI50) + 8 / (2 * ETA50))
    assert res.sd == pytest.approx(6.173580, abs=1e-5)
    shi = mean_sd_from_quantiles(N, median=10, minimum=2, q1=7, q3=15, maximum=30, sd_method="shi2020")
    th1 = (2 + 0.14 * 50**0.6) * stats.norm.ppf(49.625 / 50.25)
    th2 = (2 + 2 / (0.07 * 50**0.6)) * stats.norm.ppf(37.375 / 50.25)
    assert shi.sd == pytest.approx(28 / th1 + 8 / th2)
    wan_mean = mean_sd_from_quantiles(N, median=10, minimum=2, q1=7, q3=15, maximum=30, mean_method="wan2014")
    assert wan_mean.mean == pytest.approx((2 + 14 + 20 + 30 + 30) / 8)  # = 12


def test_s3_luo_mean_wan_sd():
    # q1=7, m=10, q3=15, n=50: w = 0.7 + 0.39/50 = 0.7078; mean = 0.7078*11 + 0.2922*10 = 10.7078
    # SD = 8 / 1.310093 = 6.106437
    res = mean_sd_from_quantiles(N, median=10, q1=7, q3=15)
    assert res.mean == pytest.approx(10.7078)
    assert res.sd == pytest.approx(6.106437, abs=1e-6)
    assert mean_sd_from_quantiles(N, median=10, q1=7, q3=15, mean_method="wan2014").mean == pytest.approx(32 / 3)


def test_symmetric_data_mean_equals_median():
    for kw in ({"minimum": 0, "maximum": 20}, {"q1": 7, "q3": 13}, {"minimum": 0, "q1": 7, "q3": 13, "maximum": 20}):
        for mm in ("luo2018", "wan2014"):
            res = mean_sd_from_quantiles(40, median=10, mean_method=mm, **kw)
            assert res.mean == pytest.approx(10)


def test_quantiles_large_n_sd_converges_to_normal_theory():
    # For large n, IQR/1.349 (Handbook 6.5.2.5) is recovered
    res = mean_sd_from_quantiles(10**7, median=0, q1=-1.349 / 2, q3=1.349 / 2)
    assert res.sd == pytest.approx(1.0, abs=1e-3)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"median": 10, "minimum": 1}, "minimum/maximum/q1/q3"),  # incomplete scenario
        ({"median": 10, "q1": 12, "q3": 15}, "median"),  # q1 > median
        ({"median": 5, "minimum": 5, "maximum": 5}, "maximum: spread"),  # zero spread
        ({"median": 10, "q1": 7, "q3": 15, "mean_method": "hozo"}, "mean_method"),
    ],
)
def test_quantiles_bad_input(kw, match):
    with pytest.raises(ValueError, match=match):
        mean_sd_from_quantiles(20, **kw)


# ---------------------------------------------------------------- crossover (Cochrane 23.2.7)


def test_crossover_handbook_example():
    # Cochrane Handbook (v5.1 16.4.6.4; v6 23.2.7) example: ME=7.0, SDE=2.38, MC=6.5, SDC=2.21, n=10
    # MD, imputed r=0.68: SDdiff = sqrt(2.38^2 + 2.21^2 - 2*0.68*2.38*2.21) = 1.8426, SE = 0.583
    md = crossover_paired(7.0, 2.38, 6.5, 2.21, 10, r=0.68, measure="MD")
    assert md.yi == pytest.approx(0.5)
    assert round(math.sqrt(md.vi), 3) == 0.583
    # SMD = 0.5 / sqrt((2.38^2 + 2.21^2)/2) = 0.218; SE = sqrt((1/10 + 0.218^2/20) * 2 * 0.32) = 0.256
    smd = crossover_paired(7.0, 2.38, 6.5, 2.21, 10, r=0.68, measure="SMD")
    assert round(smd.yi, 3) == 0.218
    assert round(math.sqrt(smd.vi), 3) == 0.256
    assert "assumed r = 0.68" in smd.description


def test_crossover_r_is_required():
    with pytest.raises(TypeError):
        crossover_paired(7.0, 2.38, 6.5, 2.21, 10)  # type: ignore[call-arg]


def test_crossover_from_paired_t_roundtrip():
    # Build a paired analysis with r = 0.68 from the Handbook example, then recover it from t.
    sd_diff = math.sqrt(2.38**2 + 2.21**2 - 2 * 0.68 * 2.38 * 2.21)
    se = sd_diff / math.sqrt(10)
    t = 0.5 / se
    res = crossover_from_paired_t(0.5, 10, t=t, sd_e=2.38, sd_c=2.21)
    assert res.vi == pytest.approx(se**2)
    assert "implied within-person r" in res.description
    assert res.description.endswith("= 0.68")
    smd = crossover_from_paired_t(0.5, 10, t=t, sd_e=2.38, sd_c=2.21, measure="SMD")
    ref = crossover_paired(7.0, 2.38, 6.5, 2.21, 10, r=0.68, measure="SMD")
    assert smd.yi == pytest.approx(ref.yi) and smd.vi == pytest.approx(ref.vi)
    # from the exact two-sided p of that t with n-1 = 9 df
    p = 2 * stats.t.sf(t, 9)
    res_p = crossover_from_paired_t(0.5, 10, p=p)
    assert res_p.vi == pytest.approx(se**2)


def test_crossover_from_paired_t_needs_exactly_one_of_t_p():
    with pytest.raises(ValueError, match="^t/p"):
        crossover_from_paired_t(1.0, 10)
    with pytest.raises(ValueError, match="^sd_e/sd_c"):
        crossover_from_paired_t(1.0, 10, t=2.0, measure="SMD")


# ---------------------------------------------------------------- shared control (23.3.4)


def test_split_shared_control_integer():
    res = split_shared_control(31, 2, events=7)
    assert res.n == (16, 15) and res.events == (4, 3)
    assert sum(res.n) == 31 and sum(res.events) == 7
    res3 = split_shared_control(30, 3, events=30)
    assert res3.n == (10, 10, 10) and res3.events == (10, 10, 10)
    assert "23.3.4" in res.description


def test_split_shared_control_fractional_keeps_risk():
    res = split_shared_control(31, 2, events=7, integer=False)
    assert res.n == (15.5, 15.5) and res.events == (3.5, 3.5)
    assert split_shared_control(20, 2).events is None


@pytest.mark.parametrize(
    "args", [(31.5, 2), (10, 1), (1, 2), (10, 2, 11), (10, 2, 2.5)]
)
def test_split_shared_control_bad(args):
    with pytest.raises(ValueError):
        split_shared_control(*args)
