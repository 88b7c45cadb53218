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
    assert "Author 2010" in text and "Mean (SD)" in text and "Ketamine" in text
    assert "Random-effects model" in text and "95% prediction interval" in text
    assert "\N{MINUS SIGN}5.62 [\N{MINUS SIGN}10.06, \N{MINUS SIGN}1.18]" in text
    assert "100.0%" in text
    assert by_gid(fig, "favours_left")[0].get_text().endswith("Favours ketamine")


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
    text = all_text(fig)
    assert "Events/N" in text and "3/10" in text and "2/12" in text


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
