"""Arm-level numbers from ClinicalTrials.gov posted results (API v2 study JSON).

The registry posts results as strings inside
``resultsSection.outcomeMeasuresModule.outcomeMeasures[]``; this module turns them into tidy
rows that keep, for every number, the JSON path it was read from (its ``location``) and the
NCT ID (its ``source_id``), so a reviewer can find it again in the record.

Tables produced
---------------
``registry_arm_rows(study)``
    One row per outcome measure x class x category x group: ``value`` (mean, LS mean, median,
    count ...), its dispersion as posted, the group's denominator ``n`` and, where possible, an
    SD with the conversion recorded in ``sd_derivation``. Numbers that cannot be used
    (``"NA"``, missing measurement, unknown dispersion, no denominator) stay in the table with
    ``extractable=False`` and a ``reason``; nothing is dropped.
``registry_analyses(study)``
    One row per posted between-group analysis (``analyses[]``): estimate, CI, p-value,
    statistical method, with ``measure`` mapped to metafor's names where the free-text
    ``paramType`` allows it.
``registry_baseline_counts(study)``
    Participants analysed at baseline per group.
``registry_to_extraction_rows(arm_rows, ...)``
    Two-arm rows in the layout of the curated ``extraction.csv`` (``m1i, sd1i, n1i, ...``),
    arm 1 being the group whose title matches the review's arm pattern (config
    ``vocabulary.arm_pattern``).
``compare_registry_publication(registry_rows, curated_rows, ...)``
    Agreements and discrepancies between the registry and the curated (publication) numbers.

Field names were checked against real records (AACT copies of NCT02210780, NCT02552212,
NCT00763412): outcome ``dispersionType`` is display text ("Standard Deviation", "Standard
Error", "95% Confidence Interval", "Full Range"), baseline ``dispersionType`` and analysis
``dispersionType`` are enums (``STANDARD_DEVIATION``, ``STANDARD_ERROR_OF_MEAN``); SD/SE sit in
``spread``, ranges and CIs in ``lowerLimit``/``upperLimit``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from . import KetamineEvidenceError

__all__ = [
    "ARM_ROW_COLUMNS",
    "RegistryResultsError",
    "compare_registry_publication",
    "load_study_json",
    "normalise_dispersion",
    "parse_registry_number",
    "parse_timeframe_days",
    "registry_analyses",
    "registry_arm_rows",
    "registry_baseline_counts",
    "registry_effect_rows",
    "registry_to_extraction_rows",
    "snapshot_registry_tables",
]

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


def load_study_json(path: str | Path) -> dict:
    """Read one CT.gov API v2 study JSON file (a single study object)."""
    with open(path, encoding="utf-8") as fh:
        study = json.load(fh)
    if not isinstance(study, dict) or "protocolSection" not in study:
        raise RegistryResultsError(f"{path}: not a ClinicalTrials.gov API v2 study object")
    return study


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


# --------------------------------------------------------------------------------------
# outcome measures -> arm rows
# --------------------------------------------------------------------------------------
ARM_ROW_COLUMNS = [
    "source_id",
    "nct_id",
    "outcome_index",
    "outcome_type",
    "outcome_title",
    "time_frame",
    "timepoint_days",
    "param_type",
    "dispersion_type",
    "dispersion_raw",
    "unit",
    "class_title",
    "category_title",
    "group_id",
    "group_title",
    "n",
    "n_location",
    "value",
    "spread",
    "lower_limit",
    "upper_limit",
    "sd",
    "se",
    "sd_derivation",
    "location",
    "spread_location",
    "extractable",
    "reason",
    "comment",
]


def _denoms_by_group(denoms: list | None, base: str) -> tuple[dict, dict, list[str]]:
    """Pick the participant denominators; returns (n by group, path by group, problems)."""
    if not denoms:
        return {}, {}, []
    idx = 0
    for i, d in enumerate(denoms):
        if str(d.get("units", "")).strip().lower() == "participants":
            idx = i
            break
    n_by, path_by, problems = {}, {}, []
    for j, c in enumerate(denoms[idx].get("counts", []) or []):
        path = f"{base}.denoms[{idx}].counts[{j}].value"
        v, _, prob = parse_registry_number(c.get("value"))
        gid = c.get("groupId")
        if prob:
            problems.append(f"denominator of {gid} at {path}: {prob}")
            continue
        n_by[gid] = v
        path_by[gid] = path
    return n_by, path_by, problems


def registry_arm_rows(study: Mapping) -> pd.DataFrame:
    """Arm-level rows from ``resultsSection.outcomeMeasuresModule`` of one v2 study.

    Parameters
    ----------
    study : dict
        One study object of the ClinicalTrials.gov API v2 (``/api/v2/studies/{nctId}``).

    Returns
    -------
    DataFrame with :data:`ARM_ROW_COLUMNS`. ``location`` is the JSON path of ``value``;
    ``n_location`` and ``spread_location`` those of the denominator and the dispersion.
    ``sd`` is filled for means with an SD, SE (SD = SE*sqrt(n)) or CI (SD from CI with the
    t distribution), with the conversion in ``sd_derivation``. Rows that cannot be used have
    ``extractable=False`` and a ``reason``. A study without posted results gives an empty
    table. Group ids and titles come from the outcome's own ``groups[]``.
    """
    nct = _nct_id(study)
    module = (study.get("resultsSection") or {}).get("outcomeMeasuresModule") or {}
    rows: list[dict] = []
    for i, om in enumerate(module.get("outcomeMeasures", []) or []):
        base = f"{OM}[{i}]"
        titles = {g.get("id"): g.get("title") for g in om.get("groups", []) or []}
        param = om.get("paramType")
        disp_raw = om.get("dispersionType")
        disp = normalise_dispersion(disp_raw)
        common = {
            "source_id": nct,
            "nct_id": nct,
            "outcome_index": i,
            "outcome_type": om.get("type"),
            "outcome_title": om.get("title"),
            "time_frame": om.get("timeFrame"),
            "timepoint_days": parse_timeframe_days(om.get("timeFrame")),
            "param_type": param,
            "dispersion_type": disp,
            "dispersion_raw": disp_raw,
            "unit": om.get("unitOfMeasure"),
        }
        n_om, npath_om, nprob_om = _denoms_by_group(om.get("denoms"), base)
        classes = om.get("classes") or []
        if not classes:
            # posted measure without data (e.g. all values below quantification): keep one
            # row per group so the report can say so.
            why = om.get("populationDescription") or "no classes/measurements posted"
            for gid, title in titles.items():
                rows.append(
                    common
                    | _empty_numbers()
                    | {
                        "group_id": gid,
                        "group_title": title,
                        "n": n_om.get(gid),
                        "n_location": npath_om.get(gid),
                        "location": f"{base}.classes",
                        "extractable": False,
                        "reason": f"no measurements posted: {why}",
                    }
                )
            continue
        for k, cl in enumerate(classes):
            cbase = f"{base}.classes[{k}]"
            n_by, npath_by, nprob = n_om, npath_om, nprob_om
            if cl.get("denoms"):
                n_by, npath_by, nprob = _denoms_by_group(cl.get("denoms"), cbase)
            for c, cat in enumerate(cl.get("categories", []) or []):
                mbase = f"{cbase}.categories[{c}]"
                seen = set()
                for m_i, meas in enumerate(cat.get("measurements", []) or []):
                    gid = meas.get("groupId")
                    seen.add(gid)
                    path = f"{mbase}.measurements[{m_i}]"
                    rows.append(
                        common
                        | _measurement_row(
                            meas, path, param, disp, n_by.get(gid), npath_by.get(gid), nprob
                        )
                        | {
                            "class_title": cl.get("title"),
                            "category_title": cat.get("title"),
                            "group_id": gid,
                            "group_title": titles.get(gid),
                        }
                    )
                for gid in titles:
                    if gid not in seen:
                        rows.append(
                            common
                            | _empty_numbers()
                            | {
                                "class_title": cl.get("title"),
                                "category_title": cat.get("title"),
                                "group_id": gid,
                                "group_title": titles.get(gid),
                                "n": n_by.get(gid),
                                "n_location": npath_by.get(gid),
                                "location": f"{mbase}.measurements",
                                "extractable": False,
                                "reason": f"no measurement posted for group {gid}",
                            }
                        )
    df = pd.DataFrame(rows, columns=ARM_ROW_COLUMNS)
    return _arm_dtypes(df)


def _empty_numbers() -> dict:
    return {
        "class_title": None,
        "category_title": None,
        "value": None,
        "spread": None,
        "lower_limit": None,
        "upper_limit": None,
        "sd": None,
        "se": None,
        "sd_derivation": None,
        "spread_location": None,
        "comment": None,
    }


def _measurement_row(meas, path, param, disp, n, n_path, n_problems) -> dict:
    problems: list[str] = []
    value, _, prob = parse_registry_number(meas.get("value"))
    if prob:
        problems.append(f"value {prob} at {path}.value")
    spread = lower = upper = None
    spread_path = None
    if "spread" in meas:
        spread, _, p = parse_registry_number(meas.get("spread"))
        spread_path = f"{path}.spread"
        if p:
            problems.append(f"spread {p} at {spread_path}")
    if "lowerLimit" in meas or "upperLimit" in meas:
        lower, _, p1 = parse_registry_number(meas.get("lowerLimit"))
        upper, _, p2 = parse_registry_number(meas.get("upperLimit"))
        spread_path = f"{path}.lowerLimit|upperLimit"
        for name, p in (("lowerLimit", p1), ("upperLimit", p2)):
            if p:
                problems.append(f"{name} {p} at {path}.{name}")
    if n is None:
        problems.extend(n_problems or [])
    sd = se = how = None
    is_count = param in {"COUNT_OF_PARTICIPANTS", "COUNT_OF_UNITS", "NUMBER"}
    if value is not None and not is_count and not problems:
        try:
            sd, how, se, why = _sd_from_dispersion(disp, param, value, spread, lower, upper, n)
        except ValueError as exc:  # the conversion rejected its input; say why
            sd = how = se = None
            why = f"{disp} not converted to SD: {exc}"
        if why:
            problems.append(why)
    if value is not None and spread is not None and spread < 0:
        problems.append(f"negative spread at {spread_path}")
    if param is None:
        problems.append("no paramType posted")
    if n is None and value is not None:
        problems.append("no denominator posted for this group")
    if value is not None and is_count and n is not None and param != "NUMBER" and value > n:
        problems.append(f"count {value:g} exceeds denominator {n:g}")
    extractable = value is not None and not problems
    return {
        "value": value,
        "spread": spread,
        "lower_limit": lower,
        "upper_limit": upper,
        "sd": sd,
        "se": se,
        "sd_derivation": how,
        "n": n,
        "n_location": n_path,
        "location": f"{path}.value",
        "spread_location": spread_path,
        "extractable": bool(extractable),
        "reason": "; ".join(problems) if problems else None,
        "comment": meas.get("comment"),
    }


def _arm_dtypes(df: pd.DataFrame) -> pd.DataFrame:
    for col in ("timepoint_days", "n", "value", "spread", "lower_limit", "upper_limit", "sd", "se"):
        df[col] = pd.to_numeric(df[col], errors="raise").astype("float64")
    df["outcome_index"] = df["outcome_index"].astype("int64")
    df["extractable"] = df["extractable"].astype(bool)
    return df


# --------------------------------------------------------------------------------------
# analyses (posted contrasts)
# --------------------------------------------------------------------------------------
ANALYSIS_COLUMNS = [
    "source_id",
    "nct_id",
    "outcome_index",
    "analysis_index",
    "outcome_title",
    "time_frame",
    "timepoint_days",
    "group_ids",
    "group_titles",
    "param_type_raw",
    "measure",
    "estimate",
    "ci_level",
    "ci_sides",
    "ci_low",
    "ci_high",
    "dispersion_type",
    "dispersion_value",
    "pvalue",
    "pvalue_qualifier",
    "statistical_method",
    "non_inferiority_type",
    "estimate_comment",
    "group_description",
    "location",
    "extractable",
    "reason",
]


def analysis_measure(param_type: str | None) -> str | None:
    """Map a free-text analysis ``paramType`` to metafor's measure name (or None).

    "Mean Difference (Final Values)", "Mean Difference (Net)", "LS Mean Difference",
    "Difference" -> ``MD``; "Odds Ratio (OR)" -> ``OR``; "Risk Ratio (RR)" -> ``RR``;
    "Risk Difference (RD)" -> ``RD``; "Hazard Ratio (HR)" -> ``HR``; Cohen's d / standardised
    mean difference -> ``SMD``.
    """
    if not param_type:
        return None
    t = param_type.lower()
    if "odds ratio" in t:
        return "OR"
    if "hazard ratio" in t:
        return "HR"
    if "risk ratio" in t or "relative risk" in t:
        return "RR"
    if "risk difference" in t:
        return "RD"
    if "cohen" in t or "standardi" in t or "effect size" in t:
        return "SMD"
    if "difference" in t:
        return "MD"
    return None


def registry_analyses(study: Mapping) -> pd.DataFrame:
    """Posted between-group analyses (``outcomeMeasures[].analyses[]``) as tidy rows.

    Numbers are parsed from strings; a p-value such as ``"<0.001"`` gives
    ``pvalue=0.001, pvalue_qualifier='<'``. The direction of a difference is as posted (the
    registry does not fix it: read ``group_description``/``estimate_comment``), so
    ``group_ids`` keeps the posted order. ``extractable`` is True when an estimate and either
    a two-sided CI or a dispersion value are present.
    """
    nct = _nct_id(study)
    module = (study.get("resultsSection") or {}).get("outcomeMeasuresModule") or {}
    rows = []
    for i, om in enumerate(module.get("outcomeMeasures", []) or []):
        titles = {g.get("id"): g.get("title") for g in om.get("groups", []) or []}
        for a_i, an in enumerate(om.get("analyses", []) or []):
            path = f"{OM}[{i}].analyses[{a_i}]"
            problems = []
            est, _, p_est = parse_registry_number(an.get("paramValue"))
            if p_est:
                problems.append(f"paramValue {p_est} at {path}.paramValue")
            lo = hi = None
            if "ciLowerLimit" in an or "ciUpperLimit" in an:
                lo, _, p_lo = parse_registry_number(an.get("ciLowerLimit"))
                hi, _, p_hi = parse_registry_number(an.get("ciUpperLimit"))
                for name, p in (("ciLowerLimit", p_lo), ("ciUpperLimit", p_hi)):
                    if p:
                        problems.append(f"{name} {p} at {path}.{name}")
            pval, qual, _ = parse_registry_number(an.get("pValue"))
            level, _, _ = parse_registry_number(an.get("ciPctValue"))
            disp_val, _, _ = parse_registry_number(an.get("dispersionValue"))
            sides = an.get("ciNumSides")
            has_ci = lo is not None and hi is not None and sides != "ONE_SIDED"
            if est is not None and not has_ci and disp_val is None:
                problems.append("no two-sided CI and no dispersion value")
            measure = analysis_measure(an.get("paramType"))
            if measure is None:
                problems.append(f"paramType {an.get('paramType')!r} not mapped to a measure")
            gids = list(an.get("groupIds", []) or [])
            rows.append(
                {
                    "source_id": nct,
                    "nct_id": nct,
                    "outcome_index": i,
                    "analysis_index": a_i,
                    "outcome_title": om.get("title"),
                    "time_frame": om.get("timeFrame"),
                    "timepoint_days": parse_timeframe_days(om.get("timeFrame")),
                    "group_ids": ";".join(gids),
                    "group_titles": ";".join(str(titles.get(g)) for g in gids),
                    "param_type_raw": an.get("paramType"),
                    "measure": measure,
                    "estimate": est,
                    "ci_level": level / 100 if level is not None else None,
                    "ci_sides": sides,
                    "ci_low": lo,
                    "ci_high": hi,
                    "dispersion_type": an.get("dispersionType"),
                    "dispersion_value": disp_val,
                    "pvalue": pval,
                    "pvalue_qualifier": qual or ("=" if pval is not None else None),
                    "statistical_method": an.get("statisticalMethod"),
                    "non_inferiority_type": an.get("nonInferiorityType"),
                    "estimate_comment": an.get("estimateComment"),
                    "group_description": an.get("groupDescription"),
                    "location": path,
                    "extractable": est is not None and not problems,
                    "reason": "; ".join(problems) if problems else None,
                }
            )
    df = pd.DataFrame(rows, columns=ANALYSIS_COLUMNS)
    for col in (
        "timepoint_days",
        "estimate",
        "ci_level",
        "ci_low",
        "ci_high",
        "dispersion_value",
        "pvalue",
    ):
        df[col] = pd.to_numeric(df[col]).astype("float64")
    df["extractable"] = df["extractable"].astype(bool)
    return df


def registry_baseline_counts(study: Mapping) -> pd.DataFrame:
    """Participants at baseline per group (``baselineCharacteristicsModule.denoms``).

    Returns columns ``source_id, group_id, group_title, n, location``; the "Total" group is
    kept (its title says so).
    """
    nct = _nct_id(study)
    mod = (study.get("resultsSection") or {}).get("baselineCharacteristicsModule") or {}
    titles = {g.get("id"): g.get("title") for g in mod.get("groups", []) or []}
    base = "resultsSection.baselineCharacteristicsModule"
    n_by, path_by, problems = _denoms_by_group(mod.get("denoms"), base)
    rows = [
        {
            "source_id": nct,
            "group_id": g,
            "group_title": titles.get(g),
            "n": n_by.get(g),
            "location": path_by.get(g),
        }
        for g in titles
    ]
    df = pd.DataFrame(rows, columns=["source_id", "group_id", "group_title", "n", "location"])
    df["n"] = pd.to_numeric(df["n"]).astype("float64")
    return df


# --------------------------------------------------------------------------------------
# long arm rows -> two-arm rows in the layout of extraction.csv
# --------------------------------------------------------------------------------------
WIDE_COLUMNS = [
    "source_id",
    "nct_id",
    "study_id",
    "outcome_index",
    "outcome_title",
    "class_title",
    "category_title",
    "time_frame",
    "timepoint_days",
    "param_type",
    "data_type",
    "comparison",
    "group1_id",
    "group2_id",
    "m1i",
    "sd1i",
    "n1i",
    "m2i",
    "sd2i",
    "n2i",
    "ai",
    "ci",
    "sd1i_derivation",
    "sd2i_derivation",
    "location1",
    "location2",
    "extractable",
    "reason",
]

def registry_to_extraction_rows(
    arm_rows: pd.DataFrame,
    *,
    arm1_pattern: str,
    study_ids: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Pair the registry groups into rows laid out like the curated ``extraction.csv``.

    Arm 1 is a group whose title matches ``arm1_pattern`` (a regular expression, the
    configuration's ``vocabulary.arm_pattern``), arm 2 a group that does not. With several arm-1 groups (two doses) and one control, one
    row per arm-1 group is made; the shared control is *not* split here (that happens when
    effects are pooled, see :func:`ketamine_evidence.extraction.derive_effects`). Outcomes
    whose groups cannot be paired this way are kept with ``data_type='unpaired'`` and a reason.

    ``data_type`` is ``arm`` for MEAN / LEAST_SQUARES_MEAN, ``count`` for
    COUNT_OF_PARTICIPANTS (``ai``/``ci`` with ``n1i``/``n2i``), and ``other`` for medians,
    geometric means and NUMBER (percentages ...), which are kept but not used for effects.
    """
    study_ids = dict(study_ids or {})
    out = []
    if arm_rows.empty:
        return pd.DataFrame(columns=WIDE_COLUMNS)
    keys = ["nct_id", "outcome_index", "class_title", "category_title"]
    for _key, grp in arm_rows.groupby(keys, dropna=False, sort=True):
        first = grp.iloc[0]
        is1 = grp["group_title"].fillna("").str.contains(arm1_pattern, regex=True)
        g1, g2 = grp[is1], grp[~is1]
        base = {
            "source_id": first["source_id"],
            "nct_id": first["nct_id"],
            "study_id": study_ids.get(first["nct_id"]),
            "outcome_index": first["outcome_index"],
            "outcome_title": first["outcome_title"],
            "class_title": first["class_title"],
            "category_title": first["category_title"],
            "time_frame": first["time_frame"],
            "timepoint_days": first["timepoint_days"],
            "param_type": first["param_type"],
        }
        param = first["param_type"]
        dtype = (
            "arm"
            if param in {"MEAN", "LEAST_SQUARES_MEAN"}
            else "count"
            if param == "COUNT_OF_PARTICIPANTS"
            else "other"
        )
        if len(g1) == 0 or len(g2) != 1:
            out.append(
                base
                | {
                    "data_type": "unpaired",
                    "extractable": False,
                    "reason": (
                        f"groups could not be paired: {len(g1)} matching {arm1_pattern!r}, "
                        f"{len(g2)} not matching ("
                        + "; ".join(
                            f"{g}: {t}" for g, t in zip(grp.group_id, grp.group_title, strict=True)
                        )
                        + ")"
                    ),
                }
            )
            continue
        r2 = g2.iloc[0]
        for _, r1 in g1.iterrows():
            row = base | {
                "data_type": dtype,
                "comparison": f"{r1.group_title} vs {r2.group_title}",
                "group1_id": r1.group_id,
                "group2_id": r2.group_id,
                "n1i": r1.n,
                "n2i": r2.n,
                "location1": r1.location,
                "location2": r2.location,
            }
            if dtype == "count":
                row |= {"ai": r1.value, "ci": r2.value}
            else:
                row |= {
                    "m1i": r1.value,
                    "sd1i": r1.sd,
                    "m2i": r2.value,
                    "sd2i": r2.sd,
                    "sd1i_derivation": r1.sd_derivation,
                    "sd2i_derivation": r2.sd_derivation,
                }
            reasons = [f"{r.group_id}: {r.reason}" for r in (r1, r2) if not r.extractable]
            if dtype == "other":
                reasons.append(f"paramType {param} is not used for effect sizes")
            row["extractable"] = not reasons
            row["reason"] = "; ".join(reasons) if reasons else None
            out.append(row)
    df = pd.DataFrame(out, columns=WIDE_COLUMNS)
    for col in ("timepoint_days", "m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i", "ai", "ci"):
        df[col] = pd.to_numeric(df[col]).astype("float64")
    df["extractable"] = df["extractable"].astype(bool)
    return df


# --------------------------------------------------------------------------------------
# effect sizes from posted results, awaiting a reviewer
# --------------------------------------------------------------------------------------
REGISTRY_EFFECT_COLUMNS = [
    "study_id", "nct_id", "source_id", "outcome_index", "outcome_title", "class_title",
    "category_title", "time_frame", "timepoint_days", "comparison", "measure", "yi", "vi",
    "m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i", "ai", "ci", "location1", "location2",
    "source", "confirmed", "status",
]
#: ``status`` of a registry effect whose study no reviewer has extracted yet.
AWAITING_CONFIRMATION = "awaiting_reviewer_confirmation"


def registry_effect_rows(wide: pd.DataFrame, confirmed_study_ids: Iterable[str]) -> pd.DataFrame:
    """Effect sizes computed from posted registry results, flagged as registry-sourced.

    Every extractable paired row of :func:`registry_to_extraction_rows` gives effect rows:
    ``arm`` rows an ``MD`` and an ``SMD`` (metafor ``escalc`` defaults: unpooled MD variance,
    Hedges' g with the exact correction), ``count`` rows an ``RR`` (log scale; ``bi = n1i - ai``,
    ``di = n2i - ci``). ``source`` is ``registry``; ``confirmed`` says whether the study has a
    row in ``study_characteristics.csv`` (a reviewer has extracted it), else ``status`` is
    ``awaiting_reviewer_confirmation``. These rows are never pooled: the analyses pool only the
    curated ``effects.csv``; a reviewer who confirms a number copies it into ``extraction.csv``
    with its registry location.

    Parameters
    ----------
    wide : pandas.DataFrame
        Output of :func:`registry_to_extraction_rows` (``study_id`` filled).
    confirmed_study_ids : iterable of str
        Study ids that a reviewer has extracted.
    """
    from .effects import escalc

    confirmed = {str(s) for s in confirmed_study_ids}
    usable = wide[wide["extractable"].astype(bool) & wide["data_type"].isin(["arm", "count"])]
    frames = []
    keep = [c for c in REGISTRY_EFFECT_COLUMNS if c in usable.columns]
    arms = usable[usable["data_type"] == "arm"]
    for measure in ("MD", "SMD"):
        if len(arms):
            es = escalc(measure, m1i=arms["m1i"], sd1i=arms["sd1i"], n1i=arms["n1i"],
                        m2i=arms["m2i"], sd2i=arms["sd2i"], n2i=arms["n2i"])
            frames.append(arms[keep].assign(measure=measure, yi=es["yi"].to_numpy(),
                                            vi=es["vi"].to_numpy()))
    counts = usable[usable["data_type"] == "count"]
    if len(counts):
        es = escalc("RR", ai=counts["ai"], bi=counts["n1i"] - counts["ai"], ci=counts["ci"],
                    di=counts["n2i"] - counts["ci"])
        frames.append(counts[keep].assign(measure="RR", yi=es["yi"].to_numpy(),
                                          vi=es["vi"].to_numpy()))
    if not frames:
        return pd.DataFrame(columns=REGISTRY_EFFECT_COLUMNS)
    out = pd.concat(frames, ignore_index=True)
    out["source"] = "registry"
    out["confirmed"] = out["study_id"].astype(str).isin(confirmed)
    out["status"] = out["confirmed"].map({True: "confirmed", False: AWAITING_CONFIRMATION})
    out = out.reindex(columns=REGISTRY_EFFECT_COLUMNS)
    return out.sort_values(["study_id", "outcome_index", "measure"], kind="stable",
                           ignore_index=True)


# --------------------------------------------------------------------------------------
# registry vs publication
# --------------------------------------------------------------------------------------
COMPARISON_COLUMNS = [
    "study_id",
    "nct_id",
    "row_id",
    "outcome",
    "instrument",
    "timepoint",
    "timepoint_days",
    "registry_outcome_title",
    "registry_param_type",
    "field",
    "registry_value",
    "publication_value",
    "abs_difference",
    "relative_difference",
    "status",
    "registry_location",
    "publication_source_id",
    "publication_location",
    "note",
]

def _norm(text: Any) -> str:
    return re.sub(r"[^0-9a-zå]", "", str(text).lower())


def _normalised_aliases(aliases: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """Instrument -> its names, both compared as :func:`_norm` leaves them."""
    return {_norm(k): [_norm(a) for a in names] for k, names in aliases.items()}


def _instrument_in_title(instrument: Any, title: Any,
                         aliases: Mapping[str, Sequence[str]]) -> bool:
    """Whether the registry outcome ``title`` names ``instrument`` (or one of its
    ``aliases``, already normalised)."""
    key = _norm(instrument)
    if not key:
        return False
    t = _norm(title)
    return any(alias in t for alias in aliases.get(key, [key]))


def _num(x) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def compare_registry_publication(
    registry_rows: pd.DataFrame,
    curated_rows: pd.DataFrame,
    *,
    characteristics: pd.DataFrame | None = None,
    instrument_aliases: Mapping[str, Sequence[str]] | None = None,
    rtol: float = 0.02,
    atol: float = 0.051,
    day_tolerance: float = 0.5,
) -> pd.DataFrame:
    """Agreements and discrepancies between registry results and the curated publication rows.

    Parameters
    ----------
    registry_rows : DataFrame
        Output of :func:`registry_to_extraction_rows` (two-arm rows).
    curated_rows : DataFrame
        The validated curated ``extraction.csv`` (only ``arm`` and ``count`` rows are compared).
    characteristics : DataFrame, optional
        ``study_characteristics.csv``; its ``nct_ids`` link a study to its registrations when
        ``registry_rows.study_id`` is empty.
    instrument_aliases : mapping, optional
        Instrument -> the names it goes by in registry outcome titles (config
        ``vocabulary.instrument_aliases``); without an entry an instrument is looked for
        under its own name.
    rtol, atol : float
        Two numbers agree when ``|r - p| <= max(rtol * max(|r|, |p|), atol)``; the default
        ``atol`` of 0.051 absorbs rounding to one decimal.
    day_tolerance : float
        Registry and curated timepoints match when their days differ by at most this much.

    Returns
    -------
    DataFrame with :data:`COMPARISON_COLUMNS`. ``status`` is ``agree``, ``discrepancy``,
    ``registry_only`` (the registry posts a number the publication row leaves empty),
    ``publication_only``, ``no_registry_match`` (curated row of a registered study with no
    registry outcome of the same instrument and timepoint), or ``registry_unmatched`` (a
    registry outcome of an included study matched by no curated row). Matching uses the study's
    NCT IDs, the instrument name (or its spelled-out form) inside the registry outcome title,
    and ``timepoint_days``. SDs are compared after converting a curated SE to SD
    (SE*sqrt(n)); the registry side says in ``note`` how its SD was obtained.
    """
    aliases = _normalised_aliases(instrument_aliases or {})
    reg = registry_rows.copy()
    nct_to_study: dict[str, str] = {}
    if characteristics is not None and "nct_ids" in characteristics:
        for sid, ids in zip(characteristics["study_id"], characteristics["nct_ids"], strict=True):
            for nct in str(ids or "").replace(",", ";").split(";"):
                if nct.strip() and nct.strip().lower() != "nan":
                    nct_to_study[nct.strip()] = sid
    if "study_id" not in reg:
        reg["study_id"] = None
    reg["study_id"] = [
        s if isinstance(s, str) and s else nct_to_study.get(n)
        for s, n in zip(reg["study_id"], reg["nct_id"], strict=True)
    ]
    reg = reg[reg["data_type"].isin(["arm", "count"])]
    studies_with_registry = set(reg["study_id"].dropna())
    cur = curated_rows[curated_rows["data_type"].isin(["arm", "count"])]
    cur = cur[cur["study_id"].isin(studies_with_registry)]

    out: list[dict] = []
    used_reg: set = set()
    for _, c in cur.iterrows():
        cands = reg[
            (reg["study_id"] == c["study_id"])
            & (reg["data_type"] == c["data_type"])
            & reg["outcome_title"].map(
                lambda t, i=c["instrument"]: _instrument_in_title(i, t, aliases))
        ]
        cdays = _num(c.get("timepoint_days"))
        if cdays is not None:
            cands = cands[(cands["timepoint_days"] - cdays).abs() <= day_tolerance]
        else:
            cands = cands.iloc[0:0]
        base = {
            "study_id": c["study_id"],
            "row_id": c["row_id"],
            "outcome": c["outcome"],
            "instrument": c["instrument"],
            "timepoint": c["timepoint"],
            "timepoint_days": cdays,
            "publication_source_id": c.get("source_id"),
            "publication_location": c.get("location"),
        }
        if cands.empty:
            out.append(
                base
                | {
                    "status": "no_registry_match",
                    "note": "no registry outcome with this instrument and timepoint",
                }
            )
            continue
        for ridx, r in cands.iterrows():
            used_reg.add(ridx)
            fields = (
                ["n1i", "n2i", "ai", "ci"]
                if c["data_type"] == "count"
                else ["n1i", "n2i", "m1i", "m2i", "sd1i", "sd2i"]
            )
            for f in fields:
                pub = _num(c.get(f))
                note = None
                if f in {"sd1i", "sd2i"}:
                    arm = f[2]
                    if pub is None:
                        se = _num(c.get(f"se{arm}i"))
                        n = _num(c.get(f"n{arm}i"))
                        if se is not None and n is not None:
                            pub = se * math.sqrt(n)
                            note = "publication SD from SE (SD=SE*sqrt(n))"
                    how = r.get(f"{f}_derivation")
                    if isinstance(how, str) and how:
                        note = "; ".join(x for x in (note, f"registry {how}") if x)
                if f in {"m1i", "m2i"} and r["param_type"] == "LEAST_SQUARES_MEAN":
                    note = "registry posts a least-squares mean"
                regv = _num(r.get(f))
                loc = r["location1"] if f[-2] == "1" else r["location2"]
                if f.startswith("n"):
                    loc = f"denominator of {r['group1_id'] if f == 'n1i' else r['group2_id']}"
                out.append(
                    base
                    | _compare_values(regv, pub, rtol, atol)
                    | {
                        "nct_id": r["nct_id"],
                        "registry_outcome_title": r["outcome_title"],
                        "registry_param_type": r["param_type"],
                        "field": f,
                        "registry_location": loc,
                        "note": note,
                    }
                )
    for ridx, r in reg.iterrows():
        if ridx in used_reg or r["study_id"] is None:
            continue
        out.append(
            {
                "study_id": r["study_id"],
                "nct_id": r["nct_id"],
                "timepoint": r["time_frame"],
                "timepoint_days": r["timepoint_days"],
                "registry_outcome_title": r["outcome_title"],
                "registry_param_type": r["param_type"],
                "registry_location": f"{OM}[{r['outcome_index']}]",
                "status": "registry_unmatched",
                "note": "registry outcome matched by no curated row",
            }
        )
    df = pd.DataFrame(out, columns=COMPARISON_COLUMNS)
    for col in (
        "timepoint_days",
        "registry_value",
        "publication_value",
        "abs_difference",
        "relative_difference",
    ):
        df[col] = pd.to_numeric(df[col]).astype("float64")
    return df


def _compare_values(reg: float | None, pub: float | None, rtol: float, atol: float) -> dict:
    res = {"registry_value": reg, "publication_value": pub}
    if reg is None and pub is None:
        return res | {"status": "both_missing"}
    if pub is None:
        return res | {"status": "registry_only"}
    if reg is None:
        return res | {"status": "publication_only"}
    diff = abs(reg - pub)
    scale = max(abs(reg), abs(pub))
    rel = diff / scale if scale > 0 else 0.0
    ok = diff <= max(rtol * scale, atol)
    return res | {
        "abs_difference": diff,
        "relative_difference": rel,
        "status": "agree" if ok else "discrepancy",
    }


# --------------------------------------------------------------------------------------
# a folder of study JSON files
# --------------------------------------------------------------------------------------
def snapshot_registry_tables(
    paths: Iterable[str | Path],
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Read several v2 study JSON files into (arm_rows, analyses, problems).

    Files that are not single v2 study objects (search pages, manifests) are listed in
    ``problems`` instead of raising, so one odd file in a snapshot does not hide the others.
    """
    arms, analyses, problems = [], [], []
    for p in sorted(Path(x) for x in paths):
        try:
            study = load_study_json(p)
        except (RegistryResultsError, json.JSONDecodeError, UnicodeDecodeError) as exc:
            problems.append(f"{p.name}: skipped ({exc})")
            continue
        arms.append(registry_arm_rows(study))
        analyses.append(registry_analyses(study))
    arm_df = (
        pd.concat(arms, ignore_index=True)
        if arms
        else _arm_dtypes(pd.DataFrame(columns=ARM_ROW_COLUMNS))
    )
    an_df = (
        pd.concat(analyses, ignore_index=True)
        if analyses
        else pd.DataFrame(columns=ANALYSIS_COLUMNS)
    )
    return arm_df, an_df, problems
