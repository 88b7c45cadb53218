"""Registry arm rows paired into two-arm rows laid out like extraction.csv, and their effect rows (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd

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
    from ..effects import escalc

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
