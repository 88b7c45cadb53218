"""The study table of a forest plot (labels, numbers, arms, risk of bias) and the heterogeneity line."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._common import (
    METHOD_NAMES,
    SMALL_FONT_SIZE,
    TEST_NAMES,
    as_float,
    fmt_num,
    fmt_p,
    get,
    is_finite,
)
from .._table import Column
from ..rob import DOMAINS, JUDGEMENT_STYLE, study_judgements


# --------------------------------------------------------------------------------------------
# forest_plot
# --------------------------------------------------------------------------------------------
def _study_table(result: Any) -> pd.DataFrame:
    """Per-study rows (study, yi, ci_low, ci_high, weight) from the result object."""
    frame = None
    sf = getattr(result, "summary_frame", None)
    if callable(sf):
        frame = pd.DataFrame(sf()).reset_index(drop=True)
    yi = np.asarray(
        get(result, "yi", default=frame["yi"] if frame is not None else []), dtype=float
    )
    k = len(yi)
    if frame is not None:
        frame = frame.iloc[:k]  # meta.rma's summary_frame() ends with the pooled row
    out = pd.DataFrame({"yi": yi})
    study = get(result, "study")
    if study is None and frame is not None and "study" in frame:
        study = frame["study"]
    out["study"] = list(study) if study is not None else [f"Study {i + 1}" for i in range(k)]
    if frame is not None and {"ci_low", "ci_high"} <= set(frame.columns):
        out["ci_low"] = frame["ci_low"].to_numpy(dtype=float)
        out["ci_high"] = frame["ci_high"].to_numpy(dtype=float)
    else:
        # fallback only: Wald interval yi +/- z * sqrt(vi), as metafor's forest() shows
        from statistics import NormalDist

        vi = np.asarray(get(result, "vi"), dtype=float)
        lv = as_float(get(result, "level", default=0.95))
        z = NormalDist().inv_cdf(0.5 + (lv if lv <= 1 else lv / 100) / 2)
        out["ci_low"] = yi - z * np.sqrt(vi)
        out["ci_high"] = yi + z * np.sqrt(vi)
    w = get(result, "weights")
    if w is None and frame is not None and "weight" in frame:
        w = frame["weight"]
    out["weight"] = np.asarray(w, dtype=float) if w is not None else np.nan
    return out


def _align_studies(table: pd.DataFrame, studies: pd.DataFrame | None) -> pd.DataFrame | None:
    if studies is None:
        return None
    studies = studies.reset_index(drop=True)
    ids = [str(s) for s in table["study"]]
    for col in ("study", "study_id", "label"):
        if col in studies.columns and set(ids) <= set(studies[col].astype(str)):
            keys = studies[col].astype(str)
            if len(set(ids)) == len(ids) and not keys.duplicated().any():
                return studies.set_index(keys).loc[ids].reset_index(drop=True)
            # several rows per study (multi-arm trial): only the same order is unambiguous
            if keys.tolist() == ids:
                return studies
            raise ValueError(
                f"studies' {col!r} values repeat (a multi-arm trial?) and are not in the "
                "result's order, so its rows cannot be matched to the result's studies; "
                "give each row a distinct 'study' value or pass them in the result's order"
            )
    if len(studies) == len(table):
        return studies
    raise ValueError(
        f"studies has {len(studies)} rows and no 'study'/'study_id'/'label' column matching the "
        f"result's studies ({', '.join(ids[:5])}{', ...' if len(ids) > 5 else ''})"
    )


def _num_cell(v: Any, digits: int) -> str:
    return fmt_num(v, digits) if is_finite(v) else ""


def _any_finite(studies: pd.DataFrame, col: str) -> bool:
    return col in studies.columns and any(is_finite(v) for v in studies[col])


def _arm_columns(
    studies: pd.DataFrame, arm_labels: Sequence[str], digits: int, n_extra_rows: int
) -> list[Column]:
    """Per-arm columns recognised from metafor's names, in RevMan's layout: "Events" and
    "Total" for binary outcomes (``ai, n1i / ci, n2i``), "Mean (SD)" and "N" for continuous
    ones (``m1i, sd1i, n1i / m2i, sd2i, n2i``). A column with no value in any row is left out
    (a study that reported only a contrast leaves no empty arm columns behind)."""
    cols: list[Column] = []
    pad = [""] * n_extra_rows
    binary = _any_finite(studies, "ai") or _any_finite(studies, "ci")

    def count(v: Any) -> str:
        return f"{as_float(v):.0f}" if is_finite(v) else ""

    for arm, (m, sd, ev, n) in zip(
        arm_labels, (("m1i", "sd1i", "ai", "n1i"), ("m2i", "sd2i", "ci", "n2i")), strict=True
    ):
        if binary:
            if _any_finite(studies, ev):
                cols.append(Column("Events", [count(v) for v in studies[ev]] + pad, "right", arm))
            if _any_finite(studies, n):
                cols.append(Column("Total", [count(v) for v in studies[n]] + pad, "right", arm))
            continue
        if _any_finite(studies, m):
            cells = []
            sds = studies[sd] if sd in studies.columns else [None] * len(studies)
            for mv, sv in zip(studies[m], sds, strict=True):
                if not is_finite(mv):
                    cells.append("")
                else:
                    sd_text = _num_cell(sv, digits) or "\N{EN DASH}"
                    cells.append(f"{_num_cell(mv, digits)} ({sd_text})")
            cols.append(Column("Mean (SD)", cells + pad, "right", group=arm))
        if _any_finite(studies, n):
            cols.append(Column("N", [count(v) for v in studies[n]] + pad, "right", group=arm))
    return cols


def _rob_columns(
    studies: pd.DataFrame | None, risk_of_bias: pd.DataFrame, n_extra_rows: int
) -> list[Column]:
    """RevMan's risk-of-bias column: one robvis symbol per RoB 2 domain and overall, beside
    each study (judgements as in :func:`ketamine_evidence.plots.rob.study_judgements`)."""
    if studies is None or "study_id" not in studies.columns:
        raise ValueError(
            "risk_of_bias needs the studies table with a 'study_id' column to match the rows"
        )
    judged = study_judgements(risk_of_bias)
    pad = [""] * n_extra_rows
    cols = []
    for dom in DOMAINS:
        cells, styles = [], []
        for sid in studies["study_id"].astype(str):
            j = judged.get(sid, {}).get(dom, "no_information")
            fill, symbol, fg = JUDGEMENT_STYLE[j]
            cells.append(symbol)
            styles.append(
                {
                    "color": fg,
                    "fontsize": SMALL_FONT_SIZE,
                    "bbox": {"boxstyle": "circle,pad=0.22", "fc": fill, "ec": "#404040", "lw": 0.5},
                    "gid": f"rob_{j}",
                }
            )
        header = "Overall" if dom == "overall" else dom
        cols.append(
            Column(header, cells + pad, "center", "Risk of bias", styles + [None] * len(pad))
        )
    return cols


def _distinct_labels(labels: list[str], studies: pd.DataFrame | None) -> list[str]:
    """Rows of a multi-arm trial (one study, several comparisons) get distinct labels: the
    comparison in brackets when ``studies`` has it, else the arm's number."""
    counts = pd.Series(labels).value_counts()
    if (counts <= 1).all():
        return labels
    out, seen = [], dict.fromkeys(labels, 0)
    for i, lab in enumerate(labels):
        if counts[lab] == 1:
            out.append(lab)
            continue
        seen[lab] += 1
        comparison = (
            str(studies["comparison"].iloc[i])
            if studies is not None
            and "comparison" in studies.columns
            and not pd.isna(studies["comparison"].iloc[i])
            else ""
        )
        out.append(f"{lab} ({comparison})" if comparison else f"{lab} (arm {seen[lab]})")
    if len(set(out)) < len(out):
        return [f"{lab} ({n + 1})" if out.count(lab) > 1 else lab for n, lab in enumerate(out)]
    return out


def heterogeneity_text(result: Any) -> str:
    """The heterogeneity and overall-test line printed under a forest plot (two lines)."""
    k = int(as_float(get(result, "k", default=len(get(result, "yi", default=[])))))
    method = str(get(result, "method", default="REML"))
    test = str(get(result, "test", default="z")).lower()
    # meta.rma reports a z test for k = 1 whatever ``test`` says (as metafor does)
    stat_name = "t" if test in {"knha", "hksj", "t", "adhoc"} and k >= 2 else "z"
    df = get(result, "df")
    stat = f"{stat_name}({fmt_num(df, 0)})" if stat_name == "t" and is_finite(df) else stat_name
    labels = f"{METHOD_NAMES.get(method.upper(), method)}, {TEST_NAMES.get(test, test)}"
    if k < 2:
        labels = "single study, Wald z"
    if k < 2:
        het = "Heterogeneity: not applicable (k = 1)"
    else:
        q_df = get(result, "q_df", default=k - 1)
        het = (
            f"Heterogeneity: \N{GREEK SMALL LETTER TAU}\N{SUPERSCRIPT TWO} = "
            f"{fmt_num(get(result, 'tau2'), 3)}, I\N{SUPERSCRIPT TWO} = {fmt_num(get(result, 'i2'), 0)}%, "
            f"Q = {fmt_num(get(result, 'q'), 2)} (df = {fmt_num(q_df, 0)}, {fmt_p(get(result, 'q_pvalue'))})"
        )
    if is_finite(get(result, "statistic")):
        overall = (
            f"Test: {stat} = {fmt_num(get(result, 'statistic'), 2)}, "
            f"{fmt_p(get(result, 'pvalue'))}; {labels}"
        )
    else:
        overall = f"Test: not available; {labels}"

    return f"{het}\n{overall}"
