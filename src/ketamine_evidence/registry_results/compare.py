"""Registry numbers against the curated publication numbers: agreements and discrepancies (pure)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from .parsing import OM

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
