"""The forest plots: study-level forest, cumulative and leave-one-out forests."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, TypedDict, Unpack

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from .._common import (
    GRID_GREY,
    PI_COLOUR,
    SMALL_FONT_SIZE,
    STUDY_COLOUR,
    TEXT_GREY,
    as_float,
    fmt_ci,
    fmt_num,
    get,
    resolve_transform,
)
from .._table import Column, ForestGrid
from .axis import (
    SQUARE_MAX_PT2,
    SQUARE_MIN_PT2,
    _auto_xlim,
    _claim_band,
    _claim_core,
    _claim_label_lines,
    _claim_on_axis,
    _claim_visible,
    _diamond,
    _est_text,
    _favours,
    _finish_axis,
    _interval,
    _level_label,
    _within,
)
from .table import (
    _align_studies,
    _arm_columns,
    _distinct_labels,
    _rob_columns,
    _study_table,
    heterogeneity_text,
)


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


class SummaryForestOptions(TypedDict, total=False):
    """Keyword options of :func:`cumulative_plot` and :func:`leave1out_plot`.

    They mean what the parameters of the same name of :func:`forest_plot` mean (``claim_range``
    on the scale named by ``claim_scale``, ``xlim`` on the display scale, ``plot_width`` in
    inches). Their defaults, the same as :func:`forest_plot`'s, are set once, in the function
    both plots delegate to, so the two plots cannot disagree on them.
    """

    measure_label: str | None
    transform: Any
    ref_line: float | None
    favours: Sequence[str] | None
    direction_labels: Sequence[str] | None
    claim_range: tuple[float, float] | None
    claim_label: str | None
    claim_scale: str
    digits: int
    xlim: tuple[float, float] | None
    title: str | None
    plot_width: float
    ax: Axes | None


def _summary_forest(
    frame: pd.DataFrame,
    labels: list[str],
    *,
    header: str,
    reference: Any = None,
    reference_label: str = "All studies",
    level: str = "95%",
    measure_label: str | None = None,
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
    """The forest of a sequence of pooled estimates (cumulative or leave-one-out).

    The options after ``level`` are :class:`SummaryForestOptions`; their defaults are here
    only, so :func:`cumulative_plot` and :func:`leave1out_plot` cannot disagree on them.
    """
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
    label: str | None = None,
    **options: Unpack[SummaryForestOptions],
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
    **options
        :class:`SummaryForestOptions`: ``measure_label``, ``transform``, ``ref_line``,
        ``favours``, ``direction_labels``, ``claim_range``, ``claim_label``, ``claim_scale``,
        ``digits``, ``xlim``, ``title``, ``plot_width``, ``ax``, as in :func:`forest_plot`.
    """
    labels = _labels(cumul_frame, label, ("label", "study", "study_id", "year"))
    labels = [f"+ {s}" if i else s for i, s in enumerate(labels)]
    return _summary_forest(
        cumul_frame,
        labels,
        header="Adding study",
        **options,
    )


def leave1out_plot(
    l1o_frame: pd.DataFrame,
    full_result: Any = None,
    *,
    label: str | None = None,
    **options: Unpack[SummaryForestOptions],
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
    **options
        :class:`SummaryForestOptions`, as in :func:`cumulative_plot`.
    """
    labels = _labels(l1o_frame, label, ("label", "study", "omitted", "study_id"))
    level = (
        _level_label(get(full_result, "level", default=0.95)) if full_result is not None else "95%"
    )
    return _summary_forest(
        l1o_frame,
        labels,
        header="Omitting",
        reference=full_result,
        level=level,
        **options,
    )
