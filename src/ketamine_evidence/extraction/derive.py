"""Effect sizes from validated curated sheets: one per study x comparison x outcome x timepoint x measure (pure)."""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd
import pandera.pandas as pa

from ketamine_evidence import KetamineEvidenceWarning
from ketamine_evidence.schemas import extraction as sx

from .validation import _missing


class ExtractionWarning(KetamineEvidenceWarning):
    """A data-dependent concern while deriving effects (e.g. an asymmetric reported CI)."""


# ----------------------------------------------------------------------------------------
# derived effects
# ----------------------------------------------------------------------------------------
Z975 = 1.959963984540054


@dataclass(frozen=True)
class EffectTables:
    """Result of :func:`derive_effects`: effects, rows that could not be pooled, within-arm."""

    effects: pd.DataFrame
    not_poolable: pd.DataFrame
    within_arm: pd.DataFrame


def _crossover_values(r: float, sensitivity: Sequence[float]) -> tuple[float, list[float]]:
    """The main within-person correlation and the sensitivity values that differ from it."""
    sens = [float(x) for x in sensitivity if not math.isclose(float(x), float(r))]
    for value in [r, *sens]:
        if not -1 <= value <= 1:
            raise ValueError(f"analysis.crossover_r values must lie in [-1, 1]: {value}")
    return float(r), sens


def _f(v) -> float | None:
    if _missing(v):
        return None
    v = float(v)
    return None if math.isnan(v) else v


def _study_year(study_id: str) -> int | None:
    m = re.search(r"(\d{4})", str(study_id))
    return int(m.group(1)) if m else None


def _comparator(comparison) -> str:
    text = "" if _missing(comparison) else str(comparison)
    parts = re.split(r"\s+vs\.?\s+", text, flags=re.IGNORECASE)
    return parts[-1].strip().lower() if len(parts) > 1 else ""


def _arm_dose(dose, comparison) -> str | None:
    """The dose of this comparison's intervention arm when the study has several."""
    if _missing(dose):
        return None
    doses = [d.strip() for d in str(dose).split(";") if d.strip()]
    if len(doses) <= 1:
        return str(dose)
    text = "" if _missing(comparison) else str(comparison).split(" vs ")[0]
    m = re.search(r"(\d+(?:\.\d+)?)\s*mg\s*/\s*kg", text)
    if m:
        for d in doses:
            if math.isclose(float(d), float(m.group(1))):
                return d
    return str(dose)


class _Unpoolable(Exception):
    """Internal: this row cannot give an effect; the message is the reason."""


def _sd(row, arm: int) -> tuple[float, str | None]:
    """SD of arm ``arm``: as reported, or from its SE (SD = SE*sqrt(n))."""
    sd = _f(row[f"sd{arm}i"])
    if sd is not None:
        return sd, None
    se = _f(row[f"se{arm}i"])
    n = _f(row[f"n{arm}i"])
    if se is None:
        raise _Unpoolable(f"no SD or SE reported for arm {arm}")
    if n is None:
        raise _Unpoolable(f"SE reported for arm {arm} but no n to convert it to an SD")
    value, how = _conv_sd_from_se(se, n)
    return value, f"arm {arm}: {how}"


def _located(row, c: Mapping) -> dict:
    """Where one extraction row's result comes from: study, comparison, outcome, source.

    The fields every derived table (effects, not poolable, within-arm) starts with; ``c`` is
    the study's row of ``study_characteristics.csv`` (empty when the study is missing there).
    """
    return {
        "study_id": row["study_id"],
        "label": c.get("label"),
        "comparison": row["comparison"],
        "outcome": row["outcome"],
        "instrument": row["instrument"],
        "timepoint": row["timepoint"],
        "timepoint_days": _f(row["timepoint_days"]),
        "source_id": row["source_id"],
        "location": row["location"],
    }


def _result(row, c: Mapping) -> dict:
    """The fields an effect and a not-poolable result share.

    The result's identity and source (:func:`_located`, its ``data_type`` and ``row_ids``)
    and the study characteristics analyses filter on, so that an analysis's filters apply
    alike to the results it pools and to those it could not.
    """
    return _located(row, c) | {
        "data_type": row["data_type"],
        "row_ids": row["row_id"],
        "question": c.get("question"),
        "design": c.get("design"),
        "dose_mg_per_kg": _arm_dose(c.get("dose_mg_per_kg"), row["comparison"]),
        "treatment_resistant": c.get("treatment_resistant"),
        "control_type": c.get("control_type"),
    }


def _base_effect(row, chars: Mapping, measure: str) -> dict:
    c = chars.get(row["study_id"], {})
    return _result(row, c) | {
        "measure": measure,
        "score_type": row["score_type"],
        "lower_is_better": row["lower_is_better"],
        "drug": c.get("drug"),
        "year": _study_year(row["study_id"]),
        "n_randomised_total": _f(c.get("n_randomised_total")),
        "sensitivity": False,
        "assumption": None,
        "assumption_value": None,
    }


def _with_yi(rec: dict, yi: float, vi: float, derivation: str) -> dict:
    if not (math.isfinite(yi) and math.isfinite(vi)) or vi <= 0:
        raise _Unpoolable(f"{rec['measure']}: computation gave yi={yi}, vi={vi}")
    sei = math.sqrt(vi)
    return rec | {
        "yi": yi,
        "vi": vi,
        "sei": sei,
        "ci_low": yi - Z975 * sei,
        "ci_high": yi + Z975 * sei,
        "derivation": derivation,
    }


def _escalc1(measure: str, **kw) -> tuple[float, float]:
    from ketamine_evidence import effects

    out = effects.escalc(measure, **kw)
    return float(out["yi"].iloc[0]), float(out["vi"].iloc[0])


def _generic(func_name: str, *args, **kw) -> tuple[float, float, str]:
    from ketamine_evidence import effects

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = getattr(effects, func_name)(*args, **kw)
    for w in caught:
        warnings.warn(str(w.message), ExtractionWarning, stacklevel=3)
    return float(out["yi"].iloc[0]), float(out["vi"].iloc[0]), str(out["method"].iloc[0])


def _conv_sd_from_se(se: float, n: float) -> tuple[float, str]:
    from ketamine_evidence import conversions

    try:
        res = conversions.sd_from_se(se, n)
    except ValueError as exc:
        raise _Unpoolable(f"SD from SE failed: {exc}") from None
    return res.value, res.description


def _group_key(row) -> tuple:
    return (
        row["study_id"],
        row["outcome"],
        "" if _missing(row["instrument"]) else str(row["instrument"]),
        "" if _missing(row["timepoint"]) else str(row["timepoint"]),
        row["data_type"],
    )


def _shared_controls(ext: pd.DataFrame) -> dict:
    """Rows whose control arm is shared with other comparisons of the same result.

    Two or more ``arm`` or ``count`` rows of one study, outcome, instrument and timepoint whose
    ``comparison`` names the same comparator after "vs" (e.g. "drug 0.2 mg/kg vs saline"
    and "drug 0.5 mg/kg vs saline") share that arm. Returns {row index: (k, position)}
    with position in row_id order, so the split is reproducible.
    """
    out = {}
    rows = ext[ext["data_type"].isin(["arm", "count"])]
    groups: dict[tuple, list] = {}
    for i, row in rows.iterrows():
        comp = _comparator(row["comparison"])
        if not comp:
            continue
        groups.setdefault((*_group_key(row), comp), []).append(i)
    for idx in groups.values():
        comps = {ext.at[i, "comparison"] for i in idx}
        if len(idx) >= 2 and len(comps) == len(idx):
            ordered = sorted(idx, key=lambda i: ext.at[i, "row_id"])
            for pos, i in enumerate(ordered):
                out[i] = (len(ordered), pos)
    return out


def _split(row, k: int, pos: int, count: bool) -> tuple[float, float | None, str]:
    from ketamine_evidence import conversions

    n2 = _f(row["n2i"])
    if n2 is None:
        raise _Unpoolable("shared control arm without n2i: cannot split it (Cochrane 23.3.4)")
    events = _f(row["ci"]) if count else None
    integer = float(n2).is_integer() and (events is None or float(events).is_integer())
    try:
        res = conversions.split_shared_control(n2, k, events, integer=integer and n2 >= k)
    except ValueError as exc:
        raise _Unpoolable(f"shared control split failed: {exc}") from None
    ev = res.events[pos] if res.events is not None else None
    return res.n[pos], ev, f"{res.description}; this comparison uses part {pos + 1} of {k}"


def _arm_effects(row, chars, r_main, r_sens, shared, continuous) -> list[dict]:
    c = chars.get(row["study_id"], {})
    crossover = str(c.get("design") or "").lower() == "crossover"
    m1, m2 = _f(row["m1i"]), _f(row["m2i"])
    n1, n2 = _f(row["n1i"]), _f(row["n2i"])
    sd1, how1 = _sd(row, 1)
    sd2, how2 = _sd(row, 2)
    notes = [h for h in (how1, how2) if h]
    if n1 is None or n2 is None:
        raise _Unpoolable("n1i or n2i not reported")
    if row["outcome"] not in continuous:
        raise _Unpoolable(f"arm-level means for a non-continuous outcome ({row['outcome']})")
    out = []
    arms = {"m1i": m1, "sd1i": sd1, "n1i": n1, "m2i": m2, "sd2i": sd2, "n2i": n2}
    if crossover:
        from ketamine_evidence import conversions

        if not math.isclose(n1, n2):
            notes.append(f"unequal period n ({n1:g}, {n2:g}): n = min used for the paired analysis")
        n = min(n1, n2)
        for r, sens in [(r_main, False), *[(x, True) for x in r_sens]]:
            for measure in ("SMD", "MD"):
                try:
                    est = conversions.crossover_paired(m1, sd1, m2, sd2, n, r=r, measure=measure)
                except ValueError as exc:
                    raise _Unpoolable(f"crossover {measure}: {exc}") from None
                rec = _base_effect(row, chars, measure) | arms
                rec |= {
                    "assumption": f"crossover within-person r={r:g}",
                    "assumption_value": r,
                    "sensitivity": sens,
                }
                deriv = "; ".join([*notes, est.description])
                out.append(_with_yi(rec, est.yi, est.vi, deriv))
        return out
    split_note = None
    if row.name in shared:
        k, pos = shared[row.name]
        n2_used, _, split_note = _split(row, k, pos, count=False)
        arms["n2i"] = n2_used
    for measure in ("SMD", "MD", "ROM"):
        rec = _base_effect(row, chars, measure) | arms
        if split_note:
            rec |= {"assumption": split_note, "assumption_value": float(shared[row.name][0])}
        if measure == "ROM":
            if row["score_type"] != "endpoint":
                continue  # ROM only for endpoint scores (change scores can be negative)
            if not (m1 > 0 and m2 > 0):
                continue
        yi, vi = _escalc1(
            measure,
            m1i=m1,
            sd1i=sd1,
            n1i=arms["n1i"],
            m2i=m2,
            sd2i=sd2,
            n2i=arms["n2i"],
        )
        label = {
            "SMD": "escalc SMD (Hedges' g, vtype LS) from arm means/SDs",
            "MD": "escalc MD from arm means/SDs",
            "ROM": "escalc ROM (log ratio of endpoint means) from arm means/SDs",
        }[measure]
        out.append(_with_yi(rec, yi, vi, "; ".join([label, *notes])))
    return out


def _events_from_percent(pct: float | None, n: float | None, arm: int) -> tuple[float, str]:
    """Events in one arm from a printed percentage and the arm's n.

    The count is ``round(pct * n / 100)``; it is accepted only if it reproduces the printed
    percentage to the precision printed (half a unit of its last decimal), so a percentage of
    a different denominator is refused rather than silently converted.
    """
    if pct is None or n is None:
        raise _Unpoolable(f"arm {arm}: needs events, or a percentage and n{arm}i")
    events = float(round(pct * n / 100.0))
    text = f"{pct:g}"
    decimals = len(text.split(".")[1]) if "." in text else 0
    if abs(100.0 * events / n - pct) > 0.5 * 10.0 ** -decimals + 1e-9:
        raise _Unpoolable(
            f"arm {arm}: {pct:g}% of n={n:g} is not a whole number of participants at the "
            "printed precision; the percentage may use another denominator")
    return events, f"events{arm} = round({pct:g}% x {n:g}) = {events:g} (from printed percent)"


def _count_effects(row, chars, shared) -> list[dict]:
    c = chars.get(row["study_id"], {})
    a, cc, n1, n2 = (_f(row[k]) for k in ("ai", "ci", "n1i", "n2i"))
    from_percent = []
    if a is None:
        a, how = _events_from_percent(_f(row["pct1i"]), n1, 1)
        from_percent.append(how)
    if cc is None:
        cc, how = _events_from_percent(_f(row["pct2i"]), n2, 2)
        from_percent.append(how)
    if None in (a, cc, n1, n2):
        raise _Unpoolable("count row needs ai, ci, n1i and n2i")
    rec = _base_effect(row, chars, "RR") | {"ai": a, "ci": cc, "n1i": n1, "n2i": n2}
    assumption = []
    if row.name in shared:
        k, pos = shared[row.name]
        n2, cc, note = _split(row, k, pos, count=True)
        rec |= {"ci": cc, "n2i": n2, "assumption_value": float(k)}
        assumption.append(note)
    if str(c.get("design") or "").lower() == "crossover":
        assumption.append(
            "crossover counts analysed as independent groups (pairing ignored; conservative, "
            "Cochrane 23.2.6)"
        )
    if assumption:
        rec["assumption"] = "; ".join(assumption)
    yi, vi = _escalc1("RR", ai=a, ci=cc, n1i=n1, n2i=n2)
    zero = " (0.5 added to all cells: a zero cell)" if 0 in (a, cc) or a == n1 or cc == n2 else ""
    derivation = "; ".join([f"escalc RR (log risk ratio) from events/n{zero}", *from_percent])
    return [_with_yi(rec, yi, vi, derivation)]


_RATIO = {"RR", "OR", "HR"}


def _contrast_effects(row, chars, intervention: str) -> list[dict]:
    measure = row["measure"]
    est = _f(row["estimate"])
    lo, hi, se, p = (_f(row[k]) for k in ("ci_low", "ci_high", "se", "pvalue"))
    level = _f(row["ci_level"]) or 0.95
    n1, n2 = _f(row["n1i"]), _f(row["n2i"])
    out_measure = "SMD" if measure == "d" else measure
    if out_measure not in sx.EFFECT_MEASURES:
        raise _Unpoolable(f"reported measure {measure!r} is not used in the analyses")
    if est is None:
        raise _Unpoolable(f"{measure} contrast without a point estimate (p-value only)")
    log_scale = measure in _RATIO
    rec = _base_effect(row, chars, out_measure) | {"n1i": n1, "n2i": n2}
    what = "Cohen's d" if measure == "d" else measure
    if lo is not None and hi is not None:
        yi, vi, method = _generic("from_ci", est, lo, hi, level=level, log_scale=log_scale)
        deriv = f"generic inverse variance from reported {level:.0%} CI of the {what}: {method}"
    elif se is not None:
        yi, vi, method = _generic("from_se", est, se, log_scale=log_scale)
        deriv = f"generic inverse variance from reported SE of the {what}: {method}"
    elif p is not None:
        qual = row["pvalue_qualifier"]
        if not _missing(qual) and qual != "=":
            raise _Unpoolable(
                f"p-value reported only as a bound (p {qual} {p:g}): SE cannot be recovered"
            )
        yi, vi, method = _generic("from_pvalue", est, p, log_scale=log_scale)
        deriv = f"generic inverse variance, SE from the exact p-value of the {what}: {method}"
    elif measure == "d" and n1 is not None and n2 is not None:
        yi, vi, method = _generic("from_cohen_d", est, n1, n2)
        deriv = f"Hedges' g from reported Cohen's d and group sizes: {method}"
    else:
        raise _Unpoolable(f"{measure} contrast without CI, SE, exact p-value or group sizes")
    if measure == "d" and "Hedges" not in deriv:
        arms_from = "the arm sizes"
        if n1 is None or n2 is None:
            # arm sizes known elsewhere in the evidence base: the study's randomised arms
            # (e.g. the registry participant flow recorded in study_characteristics.csv)
            c = chars.get(row["study_id"], {})
            n1, n2 = (_single_number(c.get(k)) for k in ("n_randomised_intervention",
                                                         "n_randomised_control"))
            arms_from = ("the randomised arm sizes in study_characteristics.csv "
                         f"({n1:g} and {n2:g}; {c.get('location') or 'see the study row'})"
                         if n1 is not None and n2 is not None else arms_from)
        if n1 is not None and n2 is not None:
            # Hedges' small-sample correction, as escalc applies it to SMD (Hedges 1981):
            # g = J d with J = J(n1 + n2 - 2); the sampling variance scales by J^2.
            from ketamine_evidence.effects import hedges_j

            j = float(hedges_j(n1 + n2 - 2))
            yi, vi = j * yi, j * j * vi
            deriv += (f"; Hedges' g = J x d with J({n1 + n2 - 2:g}) = {j:.4f} from "
                      f"{arms_from}, variance scaled by J^2")
        else:
            deriv += " (Cohen's d as reported; no small-sample correction: arm sizes unknown)"
    c = chars.get(row["study_id"], {})
    if str(c.get("design") or "").lower() == "crossover":
        deriv += "; paired contrast reported by the crossover trial (no r assumed)"
    deriv += f"; sign as entered: arm 1 ({intervention}) minus/over arm 2"
    return [_with_yi(rec, yi, vi, deriv)]


def _single_number(value) -> float | None:
    """A characteristics cell holding one number (``15``); ``None`` for ``53;51`` or empty."""
    text = "" if value is None or (isinstance(value, float) and math.isnan(value)) \
        else str(value).strip()
    if not text or ";" in text:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def _within_arm_rows(row, chars) -> list[dict]:
    """Pre-post change in the intervention arm (arm 1) when baseline and endpoint are given."""
    c = chars.get(row["study_id"], {})
    base = _f(row["baseline_m1i"])
    m1 = _f(row["m1i"])
    if base is None or m1 is None:
        return []
    if row["score_type"] == "change":
        change, endpoint = m1, base + m1
        deriv = "endpoint = baseline + reported change"
    else:
        change, endpoint = m1 - base, m1
        deriv = "change = endpoint - baseline"
    lower_better = row["lower_is_better"]
    pct = None
    if base != 0:
        sign = (
            -1.0 if (lower_better is pd.NA or lower_better is None or bool(lower_better)) else 1.0
        )
        pct = sign * 100.0 * change / base
        deriv += (
            "; percent reduction = 100*(baseline-endpoint)/baseline"
            if sign < 0
            else "; percent increase = 100*(endpoint-baseline)/baseline (higher is better)"
        )
    return [
        _located(row, c)
        | {
            "arm": "arm1",
            "baseline_mean": base,
            "endpoint_mean": endpoint,
            "change_mean": change,
            "percent_reduction": pct,
            "derivation": deriv,
            "row_id": row["row_id"],
        }
    ]


def _superseded_crossover_arms(ext: pd.DataFrame, chars: Mapping) -> dict:
    """Crossover arm rows for which the paper also reports a paired contrast (preferred)."""
    out = {}
    contrasts: dict[tuple, list[str]] = {}
    for _, row in ext[ext["data_type"] == "contrast"].iterrows():
        k = _group_key(row)[:4]
        contrasts.setdefault(k, []).append(row["row_id"])
    for i, row in ext[ext["data_type"] == "arm"].iterrows():
        design = str(chars.get(row["study_id"], {}).get("design") or "").lower()
        k = _group_key(row)[:4]
        if design == "crossover" and k in contrasts:
            out[i] = contrasts[k]
    return out


def derive_effects(
    extraction: pd.DataFrame,
    characteristics: pd.DataFrame,
    *,
    crossover_r: float,
    crossover_r_sensitivity: Sequence[float] = (),
    intervention: str = "the intervention",
    continuous_outcomes: Iterable[str],
) -> EffectTables:
    """Effect sizes for every poolable curated row; every other row with its reason.

    Parameters
    ----------
    extraction, characteristics : DataFrame
        Validated curated sheets (:func:`load_curated`).
    crossover_r : float
        Within-person correlation assumed for crossover trials (``analysis.crossover_r``).
    crossover_r_sensitivity : sequence of float
        Further values, each giving rows with ``sensitivity=True``
        (``analysis.crossover_r_sensitivity``).
    intervention : str
        What the ``derivation`` text calls arm 1 (``review.intervention``).
    continuous_outcomes : iterable of str
        Outcomes scored on a continuous scale (``vocabulary.outcomes`` with scale
        continuous): only their ``arm`` rows give mean-based effects.

    Returns
    -------
    EffectTables
        ``effects`` (schema ``EFFECTS_SCHEMA``): one row per study x comparison x outcome x
        timepoint x measure (and, for crossover trials, x assumed r);
        ``not_poolable``: rows that gave no effect, with the reason; ``within_arm``: pre-post
        change in the intervention arm where baseline and endpoint (or change) are given.

    Notes
    -----
    * ``arm`` rows of parallel trials give ``SMD`` (Hedges' g, ``escalc`` vtype LS), ``MD``
      and, for positive endpoint means, ``ROM`` (log ratio of means, for percent-reduction
      claims). Signs follow metafor: arm 1 minus arm 2, so on lower-is-better scales a negative
      value favours the intervention. An SE instead of an SD is converted (SD = SE*sqrt(n)).
    * ``arm`` rows of crossover trials give a paired ``SMD`` and ``MD`` (Elbourne 2002;
      Cochrane 23.2.7) with the configured within-person correlation r, named in
      ``assumption`` with ``assumption_value = r``; the rows for each
      ``crossover_r_sensitivity`` value are added with ``sensitivity=True``. If the same
      crossover result also has a reported contrast, the contrast is used and the arm rows go
      to ``not_poolable`` ("superseded").
    * Multi-arm trials: ``arm``/``count`` rows of one result whose comparisons name the same
      comparator share that arm; its n (and events) are split between the comparisons
      (Cochrane 23.3.4), recorded in ``assumption`` (``assumption_value`` = number of
      comparisons).
    * ``count`` rows give ``RR`` (log scale). ``contrast`` rows give the reported measure by
      generic inverse variance: CI -> SE, else SE, else exact p-value -> SE (a bound such as
      "p < 0.05" is not enough); Cohen's d maps to ``SMD``.
    * ``within_arm`` and ``narrative`` rows go to ``not_poolable`` (and ``within_arm`` rows also
      to the within-arm table). Every extraction row appears in exactly one of ``effects``
      (through ``row_ids``) or ``not_poolable``.
    """
    r_main, r_sens = _crossover_values(crossover_r, crossover_r_sensitivity)
    continuous = frozenset(continuous_outcomes)
    chars = {
        row["study_id"]: row
        for row in characteristics.to_dict("records")
        if isinstance(row.get("study_id"), str)
    }
    ext = extraction.reset_index(drop=True)
    shared = _shared_controls(ext)
    superseded = _superseded_crossover_arms(ext, chars)
    effects_rows: list[dict] = []
    np_rows: list[dict] = []
    within: list[dict] = []

    def unpoolable(row, reason: str) -> None:
        np_rows.append(
            _result(row, chars.get(row["study_id"], {}))
            | {
                "reason": reason,
                "narrative": None if _missing(row["narrative"]) else row["narrative"],
                "direction": None if _missing(row.get("direction")) else row["direction"],
            }
        )

    for i, row in ext.iterrows():
        if row["study_id"] not in chars:
            unpoolable(row, "study not in study_characteristics.csv")
            continue
        dtype = row["data_type"]
        if dtype in ("arm", "within_arm"):
            within.extend(_within_arm_rows(row, chars))
        try:
            if dtype == "narrative":
                raise _Unpoolable("narrative result only (no numbers reported)")
            if dtype == "within_arm":
                raise _Unpoolable(
                    "within-arm change only (no between-group data); shown in the within-arm table"
                )
            if i in superseded:
                raise _Unpoolable(
                    "crossover arm means not used: the paired contrast reported for the same "
                    f"result is used instead ({', '.join(superseded[i])})"
                )
            if dtype == "arm":
                rows = _arm_effects(row, chars, r_main, r_sens, shared, continuous)
            elif dtype == "count":
                rows = _count_effects(row, chars, shared)
            elif dtype == "contrast":
                rows = _contrast_effects(row, chars, intervention)
            else:  # pragma: no cover - the schema rejects other data types
                raise _Unpoolable(f"unknown data_type {dtype!r}")
            if not rows:
                raise _Unpoolable("no effect measure applies to this row")
            effects_rows.extend(rows)
        except _Unpoolable as exc:
            unpoolable(row, str(exc))
        except ValueError as exc:  # effects.* input errors
            unpoolable(row, f"effect computation failed: {exc}")
    return EffectTables(
        effects=_effects_frame(effects_rows),
        not_poolable=_frame(np_rows, sx.NOT_POOLABLE_COLUMNS, sx.NOT_POOLABLE_SCHEMA),
        within_arm=_frame(within, sx.WITHIN_ARM_COLUMNS, sx.WITHIN_ARM_SCHEMA),
    )


def _float_columns(schema: pa.DataFrameSchema) -> list[str]:
    """The schema's float64 columns, in table order."""
    return [c for c, col in schema.columns.items() if str(col.dtype) == "float64"]


_FLOAT_EFFECT_COLS = _float_columns(sx.EFFECTS_SCHEMA)


def _effects_frame(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=[c for c in sx.EFFECTS_COLUMNS if c != "effect_id"])
    df.insert(0, "effect_id", _effect_ids(df))
    for c in _FLOAT_EFFECT_COLS:
        df[c] = pd.to_numeric(df[c]).astype("float64")
    df["sensitivity"] = df["sensitivity"].astype(bool)
    df["lower_is_better"] = df["lower_is_better"].astype("boolean")
    df["year"] = df["year"].astype("Int64")
    for c in df.columns:
        if c not in _FLOAT_EFFECT_COLS and c not in ("sensitivity", "lower_is_better", "year"):
            df[c] = _text_column(df[c])
    return sx.EFFECTS_SCHEMA.validate(df)


def _effect_ids(df: pd.DataFrame) -> list[str]:
    ids = []
    for rid, measure, sens, val in zip(
        df["row_ids"], df["measure"], df["sensitivity"], df["assumption_value"], strict=True
    ):
        eid = f"{rid}:{measure}"
        if sens:
            eid += f":r={float(val):g}"
        ids.append(eid)
    return ids


def _frame(rows: list[dict], columns: list[str], schema: pa.DataFrameSchema) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=columns)
    floats = _float_columns(schema)
    for c in columns:
        if c in floats:
            df[c] = pd.to_numeric(df[c]).astype("float64")
        else:
            df[c] = _text_column(df[c])
    return schema.validate(df)


def _text_column(s: pd.Series) -> pd.Series:
    """Text as pandas' string dtype, missing kept missing (also when the table is empty)."""
    return s.astype(object).where(s.notna(), None).astype("str")
