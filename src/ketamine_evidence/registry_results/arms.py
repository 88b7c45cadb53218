"""One CT.gov v2 study JSON to tidy tables: arm rows, posted analyses, baseline counts (pure)."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from .parsing import (
    OM,
    _nct_id,
    _sd_from_dispersion,
    normalise_dispersion,
    parse_registry_number,
    parse_timeframe_days,
)

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
