"""Risk-of-bias (RoB 2) traffic-light plot and summary bar chart, in the style of robvis."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ketamine_evidence.types import ROB_DOMAINS, ROB_JUDGEMENTS

from ._common import FONT_SIZE, OKABE_ITO, SMALL_FONT_SIZE, TEXT_GREY, new_figure
from ._table import text_width_in

DOMAINS = ROB_DOMAINS
DOMAIN_NAMES = {
    "D1": "Bias arising from the randomisation process",
    "D2": "Bias due to deviations from intended interventions",
    "D3": "Bias due to missing outcome data",
    "D4": "Bias in measurement of the outcome",
    "D5": "Bias in selection of the reported result",
    "overall": "Overall risk of bias",
}
JUDGEMENTS = (*ROB_JUDGEMENTS, "no_information")
JUDGEMENT_LABELS = {
    "low": "Low",
    "some_concerns": "Some concerns",
    "high": "High",
    "no_information": "No information",
}
# robvis conventions (McGuinness & Higgins 2021): one symbol per judgement, used by the figure
# and by the report's table legend alike, so the plot also reads in greyscale.
JUDGEMENT_SYMBOLS = {
    "low": "+",
    "some_concerns": "\N{MINUS SIGN}",
    "high": "\N{MULTIPLICATION SIGN}",
    "no_information": "?",
}
# colour-blind-safe (Okabe-Ito) fill, symbol from JUDGEMENT_SYMBOLS, symbol colour
JUDGEMENT_STYLE = {
    "low": (OKABE_ITO["bluish_green"], JUDGEMENT_SYMBOLS["low"], "white"),
    "some_concerns": (OKABE_ITO["yellow"], JUDGEMENT_SYMBOLS["some_concerns"], "black"),
    "high": (OKABE_ITO["vermillion"], JUDGEMENT_SYMBOLS["high"], "white"),
    "no_information": ("#bdbdbd", JUDGEMENT_SYMBOLS["no_information"], "black"),
}


def symbol_legend() -> str:
    """The symbol key in words, e.g. "+ low, − some concerns, × high, ? no information"."""
    return ", ".join(f"{JUDGEMENT_SYMBOLS[j]} {JUDGEMENT_LABELS[j].lower()}" for j in JUDGEMENTS)


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


_SEVERITY = {"low": 0, "no_information": 1, "some_concerns": 2, "high": 3}


def study_judgements(rob: pd.DataFrame) -> dict[str, dict[str, str]]:
    """study_id -> {domain: judgement} (normalised, D1..D5 and ``overall``).

    A study assessed for several outcomes gets, per domain, its most severe judgement
    (high > some concerns > no information > low), so a one-column summary never looks
    better than any of its assessments.
    """
    missing = {"study_id", "domain", "judgement"} - set(rob.columns)
    if missing:
        raise ValueError(f"risk-of-bias table lacks column(s) {sorted(missing)}")
    out: dict[str, dict[str, str]] = {}
    for sid, dom, j in zip(rob["study_id"], rob["domain"], rob["judgement"], strict=True):
        d = _norm_domain(dom)
        jj = _norm_judgement(j, f"row for {sid} {d}")
        cur = out.setdefault(str(sid), {}).get(d)
        if cur is None or _SEVERITY[jj] > _SEVERITY[cur]:
            out[str(sid)][d] = jj
    return out


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


# Layout in inches, measured from the text itself (labels of any length never overlap the
# traffic lights, the summary bars or the legends).
MARGIN_IN = 0.1
CELL_IN = 0.42  # width of one domain column of traffic lights
ROW_IN = 0.32  # height of one study row
BAR_ROW_IN = 0.3  # height of one domain bar in the summary
BAR_WIDTH_IN = 2.6
GAP_IN = 0.4  # between the traffic lights and the summary's domain labels
TICK_PAD_IN = 0.12  # tick label to axis
HEADER_IN = 0.35  # domain names above the traffic lights
SUMMARY_AXIS_IN = 0.6  # percent ticks and axis label under the bars
LINE_IN = SMALL_FONT_SIZE * 1.35 / 72  # one line of small text
LEGEND_IN = 1.45  # width of the judgement legend (marker, symbol, longest label)


def _domain_key() -> str:
    return "\n".join(f"{d}: {DOMAIN_NAMES[d]}" for d in DOMAINS[:5])


def _layout(mat: pd.DataFrame, *, summary: bool, title: str | None):
    """Create the figure and its axes with every width measured, in inches."""
    n = max(len(mat), 1)
    label_w = max((text_width_in(s, FONT_SIZE) for s in mat.index), default=0.5) + TICK_PAD_IN
    tl_w = CELL_IN * len(DOMAINS)
    sum_label_w = max(text_width_in(d, FONT_SIZE) for d in ("D1", "Overall")) + TICK_PAD_IN
    title_h = 0.3 if title else 0.0
    tl_h = ROW_IN * n
    sum_h = BAR_ROW_IN * len(DOMAINS) if summary else 0.0
    body_h = max(tl_h, sum_h + SUMMARY_AXIS_IN if summary else 0.0)
    key = _domain_key()
    key_w = text_width_in(key, SMALL_FONT_SIZE)
    n_legend = len(JUDGEMENTS) + 1  # title + entries
    footer_h = max(5, n_legend) * LINE_IN + 0.25
    width = MARGIN_IN + label_w + tl_w + MARGIN_IN
    if summary:
        # the "100%" tick label overhangs the bars' right end by half its width
        width += GAP_IN + sum_label_w + BAR_WIDTH_IN + text_width_in("100%", FONT_SIZE) / 2
    width = max(width, MARGIN_IN + key_w + 0.3 + LEGEND_IN + MARGIN_IN)
    height = MARGIN_IN + title_h + HEADER_IN + body_h + footer_h + MARGIN_IN
    fig = new_figure(width, height)

    def box(x: float, y_top: float, w: float, h: float) -> tuple[float, float, float, float]:
        return (x / width, 1 - (y_top + h) / height, w / width, h / height)

    top = MARGIN_IN + title_h + HEADER_IN
    ax = fig.add_axes(box(MARGIN_IN + label_w, top, tl_w, tl_h))
    summary_ax = None
    if summary:
        x = MARGIN_IN + label_w + tl_w + GAP_IN + sum_label_w
        summary_ax = fig.add_axes(box(x, top, BAR_WIDTH_IN, sum_h))
    fig.text(
        MARGIN_IN / width,
        MARGIN_IN / height,
        key,
        fontsize=SMALL_FONT_SIZE,
        color=TEXT_GREY,
        va="bottom",
        gid="rob_domains",
    )
    if title:
        fig.text(
            MARGIN_IN / width,
            1 - MARGIN_IN / height,
            title,
            fontsize=FONT_SIZE + 1,
            fontweight="bold",
            va="top",
        )
    return fig, ax, summary_ax


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
    (robvis: + low, − some concerns, × high, ? no information) so the plot also reads in greyscale.

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
    if ax is None:
        fig, ax, summary_ax = _layout(mat, summary=summary, title=title)
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
        bbox_to_anchor=(1 - MARGIN_IN / fig.get_figwidth(), MARGIN_IN / fig.get_figheight()),
        fontsize=SMALL_FONT_SIZE,
        frameon=False,
        ncol=1,
        title="Judgement",
        title_fontsize=SMALL_FONT_SIZE,
    )
    return fig
