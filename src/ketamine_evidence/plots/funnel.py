"""Funnel plot with pseudo-confidence contours, trim-and-fill studies and Egger's test."""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Polygon

from ._common import (
    FILLED_COLOUR,
    FONT_SIZE,
    POOLED_COLOUR,
    SMALL_FONT_SIZE,
    STUDY_COLOUR,
    TEXT_GREY,
    as_float,
    fmt_num,
    fmt_p,
    get,
    is_finite,
    new_figure,
    resolve_transform,
)
from .forest.axis import _set_ticks


def _filled_points(trimfill: Any) -> tuple[np.ndarray, np.ndarray]:
    """The imputed studies of a trim-and-fill result, whatever it calls them.

    Accepted (duck typing, first match wins): ``filled_yi``/``filled_vi``,
    ``yi_filled``/``vi_filled``, ``yi_fill``/``vi_fill``; a ``filled`` DataFrame with
    ``yi``/``vi``; or ``yi``/``vi`` of all studies with a boolean ``filled`` mask
    (``meta.trimfill``) or ``fill`` mask (metafor).
    """
    for y_name, v_name in (
        ("filled_yi", "filled_vi"),
        ("yi_filled", "vi_filled"),
        ("yi_fill", "vi_fill"),
    ):
        y, v = get(trimfill, y_name), get(trimfill, v_name)
        if y is not None and v is not None:
            return np.asarray(y, dtype=float), np.asarray(v, dtype=float)
    filled = get(trimfill, "filled")
    if filled is not None and hasattr(filled, "columns"):
        return filled["yi"].to_numpy(dtype=float), filled["vi"].to_numpy(dtype=float)
    # meta.trimfill: augmented yi/vi with a boolean ``filled`` mask (metafor calls it ``fill``)
    fill = filled if filled is not None else get(trimfill, "fill")
    y, v = get(trimfill, "yi"), get(trimfill, "vi")
    if fill is not None and y is not None and v is not None:
        mask = np.asarray(fill, dtype=bool)
        return np.asarray(y, dtype=float)[mask], np.asarray(v, dtype=float)[mask]
    return np.array([]), np.array([])


def _egger_text(regtest: Any) -> str:
    stat = get(regtest, "statistic", "zval", "tval")
    if not is_finite(stat):
        return "Egger's test: not available"
    df = get(regtest, "df")
    name = str(get(regtest, "test", "dist", default="t" if is_finite(df) else "z")).lower()
    name = "t" if name.startswith("t") or name == "knha" else "z"
    label = f"t({fmt_num(df, 0)})" if name == "t" and is_finite(df) else name
    return f"Egger's test: {label} = {fmt_num(stat, 2)}, {fmt_p(get(regtest, 'pvalue', 'pval'))}"


def funnel_plot(
    result: Any,
    *,
    regtest: Any = None,
    trimfill: Any = None,
    measure_label: str | None = None,
    transform: Any = None,
    level: float = 0.95,
    title: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Funnel plot: effect size against its standard error (inverted axis, precise at the top).

    Parameters
    ----------
    result : meta.rma result
        Needs ``yi``, ``vi`` and ``estimate``.
    regtest : Egger regression test result, optional
        ``statistic`` (or ``zval``/``tval``), ``pvalue``, optional ``df``/``test``; printed in
        the top-left corner.
    trimfill : trim-and-fill result, optional
        Imputed studies (see :func:`_filled_points` for the accepted names) are drawn hollow;
        the adjusted pooled estimate (``trimfill.result.estimate`` or ``trimfill.estimate``)
        as a dashed line, and ``k0`` and ``side`` are printed.
    measure_label : str, optional
        x-axis label. ``transform`` relabels the ticks as in :func:`forest_plot`.
    level : float
        Level of the pseudo-confidence region ``estimate +/- z * SE`` (the funnel).

    Returns
    -------
    matplotlib.figure.Figure
    """
    tr = resolve_transform(transform)
    yi = np.asarray(get(result, "yi"), dtype=float)
    sei = np.sqrt(np.asarray(get(result, "vi"), dtype=float))
    est = as_float(get(result, "estimate"))
    fyi, fvi = _filled_points(trimfill) if trimfill is not None else (np.array([]), np.array([]))
    fsei = np.sqrt(fvi)
    if ax is None:
        fig = new_figure(4.6, 4.4)
        ax = fig.add_axes((0.15, 0.3, 0.8, 0.54))
    fig = ax.figure

    se_all = np.concatenate([sei, fsei])
    se_max = float(np.nanmax(se_all)) * 1.08 if se_all.size and np.isfinite(se_all).any() else 1.0
    lv = level / 100 if level > 1 else level
    z = NormalDist().inv_cdf(0.5 + lv / 2)
    if math.isfinite(est):
        funnel = Polygon(
            [(est - z * se_max, se_max), (est, 0.0), (est + z * se_max, se_max)],
            closed=True,
            facecolor="#f0f0f0",
            edgecolor="#8c8c8c",
            lw=0.8,
            ls=(0, (4, 2)),
            zorder=0,
            gid="funnel_contour",
        )
        ax.add_patch(funnel)
        ax.plot([est, est], [0, se_max], color=POOLED_COLOUR, lw=1.0, zorder=1, gid="pooled_line")
    handles = [Line2D([], [], ls="none", marker="o", color=STUDY_COLOUR, label="Studies")]
    ax.scatter(
        yi,
        sei,
        s=30,
        color=STUDY_COLOUR,
        edgecolors="white",
        linewidths=0.5,
        zorder=3,
        gid="funnel_studies",
    )
    if fyi.size:
        ax.scatter(
            fyi,
            fsei,
            s=30,
            facecolors="white",
            edgecolors=FILLED_COLOUR,
            linewidths=1.2,
            zorder=3,
            gid="filled_studies",
        )
        handles.append(
            Line2D(
                [],
                [],
                ls="none",
                marker="o",
                mfc="white",
                mec=FILLED_COLOUR,
                mew=1.2,
                label="Imputed (trim-and-fill)",
            )
        )
    handles.append(Line2D([], [], color=POOLED_COLOUR, lw=1.0, label="Pooled estimate"))
    if trimfill is not None:
        adj = as_float(get(get(trimfill, "result", default=trimfill), "estimate"))
        if math.isfinite(adj):
            ax.plot(
                [adj, adj],
                [0, se_max],
                color=FILLED_COLOUR,
                lw=1.0,
                ls=(0, (4, 2)),
                zorder=1,
                gid="adjusted_line",
            )
            handles.append(
                Line2D(
                    [], [], color=FILLED_COLOUR, lw=1.0, ls=(0, (4, 2)), label="Adjusted estimate"
                )
            )
    handles.append(
        Polygon(
            [(0, 0)],
            facecolor="#f0f0f0",
            edgecolor="#8c8c8c",
            ls=(0, (4, 2)),
            label=f"Pseudo {lv * 100:g}% CI",
        )
    )

    notes = []
    if regtest is not None:
        notes.append(_egger_text(regtest))
    if trimfill is not None:
        k0 = get(trimfill, "k0")
        side = get(trimfill, "side")
        k0_text = fmt_num(k0, 0) if is_finite(k0) else "n/a"
        notes.append(f"Trim-and-fill: {k0_text} imputed" + (f" ({side} side)" if side else ""))
    if notes:
        # above the panel, never over the funnel's apex where the precise studies are
        ax.annotate(
            "\n".join(notes),
            (0, 1),
            xycoords="axes fraction",
            xytext=(0, 6),
            textcoords="offset points",
            ha="left",
            va="bottom",
            fontsize=SMALL_FONT_SIZE,
            color=TEXT_GREY,
            gid="funnel_notes",
            linespacing=1.3,
        )

    xs = np.concatenate([yi, fyi, [est - z * se_max, est + z * se_max]])
    xs = xs[np.isfinite(xs)]
    lo, hi = (float(xs.min()), float(xs.max())) if xs.size else (-1.0, 1.0)
    pad = 0.05 * (hi - lo or 1.0)
    xlim = (lo - pad, hi + pad)
    ax.set_xlim(*xlim)
    ax.set_ylim(se_max, 0)
    _set_ticks(ax, tr, xlim)
    ax.set_ylabel("Standard error", fontsize=FONT_SIZE)
    if measure_label:
        ax.set_xlabel(measure_label, fontsize=FONT_SIZE)
    ax.tick_params(labelsize=FONT_SIZE)
    for side_ in ("top", "right"):
        ax.spines[side_].set_visible(False)
    ax.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.16),
        ncol=2,
        fontsize=SMALL_FONT_SIZE,
        frameon=False,
        handlelength=1.6,
    )
    if title:
        ax.set_title(
            title,
            fontsize=FONT_SIZE + 1,
            loc="left",
            fontweight="bold",
            pad=6 + 11 * len(notes) + (4 if notes else 0),
        )
    return fig
