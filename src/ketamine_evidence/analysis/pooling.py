"""Choose the effects each analysis pools, and pool them (pure: no IO).

An *analysis* is one entry of ``config.yaml``'s ``analysis.analyses`` list: an outcome, a
measure, a window of days after the first dose, a rule that picks one timepoint per study and
comparison, and optional filters on study characteristics. :func:`select_effects` applies it to
the tidy effects table (``data/processed/effects.csv``); :func:`pool_analysis` runs the
random-effects model and the small-study and sensitivity analyses on the selection.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import norm

from ketamine_evidence import KetamineEvidenceWarning, meta
from ketamine_evidence.analysis import posterior
from ketamine_evidence.config import AnalysisSettings, AnalysisSpec
from ketamine_evidence.effects import measure_scale

STUDY_KEYS = ["study_id", "comparison"]


def _is_true(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "yes"}
    return bool(value) if not pd.isna(value) else False


def matches_any(values: pd.Series, allowed: Sequence) -> pd.Series:
    """Row mask: does ``values`` take one of ``allowed``? Numbers compare numerically.

    Cells may hold several ``;``-separated values (e.g. doses of two arms); the row matches
    when any of them is allowed.
    """
    allowed_text = {str(a).strip().lower() for a in allowed}
    allowed_num = set()
    for a in allowed:
        try:
            allowed_num.add(float(a))
        except (TypeError, ValueError):
            pass

    def one(cell) -> bool:
        if cell is None or (isinstance(cell, float) and math.isnan(cell)):
            return False
        for part in str(cell).split(";"):
            part = part.strip().lower()
            if part in allowed_text:
                return True
            try:
                if float(part) in allowed_num:
                    return True
            except ValueError:
                continue
        return False

    return values.map(one).astype(bool)


def select_effects(
    effects: pd.DataFrame,
    spec: AnalysisSpec | Mapping,
    instrument_priority: Sequence[str] = (),
    *,
    include_sensitivity: bool = False,
) -> pd.DataFrame:
    """Select the rows one analysis pools: at most one per study x comparison.

    Parameters
    ----------
    effects
        Tidy effects table (``study_id``, ``comparison``, ``outcome``, ``instrument``,
        ``timepoint_days``, ``measure``, ``yi``, ``vi``, characteristics columns ...).
    spec
        The analysis: ``outcome``, ``measure``, optional ``question`` (default ``treatment``),
        ``window_days`` ``[lo, hi]`` (inclusive), ``pick`` (``latest``, ``earliest``,
        ``closest`` with ``target_days``) and ``filters`` ``{column: [allowed values]}``.
    instrument_priority
        When a study reports several instruments at the chosen timepoint, the first in this
        list wins (clinician-rated scales first); unlisted instruments come last, by name.
    include_sensitivity
        Keep rows flagged ``sensitivity`` (alternative assumptions); off for main analyses.

    Returns
    -------
    pandas.DataFrame
        The chosen rows, ordered by year and label, with ``analysis_id`` added.
    """
    spec = AnalysisSpec.coerce(spec)
    pick = spec.pick
    if effects.empty:
        return effects.assign(analysis_id=pd.Series(dtype=str))
    mask = (effects["outcome"] == spec.outcome) & (effects["measure"] == spec.measure)
    question = spec.question
    if "question" in effects:
        mask &= effects["question"].fillna("treatment") == question
    if not include_sensitivity and "sensitivity" in effects:
        mask &= ~effects["sensitivity"].map(_is_true)
    days = pd.to_numeric(effects["timepoint_days"], errors="coerce")
    lo, hi = spec.window_days
    mask &= days.between(-math.inf if lo is None else lo, math.inf if hi is None else hi)
    for column, allowed in spec.filters.items():
        if column not in effects:
            raise ValueError(f"analysis {spec.id!r}: filter column {column!r} is not in "
                             "the effects table")
        mask &= matches_any(effects[column], allowed)
    chosen = effects[mask & np.isfinite(pd.to_numeric(effects["yi"], errors="coerce"))].copy()
    if chosen.empty:
        return chosen.assign(analysis_id=spec.id)
    chosen["_days"] = pd.to_numeric(chosen["timepoint_days"], errors="coerce")
    rank = {name.lower(): i for i, name in enumerate(instrument_priority)}
    chosen["_instrument_rank"] = chosen["instrument"].map(
        lambda s: rank.get(str(s).lower(), len(rank)))
    if pick == "latest":
        chosen["_time_key"] = -chosen["_days"]
    elif pick == "earliest":
        chosen["_time_key"] = chosen["_days"]
    else:
        target = spec.target_days
        if target is None:
            raise ValueError(f"analysis {spec.id!r}: pick 'closest' needs target_days")
        chosen["_time_key"] = (chosen["_days"] - float(target)).abs()
    chosen = chosen.sort_values(["_time_key", "_instrument_rank", "instrument"], kind="stable")
    chosen = chosen.drop_duplicates(STUDY_KEYS, keep="first")
    sort_cols = [c for c in ("year", "label", "study_id", "comparison") if c in chosen]
    chosen = chosen.sort_values(sort_cols, kind="stable")
    return chosen.drop(columns=["_days", "_instrument_rank", "_time_key"]).assign(
        analysis_id=spec.id).reset_index(drop=True)


def study_labels(selected: pd.DataFrame) -> list[str]:
    """Row labels for forest plots: the study label, plus the comparison when a study has two."""
    label = selected["label"] if "label" in selected else selected["study_id"]
    label = label.fillna(selected["study_id"]).astype(str)
    counts = selected.groupby("study_id")["study_id"].transform("size")
    with_comparison = label + " (" + selected["comparison"].astype(str) + ")"
    return list(np.where(counts > 1, with_comparison, label))


@dataclass
class AnalysisOutcome:
    """Everything computed for one analysis; tables are tidy, nothing is rounded."""

    analysis_id: str
    spec: AnalysisSpec
    selected: pd.DataFrame
    # The model it was fitted with: method, test, level, pi_df (see pool_analysis).
    model: Mapping | None = None
    result: object | None = None            # meta.RMAResult
    tau2_ci: object | None = None
    egger: object | None = None
    trimfill: object | None = None
    leave1out: pd.DataFrame | None = None
    cumulative: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.spec = AnalysisSpec.coerce(self.spec)

    @property
    def k(self) -> int:
        return 0 if self.result is None else int(self.result.k)

    def pooled_row(self) -> dict:
        """One row of ``results/pooled.csv``."""
        spec = self.spec
        row = {
            "analysis_id": self.analysis_id,
            "title": spec.title,
            "outcome": spec.outcome,
            "measure": spec.measure,
            "k": self.k,
            "n_studies": int(self.selected["study_id"].nunique()) if len(self.selected) else 0,
            "n_participants": participants(self.selected),
        }
        names = ["estimate", "se", "statistic", "df", "pvalue", "ci_low", "ci_high", "pi_low",
                 "pi_high", "tau2", "se_tau2", "i2", "h2", "q", "q_df", "q_pvalue", "method",
                 "test", "level"]
        for name in names:
            row[name] = getattr(self.result, name, math.nan) if self.result else math.nan
        for name in ("tau2_ci_low", "tau2_ci_high", "i2_ci_low", "i2_ci_high"):
            row[name] = getattr(self.tau2_ci, name.replace("_ci", ""), math.nan) \
                if self.tau2_ci is not None else math.nan
        row["egger_pvalue"] = getattr(self.egger, "pvalue", math.nan) if self.egger else math.nan
        row["trimfill_k0"] = getattr(self.trimfill, "k0", math.nan) if self.trimfill else math.nan
        row["trimfill_side"] = getattr(self.trimfill, "side", "") if self.trimfill else ""
        tf_result = getattr(self.trimfill, "result", None) if self.trimfill else None
        row["trimfill_estimate"] = getattr(tf_result, "estimate", math.nan)
        row["studies"] = "; ".join(study_labels(self.selected)) if len(self.selected) else ""
        row["notes"] = " ".join(self.notes)
        return row

    def scale_columns(self) -> dict:
        """The last columns of ``results/pooled.csv``: the scale of the pooled numbers and,
        on the measure's natural scale, the estimate and intervals (exp() of a log ratio;
        unchanged otherwise)."""
        row = {"scale": measure_scale(self.spec.measure)}
        back = math.exp if row["scale"] == "log" else float
        result = self.result
        for name in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high"):
            row[f"{name}_bt"] = back(getattr(result, name, math.nan) if result else math.nan)
        return row


def participants(selected: pd.DataFrame) -> float:
    """Participants in the pooled comparisons.

    Per study: the arm sizes of its rows (``n1i + n2i``; a crossover trial's participants
    once, as ``n1i``); a study whose rows give no arm sizes counts its ``n_randomised_total``
    once. NaN when no study gives either.
    """
    if selected.empty:
        return 0
    def column(rows: pd.DataFrame, name: str) -> pd.Series:
        if name not in rows:
            return pd.Series(math.nan, index=rows.index)
        return pd.to_numeric(rows[name], errors="coerce")

    total, known = 0.0, False
    for _, rows in selected.groupby("study_id", sort=False):
        n1, n2 = column(rows, "n1i"), column(rows, "n2i")
        design = rows["design"] if "design" in rows else pd.Series("", index=rows.index)
        crossover = design.fillna("").astype(str).str.lower().eq("crossover")
        arm_total = np.where(crossover, n1, n1 + n2)
        if np.isfinite(arm_total).all():
            total += float(np.sum(arm_total))
            known = True
            continue
        randomised = column(rows, "n_randomised_total").dropna()
        if len(randomised):
            total += float(randomised.iloc[0])
            known = True
    return total if known else math.nan


def pool_analysis(
    selected: pd.DataFrame,
    spec: AnalysisSpec | Mapping,
    *,
    method: str,
    test: str,
    level: float,
    pi_df: str | None,
    min_k_small_study: int = 3,
) -> AnalysisOutcome:
    """Pool the selected rows with a random-effects model and run the secondary analyses.

    The main model is :func:`ketamine_evidence.meta.rma` with the configured estimator
    (``method``), test, confidence level and prediction-interval df (``pi_df``), as in the
    ``analysis`` settings; the outcome records them in ``model``. Egger's test and the
    trim-and-fill refit use the same ``test`` and ``level``. The Q-profile
    interval for tau^2 (k >= 2), Egger's regression test and trim-and-fill
    (k >= ``min_k_small_study``; the report notes they are uninformative below 10 studies),
    leave-one-out (k >= 3) and the cumulative analysis by year (k >= 2) are added where they
    are defined.
    """
    spec = AnalysisSpec.coerce(spec)
    model = {"method": method, "test": test, "level": level, "pi_df": pi_df}
    outcome = AnalysisOutcome(spec.id, spec, selected, model=model)
    k = len(selected)
    if k == 0:
        outcome.notes.append("No poolable effect.")
        return outcome
    yi = selected["yi"].to_numpy(float)
    vi = selected["vi"].to_numpy(float)
    labels = study_labels(selected)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", KetamineEvidenceWarning)
        outcome.result = meta.rma(yi, vi, method=method, test=test, level=level, study=labels,
                                  pi_df=pi_df)
    if k == 1:
        outcome.notes.append("A single study: its own estimate, no heterogeneity.")
        return outcome
    outcome.tau2_ci = meta.tau2_confint(outcome.result, level=level)
    outcome.cumulative = meta.cumul(yi, vi, method=method, test=test, level=level,
                                    study=labels)
    if k >= 3:
        outcome.leave1out = meta.leave1out(yi, vi, method=method, test=test, level=level,
                                           study=labels)
    if k >= min_k_small_study:
        outcome.egger = meta.regtest(yi, vi, method=method, model="rma", test=test,
                                     level=level)
        outcome.trimfill = meta.trimfill(yi, vi, method=method, test=test, level=level)
        if k < 10:
            outcome.notes.append(f"Small-study tests with k={k} (< 10) have little power.")
    return outcome


def row_sizes(selected: pd.DataFrame) -> np.ndarray:
    """Participants behind each selected row: ``n1i + n2i``, a crossover trial's ``n1i``.

    Where an arm size is missing, the study's ``n_randomised_total``; NaN when neither is
    known (used for the unit information SD of a prior).
    """
    def column(name: str) -> np.ndarray:
        if name not in selected:
            return np.full(len(selected), math.nan)
        return pd.to_numeric(selected[name], errors="coerce").to_numpy(float)

    design = selected["design"] if "design" in selected else pd.Series("", index=selected.index)
    crossover = design.fillna("").astype(str).str.lower().eq("crossover").to_numpy()
    n1, n2 = column("n1i"), column("n2i")
    sizes = np.where(crossover, n1, n1 + n2)
    return np.where(np.isfinite(sizes), sizes, column("n_randomised_total"))


def bayes_posterior(outcome: AnalysisOutcome, bayes_settings: Mapping,
                    level: float = 0.95) -> posterior.AnalysisPosterior:
    """The Bayesian random-effects fits of one analysis under the configured priors.

    See :mod:`ketamine_evidence.analysis.posterior`; nothing is fitted when no effect was selected.
    """
    selected = outcome.selected
    if selected.empty:
        return posterior.AnalysisPosterior(outcome.analysis_id)
    return posterior.fit_analysis(
        outcome.analysis_id, selected["yi"].to_numpy(float), selected["vi"].to_numpy(float),
        row_sizes(selected), outcome.spec.measure, bayes_settings, level=level,
        study=study_labels(selected))


def _rows_with_crossover_r(effects: pd.DataFrame, r: float) -> pd.DataFrame:
    """Effects with the crossover rows recomputed at within-person correlation ``r``.

    The effects table holds the main rows (configured ``crossover_r``) and, flagged
    ``sensitivity``, the same crossover rows at the alternative correlations. This swaps them.
    """
    if "sensitivity" not in effects or "assumption_value" not in effects:
        return effects.iloc[0:0]
    sensitivity = effects["sensitivity"].map(_is_true)
    crossover = effects.get("design", pd.Series("", index=effects.index)).fillna("") \
        .str.lower().eq("crossover")
    r_value = pd.to_numeric(effects["assumption_value"], errors="coerce")
    main_crossover = crossover & ~sensitivity & r_value.notna()
    alternative = crossover & sensitivity & np.isclose(r_value.fillna(np.inf), r)
    swapped = effects[(~sensitivity & ~main_crossover) | alternative].copy()
    swapped["sensitivity"] = False
    return swapped


def sensitivity_table(
    outcome: AnalysisOutcome,
    effects: pd.DataFrame,
    *,
    instrument_priority: Sequence[str],
    crossover_r: Sequence[float],
    other_methods: Sequence[tuple[str, str]] = (("DL", "z"), ("PM", "knha"), ("REML", "z")),
) -> pd.DataFrame:
    """Tidy sensitivity results for one analysis (one row per variant).

    ``kind`` is ``leave1out`` (each study omitted in turn), ``cumulative`` (studies added in
    order of year), ``crossover_r`` (crossover trials re-analysed at each within-person
    correlation in ``crossover_r``) or ``estimator`` (other tau^2 estimator and test pairs).
    Re-analyses use the model the outcome was fitted with (``outcome.model``).
    """
    rows = []
    spec = outcome.spec
    model = outcome.model or {}
    frames = [("leave1out", outcome.leave1out), ("cumulative", outcome.cumulative)]
    for kind, frame in frames:
        if frame is None:
            continue
        for _, r in frame.iterrows():
            rows.append({"kind": kind, "label": r.get("study", r.get("label", "")),
                         **{c: r.get(c, math.nan) for c in
                            ("estimate", "ci_low", "ci_high", "tau2", "i2")},
                         "k": r.get("k", math.nan)})
    if outcome.k > 0:
        for r_value in crossover_r:
            alt = _rows_with_crossover_r(effects, r_value)
            selected = select_effects(alt, spec, instrument_priority)
            if selected.empty or _same_effects(selected, outcome.selected):
                continue  # no crossover trial in this analysis: r changes nothing
            alt_outcome = pool_analysis(selected, spec, **model)
            rows.append(_variant_row("crossover_r", f"within-person r = {r_value:g}",
                                     alt_outcome.result))
        for alt_method, alt_test in other_methods:
            if (alt_method, alt_test) == (model["method"], model["test"]):
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", KetamineEvidenceWarning)
                res = meta.rma(outcome.selected["yi"].to_numpy(float),
                               outcome.selected["vi"].to_numpy(float), method=alt_method,
                               test=alt_test, level=model["level"])
            rows.append(_variant_row("estimator", f"{alt_method} + {alt_test}", res))
    table = pd.DataFrame(rows, columns=["kind", "label", "estimate", "ci_low", "ci_high",
                                        "tau2", "i2", "k"])
    return table.assign(analysis_id=outcome.analysis_id)[
        ["analysis_id", "kind", "label", "k", "estimate", "ci_low", "ci_high", "tau2", "i2"]]


def _same_effects(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    """Do two selections pool the same numbers? Both ``yi`` and ``vi`` count: for a paired
    crossover effect the within-person correlation often moves only the variance."""
    return all(np.array_equal(a[c].to_numpy(float), b[c].to_numpy(float)) for c in ("yi", "vi"))


def _variant_row(kind: str, label: str, result) -> dict:
    return {"kind": kind, "label": label, "k": result.k, "estimate": result.estimate,
            "ci_low": result.ci_low, "ci_high": result.ci_high, "tau2": result.tau2,
            "i2": result.i2}


def study_effects_table(outcome: AnalysisOutcome) -> pd.DataFrame:
    """Per-study rows pooled in one analysis, with weights and provenance."""
    selected = outcome.selected
    if selected.empty:
        return pd.DataFrame()
    table = selected.copy()
    table.insert(0, "row_label", study_labels(selected))
    sei = np.sqrt(table["vi"].astype(float))
    level = float(getattr(outcome.result, "level", 0.95))
    crit = norm.ppf(0.5 + level / 2)
    table["sei"] = sei
    table["yi_ci_low"] = table["yi"] - crit * sei
    table["yi_ci_high"] = table["yi"] + crit * sei
    weights = getattr(outcome.result, "weights", None)
    table["weight"] = np.asarray(weights, float) if weights is not None else math.nan
    return table


def run_analyses(effects: pd.DataFrame, settings: AnalysisSettings) -> list[AnalysisOutcome]:
    """Select and pool every analysis of the ``analysis`` settings, in order."""
    outcomes = []
    for spec in settings.analyses:
        selected = select_effects(effects, spec, settings.instrument_priority)
        outcomes.append(pool_analysis(
            selected, spec, method=settings.method, test=settings.test, level=settings.level,
            pi_df=settings.pi_df))
    return outcomes


MODERATOR_COLUMNS = ["analysis_id", "kind", "moderator", "term", "k", "estimate", "se",
                     "ci_low", "ci_high", "tau2", "statistic", "df", "pvalue", "note"]


def moderator_table(outcome: AnalysisOutcome) -> pd.DataFrame:
    """Subgroup analyses and one-moderator meta-regressions planned for one analysis.

    They use the model the outcome was fitted with (``outcome.model``: estimator, test,
    level). ``spec.subgroups`` names columns of the effects table (e.g. ``control_type``,
    ``treatment_resistant``); each is analysed with :func:`ketamine_evidence.meta.subgroup`:
    one row per level (its own random-effects estimate) and one row for the test for
    subgroup differences (Q between subgroups with separate tau^2, chi^2 with G - 1 df;
    Borenstein et al. 2009, ch. 19). ``spec.moderators`` names numeric columns (e.g.
    ``dose_mg_per_kg``); each is a mixed-effects meta-regression
    (:func:`ketamine_evidence.meta.metareg`, ``yi ~ 1 + x``, as metafor's
    ``rma(yi, vi, mods = ~ x)``): one row per coefficient.

    A planned analysis that the data cannot support (one level only, fewer than three
    studies, a moderator that does not vary) gives one row saying why, so nothing planned
    disappears silently.
    """
    spec = outcome.spec
    selected = outcome.selected
    rows: list[dict] = []

    def note_row(kind: str, moderator: str, note: str) -> None:
        rows.append({"kind": kind, "moderator": moderator, "term": "", "k": len(selected),
                     "note": note})

    if selected.empty:
        return pd.DataFrame(columns=MODERATOR_COLUMNS)
    method, test, level = (outcome.model[key] for key in ("method", "test", "level"))
    yi = selected["yi"].to_numpy(float)
    vi = selected["vi"].to_numpy(float)
    labels = study_labels(selected)
    for column in spec.subgroups:
        if column not in selected:
            raise ValueError(f"analysis {spec.id!r}: subgroup column {column!r} is not in "
                             "the effects table")
        groups = selected[column].astype(object).where(selected[column].notna(),
                                                       "not reported").astype(str)
        levels = sorted(set(groups))
        if len(levels) < 2:
            note_row("subgroup", column, f"not estimable: every study has {column} = "
                                         f"{levels[0]!r}")
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", KetamineEvidenceWarning)
            res = meta.subgroup(yi, vi, groups.to_numpy(), method=method, test=test,
                                level=level, study=labels)
        for lev in res.groups:
            r = res.results[lev]
            rows.append({"kind": "subgroup", "moderator": column, "term": str(lev), "k": r.k,
                         "estimate": r.estimate, "se": r.se, "ci_low": r.ci_low,
                         "ci_high": r.ci_high, "tau2": r.tau2, "statistic": r.statistic,
                         "df": r.df, "pvalue": r.pvalue,
                         "note": "single study" if r.k == 1 else ""})
        rows.append({"kind": "subgroup", "moderator": column,
                     "term": "test for subgroup differences", "k": len(selected),
                     "statistic": res.q_between, "df": res.df_between,
                     "pvalue": res.p_between,
                     "note": "Q between subgroups, separate tau^2 per subgroup (chi-square)"})
    for column in spec.moderators:
        if column not in selected:
            raise ValueError(f"analysis {spec.id!r}: moderator column {column!r} is not in "
                             "the effects table")
        x = pd.to_numeric(selected[column], errors="coerce")
        usable = x.notna().to_numpy()
        if usable.sum() < 3 or x[usable].nunique() < 2:
            note_row("metareg", column, f"not estimable: {int(usable.sum())} studies with a "
                                        f"numeric {column}, {x[usable].nunique()} distinct "
                                        "value(s); needs 3 studies and 2 values")
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", KetamineEvidenceWarning)
            res = meta.metareg(yi[usable], vi[usable], x[usable].to_numpy(float),
                               method=method, test=test, level=level)
        dropped = int((~usable).sum())
        for i, term in enumerate(("intercept", "slope")):
            rows.append({"kind": "metareg", "moderator": column, "term": term, "k": res.k,
                         "estimate": res.coef[i], "se": res.se[i], "ci_low": res.ci_low[i],
                         "ci_high": res.ci_high[i], "tau2": res.tau2,
                         "statistic": res.statistic[i], "df": res.df, "pvalue": res.pvalue[i],
                         "note": (f"R^2 = {res.r2:.3g}" if term == "slope" else "")
                         + (f"; {dropped} studies without a numeric {column} left out"
                            if dropped and term == "slope" else "")})
    table = pd.DataFrame(rows, columns=[c for c in MODERATOR_COLUMNS if c != "analysis_id"])
    table.insert(0, "analysis_id", outcome.analysis_id)
    return table
