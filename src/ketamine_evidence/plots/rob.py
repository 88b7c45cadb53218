"""Risk-of-bias (RoB 2) traffic-light plot and summary bar chart, in the style of robvis."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ._common import FONT_SIZE, OKABE_ITO, SMALL_FONT_SIZE, TEXT_GREY, new_figure

DOMAINS = ("D1", "D2", "D3", "D4", "D5", "overall")
DOMAIN_NAMES = {
    "D1": "Bias arising from the randomisation process",
    "D2": "Bias due to deviations from intended interventions",
    "D3": "Bias due to missing outcome data",
    "D4": "Bias in measurement of the outcome",
    "D5": "Bias in selection of the reported result",
    "overall": "Overall risk of bias",
}
JUDGEMENTS = ("low", "some_concerns", "high", "no_information")
JUDGEMENT_LABELS = {
    "low": "Low",
    "some_concerns": "Some concerns",
    "high": "High",
    "no_information": "No information",
}
# colour-blind-safe (Okabe-Ito) with a redundant symbol, so the plot also reads in grey
JUDGEMENT_STYLE = {
    "low": (OKABE_ITO["bluish_green"], "+", "white"),
    "some_concerns": (OKABE_ITO["yellow"], "\N{MINUS SIGN}", "black"),
    "high": (OKABE_ITO["vermillion"], "\N{MULTIPLICATION SIGN}", "white"),
    "no_information": ("#bdbdbd", "?", "black"),
}
_ALIASES = {
    "low": "low",
    "low risk": "low",
    "+": "low",
    "some_concerns": "some_concerns",
    "some concerns": "some_concerns",
    "some": "some_concerns",
    "unclear": "some_concerns",
    "moderate": "some_concerns",
    "high": "high",
    "high risk": "high",
    "no_information": "no_information",
    "no information": "no_information",
    "ni": "no_information",
}


def _norm_judgement(value: object, where: str) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "no_information"
    key = str(value).strip().lower().replace("-", " ")
    if key in _ALIASES:
        return _ALIASES[key]
    if key.replace(" ", "_") in _ALIASES:
        return _ALIASES[key.replace(" ", "_")]
    raise ValueError(
        f"risk of bias {where}: judgement {value!r} is not one of low, some_concerns, high"
    )


def _norm_domain(value: object) -> str:
    key = str(value).strip()
    return "overall" if key.lower() == "overall" else key.upper()


def rob_matrix(rob: pd.DataFrame, study_labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Study x domain table of normalised judgements (rows in order of first appearance).

    When a study has several ``outcome`` rows the row label becomes "study: outcome".
    """
    missing = {"study_id", "domain", "judgement"} - set(rob.columns)
    if missing:
        raise ValueError(f"risk-of-bias table lacks column(s) {sorted(missing)}")
    df = rob.copy()
    df["domain"] = df["domain"].map(_norm_domain)
    bad = sorted(set(df["domain"]) - set(DOMAINS))
    if bad:
        raise ValueError(f"risk-of-bias table has unknown domain(s) {bad}; use D1..D5 and overall")
    labels = study_labels or {}
    df["row"] = df["study_id"].map(lambda s: labels.get(s, s))
    if "outcome" in df.columns:
        n_out = df.groupby("study_id")["outcome"].nunique()
        multi = df["study_id"].map(n_out) > 1
        df.loc[multi, "row"] = df.loc[multi, "row"] + ": " + df.loc[multi, "outcome"].astype(str)
    df["judgement"] = [
        _norm_judgement(j, f"row for {s} {d}")
        for j, s, d in zip(df["judgement"], df["study_id"], df["domain"], strict=True)
    ]
    dup = df.duplicated(["row", "domain"])
    if dup.any():
        first = df.loc[dup, ["row", "domain"]].iloc[0]
        raise ValueError(
            f"risk-of-bias table has two judgements for {first['row']} {first['domain']}"
        )
    order = list(dict.fromkeys(df["row"]))
    return (
        df.pivot(index="row", columns="domain", values="judgement")
        .reindex(index=order, columns=list(DOMAINS))
        .fillna("no_information")
    )


def _traffic_light(ax: Axes, mat: pd.DataFrame) -> None:
    n = len(mat)
    for j, dom in enumerate(DOMAINS):
        for i, study in enumerate(mat.index):
            colour, symbol, fg = JUDGEMENT_STYLE[mat.loc[study, dom]]
            ax.scatter(
                [j],
                [i],
                s=260,
                color=colour,
                edgecolors="#404040",
                linewidths=0.6,
                zorder=2,
                gid=f"rob_{mat.loc[study, dom]}",
            )
            ax.text(
                j,
                i,
                symbol,
                ha="center",
                va="center_baseline",
                fontsize=FONT_SIZE + 2,
                fontweight="bold",
                color=fg,
                zorder=3,
            )
    ax.set_xlim(-0.6, len(DOMAINS) - 0.4)
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_xticks(range(len(DOMAINS)), [d if d != "overall" else "Overall" for d in DOMAINS])
    ax.set_yticks(range(n), list(mat.index))
    ax.xaxis.tick_top()
    ax.tick_params(length=0, labelsize=FONT_SIZE)
    ax.axvline(len(DOMAINS) - 1.5, color="#bdbdbd", lw=0.8, zorder=0)
    for i in range(n):
        ax.axhline(i, color="#eeeeee", lw=0.6, zorder=0)
    for sp in ax.spines.values():
        sp.set_visible(False)


def _summary_bars(ax: Axes, mat: pd.DataFrame) -> None:
    n = len(mat)
    doms = list(DOMAINS)[::-1]  # overall at the bottom
    for y, dom in enumerate(doms):
        left = 0.0
        for j in JUDGEMENTS:
            share = 100.0 * float((mat[dom] == j).sum()) / n if n else 0.0
            if share <= 0:
                continue
            colour, symbol, fg = JUDGEMENT_STYLE[j]
            ax.barh(
                y,
                share,
                left=left,
                color=colour,
                edgecolor="white",
                lw=0.8,
                height=0.7,
                gid=f"rob_bar_{j}",
            )
            if share >= 12:
                ax.text(
                    left + share / 2,
                    y,
                    f"{share:.0f}%",
                    ha="center",
                    va="center",
                    fontsize=SMALL_FONT_SIZE,
                    color=fg,
                )
            left += share
    ax.set_yticks(range(len(doms)), [d if d != "overall" else "Overall" for d in doms])
    ax.set_xlim(0, 100)
    ax.set_xticks([0, 25, 50, 75, 100], ["0%", "25%", "50%", "75%", "100%"])
    ax.tick_params(labelsize=FONT_SIZE, length=2)
    ax.set_xlabel(f"Share of studies (n = {n}, unweighted)", fontsize=SMALL_FONT_SIZE)
    for sp in ("top", "right", "left"):
        ax.spines[sp].set_visible(False)


def rob_summary(
    rob: pd.DataFrame,
    *,
    summary: bool = True,
    study_labels: Mapping[str, str] | None = None,
    title: str | None = None,
    ax: Axes | None = None,
    summary_ax: Axes | None = None,
) -> Figure:
    """RoB 2 traffic-light plot (study x D1-D5 + overall) and, optionally, a summary bar chart.

    Judgements are coloured (Okabe-Ito green / yellow / vermillion) and marked with a symbol
    (+ low, − some concerns, × high, ? missing) so the plot also reads in greyscale.

    Parameters
    ----------
    rob : DataFrame
        Long table with ``study_id``, ``domain`` (``D1``..``D5``, ``overall``) and
        ``judgement`` (``low``, ``some_concerns``, ``high``; "Some concerns" etc. accepted);
        optional ``outcome`` (a study assessed for several outcomes gets one row each).
        Missing study-domain cells show as "no information".
    summary : bool
        Also draw the robvis summary: per domain, the share of studies at each judgement.
    study_labels : mapping study_id -> label, optional
    ax, summary_ax : Axes, optional
        Where to draw the traffic lights and the bars. With ``ax`` given, the bars are drawn
        only into ``summary_ax``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    mat = rob_matrix(rob, study_labels)
    n = len(mat)
    if ax is None:
        height = max(2.4, 0.32 * n + 1.7)
        fig = new_figure(7.2, height)
        label_w = max((len(s) for s in mat.index), default=8) * 0.075 + 0.2
        bottom = 1.25 / height
        top = 1 - (0.35 + (0.3 if title else 0)) / height
        tl_left = label_w / 7.2
        tl_width = 0.34 * 6 / 7.2 * 1.6 if summary else 0.5
        ax = fig.add_axes((tl_left, bottom, min(tl_width, 0.42), top - bottom))
        if summary:
            summary_ax = fig.add_axes((0.7, bottom, 0.27, min(top - bottom, 0.32 * 6 / height)))
        fig.text(
            0.01,
            0.02,
            "\n".join(f"{d}: {DOMAIN_NAMES[d]}" for d in DOMAINS[:5]),
            fontsize=SMALL_FONT_SIZE,
            color=TEXT_GREY,
            va="bottom",
            gid="rob_domains",
        )
        if title:
            fig.text(
                0.01, 1 - 0.08 / height, title, fontsize=FONT_SIZE + 1, fontweight="bold", va="top"
            )
    fig = ax.figure
    _traffic_light(ax, mat)
    if summary and summary_ax is not None:
        _summary_bars(summary_ax, mat)
    handles = [
        Line2D(
            [],
            [],
            ls="none",
            marker="o",
            ms=9,
            mfc=JUDGEMENT_STYLE[j][0],
            mec="#404040",
            label=f"{JUDGEMENT_STYLE[j][1]}  {JUDGEMENT_LABELS[j]}",
        )
        for j in JUDGEMENTS
        if j != "no_information" or (mat == j).any().any()
    ]
    fig.legend(
        handles=handles,
        loc="lower right",
        bbox_to_anchor=(0.99, 0.01),
        fontsize=SMALL_FONT_SIZE,
        frameon=False,
        ncol=1,
        title="Judgement",
        title_fontsize=SMALL_FONT_SIZE,
    )
    return fig
