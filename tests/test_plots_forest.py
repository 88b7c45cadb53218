"""Forest, cumulative and leave-one-out plots: the expected artists are there, edge cases draw."""

from __future__ import annotations

import math
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from ketamine_evidence.plots import (
    cumulative_plot,
    forest_plot,
    heterogeneity_text,
    leave1out_plot,
)


def by_gid(fig: Figure, gid: str) -> list:
    return fig.findobj(lambda a: a.get_gid() == gid)


def all_text(fig: Figure) -> str:
    return "\n".join(t.get_text() for t in fig.findobj(matplotlib.text.Text))


def fake_rma(k: int = 5, **over) -> SimpleNamespace:
    rng = np.random.default_rng(1)
    yi = rng.normal(-5, 3, size=k)
    vi = rng.uniform(5, 20, size=k)
    w = 1 / vi
    base = dict(
        k=k,
        method="REML",
        test="knha",
        level=0.95,
        estimate=-5.62,
        se=1.6,
        statistic=-3.51,
        df=k - 1,
        pvalue=0.0247,
        ci_low=-10.06,
        ci_high=-1.18,
        pi_low=-13.9,
        pi_high=2.7,
        tau2=4.21,
        se_tau2=5.0,
        i2=31.4,
        h2=1.46,
        q=5.83,
        q_df=k - 1,
        q_pvalue=0.212,
        weights=100 * w / w.sum(),
        yi=yi,
        vi=vi,
        study=[f"s{i}" for i in range(k)],
    )
    base.update(over)
    return SimpleNamespace(**base)


def arms(k: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "study_id": [f"s{i}" for i in range(k)],
            "label": [f"Author {2010 + i}" for i in range(k)],
            "m1i": np.linspace(20, 30, k),
            "sd1i": 10.0,
            "n1i": 20,
            "m2i": np.linspace(25, 35, k),
            "sd2i": 11.0,
            "n2i": 21,
        }
    )


def test_forest_has_squares_diamond_pi_and_claim():
    res = fake_rma(5)
    fig = forest_plot(
        res,
        arms(5),
        measure_label="MD (points)",
        claim_range=(-30, -15),
        claim_label="Claim: 15+ points",
    )
    assert isinstance(fig, Figure)
    (squares,) = by_gid(fig, "study_squares")
    assert len(squares.get_offsets()) == 5
    assert len(by_gid(fig, "pooled_diamond")) == 1
    assert len(by_gid(fig, "prediction_interval")) == 1
    assert len(by_gid(fig, "claim_band")) == 1
    (label,) = by_gid(fig, "claim_label")
    assert label.get_text() == "Claim: 15+ points"
    (het,) = by_gid(fig, "heterogeneity")
    for s in ("4.210", "31%", "5.83", "df = 4", "p = 0.212", "t(4)", "p = 0.025", "REML", "HKSJ"):
        assert s in het.get_text()
    text = all_text(fig)
    assert "Author 2010" in text and "Mean (SD)" in text and "Intervention" in text
    assert "Random-effects model" in text and "95% prediction interval" in text
    assert "\N{MINUS SIGN}5.62 [\N{MINUS SIGN}10.06, \N{MINUS SIGN}1.18]" in text
    assert "100.0%" in text
    assert by_gid(fig, "favours_left")[0].get_text().endswith("Favours intervention")


def test_square_area_follows_weight():
    res = fake_rma(4, weights=np.array([10.0, 20.0, 30.0, 40.0]))
    fig = forest_plot(res, measure_label="MD", ref_line=None, favours=None)
    sizes = by_gid(fig, "study_squares")[0].get_sizes()
    assert list(np.argsort(sizes)) == [0, 1, 2, 3]


def test_k1_no_prediction_interval_and_no_claim():
    res = fake_rma(
        1,
        pi_low=math.nan,
        pi_high=math.nan,
        i2=math.nan,
        q_pvalue=math.nan,
        statistic=math.nan,
        pvalue=math.nan,
    )
    fig = forest_plot(res, measure_label="log RR", transform="exp")
    assert len(by_gid(fig, "study_squares")[0].get_offsets()) == 1
    assert by_gid(fig, "prediction_interval") == []
    assert by_gid(fig, "claim_band") == []
    assert "not applicable (k = 1)" in by_gid(fig, "heterogeneity")[0].get_text()


def test_nan_prediction_interval_is_skipped():
    fig = forest_plot(fake_rma(3, pi_low=math.nan, pi_high=math.nan), measure_label="MD")
    assert by_gid(fig, "prediction_interval") == []
    assert "prediction interval" not in all_text(fig)


def test_wide_ci_is_clipped_with_arrows():
    res = fake_rma(3, yi=np.array([-5.0, -4.0, -6.0]), vi=np.array([4.0, 4.0, 4000.0]))
    fig = forest_plot(res, measure_label="MD")
    ax = fig.axes[0]
    lo, hi = ax.get_xlim()
    assert hi - lo < 200  # not stretched to the +/-124 CI
    assert len(by_gid(fig, "clip_arrow")) == 2


def test_transform_applies_to_text_and_ticks():
    res = fake_rma(
        2,
        yi=np.log(np.array([0.5, 0.8])),
        vi=np.array([0.04, 0.05]),
        estimate=np.log(0.6),
        ci_low=np.log(0.4),
        ci_high=np.log(0.9),
        pi_low=np.log(0.2),
        pi_high=np.log(1.8),
    )
    fig = forest_plot(res, measure_label="Ratio", transform="exp")
    text = all_text(fig)
    assert "0.60 [0.40, 0.90]" in text
    assert "[0.20, 1.80]" in text
    fig.canvas.draw()
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert "1" in ticks


def test_percent_reduction_with_claim_on_display_scale():
    res = fake_rma(
        3,
        yi=np.array([-0.4, -0.2, -0.3]),
        vi=np.array([0.02, 0.03, 0.04]),
        estimate=-0.3,
        ci_low=-0.5,
        ci_high=-0.1,
        pi_low=-0.7,
        pi_high=0.1,
    )
    fig = forest_plot(
        res,
        measure_label="Reduction (%)",
        transform="percent_reduction",
        claim_range=(60, 100),
        claim_scale="display",
        claim_label="60-100%",
        digits=0,
    )
    band = by_gid(fig, "claim_band")[0]
    ax = fig.axes[0]
    # 100% reduction is log(0) = -inf: the band runs to the left edge, ends at log(0.4)
    assert band.get_x() == pytest.approx(ax.get_xlim()[0])
    assert band.get_x() + band.get_width() == pytest.approx(np.log(0.4))
    # 100 * (1 - exp(-0.3)) = 26 (decreasing transform: CI ends are swapped to stay ordered)
    assert "26 [10, 39]" in all_text(fig)


def test_studies_matched_by_id_not_order():
    res = fake_rma(3)
    studies = arms(3).iloc[::-1]
    fig = forest_plot(res, studies, measure_label="MD")
    texts = [t for t in fig.axes[0].texts if t.get_text() == "Author 2010"]
    assert texts[0].get_position()[1] == 0  # first row


def test_studies_that_do_not_match_raise():
    with pytest.raises(ValueError, match="studies has 2 rows"):
        forest_plot(fake_rma(3), arms(2), measure_label="MD")


def test_events_columns():
    studies = pd.DataFrame(
        {"study": ["s0", "s1"], "ai": [3, 5], "n1i": [10, 12], "ci": [1, 2], "n2i": [11, 12]}
    )
    fig = forest_plot(fake_rma(2), studies, measure_label="log RR", transform="exp")
    cells = [t.get_text() for t in fig.axes[0].texts]
    assert cells.count("Events") == 2 and cells.count("Total") == 2  # RevMan's columns
    assert ["3", "5", "10", "12", "1", "2", "11", "12"] == [
        c for c in cells if c.isdigit()
    ]
    assert "Mean (SD)" not in cells and "N" not in cells


def test_binary_outcome_never_shows_mean_sd_columns():
    """A risk ratio row from the effects table carries empty m1i/sd1i columns beside its
    counts: the plot shows events and totals, not an empty "Mean (SD)"."""
    studies = pd.DataFrame({"study": ["s0"], "m1i": [np.nan], "sd1i": [np.nan],
                            "m2i": [np.nan], "sd2i": [np.nan], "ai": [10.0], "n1i": [15.0],
                            "ci": [3.0], "n2i": [15.0]})
    fig = forest_plot(fake_rma(1, pi_low=math.nan, pi_high=math.nan), studies,
                      measure_label="Risk ratio", transform="exp")
    cells = [t.get_text() for t in fig.axes[0].texts]
    assert "Mean (SD)" not in cells
    assert {"Events", "Total", "10", "15", "3"} <= set(cells)


def test_contrast_only_rows_leave_no_empty_arm_columns():
    studies = pd.DataFrame({"study": ["s0", "s1"], "m1i": [np.nan] * 2, "n1i": [np.nan] * 2})
    fig = forest_plot(fake_rma(2), studies, measure_label="MD")
    cells = [t.get_text() for t in fig.axes[0].texts]
    assert "Mean (SD)" not in cells and "N" not in cells and "Intervention" not in cells


def test_single_study_has_no_pooled_diamond():
    """k = 1: nothing was pooled, so there is no diamond and no pooled row (metafor, RevMan)."""
    res = fake_rma(1, pi_low=math.nan, pi_high=math.nan, i2=math.nan)
    fig = forest_plot(res, measure_label="MD")
    assert by_gid(fig, "pooled_diamond") == []
    text = all_text(fig)
    assert "Random-effects model" not in text and "nothing pooled" not in text
    assert len(by_gid(fig, "study_squares")[0].get_offsets()) == 1
    assert by_gid(forest_plot(fake_rma(2), measure_label="MD"), "pooled_diamond")


def test_multi_arm_trial_rows_get_distinct_labels_and_their_own_arm_data():
    """Two comparisons of one trial (0.2 and 0.5 mg/kg against a shared placebo): two rows,
    two labels, each with its own arm numbers."""
    studies = pd.DataFrame({
        "study": ["Abdallah 2022 (0.2)", "Abdallah 2022 (0.5)", "Feder 2021"],
        "study_id": ["abdallah2022", "abdallah2022", "feder2021"],
        "label": ["Abdallah 2022", "Abdallah 2022", "Feder 2021"],
        "comparison": ["ketamine 0.2 mg/kg vs saline", "ketamine 0.5 mg/kg vs saline",
                       "ketamine vs midazolam"],
        "m1i": [40.0, 35.0, 20.0], "sd1i": 10.0, "n1i": [51, 53, 15],
        "m2i": [41.0, 41.0, 30.0], "sd2i": 10.0, "n2i": [54, 54, 15],
    })
    res = fake_rma(3, study=list(studies["study"]))
    fig = forest_plot(res, studies, measure_label="MD")
    cells = [t.get_text() for t in fig.axes[0].texts]
    assert "Abdallah 2022 (ketamine 0.2 mg/kg vs saline)" in cells
    assert "Abdallah 2022 (ketamine 0.5 mg/kg vs saline)" in cells
    assert "Feder 2021" in cells and "Abdallah 2022" not in cells
    assert "40.0 (10.0)" in cells and "35.0 (10.0)" in cells
    # the same study twice in the result, rows in the same order: matched by position
    res = fake_rma(3, study=list(studies["label"]))
    cells = [t.get_text() for t in forest_plot(res, studies, measure_label="MD").axes[0].texts]
    assert "40.0 (10.0)" in cells and "35.0 (10.0)" in cells
    with pytest.raises(ValueError, match="multi-arm"):
        forest_plot(res, studies.iloc[[2, 0, 1]], measure_label="MD")


def test_risk_of_bias_column_beside_the_studies():
    rob = pd.DataFrame({"study_id": ["s0"] * 6,
                        "domain": ["D1", "D2", "D3", "D4", "D5", "overall"],
                        "judgement": ["low", "some_concerns", "low", "low", "high", "high"]})
    studies = arms(2)
    fig = forest_plot(fake_rma(2), studies, measure_label="MD", risk_of_bias=rob)
    texts = fig.axes[0].texts
    cells = [t.get_text() for t in texts]
    assert "Risk of bias" in cells and "Overall" in cells and "D5" in cells
    assert len(by_gid(fig, "rob_high")) == 2 and len(by_gid(fig, "rob_low")) == 3
    assert len(by_gid(fig, "rob_no_information")) == 6  # s1 was not assessed
    (high,) = [t for t in by_gid(fig, "rob_high") if t.get_position()[1] == 0][:1]
    assert high.get_text() == "\N{MULTIPLICATION SIGN}"
    weight = next(t for t in texts if t.get_text() == "Weight")
    d1 = next(t for t in texts if t.get_text() == "D1")
    assert d1.get_position()[0] > weight.get_position()[0]  # right of the weights
    with pytest.raises(ValueError, match="study_id"):
        forest_plot(fake_rma(2), measure_label="MD", risk_of_bias=rob)


def test_claimed_range_on_a_ratio_scale_is_visible():
    """A 60-100% reduction claim (log ratio -0.92 to -inf) beside data near no effect: the
    band covers a visible share of the axis instead of a sliver at its edge."""
    res = fake_rma(1, yi=np.array([-0.1]), vi=np.array([0.01]), estimate=-0.1, ci_low=-0.296,
                   ci_high=0.096, pi_low=math.nan, pi_high=math.nan)
    fig = forest_plot(res, measure_label="Percent reduction", transform="percent_reduction",
                      claim_range=(60, 100), claim_scale="display", claim_label="60-100%")
    band = by_gid(fig, "claim_band")[0]
    lo, hi = fig.axes[0].get_xlim()
    assert band.get_width() >= 0.13 * (hi - lo)
    assert band.get_x() + band.get_width() == pytest.approx(np.log(0.4))


def test_uses_summary_frame_when_present():
    res = fake_rma(2)
    res.summary_frame = lambda: pd.DataFrame(
        {
            "study": res.study,
            "yi": res.yi,
            "vi": res.vi,
            "ci_low": [-99.0, -98.0],
            "ci_high": [1.0, 2.0],
            "weight": res.weights,
        }
    )
    fig = forest_plot(res, measure_label="MD", xlim=(-100, 10))
    assert "[\N{MINUS SIGN}99.00, 1.00]" in all_text(fig)


def test_draws_into_given_axes():
    fig = Figure(figsize=(10, 4))
    ax = fig.add_axes((0.4, 0.3, 0.3, 0.6))
    out = forest_plot(fake_rma(3), measure_label="MD", ax=ax)
    assert out is fig
    assert by_gid(fig, "study_squares")


def test_heterogeneity_text_for_z_test():
    txt = heterogeneity_text(fake_rma(3, test="z", method="DL"))
    assert "Test: z = " in txt and "DerSimonian-Laird, Wald z" in txt


def test_cumulative_and_leave1out():
    frame = pd.DataFrame(
        {
            "label": ["A 2014", "B 2018", "C 2021"],
            "estimate": [-8.9, -4.0, -5.6],
            "ci_low": [-15.0, -9.0, -10.0],
            "ci_high": [-2.8, 1.0, -1.2],
            "tau2": [0.0, 2.0, 4.2],
            "i2": [math.nan, 10.0, 31.0],
        }
    )
    fig = cumulative_plot(frame, measure_label="MD")
    assert len(by_gid(fig, "row_points")[0].get_offsets()) == 3
    assert "+ B 2018" in all_text(fig)
    fig = leave1out_plot(frame, fake_rma(3), measure_label="MD")
    assert len(by_gid(fig, "row_points")[0].get_offsets()) == 3
    assert len(by_gid(fig, "pooled_diamond")) == 1
    assert "All studies" in all_text(fig)
    assert "Omitting" in all_text(fig)


def test_direction_labels_verbatim():
    fig = forest_plot(
        fake_rma(3),
        measure_label="Events",
        direction_labels=("Less with ketamine", "More with ketamine"),
    )
    assert "Less with ketamine" in by_gid(fig, "favours_left")[0].get_text()
    assert "Favours" not in all_text(fig)


def test_long_claim_label_wraps_inside_the_panel():
    label = "Claim C1: \u201ca 60-100% reduction in symptoms such as depression and anxiety\u201d"
    fig = forest_plot(fake_rma(3), measure_label="MD", claim_range=(-40, -20), claim_label=label)
    text = by_gid(fig, "claim_label")[0]
    assert "\n" in text.get_text()
    assert " ".join(text.get_text().split()) == label
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    box = text.get_window_extent(renderer)
    panel = fig.axes[0].get_window_extent(renderer)
    assert panel.x0 - 1 <= box.x0 and box.x1 <= panel.x1 + 1
    # and it does not reach the title / beyond the top of the figure
    assert box.y1 <= fig.bbox.y1


def test_no_text_overlaps_between_columns():
    fig = forest_plot(
        fake_rma(5),
        arms(5),
        measure_label="MD",
        claim_range=(-30, -15),
        claim_label="Claim",
        extra_columns={"Scale": "label"},
    )
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    ax = fig.axes[0]
    row_texts = [t for t in ax.texts if t.get_text() and t.get_position()[1] == 0]
    boxes = sorted((t.get_window_extent(r) for t in row_texts), key=lambda b: b.x0)
    for a, b in zip(boxes, boxes[1:], strict=False):
        assert a.x1 <= b.x0 + 0.5


def test_ratio_ticks_are_round_on_the_displayed_scale():
    res = fake_rma(
        3,
        yi=np.log([0.3, 0.6, 0.9]),
        vi=np.array([0.02, 0.03, 0.04]),
        estimate=np.log(0.6),
        ci_low=np.log(0.45),
        ci_high=np.log(0.8),
        pi_low=np.log(0.3),
        pi_high=np.log(1.2),
    )
    fig = forest_plot(res, measure_label="Reduction (%)", transform="percent_reduction")
    fig.canvas.draw()
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels() if t.get_text()]
    assert "0" in ticks and "50" in ticks
    assert all(t.lstrip("\N{MINUS SIGN}").isdigit() for t in ticks)


def test_huge_pooled_ci_with_k2_is_cut_not_stretching_the_axis():
    # HKSJ with k = 2 uses t(1): the pooled CI can be far wider than the studies
    res = fake_rma(
        2,
        yi=np.array([-5.0, -3.0]),
        vi=np.array([1.0, 1.0]),
        estimate=-4.0,
        ci_low=-60.0,
        ci_high=52.0,
        pi_low=math.nan,
        pi_high=math.nan,
    )
    fig = forest_plot(res, measure_label="MD")
    lo, hi = fig.axes[0].get_xlim()
    assert lo > -60 and hi < 52
    assert len(by_gid(fig, "clip_arrow")) == 2
    xs = by_gid(fig, "pooled_diamond")[0].get_xy()[:, 0]
    assert xs.min() >= lo - 1e-9 and xs.max() <= hi + 1e-9
    assert "[\N{MINUS SIGN}60.00, 52.00]" in all_text(fig)


def test_missing_extra_column_is_explained():
    with pytest.raises(ValueError, match="'instrument'"):
        forest_plot(fake_rma(2), arms(2), measure_label="MD", extra_columns={"Scale": "instrument"})


def test_figures_step_names_the_instrument_and_favours_on_ratio_scales():
    from ketamine_evidence.cli.figures import _direction, axis_label
    from ketamine_evidence.config import VocabularySettings
    from ketamine_evidence.wording import wording_for

    assert axis_label("MD", ["IES-R"]) == "Mean difference (IES-R points)"
    assert axis_label("SMD", ["PCL-5", "CAPS-5", None]) == (
        "Standardised mean difference (Hedges' g); CAPS-5, PCL-5")
    assert axis_label("RR", []) == "Risk ratio"
    # percent reduction (ROM) is drawn on the log scale: left of the line favours ketamine
    wording = wording_for({"intervention": "ketamine"})
    vocabulary = VocabularySettings.coerce({
        "drugs": ["ketamine"], "arm_pattern": "ketamine",
        "outcomes": {"ptsd_severity": {"scale": "continuous"},
                     "response": {"scale": "binary", "better": "higher"},
                     "dissociation": {"scale": "continuous", "harm": True}}})
    assert _direction("ptsd_severity", wording, vocabulary) == {
        "favours": ("ketamine", "control")}
    assert _direction("response", wording, vocabulary) == {"favours": ("control", "ketamine")}
    assert _direction("dissociation", wording, vocabulary) == {
        "favours": None, "direction_labels": ("Less with ketamine", "More with ketamine")}
