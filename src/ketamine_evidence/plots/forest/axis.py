"""The pieces every forest plot shares: effect axis, ticks, intervals, diamonds, claim bands."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.patches import Polygon, Rectangle
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator
from matplotlib.transforms import blended_transform_factory

from .._common import (
    CLAIM_COLOUR,
    FONT_SIZE,
    POOLED_COLOUR,
    SMALL_FONT_SIZE,
    TEXT_GREY,
    ScaleTransform,
    as_float,
    fmt_ci,
    fmt_num,
)
from .._table import text_width_in, wrap_text

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
    runs_off = ((xlim[0], "<", not math.isfinite(lo) or lo < xlim[0]),
                (xlim[1], ">", not math.isfinite(hi) or hi > xlim[1]))
    for edge, marker, beyond in runs_off:  # left first, then right
        if beyond:
            ax.plot([edge], [y], marker=marker, ms=ARROW_SIZE, color=color, clip_on=False,
                    gid="clip_arrow", zorder=zorder)


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
