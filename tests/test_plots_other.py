"""Funnel plot, PRISMA flow diagram, RoB 2 summary and save_figure."""

from __future__ import annotations

import itertools
import math
import warnings
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from ketamine_evidence.plots import (
    forest_plot,
    funnel_plot,
    prisma_boxes,
    prisma_flow,
    rob_matrix,
    rob_summary,
    save_figure,
)


def by_gid(fig: Figure, gid: str) -> list:
    return fig.findobj(lambda a: a.get_gid() == gid)


def all_text(fig: Figure) -> str:
    return "\n".join(t.get_text() for t in fig.findobj(matplotlib.text.Text))


def flat_text(fig: Figure) -> str:
    """All text with wrapping undone (line breaks, indents, no-break spaces -> one space)."""
    return " ".join(all_text(fig).replace("\N{NO-BREAK SPACE}", " ").split())


# ------------------------------------------------------------------------------ funnel
def test_funnel_points_contour_filled_and_egger():
    res = SimpleNamespace(
        yi=np.array([-0.9, -0.5, -1.2, -0.2]), vi=np.array([0.05, 0.08, 0.2, 0.03]), estimate=-0.6
    )
    tf = SimpleNamespace(
        k0=2,
        side="right",
        yi=np.r_[res.yi, 0.1, 0.3],
        vi=np.r_[res.vi, 0.2, 0.05],
        filled=np.r_[[False] * 4, [True] * 2],
        result=SimpleNamespace(estimate=-0.45),
    )
    eg = SimpleNamespace(statistic=-2.35, pvalue=0.066, df=2.0, test="knha")
    fig = funnel_plot(res, regtest=eg, trimfill=tf, measure_label="SMD")
    assert len(by_gid(fig, "funnel_studies")[0].get_offsets()) == 4
    filled = by_gid(fig, "filled_studies")[0]
    assert len(filled.get_offsets()) == 2
    assert np.allclose(filled.get_facecolors()[0][:3], 1.0)  # hollow
    assert by_gid(fig, "funnel_contour") and by_gid(fig, "adjusted_line")
    notes = by_gid(fig, "funnel_notes")[0].get_text()
    assert "Egger's test: t(2) = \N{MINUS SIGN}2.35, p = 0.066" in notes
    assert "2 imputed (right side)" in notes
    ax = fig.axes[0]
    assert ax.get_ylim()[0] > ax.get_ylim()[1]  # inverted: precise studies at the top


def test_funnel_without_extras():
    res = SimpleNamespace(yi=[0.1, 0.2], vi=[0.01, 0.02], estimate=0.15)
    fig = funnel_plot(res)
    assert by_gid(fig, "filled_studies") == [] and by_gid(fig, "funnel_notes") == []


def test_funnel_with_real_meta():
    meta = pytest.importorskip("ketamine_evidence.meta")
    yi = [-0.9, -0.5, -1.2, -0.2, -0.4, -0.7, -1.5]
    vi = [0.05, 0.08, 0.2, 0.03, 0.1, 0.06, 0.3]
    fig = funnel_plot(
        meta.rma(yi, vi), regtest=meta.regtest(yi, vi), trimfill=meta.trimfill(yi, vi)
    )
    assert "Egger's test" in all_text(fig)


# ------------------------------------------------------------------------------ PRISMA
FULL_COUNTS = {
    "identification": {
        "databases": {"pubmed": 312, "ctgov": 41},
        "other_methods": {"known_reports": 18},
    },
    "duplicates_removed": 27,
    "records_screened": 344,
    "records_excluded": 290,
    "reports_sought": 54,
    "reports_not_retrieved": 3,
    "reports_assessed": 51,
    "reports_excluded": {"wrong_design": 12, "review": 9},
    "studies_included": 8,
    "reports_included": 13,
    "notes": ["Snapshot of 2026-11-27."],
}


def test_prisma_full_counts():
    fig = prisma_flow(FULL_COUNTS)
    text = flat_text(fig)
    for s in (
        "PubMed (n = 312)",
        "ClinicalTrials.gov (n = 41)",
        "(n = 27)",
        "(n = 344)",
        "(n = 290)",
        "(n = 54)",
        "(n = 3)",
        "(n = 51)",
        "Wrong study design (n = 12)",
        "Review (n = 9)",
        "(n = 8)",
        "(n = 13)",
        "(n = 18)",
        "Snapshot of 2026-11-27.",
    ):
        assert s in text, s
    assert "Registers: ClinicalTrials.gov" in text
    assert len(by_gid(fig, "prisma_header")) == 2
    assert len(by_gid(fig, "prisma_phase")) == 3
    assert len(by_gid(fig, "prisma_box")) == 10
    assert len(by_gid(fig, "prisma_arrow")) >= 8


def test_prisma_missing_keys_and_not_run():
    fig = prisma_flow({"identification": {"databases": {"pubmed": 5, "ctgov": None}}})
    text = flat_text(fig)
    assert "(not run)" in text
    assert "Records screened (n = n/a)" in text
    assert "Reports excluded (n = n/a)" in text


def test_prisma_empty_dict_does_not_crash():
    assert isinstance(prisma_flow({}), Figure)


def test_prisma_other_methods_with_own_stages():
    counts = dict(FULL_COUNTS)
    counts["identification"] = {
        "databases": {"pubmed": 1},
        "other_methods": {
            "known_reports": 18,
            "reports_sought": 18,
            "reports_not_retrieved": 0,
            "reports_assessed": 18,
            "reports_excluded": {"review": 10},
        },
    }
    boxes = prisma_boxes(counts)
    assert boxes["other_stages"]["assessed"].endswith("(n = 18)")
    fig = prisma_flow(counts)
    assert len(by_gid(fig, "prisma_box")) == 14


# ------------------------------------------------------------------------------ RoB 2
def rob_frame() -> pd.DataFrame:
    rows = []
    for study, judg in (
        ("a2014", ["low"] * 5 + ["low"]),
        ("b2020", ["low", "some_concerns", "low", "high", "low", "high"]),
        ("c2022", ["Some concerns"] * 5 + ["some concerns"]),
    ):
        for dom, j in zip(["D1", "D2", "D3", "D4", "D5", "overall"], judg, strict=True):
            rows.append({"study_id": study, "domain": dom, "judgement": j})
    return pd.DataFrame(rows)


def test_rob_traffic_light_and_summary():
    fig = rob_summary(rob_frame(), study_labels={"a2014": "Author 2014"})
    n_points = sum(
        len(c.get_offsets())
        for g in ("rob_low", "rob_some_concerns", "rob_high")
        for c in by_gid(fig, g)
    )
    assert n_points == 18
    assert len(by_gid(fig, "rob_high")) == 2
    text = all_text(fig)
    assert "Author 2014" in text and "Overall" in text and "\N{MULTIPLICATION SIGN}" in text
    assert by_gid(fig, "rob_bar_low")  # summary bar chart present
    assert len(fig.axes) == 2


def test_rob_without_summary_and_missing_cell():
    rob = rob_frame().iloc[:-1]  # c2022 overall missing
    mat = rob_matrix(rob)
    assert mat.loc["c2022", "overall"] == "no_information"
    fig = rob_summary(rob, summary=False)
    assert len(fig.axes) == 1
    assert by_gid(fig, "rob_no_information")


def test_rob_bad_judgement_is_explained():
    rob = rob_frame()
    rob.loc[0, "judgement"] = "probably fine"
    with pytest.raises(ValueError, match="a2014 D1"):
        rob_summary(rob)


def test_rob_several_outcomes_get_separate_rows():
    rob = pd.concat([rob_frame().assign(outcome="CAPS-5"), rob_frame().assign(outcome="MADRS")])
    assert "a2014: MADRS" in rob_matrix(rob).index


def _extent(fig: Figure, artist) -> matplotlib.transforms.Bbox:
    return artist.get_window_extent(fig.canvas.get_renderer())


@pytest.mark.parametrize("label", ["A", "Pradhan 2018 (incl. Pradhan 2017 pilot, both reports) extra"])
def test_rob_layout_from_measured_widths(label):
    """A long study label pushes the panels apart instead of letting the summary bars cover the
    D5 and Overall traffic lights; nothing runs off the figure or into the legends."""
    fig = rob_summary(rob_frame(), study_labels={"b2020": label})
    renderer = fig.canvas.get_renderer()
    lights, bars = fig.axes
    last_light = max(
        (c.get_window_extent(renderer) for g in ("rob_low", "rob_high", "rob_some_concerns")
         for c in by_gid(fig, g)), key=lambda b: b.x1).x1
    assert last_light < bars.get_tightbbox(renderer).x0  # D5/Overall markers stay visible
    assert lights.get_tightbbox(renderer).x1 <= bars.get_tightbbox(renderer).x0
    page = fig.bbox
    for ax in fig.axes:
        tight = ax.get_tightbbox(renderer)
        assert page.x0 <= tight.x0 and tight.x1 <= page.x1 + 0.5
        assert page.y0 <= tight.y0 and tight.y1 <= page.y1 + 0.5
    key = _extent(fig, by_gid(fig, "rob_domains")[0])
    legend = _extent(fig, fig.legends[0])
    assert key.x1 < legend.x0
    for ax in fig.axes:
        assert not ax.get_tightbbox(renderer).overlaps(key)
        assert not ax.get_tightbbox(renderer).overlaps(legend)


def test_rob_symbols_follow_robvis():
    """One symbol set (robvis): + low, − some concerns, × high, ? no information."""
    from ketamine_evidence.plots.rob import JUDGEMENT_SYMBOLS, symbol_legend

    assert JUDGEMENT_SYMBOLS == {"low": "+", "some_concerns": "\N{MINUS SIGN}",
                                 "high": "\N{MULTIPLICATION SIGN}", "no_information": "?"}
    assert symbol_legend() == ("+ low, \N{MINUS SIGN} some concerns, "
                               "\N{MULTIPLICATION SIGN} high, ? no information")
    rob = rob_frame()
    rob.loc[rob["study_id"] == "c2022", "judgement"] = "no information"
    fig = rob_summary(rob)
    texts = [t.get_text() for t in fig.findobj(matplotlib.text.Text)]
    assert texts.count("\N{MINUS SIGN}") == 1  # b2020 D2 only
    assert texts.count("\N{MULTIPLICATION SIGN}") == 2
    assert texts.count("?") == 6

# ------------------------------------------------------------------------------ saving
def test_save_figure_writes_png_and_svg(tmp_path):
    res = SimpleNamespace(
        k=2,
        method="REML",
        test="knha",
        level=0.95,
        estimate=0.1,
        statistic=1.0,
        df=1,
        pvalue=0.5,
        ci_low=-0.2,
        ci_high=0.4,
        pi_low=math.nan,
        pi_high=math.nan,
        tau2=0.0,
        i2=0.0,
        q=0.5,
        q_df=1,
        q_pvalue=0.48,
        weights=np.array([50.0, 50.0]),
        yi=np.array([0.0, 0.2]),
        vi=np.array([0.04, 0.04]),
        study=["a", "b"],
    )
    fig = forest_plot(res, measure_label="MD")
    paths = save_figure(fig, tmp_path / "sub" / "forest")
    assert [p.name for p in paths] == ["forest.png", "forest.svg"]
    assert all(p.stat().st_size > 1000 for p in paths)
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = paths[1].read_text()
    assert "<svg" in svg
    # reproducible output: saving again gives the same SVG
    save_figure(fig, tmp_path / "again", formats=("svg",))
    assert (tmp_path / "again.svg").read_text() == svg


def test_forest_with_real_rma():
    meta = pytest.importorskip("ketamine_evidence.meta")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = meta.rma([-0.9, -0.5, -1.2], [0.05, 0.08, 0.2], study=["A", "B", "C"])
        one = meta.rma([0.4], [0.09], study=["A"])
    fig = forest_plot(res, measure_label="SMD")
    assert len(by_gid(fig, "study_squares")[0].get_offsets()) == 3
    assert f"Q = {res.q:.2f}" in by_gid(fig, "heterogeneity")[0].get_text()
    fig = forest_plot(one, measure_label="SMD")
    assert by_gid(fig, "prediction_interval") == []


def test_prisma_from_the_prisma_module_json():
    """The real prisma.json layout: two columns of stages, database search not run."""
    prisma = {
        "database_search": {"status": "not_run", "note": "No database search has been run.",
                            "per_source": {"pubmed": "not_run", "ctgov": "not_run"}},
        "identification": {"databases": {"PubMed": 0, "ClinicalTrials.gov": 0},
                           "other_methods": {"known_reports": 59}},
        "databases_and_registers": {"duplicates_removed": 0, "records_screened": 0,
                                    "records_excluded": 0, "reports_sought": 0,
                                    "reports_not_retrieved": 0, "reports_assessed": 0,
                                    "reports_excluded": 0, "reports_excluded_reasons": {}},
        "other_methods": {"reports_sought": 59, "reports_not_retrieved": 0,
                          "reports_assessed": 59, "reports_excluded": 39,
                          "reports_excluded_reasons": {"wrong_design": 20, "review": 10,
                                                       "ongoing_no_results": 8, "other": 1}},
        "included": {"studies": 6, "reports": 20},
    }
    boxes = prisma_boxes(prisma)
    assert "PubMed (n = not run)" in boxes["identified"]
    assert "ClinicalTrials.gov (n = not run)" in boxes["identified"]
    assert "Reports known to the reviewers (n = 59)" in boxes["other_identified"]
    assert "(n = 6)" in boxes["included"] and "(n = 20)" in boxes["included"]
    assert "Wrong study design (n = 20)" in boxes["other_stages"]["assessed_excluded"]
    assert boxes["notes"] == ["No database search has been run."]
    assert isinstance(prisma_flow(prisma), Figure)


def test_prisma_says_when_full_texts_were_not_retrieved():
    """Only abstracts read: the 'Reports not retrieved' box must not read as if every full
    text had been retrieved."""
    counts = {"identification": {"databases": {"pubmed": 10},
                                 "other_methods": {"known_reports": 5}},
              "reports_sought": 15, "reports_not_retrieved": 0, "studies_included": 6}
    assert "Full texts not retrieved" not in flat_text(prisma_flow(counts))
    text = flat_text(prisma_flow(counts, abstract_only=6))
    assert ("Reports not retrieved (n = 0) Full texts not retrieved: 6 included studies read "
            "in abstracts or registry records only") in text


def test_prisma_ongoing_and_awaiting_classification_are_not_exclusions():
    """PRISMA 2020: ongoing studies and studies awaiting classification have boxes of their
    own beside the flow, not a line among the reasons for exclusion."""
    zero = {"duplicates_removed": 0, "records_screened": 0, "records_excluded": 0,
            "reports_sought": 0, "reports_not_retrieved": 0, "reports_assessed": 0,
            "reports_excluded": 0, "reports_excluded_reasons": {}, "reports_ongoing": 0,
            "reports_awaiting_classification": 0, "reports_included": 0}
    prisma = {
        "database_search": {"status": "complete", "per_source": {}},
        "identification": {"databases": {"PubMed": 3}, "other_methods": {"known_reports": 71}},
        "databases_and_registers": {**zero, "reports_ongoing": 2},
        "other_methods": {**zero, "reports_sought": 71, "reports_assessed": 71,
                          "reports_excluded": 33,
                          "reports_excluded_reasons": {"wrong_design": 22, "review": 10,
                                                       "other": 1},
                          "reports_ongoing": 8, "reports_awaiting_classification": 10,
                          "reports_included": 20},
        "included": {"studies": 6, "reports": 20},
    }
    boxes = prisma_boxes(prisma)
    excluded = boxes["other_stages"]["assessed_excluded"]
    assert "Ongoing" not in excluded and "Awaiting" not in excluded
    assert boxes["other_stages"]["apart"] == ("Reports of studies ongoing (n = 8)\nReports of "
                                              "studies awaiting classification (n = 10)")
    assert boxes["apart"].startswith("Reports of studies ongoing (n = 2)")
    fig = prisma_flow(prisma)
    text = flat_text(fig)
    assert "Reports of studies ongoing (n = 8) Reports of studies awaiting classification" in text
    boxes_drawn = by_gid(fig, "prisma_box")
    assert len(boxes_drawn) == 16  # 14 with own other-methods stages, + one per column
    # no box overlaps another, and each branch box sits between eligibility and inclusion
    extents = [p.get_bbox() for p in boxes_drawn]
    for a, b in itertools.combinations(extents, 2):
        assert a.x1 <= b.x0 or b.x1 <= a.x0 or a.y1 <= b.y0 or b.y1 <= a.y0
    assert len(by_gid(fig, "prisma_arrow")) >= 10


def test_prisma_without_ongoing_keys_draws_no_extra_box():
    assert prisma_boxes(FULL_COUNTS)["apart"] is None
    assert len(by_gid(prisma_flow(FULL_COUNTS), "prisma_box")) == 10
