"""Shared pieces of the plotting code: palette, font sizes, number formatting, scale transforms.

Nothing here computes statistics; it only formats numbers that the analysis code passed in.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

# Okabe & Ito (2008) colour-blind-safe palette.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
STUDY_COLOUR = OKABE_ITO["blue"]
POOLED_COLOUR = "#1a1a1a"
PI_COLOUR = OKABE_ITO["vermillion"]
CLAIM_COLOUR = OKABE_ITO["orange"]
FILLED_COLOUR = OKABE_ITO["vermillion"]
GRID_GREY = "#bdbdbd"
TEXT_GREY = "#4d4d4d"

FONT_SIZE = 9.0  # body text (study rows, ticks)
SMALL_FONT_SIZE = 8.0  # footnotes, heterogeneity line; never smaller than 8 pt
TITLE_FONT_SIZE = 10.0

# Names meta-analysts know, keyed by metafor's codes.
METHOD_NAMES = {
    "REML": "REML",
    "ML": "ML",
    "DL": "DerSimonian-Laird",
    "PM": "Paule-Mandel",
    "HE": "Hedges",
    "SJ": "Sidik-Jonkman",
    "HS": "Hunter-Schmidt",
    "EB": "empirical Bayes",
    "FE": "common effect",
    "EE": "common effect",
}
TEST_NAMES = {"knha": "HKSJ", "hksj": "HKSJ", "t": "t", "z": "Wald z", "adhoc": "HKSJ (ad hoc)"}


def new_figure(width: float, height: float) -> Figure:
    """A figure not registered with pyplot (no global state, nothing to close), on an Agg
    canvas so it can be drawn and measured without a display."""
    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def get(obj: Any, *names: str, default: Any = None) -> Any:
    """First of ``names`` found on ``obj`` as an attribute or mapping key (duck typing)."""
    for name in names:
        if isinstance(obj, dict):
            if name in obj:
                return obj[name]
        elif hasattr(obj, name):
            return getattr(obj, name)
    return default


def as_float(x: Any) -> float:
    """``x`` as a float; None and non-numbers become NaN."""
    if x is None:
        return math.nan
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


def is_finite(x: Any) -> bool:
    return math.isfinite(as_float(x))


def fmt_num(x: Any, digits: int = 2) -> str:
    """Fixed-point number; "n/a" for missing. Small non-zero values keep two significant digits."""
    v = as_float(x)
    if not math.isfinite(v):
        return "n/a"
    if v != 0 and abs(v) < 10 ** (-digits):
        return f"{v:.2g}"
    s = f"{v:.{digits}f}"
    if s.startswith("-") and float(s) == 0:
        s = s[1:]
    return s.replace("-", "\N{MINUS SIGN}")


def fmt_p(p: Any) -> str:
    """P value as ``p = 0.012`` / ``p < 0.001`` (APA-like, three decimals)."""
    v = as_float(p)
    if not math.isfinite(v):
        return "p = n/a"
    if v < 0.001:
        return "p < 0.001"
    return f"p = {v:.3f}"


def fmt_ci(lo: Any, hi: Any, digits: int = 2) -> str:
    return f"[{fmt_num(lo, digits)}, {fmt_num(hi, digits)}]"


@dataclass(frozen=True)
class ScaleTransform:
    """How analysis-scale numbers are shown: ``func`` maps to the displayed scale.

    ``inverse`` (optional) maps back; with it the axis gets ticks at round displayed values.
    """

    func: Callable[[np.ndarray], np.ndarray]
    inverse: Callable[[np.ndarray], np.ndarray] | None = None
    name: str = "custom"

    def __call__(self, x: Any) -> Any:
        with np.errstate(over="ignore", invalid="ignore"):
            return self.func(x)

    def interval(self, lo: Any, hi: Any) -> tuple[float, float]:
        """Transformed interval with its ends in increasing order (transform may decrease)."""
        a, b = as_float(self(as_float(lo))), as_float(self(as_float(hi)))
        if math.isfinite(a) and math.isfinite(b) and a > b:
            a, b = b, a
        return a, b


IDENTITY = ScaleTransform(lambda x: x, lambda x: x, "identity")
EXP = ScaleTransform(np.exp, np.log, "exp")
# Ratio of means (log scale) shown as percent reduction: 100 * (1 - exp(x)).
PERCENT_REDUCTION = ScaleTransform(
    lambda x: 100.0 * (1.0 - np.exp(x)),
    lambda p: np.log1p(-np.asarray(p) / 100.0),
    "percent_reduction",
)
# Ratio (log scale) shown as percent change: 100 * (exp(x) - 1).
PERCENT_CHANGE = ScaleTransform(
    lambda x: 100.0 * np.expm1(x), lambda p: np.log1p(np.asarray(p) / 100.0), "percent_change"
)
TRANSFORMS = {t.name: t for t in (IDENTITY, EXP, PERCENT_REDUCTION, PERCENT_CHANGE)}


def resolve_transform(transform: Any) -> ScaleTransform:
    """Accept None, a name ("exp", "percent_reduction", ...), a ScaleTransform,
    a ``(func, inverse)`` pair, or a bare callable."""
    if transform is None:
        return IDENTITY
    if isinstance(transform, ScaleTransform):
        return transform
    if isinstance(transform, str):
        try:
            return TRANSFORMS[transform]
        except KeyError:
            raise ValueError(
                f"unknown transform {transform!r}; use one of {sorted(TRANSFORMS)} or a callable"
            ) from None
    if isinstance(transform, tuple) and len(transform) == 2:
        return ScaleTransform(transform[0], transform[1])
    if callable(transform):
        return ScaleTransform(transform)
    raise TypeError(
        f"transform must be None, a name, a callable or a (func, inverse) pair, not {transform!r}"
    )
