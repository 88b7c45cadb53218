"""PRISMA 2020 flow diagram (Page et al. 2021, BMJ 372:n71), drawn from a counts dictionary."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from ._common import OKABE_ITO, SMALL_FONT_SIZE, TEXT_GREY, new_figure
from ._table import text_width_in, wrap_text

MISSING = "n/a"  # key absent from the counts
NOT_RUN = "not run"  # key present, value None (e.g. the registry search was not run)

SOURCE_NAMES = {
    "pubmed": "PubMed",
    "medline": "MEDLINE",
    "embase": "Embase",
    "psycinfo": "PsycINFO",
    "cochrane": "Cochrane CENTRAL",
    "ctgov": "ClinicalTrials.gov",
    "ictrp": "WHO ICTRP",
    "known_reports": "Reports known to the reviewers",
    "citation_searching": "Citation searching",
    "websites": "Websites",
    "organisations": "Organisations",
}
REGISTERS = {"ctgov", "ictrp", "clinicaltrials", "euctr", "anzctr", "isrctn"}
REASON_NAMES = {
    "wrong_population": "Wrong population",
    "wrong_intervention": "Wrong intervention",
    "wrong_design": "Wrong study design",
    "review": "Review",
    "case_report": "Case report",
    "protocol_no_results": "Protocol, no results",
    "prevention_question": "Prevention question",
    "animal": "Animal study",
    "duplicate": "Duplicate",
    "ongoing_no_results": "Ongoing, no results",
    "awaiting_classification": "Awaiting classification",
    "not_retrieved": "Not retrieved",
    "other": "Other",
}

#: reports of studies neither excluded nor included (PRISMA 2020 item 16a: "studies ongoing",
#: "studies awaiting classification"); given, they get a box of their own in each column
APART_KEYS = ("reports_ongoing", "reports_awaiting_classification")
PHASES = (("Identification", 0, 0), ("Screening", 1, 3), ("Included", 4, 4))
PHASE_FILL = "#d6eaf8"  # light tint of Okabe-Ito sky blue
HEADER_FILL = "#fbe7bf"  # light tint of Okabe-Ito orange
BOX_EDGE = "#404040"
LINE_H_IN = SMALL_FONT_SIZE * 1.3 / 72
PAD_IN = 0.07


NBSP = "\N{NO-BREAK SPACE}"


def _nn(text: str) -> str:
    """Keep "(n = 12)" on one line when wrapping."""
    text = text.replace(f"(n = {NOT_RUN})", f"({NOT_RUN})")
    return text.replace("(n = ", f"(n{NBSP}={NBSP}")


def _n(value: Any) -> str:
    if value is None:
        return NOT_RUN
    if isinstance(value, Mapping):
        return MISSING
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return str(value)


def _count(d: Mapping | None, key: str) -> str:
    if not isinstance(d, Mapping) or key not in d:
        return MISSING
    return _n(d[key])


def _name(key: str) -> str:
    return SOURCE_NAMES.get(key, key.replace("_", " ").capitalize())


_SOURCE_KEYS = {"pubmed": "pubmed", "clinicaltrials.gov": "ctgov"}


def counts_from_prisma_json(prisma: Mapping[str, Any]) -> dict[str, Any]:
    """Translate ``data/processed/prisma.json`` (``ketamine_evidence.screening.prisma``) to box counts.

    The JSON keeps one column of stage counts per identification route
    (``databases_and_registers`` and ``other_methods``); the diagram takes the database
    column as the main flow and gives the other-methods column its own retrieval and
    eligibility boxes, as in the PRISMA 2020 template. A database whose search was not run
    prints "not run" instead of 0, and the search status note is shown under the diagram.
    """
    search = prisma.get("database_search") or {}
    status = search.get("per_source") or {}
    ident = prisma.get("identification") or {}
    main = prisma.get("databases_and_registers") or {}
    other = prisma.get("other_methods") or {}
    included = prisma.get("included") or {}
    databases = {}
    for name, n in (ident.get("databases") or {}).items():
        key = _SOURCE_KEYS.get(str(name).lower(), str(name).lower())
        databases[key] = None if status.get(key) == "not_run" else n

    def excluded(column: Mapping) -> Any:
        reasons = column.get("reports_excluded_reasons")
        return reasons if reasons else column.get("reports_excluded")

    def apart(column: Mapping) -> dict:
        return {key: column[key] for key in APART_KEYS if key in column}

    other_methods = dict(ident.get("other_methods") or {})
    if other:
        other_methods |= {
            "reports_sought": other.get("reports_sought"),
            "reports_not_retrieved": other.get("reports_not_retrieved"),
            "reports_assessed": other.get("reports_assessed"),
            "reports_excluded": excluded(other),
            **apart(other),
        }
    not_run = all(v is None for v in databases.values()) and bool(databases)
    return {
        **{key: None if not_run else n for key, n in apart(main).items()},
        "identification": {"databases": databases, "other_methods": other_methods},
        "duplicates_removed": None if not_run else main.get("duplicates_removed"),
        "records_screened": None if not_run else main.get("records_screened"),
        "records_excluded": None if not_run else main.get("records_excluded"),
        "reports_sought": None if not_run else main.get("reports_sought"),
        "reports_not_retrieved": None if not_run else main.get("reports_not_retrieved"),
        "reports_assessed": None if not_run else main.get("reports_assessed"),
        "reports_excluded": None if not_run else excluded(main),
        "studies_included": included.get("studies"),
        "reports_included": included.get("reports"),
        "notes": [search["note"]] if search.get("note") and search.get("status") != "complete" else [],
    }


def prisma_boxes(counts: Mapping[str, Any]) -> dict[str, Any]:
    """Map the PRISMA counts dictionary to the text of each box (the one place to adapt keys).

    Missing keys print as "n/a", ``None`` values as "not run"; nothing raises.

    Expected keys (all optional)::

        {"identification": {"databases": {"pubmed": int|None, "ctgov": int|None},
                            "other_methods": {"known_reports": int, ...}},
         "duplicates_removed", "records_screened", "records_excluded", "reports_sought",
         "reports_not_retrieved", "reports_assessed", "reports_excluded": {reason: n},
         "reports_ongoing", "reports_awaiting_classification",
         "studies_included", "reports_included", "notes": [str, ...]}

    ``reports_ongoing`` and ``reports_awaiting_classification`` (reports of studies that are
    neither excluded nor included) get a box of their own below the eligibility boxes, as
    PRISMA 2020 asks (item 16a); without either key there is no such box.

    Databases and registers are told apart by name (``ctgov``, ``ictrp`` ... are registers).
    If ``other_methods`` itself holds ``reports_sought``, ``reports_not_retrieved``,
    ``reports_assessed`` and ``reports_excluded``, the other-methods column gets its own
    retrieval and eligibility boxes, as in the PRISMA 2020 template; otherwise its records
    are taken to join the main flow at screening (the counts above include them).
    """
    c = counts if isinstance(counts, Mapping) else {}
    if "databases_and_registers" in c:
        c = counts_from_prisma_json(c)
    ident = c.get("identification") if isinstance(c.get("identification"), Mapping) else {}
    dbs = ident.get("databases") if isinstance(ident.get("databases"), Mapping) else {}
    other = ident.get("other_methods") if isinstance(ident.get("other_methods"), Mapping) else {}
    stage_keys = ("reports_sought", "reports_not_retrieved", "reports_assessed", "reports_excluded",
                  *APART_KEYS)
    other_sources = {k: v for k, v in other.items() if k not in stage_keys}

    databases = [f"{_name(k)} (n = {_n(v)})" for k, v in dbs.items() if k.lower() not in REGISTERS]
    registers = [f"{_name(k)} (n = {_n(v)})" for k, v in dbs.items() if k.lower() in REGISTERS]
    lines = ["Records identified from:"]
    lines += [f"  Databases: {s}" for s in databases] or [f"  Databases (n = {MISSING})"]
    lines += [f"  Registers: {s}" for s in registers] or [f"  Registers (n = {MISSING})"]

    def excluded(d: Mapping | None, title: str) -> str:
        reasons = d.get("reports_excluded") if isinstance(d, Mapping) else None
        if not isinstance(d, Mapping) or "reports_excluded" not in d:
            return f"{title} (n = {MISSING})"
        if not isinstance(reasons, Mapping):
            return f"{title} (n = {_n(reasons)})"
        if not reasons:
            return f"{title}: none"
        return f"{title}:\n" + "\n".join(
            f"  {REASON_NAMES.get(r, r.replace('_', ' ').capitalize())} (n = {_n(n)})"
            for r, n in reasons.items()
        )

    def apart(d: Mapping) -> str | None:
        if not isinstance(d, Mapping) or not any(k in d for k in APART_KEYS):
            return None
        return (f"Reports of studies ongoing (n = {_count(d, 'reports_ongoing')})\n"
                "Reports of studies awaiting classification "
                f"(n = {_count(d, 'reports_awaiting_classification')})")

    boxes: dict[str, Any] = {
        "identified": "\n".join(lines),
        "removed": f"Records removed before screening:\n  Duplicate records removed (n = "
        f"{_count(c, 'duplicates_removed')})",
        "screened": f"Records screened\n(n = {_count(c, 'records_screened')})",
        "screen_excluded": f"Records excluded\n(n = {_count(c, 'records_excluded')})",
        "sought": f"Reports sought for retrieval\n(n = {_count(c, 'reports_sought')})",
        "not_retrieved": f"Reports not retrieved\n(n = {_count(c, 'reports_not_retrieved')})",
        "assessed": f"Reports assessed for eligibility\n(n = {_count(c, 'reports_assessed')})",
        "assessed_excluded": excluded(c, "Reports excluded"),
        "apart": apart(c),
        "included": (
            f"Studies included in review\n(n = {_count(c, 'studies_included')})\n"
            f"Reports of included studies\n(n = {_count(c, 'reports_included')})"
        ),
        "other_identified": "Records identified from:\n"
        + (
            "\n".join(f"  {_name(k)} (n = {_n(v)})" for k, v in other_sources.items())
            or f"  Other methods (n = {MISSING})"
        ),
        "other_stages": None,
        "notes": [str(n) for n in c.get("notes") or []],
    }
    if any(k in other for k in stage_keys):
        boxes["other_stages"] = {
            "sought": f"Reports sought for retrieval\n(n = {_count(other, 'reports_sought')})",
            "not_retrieved": f"Reports not retrieved\n(n = {_count(other, 'reports_not_retrieved')})",
            "assessed": f"Reports assessed for eligibility\n(n = {_count(other, 'reports_assessed')})",
            "assessed_excluded": excluded(other, "Reports excluded"),
            "apart": apart(other),
        }
    return boxes


def _wrap(text: str, width_in: float, hang: str = "  ") -> str:
    return wrap_text(text, width_in, SMALL_FONT_SIZE, hang=hang)


def _height(text: str) -> float:
    return (text.count("\n") + 1) * LINE_H_IN + 2 * PAD_IN


def prisma_flow(
    counts: Mapping[str, Any],
    *,
    title: str | None = None,
    abstract_only: int | None = None,
    width: float = 7.2,
    ax: Axes | None = None,
) -> Figure:
    """PRISMA 2020 flow diagram for a new review with databases, registers and other methods.

    Parameters
    ----------
    counts : dict
        See :func:`prisma_boxes` for the keys; missing keys show as "n/a", ``None`` as "not run".
    width : float
        Figure width in inches when the figure is created here; the height follows the text.
    abstract_only : int, optional
        Included studies read only in abstracts or registry records. Their full reports were
        not retrieved, so the "Reports not retrieved" box says so beside its count (which
        counts records, not full texts) instead of reading as if every full text was read.
    ax : Axes, optional
        Drawn in data units of inches; the axes' limits are set to the diagram's size.

    Returns
    -------
    matplotlib.figure.Figure
    """
    b = prisma_boxes(counts)
    if abstract_only:
        extra = (
            f"\nFull texts not retrieved: {abstract_only} included studies read in "
            "abstracts or registry records only"
        )
        target = b["other_stages"] if b["other_stages"] is not None else b
        target["not_retrieved"] += extra
    own_other = b["other_stages"] is not None
    # columns (inches): phase bar, main flow, its exclusions, other methods [, its exclusions]
    phase_w, gap = 0.32, 0.22
    n_cols = 4 if own_other else 3
    avail = width - phase_w - 0.2 - gap * n_cols  # 0.1 in margins left and right
    col_w = [avail * f for f in ((0.28, 0.27, 0.23, 0.22) if own_other else (0.36, 0.34, 0.30))]
    col_x = [phase_w + 0.1 + gap]
    for w in col_w[:-1]:
        col_x.append(col_x[-1] + w + gap)
    inner = [w - 2 * PAD_IN for w in col_w]

    def wrap(key: str, col: int, src: Mapping | None = None) -> str:
        return _wrap(_nn((src or b)[key]), inner[col])

    rows: list[list[tuple[int, str]]] = [
        [(0, wrap("identified", 0)), (1, wrap("removed", 1)), (2, wrap("other_identified", 2))],
        [(0, wrap("screened", 0)), (1, wrap("screen_excluded", 1))],
        [(0, wrap("sought", 0)), (1, wrap("not_retrieved", 1))],
        [(0, wrap("assessed", 0)), (1, wrap("assessed_excluded", 1))],
        [(0, wrap("included", 0))],
    ]
    # reports of studies ongoing / awaiting classification: a row of their own between the
    # eligibility and the included boxes, branching off the flow (neither excluded nor included)
    apart_row: list[tuple[int, str]] = [(1, wrap("apart", 1))] if b["apart"] else []
    if own_other:
        o = b["other_stages"]
        rows[2] += [(2, wrap("sought", 2, o)), (3, wrap("not_retrieved", 3, o))]
        rows[3] += [(2, wrap("assessed", 2, o)), (3, wrap("assessed_excluded", 3, o))]
        if o["apart"]:
            apart_row.append((3, wrap("apart", 3, o)))
    phases = PHASES
    if apart_row:
        rows.insert(4, apart_row)
        phases = (("Identification", 0, 0), ("Screening", 1, 4), ("Included", 5, 5))
    included_row = len(rows) - 1
    header_h, vgap, top = 0.34, 0.28, 0.08
    main_w = col_x[1] + col_w[1] - col_x[0]
    other_w = col_x[-1] + col_w[-1] - col_x[2]
    headers = [
        _wrap("Identification of studies via databases and registers", main_w - 2 * PAD_IN, ""),
        _wrap("Identification of studies via other methods", other_w - 2 * PAD_IN, ""),
    ]
    header_h = max(header_h, *(_height(h) for h in headers))
    heights = [max(_height(t) for _, t in row) for row in rows]
    # each phase bar must be tall enough for its rotated label
    for name, r0, r1 in phases:
        need = text_width_in(name, SMALL_FONT_SIZE + 1, "bold") + 0.2
        have = sum(heights[r0 : r1 + 1]) + vgap * (r1 - r0)
        if have < need:
            heights[r0] += need - have
    y = top + header_h + vgap
    row_y = []
    for h in heights:
        row_y.append(y)
        y += h + vgap
    notes = [_wrap(f"Note: {n}", width - 0.3) for n in b["notes"]]
    notes_h = sum(_height(n) - 2 * PAD_IN for n in notes) + (0.1 if notes else 0)
    height = y - vgap + 0.12 + notes_h + (0.3 if title else 0)
    if title:
        row_y = [r + 0.3 for r in row_y]
    if ax is None:
        fig = new_figure(width, height)
        ax = fig.add_axes((0, 0, 1, 1))
    fig = ax.figure
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    ax.set_axis_off()
    off = 0.3 if title else 0.0
    if title:
        ax.text(0.1, 0.18, title, fontsize=SMALL_FONT_SIZE + 2, fontweight="bold", va="center")

    def box(x, y0, w, h, text, fill="white", gid="prisma_box", **kw):
        ax.add_patch(
            FancyBboxPatch(
                (x, y0),
                w,
                h,
                boxstyle="round,pad=0,rounding_size=0.04",
                facecolor=fill,
                edgecolor=BOX_EDGE,
                lw=0.8,
                gid=gid,
            )
        )
        ax.text(
            x + kw.pop("tx", PAD_IN),
            y0 + h / 2,
            text,
            fontsize=SMALL_FONT_SIZE,
            va="center",
            ha=kw.pop("ha", "left"),
            linespacing=1.3,
            **kw,
        )

    def arrow(p0, p1):
        ax.add_patch(
            FancyArrowPatch(
                p0,
                p1,
                arrowstyle="-|>",
                mutation_scale=9,
                lw=0.8,
                color=BOX_EDGE,
                shrinkA=0,
                shrinkB=0,
                gid="prisma_arrow",
            )
        )

    # headers
    for x, w, text in ((col_x[0], main_w, headers[0]), (col_x[2], other_w, headers[1])):
        box(
            x,
            top + off,
            w,
            header_h,
            text,
            fill=HEADER_FILL,
            gid="prisma_header",
            tx=w / 2,
            ha="center",
            fontweight="bold",
        )
    # phase bars
    for name, r0, r1 in phases:
        y0, y1 = row_y[r0], row_y[r1] + heights[r1]
        ax.add_patch(
            FancyBboxPatch(
                (0.1, y0),
                phase_w,
                y1 - y0,
                boxstyle="round,pad=0,rounding_size=0.06",
                facecolor=PHASE_FILL,
                edgecolor=OKABE_ITO["sky_blue"],
                lw=0.8,
                gid="prisma_phase",
            )
        )
        ax.text(
            0.1 + phase_w / 2,
            (y0 + y1) / 2,
            name,
            rotation=90,
            ha="center",
            va="center",
            fontsize=SMALL_FONT_SIZE + 1,
            fontweight="bold",
        )
    # boxes and arrows
    geo: dict[tuple[int, int], tuple[float, float, float, float]] = {}
    for r, row in enumerate(rows):
        for col, text in row:
            h = heights[r] if col in (0, 2) else _height(text)
            y0 = row_y[r] + (heights[r] - h) / 2
            box(col_x[col], y0, col_w[col], h, text)
            geo[(r, col)] = (col_x[col], y0, col_w[col], h)
    for r in range(len(rows)):
        if (r, 0) not in geo:
            continue
        x, y0, w, h = geo[(r, 0)]
        if (r, 1) in geo:
            arrow((x + w, y0 + h / 2), (col_x[1], y0 + h / 2))
        below = next((geo[(n, 0)] for n in range(r + 1, len(rows)) if (n, 0) in geo), None)
        if below is not None:
            arrow((x + w / 2, y0 + h), (x + w / 2, below[1]))
        if own_other and (r, 2) in geo:
            ox, oy, ow, oh = geo[(r, 2)]
            if (r, 3) in geo:
                arrow((ox + ow, oy + oh / 2), (col_x[3], oy + oh / 2))
            if (r + 1, 2) in geo:
                arrow((ox + ow / 2, oy + oh), (ox + ow / 2, geo[(r + 1, 2)][1]))
    # a box without a flow box to its left branches off the vertical line of its column
    for (r, col), (bx, by, _, bh) in list(geo.items()):
        if col in (1, 3) and (r, col - 1) not in geo:
            flow_x = geo[(3, col - 1)][0] + geo[(3, col - 1)][2] / 2
            arrow((flow_x, by + bh / 2), (bx, by + bh / 2))
    ox, oy, ow, oh = geo[(0, 2)]
    if own_other:
        # other-methods reports assessed and included join the included box
        ax_, ay, aw, ah = geo[(3, 2)]
        ix, iy, iw, ih = geo[(included_row, 0)]
        _elbow(ax, (ax_ + aw / 2, ay + ah), (ix + iw, iy + ih / 2), arrow)
    else:
        # records from other methods join the main flow before screening, through the gap
        # under the identification row (never across a box)
        mx, my, mw, mh = geo[(0, 0)]
        y_join = row_y[0] + heights[0] + vgap / 2
        ax.plot(
            [ox + ow / 2, ox + ow / 2],
            [oy + oh, y_join],
            color=BOX_EDGE,
            lw=0.8,
            gid="prisma_connector",
        )
        arrow((ox + ow / 2, y_join), (mx + mw / 2, y_join))
    # notes
    ny = row_y[-1] + heights[-1] + 0.15
    for n in notes:
        ax.text(
            0.1,
            ny,
            n,
            fontsize=SMALL_FONT_SIZE,
            va="top",
            color=TEXT_GREY,
            linespacing=1.3,
            gid="prisma_note",
        )
        ny += _height(n) - 2 * PAD_IN
    return fig


def _elbow(ax: Axes, start, end, arrow) -> None:
    """Down from ``start`` then left into ``end`` (a PRISMA-style connector)."""
    (x0, y0), (x1, y1) = start, end
    ax.plot([x0, x0], [y0, y1], color=BOX_EDGE, lw=0.8, gid="prisma_connector")
    arrow((x0, y1), (x1, y1))
