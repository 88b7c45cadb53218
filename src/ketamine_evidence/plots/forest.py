"""Forest plots: the classic study-level forest, cumulative and leave-one-out forests.

All numbers come from the analysis objects passed in (``meta.rma`` results, ``meta.cumul`` /
``meta.leave1out`` frames); the plots only lay them out. See ``ketamine_evidence.meta``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Polygon, Rectangle
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator
from matplotlib.transforms import blended_transform_factory

from ._common import (
    CLAIM_COLOUR,
    FONT_SIZE,
    GRID_GREY,
    METHOD_NAMES,
    PI_COLOUR,
    POOLED_COLOUR,
    SMALL_FONT_SIZE,
    STUDY_COLOUR,
    TEST_NAMES,
    TEXT_GREY,
    ScaleTransform,
    as_float,
    fmt_ci,
    fmt_num,
    fmt_p,
    get,
    is_finite,
    resolve_transform,
)
from ._table import Column, ForestGrid, text_width_in, wrap_text
from .rob import DOMAINS, JUDGEMENT_STYLE, study_judgements

SQUARE_MIN_PT2 = 14.0
SQUARE_MAX_PT2 = 110.0
DIAMOND_HALF_HEIGHT = 0.34
ARROW_SIZE = 5.0


# --------------------------------------------------------------------------------------------
# small pieces shared by the three forest plots
# --------------------------------------------------------------------------------------------
def _level_label(level: Any) -> str:
    lv = as_float(level)
    if not math.isfinite(lv):
        lv = 0.95
    if lv > 1:
        lv = lv / 100.0
    pct = lv * 100
    return f"{pct:.0f}%" if abs(pct - round(pct)) < 1e-9 else f"{pct:g}%"


def _auto_xlim(
    core: Sequence[float], full: Sequence[float], widen: float = 0.75
) -> tuple[float, float]:
    """Axis limits covering the ``core`` values (estimates, pooled CI/PI, reference, claim) and
    as much of the ``full`` values (study CIs) as fits within ``widen`` x the core span on each
    side; whiskers beyond are clipped with arrows."""
    core_f = [v for v in core if math.isfinite(v)]
    full_f = [v for v in full if math.isfinite(v)] + core_f
    if not full_f:
        return -1.0, 1.0
    if not core_f:
        core_f = full_f
    lo_c, hi_c = min(core_f), max(core_f)
    span = hi_c - lo_c
    if span <= 0:
        span = max(abs(lo_c), 1.0) * 0.5
        lo_c, hi_c = lo_c - span / 2, hi_c + span / 2
    lo = max(min(full_f), lo_c - widen * span)
    hi = min(max(full_f), hi_c + widen * span)
    pad = 0.04 * (hi - lo)
    return lo - pad, hi + pad


_NICE_RATIOS = (
    0.01,
    0.02,
    0.05,
    0.1,
    0.2,
    0.25,
    0.33,
    0.5,
    0.67,
    0.8,
    1.0,
    1.25,
    1.5,
    2.0,
    3.0,
    4.0,
    5.0,
    10.0,
    20.0,
    50.0,
    100.0,
)


_LOG_SCALES = {"exp", "percent_reduction", "percent_change"}


def _tick_label(v: float) -> str:
    if abs(v) >= 100 or float(v).is_integer():
        s = f"{v:.0f}"
    elif abs(v) >= 1:
        s = f"{v:.1f}".rstrip("0").rstrip(".")
    else:
        s = f"{v:.2g}"
    return s.replace("-", "\N{MINUS SIGN}")


def _thin_ticks(
    pairs: list[tuple[float, float]], min_gap: float, anchor: float
) -> list[tuple[float, float]]:
    """Keep ticks at least ``min_gap`` apart on the axis, walking outwards from ``anchor`` (the
    no-effect value), so a non-linear transform does not crowd the labels on one side."""
    if not pairs:
        return pairs
    start = min(range(len(pairs)), key=lambda i: abs(pairs[i][0] - anchor))
    keep = [pairs[start]]
    for step in (1, -1):
        last = pairs[start][0]
        i = start + step
        while 0 <= i < len(pairs):
            if abs(pairs[i][0] - last) >= min_gap:
                keep.append(pairs[i])
                last = pairs[i][0]
            i += step
    return sorted(keep)


def _set_ticks(ax: Axes, tr: ScaleTransform, xlim: tuple[float, float]) -> None:
    """Ticks at round *displayed* values when the transform can be inverted."""
    lo, hi = xlim
    if tr.name == "identity":
        ax.xaxis.set_major_locator(MaxNLocator(nbins=6))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: _tick_label(v)))
        return
    if tr.inverse is None:
        ax.xaxis.set_major_locator(MaxNLocator(nbins=6))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: _tick_label(float(tr(v)))))
        return
    dlo, dhi = tr.interval(lo, hi)
    if tr.name in _LOG_SCALES:
        # ratio scales: ticks at round ratios (0.5, 0.8, 1, 1.25, 2 ...), shown as ratios or
        # as the percent change/reduction they stand for (50, 20, 0, -25, -100 ...)
        disp = [float(tr(np.log(r))) for r in _NICE_RATIOS]
        disp = [d for d in disp if dlo <= d <= dhi]
    else:
        disp = list(MaxNLocator(nbins=14, steps=[1, 2, 2.5, 5, 10]).tick_values(dlo, dhi))
    with np.errstate(divide="ignore", invalid="ignore"):
        pos = [float(tr.inverse(np.asarray(d, dtype=float))) for d in disp]
    pairs = sorted(
        (p, d) for p, d in zip(pos, disp, strict=True) if math.isfinite(p) and lo <= p <= hi
    )
    pairs = _thin_ticks(
        pairs,
        min_gap=(hi - lo) / 9.0,
        anchor=0.0 if tr.name in _LOG_SCALES else float(tr.inverse(np.asarray(0.0))),
    )
    ax.xaxis.set_major_locator(FixedLocator([p for p, _ in pairs]))
    labels = {round(p, 12): _tick_label(d) for p, d in pairs}
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: labels.get(round(v, 12), "")))


def _interval(
    ax: Axes,
    lo: float,
    hi: float,
    y: float,
    xlim: tuple[float, float],
    *,
    color: str,
    lw: float = 1.1,
    gid: str | None = None,
    zorder: float = 2,
) -> None:
    """Horizontal interval clipped to the axis with an arrow head where it runs off."""
    if not (math.isfinite(lo) or math.isfinite(hi)):
        return
    a = max(lo, xlim[0]) if math.isfinite(lo) else xlim[0]
    b = min(hi, xlim[1]) if math.isfinite(hi) else xlim[1]
    ax.plot([a, b], [y, y], color=color, lw=lw, solid_capstyle="butt", gid=gid, zorder=zorder)
    if not math.isfinite(lo) or lo < xlim[0]:
        ax.plot(
            [xlim[0]],
            [y],
            marker="<",
            ms=ARROW_SIZE,
            color=color,
            clip_on=False,
            gid="clip_arrow",
            zorder=zorder,
        )
    if not math.isfinite(hi) or hi > xlim[1]:
        ax.plot(
            [xlim[1]],
            [y],
            marker=">",
            ms=ARROW_SIZE,
            color=color,
            clip_on=False,
            gid="clip_arrow",
            zorder=zorder,
        )


def _diamond(
    ax: Axes,
    est: float,
    lo: float,
    hi: float,
    y: float,
    xlim: tuple[float, float],
    *,
    color: str = POOLED_COLOUR,
    gid: str = "pooled_diamond",
) -> None:
    """Pooled-estimate diamond; a CI running off the axis is cut there and marked by an arrow."""
    h = DIAMOND_HALF_HEIGHT
    if not (xlim[0] < est < xlim[1]) or not (math.isfinite(lo) and math.isfinite(hi)):
        pts = [(lo, y), (est, y + h), (hi, y), (est, y - h)]  # left to the axes' clipping
    else:
        a, b = max(lo, xlim[0]), min(hi, xlim[1])
        ha = h * (a - lo) / (est - lo) if est > lo else 0.0
        hb = h * (hi - b) / (hi - est) if hi > est else 0.0
        pts = [(a, y - ha), (a, y + ha), (est, y + h), (b, y + hb), (b, y - hb), (est, y - h)]
    ax.add_patch(
        Polygon(pts, closed=True, facecolor=color, edgecolor=color, lw=0.8, gid=gid, zorder=3)
    )
    arrows = [(xlim[0], "<")] if lo < xlim[0] else []
    arrows += [(xlim[1], ">")] if hi > xlim[1] else []
    for edge, marker in arrows:
        ax.plot(
            [edge],
            [y],
            marker=marker,
            ms=ARROW_SIZE,
            color=color,
            clip_on=False,
            gid="clip_arrow",
            zorder=3,
        )


def _claim_band(
    ax: Axes,
    claim: tuple[float, float],
    label: str | None,
    xlim: tuple[float, float],
    y_top: float,
    y_bottom: float,
    label_y: float,
    panel_in: float,
) -> None:
    lo, hi = sorted((as_float(claim[0]), as_float(claim[1])), key=lambda v: (math.isnan(v), v))
    a = xlim[0] if not math.isfinite(lo) else max(lo, xlim[0])
    b = xlim[1] if not math.isfinite(hi) else min(hi, xlim[1])
    if b <= a:  # entirely outside the axis: still say so
        a = b = xlim[0] if hi < xlim[0] else xlim[1]
    ax.add_patch(
        Rectangle(
            (a, y_bottom),
            b - a,
            y_top - y_bottom,
            facecolor=CLAIM_COLOUR,
            alpha=0.2,
            edgecolor="none",
            gid="claim_band",
            zorder=0,
        )
    )
    for x, v in ((a, lo), (b, hi)):
        if math.isfinite(v) and xlim[0] <= v <= xlim[1]:
            ax.plot(
                [x, x], [y_bottom, y_top], color=CLAIM_COLOUR, lw=0.9, ls=(0, (3, 2)), zorder=0.5
            )
    if label:
        # centred over the band, but kept inside the panel so it never runs into the columns
        span = xlim[1] - xlim[0]
        half = min(text_width_in(label, SMALL_FONT_SIZE, "bold") / panel_in, 1.0) * span / 2
        mid = min(max((a + b) / 2, xlim[0] + half), xlim[1] - half)
        ax.text(
            mid,
            label_y,
            label,
            ha="center",
            va="bottom",
            fontsize=SMALL_FONT_SIZE,
            color="#8a5a00",
            fontweight="bold",
            gid="claim_label",
            clip_on=False,
            linespacing=1.2,
        )


def _claim_label_lines(label: str | None, panel_in: float) -> tuple[str | None, float]:
    """Wrap the claim label to the panel width; return it and the header rows it needs."""
    if not label:
        return label, 0.0
    wrapped = wrap_text(label, panel_in - 0.05, SMALL_FONT_SIZE, "bold", hang="")
    n = wrapped.count("\n") + 1
    # the label sits on the header rule (y = 0.62) and grows upwards, 0.64 row per line;
    # the grid already has 0.6 row above the header row (y = 1)
    return wrapped, max(0.0, 0.62 + n * 0.64 + 0.12 - 1.6)


def _direction_labels(
    ax: Axes, ref: float | None, xlim: tuple[float, float], favours: Sequence[str] | None
) -> None:
    if not favours:
        return
    x = ref if ref is not None and xlim[0] < ref < xlim[1] else (xlim[0] + xlim[1]) / 2
    tr = blended_transform_factory(ax.transData, ax.transAxes)
    left, right = favours
    kw = dict(
        xycoords=tr, textcoords="offset points", va="top", fontsize=SMALL_FONT_SIZE, color=TEXT_GREY
    )
    if left:
        ax.annotate(
            f"\N{LEFTWARDS ARROW} {left}",
            (x, 0),
            xytext=(-4, -19),
            ha="right",
            gid="favours_left",
            **kw,
        )
    if right:
        ax.annotate(
            f"{right} \N{RIGHTWARDS ARROW}",
            (x, 0),
            xytext=(4, -19),
            ha="left",
            gid="favours_right",
            **kw,
        )


def _finish_axis(
    ax: Axes,
    xlim: tuple[float, float],
    tr: ScaleTransform,
    measure_label: str | None,
    favours: Sequence[str] | None,
    ref_line: float | None,
) -> None:
    ax.set_xlim(*xlim)
    ax.spines["bottom"].set_bounds(*xlim)
    _set_ticks(ax, tr, xlim)
    _direction_labels(ax, ref_line, xlim, favours)
    if measure_label:
        ax.set_xlabel(measure_label, fontsize=FONT_SIZE, labelpad=16 if favours else 4)


def _favours(
    favours: Sequence[str] | None, direction_labels: Sequence[str] | None = None
) -> tuple[str, str] | None:
    """Labels under the axis: ``direction_labels`` verbatim, else "Favours <arm>"."""
    if direction_labels is not None:
        if len(direction_labels) != 2:
            raise ValueError("direction_labels must be a pair: (left of the line, right of it)")
        return (direction_labels[0] or "", direction_labels[1] or "")
    if favours is None:
        return None
    if len(favours) != 2:
        raise ValueError(
            "favours must be a pair of labels: (left of the reference line, right of it)"
        )
    return (
        f"Favours {favours[0]}" if favours[0] else "",
        f"Favours {favours[1]}" if favours[1] else "",
    )


def _claim_on_axis(
    claim_range: Any, claim_scale: str, tr: ScaleTransform
) -> tuple[float, float] | None:
    if claim_range is None:
        return None
    lo, hi = (as_float(v) for v in claim_range)
    if claim_scale == "analysis":
        return lo, hi
    if claim_scale != "display":
        raise ValueError("claim_scale must be 'analysis' or 'display'")
    if tr.inverse is None:
        raise ValueError("claim_scale='display' needs a transform with an inverse")
    with np.errstate(divide="ignore", invalid="ignore"):
        a, b = (float(tr.inverse(np.asarray(v))) for v in (lo, hi))
    # log1p(-1) = -inf etc. are fine: the band then runs to the axis edge
    a = -math.inf if np.isnan(a) and lo == lo else a
    b = -math.inf if np.isnan(b) and hi == hi else b
    return (min(a, b), max(a, b))


def _within(values: Sequence[float], core: Sequence[float], factor: float) -> list[float]:
    """``values`` lying within ``factor`` x the spread of ``core`` beyond its ends."""
    data = [v for v in core if math.isfinite(v)]
    if not data:
        return [v for v in values if math.isfinite(v)]
    lo, hi = min(data), max(data)
    span = max(hi - lo, 1e-9, 0.1 * max(abs(lo), abs(hi)))
    return [v for v in values if math.isfinite(v) and lo - factor * span <= v <= hi + factor * span]


def _claim_core(claim: tuple[float, float] | None, core: Sequence[float]) -> list[float]:
    """Claim ends the axis must show: the end nearer the data always (so a reader sees whether
    the evidence reaches it), the far end only if it is not far beyond the data; otherwise
    the band runs to the axis edge."""
    if claim is None:
        return []
    ends = [v for v in claim if math.isfinite(v)]
    data = [v for v in core if math.isfinite(v)]
    if not ends or not data:
        return ends
    lo, hi = min(data), max(data)
    span = max(hi - lo, 1e-12)
    dist = [0.0 if lo <= v <= hi else min(abs(v - lo), abs(v - hi)) for v in ends]
    near = ends[int(np.argmin(dist))]
    return [v for v, d in zip(ends, dist, strict=True) if v == near or d <= span]


CLAIM_MIN_SHARE = 0.15  # the claimed range shows over at least this share of the axis


def _claim_visible(
    xlim: tuple[float, float], claim: tuple[float, float] | None
) -> tuple[float, float]:
    """Widen the axis towards the claim until the claimed range covers at least
    ``CLAIM_MIN_SHARE`` of it (or all of it fits). On ratio scales a claim such as a 60-100%
    reduction runs to log(0) = -inf, and its near end can sit at the very edge of an axis
    fitted to the data, leaving a sliver no reader sees."""
    if claim is None:
        return xlim
    lo, hi = sorted(claim)
    a, b = xlim
    if math.isnan(lo) or math.isnan(hi):
        return xlim
    span = b - a
    shown = min(hi, b) - max(lo, a)
    want = min(CLAIM_MIN_SHARE * span / (1 - CLAIM_MIN_SHARE), hi - lo)
    if shown >= want:
        return xlim
    pad = 0.04 * span
    grow = want - shown
    if (lo + hi) / 2 < (a + b) / 2 or hi <= a:  # the claim lies to the left
        return (max(a - grow, lo - pad) if math.isfinite(lo) else a - grow, b)
    return (a, min(b + grow, hi + pad) if math.isfinite(hi) else b + grow)


def _est_text(tr: ScaleTransform, est: Any, lo: Any, hi: Any, digits: int) -> str:
    a, b = tr.interval(lo, hi)
    return f"{fmt_num(tr(as_float(est)), digits)} {fmt_ci(a, b, digits)}"


# --------------------------------------------------------------------------------------------
# forest_plot
# --------------------------------------------------------------------------------------------
def _study_table(result: Any) -> pd.DataFrame:
    """Per-study rows (study, yi, ci_low, ci_high, weight) from the result object."""
    frame = None
    sf = getattr(result, "summary_frame", None)
    if callable(sf):
        frame = pd.DataFrame(sf()).reset_index(drop=True)
    yi = np.asarray(
        get(result, "yi", default=frame["yi"] if frame is not None else []), dtype=float
    )
    k = len(yi)
    if frame is not None:
        frame = frame.iloc[:k]  # meta.rma's summary_frame() ends with the pooled row
    out = pd.DataFrame({"yi": yi})
    study = get(result, "study")
    if study is None and frame is not None and "study" in frame:
        study = frame["study"]
    out["study"] = list(study) if study is not None else [f"Study {i + 1}" for i in range(k)]
    if frame is not None and {"ci_low", "ci_high"} <= set(frame.columns):
        out["ci_low"] = frame["ci_low"].to_numpy(dtype=float)
        out["ci_high"] = frame["ci_high"].to_numpy(dtype=float)
    else:
        # fallback only: Wald interval yi +/- z * sqrt(vi), as metafor's forest() shows
        from statistics import NormalDist

        vi = np.asarray(get(result, "vi"), dtype=float)
        lv = as_float(get(result, "level", default=0.95))
        z = NormalDist().inv_cdf(0.5 + (lv if lv <= 1 else lv / 100) / 2)
        out["ci_low"] = yi - z * np.sqrt(vi)
        out["ci_high"] = yi + z * np.sqrt(vi)
    w = get(result, "weights")
    if w is None and frame is not None and "weight" in frame:
        w = frame["weight"]
    out["weight"] = np.asarray(w, dtype=float) if w is not None else np.nan
    return out


def _align_studies(table: pd.DataFrame, studies: pd.DataFrame | None) -> pd.DataFrame | None:
    if studies is None:
        return None
    studies = studies.reset_index(drop=True)
    ids = [str(s) for s in table["study"]]
    for col in ("study", "study_id", "label"):
        if col in studies.columns and set(ids) <= set(studies[col].astype(str)):
            keys = studies[col].astype(str)
            if len(set(ids)) == len(ids) and not keys.duplicated().any():
                return studies.set_index(keys).loc[ids].reset_index(drop=True)
            # several rows per study (multi-arm trial): only the same order is unambiguous
            if keys.tolist() == ids:
                return studies
            raise ValueError(
                f"studies' {col!r} values repeat (a multi-arm trial?) and are not in the "
                "result's order, so its rows cannot be matched to the result's studies; "
                "give each row a distinct 'study' value or pass them in the result's order"
            )
    if len(studies) == len(table):
        return studies
    raise ValueError(
        f"studies has {len(studies)} rows and no 'study'/'study_id'/'label' column matching the "
        f"result's studies ({', '.join(ids[:5])}{', ...' if len(ids) > 5 else ''})"
    )


def _num_cell(v: Any, digits: int) -> str:
    return fmt_num(v, digits) if is_finite(v) else ""


def _any_finite(studies: pd.DataFrame, col: str) -> bool:
    return col in studies.columns and any(is_finite(v) for v in studies[col])


def _arm_columns(
    studies: pd.DataFrame, arm_labels: Sequence[str], digits: int, n_extra_rows: int
) -> list[Column]:
    """Per-arm columns recognised from metafor's names, in RevMan's layout: "Events" and
    "Total" for binary outcomes (``ai, n1i / ci, n2i``), "Mean (SD)" and "N" for continuous
    ones (``m1i, sd1i, n1i / m2i, sd2i, n2i``). A column with no value in any row is left out
    (a study that reported only a contrast leaves no empty arm columns behind)."""
    cols: list[Column] = []
    pad = [""] * n_extra_rows
    binary = _any_finite(studies, "ai") or _any_finite(studies, "ci")

    def count(v: Any) -> str:
        return f"{as_float(v):.0f}" if is_finite(v) else ""

    for arm, (m, sd, ev, n) in zip(
        arm_labels, (("m1i", "sd1i", "ai", "n1i"), ("m2i", "sd2i", "ci", "n2i")), strict=True
    ):
        if binary:
            if _any_finite(studies, ev):
                cols.append(Column("Events", [count(v) for v in studies[ev]] + pad, "right", arm))
            if _any_finite(studies, n):
                cols.append(Column("Total", [count(v) for v in studies[n]] + pad, "right", arm))
            continue
        if _any_finite(studies, m):
            cells = []
            sds = studies[sd] if sd in studies.columns else [None] * len(studies)
            for mv, sv in zip(studies[m], sds, strict=True):
                if not is_finite(mv):
                    cells.append("")
                else:
                    sd_text = _num_cell(sv, digits) or "\N{EN DASH}"
                    cells.append(f"{_num_cell(mv, digits)} ({sd_text})")
            cols.append(Column("Mean (SD)", cells + pad, "right", group=arm))
        if _any_finite(studies, n):
            cols.append(Column("N", [count(v) for v in studies[n]] + pad, "right", group=arm))
    return cols


def _rob_columns(
    studies: pd.DataFrame | None, risk_of_bias: pd.DataFrame, n_extra_rows: int
) -> list[Column]:
    """RevMan's risk-of-bias column: one robvis symbol per RoB 2 domain and overall, beside
    each study (judgements as in :func:`ketamine_evidence.plots.rob.study_judgements`)."""
    if studies is None or "study_id" not in studies.columns:
        raise ValueError(
            "risk_of_bias needs the studies table with a 'study_id' column to match the rows"
        )
    judged = study_judgements(risk_of_bias)
    pad = [""] * n_extra_rows
    cols = []
    for dom in DOMAINS:
        cells, styles = [], []
        for sid in studies["study_id"].astype(str):
            j = judged.get(sid, {}).get(dom, "no_information")
            fill, symbol, fg = JUDGEMENT_STYLE[j]
            cells.append(symbol)
            styles.append(
                {
                    "color": fg,
                    "fontsize": SMALL_FONT_SIZE,
                    "bbox": {"boxstyle": "circle,pad=0.22", "fc": fill, "ec": "#404040", "lw": 0.5},
                    "gid": f"rob_{j}",
                }
            )
        header = "Overall" if dom == "overall" else dom
        cols.append(
            Column(header, cells + pad, "center", "Risk of bias", styles + [None] * len(pad))
        )
    return cols


def _distinct_labels(labels: list[str], studies: pd.DataFrame | None) -> list[str]:
    """Rows of a multi-arm trial (one study, several comparisons) get distinct labels: the
    comparison in brackets when ``studies`` has it, else the arm's number."""
    counts = pd.Series(labels).value_counts()
    if (counts <= 1).all():
        return labels
    out, seen = [], dict.fromkeys(labels, 0)
    for i, lab in enumerate(labels):
        if counts[lab] == 1:
            out.append(lab)
            continue
        seen[lab] += 1
        comparison = (
            str(studies["comparison"].iloc[i])
            if studies is not None
            and "comparison" in studies.columns
            and not pd.isna(studies["comparison"].iloc[i])
            else ""
        )
        out.append(f"{lab} ({comparison})" if comparison else f"{lab} (arm {seen[lab]})")
    if len(set(out)) < len(out):
        return [f"{lab} ({n + 1})" if out.count(lab) > 1 else lab for n, lab in enumerate(out)]
    return out


def heterogeneity_text(result: Any) -> str:
    """The heterogeneity and overall-test line printed under a forest plot (two lines)."""
    k = int(as_float(get(result, "k", default=len(get(result, "yi", default=[])))))
    method = str(get(result, "method", default="REML"))
    test = str(get(result, "test", default="z")).lower()
    # meta.rma reports a z test for k = 1 whatever ``test`` says (as metafor does)
    stat_name = "t" if test in {"knha", "hksj", "t", "adhoc"} and k >= 2 else "z"
    df = get(result, "df")
    stat = f"{stat_name}({fmt_num(df, 0)})" if stat_name == "t" and is_finite(df) else stat_name
    labels = f"{METHOD_NAMES.get(method.upper(), method)}, {TEST_NAMES.get(test, test)}"
    if k < 2:
        labels = "single study, Wald z"
    if k < 2:
        het = "Heterogeneity: not applicable (k = 1)"
    else:
        q_df = get(result, "q_df", default=k - 1)
        het = (
            f"Heterogeneity: \N{GREEK SMALL LETTER TAU}\N{SUPERSCRIPT TWO} = "
            f"{fmt_num(get(result, 'tau2'), 3)}, I\N{SUPERSCRIPT TWO} = {fmt_num(get(result, 'i2'), 0)}%, "
            f"Q = {fmt_num(get(result, 'q'), 2)} (df = {fmt_num(q_df, 0)}, {fmt_p(get(result, 'q_pvalue'))})"
        )
    if is_finite(get(result, "statistic")):
        overall = (
            f"Test: {stat} = {fmt_num(get(result, 'statistic'), 2)}, "
            f"{fmt_p(get(result, 'pvalue'))}; {labels}"
        )
    else:
        overall = f"Test: not available; {labels}"

    return f"{het}\n{overall}"


def forest_plot(
    result: Any,
    studies: pd.DataFrame | None = None,
    *,
    measure_label: str,
    claim_range: tuple[float, float] | None = None,
    claim_label: str | None = None,
    claim_scale: str = "analysis",
    transform: Any = None,
    ref_line: float | None = 0.0,
    favours: Sequence[str] | None = ("intervention", "control"),
    direction_labels: Sequence[str] | None = None,
    arm_labels: Sequence[str] = ("Intervention", "Control"),
    extra_columns: Mapping[str, str] | None = None,
    risk_of_bias: pd.DataFrame | None = None,
    estimate_header: str | None = None,
    pooled_label: str | None = None,
    digits: int = 2,
    arm_digits: int = 1,
    xlim: tuple[float, float] | None = None,
    title: str | None = None,
    plot_width: float = 3.0,
    ax: Axes | None = None,
) -> Figure:
    """Forest plot of a random-effects meta-analysis in the layout meta-analysts know.

    Left: study label, optional extra columns, per-arm mean (SD) and N (or events and total,
    RevMan's columns for binary outcomes) when ``studies`` has metafor's columns
    (``m1i, sd1i, n1i, m2i, sd2i, n2i`` or ``ai, n1i, ci, n2i``). Rows of a multi-arm trial
    get distinct labels (the comparison in brackets). Centre: squares (area proportional to
    weight) with CI whiskers, the pooled diamond and, under it, the prediction interval; a
    single study gets no diamond (nothing was pooled), as in metafor and RevMan. Right:
    "estimate [CI]", weight (%) and, optionally, the risk-of-bias judgements. Bottom: the
    heterogeneity line (tau^2, I^2, Q) and the test of the pooled effect.

    Parameters
    ----------
    result : meta.rma result (duck-typed)
        Needs ``yi``, ``vi``, ``study``, ``weights`` (percent), ``estimate``, ``ci_low``,
        ``ci_high``, ``pi_low``, ``pi_high``, ``tau2``, ``i2`` (percent), ``q``, ``q_df``,
        ``q_pvalue``, ``statistic``, ``df``, ``pvalue``, ``method``, ``test``, ``level``, ``k``.
        Per-study CIs come from ``summary_frame()`` when present, else ``yi +/- z sqrt(vi)``.
    studies : DataFrame, optional
        Arm-level data to print, matched to the result by a ``study``/``study_id``/``label``
        column (else by row order). A ``label`` column gives the printed study label.
    measure_label : str
        x-axis label, on the displayed scale (e.g. "Mean difference, CAPS-5 (points)").
    claim_range : (lo, hi), optional
        The popular claim as an interval, shaded and labelled with ``claim_label``. On the
        analysis scale by default; ``claim_scale="display"`` gives it on the transformed
        scale (needs an invertible transform). Infinite ends run to the axis edge.
    transform : None, "exp", "percent_reduction", "percent_change", callable or (func, inverse)
        Applied to every printed number and tick label (never to tau^2). Plotting stays on the
        analysis scale, e.g. log ratios with ``"exp"``; ``"percent_reduction"`` shows a log
        ratio of means as 100 (1 - exp(x)).
    ref_line : float or None
        Line of no effect on the analysis scale.
    favours : (left, right) or None
        Printed under the axis as "Favours <left>" / "Favours <right>" either side of ``ref_line``.
    direction_labels : (left, right), optional
        Printed verbatim instead (e.g. ``("Less with <drug>", "More with <drug>")`` for harms).
    extra_columns : mapping header -> column of ``studies``, optional
        More text columns after the study label (e.g. ``{"Scale": "instrument"}``).
    risk_of_bias : DataFrame, optional
        RoB 2 judgements (``study_id``, ``domain``, ``judgement``, as for
        :func:`~ketamine_evidence.plots.rob.rob_summary`), shown right of the weights as one
        robvis symbol per domain and overall, matched on ``studies``' ``study_id``.
    digits, arm_digits : int
        Decimals for estimates and for arm-level means/SDs.
    xlim : (lo, hi), optional
        Axis limits on the analysis scale; by default wide CIs are clipped with arrows.
    ax : Axes, optional
        Panel for the markers; the text columns are drawn outside it, so leave room. With None
        a figure sized to the table is created.

    Returns
    -------
    matplotlib.figure.Figure
    """
    tr = resolve_transform(transform)
    table = _study_table(result)
    k = len(table)
    aligned = _align_studies(table, studies)
    level = _level_label(get(result, "level", default=0.95))
    est = as_float(get(result, "estimate"))
    ci_lo, ci_hi = as_float(get(result, "ci_low")), as_float(get(result, "ci_high"))
    pi_lo, pi_hi = as_float(get(result, "pi_low")), as_float(get(result, "pi_high"))
    show_pi = k >= 2 and math.isfinite(pi_lo) and math.isfinite(pi_hi)
    show_pooled = k >= 2 and math.isfinite(est)  # one study: nothing pooled, no diamond
    method = str(get(result, "method", default="REML")).upper()

    # rows: studies, blank, pooled, [PI], then the heterogeneity text
    pooled_row = k  # body-row indices; the grid puts summary rows half a row lower
    pi_row = k + 1
    n_rows = k + (1 if show_pooled else 0) + (1 if show_pi else 0)
    extra = n_rows - k
    labels = (
        aligned["label"].astype(str).tolist()
        if aligned is not None and "label" in aligned.columns
        else table["study"].astype(str).tolist()
    )
    labels = _distinct_labels(labels, aligned)
    if pooled_label is None:
        if method in {"FE", "EE", "CE"}:
            pooled_label = "Common-effect model"
        else:
            pooled_label = "Random-effects model"
    study_cells = (
        labels
        + ([pooled_label] if show_pooled else [])
        + ([f"{level} prediction interval"] if show_pi else [])
    )
    left = [Column("Study", study_cells, "left")]
    if aligned is not None and extra_columns:
        for header, col in extra_columns.items():
            if col not in aligned.columns:
                raise ValueError(
                    f"extra_columns asks for column {col!r} ({header!r}) but studies has only "
                    f"{', '.join(map(str, aligned.columns))}"
                )
            vals = ["" if pd.isna(v) else str(v) for v in aligned[col]]
            left.append(Column(header, vals + [""] * extra, "left"))
    if aligned is not None:
        left += _arm_columns(aligned, arm_labels, arm_digits, extra)

    est_cells = [
        _est_text(tr, y, lo, hi, digits)
        for y, lo, hi in zip(table["yi"], table["ci_low"], table["ci_high"], strict=True)
    ]
    w_cells = [f"{w:.1f}%" if math.isfinite(w) else "" for w in table["weight"]]
    if show_pooled:
        est_cells.append(_est_text(tr, est, ci_lo, ci_hi, digits))
        w_cells.append("100.0%" if np.isfinite(table["weight"]).any() else "")
    if show_pi:
        a, b = tr.interval(pi_lo, pi_hi)
        est_cells.append(fmt_ci(a, b, digits))
        w_cells.append("")
    right = [Column(estimate_header or f"Estimate [{level} CI]", est_cells, "right")]
    if np.isfinite(table["weight"]).any():
        right.append(Column("Weight", w_cells, "right"))
    if risk_of_bias is not None:
        right += _rob_columns(aligned, risk_of_bias, extra)

    # row indices used by the table: studies 0..k-1, pooled at k (printed at pooled_row)
    panel_in = plot_width if ax is None else ax.get_position().width * ax.figure.get_figwidth()
    claim_label, top_rows = _claim_label_lines(
        claim_label if claim_range is not None else None, panel_in
    )
    grid = ForestGrid(
        left,
        right,
        n_rows,
        ax=ax,
        plot_width=plot_width,
        title=title,
        bold_rows={k} if show_pooled else set(),
        # the heterogeneity text sits half a row lower when no summary row precedes it
        extra_bottom_rows=1.7 if n_rows > k else 2.2,
        gap_before=k,
        extra_top_rows=top_rows,
    )
    ax = grid.ax

    claim = _claim_on_axis(claim_range, claim_scale, tr)
    if xlim is None:
        core = list(table["yi"]) + [est]
        if ref_line is not None:
            core.append(ref_line)
        core += _claim_core(claim, core)
        # the pooled CI and PI widen the axis unless they are far wider than the studies'
        # spread (HKSJ with k = 2 gives t(1) intervals): then they are cut with arrows
        summary = [ci_lo, ci_hi] + ([pi_lo, pi_hi] if show_pi else [])
        core += _within(summary, core, 2.0)
        xlim = _claim_visible(
            _auto_xlim(core, list(table["ci_low"]) + list(table["ci_high"]) + summary), claim
        )
    xlim = (float(xlim[0]), float(xlim[1]))

    last_row = pi_row if show_pi else (pooled_row if show_pooled else k - 1)
    y_top = 0.5
    y_bottom = grid.y(last_row) - 0.5
    if ref_line is not None and xlim[0] <= ref_line <= xlim[1]:
        ax.plot(
            [ref_line, ref_line], [y_bottom, y_top], color="black", lw=0.8, zorder=1, gid="ref_line"
        )
    if show_pooled and xlim[0] <= est <= xlim[1]:
        ax.plot(
            [est, est], [-(k - 1) - 0.5, y_top], color=GRID_GREY, lw=0.8, ls=(0, (2, 2)), zorder=1
        )
    if claim is not None:
        _claim_band(
            ax, claim, claim_label, xlim, y_top, y_bottom, label_y=0.62, panel_in=grid.panel_width
        )

    w = table["weight"].to_numpy(dtype=float)
    wmax = np.nanmax(w) if np.isfinite(w).any() else np.nan
    sizes = (
        SQUARE_MIN_PT2 + (SQUARE_MAX_PT2 - SQUARE_MIN_PT2) * np.nan_to_num(w / wmax, nan=0.5)
        if math.isfinite(wmax) and wmax > 0
        else np.full(k, 50.0)
    )
    ys = -np.arange(k, dtype=float)
    for y, lo, hi in zip(ys, table["ci_low"], table["ci_high"], strict=True):
        _interval(ax, lo, hi, y, xlim, color=STUDY_COLOUR, gid="study_ci")
    inside = (table["yi"] >= xlim[0]) & (table["yi"] <= xlim[1])
    ax.scatter(
        table["yi"][inside],
        ys[inside],
        s=sizes[inside],
        marker="s",
        color=STUDY_COLOUR,
        edgecolors="none",
        zorder=3,
        gid="study_squares",
    )
    if show_pooled:
        _diamond(ax, est, ci_lo, ci_hi, grid.y(pooled_row), xlim)
    if show_pi:
        _interval(
            ax,
            pi_lo,
            pi_hi,
            grid.y(pi_row),
            xlim,
            color=PI_COLOUR,
            lw=2.2,
            gid="prediction_interval",
        )
        for v in (pi_lo, pi_hi):
            if xlim[0] <= v <= xlim[1]:
                ax.plot([v], [grid.y(pi_row)], marker="|", ms=7, mew=1.5, color=PI_COLOUR, zorder=2)

    het_row = last_row + 1.45
    grid.text(
        grid.table_left,
        het_row,
        heterogeneity_text(result),
        ha="left",
        fontsize=SMALL_FONT_SIZE,
        color=TEXT_GREY,
        gid="heterogeneity",
        linespacing=1.35,
    )
    _finish_axis(ax, xlim, tr, measure_label, _favours(favours, direction_labels), ref_line)
    return grid.fig


# --------------------------------------------------------------------------------------------
# cumulative and leave-one-out forests
# --------------------------------------------------------------------------------------------
def _frame_col(frame: pd.DataFrame, *names: str) -> np.ndarray:
    for n in names:
        if n in frame.columns:
            return frame[n].to_numpy(dtype=float)
    return np.full(len(frame), np.nan)


def _labels(frame: pd.DataFrame, label: str | None, candidates: Sequence[str]) -> list[str]:
    if label is not None:
        return frame[label].astype(str).tolist()
    for c in candidates:
        if c in frame.columns:
            return frame[c].astype(str).tolist()
    return [str(i) for i in frame.index]


def _summary_forest(
    frame: pd.DataFrame,
    labels: list[str],
    *,
    header: str,
    measure_label: str | None,
    transform: Any,
    ref_line: float | None,
    favours: Sequence[str] | None,
    direction_labels: Sequence[str] | None,
    claim_range: Any,
    claim_label: str | None,
    claim_scale: str,
    digits: int,
    xlim: tuple[float, float] | None,
    title: str | None,
    plot_width: float,
    ax: Axes | None,
    reference: Any = None,
    reference_label: str = "All studies",
    level: str = "95%",
) -> Figure:
    tr = resolve_transform(transform)
    est = _frame_col(frame, "estimate")
    lo = _frame_col(frame, "ci_low", "ci.lb")
    hi = _frame_col(frame, "ci_high", "ci.ub")
    i2 = _frame_col(frame, "i2", "I2")
    tau2 = _frame_col(frame, "tau2")
    n = len(frame)
    ref_est = as_float(get(reference, "estimate")) if reference is not None else math.nan
    ref_lo = as_float(get(reference, "ci_low")) if reference is not None else math.nan
    ref_hi = as_float(get(reference, "ci_high")) if reference is not None else math.nan
    has_ref = math.isfinite(ref_est)

    cells = [_est_text(tr, e, a, b, digits) for e, a, b in zip(est, lo, hi, strict=True)]
    i2_cells = [f"{fmt_num(v, 0)}%" if math.isfinite(v) else "n/a" for v in i2]
    tau_cells = [fmt_num(v, 3) for v in tau2]
    left_cells = list(labels)
    if has_ref:
        left_cells.append(reference_label)
        cells.append(_est_text(tr, ref_est, ref_lo, ref_hi, digits))
        i2_cells.append(f"{fmt_num(get(reference, 'i2'), 0)}%")
        tau_cells.append(fmt_num(get(reference, "tau2"), 3))
    right = [Column(f"Estimate [{level} CI]", cells, "right")]
    if np.isfinite(tau2).any():
        right.append(Column("\N{GREEK SMALL LETTER TAU}\N{SUPERSCRIPT TWO}", tau_cells, "right"))
    if np.isfinite(i2).any():
        right.append(Column("I\N{SUPERSCRIPT TWO}", i2_cells, "right"))
    panel_in = plot_width if ax is None else ax.get_position().width * ax.figure.get_figwidth()
    claim_label, top_rows = _claim_label_lines(
        claim_label if claim_range is not None else None, panel_in
    )
    grid = ForestGrid(
        [Column(header, left_cells, "left")],
        right,
        n + (1 if has_ref else 0),
        ax=ax,
        plot_width=plot_width,
        title=title,
        bold_rows={n} if has_ref else set(),
        gap_before=n,
        extra_top_rows=top_rows,
    )
    ax = grid.ax
    claim = _claim_on_axis(claim_range, claim_scale, tr)
    if xlim is None:
        core = list(est) + [ref_est, ref_lo, ref_hi]
        if ref_line is not None:
            core.append(ref_line)
        core += _claim_core(claim, core)
        xlim = _claim_visible(_auto_xlim(core, list(lo) + list(hi)), claim)
    xlim = (float(xlim[0]), float(xlim[1]))
    y_top, y_bottom = 0.5, grid.y(n if has_ref else n - 1) - 0.5
    if ref_line is not None and xlim[0] <= ref_line <= xlim[1]:
        ax.plot([ref_line] * 2, [y_bottom, y_top], color="black", lw=0.8, zorder=1, gid="ref_line")
    if has_ref:
        a, b = max(ref_lo, xlim[0]), min(ref_hi, xlim[1])
        if b > a:
            ax.add_patch(
                Rectangle(
                    (a, -(n - 1) - 0.5),
                    b - a,
                    n,
                    facecolor="#999999",
                    alpha=0.15,
                    edgecolor="none",
                    zorder=0,
                    gid="reference_ci_band",
                )
            )
        ax.plot(
            [ref_est] * 2,
            [-(n - 1) - 0.5, y_top],
            color=TEXT_GREY,
            lw=0.8,
            ls=(0, (3, 2)),
            zorder=1,
            gid="reference_line",
        )
        _diamond(ax, ref_est, ref_lo, ref_hi, grid.y(n), xlim)
    if claim is not None:
        _claim_band(
            ax, claim, claim_label, xlim, y_top, y_bottom, label_y=0.62, panel_in=grid.panel_width
        )
    ys = -np.arange(n, dtype=float)
    for y, a, b in zip(ys, lo, hi, strict=True):
        _interval(ax, a, b, y, xlim, color=STUDY_COLOUR, gid="row_ci")
    inside = (est >= xlim[0]) & (est <= xlim[1])
    ax.scatter(
        est[inside],
        ys[inside],
        s=28,
        marker="o",
        color=STUDY_COLOUR,
        zorder=3,
        edgecolors="white",
        linewidths=0.5,
        gid="row_points",
    )
    _finish_axis(ax, xlim, tr, measure_label, _favours(favours, direction_labels), ref_line)
    return grid.fig


def cumulative_plot(
    cumul_frame: pd.DataFrame,
    *,
    measure_label: str | None = None,
    label: str | None = None,
    transform: Any = None,
    ref_line: float | None = 0.0,
    favours: Sequence[str] | None = ("intervention", "control"),
    direction_labels: Sequence[str] | None = None,
    claim_range: tuple[float, float] | None = None,
    claim_label: str | None = None,
    claim_scale: str = "analysis",
    digits: int = 2,
    xlim: tuple[float, float] | None = None,
    title: str | None = None,
    plot_width: float = 3.0,
    ax: Axes | None = None,
) -> Figure:
    """Cumulative forest plot: the pooled estimate as each study is added (e.g. by year).

    Parameters
    ----------
    cumul_frame : DataFrame
        One row per step, in order, as returned by ``meta.cumul``: ``estimate``, ``ci_low``,
        ``ci_high`` and optionally ``tau2``, ``i2`` (metafor's ``ci.lb``/``ci.ub``/``I2`` work too).
    label : str, optional
        Column with the row labels (default: ``label``, ``study``, ``year``, else the index).
        Rows are printed as "+ <label>".

    Other parameters are as in :func:`forest_plot`.
    """
    labels = _labels(cumul_frame, label, ("label", "study", "study_id", "year"))
    labels = [f"+ {s}" if i else s for i, s in enumerate(labels)]
    return _summary_forest(
        cumul_frame,
        labels,
        header="Adding study",
        measure_label=measure_label,
        transform=transform,
        ref_line=ref_line,
        favours=favours,
        direction_labels=direction_labels,
        claim_range=claim_range,
        claim_label=claim_label,
        claim_scale=claim_scale,
        digits=digits,
        xlim=xlim,
        title=title,
        plot_width=plot_width,
        ax=ax,
    )


def leave1out_plot(
    l1o_frame: pd.DataFrame,
    full_result: Any = None,
    *,
    measure_label: str | None = None,
    label: str | None = None,
    transform: Any = None,
    ref_line: float | None = 0.0,
    favours: Sequence[str] | None = ("intervention", "control"),
    direction_labels: Sequence[str] | None = None,
    claim_range: tuple[float, float] | None = None,
    claim_label: str | None = None,
    claim_scale: str = "analysis",
    digits: int = 2,
    xlim: tuple[float, float] | None = None,
    title: str | None = None,
    plot_width: float = 3.0,
    ax: Axes | None = None,
) -> Figure:
    """Leave-one-out forest: the pooled estimate with each study omitted in turn.

    The full analysis (``full_result``, an ``rma`` result) is drawn as a diamond at the bottom
    and as a dashed line with its CI shaded behind the rows, so influential studies stand out.

    Parameters
    ----------
    l1o_frame : DataFrame
        One row per omitted study, as returned by ``meta.leave1out``: ``estimate``, ``ci_low``,
        ``ci_high`` and optionally ``tau2``, ``i2``.
    label : str, optional
        Column naming the omitted study (default: ``label``, ``study``, ``omitted``, else index).

    Other parameters are as in :func:`forest_plot`.
    """
    labels = _labels(l1o_frame, label, ("label", "study", "omitted", "study_id"))
    level = (
        _level_label(get(full_result, "level", default=0.95)) if full_result is not None else "95%"
    )
    return _summary_forest(
        l1o_frame,
        labels,
        header="Omitting",
        measure_label=measure_label,
        transform=transform,
        ref_line=ref_line,
        favours=favours,
        direction_labels=direction_labels,
        claim_range=claim_range,
        claim_label=claim_label,
        claim_scale=claim_scale,
        digits=digits,
        xlim=xlim,
        title=title,
        plot_width=plot_width,
        ax=ax,
        reference=full_result,
        level=level,
    )
