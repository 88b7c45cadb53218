"""Registry strings to numbers: posted values, time frames, dispersion types and SDs (pure)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from .. import KetamineEvidenceError

OM = "resultsSection.outcomeMeasuresModule.outcomeMeasures"


class RegistryResultsError(KetamineEvidenceError, ValueError):
    """A registry record whose results cannot be read at all (not a v2 study object)."""


# --------------------------------------------------------------------------------------
# small parsers
# --------------------------------------------------------------------------------------
_NUM_RE = re.compile(r"^\s*([<>]=?|=|≤|≥)?\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$")


def parse_registry_number(text: Any) -> tuple[float | None, str | None, str | None]:
    """Parse a number posted as a string.

    Returns
    -------
    (value, qualifier, problem)
        ``value`` is a float or None; ``qualifier`` is ``"<"``, ``">"``, ``"<="``, ``">="``,
        ``"="`` or None (p-values such as ``"<0.001"``); ``problem`` says why the text is not a
        number (``"NA"``, empty, free text), or None when it parsed.
    """
    if text is None:
        return None, None, "missing"
    if isinstance(text, bool):
        return None, None, f"not a number: {text!r}"
    if isinstance(text, int | float):
        if isinstance(text, float) and not math.isfinite(text):
            return None, None, f"not a finite number: {text!r}"
        return float(text), None, None
    s = str(text).strip().replace(",", "")
    if s == "":
        return None, None, "empty"
    m = _NUM_RE.match(s)
    if not m:
        return None, None, f"not a number: {text!r}"
    qual = m.group(1)
    qual = {"≤": "<=", "≥": ">="}.get(qual, qual) if qual else None
    return float(m.group(2)), qual, None


_UNIT_DAYS = {
    "minute": 1 / 1440,
    "min": 1 / 1440,
    "hour": 1 / 24,
    "hr": 1 / 24,
    "h": 1 / 24,
    "day": 1.0,
    "week": 7.0,
    "wk": 7.0,
    "month": 30.4375,
    "year": 365.25,
}
_TF_NUM_UNIT = re.compile(
    r"(\d+(?:\.\d+)?)\s*-?\s*(minutes?|mins?|hours?|hrs?|h|days?|weeks?|wks?|months?|years?)\b",
    re.IGNORECASE,
)
_TF_UNIT_NUM = re.compile(r"\b(day|week|month|year|hour)\s*(\d+(?:\.\d+)?)\b", re.IGNORECASE)


def parse_timeframe_days(time_frame: str | None) -> float | None:
    """Days after the first dose for a registry ``timeFrame`` text, or None when unclear.

    "24 hours" -> 1, "Day 7" -> 7, "Week 2" -> 14, "From Baseline to Week 12" -> 84,
    "Baseline (Week 0)" -> 0, "2 year/end of study" -> 730.5. When the text names several
    times (e.g. "baseline to week 12"), the last one is taken, since a posted change or endpoint
    refers to the end of the interval. Months are 30.4375 days, years 365.25 days.
    """
    if time_frame is None or (isinstance(time_frame, float) and math.isnan(time_frame)):
        return None
    text = str(time_frame)
    hits: list[tuple[int, float]] = []
    for m in _TF_NUM_UNIT.finditer(text):
        unit = m.group(2).lower().rstrip("s") or "h"
        unit = {"min": "minute", "hr": "hour", "wk": "week"}.get(unit, unit)
        hits.append((m.start(), float(m.group(1)) * _UNIT_DAYS[unit]))
    for m in _TF_UNIT_NUM.finditer(text):
        hits.append((m.start(), float(m.group(2)) * _UNIT_DAYS[m.group(1).lower()]))
    if not hits:
        return 0.0 if re.search(r"\bbaseline\b", text, re.IGNORECASE) else None
    hits.sort()
    return hits[-1][1]


def normalise_dispersion(text: str | None) -> str | None:
    """Map an outcome ``dispersionType`` (free text in v2) to an enum-like name.

    Observed display texts ("Standard Deviation", "Standard Error", "95% Confidence
    Interval", "Full Range") and the enum spellings (``STANDARD_DEVIATION``,
    ``STANDARD_ERROR_OF_MEAN``, ``CONFIDENCE_95`` ...) are both accepted, case-insensitively.
    Confidence intervals become ``CONFIDENCE_<level>`` (``CONFIDENCE_95``, ``CONFIDENCE_90``);
    anything unrecognised becomes ``OTHER:<text>`` so it is kept and reported, never guessed.
    """
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return None
    t = str(text).strip()
    if t == "" or t.upper() == "NA":
        return None
    low = t.lower().replace("_", " ")
    if "deviation" in low:
        return "STANDARD_DEVIATION"
    if "standard error" in low:
        return "STANDARD_ERROR"
    if re.search(r"inter.?quartile", low):
        return "INTER_QUARTILE_RANGE"
    if "full range" in low or low == "range":
        return "FULL_RANGE"
    if "geometric coefficient" in low:
        return "GEOMETRIC_COEFFICIENT"
    m = re.search(r"(\d+(?:\.\d+)?)\s*%?\s*confidence", low) or re.search(
        r"confidence\s*(\d+)", low
    )
    if m:
        level = m.group(1)
        if level == "975":
            level = "97.5"
        return f"CONFIDENCE_{level.replace('.', '')}" if level != "97.5" else "CONFIDENCE_975"
    return f"OTHER:{t}"


def _ci_level(dispersion: str) -> float | None:
    m = re.fullmatch(r"CONFIDENCE_(\d+)", dispersion or "")
    if not m:
        return None
    digits = m.group(1)
    return float(digits[:2] + "." + digits[2:]) / 100 if len(digits) > 2 else float(digits) / 100


def _nct_id(study: Mapping) -> str:
    try:
        return study["protocolSection"]["identificationModule"]["nctId"]
    except (KeyError, TypeError) as exc:
        raise RegistryResultsError(
            "study JSON has no protocolSection.identificationModule.nctId"
        ) from exc


# --------------------------------------------------------------------------------------
# SD from posted dispersion
# --------------------------------------------------------------------------------------
def _sd_from_dispersion(
    dispersion: str | None,
    param_type: str | None,
    value: float | None,
    spread: float | None,
    lower: float | None,
    upper: float | None,
    n: float | None,
) -> tuple[float | None, str | None, float | None, str | None]:
    """Return (sd, derivation, se, reason_if_not).

    Conversions are delegated to :mod:`ketamine_evidence.conversions` (SD = SE*sqrt(n),
    SD from a t-based CI of a mean, Wan 2014 SD from a range or IQR), whose descriptions are
    kept as ``sd_derivation``.
    """
    from ketamine_evidence import conversions as conv

    if dispersion is None:
        return None, None, None, "no dispersion posted"
    if dispersion == "STANDARD_DEVIATION":
        if spread is None:
            return None, None, None, "dispersion is SD but spread is missing"
        return spread, "SD as posted", (spread / math.sqrt(n) if n else None), None
    if n is None or n <= 0:
        return None, None, None, f"{dispersion} posted but no denominator to convert it to SD"
    if dispersion == "STANDARD_ERROR":
        if spread is None:
            return None, None, None, "dispersion is SE but spread is missing"
        res = conv.sd_from_se(spread, n)
        return res.value, res.description, spread, None
    level = _ci_level(dispersion)
    if level is not None:
        if lower is None or upper is None:
            return None, None, None, f"{dispersion} posted without both limits"
        if param_type in {"GEOMETRIC_MEAN", "GEOMETRIC_LEAST_SQUARES_MEAN", "MEDIAN"}:
            return None, None, None, f"CI of a {param_type.lower()} cannot give an arithmetic SD"
        res = conv.sd_from_ci(lower, upper, n, level=level)
        return res.value, res.description, res.value / math.sqrt(n), None
    if dispersion in {"INTER_QUARTILE_RANGE", "FULL_RANGE"}:
        if lower is None or upper is None:
            return None, None, None, f"{dispersion} posted without both limits"
        # Wan 2014 SD from the range (S1) or the IQR (S3); neither formula uses the centre, so
        # the posted value (median or mean) only fills the required argument.
        limits = (
            {"minimum": lower, "maximum": upper}
            if dispersion == "FULL_RANGE"
            else {"q1": lower, "q3": upper}
        )
        est = conv.mean_sd_from_quantiles(n, median=value, **limits)
        how = est.description
        if param_type != "MEDIAN":
            how = f"SD only (posted value is a {str(param_type).lower()}): {how}"
        return est.sd, how, est.sd / math.sqrt(n), None
    return None, None, None, f"dispersion {dispersion!r} cannot be converted to an SD"
