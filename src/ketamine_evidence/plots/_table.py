"""Layout engine for forest-style figures: text columns left and right of a plot panel.

Rows are laid out top to bottom at y = 0, -1, -2, ... in the panel's data coordinates, so the
markers drawn by the callers line up with the text. Column positions are measured from the text
itself, so nothing overlaps whatever the labels are.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.transforms import blended_transform_factory

from ._common import FONT_SIZE, TITLE_FONT_SIZE, new_figure

COL_GAP_IN = 0.16  # between text columns
PANEL_GAP_IN = 0.2  # between the text columns and the plot panel
MARGIN_IN = 0.08
BOTTOM_IN = 0.78  # ticks, direction labels and axis label under the panel


@functools.cache
def _renderer() -> RendererAgg:
    return RendererAgg(10, 10, 72)  # 72 dpi: one pixel = one point


def text_width_in(s: str, size: float = FONT_SIZE, weight: str = "normal") -> float:
    """Width of a (possibly multi-line) string in inches."""
    prop = FontProperties(size=size, weight=weight)
    lines = str(s).split("\n") or [""]
    widths = [
        _renderer().get_text_width_height_descent(line, prop, ismath=False)[0] for line in lines
    ]
    return max(widths) / 72.0


def wrap_text(
    text: str, width_in: float, size: float = FONT_SIZE, weight: str = "normal", hang: str = "  "
) -> str:
    """Wrap each line to ``width_in`` inches (measured, not counted in characters).

    Continuation lines keep the line's leading indent plus ``hang``. Words are split on
    ordinary spaces only, so no-break spaces hold "(n = 12)" together.
    """
    out = []
    for line in text.split("\n"):
        indent = line[: len(line) - len(line.lstrip(" "))]
        words = [w for w in line.split(" ") if w]
        cur = indent
        for w in words:
            trial = cur + ("" if cur.strip() == "" else " ") + w
            if text_width_in(trial, size, weight) > width_in and cur.strip():
                out.append(cur)
                cur = indent + hang + w
            else:
                cur = trial
        out.append(cur)
    return "\n".join(out)


@dataclass
class Column:
    """One text column. ``cells[i]`` is drawn on row ``i``; ``align`` is left/right/center."""

    header: str
    cells: Sequence[str]
    align: str = "left"
    group: str | None = None  # spanning header above ``header`` (e.g. the arm name)
    styles: Sequence[dict | None] | None = None  # per-cell extra text keywords (colour, bbox)
    width: float = field(default=0.0, init=False)  # inches, filled by the layout
    x0: float = field(default=0.0, init=False)  # left edge, inches from the panel edge


class ForestGrid:
    """Create (or adopt) the panel axes and draw the text table around it.

    Parameters
    ----------
    left, right : list of Column
        Columns left and right of the panel, in reading order.
    n_rows : int
        Number of body rows (studies, pooled rows, ...). Row ``i`` is at ``y = -i``.
    bold_rows : set of int
        Body rows written in bold (pooled estimates).
    ax : Axes or None
        Panel to draw in. With None a figure is created and sized to the table.
    plot_width, row_height : float
        Inches, used only when the figure is created here.
    """

    def __init__(
        self,
        left: list[Column],
        right: list[Column],
        n_rows: int,
        *,
        bold_rows: set[int] | None = None,
        ax: Axes | None = None,
        plot_width: float = 3.0,
        row_height: float = 0.21,
        title: str | None = None,
        extra_bottom_rows: float = 0.0,
        extra_top_rows: float = 0.0,
        gap_before: int | None = None,
    ) -> None:
        self.left, self.right, self.n_rows = left, right, n_rows
        # rows from ``gap_before`` on (the summary rows) sit half a row lower
        self.gap_before = n_rows if gap_before is None else gap_before
        self.bold_rows = bold_rows or set()
        self.has_groups = any(c.group for c in left + right)
        self.header_y = 1.0
        self.group_y = 2.0
        top = max(
            (self.group_y if self.has_groups else self.header_y) + 0.6,
            self.header_y + 0.6 + extra_top_rows,
        )
        bottom = self.y(n_rows - 1) - 0.6 - extra_bottom_rows
        self._measure(left)
        self._measure(right)
        left_w = self._place(left, from_right=True)
        right_w = self._place(right, from_right=False)
        self.left_width, self.right_width = left_w, right_w

        if ax is None:
            title_h = 0.3 if title else 0.0
            height = (top - bottom) * row_height + BOTTOM_IN + MARGIN_IN + title_h
            width = MARGIN_IN * 2 + left_w + right_w + plot_width + 2 * PANEL_GAP_IN
            fig = new_figure(width, height)
            ax = fig.add_axes(
                (
                    (MARGIN_IN + left_w + PANEL_GAP_IN) / width,
                    BOTTOM_IN / height,
                    plot_width / width,
                    (top - bottom) * row_height / height,
                )
            )
        self.ax = ax
        self.fig = ax.figure
        ax.set_ylim(bottom, top)
        ax.set_yticks([])
        for side in ("left", "right", "top"):
            ax.spines[side].set_visible(False)
        ax.tick_params(axis="x", labelsize=FONT_SIZE, direction="out", length=3)
        self.panel_width = self._panel_width_in()
        # x in axes fraction (may be < 0 or > 1), y in data rows
        self.trans = blended_transform_factory(ax.transAxes, ax.transData)
        self._draw_columns()
        if title:
            ax.set_title(
                title,
                fontsize=TITLE_FONT_SIZE,
                loc="left",
                pad=4,
                x=self.frac(-left_w - PANEL_GAP_IN),
                fontweight="bold",
            )

    # geometry -------------------------------------------------------------------------------
    def _panel_width_in(self) -> float:
        bbox = self.ax.get_position()
        return bbox.width * self.fig.get_figwidth()

    def frac(self, inches_from_left_edge: float) -> float:
        """Axes fraction of a point ``inches`` right of the panel's left edge."""
        return inches_from_left_edge / self.panel_width

    def _measure(self, cols: list[Column]) -> None:
        for c in cols:
            widths = [text_width_in(c.header, weight="bold")]
            for i, s in enumerate(c.cells):
                widths.append(text_width_in(s, weight="bold" if i in self.bold_rows else "normal"))
            c.width = max(widths)
        # a spanning group header must fit above its columns
        groups: dict[str, list[Column]] = {}
        for c in cols:
            if c.group:
                groups.setdefault(c.group, []).append(c)
        for name, members in groups.items():
            need = text_width_in(name, weight="bold")
            have = sum(m.width for m in members) + COL_GAP_IN * (len(members) - 1)
            if need > have:
                members[-1].width += need - have

    def _place(self, cols: list[Column], *, from_right: bool) -> float:
        """Set x0 (inches; left columns negative, measured from the panel edge)."""
        total = sum(c.width for c in cols) + COL_GAP_IN * max(len(cols) - 1, 0)
        x = -PANEL_GAP_IN - total if from_right else PANEL_GAP_IN
        for c in cols:
            c.x0 = x
            x += c.width + COL_GAP_IN
        return total

    def col_x(self, c: Column, side: str) -> float:
        """Axes fraction of a column's anchor for ``align``."""
        base = 0.0 if side == "left" else self.panel_width
        if c.align == "right":
            return self.frac(base + c.x0 + c.width)
        if c.align == "center":
            return self.frac(base + c.x0 + c.width / 2)
        return self.frac(base + c.x0)

    @property
    def table_left(self) -> float:
        """Axes fraction of the table's left edge."""
        return self.frac(-PANEL_GAP_IN - self.left_width) if self.left else 0.0

    @property
    def table_right(self) -> float:
        return self.frac(self.panel_width + PANEL_GAP_IN + self.right_width) if self.right else 1.0

    def y(self, row: float) -> float:
        """Data y of body row ``row`` (0 = first study; summary rows get half a row of air)."""
        return -float(row) - (0.5 if row >= self.gap_before else 0.0)

    # drawing ------------------------------------------------------------------------------
    def text(self, x_frac: float, row: float, s: str, **kw) -> None:
        kw.setdefault("fontsize", FONT_SIZE)
        kw.setdefault("va", "center")
        self.ax.text(x_frac, self.y(row), s, transform=self.trans, clip_on=False, **kw)

    def _draw_columns(self) -> None:
        for side, cols in (("left", self.left), ("right", self.right)):
            for c in cols:
                x = self.col_x(c, side)
                self.ax.text(
                    x,
                    self.header_y,
                    c.header,
                    transform=self.trans,
                    ha=c.align,
                    va="center",
                    fontsize=FONT_SIZE,
                    fontweight="bold",
                    clip_on=False,
                )
                for i, s in enumerate(c.cells):
                    if s:
                        extra = (c.styles[i] if c.styles and i < len(c.styles) else None) or {}
                        self.text(
                            x,
                            i,
                            s,
                            ha=c.align,
                            fontweight="bold" if i in self.bold_rows else "normal",
                            **extra,
                        )
            self._draw_groups(side, cols)
        line = Line2D(
            [self.table_left, self.table_right],
            [0.55, 0.55],
            transform=self.trans,
            color="black",
            lw=0.8,
            clip_on=False,
            gid="header_rule",
        )
        self.ax.add_line(line)

    def _draw_groups(self, side: str, cols: list[Column]) -> None:
        base = 0.0 if side == "left" else self.panel_width
        groups: dict[str, list[Column]] = {}
        for c in cols:
            if c.group:
                groups.setdefault(c.group, []).append(c)
        for name, members in groups.items():
            x0 = base + members[0].x0
            x1 = base + members[-1].x0 + members[-1].width
            self.ax.text(
                self.frac((x0 + x1) / 2),
                self.group_y,
                name,
                transform=self.trans,
                ha="center",
                va="center",
                fontsize=FONT_SIZE,
                fontweight="bold",
                clip_on=False,
            )
            self.ax.add_line(
                Line2D(
                    [self.frac(x0), self.frac(x1)],
                    [self.group_y - 0.45] * 2,
                    transform=self.trans,
                    color="black",
                    lw=0.6,
                    clip_on=False,
                )
            )
