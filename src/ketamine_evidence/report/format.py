"""Numbers, intervals, identifiers and generic tables as the report prints them (pure)."""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Mapping
from typing import Any

import pandas as pd

from ketamine_evidence.effects import RATIO_MEASURES
from ketamine_evidence.wording import claimed_range_text

from .model import DASH, MINUS, Link

# --------------------------------------------------------------------------------------------
# Formatting: the only place numbers are rounded
# --------------------------------------------------------------------------------------------


def _num(value: Any) -> float | None:
    """``value`` as a finite float, or ``None`` for missing, empty or non-numeric cells."""
    if value is None or isinstance(value, bool):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _text(value: Any) -> str:
    """A cell as text; missing values become the empty string."""
    if value is None:
        return ""
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def fmt_number(value: Any, digits: int = 2) -> str:
    """Round to ``digits`` decimals, with a true minus sign; a dash when missing."""
    x = _num(value)
    if x is None:
        return DASH
    out = f"{x:.{digits}f}"
    if out.startswith("-"):  # "-0.00" would read as a sign error
        out = out[1:] if float(out) == 0 else MINUS + out[1:]
    return out


def fmt_percent(value: Any) -> str:
    """A percentage with 0 decimals, e.g. ``'42%'``."""
    out = fmt_number(value, 0)
    return out if out == DASH else out + "%"


def fmt_p(value: Any) -> str:
    """p-value with 3 decimals, or ``'<0.001'``."""
    x = _num(value)
    if x is None:
        return DASH
    return "<0.001" if x < 0.001 else f"{x:.3f}"


def fmt_int(value: Any) -> str:
    x = _num(value)
    return DASH if x is None else f"{round(x):d}"


def fmt_interval(low: Any, high: Any, fmt=fmt_number) -> str:
    """``'a to b'`` (a dash would be mistaken for a minus sign)."""
    if _num(low) is None or _num(high) is None:
        return DASH
    return f"{fmt(low)} to {fmt(high)}"


def _metric_formatter(metric: str):
    return fmt_percent if metric == "percent_reduction" else fmt_number


def fmt_claimed_range(low: Any, high: Any, metric: str) -> str:
    """The claimed range in words, e.g. ``'60% to 100%'`` or ``'at most \u22120.80'``."""
    return claimed_range_text(_num(low), _num(high), _metric_formatter(metric))


def _on_display_scale(value: Any, measure: str) -> float | None:
    x = _num(value)
    if x is None:
        return None
    return math.exp(x) if measure.upper() in RATIO_MEASURES else x


def fmt_effect(value: Any, measure: str) -> str:
    """An effect on the analysis scale, shown on the scale readers know (ratios exponentiated)."""
    return fmt_number(_on_display_scale(value, measure))


def fmt_effect_interval(low: Any, high: Any, measure: str) -> str:
    return fmt_interval(_on_display_scale(low, measure), _on_display_scale(high, measure))


# --------------------------------------------------------------------------------------------
# Links and identifiers
# --------------------------------------------------------------------------------------------

_PMID = re.compile(r"^(?:PMID:?\s*)?(\d{1,9})$", re.IGNORECASE)
_NCT = re.compile(r"^(NCT\d{8})$", re.IGNORECASE)
_URL = re.compile(r"^https?://[^\s<>\"']+$")


def _split_ids(value: Any) -> list[str]:
    return [part.strip() for part in re.split(r"[;,]", _text(value)) if part.strip()]


def pubmed_link(pmid: str) -> Link | None:
    m = _PMID.match(pmid.strip())
    if not m:
        return None
    return Link(f"PMID {m.group(1)}", f"https://pubmed.ncbi.nlm.nih.gov/{m.group(1)}/")


def ctgov_link(nct: str) -> Link | None:
    m = _NCT.match(nct.strip())
    if not m:
        return None
    nct_id = m.group(1).upper()
    return Link(nct_id, f"https://clinicaltrials.gov/study/{nct_id}")


def source_links(value: Any) -> list[Link] | str:
    """Links for a provenance cell: ``PMID:...``, ``NCT...``, ``DOI:...`` or a URL.

    Returns the plain text when no part of it is a recognised identifier.
    """
    parts = _split_ids(value)
    links: list[Link] = []
    for part in parts:
        link = None
        if _URL.match(part):
            link = Link(part, part)
        elif part.upper().startswith("DOI:"):
            doi = part[4:].strip()
            link = Link(part, f"https://doi.org/{doi}")
        else:
            link = pubmed_link(part) if part.upper().startswith("PMID") else ctgov_link(part)
        if link is None:
            return _text(value)
        links.append(link)
    return links if links else _text(value)


# --------------------------------------------------------------------------------------------
# Small helpers on tables
# --------------------------------------------------------------------------------------------


def _rows(df: pd.DataFrame | None) -> list[dict[str, Any]]:
    if df is None or df.empty:
        return []
    return df.to_dict(orient="records")


def _has_rows(df: pd.DataFrame | None) -> bool:
    return df is not None and not df.empty


def _filter(df: pd.DataFrame | None, column: str, value: Any) -> pd.DataFrame | None:
    if not _has_rows(df) or column not in df.columns:
        return None
    return df[df[column].astype(str) == str(value)]


_ACRONYMS = {"id": "ID", "nct": "NCT", "pmid": "PMID", "pmids": "PMIDs", "doi": "DOI",
             "ctgov": "ClinicalTrials.gov", "pubmed": "PubMed", "rob": "RoB", "n": "n"}


def _humanise(key: str) -> str:
    """``nct_id`` -> ``NCT ID``, ``duplicates_removed`` -> ``Duplicates removed``."""
    words = [_ACRONYMS.get(w.lower(), w) for w in str(key).replace("_", " ").split()]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def _flatten(obj: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Nested dicts and lists as ``(path, value)`` rows for a key/value table."""
    rows: list[tuple[str, str]] = []
    if isinstance(obj, Mapping):
        for key, value in obj.items():
            name = f"{prefix} \u203a {_humanise(key)}" if prefix else _humanise(key)
            rows.extend(_flatten(value, name))
    elif isinstance(obj, list) and obj and any(isinstance(v, Mapping | list) for v in obj):
        for i, value in enumerate(obj, start=1):
            rows.extend(_flatten(value, f"{prefix} [{i}]" if prefix else f"[{i}]"))
    elif isinstance(obj, list):
        rows.append((prefix, "; ".join(_text(v) for v in obj) or "none"))
    else:
        rows.append((prefix, _text(obj) if obj is not None else DASH))
    return rows


def _generic_table(df: pd.DataFrame | None) -> dict[str, Any] | None:
    """Any table as headers + text cells; identifier columns become links."""
    if not _has_rows(df):
        return None
    headers = [_humanise(c) for c in df.columns]
    body = []
    for row in _rows(df):
        cells: list[Any] = []
        for column, value in row.items():
            if column in {"source_id", "source", "pmid", "pmids", "nct_id", "nct_ids"}:
                cells.append(source_links(value))
            elif "percent" in str(column) or str(column).endswith("_pct"):
                cells.append(fmt_percent(value) if _num(value) is not None else _text(value))
            elif isinstance(value, float):
                cells.append(_text(value) if value.is_integer() else fmt_number(value))
            else:
                cells.append(_text(value))
        body.append(cells)
    return {"headers": headers, "rows": body}


def figure_uri(figures: Mapping[str, bytes], stem: str) -> str | None:
    """The figure as a ``data:image/png;base64`` URI, or ``None`` when absent or not a PNG."""
    data = figures.get(stem)
    if not data or not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return None
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def _state(obj: Any) -> str:
    if obj is None:
        return "missing"
    if isinstance(obj, pd.DataFrame):
        return "empty" if obj.empty else "loaded"
    return "empty" if len(obj) == 0 else "loaded"
